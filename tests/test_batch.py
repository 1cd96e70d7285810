"""Stacks (..., m, n): every matrix answered on its own, on every backend, against the SVD."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import specnorm as sn

ITERATIVE = ("power", "lanczos", "rayleigh")


@pytest.fixture
def stack_calls(backend, monkeypatch):
    """How many times the backend computed a whole stack in one call (its batch path)."""
    from specnorm.backends import BACKENDS

    be = BACKENDS[backend.name]
    calls: list[str] = []
    original = be.solve

    def counting(a, method, *args, **kw):
        if a.shape[0] > 1:
            calls.append(method)
        return original(a, method, *args, **kw)

    monkeypatch.setattr(be, "solve", counting)
    return calls


def exact_top(stack: np.ndarray) -> np.ndarray:
    wide = stack.astype(np.complex128 if np.iscomplexobj(stack) else np.float64)
    if stack.shape[-1] == 0 or stack.shape[-2] == 0:
        return np.zeros(stack.shape[:-2])
    return np.linalg.svd(wide, compute_uv=False)[..., 0]


@st.composite
def stacks(draw):
    batch = tuple(draw(st.lists(st.integers(1, 3), min_size=1, max_size=2)))
    if draw(st.integers(0, 9)) == 0:  # now and then an empty leading dimension
        batch = (*batch[:-1], 0)
    m, n = draw(st.integers(1, 12)), draw(st.integers(1, 12))
    dtype = draw(st.sampled_from([np.float32, np.float64, np.complex64, np.complex128]))
    seed = draw(st.integers(0, 2**32 - 1))
    rng = np.random.default_rng(seed)
    a = rng.standard_normal((*batch, m, n))
    if np.dtype(dtype).kind == "c":
        a = a + 1j * rng.standard_normal((*batch, m, n))
    a = a.astype(dtype)
    if a.size and draw(st.booleans()):  # a zero matrix somewhere in the stack
        a.reshape(-1, m, n)[0] = 0
    return a


@pytest.mark.parametrize("method", [*ITERATIVE, "svd", "auto"])
@settings(max_examples=25)
@given(a=stacks())
def test_stacks_agree_with_the_svd(backend, method, a):
    tol = 1e-5 if a.dtype in (np.float32, np.complex64) else 1e-8
    est = backend.estimate(a, method, tol=tol, seed=0, maxiter=20_000)
    want = exact_top(a)
    got = np.asarray(est.sigma)
    assert got.shape == a.shape[:-2]
    assert est.u.shape == (*a.shape[:-2], a.shape[-2])
    assert est.v.shape == (*a.shape[:-2], a.shape[-1])
    eps = float(np.finfo(a.dtype).eps)
    room = 2 * max(tol, 8 * eps * math.sqrt(max(a.shape[-2:]))) + 64 * eps * 4
    # Power iteration converges slowly on a small gap; where it ran out of budget it still gives
    # a lower bound.
    done = np.asarray(est.converged, dtype=bool)
    np.testing.assert_array_less(np.abs(got - want)[done], room * want[done] + 1e-300)
    assert np.all(np.asarray(est.lower) <= want * (1 + room) + 1e-300)
    assert np.all(np.asarray(est.upper) >= want * (1 - room))
    zero = want == 0
    assert np.all(got[zero] == 0) and np.all(np.asarray(est.converged)[zero])


def test_a_zero_matrix_in_a_stack_gives_zero_for_that_entry_alone(backend):
    a = np.random.default_rng(1).standard_normal((4, 30, 20))
    a[2] = 0
    est = backend.estimate(a, "lanczos", seed=0)
    want = exact_top(a)
    assert est.sigma[2] == 0.0 and est.iterations[2] == 0 and est.converged[2]
    keep = [0, 1, 3]
    np.testing.assert_allclose(est.sigma[keep], want[keep], rtol=1e-6)
    np.testing.assert_allclose(np.linalg.norm(est.v, axis=-1), 1.0, rtol=1e-12)


def test_each_matrix_stops_on_its_own(backend):
    rng = np.random.default_rng(2)
    easy = np.diag([10.0, 1.0, 0.5, 0.1])
    left, _ = np.linalg.qr(rng.standard_normal((4, 4)))
    hard = left @ np.diag([1.0, 0.999, 0.5, 0.1]) @ left.T
    est = backend.estimate(np.stack([easy, hard, easy]), "power", tol=1e-8, seed=0)
    assert all(np.asarray(est.converged))
    its = np.asarray(est.iterations)
    assert its[1] > 10 * max(its[0], its[2])


def test_warm_starts_per_matrix_converge_and_prove_sigma1(backend):
    # A warm start meets the residual at once, but proving that sigma_1 was not missed takes
    # the random part of the (mixed) start about as many products as a cold start
    # (docs/mathematics.md 7.4): no more than that.
    a = np.random.default_rng(3).standard_normal((3, 2, 40, 30))
    cold = backend.estimate(a, "lanczos", tol=1e-8, seed=0)
    warm = backend.estimate(a, "lanczos", tol=1e-8, v0=cold.v)
    assert np.all(np.asarray(warm.converged))
    assert np.all(np.asarray(warm.iterations) <= np.asarray(cold.iterations) + 10)
    np.testing.assert_allclose(warm.sigma, cold.sigma, rtol=1e-8)
    assert np.all(np.asarray(warm.confidence) == 1.0)  # a chosen start: the certain bound


def test_a_nan_in_one_matrix_of_a_stack_is_an_error(backend):
    a = np.ones((3, 4, 5))
    a[1, 2, 3] = np.nan
    with pytest.raises(ValueError, match="NaN or Inf"):
        backend.sigma(a, "lanczos")


@pytest.mark.parametrize("method", ITERATIVE)
def test_thread_count_does_not_change_the_answer(method):
    a = np.random.default_rng(4).standard_normal((16, 50, 40))
    one = sn.estimate(a, method, seed=7, threads=1, backend="cpp")
    two = sn.estimate(a, method, seed=7, threads=2, backend="cpp")
    np.testing.assert_array_equal(one.sigma, two.sigma)
    np.testing.assert_array_equal(one.v, two.v)
    np.testing.assert_array_equal(one.iterations, two.iterations)


@pytest.mark.parametrize("threads", [0, -1, 1.5, "2", True])
def test_bad_thread_count_is_a_value_error(threads):
    with pytest.raises(ValueError, match="threads must be"):
        sn.sigma(np.ones((2, 3, 3)), threads=threads)


def test_strided_and_transposed_stacks_give_the_same_answer():
    base = np.random.default_rng(5).standard_normal((6, 40, 60))
    want = exact_top(base[::2, :, ::3])
    for view in (base[::2, :, ::3], np.ascontiguousarray(base[::2, :, ::3]),
                 np.asfortranarray(base[::2, :, ::3]),
                 np.ascontiguousarray(base[::2, :, ::3].transpose(0, 2, 1)).transpose(0, 2, 1)):
        got = sn.sigma(view, "lanczos", tol=1e-10, seed=0)
        np.testing.assert_allclose(got, want, rtol=1e-9)
    assert np.array_equal(base, np.random.default_rng(5).standard_normal((6, 40, 60)))


def test_sigma_many_groups_equal_shapes_and_keeps_the_order(backend, monkeypatch):
    rng = np.random.default_rng(6)
    shapes = [(30, 20), (5, 7), (30, 20), (0, 4), (5, 7), (30, 20), (1, 1), (0, 4)]
    items = [rng.standard_normal(s) for s in shapes]
    items[2] = items[2].astype(np.float32)  # same shape, other dtype: its own group
    import specnorm._api as api

    stacked: list[tuple[int, ...]] = []
    original = api.sigma

    def spy(a, *args, **kw):
        stacked.append(tuple(a.shape))
        return original(a, *args, **kw)

    monkeypatch.setattr(api, "sigma", spy)
    got = sn.sigma_many([backend.put(x) for x in items], "lanczos", tol=1e-8, seed=0,
                        backend=backend.name)
    if not backend.device:  # NumPy matrices of one shape and dtype go in as one stack
        assert sorted(s for s in stacked if len(s) == 3) == [(2, 0, 4), (2, 5, 7), (2, 30, 20)]
        assert len(stacked) == 5  # the three stacks, the float32 30 x 20 and the 1 x 1
    want = np.array([exact_top(x.astype(np.float64)) for x in items], dtype=np.float64)
    assert got.shape == (len(items),)
    rtol = np.array([1e-5 if x.dtype == np.float32 else 1e-7 for x in items])
    assert np.all(np.abs(got - want) <= rtol * want)
    again = sn.sigma_many([backend.put(x) for x in items], "lanczos", tol=1e-8, seed=0,
                          backend=backend.name)
    np.testing.assert_array_equal(got, again)
    with pytest.raises(ValueError, match="item 1 is a stack"):
        sn.sigma_many([np.eye(2), np.ones((2, 2, 2))])


def test_a_warm_start_in_a_null_space_still_finds_sigma(backend):
    # v0 = e_1 lies in the null space of diag(0, 2, 1): the batch cannot go on from it and the
    # matrix is redone from a random start; its bracket is then the certain one.
    a = np.stack([np.diag([0.0, 2.0, 1.0]), np.diag([3.0, 1.0, 0.5])])
    v0 = np.array([[1.0, 0.0, 0.0], [1.0, 1.0, 1.0]])
    est = backend.estimate(a, "power", tol=1e-10, v0=v0, seed=0)
    np.testing.assert_allclose(est.sigma, [2.0, 3.0], rtol=1e-9)
    assert np.all(np.asarray(est.converged))
    v = np.asarray(est.v)
    np.testing.assert_allclose(np.abs(v[0]), [0.0, 1.0, 0.0], atol=1e-6)
    assert np.all(np.asarray(est.upper) >= [2.0, 3.0])


def test_power_on_a_stack_matches_one_matrix_at_a_time(backend, stack_calls):
    # The batched power iteration (batched matmuls on numpy and the CuPy stand-in, one task per
    # matrix in the core) does what the one-matrix solver does from the same start.
    rng = np.random.default_rng(8)
    a = rng.standard_normal((5, 30, 20))
    v0 = rng.standard_normal((5, 20))
    stacked = backend.estimate(a, "power", tol=1e-9, v0=v0)
    assert stack_calls == ["power"]  # the batch path ran
    for b in range(5):
        one = backend.estimate(a[b], "power", tol=1e-9, v0=v0[b])
        # batched matmuls and a single gemv round differently, and the step at which power
        # iteration hands its pair to the Lanczos check (power.hpp) can read that: one step
        assert abs(int(stacked.iterations[b]) - int(one.iterations)) <= 2
        assert stacked.sigma[b] == pytest.approx(one.sigma, rel=1e-9)


@pytest.mark.parametrize("dtype", [np.float32, np.float64, np.complex64, np.complex128])
@pytest.mark.parametrize("shape", [(12, 12), (40, 9), (9, 40), (64, 64)])
@pytest.mark.parametrize("scale", [1.0, 1e30, 1e-30])
def test_small_stacks_under_auto_use_the_gram_kernel(dtype, shape, scale):
    # method="auto" on a stack of small matrices runs power iteration on the formed Gram matrix
    # (cpp/specnorm/small.hpp): hard spectra (a 1e-3 top gap, a repeated top value, rank one)
    # at extreme scales, in every dtype and shape.
    from specnorm.testing import matrix_with_spectrum

    k = min(shape)
    tails = np.linspace(0.5, 0.01, k)
    spectra = [np.concatenate([[1.0, 0.999], tails[: k - 2]]),
               np.concatenate([[1.0, 1.0], tails[: k - 2]]),
               np.concatenate([[1.0], np.zeros(k - 1)]),
               np.linspace(1.0, 0.1, k)]
    stack = np.stack([matrix_with_spectrum(s * scale, shape, dtype=dtype, seed=i)
                      for i, s in enumerate(spectra)])
    tol = 1e-4 if np.finfo(dtype).eps > 1e-10 else 1e-8
    est = sn.estimate(stack, tol=tol, seed=0, backend="cpp")
    assert est.method == "power"
    assert np.all(est.converged)
    got = est.sigma / scale
    room = 4 * max(tol, 8 * float(np.finfo(dtype).eps) * math.sqrt(max(shape)))
    np.testing.assert_allclose(got, 1.0, rtol=room)
    assert np.all(est.lower / scale <= 1.0 + room) and np.all(est.upper / scale >= 1.0 - room)


def test_the_gram_kernel_reports_a_tight_certain_upper_bound():
    # sigma_1 <= ||G^8||_F^(1/16) for G = A^H A: certain, and within k^(1/32) of sigma_1.
    rng = np.random.default_rng(9)
    a = rng.standard_normal((200, 32, 24))
    est = sn.estimate(a, tol=1e-6, seed=0, backend="cpp")
    want = exact_top(a)
    assert np.all(est.confidence == 1.0)
    assert np.all(est.upper >= want)
    assert np.all(est.upper <= want * 24 ** (1 / 32) * (1 + 1e-12))


@pytest.mark.parametrize("basis", [64, 4])
def test_lanczos_on_a_stack_matches_one_matrix_at_a_time(backend, basis, monkeypatch,
                                                         stack_calls):
    # Batched Lanczos (batched matmuls on numpy and the CuPy stand-in, one task per matrix in the
    # core): each matrix leaves the batch when its own Ritz pair passes, after the products the
    # one-matrix solver needs from the same start. A basis of 4 forces restarts (thick in the
    # core, from the Ritz vector in the batch), where only the answers must agree.
    from specnorm import _rules

    monkeypatch.setattr(_rules, "BASIS_VECTORS", basis)
    rng = np.random.default_rng(10)
    a = rng.standard_normal((4, 30, 20))
    a[1] *= 3
    v0 = rng.standard_normal((4, 20))
    stacked = backend.estimate(a, "lanczos", tol=1e-9, v0=v0)
    assert stack_calls == ["lanczos"]  # the batch path ran
    want = exact_top(a)
    np.testing.assert_allclose(stacked.sigma, want, rtol=1e-8)
    assert np.all(np.asarray(stacked.converged))
    if basis == 64:
        for b in range(4):
            one = backend.estimate(a[b], "lanczos", tol=1e-9, v0=v0[b])
            assert stacked.iterations[b] == one.iterations


@pytest.mark.parametrize("method", ITERATIVE)
@pytest.mark.parametrize("maxiter", [1, 2, 3])
def test_a_null_space_start_with_no_budget_left_gives_a_unit_pair(backend, method, maxiter):
    # A start in the null space of A and a budget too small to escape it: the answer is a unit
    # pair with sigma a lower bound, never an empty vector (this crashed the stack path once).
    a = np.zeros((3, 2, 2))
    a[:, 0, 0] = 1.0
    v0 = np.tile([0.0, 1.0], (3, 1))
    for mat, start in ((a, v0), (a[0], v0[0])):
        est = backend.estimate(mat, method, v0=start, maxiter=maxiter)
        u, v = np.asarray(est.u), np.asarray(est.v)
        assert u.shape == mat.shape[:-1] and v.shape == (*mat.shape[:-2], 2)
        np.testing.assert_allclose(np.linalg.norm(u, axis=-1), 1.0, rtol=1e-12)
        np.testing.assert_allclose(np.linalg.norm(v, axis=-1), 1.0, rtol=1e-12)
        assert np.all(np.asarray(est.sigma) <= 1.0) and np.all(np.asarray(est.upper) >= 1.0)
