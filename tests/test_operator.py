"""Matrix-free operators (shape, matvec, rmatvec): the iterative methods on products alone."""

from __future__ import annotations

import numpy as np
import pytest

import specnorm as sn
from specnorm.testing import matrix_with_spectrum

sparse_linalg = pytest.importorskip("scipy.sparse.linalg")


class Products:
    """The smallest operator: shape, matvec and rmatvec, no dtype (taken as float64)."""

    def __init__(self, a: np.ndarray) -> None:
        self.a = a
        self.shape = a.shape
        self.calls = 0

    def matvec(self, x):
        self.calls += 1
        return self.a @ x

    def rmatvec(self, y):
        self.calls += 1
        return self.a.conj().T @ y


@pytest.mark.parametrize("dtype", [np.float32, np.float64, np.complex64, np.complex128])
@pytest.mark.parametrize("method", ["auto", "power", "lanczos", "rayleigh"])
@pytest.mark.parametrize("shape", [(60, 40), (40, 60)])
def test_a_linear_operator_agrees_with_its_dense_matrix(dtype, method, shape):
    spectrum = np.concatenate([[2.0, 1.0], np.linspace(0.9, 0.1, min(shape) - 2)])
    a = matrix_with_spectrum(spectrum, shape, dtype=dtype, seed=3)
    tol = 1e-4 if np.finfo(dtype).eps > 1e-10 else 1e-9
    est = sn.estimate(sparse_linalg.aslinearoperator(a), method, tol=tol, seed=0)
    assert est.converged and est.backend == "numpy"
    assert est.method == ("lanczos" if method == "auto" else method)
    assert est.sigma == pytest.approx(2.0, rel=10 * tol)
    assert est.lower <= 2.0 * (1 + 1e-5) <= est.upper * (1 + 1e-5)
    assert est.confidence == pytest.approx(0.999)
    np.testing.assert_allclose(a @ est.v, est.sigma * est.u, atol=1e-4 * est.sigma)


def test_any_object_with_the_three_attributes_is_an_operator_and_products_are_counted():
    a = np.random.default_rng(1).standard_normal((50, 30))
    op = Products(a)
    est = sn.estimate(op, seed=2)
    assert est.sigma == pytest.approx(np.linalg.norm(a, 2), rel=1e-10)
    assert est.iterations == op.calls  # every product is counted, the scaling one included
    assert sn.sigma(op, seed=2) == est.sigma
    v0 = np.linalg.svd(a)[2][0]
    warm = sn.estimate(Products(a), v0=v0)
    assert warm.converged and warm.iterations <= est.iterations + 10
    assert warm.confidence == 1.0 and warm.upper == np.inf


def test_a_sparse_matrix_wrapped_as_an_operator_agrees_with_svds():
    import scipy.sparse as sp

    s = sp.random(400, 300, density=0.02, random_state=0, format="csr")
    want = sparse_linalg.svds(s, k=1, return_singular_vectors=False)[0]
    assert sn.sigma(sparse_linalg.aslinearoperator(s), tol=1e-10, seed=0) == pytest.approx(
        want, rel=1e-12)


def test_zero_and_empty_operators():
    assert sn.sigma(Products(np.zeros((5, 4))), seed=0) == 0.0
    est = sn.estimate(Products(np.zeros((0, 4))))
    assert est.sigma == 0.0 and est.v.shape == (4,) and est.u.shape == (0,)


class Broken(Products):
    def __init__(self, a, what):
        super().__init__(a)
        self.what = what

    def matvec(self, x):
        y = self.a @ x
        if self.what == "short":
            return y[:-1]
        if self.what == "nan":
            return y * np.nan
        return y + 1j  # complex out of a real operator


@pytest.mark.parametrize("what, exc, match", [
    ("short", ValueError, "matvec returned 4 numbers; expected a vector of length 5"),
    ("nan", ValueError, "matvec returned NaN or Inf"),
    ("complex", TypeError, "returned complex values but its dtype is real"),
])
def test_a_misbehaving_operator_gets_a_clear_error(what, exc, match):
    with pytest.raises(exc, match=match):
        sn.sigma(Broken(np.ones((5, 3)), what), seed=0)


def test_what_an_operator_cannot_do_is_refused_clearly():
    op = Products(np.eye(3))
    with pytest.raises(ValueError, match="method='svd' needs the entries"):
        sn.sigma(op, "svd")
    with pytest.raises(ValueError, match="unknown backend"):
        sn.sigma(op, backend="nope")
    with pytest.raises(ValueError, match="tol"):
        sn.sigma(op, tol=2.0)
    with pytest.raises(ValueError, match="v0 must have shape"):
        sn.estimate(op, v0=np.ones(4))

    bad = Products(np.eye(3))
    bad.shape = (3, 3, 3)
    with pytest.raises(ValueError, match="shape must be"):
        sn.sigma(bad)
