"""One small matrix (min(m, n) <= 64) under method="auto": the core's Gram kernel, reached by the
lean path of sigma/estimate (a C- or F-ordered NumPy matrix with plain arguments) or by the
general path (any other layout or argument), which must give the same answer."""

from __future__ import annotations

import math

import numpy as np
import pytest

import specnorm as sn
from specnorm import _fast
from specnorm.testing import matrix_with_spectrum

DTYPES = [np.float32, np.float64, np.complex64, np.complex128]


def small(shape, dtype=np.float64, seed=0):
    rng = np.random.default_rng(seed)
    a = rng.standard_normal(shape)
    if np.dtype(dtype).kind == "c":
        a = a + 1j * rng.standard_normal(shape)
    return a.astype(dtype)


def lean_calls(monkeypatch):
    """Counts the lean path's answers (calls that did not fall back to the general path)."""
    answered = []
    original = _fast._small

    def spy(*args, **kw):
        out = original(*args, **kw)
        answered.append(out is not None)
        return out

    monkeypatch.setattr(_fast, "_small", spy)
    return answered


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("shape", [(1, 1), (5, 1), (1, 7), (32, 32), (64, 40), (9, 64),
                                   (1000, 3)])
def test_auto_on_a_small_matrix_runs_the_gram_kernel_and_agrees_with_the_svd(dtype, shape):
    a = small(shape, dtype, seed=sum(shape))
    est = sn.estimate(a, seed=1)
    exact = np.linalg.svd(a.astype(np.complex128), compute_uv=False)[0]
    eps = float(np.finfo(dtype).eps)
    room = 4 * max(1e-6, 8 * eps * math.sqrt(max(shape))) ** 2 + 64 * eps
    assert est.method == "power" and est.backend == "cpp"
    assert est.converged and est.confidence == 1.0
    assert est.sigma == pytest.approx(exact, rel=room)
    assert est.lower <= exact * (1 + 64 * eps) and est.upper >= exact * (1 - 64 * eps)
    assert est.residual <= max(1e-6, 8 * eps * math.sqrt(max(shape)))
    np.testing.assert_allclose(a @ est.v, est.sigma * est.u, atol=64 * eps * est.sigma)
    assert sn.sigma(a, seed=1) == est.sigma


class Subclass(np.ndarray):
    """An ndarray subclass: the general path views it as a plain array, in place."""


def test_the_lean_and_general_paths_give_the_same_answer(monkeypatch):
    answered = lean_calls(monkeypatch)
    a = small((24, 30), seed=3)
    lean = sn.estimate(a, seed=11)
    general = sn.estimate(a.view(Subclass), seed=11)  # the same memory, read the same way
    assert answered == [True, False]
    for field in ("sigma", "lower", "upper", "residual", "iterations", "converged", "method"):
        assert getattr(lean, field) == getattr(general, field), field
    np.testing.assert_array_equal(lean.u, general.u)
    np.testing.assert_array_equal(lean.v, general.v)
    # A layout the core cannot read in place is copied once; only the rounding of the
    # products differs.
    strided = np.asfortranarray(np.repeat(a, 2, axis=1))[:, ::2]
    copied = sn.estimate(strided, seed=11)
    assert copied.sigma == pytest.approx(lean.sigma, rel=1e-14)
    assert copied.iterations == lean.iterations


def test_a_fixed_seed_is_reproducible_and_no_seed_still_converges():
    a = small((40, 40), seed=4)
    first, second = sn.estimate(a, seed=7), sn.estimate(a, seed=7)
    assert first.sigma == second.sigma and first.iterations == second.iterations
    np.testing.assert_array_equal(first.v, second.v)
    exact = np.linalg.norm(a, 2)
    for _ in range(5):
        assert sn.sigma(a) == pytest.approx(exact, rel=1e-12)


@pytest.mark.parametrize("gap", [1e-3, 1e-6, 1e-9, 0.0])
@pytest.mark.parametrize("scale", [1.0, 1e-250, 1e250])
def test_a_close_top_pair_still_gives_sigma_1(gap, scale):
    # sigma_2 / sigma_1 = 1 - gap: power steps on G^8 cannot separate the pair within 4k steps;
    # the eigensolver's top eigenvector of G settles it, at every seed and scale.
    k = 32
    spectrum = np.concatenate([[1.0, 1.0 - gap], np.linspace(0.9, 0.1, k - 2)]) * scale
    for seed in range(8):
        a = matrix_with_spectrum(spectrum, (k, k), seed=seed)
        est = sn.estimate(a, seed=seed)
        assert est.converged
        assert est.sigma == pytest.approx(scale, rel=1e-12)
        assert est.lower <= scale * (1 + 1e-13) <= est.upper * (1 + 2e-13)


