"""SciPy sparse matrices and arrays: CSR read in place by the C++ core, every other format
converted once; the NumPy backend runs them as matrix-free operators."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

import specnorm as sn
from specnorm.testing import matrix_with_spectrum

sp = pytest.importorskip("scipy.sparse")

FORMATS = ["csr", "csc", "coo", "bsr", "dia", "dok", "lil"]


def sparse_with_spectrum(shape, dtype, seed):
    """A dense matrix with a spread spectrum, thinned to a random 20% of its entries (which
    changes the spectrum: the reference is the SVD of the dense copy)."""
    dense = matrix_with_spectrum(np.linspace(2.0, 0.1, min(shape)), shape, dtype=dtype, seed=seed)
    mask = np.random.default_rng(seed).random(shape) < 0.2
    return np.where(mask, dense, 0).astype(dtype)


@pytest.mark.parametrize("fmt", FORMATS)
@pytest.mark.parametrize("kind", ["matrix", "array"])
def test_every_format_agrees_with_the_dense_answer(fmt, kind):
    dense = sparse_with_spectrum((70, 50), np.float64, seed=1)
    build = sp.csr_matrix if kind == "matrix" else sp.csr_array
    with warnings.catch_warnings():  # DIA warns that a random pattern has many diagonals
        warnings.simplefilter("ignore", sp.SparseEfficiencyWarning)
        a = build(dense).asformat(fmt)
    want = np.linalg.norm(dense, 2)
    est = sn.estimate(a, tol=1e-10, seed=0)
    assert est.backend == "cpp" and est.method == "lanczos" and est.converged
    assert est.sigma == pytest.approx(want, rel=1e-12)
    assert est.lower <= want * (1 + 1e-13) <= est.upper * (1 + 1e-13)
    np.testing.assert_allclose(dense @ est.v, est.sigma * est.u, atol=1e-10)


@pytest.mark.parametrize("dtype", [np.float32, np.float64, np.complex64, np.complex128, np.int32])
@pytest.mark.parametrize("index", [np.int32, np.int64])
@pytest.mark.parametrize("method", ["power", "lanczos", "rayleigh"])
def test_dtypes_index_types_and_methods(dtype, index, method):
    rng = np.random.default_rng(2)
    dense = rng.standard_normal((40, 60)) * (rng.random((40, 60)) < 0.3)
    if np.dtype(dtype).kind == "c":
        dense = dense + 1j * rng.standard_normal((40, 60)) * (dense != 0)
    dense = (dense * 4).astype(dtype)
    a = sp.csr_matrix(dense)
    a.indices, a.indptr = a.indices.astype(index), a.indptr.astype(index)
    assert a.indices.dtype == index and a.indptr.dtype == index  # the path asked for
    single = np.dtype(dtype) in (np.dtype(np.float32), np.dtype(np.complex64))
    tol = 1e-4 if single else 1e-9
    est = sn.estimate(a, method, tol=tol, seed=3)
    want = np.linalg.norm(dense.astype(np.complex128), 2)
    assert est.converged
    assert est.sigma == pytest.approx(want, rel=20 * tol)


def test_duplicates_and_unsorted_indices_add_up():
    rows = np.array([0, 0, 1, 2, 2, 0])
    cols = np.array([2, 0, 1, 2, 0, 2])
    vals = np.array([1.0, 2.0, 3.0, 4.0, 5.0, 6.0])
    a = sp.coo_matrix((vals, (rows, cols)), shape=(3, 3)).tocsr()
    a.has_sorted_indices = False
    a.indices[:2] = a.indices[:2][::-1].copy()
    a.data[:2] = a.data[:2][::-1].copy()
    dense = np.zeros((3, 3))
    np.add.at(dense, (rows, cols), vals)
    assert sn.sigma(a, tol=1e-12, seed=0) == pytest.approx(np.linalg.norm(dense, 2), rel=1e-12)


def test_the_numpy_backend_and_svd_give_the_same_answer():
    dense = sparse_with_spectrum((60, 45), np.float64, seed=4)
    a = sp.csc_array(dense)
    want = np.linalg.norm(dense, 2)
    on_numpy = sn.estimate(a, tol=1e-10, seed=0, backend="numpy")
    assert on_numpy.backend == "numpy" and on_numpy.sigma == pytest.approx(want, rel=1e-12)
    exact = sn.estimate(a, "svd")
    assert exact.method == "svd" and exact.sigma == pytest.approx(want, rel=1e-14)


def test_zero_empty_nan_and_the_input_left_alone():
    assert sn.sigma(sp.csr_matrix((5, 4))) == 0.0
    est = sn.estimate(sp.csr_matrix((0, 4)))
    assert est.sigma == 0.0 and est.v.shape == (4,)
    bad = sp.csr_matrix(np.eye(3))
    bad.data[1] = np.nan
    with pytest.raises(ValueError, match="NaN or Inf"):
        sn.sigma(bad)
    a = sp.coo_matrix(np.arange(12.0).reshape(3, 4))
    before = (a.data.copy(), a.row.copy(), a.col.copy())
    sn.sigma(a, seed=0)
    for x, y in zip(before, (a.data, a.row, a.col), strict=True):
        np.testing.assert_array_equal(x, y)
    assert a.format == "coo"
    with pytest.raises(ValueError, match="v0 must have shape"):
        sn.estimate(sp.csr_matrix(np.eye(3)), v0=np.ones(2))
