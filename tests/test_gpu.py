"""The real CuPy backend on a CUDA device, against NumPy's SVD. Marked ``gpu``: skipped cleanly
where CuPy is not installed or finds no device (the same code runs in every CI job through the
array_api_strict stand-in, see conftest.py)."""

from __future__ import annotations

import numpy as np
import pytest

import specnorm as sn

pytestmark = pytest.mark.gpu

cp = pytest.importorskip("cupy", reason="CuPy is not installed")
_info = sn.backends()["cupy"]
if not _info.usable:
    pytest.skip(f"the cupy backend cannot run here: {_info.reason}", allow_module_level=True)

METHODS = ("power", "lanczos", "rayleigh", "svd")
DTYPES = (np.float32, np.float64, np.complex64, np.complex128)


def random_matrix(shape, dtype, seed=0):
    rng = np.random.default_rng(seed)
    a = rng.standard_normal(shape)
    if np.dtype(dtype).kind == "c":
        a = a + 1j * rng.standard_normal(shape)
    return a.astype(dtype)


def room(dtype, tol):
    eps = float(np.finfo(dtype).eps)
    return max(tol, 64 * eps * 30)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("method", METHODS)
def test_cupy_agrees_with_numpy_svd(method, dtype):
    host = random_matrix((300, 200), dtype)
    exact = float(np.linalg.norm(host.astype(np.complex128), 2))
    a = cp.asarray(host)
    tol = 1e-6 if np.finfo(dtype).eps < 1e-10 else 1e-4
    est = sn.estimate(a, method, tol=tol, seed=0)
    assert est.backend == "cupy"
    assert est.method == method
    assert isinstance(est.sigma, float)
    assert est.converged
    assert abs(est.sigma - exact) <= 2 * room(dtype, tol) * exact
    assert est.lower <= exact * (1 + room(dtype, 0)) and est.upper >= exact * (1 - room(dtype, 0))
    # The vectors stay on the device, in the input's dtype, and satisfy A v = sigma u.
    assert isinstance(est.u, cp.ndarray) and isinstance(est.v, cp.ndarray)
    assert est.u.dtype == host.dtype and est.v.dtype == host.dtype
    u, v = cp.asnumpy(est.u), cp.asnumpy(est.v)
    err = np.linalg.norm(host.astype(np.complex128) @ v - est.sigma * u) / exact
    assert err <= 4 * room(dtype, tol)


def test_cupy_agrees_with_the_cpp_core_to_tol():
    host = random_matrix((500, 400), np.float64, seed=3)
    for method in ("power", "lanczos", "rayleigh"):
        gpu = sn.estimate(cp.asarray(host), method, tol=1e-8, seed=1)
        cpu = sn.estimate(host, method, tol=1e-8, seed=1, backend="numpy")
        assert abs(gpu.sigma - cpu.sigma) <= 2e-8 * cpu.sigma
        if method == "lanczos":  # the same algorithm from the same start
            assert gpu.iterations == cpu.iterations


def test_stacks_come_back_as_cupy_arrays():
    host = random_matrix((2, 3, 40, 30), np.float32, seed=1)
    est = sn.estimate(cp.asarray(host), "lanczos", tol=1e-4, seed=0)
    exact = np.linalg.svd(host.astype(np.float64), compute_uv=False)[..., 0]
    for name in ("sigma", "lower", "upper", "iterations", "converged"):
        assert isinstance(getattr(est, name), cp.ndarray), name
        assert getattr(est, name).shape == (2, 3)
    assert est.u.shape == (2, 3, 40) and est.v.shape == (2, 3, 30)
    np.testing.assert_allclose(cp.asnumpy(est.sigma), exact, rtol=2e-4)
    assert isinstance(sn.sigma(cp.asarray(host)), cp.ndarray)


def test_input_is_never_modified_and_bad_input_is_rejected():
    host = random_matrix((50, 40), np.float64)
    a = cp.asarray(host)
    sn.sigma(a, "lanczos", seed=0)
    cp.testing.assert_array_equal(a, cp.asarray(host))
    bad = a.copy()
    bad[3, 4] = cp.nan
    with pytest.raises(ValueError, match="NaN or Inf"):
        sn.sigma(bad, "lanczos")
    with pytest.raises(TypeError, match="never moves a device array"):
        sn.sigma(a, backend="numpy")
    with pytest.raises(ValueError, match="at least 2 dimensions"):
        sn.sigma(a[0])


def test_zero_and_empty_matrices_on_the_device():
    assert sn.sigma(cp.zeros((5, 4)), "lanczos") == 0.0
    assert sn.sigma(cp.zeros((0, 4)), "power") == 0.0


def test_rayleigh_quotient_on_the_device():
    host = random_matrix((30, 20), np.float64)
    x = np.random.default_rng(2).standard_normal(20)
    want = np.linalg.norm(host @ x) / np.linalg.norm(x)
    got = sn.rayleigh_quotient(cp.asarray(host), cp.asarray(x))
    assert got == pytest.approx(want, rel=1e-12)


@pytest.mark.parametrize("fmt", ["csr", "csc", "coo"])
@pytest.mark.parametrize("dtype", DTYPES)
def test_cupyx_sparse_matrices_stay_on_the_device(fmt, dtype):
    import cupyx.scipy.sparse as cps

    host = random_matrix((400, 300), dtype, seed=4)
    host = host * (np.random.default_rng(5).random(host.shape) < 0.05)
    exact = float(np.linalg.norm(host.astype(np.complex128), 2))
    a = getattr(cps, f"{fmt}_matrix")(cp.asarray(host))
    tol = 1e-6 if np.finfo(dtype).eps < 1e-10 else 1e-4
    est = sn.estimate(a, tol=tol, seed=0)
    assert est.backend == "cupy" and est.method == "lanczos" and est.converged
    assert abs(est.sigma - exact) <= 2 * room(dtype, tol) * exact
    assert isinstance(est.u, cp.ndarray) and isinstance(est.v, cp.ndarray)
    assert est.lower <= exact * (1 + room(dtype, 0)) and est.upper >= exact * (1 - room(dtype, 0))
    with pytest.raises(TypeError, match="never moves a device array"):
        sn.sigma(a, backend="cpp")
