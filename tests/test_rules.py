"""The rules both languages need are written once per language: specnorm._rules for Python and
the C++ core's constants and enums, which specnorm._core exposes. Each pair must agree."""

from __future__ import annotations

import importlib.util
import math
import subprocess
import sys
from typing import Any

import numpy as np
import pytest

from specnorm import _rules


@pytest.fixture(scope="module")
def core() -> Any:
    return pytest.importorskip("specnorm._core", reason="the compiled extension is not built")


#: Each constant of _rules that the core has too, with its name there.
SHARED = {
    "UNDERFLOW_SQUARES": "UNDERFLOW_SQUARES",
    "BASIS_VECTORS": "BASIS_VECTORS",
    "LANCZOS_TINY": "LANCZOS_TINY",
    "DGKS_RATIO": "DGKS_RATIO",
    "RESTART_DIVISOR": "RESTART_DIVISOR",
    "RAYLEIGH_INNER_STEPS": "RAYLEIGH_INNER_STEPS",
    "RAYLEIGH_MINRES_RTOL": "RAYLEIGH_MINRES_RTOL",
    "MISS_PROBABILITY": "MISS_PROBABILITY",
    "START_MIX": "START_MIX",
    "SVD_CUTOFF": "GRAM_CUTOFF",  # auto runs the Gram kernel up to it
}


@pytest.mark.parametrize("name", sorted(SHARED))
def test_each_shared_constant_is_the_cores(name, core):
    ours, theirs = getattr(_rules, name), getattr(core, SHARED[name])
    assert type(ours) is type(theirs), (name, ours, theirs)
    assert ours == theirs, (name, ours, theirs)


def test_the_constants_are_what_the_documentation_says(core):
    # A change of either side must be a decision: here the values the docs and comments give.
    assert core.UNDERFLOW_SQUARES == 1e-280
    assert core.DGKS_RATIO == math.sqrt(0.5)  # the double nearest 1 / sqrt(2)
    assert (core.LANCZOS_TINY, core.RESTART_DIVISOR, core.BASIS_VECTORS) == (16.0, 2, 64)
    assert (core.RAYLEIGH_INNER_STEPS, core.RAYLEIGH_MINRES_RTOL) == (24, 1e-3)
    assert (core.MISS_PROBABILITY, core.START_MIX) == (1e-6, 1e-3)


def test_start_miss_is_the_sphere_coordinate_bound():
    # P(|c_1| <= eta) <= eta sqrt(2 (d - 1) / pi) (real), (d - 1) eta^2 (complex), times the
    # weight of a mixed start; checked against draws of a uniform point on the sphere
    rng = np.random.default_rng(0)
    d, eta = 50, 0.01
    g = rng.standard_normal((200_000, d))
    share = np.mean(np.abs(g[:, 0]) / np.linalg.norm(g, axis=1) <= eta)
    bound = float(_rules.start_miss(math.log(eta), 1.0, d, False))
    assert bound == pytest.approx(eta * math.sqrt(2 * (d - 1) / math.pi))
    assert share <= bound and share >= 0.8 * bound  # the bound is nearly tight
    z = g[:, : d // 2] + 1j * g[:, d // 2:]
    share_c = np.mean(np.abs(z[:, 0]) / np.linalg.norm(z, axis=1) <= 0.05)
    bound_c = float(_rules.start_miss(math.log(0.05), 1.0, d // 2, True))
    assert bound_c == pytest.approx((d // 2 - 1) * 0.05**2)
    assert share_c <= bound_c
    assert float(_rules.start_miss(math.log(eta), 1001.0, d, False)) == 1.0  # capped at 1


def members(kind: Any) -> list[str]:
    """The names of an enum's members in the order of their values, which must be 0, 1, ...;
    each member equals its value (the Python layer compares statuses with their codes)."""
    values = sorted(kind.__members__.values(), key=int)
    assert [int(v) for v in values] == list(range(len(values)))
    assert all(v == code for code, v in enumerate(values))
    return [v.name for v in values]


def test_bound_kinds_agree(core):
    assert members(core.BoundKind) == list(_rules.BOUND_KINDS)
    for code, name in enumerate(_rules.BOUND_KINDS):
        assert core.BoundKind.__members__[name] == code


def test_statuses_agree(core):
    assert members(core.Status) == list(_rules.STATUSES)
    for code, name in enumerate(_rules.STATUSES):
        assert getattr(core.Status, name) == code


def test_methods_agree(core):
    assert members(core.Method) == list(_rules.CORE_METHODS)
    # The core runs every iterative method a caller may name, and the Gram kernel besides.
    iterative = [m for m in _rules.METHODS if m not in ("auto", "svd")]
    assert [m for m in _rules.CORE_METHODS if m != "gram"] == iterative
    assert _rules.resolve_method("auto", 8, 8, True) in _rules.CORE_METHODS
    assert _rules.resolve_method("auto", 100, 100, True) in _rules.CORE_METHODS


def test_rules_imports_nothing_of_the_package():
    """_rules must load on its own: a fresh interpreter importing it loads no other module of
    specnorm (specnorm/__init__ is bypassed by loading the file itself)."""
    spec = importlib.util.find_spec("specnorm._rules")
    assert spec is not None and spec.origin is not None
    code = (
        "import importlib.util, sys\n"
        f"spec = importlib.util.spec_from_file_location('rules_alone', {spec.origin!r})\n"
        "module = importlib.util.module_from_spec(spec)\n"
        "spec.loader.exec_module(module)\n"
        "print(sorted(m for m in sys.modules if m.startswith('specnorm')))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True)
    assert out.stdout.strip() == "[]"
