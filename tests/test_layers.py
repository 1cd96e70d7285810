"""The package's layers hold (docs/architecture.md): each layer imports only the layers below it,
and no module holds more than one subject's worth of code."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "python" / "specnorm"


def imported(path: Path) -> set[str]:
    """The specnorm modules a file imports, as dotted names relative to the package
    ("_rules", "engine.result", "backends", ...)."""
    here = path.relative_to(PACKAGE).with_suffix("").parts
    package = here[:-1]  # the package a relative import starts from
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom):
            if node.level:
                base = list(package[:len(package) - node.level + 1])
                target = [*base, *(node.module.split(".") if node.module else [])]
                if node.module is None:  # from . import x
                    names.update(".".join([*target, alias.name]) for alias in node.names)
                else:
                    names.add(".".join(target))
            elif node.module and node.module.startswith("specnorm"):
                names.add(node.module.removeprefix("specnorm").lstrip("."))
        elif isinstance(node, ast.Import):
            names.update(alias.name.removeprefix("specnorm").lstrip(".") for alias in node.names
                         if alias.name.startswith("specnorm"))
    return {name for name in names if name}


def modules(folder: str = "") -> list[Path]:
    root = PACKAGE / folder if folder else PACKAGE
    return sorted(root.rglob("*.py") if folder else root.glob("*.py"))


def test_the_rules_import_nothing_of_the_package():
    assert imported(PACKAGE / "_rules.py") == set()


@pytest.mark.parametrize("path", modules("engine"), ids=lambda p: p.name)
def test_the_engine_imports_only_the_rules_and_itself(path):
    outside = {name for name in imported(path)
               if not (name == "_rules" or name == "engine" or name.startswith("engine."))}
    assert not outside, f"{path.name} imports {outside}"


@pytest.mark.parametrize("path", modules("backends"), ids=lambda p: p.name)
def test_no_backend_imports_the_pipeline_or_the_api(path):
    above = {"_api", "_solve", "_fast", "_validate", "_operator", "_dask", "nn", "cli",
             "testing", "conv", "torch", "_report"}
    bad = {name for name in imported(path) if name.split(".")[0] in above}
    assert not bad, f"{path.name} imports {bad}"


@pytest.mark.parametrize("name", ["_api.py", "_solve.py", "_fast.py", "_validate.py"])
def test_the_api_and_the_pipeline_never_import_their_users(name):
    users = {"nn", "cli", "testing", "conv", "torch", "_report"}
    bad = {mod for mod in imported(PACKAGE / name) if mod.split(".")[0] in users}
    assert not bad, f"{name} imports {bad}"


@pytest.mark.parametrize("path", modules("") + modules("engine") + modules("backends")
                         + modules("nn") + modules("testing"), ids=lambda p: str(p.name))
def test_no_module_is_over_600_lines(path):
    lines = len(path.read_text().splitlines())
    assert lines <= 600, f"{path.relative_to(PACKAGE)} has {lines} lines"


def test_the_checker_sees_every_form_of_import():
    # The checker itself: "from .. import", "from ..x import", "from . import" and "from .x
    # import" are all seen, so the layer tests above can fail.
    assert {"_rules", "engine.result"} <= imported(PACKAGE / "engine" / "lanczos.py")
    assert {"_fast", "_solve", "backends"} <= imported(PACKAGE / "_api.py")
    assert "backends.xp" in imported(PACKAGE / "_solve.py")
    assert "engine" in imported(PACKAGE / "backends" / "xp.py")
