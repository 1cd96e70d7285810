"""The C++ core and its Python twin (specnorm.engine) run the same algorithms: from the same start
vector every method gives the same sigma to rounding and the same number of products, on
specnorm.testing's hard spectra, every dtype, single matrices and stacks. Drift between the two
fails here.

The margin on products: identical in exact arithmetic, the two differ in the order of their
floating-point sums, so a run whose stopping test is met within rounding of tol may stop a
step (two products) earlier or later. In double precision the margin is max(4 products, 3% of
the count). In single precision rounding moves the inner tests of MINRES (Rayleigh-quotient
iteration) and the Ritz values after frequent restarts by more: there it is max(16, 5%).
"""

from __future__ import annotations

import numpy as np
import pytest

from specnorm import _rules
from specnorm.backends import BACKENDS
from specnorm.testing import matrix_with_spectrum

pytestmark = pytest.mark.skipif(not BACKENDS["cpp"].availability()[0],
                                reason="the C++ core is not built")

CPP, PY = BACKENDS["cpp"], BACKENDS["numpy"]
DTYPES = ["float32", "float64", "complex64", "complex128"]
METHODS = ["power", "lanczos", "rayleigh"]


def spectrum(kind: str, k: int) -> np.ndarray:
    """Hard spectra of specnorm.testing's kinds: a tiny gap, a repeated top, a slow decay."""
    if kind == "tiny_gap":
        return np.concatenate([[1.0, 0.999, 0.99], np.linspace(0.9, 0.0, k - 3)])
    if kind == "repeated_top":
        return np.concatenate([[1.0, 1.0, 1.0], np.linspace(0.5, 0.0, k - 3)])
    return 1.0 / np.arange(1, k + 1)  # slow decay


def start(n: int, dtype: str, seed: int, count: int | None = None) -> np.ndarray:
    rng = np.random.default_rng(seed)
    shape = (n,) if count is None else (count, n)
    x = rng.standard_normal(shape)
    if np.dtype(dtype).kind == "c":
        x = x + 1j * rng.standard_normal(shape)
    return x.astype(dtype)


def tol_for(dtype: str) -> float:
    return 1e-4 if np.dtype(dtype) in (np.float32, np.complex64) else 1e-8


def same_products(a: int, b: int, dtype: str) -> bool:
    single = np.dtype(dtype) in (np.float32, np.complex64)
    least, share = (16, 0.05) if single else (4, 0.03)
    return abs(int(a) - int(b)) <= max(least, share * max(int(a), int(b)))


def same_sigma(a: float, b: float, dtype: str, tol: float) -> bool:
    # Both are Rayleigh quotients ||A v|| of certified vectors: equal to rounding where both
    # converged (the error of each is O(tol^2) relative).
    eps = float(np.finfo(np.dtype(dtype)).eps)
    return abs(a - b) <= max(64 * eps, 2 * tol * tol) * max(abs(a), abs(b))


def run(be, a, method, tol, starts, basis=None, budget=3000):
    """``method`` on the stack ``a`` from ``starts`` through a backend's solve."""
    m, n = a.shape[-2:]
    if basis is None:
        basis = _rules.basis_size(m, n, a.dtype.itemsize)
    seeds = np.arange(a.shape[0], dtype=np.uint64) + 3
    return be.solve(be.prepare(a), method, tol, budget, basis, seeds, starts, 1)


def assert_same(got, want, dtype, tol):
    np.testing.assert_array_equal(got.converged, want.converged)
    for b in range(len(want.sigma)):
        assert same_sigma(got.sigma[b], want.sigma[b], dtype, tol), (b, got.sigma[b],
                                                                      want.sigma[b])
        assert same_products(got.iterations[b], want.iterations[b], dtype), (
            b, got.iterations[b], want.iterations[b])
    np.testing.assert_array_equal(got.bound_kind, want.bound_kind)
    for b in range(len(want.bound_steps)):
        # power's bound steps are half its products: the same margin
        assert same_products(2 * got.bound_steps[b], 2 * want.bound_steps[b], dtype), (
            b, got.bound_steps[b], want.bound_steps[b])


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("method", [*METHODS, "gram"])
@pytest.mark.parametrize("kind", ["tiny_gap", "repeated_top", "slow_decay"])
@pytest.mark.parametrize("shape", [(70, 50), (50, 70)])
def test_one_matrix_same_sigma_and_products(dtype, method, kind, shape):
    k = min(shape)
    a = matrix_with_spectrum(3.0 * spectrum(kind, k), shape, dtype=dtype, seed=11)[None]
    starts = start(shape[1], dtype, 5, 1)
    tol = max(tol_for(dtype), _rules.tol_floor(np.dtype(dtype), *shape))
    want, got = run(CPP, a, method, tol, starts), run(PY, a, method, tol, starts)
    assert_same(got, want, dtype, tol)
    if method == "gram":  # the kernel's certain bound
        np.testing.assert_allclose(got.upper, want.upper, rtol=1e-3)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("basis", [4, 64])
def test_lanczos_restarts_same_sigma_and_products(dtype, basis):
    # A small basis restarts often (thick restarts, the arrowhead-plus-bidiagonal B).
    a = matrix_with_spectrum(3.0 * spectrum("tiny_gap", 60), (90, 60), dtype=dtype, seed=3)[None]
    starts = start(60, dtype, 8, 1)
    tol = tol_for(dtype)
    want = run(CPP, a, "lanczos", tol, starts, basis=basis, budget=4000)
    got = run(PY, a, "lanczos", tol, starts, basis=basis, budget=4000)
    assert want.converged[0]
    assert_same(got, want, dtype, tol)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("method", [*METHODS, "gram"])
def test_stack_same_sigma_and_products(dtype, method):
    count, shape = 6, (40, 30)
    rng = np.random.default_rng(4)
    kinds = ["tiny_gap", "repeated_top", "slow_decay"]
    a = np.stack([matrix_with_spectrum(rng.uniform(0.5, 4) * spectrum(kinds[i % 3], 30), shape,
                                       dtype=dtype, seed=i) for i in range(count)])
    starts = start(30, dtype, 9, count)
    tol = max(tol_for(dtype), _rules.tol_floor(np.dtype(dtype), *shape))
    want, got = run(CPP, a, method, tol, starts), run(PY, a, method, tol, starts)
    assert_same(got, want, dtype, tol)
    if method == "gram":
        np.testing.assert_allclose(got.upper, want.upper, rtol=1e-3)