def test_bad_input_on_the_lean_path_is_still_rejected(monkeypatch):
    answered = lean_calls(monkeypatch)
    a = small((8, 8))
    bad = a.copy()
    bad[2, 3] = np.nan
    with pytest.raises(ValueError, match="NaN or Inf"):
        sn.sigma(bad)
    with pytest.raises(ValueError, match="NaN or Inf"):
        sn.estimate(bad)
    assert answered == [True, True]  # the core's bounds pass found the NaN
    for kw, match in [({"tol": 0.0}, "tol"), ({"tol": 2}, "tol"), ({"maxiter": 0}, "maxiter"),
                      ({"seed": -1}, "seed"), ({"threads": 0}, "threads"),
                      ({"backend": "nope"}, "backend")]:
        with pytest.raises(ValueError, match=match):
            sn.sigma(a, **kw)
    with pytest.raises(ValueError, match="unknown method"):
        sn.sigma(a, "fast")


def test_a_zero_matrix_gives_zero_with_a_unit_pair():
    z = np.zeros((6, 4))
    assert sn.sigma(z) == 0.0
    est = sn.estimate(z)
    assert est.sigma == est.lower == est.upper == 0.0 and est.converged
    assert np.linalg.norm(est.u) == 1.0 and np.linalg.norm(est.v) == 1.0
    assert est.u.shape == (6,) and est.v.shape == (4,)


def test_the_input_is_never_modified_and_other_dtypes_take_the_general_path(monkeypatch):
    answered = lean_calls(monkeypatch)
    a = small((16, 16), seed=5)
    before = a.copy()
    value = sn.sigma(a, seed=0)
    np.testing.assert_array_equal(a, before)
    as_int = np.arange(20).reshape(4, 5) % 3
    big_endian = a.astype(">f8")
    assert sn.sigma(big_endian, seed=0) == pytest.approx(value, rel=1e-12)
    assert sn.sigma(as_int, seed=0) == pytest.approx(np.linalg.norm(as_int, 2), rel=1e-12)
    assert answered[0] and not any(answered[1:])  # sigma falls back through estimate


def test_the_environment_variable_and_other_backends_bypass_the_lean_path(monkeypatch):
    # method="auto" on a small matrix: the compiled Gram kernel on cpp, the exact SVD on the
    # Python backends (one LAPACK call costs less there than the kernel's Python loop).
    answered = lean_calls(monkeypatch)
    a = small((10, 10), seed=6)
    est = sn.estimate(a, backend="numpy")
    assert est.backend == "numpy" and est.method == "svd" and est.confidence == 1.0
    assert est.sigma == pytest.approx(np.linalg.norm(a, 2), rel=1e-10)
    monkeypatch.setenv("SPECNORM_BACKEND", "numpy")
    est = sn.estimate(a)
    assert est.backend == "numpy" and est.method == "svd"
    assert answered == [False, False]  # the backend argument and the variable bypassed it
    monkeypatch.setenv("SPECNORM_BACKEND", "cpp")
    assert sn.estimate(a).method == "power"


def test_the_start_and_the_largest_column_never_cancel():
    """Found by the fuzzer: the kernel adds the largest column of H to the start; added as it
    was, a column pointing against the start cancelled its top component, and four starts in
    ten settled on the smaller singular value 1e-8 (with a residual of 0: a true pair)."""
    a = np.array([[0.0, 0.0, 1e-8], [1e-8, -16.0, 0.0]])
    for variant in (a, a.T, -a, 1j * a, np.exp(-0.7j) * a.T):
        for seed in range(200):
            est = sn.estimate(variant, seed=seed)
            assert est.method == "power" and est.backend == "cpp"
            assert est.sigma == pytest.approx(16.0, rel=1e-12), (variant, seed)
        np.testing.assert_allclose(sn.sigma(np.stack([variant] * 20), seed=0), 16.0, rtol=1e-12)
