"""The examples in the public docstrings and in the Markdown docs run and show what they say.

Every fenced block of README.md and docs/*.md in a language below is a test of its own:

- ```pycon: run as a doctest; the output shown must be what the code prints (ELLIPSIS and
  NORMALIZE_WHITESPACE apply).
- ```python: run as a script. A ```text block marked ``<!-- output -->`` right after it (prose may
  come between) is what the script prints, compared the same way.
- ```console: each ``$ command`` runs in a shell, in a temporary folder of the page (the files one
  command writes are there for the next), with ``specnorm`` and ``python`` meaning this
  interpreter; the lines after it are its output, compared as above. A command must exit with 0.

The python and pycon blocks of one page share one namespace and run in page order, as a reader
pasting them into one session would. Other fences (``bash`` synopses and install commands,
``text`` sample outputs, tables) are not run.

A block may carry markers, HTML comments on the lines just above its fence:

- ``<!-- requires: dask, zarr -->``: the block needs these optional packages and is skipped, with
  the reason, where one is missing. ``cupy`` means CuPy with a usable CUDA device. A block that
  imports an optional package without declaring it fails ``test_optional_imports_are_declared``,
  on every machine, so a missing guard cannot pass where the package happens to be installed.
- ``<!-- not-run: why -->``: the block is deliberately not run (a signature, a command that needs
  a cluster). Such blocks are counted in ``NOT_RUN``, so none is added by accident.
- ``<!-- output-varies: why -->`` (console): the commands run and must succeed; their output
  (timings, say) is not compared.
- ``<!-- slow: why -->``: the block's test is marked ``slow``. It runs only for its own test, so
  it must not define anything that a later block uses.

A console block whose commands are not all specnorm's command line (``specnorm``, ``python -m
specnorm``, ``python -c``) is an installation or benchmark transcript: it is not run, and is
counted in ``NOT_RUN`` as a marked one is.
"""

from __future__ import annotations

import ast
import contextlib
import dataclasses
import doctest
import importlib.util
import io
import os
import pathlib
import re
import shlex
import subprocess
import sys
import tempfile
import traceback
import warnings

import pytest

import specnorm
import specnorm._api
import specnorm.testing

ROOT = pathlib.Path(__file__).resolve().parent.parent
PAGES = sorted([*(ROOT / "docs").glob("*.md"), ROOT / "README.md"])
FLAGS = doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE
RUN = ("python", "pycon", "console")
MARKERS = ("requires", "not-run", "output-varies", "output", "slow")

#: The optional packages a block may need, by the name a ``requires`` marker uses.
OPTIONAL = ("cupy", "dask", "distributed", "h5py", "hypothesis", "matplotlib", "safetensors",
            "scipy", "torch", "tqdm", "zarr")
#: Modules that import an optional package themselves.
IMPLIED = {"specnorm.testing": "hypothesis", "specnorm.torch": "torch",
           "dask.distributed": "distributed", "cupyx": "cupy"}

#: How many blocks in a language that is run each page leaves unrun (a ``not-run`` marker, or a
#: console block of other commands): change it with the page, on purpose.
NOT_RUN = {"api.md": 6, "getting-started.md": 2, "performance.md": 5}


@dataclasses.dataclass
class Block:
    page: pathlib.Path
    line: int  # of the opening fence, 1-based
    lang: str
    source: str
    markers: dict[str, str]
    output: str | None = None  # the ```text block marked <!-- output --> that follows

    @property
    def where(self) -> str:
        return f"{self.page.name}:{self.line}"

    @property
    def not_run(self) -> str | None:
        """Why the block is not run, or None if it is."""
        if "not-run" in self.markers:
            return f"marked not-run: {self.markers['not-run']}"
        if self.lang == "console" and not all(
                _CLI.match(command) for command, _ in console_commands(self.source)):
            return "a console block of commands other than specnorm's command line"
        return None

    @property
    def requires(self) -> list[str]:
        return [n.strip() for n in self.markers.get("requires", "").split(",") if n.strip()]


_CLI = re.compile(r"^(specnorm|python -m specnorm|python -c)\b")
_FENCE = re.compile(r"^```(\S*)\s*$")
_MARKER = re.compile(r"^<!--\s*([a-z-]+)\s*(?::(.*?))?-->\s*$")


