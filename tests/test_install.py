"""Every install instruction the project gives names this project: the distribution in
pyproject.toml (never the unrelated ``specnorm`` on the package index) and an extra it defines."""

import pathlib
import re
import subprocess
import sys
import textwrap

import pytest

from specnorm._install import DISTRIBUTION, install_hint

tomllib = pytest.importorskip("tomllib")

ROOT = pathlib.Path(__file__).resolve().parent.parent
PROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
EXTRAS = set(PROJECT["optional-dependencies"])
TEXTS = sorted([ROOT / "README.md", *(ROOT / "docs").rglob("*.md"),
                *(ROOT / "python" / "specnorm").rglob("*.py"), ROOT / ".ci" / "run"])
# `pip install X[extra]` or `pip install "X[extra]"`, X a distribution name or a path.
INSTALL = re.compile(r"""pip install\s+["']?([\w.\-/]+)\[([\w,\-]+)\]""")


def test_the_distribution_name_is_the_one_in_pyproject():
    assert PROJECT["name"] == DISTRIBUTION
    assert DISTRIBUTION != "specnorm"


@pytest.mark.parametrize("path", TEXTS, ids=[str(p.relative_to(ROOT)) for p in TEXTS])
def test_every_install_instruction_names_this_project_and_a_real_extra(path):
    text = path.read_text(encoding="utf-8")
    for target, extras in INSTALL.findall(text):
        if path.name == "_install.py" and target == "specnorm":
            continue  # the module's docstring says why that name is not ours
        assert target in (DISTRIBUTION, "."), f"{path.name}: pip install {target}[{extras}]"
        for extra in extras.split(","):
            assert extra in EXTRAS, f"{path.name}: extra {extra!r} is not in pyproject.toml"


@pytest.mark.parametrize("extra", sorted(EXTRAS))
def test_install_hint_gives_both_forms(extra):
    hint = install_hint(extra)
    assert f'pip install "{DISTRIBUTION}[{extra}]"' in hint
    assert f'pip install ".[{extra}]"' in hint


@pytest.mark.parametrize(("module", "dependency", "extra", "words"), [
    ("specnorm.testing", "hypothesis", "testing", "built on Hypothesis"),
    ("specnorm.torch", "torch", "torch", "needs PyTorch"),
])
def test_an_optional_module_without_its_dependency_names_the_extra(module, dependency, extra,
                                                                    words):
    code = textwrap.dedent(
        f"""
        import sys
        sys.modules[{dependency!r}] = None  # makes `import {dependency}` fail
        try:
            import {module}
        except ImportError as exc:
            print(exc)
        else:
            raise SystemExit("{module} imported without {dependency}")
        """
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                            timeout=120, check=False)
    assert result.returncode == 0, result.stderr
    assert words in result.stdout
    assert f'pip install "{DISTRIBUTION}[{extra}]"' in result.stdout
