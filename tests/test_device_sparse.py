"""Sparse matrices of a device backend (``cupyx.scipy.sparse`` on the CuPy backend).

No GPU runs in CI, so the device path runs here on a stand-in: a backend on the NumPy namespace
that owns SciPy sparse matrices of the classes below (their API is the one cupyx mirrors), the
CuPy backend's class and sync interval. Every line of the path runs; the real device is checked
in test_gpu.py.
"""

from __future__ import annotations

import array_api_compat.numpy as xnp
import numpy as np
import pytest

import specnorm as sn
from specnorm.backends import BACKENDS, cupy
from specnorm.backends.xp import XpBackend

sp = pytest.importorskip("scipy.sparse")

STANDIN = "device_sparse_standin"


class DeviceCSR(sp.csr_matrix):
    """A sparse matrix 'on the device' of the stand-in backend."""


class DeviceCOO(sp.coo_matrix):
    pass


class DeviceCSC(sp.csc_matrix):
    pass


DEVICE_CLASSES = (DeviceCSR, DeviceCOO, DeviceCSC)


@pytest.fixture(autouse=True)
def standin():
    be = XpBackend(
        STANDIN,
        load=lambda: xnp,
        check=lambda namespace: (True, "NumPy standing in for CuPy, SciPy for cupyx"),
        owns=lambda a: type(a) is np.ndarray,  # as toarray() of a cupyx matrix is a CuPy array
        owns_sparse=lambda a: isinstance(a, DEVICE_CLASSES),
        to_host=np.asarray,
        from_host=lambda values, like: np.asarray(values),
        sync_every=cupy.SYNC_EVERY,
        on_device=True,
    )
    BACKENDS[STANDIN] = be
    yield be
    BACKENDS.pop(STANDIN, None)


def sparse_dense(shape, dtype, seed, density=0.2):
    rng = np.random.default_rng(seed)
    dense = rng.standard_normal(shape)
    if np.dtype(dtype).kind == "c":
        dense = dense + 1j * rng.standard_normal(shape)
    return (dense * (rng.random(shape) < density)).astype(dtype)


def exact(dense):
    return float(np.linalg.norm(np.asarray(dense, dtype=np.complex128), 2))


@pytest.mark.parametrize("cls", DEVICE_CLASSES)
@pytest.mark.parametrize("method", ["auto", "power", "lanczos", "rayleigh"])
def test_every_format_and_method_agrees_with_the_dense_answer(cls, method):
    dense = sparse_dense((90, 70), np.float64, seed=1)
    # a clear gap at the top, so power iteration also converges quickly
    dense[0, 0] = 12.0
    a = cls(dense)
    est = sn.estimate(a, method, tol=1e-10, seed=0)
    want = exact(dense)
    assert est.backend == STANDIN
    assert est.method == ("lanczos" if method == "auto" else method)
    assert est.converged
    assert est.sigma == pytest.approx(want, rel=1e-9)
    assert est.lower <= want * (1 + 1e-12) and est.upper >= want * (1 - 1e-12)
    np.testing.assert_allclose(dense @ est.v, est.sigma * est.u, atol=1e-8 * want)
    # the same answer as the host's sparse path (the C++ core on SciPy's CSR)
    host = sn.estimate(sp.csr_matrix(dense), "lanczos" if method == "auto" else method,
                       tol=1e-10, seed=0)
    assert est.sigma == pytest.approx(host.sigma, rel=1e-9)


@pytest.mark.parametrize("dtype", [np.float32, np.float64, np.complex64, np.complex128,
                                   np.int64, np.bool_])
def test_dtypes(dtype):
    dense = sparse_dense((60, 40), np.complex128 if np.dtype(dtype).kind == "c" else np.float64,
                         seed=2)
    if np.dtype(dtype).kind in "ib":
        dense = np.round(dense * 3)
    dense = dense.astype(dtype)
    est = sn.estimate(DeviceCSR(dense), tol=1e-5, seed=0)
    want = exact(dense)
    rel = 1e-4 if dtype in (np.float32, np.complex64) else 1e-5
    assert abs(est.sigma - want) <= rel * want
    expected = {np.float32: np.float32, np.complex64: np.complex64,
                np.complex128: np.complex128}.get(dtype, np.float64)
    assert est.u.dtype == expected and est.v.dtype == expected


