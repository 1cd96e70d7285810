"""Bad input raises the documented exception with a message naming the problem; good input of any
layout gives the same answer and is never modified or needlessly copied."""

from __future__ import annotations

import numpy as np
import pytest

import specnorm as sn
from specnorm._rules import core_view

ITERATIVE = ("power", "lanczos", "rayleigh")


@pytest.fixture
def a():
    return np.random.default_rng(0).standard_normal((30, 20))


# --- bad input on every backend ---------------------------------------------------------------
# These cases exist for any array type, so each backend (cpp, numpy and the array_api_strict
# stand-in for CuPy) must raise the same exception with the same message: `backend.put` moves the
# input to the backend's array type and the call names that backend.


@pytest.mark.parametrize("bad", [np.float64(3.0), np.ones(5), [1.0, 2.0]])
def test_fewer_than_two_dimensions_is_a_value_error(backend, bad):
    with pytest.raises(ValueError, match="at least 2 dimensions"):
        backend.sigma(bad)
    with pytest.raises(ValueError, match="at least 2 dimensions"):
        backend.estimate(bad, "lanczos")


@pytest.mark.parametrize("value", [np.nan, np.inf, -np.inf])
@pytest.mark.parametrize("method", [*ITERATIVE, "svd", "auto"])
def test_nan_or_inf_is_a_value_error(backend, a, value, method):
    a[3, 4] = value
    with pytest.raises(ValueError, match="NaN or Inf"):
        backend.sigma(a, method)


@pytest.mark.parametrize("value", [complex(0.0, np.nan), complex(np.inf, 0.0)])
def test_complex_nan_is_a_value_error(backend, value):
    z = np.ones((4, 4), dtype=np.complex128)
    z[1, 1] = value
    with pytest.raises(ValueError, match="NaN or Inf"):
        backend.sigma(z)


def test_nan_in_one_matrix_of_a_stack_is_a_value_error(backend):
    stack = np.ones((3, 4, 5))
    stack[2, 1, 1] = np.nan
    with pytest.raises(ValueError, match="NaN or Inf"):
        backend.sigma(stack, "lanczos")


# NumPy-only: these dtypes (strings, objects, datetimes, records) exist only as NumPy arrays.
@pytest.mark.parametrize("bad", [
    np.array([["a", "b"], ["c", "d"]]),
    np.array([[object(), 1], [2, 3]], dtype=object),
    np.zeros((2, 2), dtype="datetime64[s]"),
    np.zeros((2, 2), dtype=[("x", "f8"), ("y", "i4")]),
])
def test_non_numeric_dtype_is_a_type_error(host_backend, bad):
    with pytest.raises(TypeError, match="numeric dtype"):
        host_backend.sigma(bad)


@pytest.mark.parametrize("tol", [0.0, 1.0, -1e-3, 2.0, np.nan, "1e-6", True])
def test_tol_outside_open_unit_interval_is_a_value_error(backend, a, tol):
    with pytest.raises(ValueError, match="tol"):
        backend.sigma(a, "lanczos", tol=tol)


@pytest.mark.parametrize("maxiter", [0, -5, 2.5, "10", True])
def test_maxiter_below_one_is_a_value_error(backend, a, maxiter):
    with pytest.raises(ValueError, match="maxiter"):
        backend.sigma(a, "power", maxiter=maxiter)


@pytest.mark.parametrize("method", ["qr", "", None, "Lanczos"])
def test_unknown_method_lists_the_valid_choices(backend, a, method):
    with pytest.raises(ValueError, match="valid methods are auto, power, lanczos, rayleigh, svd"):
        backend.sigma(a, method)


def test_unknown_backend_lists_the_valid_choices(backend, a):
    with pytest.raises(ValueError, match="valid backends are auto, cpp, numpy, cupy"):
        sn.sigma(backend.put(a), backend="fortran")


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


@pytest.mark.parametrize("seed", [-1, 1.5, "x", True])
def test_bad_seed_is_a_value_error(backend, a, seed):
    with pytest.raises(ValueError, match="seed"):
        backend.sigma(a, "lanczos", seed=seed)


