"""converged means sigma_1: seeded runs against the SVD, a few thousand of them (the sweep of
bench/sweep_sigma1.py in small).

A run misses when it reports converged=True with sigma below (1 - tol') sigma_1 by more than the
rounding of one product (docs/mathematics.md 7.4; tol' = tol after the rounding floor). The
stopping rule allows that with probability 1e-6 per run, so a seeded test of a few thousand runs
expects none. Before the rule, the "trap" spectra below (sigma_2 = (1 - 3 tol) sigma_1 with a wide
gap under it) gave misses in 1 to 9 runs of 60 in 30 of the cases here.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

import specnorm as sn
from specnorm._rules import tol_floor
from specnorm.testing import matrix_with_spectrum


def trap_stack(count: int, shape: tuple[int, int], tol: float, dtype: str,
               seed: int) -> np.ndarray:
    """Matrices whose sigma_2 lies 3 tol below sigma_1 = 1, with the rest far below."""
    rng = np.random.default_rng(seed)
    k = min(shape)
    out = []
    for _ in range(count):
        rest = np.sort(rng.uniform(0.05, 0.6, size=k - 2))[::-1]
        s = np.concatenate([[1.0, 1.0 - 3 * tol], rest])
        out.append(matrix_with_spectrum(s, shape, dtype=dtype, seed=rng))
    return np.stack(out)


def misses(a: np.ndarray, got: sn.Estimate, tol: float) -> int:
    exact = np.linalg.norm(a.astype(np.complex128 if a.dtype.kind == "c" else np.float64), 2,
                           axis=(-2, -1))
    m, n = a.shape[-2:]
    eps = float(np.finfo(a.dtype).eps)
    tol_eff = max(tol, tol_floor(a.dtype, m, n))
    gap = (exact - np.asarray(got.sigma, dtype=np.float64)) / exact
    return int(np.sum(np.asarray(got.converged) & (gap > tol_eff + 4 * eps * math.sqrt(max(m, n)))))


@pytest.mark.parametrize("method", ["auto", "lanczos", "power", "rayleigh"])
@pytest.mark.parametrize("dtype", ["float64", "float32", "complex128"])
@pytest.mark.parametrize("tol", [1e-2, 1e-3, 1e-6])
def test_no_converged_answer_misses_sigma1_on_trap_spectra(method, dtype, tol):
    a = trap_stack(60, (90, 70), tol, dtype, seed=int(1e6 * tol) + len(method) + len(dtype))
    got = sn.estimate(a, method, tol=tol, seed=5)
    assert misses(a, got, tol) == 0
    # the rule costs products, not answers: nearly every run still converges (except power
    # iteration's, whose convergence factor (1 - 3 tol)^2 needs millions of steps at 1e-6)
    if method != "power" or tol > 1e-3:
        assert np.mean(got.converged) >= 0.95


@pytest.mark.parametrize("method", ["lanczos", "power", "rayleigh"])
def test_the_engine_follows_the_same_rule(method):
    a = trap_stack(40, (90, 70), 1e-2, "float64", seed=11)
    got = sn.estimate(a, method, tol=1e-2, seed=6, backend="numpy")
    assert misses(a, got, 1e-2) == 0
    assert np.all(got.converged)


@pytest.mark.parametrize("method", ["auto", "lanczos"])
def test_gaussian_matrices_at_loose_tolerance(method):
    # the measurement that opened the question: 8 of 800 calls on Gaussian 128 x 128 at
    # tol = 1e-2 returned sigma_2 with converged=True
    rng = np.random.default_rng(2026)
    total = 0
    for part in range(4):
        a = rng.standard_normal((100, 128, 128))
        got = sn.estimate(a, method, tol=1e-2, seed=part)
        total += misses(a, got, 1e-2)
        assert np.all(got.converged)
    assert total == 0


@pytest.mark.parametrize("backend", ["cpp", "numpy"])
def test_a_start_on_the_second_singular_vector_still_finds_sigma1(backend):
    # v0 = v_2 exactly: the old rule converged on sigma_2 with residual 0; the start is now
    # mixed with a random vector and the run must prove that it did not miss sigma_1
    rng = np.random.default_rng(3)
    u, _ = np.linalg.qr(rng.standard_normal((50, 50)))
    v, _ = np.linalg.qr(rng.standard_normal((40, 40)))
    s = np.concatenate([[2.0, 1.0], np.linspace(0.5, 0.1, 38)])
    a = (u[:, :40] * s) @ v.T
    for method in ("lanczos", "power", "rayleigh"):
        got = sn.estimate(a, method, tol=1e-8, v0=v[:, 1], backend=backend)
        assert got.converged, method
        assert got.sigma == pytest.approx(2.0, rel=1e-8), method