def parse(page: pathlib.Path) -> tuple[list[Block], list[str]]:
    """The fenced blocks of a page, with their markers, and the problems with its markers."""
    lines = page.read_text(encoding="utf-8").splitlines()
    blocks, problems, pending = [], [], {}
    i = 0
    while i < len(lines):
        line = lines[i]
        marker = _MARKER.match(line)
        fence = _FENCE.match(line)
        if marker:
            key, value = marker.group(1), (marker.group(2) or "").strip()
            if key not in MARKERS:
                problems.append(f"{page.name}:{i + 1}: unknown marker {key!r}")
            pending[key] = value
        elif fence:
            end = i + 1
            while end < len(lines) and lines[end].rstrip() != "```":
                end += 1
            block = Block(page, i + 1, fence.group(1), "\n".join(lines[i + 1:end]) + "\n",
                          pending)
            if "output" in pending:
                previous = next((b for b in reversed(blocks) if b.lang in RUN), None)
                if block.lang != "text" or previous is None or previous.lang != "python":
                    problems.append(f"{block.where}: <!-- output --> marks a ```text block "
                                    "after a ```python block")
                else:
                    previous.output = block.source
            elif pending and block.lang not in RUN:
                problems.append(f"{block.where}: markers {sorted(pending)} on a ```{block.lang} "
                                "block, which is not run")
            blocks.append(block)
            pending = {}
            i = end
        elif line.strip() and pending:
            problems.append(f"{page.name}:{i + 1}: a marker must come right before a fence")
            pending = {}
        i += 1
    for block in blocks:
        unknown = set(block.requires) - set(OPTIONAL)
        if unknown:
            problems.append(f"{block.where}: requires names {sorted(unknown)}, not one of "
                            f"{OPTIONAL}")
    return blocks, problems


BLOCKS = [b for page in PAGES for b in parse(page)[0] if b.lang in RUN]


def missing(name: str) -> str | None:
    """Why the optional package ``name`` cannot be used here, or None if it can."""
    if name == "cupy":
        info = specnorm.backends()["cupy"]
        return None if info.usable else f"CuPy with a CUDA device ({info.reason})"
    if importlib.util.find_spec(name) is None:
        return f"{name}, which is not installed"
    return None


def imported_modules(block: Block) -> set[str]:
    """The modules a python or pycon block imports."""
    if block.lang == "python":
        sources = [block.source]
    else:
        sources = [e.source for e in doctest.DocTestParser().get_examples(block.source)]
    names = set()
    for source in sources:
        for node in ast.walk(ast.parse(source)):
            if isinstance(node, ast.Import):
                names.update(alias.name for alias in node.names)
            elif isinstance(node, ast.ImportFrom) and node.module:
                names.add(node.module)
    return names


def needed(module: str) -> set[str]:
    """The optional packages that importing ``module`` needs."""
    out = {module.split(".")[0]} & set(OPTIONAL)
    out.update(v for k, v in IMPLIED.items() if module == k or module.startswith(k + "."))
    return out


@contextlib.contextmanager
def as_users_see_it():
    """The backend registry users have (without the test session's stand-in backend), and
    Python's default warning filters instead of the suite's warnings-as-errors."""
    from specnorm.backends import BACKENDS

    standin = BACKENDS.pop("array_api_strict", None)
    try:
        with warnings.catch_warnings():
            warnings.resetwarnings()
            warnings.simplefilter("default")
            yield
    finally:
        if standin is not None:
            BACKENDS["array_api_strict"] = standin