@pytest.mark.parametrize("v0, exc, msg", [
    (np.ones(7), ValueError, r"v0 must have shape \(20,\)"),
    (np.ones((2, 20)), ValueError, r"v0 must have shape \(20,\)"),
    (np.zeros(20), ValueError, "v0 must be nonzero"),
    (np.full(20, np.nan), ValueError, "v0 contains NaN or Inf"),
    (np.ones(20) * 1j, TypeError, "v0 is complex but A is real"),
])
@pytest.mark.parametrize("method", [*ITERATIVE, "svd"])
def test_bad_start_vector_is_rejected_on_every_method(backend, a, v0, exc, msg, method):
    with pytest.raises(exc, match=msg):
        backend.estimate(a, method, v0=v0)


def test_bad_start_vector_of_a_stack(backend):
    stack = np.random.default_rng(1).standard_normal((2, 6, 5))
    with pytest.raises(ValueError, match=r"v0 must have shape \(2, 5\)"):
        backend.estimate(stack, "lanczos", v0=np.ones(5))
    starts = np.ones((2, 5))
    starts[1] = 0.0
    with pytest.raises(ValueError, match="v0 must be nonzero"):
        backend.estimate(stack, "lanczos", v0=starts)


@pytest.fixture
def on(backend, monkeypatch):
    """`backend`, also for rayleigh_quotient (which has no backend argument: it takes the
    automatic choice, which SPECNORM_BACKEND overrides)."""
    monkeypatch.setenv("SPECNORM_BACKEND", backend.name)
    return backend


def test_rayleigh_quotient_names_x_in_its_errors(on, a):
    with pytest.raises(ValueError, match="x must be nonzero"):
        on.rayleigh_quotient(a, np.zeros(20))
    with pytest.raises(ValueError, match=r"x must have shape \(20,\)"):
        on.rayleigh_quotient(a, np.ones(3))
    with pytest.raises(ValueError, match="x contains NaN or Inf"):
        on.rayleigh_quotient(a, np.full(20, np.inf))
    with pytest.raises(ValueError, match="2-D"):
        on.rayleigh_quotient(np.ones((2, 3, 3)), np.ones(3))
    with pytest.raises(ValueError, match="at least 2 dimensions"):
        on.rayleigh_quotient(np.ones(3), np.ones(3))
    b = a.copy()
    b[0, 0] = np.nan
    with pytest.raises(ValueError, match="NaN or Inf"):
        on.rayleigh_quotient(b, np.ones(20))


def test_rayleigh_quotient_is_the_same_on_every_backend(on, a):
    x = np.random.default_rng(2).standard_normal(20)
    expected = np.linalg.norm(a @ x) / np.linalg.norm(x)
    assert on.rayleigh_quotient(a, x) == pytest.approx(expected, rel=1e-12)
    assert on.rayleigh_quotient(a.astype(np.int64), np.ones(20, dtype=np.int64)) == \
        pytest.approx(np.linalg.norm(a.astype(np.int64).sum(axis=1)) / np.sqrt(20), rel=1e-12)


def _outcome(call):
    """("value", result) or (exception type, message): what a call does."""
    try:
        return "value", call()
    except (TypeError, ValueError, RuntimeError) as exc:
        return type(exc), str(exc)


@pytest.mark.parametrize("x_dtype", [np.complex128, np.complex64, np.float32, np.int64])
def test_rayleigh_quotient_of_mixed_dtypes_behaves_as_on_the_host(on, a, x_dtype, monkeypatch):
    """A real A with a complex x (or any other mix) does on every backend what it does on the
    NumPy backend: the same value, or the same exception."""
    if on.name == "numpy":
        pytest.skip("the reference itself")
    x = (np.random.default_rng(3).standard_normal(20) * (1.0 + 2.0j)).astype(x_dtype) \
        if np.dtype(x_dtype).kind == "c" else np.arange(1, 21).astype(x_dtype)
    monkeypatch.setenv("SPECNORM_BACKEND", "numpy")
    kind, reference = _outcome(lambda: sn.rayleigh_quotient(a, x))
    monkeypatch.setenv("SPECNORM_BACKEND", on.name)
    got_kind, got = _outcome(lambda: on.rayleigh_quotient(a, x))
    assert got_kind == kind, (got_kind, got)
    if kind == "value":
        assert got == pytest.approx(reference, rel=1e-6)
    else:
        assert got == reference


