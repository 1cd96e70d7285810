"""Matrices stored column by column (F order, column views) on the C++ backend: past 2^16
entries the core runs on A^T, which is row-major over the same memory, and turns the pair back
(cpp/specnorm/dense.hpp). The answer must be one of A in every field, as for C order."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

import specnorm as sn
from specnorm.testing import matrix_with_spectrum

METHODS = ["power", "lanczos", "rayleigh"]
PER_MATRIX = ("sigma", "u", "v", "lower", "upper", "confidence", "iterations", "converged",
              "residual")
SPECTRUM = np.r_[3.0, 2.0, np.linspace(1.0, 0.01, 298)]


def eps(dtype) -> float:
    return float(np.finfo(np.dtype(dtype)).eps)


def check_pair(a: np.ndarray, est, tol: float) -> None:
    """u, v unit, A v = sigma u up to rounding, the reported residual is A's, and the bracket."""
    work = a.astype(np.complex128 if a.dtype.kind == "c" else np.float64)
    exact = np.linalg.norm(work, 2)
    slack = 50 * eps(a.dtype) * exact * np.sqrt(max(a.shape))
    assert np.linalg.norm(est.u) == pytest.approx(1.0, abs=1e-4 if a.dtype.itemsize <= 8 else 1e-12)
    assert np.linalg.norm(est.v) == pytest.approx(1.0, abs=1e-4 if a.dtype.itemsize <= 8 else 1e-12)
    assert np.linalg.norm(work @ est.v - est.sigma * est.u) <= slack
    residual = np.linalg.norm(work.conj().T @ est.u - est.sigma * est.v) / est.sigma
    assert residual == pytest.approx(est.residual, rel=0.05, abs=slack / exact)
    assert est.lower <= exact + slack and exact <= est.upper + slack
    if est.converged:
        assert abs(est.sigma - exact) <= 2 * tol * exact + slack


@pytest.mark.parametrize("method", METHODS)
@pytest.mark.parametrize("dtype", [np.float64, np.complex128, np.float32, np.complex64])
@pytest.mark.parametrize("shape", [(300, 400), (400, 300)])
def test_column_major_matrices_give_pairs_of_a(method, dtype, shape):
    a = matrix_with_spectrum(SPECTRUM, shape, dtype=dtype, seed=3)
    tol = 1e-10 if np.dtype(dtype).itemsize in (8, 16) and np.dtype(dtype) != np.complex64 \
        else 1e-4
    for layout in (np.asfortranarray(a), a):
        est = sn.estimate(layout, method, tol=tol, seed=1, backend="cpp")
        assert est.converged
        check_pair(a, est, tol)
        assert est.sigma == pytest.approx(3.0, rel=1e-3)


@pytest.mark.slow
def test_column_views_and_stacks_of_column_major_matrices():
    a = matrix_with_spectrum(SPECTRUM, (300, 400), dtype=np.complex128, seed=5)
    big = np.zeros((600, 450), dtype=a.dtype, order="F")
    big[100:400, 20:420] = a
    view = big[100:400, 20:420]  # columns contiguous, 600 entries apart
    assert view.strides[0] == a.itemsize
    est = sn.estimate(view, "lanczos", tol=1e-10, seed=0, backend="cpp")
    check_pair(a, est, 1e-10)
    stack = np.stack([a, 2 * a, 0.5 * a]).transpose(0, 2, 1).conj()  # each (400, 300), F order
    assert stack[0].flags.f_contiguous
    est = sn.estimate(stack, "lanczos", tol=1e-10, seed=0, backend="cpp")
    np.testing.assert_allclose(est.sigma, [3.0, 6.0, 1.5], rtol=1e-9)
    for b in range(3):
        one = dataclasses.replace(est, **{f: getattr(est, f)[b] for f in PER_MATRIX})
        check_pair(stack[b], one, 1e-10)


@pytest.mark.parametrize("maxiter", [1, 2, 3, 15, 16, 17, 18, 40])
@pytest.mark.parametrize("method", METHODS)
def test_the_budget_counts_every_product(method, maxiter):
    a = np.asfortranarray(matrix_with_spectrum(SPECTRUM, (300, 400), seed=2))
    est = sn.estimate(a, method, tol=1e-14, maxiter=maxiter, seed=0, backend="cpp")
    assert 1 <= est.iterations <= maxiter
    exact = 3.0
    assert est.lower <= exact * (1 + 1e-12) <= est.upper * (1 + 1e-12)
    assert 0 < est.sigma <= exact * (1 + 1e-12)


def test_a_warm_start_stays_warm():
    """v0 = v_1: the run on A^T starts from conj(A v_1) ~ conj(u_1), meets the residual at once
    and spends the rest proving sigma_1 (no more than a cold start does)."""
    a = np.asfortranarray(matrix_with_spectrum(SPECTRUM, (300, 400), seed=4))
    v1 = np.linalg.svd(a)[2][0]
    for method in METHODS:
        cold = sn.estimate(a, method, tol=1e-8, seed=0, backend="cpp")
        est = sn.estimate(a, method, tol=1e-8, v0=v1, seed=0, backend="cpp")
        assert est.converged and est.iterations <= cold.iterations + 10, method
        assert est.sigma == pytest.approx(3.0, rel=1e-12)
        assert abs(abs(np.vdot(est.v, v1)) - 1) < 1e-8


def test_a_start_in_the_null_space():
    """A v0 = 0: no start for A^T; the run on A itself draws a fresh start."""
    rng = np.random.default_rng(6)
    left = np.linalg.qr(rng.standard_normal((300, 3)))[0]
    right = np.linalg.qr(rng.standard_normal((400, 4)))[0]
    a = np.asfortranarray((left * [2.0, 1.0, 0.5]) @ right[:, :3].T)
    v0 = right[:, 3]  # orthogonal to the row space
    assert np.linalg.norm(a @ v0) < 1e-12
    for method in METHODS:
        est = sn.estimate(a, method, tol=1e-10, v0=v0, seed=0, backend="cpp")
        assert est.sigma == pytest.approx(2.0, rel=1e-8), method
        check_pair(a, est, 1e-10)