class PageRun:
    """Runs a page's blocks once, in order, in one namespace and one working folder."""

    def __init__(self, page: pathlib.Path):
        self.page = page
        self.blocks = [b for b in parse(page)[0] if b.lang in RUN]
        self.namespace: dict = {"__name__": "__docs__"}
        self.results: list[tuple[str, str]] = []  # (outcome, message) per block run so far
        self.tmp = tempfile.TemporaryDirectory(prefix="specnorm-docs-")
        self.bin = pathlib.Path(self.tmp.name, ".bin")

    def result(self, block: Block) -> tuple[str, str]:
        """The outcome of ``block``, after running the blocks before it that have not run (a
        slow block only for its own test)."""
        index = self.blocks.index(block)
        while len(self.results) < index:
            before = self.blocks[len(self.results)]
            self.results.append(("deferred", "") if "slow" in before.markers else self.run(before))
        if len(self.results) == index:
            self.results.append(self.run(block))
        elif self.results[index][0] == "deferred":
            self.results[index] = self.run(block)
        return self.results[index]

    def run(self, block: Block) -> tuple[str, str]:
        if block.not_run:
            return "skip", block.not_run
        absent = [why for why in map(missing, block.requires) if why]
        if absent:
            return "skip", f"{block.where} needs " + "; ".join(absent)
        # The files an example writes, in its folder or under tempfile's, go with the folder.
        cwd, tempdir = os.getcwd(), tempfile.tempdir
        os.chdir(self.tmp.name)
        tempfile.tempdir = self.tmp.name
        try:
            with as_users_see_it():
                return getattr(self, f"run_{block.lang}")(block)
        finally:
            os.chdir(cwd)
            tempfile.tempdir = tempdir

    def run_pycon(self, block: Block) -> tuple[str, str]:
        test = doctest.DocTestParser().get_doctest(
            block.source, self.namespace, block.where, str(block.page), block.line)
        report = io.StringIO()
        runner = doctest.DocTestRunner(optionflags=FLAGS)
        runner.run(test, out=report.write, clear_globs=False)
        self.namespace = test.globs  # a copy of the namespace, with what the block defined
        return ("fail", report.getvalue()) if runner.failures else ("pass", "")

    def run_python(self, block: Block) -> tuple[str, str]:
        code = compile("\n" * block.line + block.source, str(block.page), "exec")
        printed = io.StringIO()
        try:
            with contextlib.redirect_stdout(printed):
                exec(code, self.namespace)
        except Exception:
            return "fail", traceback.format_exc()
        if block.output is not None:
            checker = doctest.OutputChecker()
            if not checker.check_output(block.output, printed.getvalue(), FLAGS):
                return "fail", (f"the ```text block after {block.where} is not what it prints:\n"
                                f"shown:\n{block.output}\nprinted:\n{printed.getvalue()}")
        return "pass", ""

    def run_console(self, block: Block) -> tuple[str, str]:
        self.bin.mkdir(exist_ok=True)
        launcher = self.bin / "specnorm"
        launcher.write_text(f'#!/bin/sh\nexec {shlex.quote(sys.executable)} -m specnorm "$@"\n')
        launcher.chmod(0o755)
        python = self.bin / "python"
        if not python.exists():
            python.symlink_to(sys.executable)
        env = dict(os.environ, PATH=f"{self.bin}{os.pathsep}{os.environ.get('PATH', '')}",
                   PYTHONPATH=os.pathsep.join(p for p in sys.path if p))
        checker = doctest.OutputChecker()
        for command, want in console_commands(block.source):
            done = subprocess.run(command, shell=True, cwd=self.tmp.name, env=env,
                                  capture_output=True, text=True, timeout=120)
            got = done.stdout + done.stderr
            if done.returncode != 0:
                return "fail", f"$ {command}\nexited with {done.returncode}:\n{got}"
            if "output-varies" not in block.markers and not checker.check_output(
                    want, got, FLAGS):
                return "fail", f"$ {command}\nshown:\n{want}printed:\n{got}"
        return "pass", ""


def console_commands(source: str) -> list[tuple[str, str]]:
    """The ``$ command`` lines of a console block, each with the output shown after it."""
    commands: list[tuple[str, str]] = []
    for line in source.splitlines():
        if line.startswith("$ "):
            commands.append((line[2:], ""))
        elif commands:
            commands[-1] = (commands[-1][0], commands[-1][1] + line + "\n")
    return commands


@pytest.fixture(scope="module")
def page_runs():
    runs: dict[pathlib.Path, PageRun] = {}
    yield runs
    for run in runs.values():
        run.tmp.cleanup()


@pytest.mark.parametrize("block", [
    pytest.param(b, id=f"{b.where}-{b.lang}", marks=[pytest.mark.slow] * ("slow" in b.markers))
    for b in BLOCKS])