# --- zero and empty matrices: sigma = 0 exactly on every backend -------------------------------


@pytest.mark.parametrize("shape", [(5, 4), (1, 1), (0, 4), (4, 0), (0, 0)])
@pytest.mark.parametrize("method", [*ITERATIVE, "svd", "auto"])
def test_zero_and_empty_matrices_have_sigma_zero(backend, shape, method):
    for dtype in (np.float32, np.float64, np.complex128):
        est = backend.estimate(np.zeros(shape, dtype=dtype), method, seed=0)
        assert est.sigma == 0.0 and isinstance(est.sigma, float)
        assert est.lower == 0.0 and est.upper == 0.0
        assert est.converged is True and est.residual == 0.0
        assert est.u.shape == (shape[0],) and est.v.shape == (shape[1],)
        for vec in (est.u, est.v):
            if vec.size:
                assert np.linalg.norm(vec) == pytest.approx(1.0)
        assert backend.sigma(np.zeros(shape, dtype=dtype), method) == 0.0


@pytest.mark.parametrize("shape", [(2, 3, 0), (2, 0, 3), (0, 3, 4), (2, 3, 4)])
def test_zero_and_empty_stacks_have_sigma_zero(backend, shape):
    est = backend.estimate(np.zeros(shape), "lanczos", seed=0)
    assert est.sigma.shape == shape[:-2]
    assert np.all(est.sigma == 0.0) and np.all(est.converged)
    assert est.u.shape == (*shape[:-2], shape[-2]) and est.v.shape == (*shape[:-2], shape[-1])


def test_zero_and_empty_rayleigh_quotient(on):
    assert on.rayleigh_quotient(np.zeros((3, 4)), np.ones(4)) == 0.0
    assert on.rayleigh_quotient(np.zeros((0, 4)), np.zeros(4)) == 0.0
    assert on.rayleigh_quotient(np.zeros((3, 0)), np.zeros(0)) == 0.0


def test_sparse_and_operators_get_a_clear_type_error():
    class Operator:
        shape = (3, 3)

        def matvec(self, x):
            return x

    with pytest.raises(TypeError, match="sparse matrix or a linear operator"):
        sn.sigma(Operator())


# NumPy-only from here on: memory layouts, read-only buffers, byte order, numpy.matrix and the
# core's zero-copy view are properties of NumPy arrays; they run on both host backends.


@pytest.mark.parametrize("method", [*ITERATIVE, "svd"])
def test_input_is_never_modified(host_backend, a, method):
    layouts = [a, np.asfortranarray(a), a[::2, ::3], a[::-1], a.T]
    for arr in layouts:
        before = arr.copy()
        host_backend.estimate(arr, method, seed=0)
        assert np.array_equal(arr, before)


@pytest.mark.parametrize("method", [*ITERATIVE, "svd"])
def test_input_is_never_modified_on_any_backend(backend, method):
    z = np.random.default_rng(4).standard_normal((12, 9)) + 1j
    a = backend.put(z)
    backend.estimate(a, method, seed=0)
    assert np.array_equal(backend.get(a), z)


def test_read_only_input_is_accepted(host_backend, a):
    a.flags.writeable = False
    assert host_backend.sigma(a, "lanczos", tol=1e-10, seed=0) == \
        pytest.approx(np.linalg.norm(a, 2))


@pytest.mark.parametrize("method", ITERATIVE)
def test_every_layout_gives_the_same_answer(host_backend, a, method):
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
        got = host_backend.sigma(view, method, tol=1e-10, seed=0)
        assert got == pytest.approx(expected, rel=1e-9), name


def _unaligned(a):
    buf = np.zeros(a.size * 8 + 1, dtype=np.uint8)
    out = np.frombuffer(buf.data, dtype=np.float64, count=a.size, offset=1).reshape(a.shape)
    out[...] = a
    return out


