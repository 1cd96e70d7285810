"""Bad input raises the documented exception with a message naming the problem; good input of any
layout gives the same answer and is never modified or needlessly copied."""

from __future__ import annotations

import numpy as np
import pytest

import specnorm as sn
from specnorm._validate import core_view

ITERATIVE = ("power", "lanczos", "rayleigh")


@pytest.fixture
def a():
    return np.random.default_rng(0).standard_normal((30, 20))


@pytest.mark.parametrize("bad", [np.float64(3.0), np.ones(5), [1.0, 2.0]])
def test_fewer_than_two_dimensions_is_a_value_error(bad):
    with pytest.raises(ValueError, match="at least 2 dimensions"):
        sn.sigma(bad)


@pytest.mark.parametrize("value", [np.nan, np.inf, -np.inf])
@pytest.mark.parametrize("method", [*ITERATIVE, "svd", "auto"])
def test_nan_or_inf_is_a_value_error(a, value, method):
    a[3, 4] = value
    with pytest.raises(ValueError, match="NaN or Inf"):
        sn.sigma(a, method)


def test_complex_nan_is_a_value_error():
    z = np.ones((4, 4), dtype=np.complex128)
    z[1, 1] = complex(0.0, np.nan)
    with pytest.raises(ValueError, match="NaN or Inf"):
        sn.sigma(z)


@pytest.mark.parametrize("bad", [
    np.array([["a", "b"], ["c", "d"]]),
    np.array([[object(), 1], [2, 3]], dtype=object),
    np.zeros((2, 2), dtype="datetime64[s]"),
    np.zeros((2, 2), dtype=[("x", "f8"), ("y", "i4")]),
])
def test_non_numeric_dtype_is_a_type_error(bad):
    with pytest.raises(TypeError, match="numeric dtype"):
        sn.sigma(bad)


@pytest.mark.parametrize("tol", [0.0, 1.0, -1e-3, 2.0, np.nan, "1e-6", True])
def test_tol_outside_open_unit_interval_is_a_value_error(a, tol):
    with pytest.raises(ValueError, match="tol"):
        sn.sigma(a, "lanczos", tol=tol)


@pytest.mark.parametrize("maxiter", [0, -5, 2.5, "10", True])
def test_maxiter_below_one_is_a_value_error(a, maxiter):
    with pytest.raises(ValueError, match="maxiter"):
        sn.sigma(a, "power", maxiter=maxiter)


def test_unknown_method_lists_the_valid_choices(a):
    with pytest.raises(ValueError, match="valid methods are auto, power, lanczos, rayleigh, svd"):
        sn.sigma(a, "qr")


def test_unknown_backend_lists_the_valid_choices(a):
    with pytest.raises(ValueError, match="valid backends are auto, cpp"):
        sn.sigma(a, backend="fortran")


def test_environment_variable_naming_no_backend_is_an_error(a, monkeypatch):
    monkeypatch.setenv("SPECNORM_BACKEND", "nonsense")
    with pytest.raises(ValueError, match="SPECNORM_BACKEND"):
        sn.sigma(a)
    monkeypatch.setenv("SPECNORM_BACKEND", "cpp")
    assert sn.estimate(a).backend == "cpp"


def test_unusable_backend_is_a_runtime_error_that_says_why(a, monkeypatch):
    from specnorm.backends import BACKENDS
    for name in ("cpp", "numpy"):
        monkeypatch.setattr(BACKENDS[name], "availability",
                            lambda name=name: (False, f"{name} was switched off"))
    with pytest.raises(RuntimeError, match="not usable here: cpp was switched off"):
        sn.sigma(a, backend="cpp")
    with pytest.raises(RuntimeError, match=r"no specnorm backend is usable.*numpy was switched"):
        sn.sigma(a)


@pytest.mark.parametrize("seed", [-1, 1.5, "x"])
def test_bad_seed_is_a_value_error(a, seed):
    with pytest.raises(ValueError, match="seed"):
        sn.sigma(a, "lanczos", seed=seed)