def test_markdown_example_runs_and_shows_what_it_says(block, page_runs):
    if block.page not in page_runs:
        page_runs[block.page] = PageRun(block.page)
    outcome, message = page_runs[block.page].result(block)
    if outcome == "skip":
        pytest.skip(message)
    assert outcome == "pass", f"the example at {block.where} failed:\n{message}"


def test_markers_are_known_and_placed_on_run_blocks():
    problems = [p for page in PAGES for p in parse(page)[1]]
    assert not problems, "\n".join(problems)


def undeclared_imports(blocks: list[Block]) -> list[str]:
    """The imports of optional packages that a block's ``requires`` marker does not name."""
    undeclared = []
    for block in blocks:
        if block.lang == "console" or block.not_run:
            continue
        for module in sorted(imported_modules(block)):
            lacking = needed(module) - set(block.requires)
            if lacking:
                undeclared.append(f"{block.where} imports {module} without "
                                  f"<!-- requires: {', '.join(sorted(lacking))} -->")
    return undeclared


def test_optional_imports_are_declared():
    undeclared = undeclared_imports(BLOCKS)
    assert not undeclared, "\n".join(undeclared)


def test_an_undeclared_optional_import_is_found(tmp_path):
    page = tmp_path / "page.md"
    page.write_text("<!-- requires: dask -->\n```python\nfrom dask.distributed import Client\n```"
                    "\n\n```pycon\n>>> import numpy, cupyx.scipy.sparse\n```\n\n"
                    "<!-- requires: scipy -->\n```pycon\n>>> import scipy.sparse\n```\n",
                    encoding="utf-8")
    found = undeclared_imports(parse(page)[0])
    assert found == ["page.md:2 imports dask.distributed without <!-- requires: distributed -->",
                     "page.md:6 imports cupyx.scipy.sparse without <!-- requires: cupy -->"]


def test_blocks_not_run_are_the_counted_ones():
    counted = {}
    for block in BLOCKS:
        if block.not_run:
            counted[block.page.name] = counted.get(block.page.name, 0) + 1
    assert counted == NOT_RUN


@pytest.mark.parametrize("module", [specnorm._api, specnorm.testing])
def test_docstring_examples_run(module):
    failures, attempted = doctest.testmod(module, optionflags=doctest.ELLIPSIS)
    assert attempted > 0 and failures == 0


SELF_TEST_PAGE = """\
```pycon
>>> x = 1 + 1
>>> x
2
```

```pycon
>>> x + 1
4
```

```python
print("printed", x)
```

Prose between a script and its output.

<!-- output -->
```text
shown 2
```

<!-- requires: zarr -->
```pycon
>>> y = 5
```

```console
$ python -c "print(6)" > six.txt
$ python -c "print(open('six.txt').read().strip())"
6
```

```console
$ python -c "import sys; sys.exit(3)"
```

<!-- slow: deferred -->
```pycon
>>> x = 100
```

```pycon
>>> x
2
```
"""


def test_the_runner_fails_wrong_output_and_skips_what_is_missing(tmp_path, monkeypatch):
    page = tmp_path / "page.md"
    page.write_text(SELF_TEST_PAGE, encoding="utf-8")
    monkeypatch.setattr(sys.modules[__name__], "missing",
                        lambda name: f"{name}, which is not installed" if name == "zarr" else None)
    run = PageRun(page)
    try:
        outcomes = [run.result(block)[0] for block in run.blocks[:-2]]
        # The slow block before the last one has not run for the last one's sake.
        last = run.result(run.blocks[-1])[0]
    finally:
        run.tmp.cleanup()
    assert outcomes == ["pass", "fail", "fail", "skip", "pass", "fail"]
    assert last == "pass"
    assert "shown 2" in run.results[2][1] and "printed 2" in run.results[2][1]


def test_misplaced_and_unknown_markers_are_reported(tmp_path):
    page = tmp_path / "page.md"
    page.write_text("<!-- require: scipy -->\n```python\npass\n```\n\n<!-- not-run: x -->\n"
                    "Prose.\n\n<!-- requires: sympy -->\n```python\npass\n```\n",
                    encoding="utf-8")
    problems = parse(page)[1]
    assert any("unknown marker 'require'" in p for p in problems)
    assert any("right before a fence" in p for p in problems)
    assert any("['sympy']" in p for p in problems)