@pytest.mark.parametrize("shape", [(1, 1), (1, 6), (6, 1), (3, 1, 1), (2, 1, 5), (2, 4, 1)])
@pytest.mark.parametrize("method", ["auto", *ITERATIVE])
def test_unaligned_vectors_and_stacks_of_them_are_copied(host_backend, shape, method):
    """An unaligned array that is both C- and F-ordered (a row, a column, or a stack of them;
    found by the fuzzer: the core was handed it and rejected it) gets its one aligned copy."""
    a = np.arange(1.0, 1.0 + np.prod(shape)).reshape(shape)
    view = _unaligned(a)
    assert not view.flags.aligned
    got = host_backend.sigma(view, method, tol=1e-10, seed=0)
    np.testing.assert_allclose(got, np.linalg.norm(a, 2, axis=(-2, -1)), rtol=1e-9)


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
def test_dtype_promotion(backend, dtype, computes):
    if backend.device and dtype == np.float16:
        pytest.skip("the array API standard has no float16")
    m = (np.arange(12).reshape(4, 3) % 3).astype(dtype)
    est = backend.estimate(m, "lanczos", seed=0)
    assert est.v.dtype == computes
    assert est.sigma == pytest.approx(np.linalg.norm(m.astype(np.complex128), 2), rel=1e-3)


@pytest.mark.filterwarnings("ignore::PendingDeprecationWarning")
def test_numpy_matrix_subclass_works_on_every_method(host_backend):
    m = np.matrix([[1.0, 2.0], [3.0, 4.0]])
    for method in (*ITERATIVE, "svd"):
        assert host_backend.sigma(m, method, seed=0) == \
            pytest.approx(np.linalg.norm(np.asarray(m), 2))


# --- sigma takes v0 as estimate does ----------------------------------------------------------

@pytest.mark.parametrize("shape", [(30, 20), (200, 120), (3, 30, 20)])
@pytest.mark.parametrize("method", ["auto", "lanczos", "power"])
def test_sigma_with_v0_equals_estimates_sigma(backend, shape, method):
    a = np.random.default_rng(3).standard_normal(shape)
    v0 = np.random.default_rng(4).standard_normal(shape[:-2] + shape[-1:])
    got = backend.sigma(a, method, seed=0, v0=backend.put(v0))
    want = backend.estimate(a, method, seed=0, v0=v0).sigma
    np.testing.assert_array_equal(got, want)


@pytest.mark.parametrize("shape", [(30, 20), (200, 120)])
def test_sigma_starts_from_v0(host_backend, shape):
    # From the top right singular vector, two products of power iteration give sigma_1; from a
    # vector orthogonal to it, they stay below the top two's midpoint: v0 is what the run uses.
    left, _ = np.linalg.qr(np.random.default_rng(5).standard_normal((shape[0], shape[1])))
    right, _ = np.linalg.qr(np.random.default_rng(6).standard_normal((shape[1], shape[1])))
    spectrum = np.linspace(1.0, 0.1, shape[1])
    spectrum[0] = 2.0
    a = (left * spectrum) @ right.T
    top = host_backend.sigma(a, "power", v0=right[:, 0], maxiter=2)
    # v0 is mixed with a random vector of weight 1e-3 (docs/mathematics.md 7.4): sigma moves by
    # about 1e-6 relative
    assert top == pytest.approx(2.0, rel=1e-5)
    other = host_backend.sigma(a, "power", v0=right[:, 1], maxiter=2)
    assert other < 1.5


@pytest.mark.parametrize("v0, exc, msg", [
    (np.ones(7), ValueError, "v0 must have shape (20,) to match A's 20 columns, got (7,)"),
    (np.zeros(20), ValueError, "v0 must be nonzero"),
    (np.full(20, np.nan), ValueError, "v0 contains NaN or Inf"),
    (np.ones(20) * 1j, TypeError, "v0 is complex but A is real"),
    (np.array(["x"] * 20), TypeError, "v0 must be numeric, got dtype <U1"),
])
@pytest.mark.parametrize("method", ["auto", "lanczos", "svd"])
def test_sigma_checks_v0_as_estimate_does(host_backend, a, v0, exc, msg, method):
    # (30, 20) with "auto" is the small matrix of sigma's lean path on the C++ backend
    for call in (sn.sigma, sn.estimate):
        with pytest.raises(exc) as info:
            call(a, method, v0=v0, backend=host_backend.name)
        assert str(info.value) == msg