@pytest.mark.parametrize("v0, exc, msg", [
    (np.ones(7), ValueError, r"v0 must have shape \(20,\)"),
    (np.zeros(20), ValueError, "v0 must be nonzero"),
    (np.full(20, np.nan), ValueError, "v0 contains NaN or Inf"),
    (np.ones(20) * 1j, TypeError, "v0 is complex but A is real"),
])
@pytest.mark.parametrize("method", [*ITERATIVE, "svd"])
def test_bad_start_vector_is_rejected_on_every_method(a, v0, exc, msg, method):
    with pytest.raises(exc, match=msg):
        sn.estimate(a, method, v0=v0)


def test_rayleigh_quotient_names_x_in_its_errors(a):
    with pytest.raises(ValueError, match="x must be nonzero"):
        sn.rayleigh_quotient(a, np.zeros(20))
    with pytest.raises(ValueError, match=r"x must have shape \(20,\)"):
        sn.rayleigh_quotient(a, np.ones(3))
    with pytest.raises(ValueError, match="2-D"):
        sn.rayleigh_quotient(np.ones((2, 3, 3)), np.ones(3))


def test_sparse_and_operators_get_a_clear_type_error():
    class Operator:
        shape = (3, 3)

        def matvec(self, x):
            return x

    with pytest.raises(TypeError, match="sparse matrix or a linear operator"):
        sn.sigma(Operator())


@pytest.mark.parametrize("method", [*ITERATIVE, "svd"])
def test_input_is_never_modified(a, method):
    layouts = [a, np.asfortranarray(a), a[::2, ::3], a[::-1], a.T]
    for arr in layouts:
        before = arr.copy()
        sn.estimate(arr, method, seed=0)
        assert np.array_equal(arr, before)


def test_read_only_input_is_accepted(a):
    a.flags.writeable = False
    assert sn.sigma(a, "lanczos", tol=1e-10, seed=0) == pytest.approx(np.linalg.norm(a, 2))


@pytest.mark.parametrize("method", ITERATIVE)
def test_every_layout_gives_the_same_answer(a, method):
    expected = np.linalg.norm(a, 2)
    big = np.zeros((60, 50))
    big[::2, 5:25] = a
    views = {
        "C": a, "F": np.asfortranarray(a), "column view": big[::2, 5:25],
        "negative strides": a[::-1, ::-1].copy()[::-1, ::-1],
        "row and column steps": np.repeat(np.repeat(a, 2, 0), 2, 1)[::2, ::2],
        "big-endian": a.astype(">f8"), "unaligned": _unaligned(a),
    }
    for name, view in views.items():
        got = sn.sigma(view, method, tol=1e-10, seed=0)
        assert got == pytest.approx(expected, rel=1e-9), name


def _unaligned(a):
    buf = np.zeros(a.size * 8 + 1, dtype=np.uint8)
    out = np.frombuffer(buf.data, dtype=np.float64, count=a.size, offset=1).reshape(a.shape)
    out[...] = a
    return out


def test_contiguous_and_row_or_column_strided_views_are_read_in_place(a):
    big = np.zeros((60, 50))
    for view in (a, np.asfortranarray(a), a.T, big[::2, 5:25], big[:30, 5:30].T):
        assert core_view(view) is view
    for needs_copy in (a[::2, ::3], a[::-1], a.astype(">f8"), _unaligned(a)):
        copy = core_view(needs_copy)
        assert copy is not needs_copy and copy.flags.f_contiguous


@pytest.mark.parametrize("dtype, computes", [
    (np.bool_, np.float64), (np.int8, np.float64), (np.uint64, np.float64),
    (np.float16, np.float32), (np.float32, np.float32), (np.float64, np.float64),
    (np.complex64, np.complex64), (np.complex128, np.complex128),
])
def test_dtype_promotion(dtype, computes):
    m = (np.arange(12).reshape(4, 3) % 3).astype(dtype)
    est = sn.estimate(m, "lanczos", seed=0)
    assert est.v.dtype == computes
    assert est.sigma == pytest.approx(np.linalg.norm(m.astype(np.complex128), 2), rel=1e-3)


@pytest.mark.filterwarnings("ignore::PendingDeprecationWarning")
def test_numpy_matrix_subclass_works_on_every_method():
    m = np.matrix([[1.0, 2.0], [3.0, 4.0]])
    for method in (*ITERATIVE, "svd"):
        assert sn.sigma(m, method, seed=0) == pytest.approx(np.linalg.norm(np.asarray(m), 2))
