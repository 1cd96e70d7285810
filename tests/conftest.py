"""Test configuration: Hypothesis profiles chosen by HYPOTHESIS_PROFILE (default "ci")."""

import os

from hypothesis import HealthCheck, settings

settings.register_profile(
    "ci",
    derandomize=True,
    max_examples=40,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.too_slow],
    print_blob=True,
)
settings.register_profile(
    "dev", max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow],
    print_blob=True,
)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))


# --- every backend -----------------------------------------------------------------------------
# Tests that check an algorithm take the `backend` fixture and call `backend.estimate(...)`,
# `backend.sigma(...)` and friends: the call goes through the public API with the input moved to
# the backend's array type and the answer moved back to NumPy for the assertions.
#
# "array_api_strict" stands in for CuPy: it is the CuPy backend's class (XpBackend, on_device,
# the same sync interval) on the namespace array_api_strict, which rejects anything outside the
# array API standard. It is registered for the test session only.

import dataclasses  # noqa: E402
from typing import Any  # noqa: E402

import numpy as np  # noqa: E402
import pytest  # noqa: E402

import specnorm as sn  # noqa: E402
from specnorm.backends import BACKENDS, cupy  # noqa: E402
from specnorm.backends.xp import XpBackend  # noqa: E402

STANDIN = "array_api_strict"


def _strict_backend() -> XpBackend | None:
    try:
        import array_api_strict as xps
    except ImportError:
        return None
    return XpBackend(
        STANDIN,
        load=lambda: xps,
        check=lambda namespace: (True, "array_api_strict standing in for CuPy"),
        owns=lambda a: type(a).__module__.startswith("array_api_strict"),
        to_host=lambda x: np.asarray(np.from_dlpack(x)),
        from_host=lambda values, like: xps.asarray(
            values, device=None if like is None else like.device),
        sync_every=cupy.SYNC_EVERY,
        on_device=True,
    )


class Runner:
    """The public API on one backend, with NumPy in and NumPy out."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.device = BACKENDS[name].on_device

    def put(self, a: Any) -> Any:
        if not self.device:
            return a
        return BACKENDS[self.name].from_host(np.asarray(a), None)

    def get(self, x: Any) -> Any:
        if isinstance(x, (float, int, bool, str)) or not self.device:
            return x
        return np.asarray(BACKENDS[self.name].to_host(x))

    def estimate(self, A: Any, *args: Any, **kw: Any) -> sn.Estimate:
        if kw.get("v0") is not None:
            kw["v0"] = self.put(kw["v0"])
        est = sn.estimate(self.put(A), *args, backend=self.name, **kw)
        fields = {f.name: self.get(getattr(est, f.name)) for f in dataclasses.fields(est)}
        return sn.Estimate(**fields)

    def sigma(self, A: Any, *args: Any, **kw: Any) -> Any:
        return self.get(sn.sigma(self.put(A), *args, backend=self.name, **kw))

    def rayleigh_quotient(self, A: Any, x: Any) -> float:
        # rayleigh_quotient takes no backend argument: it follows SPECNORM_BACKEND.
        saved = os.environ.get("SPECNORM_BACKEND")
        os.environ["SPECNORM_BACKEND"] = self.name
        try:
            return sn.rayleigh_quotient(self.put(A), self.put(x))
        finally:
            if saved is None:
                del os.environ["SPECNORM_BACKEND"]
            else:
                os.environ["SPECNORM_BACKEND"] = saved

    def __repr__(self) -> str:
        return f"Runner({self.name})"


@pytest.fixture(scope="session", autouse=True)
def _register_standin():
    standin = _strict_backend()
    if standin is not None:
        BACKENDS[STANDIN] = standin
    yield
    BACKENDS.pop(STANDIN, None)


@pytest.fixture(scope="session", params=["cpp", "numpy", STANDIN])
def backend(request, _register_standin) -> Runner:
    """Each backend usable here (the array_api_strict stand-in needs that package)."""
    if request.param not in BACKENDS:
        pytest.skip(f"{request.param} is not installed")
    usable, reason = BACKENDS[request.param].availability()
    if not usable:
        pytest.skip(f"backend {request.param} is not usable here: {reason}")
    return Runner(request.param)


@pytest.fixture(scope="session", params=["cpp", "numpy"])
def host_backend(request) -> Runner:
    """Each host backend usable here (for checks about NumPy memory layouts)."""
    usable, reason = BACKENDS[request.param].availability()
    if not usable:
        pytest.skip(f"backend {request.param} is not usable here: {reason}")
    return Runner(request.param)


# --- the quick run --------------------------------------------------------------------------
# `pytest -m "not slow"` is the quick run (a few minutes on 2 cores); CI runs everything. Whole
# tests that take long carry @pytest.mark.slow. For parametrized tests whose cases differ a lot in
# cost (power iteration on a tiny gap in the pure-Python engines, complex column-major matrices,
# Hypothesis-driven checks on the array_api_strict stand-in), the long cases are named here by a
# part of their id: the quick run keeps the other cases, so every test still runs in it.
SLOW_CASES: dict[str, tuple[str, ...]] = {
    "test_hard_spectra_on_every_method_and_dtype": ("tiny-gap-power",),
    "test_column_major_matrices_give_pairs_of_a": ("complex", "rayleigh"),
    "test_specnorm_passes_the_users_estimator_check": ("power", "array_api_strict", "numpy-"),
    "test_norm_inequalities_hold": ("numpy-power",),
    "test_the_core_releases_the_gil": ("8",),
    "test_the_gil_check_fails_where_the_gil_is_held": ("8",),
    "test_each_matrix_stops_on_its_own": ("array_api_strict",),
    "test_cpp_and_numpy_agree": ("power-complex",),
    "test_agrees_with_numpy": ("complex", "float32"),
    "test_bracket_tightens_with_a_random_start": ("numpy", "array_api_strict-power"),
    "test_the_budget_counts_every_product": ("lanczos-3", "power-40", "lanczos-1"),
    "test_lanczos_restarts_keep_the_answer_on_hard_spectra": ("shape0-2-", "shape0-3-complex64"),
    "test_sigma_of_adjoint_equals_sigma": ("numpy-power",),
    "test_sigma_agrees_with_known_spectrum": ("array_api_strict-power",),
}


def pytest_collection_modifyitems(config, items):
    """Mark the cases of SLOW_CASES slow; an entry that no longer names a collected test, or
    that would leave a test without a quick case, is an error (the table must follow the tests)."""
    seen: dict[str, list[bool]] = {}
    for item in items:
        parts = SLOW_CASES.get(getattr(item, "originalname", item.name))
        if parts is None:
            continue
        callspec = getattr(item, "callspec", None)
        slow = callspec is not None and any(part in callspec.id for part in parts)
        if slow:
            item.add_marker(pytest.mark.slow)
        seen.setdefault(item.originalname, []).append(slow)
    for name, marks in seen.items():
        if not any(marks) or all(marks):
            raise pytest.UsageError(
                f"conftest.SLOW_CASES[{name!r}] marks {sum(marks)} of {len(marks)} cases slow: "
                "it must name some cases of the test, not none or all")