# --- masked arrays ----------------------------------------------------------------------------

def _masked_message(name, var=None):
    var = name if var is None else var
    return (f"{name} is a NumPy masked array (numpy.ma.MaskedArray) and specnorm would ignore "
            f"its mask: pass {var}.filled(0) to compute with the masked entries as zeros, or "
            f"np.asarray({var}) to use the values stored under the mask")


@pytest.mark.parametrize("shape", [(30, 20), (200, 120), (3, 30, 20)])
@pytest.mark.parametrize("method", ["auto", "lanczos", "svd"])
def test_a_masked_array_is_a_type_error_that_names_the_mask(host_backend, shape, method):
    data = np.random.default_rng(7).standard_normal(shape)
    masked = np.ma.masked_greater(data, 1.0)  # masks some entries
    for call in (sn.sigma, sn.estimate):
        with pytest.raises(TypeError) as info:
            call(masked, method, backend=host_backend.name)
        assert str(info.value) == _masked_message("A")
    with pytest.raises(TypeError) as info:  # no entry masked: still refused, the type says why
        sn.sigma(np.ma.masked_array(data), method, backend=host_backend.name)
    assert str(info.value) == _masked_message("A")


def test_masked_arrays_are_refused_by_sigma_many_and_rayleigh_quotient(a):
    masked = np.ma.masked_less(a, 0.0)
    with pytest.raises(TypeError) as info:
        sn.sigma_many([np.eye(3), masked])
    assert str(info.value) == _masked_message("item 1", "item")
    with pytest.raises(TypeError) as info:  # two of one shape: the stacked group would drop it
        sn.sigma_many([a, masked])
    assert str(info.value) == _masked_message("item 1", "item")
    with pytest.raises(TypeError) as info:
        sn.rayleigh_quotient(masked, np.ones(20))
    assert str(info.value) == _masked_message("A")
    with pytest.raises(TypeError) as info:
        sn.rayleigh_quotient(a, np.ma.masked_equal(np.arange(20.0), 3.0))
    assert str(info.value) == _masked_message("x")
    with pytest.raises(TypeError) as info:
        sn.estimate(a, "lanczos", v0=np.ma.masked_equal(np.arange(20.0), 3.0))
    assert str(info.value) == _masked_message("v0")


# --- sigma_many's messages --------------------------------------------------------------------

def test_sigma_many_on_one_matrix_says_it_takes_a_sequence():
    with pytest.raises(ValueError) as info:
        sn.sigma_many(np.ones((3, 4)))
    assert str(info.value) == ("sigma_many takes a sequence of matrices and got a single 2-D "
                               "ndarray of shape (3, 4): use sigma(A) for one matrix, or "
                               "sigma_many([A])")


def test_sigma_many_names_an_item_that_is_not_a_matrix():
    with pytest.raises(ValueError) as info:
        sn.sigma_many([np.eye(2), np.ones(3)])
    assert str(info.value) == "sigma_many takes 2-D matrices; item 1 has shape (3,)"
    for stack in (np.ones((2, 3, 3)), np.ones((2, 3, 3)).tolist()):
        with pytest.raises(ValueError) as info:
            sn.sigma_many([np.eye(2), stack])
        assert str(info.value) == ("sigma_many takes 2-D matrices; item 1 is a stack of shape "
                                   "(2, 3, 3): sigma(item) estimates every matrix of a stack")


def test_sigma_many_refuses_v0():
    with pytest.raises(ValueError) as info:
        sn.sigma_many([np.eye(2), np.eye(3)], v0=np.ones(2))
    assert str(info.value) == ("sigma_many takes no v0 (one start vector cannot fit matrices "
                               "of different shapes); call sigma(A, v0=...) for each matrix")


def test_sigma_many_of_a_stack_array_is_its_matrices():
    stack = np.random.default_rng(8).standard_normal((3, 6, 5))
    np.testing.assert_array_equal(sn.sigma_many(stack, seed=0),
                                  sn.sigma_many(list(stack), seed=0))