def test_duplicates_are_summed_without_touching_the_input():
    rows = np.array([0, 0, 1, 2, 2, 2])
    cols = np.array([1, 1, 0, 2, 2, 0])
    vals = np.array([3.0, -1.0, 2.0, 1.0, 1.0, 5.0])
    coo = DeviceCOO((vals, (rows, cols)), shape=(3, 3))
    csr = DeviceCSR((vals[[0, 1]], np.array([1, 1]), np.array([0, 2, 2, 2])), shape=(3, 3))
    assert not csr.has_canonical_format
    for a in (coo, csr):
        before = (a.data.copy(), a.shape, a.nnz)
        dense = a.toarray()
        est = sn.estimate(a, tol=1e-12, seed=0)
        assert est.sigma == pytest.approx(exact(dense), rel=1e-11)
        # the certain bound comes from the summed entries: ||A||_F of the summed matrix
        assert est.upper <= np.linalg.norm(dense) * (1 + 1e-12)
        np.testing.assert_array_equal(a.data, before[0])
        assert (a.shape, a.nnz) == before[1:]
    assert not csr.has_canonical_format


def test_rank_one_upper_is_certain_and_tight():
    dense = np.outer(np.arange(1.0, 21.0), np.r_[np.ones(5), np.zeros(10)])
    est = sn.estimate(DeviceCSR(dense), tol=1e-10, seed=0)
    assert est.confidence == 1.0
    assert est.upper == pytest.approx(exact(dense), rel=1e-12)


@pytest.mark.parametrize("scale", [1e-200, 1e200])
def test_huge_and_tiny_entries(scale):
    dense = sparse_dense((50, 40), np.float64, seed=4) * scale
    est = sn.estimate(DeviceCSR(dense), tol=1e-10, seed=0)
    want = exact(dense / scale) * scale
    assert est.sigma == pytest.approx(want, rel=1e-9)
    assert np.isfinite(est.upper) and est.upper >= want * (1 - 1e-12)


def test_zero_and_empty():
    for a in (DeviceCSR((5, 4)), DeviceCSR(np.zeros((5, 4))), DeviceCSR((0, 4)),
              DeviceCSR((4, 0))):
        est = sn.estimate(a, seed=0)
        assert est.sigma == 0.0 and est.upper == 0.0 and est.converged
        assert est.u.shape == (a.shape[0],) and est.v.shape == (a.shape[1],)
    # explicitly stored zeros
    a = DeviceCSR((np.zeros(3), np.array([0, 1, 2]), np.array([0, 1, 2, 3])), shape=(3, 3))
    assert sn.sigma(a) == 0.0


def test_svd_runs_on_a_dense_copy():
    dense = sparse_dense((30, 20), np.float64, seed=5)
    est = sn.estimate(DeviceCOO(dense), "svd")
    assert est.method == "svd" and est.backend == STANDIN
    assert est.sigma == pytest.approx(exact(dense), rel=1e-13)


def test_start_vector_seed_and_maxiter():
    dense = sparse_dense((80, 60), np.float64, seed=6)
    a = DeviceCSR(dense)
    v = np.linalg.svd(dense)[2][0]
    est = sn.estimate(a, v0=v, tol=1e-10)
    cold = sn.estimate(a, tol=1e-10, seed=0)
    assert est.converged and est.iterations <= cold.iterations + 10
    assert est.sigma == pytest.approx(exact(dense), rel=1e-10)
    assert est.confidence == 1.0
    assert sn.sigma(a, seed=3) == sn.sigma(a, seed=3)
    budget = sn.estimate(a, "power", maxiter=6, tol=1e-12, seed=0)
    assert budget.iterations <= 6 and not budget.converged
    assert budget.lower <= exact(dense) * (1 + 1e-12)


def test_bad_input():
    bad = sparse_dense((10, 8), np.float64, seed=7)
    bad[bad != 0] = np.nan
    with pytest.raises(ValueError, match="NaN or Inf"):
        sn.sigma(DeviceCSR(bad))
    good = DeviceCSR(sparse_dense((10, 8), np.float64, seed=7))
    with pytest.raises(ValueError, match="tol"):
        sn.sigma(good, tol=0.0)
    with pytest.raises(ValueError, match="method"):
        sn.sigma(good, method="qr")
    with pytest.raises(ValueError, match="v0"):
        sn.estimate(good, v0=np.ones(3))
    # a device matrix is never moved to the host
    with pytest.raises(TypeError, match="never moves a device array"):
        sn.sigma(good, backend="cpp")
    with pytest.raises(TypeError, match="never moves a device array"):
        sn.sigma(good, backend="numpy")


def test_cupy_backend_claims_cupyx_sparse_only():
    # SciPy's matrices and dense arrays stay with the host backends
    assert not cupy.owns_sparse(sp.csr_matrix(np.eye(2)))
    assert not cupy.owns_sparse(np.eye(2))
    assert BACKENDS["cupy"].owns_sparse is not None
