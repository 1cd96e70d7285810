"""Properties of sigma/estimate against the known spectra of specnorm.testing, on every method
and dtype. The matrices come from specnorm.testing (the users' toolkit is the suite's generator)."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import specnorm as sn
from specnorm._rules import tol_floor
from specnorm.backends import BACKENDS
from specnorm.testing import check_norm_estimator, matrices, matrix_with_spectrum

#: The conftest's array_api_strict backend, standing in for CuPy.
STANDIN = "array_api_strict"
ITERATIVE = ("power", "lanczos", "rayleigh")
METHODS = (*ITERATIVE, "svd")
DTYPES = (np.float32, np.float64, np.complex64, np.complex128)
# Power iteration on a tiny gap needs ~ log(1/tol) / (1 - (s2/s1)^2) steps: give it room.
EASY_KINDS = ("generic", "rank_one", "rank_deficient", "zero", "graded", "extreme_scale",
              "start_trap", "repeated_top")
ALL_KINDS = (*EASY_KINDS, "tiny_gap")


def allowance(dtype: np.dtype, shape: tuple[int, ...]) -> float:
    """Relative rounding room of the dtype: the matrix's own rounding plus the solver's."""
    eps = float(np.finfo(dtype).eps)
    return 64.0 * eps * math.sqrt(max(shape[-2:]))


def requested(method: str, dtype: np.dtype, shape: tuple[int, ...], tol: float) -> float:
    return max(tol, tol_floor(np.dtype(dtype), *shape[-2:])) if method != "svd" else 0.0


def kinds_for(method: str) -> tuple[str, ...]:
    return ALL_KINDS if method != "power" else EASY_KINDS


def examples_for(backend, share: int = 4) -> settings:
    """The profile's example count, divided by ``share`` on the array_api_strict stand-in: every
    array operation there goes through a Python wrapper (about 7 times slower than NumPy), and a
    run that spends its whole default budget would dominate the suite's runtime."""
    count = settings.default.max_examples
    if backend.name == STANDIN:
        count = max(1, count // share)
    return settings(max_examples=count)


@pytest.mark.parametrize("method", METHODS)
@settings(max_examples=60)
@given(data=st.data())
def test_sigma_agrees_with_known_spectrum(backend, method, data):
    case = data.draw(matrices(kinds=kinds_for(method)))
    tol = 1e-8 if np.finfo(case.matrix.dtype).eps < 1e-10 else 1e-5
    est = backend.estimate(case.matrix, method, tol=tol, seed=0, maxiter=100_000)
    room = 2 * requested(method, case.matrix.dtype, case.matrix.shape, tol)
    room += allowance(case.matrix.dtype, case.matrix.shape)
    if case.sigma == 0:
        assert est.sigma == 0.0
    elif method == "power" and not est.converged:
        # Power iteration needs about 2 log(1/tol) / (1 - (s2/s1)^2) products; a "generic" draw
        # may put s2 within 1e-5 of s1, beyond any fixed budget. Only then may it stop short.
        s = case.singular_values
        ratio = float(s[1] / s[0]) if len(s) > 1 else 0.0
        needed = 2 * math.log(1 / tol) / max(1 - ratio**2, 1e-300)
        assert needed > 100_000 / 8, f"power stopped short on s2/s1 = {ratio}"
    else:
        assert est.converged
        assert abs(est.sigma - case.sigma) <= room * case.sigma
    assert est.lower <= case.sigma * (1 + allowance(case.matrix.dtype, case.matrix.shape))
    assert est.upper >= case.sigma * (1 - allowance(case.matrix.dtype, case.matrix.shape))
    assert est.lower <= est.sigma * (1 + allowance(case.matrix.dtype, case.matrix.shape))
    assert est.method == method


@pytest.mark.parametrize("method", METHODS)
@given(case=matrices(kinds=EASY_KINDS))
def test_singular_vectors_satisfy_av_equals_sigma_u(backend, method, case):
    est = backend.estimate(case.matrix, method, tol=1e-5, seed=1)
    room = allowance(case.matrix.dtype, case.matrix.shape)
    assert np.linalg.norm(est.v) == pytest.approx(1.0, abs=room)
    assert np.linalg.norm(est.u) == pytest.approx(1.0, abs=room)
    if case.sigma == 0:
        return
    # Work in units of sigma so that extreme scales stay representable.
    a = case.matrix.astype(np.complex128) / case.sigma
    ratio = est.sigma / case.sigma
    assert np.linalg.norm(a @ est.v - ratio * est.u) <= 4 * room
    adj = np.linalg.norm(a.conj().T @ est.u - ratio * est.v) / ratio
    assert adj <= est.residual + 4 * room


@pytest.mark.parametrize("method", ITERATIVE)
@given(case=matrices(kinds=EASY_KINDS), c=st.floats(-1e3, 1e3).filter(lambda c: abs(c) > 1e-3))
def test_sigma_of_scaled_matrix_is_scaled_sigma(backend, method, case, c):
    a = case.matrix
    scaled = (a * a.dtype.type(c)).astype(a.dtype)
    if not np.all(np.isfinite(scaled)):
        return
    s1 = backend.sigma(a, method, tol=1e-5, seed=3)
    s2 = backend.sigma(scaled, method, tol=1e-5, seed=3)
    room = 4 * requested(method, a.dtype, a.shape, 1e-5) + 4 * allowance(a.dtype, a.shape)
    assert s2 == pytest.approx(abs(complex(a.dtype.type(c))) * s1, rel=room, abs=1e-300)


@pytest.mark.parametrize("method", ITERATIVE)
@given(case=matrices(kinds=EASY_KINDS))
def test_sigma_of_adjoint_equals_sigma(backend, method, case):
    a = case.matrix
    s1 = backend.sigma(a, method, tol=1e-5, seed=4)
    s2 = backend.sigma(a.conj().T, method, tol=1e-5, seed=4)
    room = 4 * requested(method, a.dtype, a.shape, 1e-5) + 4 * allowance(a.dtype, a.shape)
    assert s2 == pytest.approx(s1, rel=room, abs=1e-300)


@pytest.mark.parametrize("method", ITERATIVE)
@given(case=matrices(kinds=EASY_KINDS, dtype=st.sampled_from([np.float64, np.complex128])),
       seed=st.integers(0, 2**32 - 1))
def test_sigma_invariant_under_unitary_left_factor(backend, method, case, seed):
    a = case.matrix
    rng = np.random.default_rng(seed)
    q, _ = np.linalg.qr(rng.standard_normal((a.shape[0], a.shape[0])))
    est = backend.estimate(q @ a, method, tol=1e-9, seed=5)
    if not est.converged:  # power iteration on a near-repeated top value may run out of budget
        assert method == "power"
        return
    assert est.sigma == pytest.approx(case.sigma, rel=1e-7, abs=1e-280)


@pytest.mark.parametrize("method", ITERATIVE)
def test_norm_inequalities_hold(backend, method):
    # Power iteration on a near-repeated top value may run out of its default budget, 10**7 // (m n)
    # products (~10**5 on an 8 x 11 matrix): 0.04 s in C++, 2 s with NumPy, 16 s with the
    # array_api_strict stand-in, which wraps every array operation in Python. Hypothesis runs
    # inside the test so that the stand-in can run fewer examples (see examples_for).
    @examples_for(backend)
    @given(case=matrices(kinds=EASY_KINDS, dtype=st.just(np.float64)), seed=st.integers(0, 999))
    def check(case, seed):
        est = backend.estimate(case.matrix, method, tol=1e-10, seed=seed)
        if not est.converged:  # power iteration on a near-repeated top value may run out of budget
            assert method == "power"
            assert est.lower <= case.sigma * (1 + 1e-12)
            return
        s = est.sigma
        if case.sigma == 0:
            assert s == 0.0
            return
        a, s = case.matrix / case.sigma, s / case.sigma  # units of sigma: no overflow in the checks
        x = np.random.default_rng(seed).standard_normal(a.shape[1])
        room = 1 + 1e-8
        assert np.linalg.norm(a @ x) <= s * np.linalg.norm(x) * room + 1e-300
        assert np.max(np.linalg.norm(a, axis=0)) <= s * room + 1e-300
        assert s <= np.linalg.norm(a) * room + 1e-300
        lam = np.linalg.eigvalsh(a.T @ a)[-1] if a.size else 0.0
        assert s * s == pytest.approx(lam, rel=1e-7, abs=1e-12 * max(lam, 1e-300))

    check()


@pytest.mark.parametrize("method", ITERATIVE)
def test_power_like_methods_escape_the_all_ones_trap(backend, method):
    a = np.array([[1.0, -1.0], [-1.0, 1.0]])
    assert backend.sigma(a, method, seed=0) == pytest.approx(2.0, rel=1e-12)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("method", METHODS)
@pytest.mark.parametrize("spectrum", [
    pytest.param([1.0, 0.999] + [0.5] * 18, id="tiny-gap"),
    pytest.param([2.0, 2.0, 2.0] + [1.0] * 17, id="repeated-top"),
    pytest.param([3.0] + [0.0] * 19, id="rank-one"),
    pytest.param([5.0, 4.0, 1.0] + [0.0] * 17, id="rank-deficient"),
])
@pytest.mark.parametrize("shape", [(20, 20), (60, 20), (20, 60)], ids=["square", "tall", "wide"])
def test_hard_spectra_on_every_method_and_dtype(backend, dtype, method, spectrum, shape):
    s = np.array(spectrum[: min(shape)])
    a = matrix_with_spectrum(s, shape, dtype=dtype, seed=7)
    tol = 1e-4 if np.dtype(dtype).itemsize in (4, 8) and np.dtype(dtype).kind == "f" \
        and np.dtype(dtype) == np.float32 else 1e-4 if np.dtype(dtype) == np.complex64 else 1e-8
    est = backend.estimate(a, method, tol=tol, seed=0, maxiter=200_000)
    assert est.converged
    room = 2 * requested(method, np.dtype(dtype), shape, tol) + allowance(np.dtype(dtype), shape)
    assert est.sigma == pytest.approx(s[0], rel=room)
    assert est.lower <= s[0] * (1 + allowance(np.dtype(dtype), shape)) <= est.upper * (1 + 2 * room)


@pytest.mark.parametrize("method", (*ITERATIVE, "svd"))
@pytest.mark.parametrize("scale", [1e30, 1e-30])
@pytest.mark.parametrize("dtype", [np.float32, np.complex64])
def test_float32_extreme_scales_neither_overflow_nor_underflow(backend, method, scale, dtype):
    s = scale * np.array([1.0, 0.7, 0.3, 0.1, 0.01])
    a = matrix_with_spectrum(s, (30, 5), dtype=dtype, seed=2)
    est = backend.estimate(a, method, tol=1e-4, seed=0)
    assert np.isfinite(est.sigma) and est.converged
    assert est.sigma == pytest.approx(s[0], rel=1e-3)
    assert est.lower <= s[0] * (1 + 1e-5) and est.upper >= s[0] * (1 - 1e-5)


@pytest.mark.parametrize("shape", [(1, 7), (7, 1), (1, 1), (1, 300), (300, 1)])
@pytest.mark.parametrize("method", METHODS)
def test_vectors_as_matrices(backend, shape, method):
    a = np.random.default_rng(0).standard_normal(shape)
    assert backend.sigma(a, method, seed=0) == pytest.approx(np.linalg.norm(a), rel=1e-12)


def test_lanczos_normalizes_by_a_subnormal_alpha_without_overflow(backend):
    # A 2 x 3 complex64 matrix with sigma_1 = sigma_2 = 1e-33: the second Lanczos step finds
    # alpha = 4e-40, a subnormal float32 that still passes the invariance test (alpha > 16 eps
    # ||A p||). NumPy's complex division q / alpha multiplies by 1 / alpha = inf; the
    # quotient must be taken part by part, as the C++ core does (found by Hypothesis).
    a = np.array([[-3.4227259e-34 - 6.0363081e-34j, 2.8933910e-34 - 1.9894576e-34j],
                  [-1.2510122e-34 + 8.7162998e-35j, -6.7088773e-34 + 5.1790334e-34j],
                  [4.8087940e-34 + 5.1379623e-34j, 9.9520072e-35 - 3.8533752e-34j]],
                 dtype=np.complex64).conj().T
    est = backend.estimate(a, "lanczos", tol=1e-5, seed=4)
    assert est.converged and est.sigma == pytest.approx(1e-33, rel=1e-4)
    assert np.all(np.isfinite(est.u)) and np.all(np.isfinite(est.v))


def test_power_iteration_reports_no_convergence_but_a_true_lower_bound(backend):
    s = np.array([1.0, 0.999] + [0.5] * 38)
    a = matrix_with_spectrum(s, (40, 40), seed=11)
    est = backend.estimate(a, "power", tol=1e-10, maxiter=50, seed=0)
    assert not est.converged
    assert est.iterations <= 50
    assert est.lower <= 1.0 + 1e-12
    assert est.upper >= 1.0


@pytest.mark.parametrize("method", ITERATIVE)
@pytest.mark.parametrize("maxiter", [1, 2, 3, 5, 11])
def test_maxiter_bounds_the_products(backend, method, maxiter):
    # The array_api_strict stand-in (like CuPy) reads power iteration's stopping test only every
    # cupy.SYNC_EVERY = 4 steps, so it may run a few more products than the cpp backend before it
    # stops, but never more than maxiter: the last step that fits is always read (maxiter=11
    # spans more than one sync interval).
    a = np.random.default_rng(0).standard_normal((50, 40))
    est = backend.estimate(a, method, tol=1e-12, maxiter=maxiter, seed=0)
    assert est.iterations <= maxiter
    assert est.lower <= np.linalg.norm(a, 2) * (1 + 1e-12)
    assert est.upper >= np.linalg.norm(a, 2) * (1 - 1e-12)


@pytest.mark.parametrize("method", METHODS)
@pytest.mark.parametrize("shape", [(0, 0), (0, 5), (5, 0), (4, 6)])
def test_empty_and_zero_matrices_have_sigma_zero(backend, method, shape):
    a = np.zeros(shape)
    est = backend.estimate(a, method, seed=0)
    assert est.sigma == 0.0 and est.lower == 0.0 and est.upper == 0.0
    assert est.converged and est.residual == 0.0
    assert np.all(np.isfinite(est.u)) and np.all(np.isfinite(est.v))


@pytest.mark.parametrize("method", ITERATIVE)
def test_same_seed_gives_bit_identical_answers(backend, method):
    a = np.random.default_rng(5).standard_normal((300, 200))
    e1 = backend.estimate(a, method, seed=42)
    e2 = backend.estimate(a, method, seed=np.random.default_rng(42))
    assert e1.sigma == e2.sigma and e1.iterations == e2.iterations
    assert np.array_equal(e1.v, e2.v)


@pytest.mark.parametrize("method", ITERATIVE)
def test_warm_start_converges_and_proves_sigma1(backend, method):
    # The residual is met at once; proving that sigma_1 was not missed costs the random part
    # of the mixed start about what a cold start costs, never more (docs/mathematics.md 7.4).
    a = np.random.default_rng(6).standard_normal((200, 150))
    first = backend.estimate(a, method, tol=1e-10, seed=0)
    cold = backend.estimate(a, method, tol=1e-8, seed=1)
    again = backend.estimate(a, method, tol=1e-8, v0=first.v)
    assert again.converged and again.iterations <= cold.iterations + 10
    assert again.confidence == 1.0  # a chosen start supports only the certain bound
    assert again.sigma == pytest.approx(first.sigma, rel=1e-8)


@pytest.mark.slow
def test_lanczos_needs_far_fewer_products_than_power_on_a_small_gap(backend):
    s = np.concatenate([[1.0, 0.99], np.linspace(0.9, 0.1, 198)])
    a = matrix_with_spectrum(s, (300, 200), seed=3)
    power = backend.estimate(a, "power", tol=1e-8, seed=0, maxiter=100_000)
    lanczos = backend.estimate(a, "lanczos", tol=1e-8, seed=0)
    assert power.converged and lanczos.converged
    assert lanczos.iterations * 5 < power.iterations


@pytest.mark.parametrize("method", ITERATIVE)
def test_bracket_tightens_with_a_random_start(backend, method):
    a = np.random.default_rng(8).standard_normal((400, 300))
    est = backend.estimate(a, method, tol=1e-8, seed=0)
    true = np.linalg.norm(a, 2)
    # lower is certain up to the rounding of one product (a build without FMA, the sanitizer
    # one, put it one unit in the last place above the SVD's value)
    assert est.lower <= true * (1 + 8 * np.finfo(np.float64).eps) and true <= est.upper
    assert est.confidence == pytest.approx(0.999)
    assert est.upper < np.linalg.norm(a)  # tighter than the Frobenius bound


@pytest.mark.parametrize("method", ["auto", *ITERATIVE])
def test_sigma_never_lies_outside_the_bracket_in_single_precision(backend, method):
    """lower <= sigma <= upper exactly, for one matrix and for stacks: in float32 the last
    product may round below an earlier Rayleigh quotient (a 64 x 32 float32 weight gave
    lower = sigma + 1 ulp on two methods), and sigma is then lower."""
    rng = np.random.default_rng(1234)
    mats = [rng.standard_normal(s).astype(np.float32) for s in [(64, 32), (32, 16), (10, 16)]]
    stack = np.stack([rng.standard_normal((12, 9)) for _ in range(6)]).astype(np.float32)
    for seed in range(4):
        for a in [*mats, stack]:
            est = backend.estimate(a, method, tol=1e-8, seed=seed)
            sigma, lower, upper = (np.asarray(x) for x in (est.sigma, est.lower, est.upper))
            assert np.all(lower <= sigma) and np.all(sigma <= upper), (lower, sigma, upper)
            exact = np.linalg.svd(a.astype(np.float64), compute_uv=False)[..., 0]
            np.testing.assert_allclose(sigma, exact, rtol=1e-6)


@pytest.mark.parametrize("method", ITERATIVE)
def test_stacks_give_an_array_over_leading_dimensions(backend, method):
    rng = np.random.default_rng(9)
    a = rng.standard_normal((3, 2, 30, 20))
    a[1, 0] = 0.0
    est = backend.estimate(a, method, tol=1e-8, seed=0)
    assert est.sigma.shape == (3, 2) and est.u.shape == (3, 2, 30) and est.v.shape == (3, 2, 20)
    expected = np.linalg.svd(a, compute_uv=False)[..., 0]
    np.testing.assert_allclose(est.sigma, expected, rtol=1e-7)
    assert est.sigma[1, 0] == 0.0
    assert backend.sigma(np.zeros((0, 4, 4))).shape == (0,)


def test_sigma_many_keeps_the_input_order(backend):
    rng = np.random.default_rng(10)
    mats = [rng.standard_normal(s) for s in [(5, 3), (40, 70), (1, 9), (100, 100)]]
    # sigma_many takes a list of matrices of the backend's array type.
    got = sn.sigma_many([backend.put(m) for m in mats], tol=1e-10, seed=0, backend=backend.name)
    np.testing.assert_allclose(got, [np.linalg.norm(m, 2) for m in mats], rtol=1e-9)
    assert got.shape == (4,) and got.dtype == np.float64


def test_rayleigh_quotient_is_a_lower_bound(backend):
    rng = np.random.default_rng(12)
    a = rng.standard_normal((30, 20)) + 1j * rng.standard_normal((30, 20))
    x = rng.standard_normal(20)
    rq = backend.rayleigh_quotient(a, x)
    assert rq == pytest.approx(np.linalg.norm(a @ x) / np.linalg.norm(x), rel=1e-12)
    assert rq <= np.linalg.norm(a, 2)


@pytest.mark.parametrize("method", METHODS)
def test_specnorm_passes_the_users_estimator_check(backend, method):
    # Power iteration needs ~log(1/rtol) / (1 - s2/s1) steps on the checker's tiny gaps (1e-6).
    if method == "power" and backend.name != "cpp":
        # That is ~10^7 steps: seconds in C++, hours for a Python loop of array operations. The
        # numpy and array_api_strict power iterations are checked on known spectra above (every
        # kind but tiny_gap, and the hard tiny-gap spectra of test_hard_spectra...).
        pytest.skip("power iteration on the checker's 1e-6 gaps needs the compiled loop")
    budget = 10**8 if method == "power" else 200_000
    check_norm_estimator(lambda A: backend.sigma(A, method, tol=1e-9, seed=0, maxiter=budget),
                         max_examples=60)


HOSTS_USABLE = all(BACKENDS[name].availability()[0] for name in ("cpp", "numpy"))


@pytest.mark.skipif(not HOSTS_USABLE, reason="needs both the cpp and the numpy backend")
@pytest.mark.parametrize("method", ITERATIVE)
@given(data=st.data())
def test_cpp_and_numpy_backends_agree(method, data):
    # The numpy backend runs the algorithms of the C++ core from the same start vector (drawn in
    # the API layer from the seed), so both answers converge to the same singular value.
    case = data.draw(matrices(kinds=kinds_for(method)))
    a = case.matrix
    tol = 1e-8 if np.finfo(a.dtype).eps < 1e-10 else 1e-5
    kw = {"tol": tol, "seed": 0, "maxiter": 100_000}
    ref = sn.estimate(a, method, backend="cpp", **kw)
    got = sn.estimate(a, method, backend="numpy", **kw)
    if not (ref.converged and got.converged):
        # Power iteration on a near-repeated top value (s2 / s1 = 0.99999, drawn by the "dev"
        # profile) may run out of budget on both; the brackets must still hold.
        assert method == "power"
        assert max(ref.lower, got.lower) <= case.sigma * (1 + allowance(a.dtype, a.shape))
        assert min(ref.upper, got.upper) >= case.sigma * (1 - allowance(a.dtype, a.shape))
        return
    room = 2 * requested(method, a.dtype, a.shape, tol) + allowance(a.dtype, a.shape)
    assert abs(got.sigma - ref.sigma) <= room * max(ref.sigma, got.sigma)
    if case.sigma == 0:
        assert got.sigma == ref.sigma == 0.0
    if method == "lanczos" and a.dtype in (np.float64, np.complex128):
        # The same algorithm from the same start: the same Krylov spaces, the same stopping step.
        # Only in double precision: the C++ and NumPy products round differently (summation
        # order), and in single precision that shifts the Ritz residual, which is tested against
        # a tol only ~5x above the rounding floor, by enough to stop a step earlier or later.
        assert got.iterations == ref.iterations


@pytest.mark.parametrize("dtype", [np.float32, np.float64, np.complex64, np.complex128])
@pytest.mark.parametrize("basis", [2, 3, 8, 64])
@pytest.mark.parametrize("shape", [(120, 90), (90, 120)])
def test_lanczos_restarts_keep_the_answer_on_hard_spectra(dtype, basis, shape, monkeypatch):
    # Small bases restart often, so the projected matrix takes its arrowhead-plus-bidiagonal
    # form at almost every step (cpp/specnorm/ritz.hpp); the answer must not depend on it.
    from specnorm import _rules

    monkeypatch.setattr(_rules, "BASIS_VECTORS", basis)
    k = min(shape)
    spectrum = np.concatenate([[1.0, 0.995, 0.99], np.linspace(0.9, 0.0, k - 3)])
    a = matrix_with_spectrum(spectrum * 3.0, shape, dtype=dtype, seed=basis)
    tol = 1e-4 if np.finfo(dtype).eps > 1e-10 else 1e-9
    # a basis of 2 or 3 vectors proves sigma_1 slowly (each restart keeps one Ritz value):
    # several thousand products
    est = sn.estimate(a, "lanczos", tol=tol, seed=1, backend="cpp", maxiter=20_000)
    assert est.converged
    assert est.residual <= max(tol, tol_floor(np.dtype(dtype), *shape))
    # a residual of tol puts sigma within tol**2 / gap of sigma_1 (gap 0.005), or rounding
    room = max(tol * tol / 0.005, 1e-5 if tol > 1e-6 else 1e-12)
    assert est.sigma == pytest.approx(3.0, rel=room)
    assert est.lower <= 3.0 * (1 + 1e-5) and est.upper >= 3.0 * (1 - 1e-5)


@pytest.mark.parametrize("method", ["auto", "power", "lanczos", "rayleigh", "svd"])
@pytest.mark.parametrize(("dtype", "scale"), [(np.float32, 1e-44), (np.complex64, 1e-44),
                                              (np.float64, 1e-320), (np.complex128, 1e-320)])
def test_subnormal_entries_keep_their_relative_accuracy(backend, method, dtype, scale):
    """Entries near the bottom of the subnormal range (found by the fuzzer: one float32 entry of
    1.4e-45 gave sigma = 0): the matrix is computed on a copy scaled by a power of two, and the
    answer scaled back, so sigma keeps the accuracy a normal-range matrix gets."""
    rng = np.random.default_rng(3)
    base = rng.standard_normal((7, 5))
    if np.dtype(dtype).kind == "c":
        base = base + 1j * rng.standard_normal((7, 5))
    a = (base * scale).astype(dtype)  # rounded to the few bits subnormals have: a is exact
    exact = np.linalg.svd(a.astype(np.complex128), compute_uv=False)[0]
    rel = 1e-5 if np.dtype(dtype).itemsize <= 8 else 1e-9
    for shape in ((), (2,)):
        stack = np.broadcast_to(a, (*shape, *a.shape)).copy()
        before = stack.copy()
        est = backend.estimate(stack, method, tol=1e-6 if rel > 1e-6 else 1e-10, seed=0)
        np.testing.assert_array_equal(stack, before)
        assert np.all(np.abs(np.asarray(est.sigma) - exact) <= rel * exact), est.sigma
        assert np.all(np.asarray(est.converged))
        assert np.all(np.asarray(est.lower) <= exact * (1 + rel))
        assert np.all(np.asarray(est.upper) >= exact * (1 - rel))
    one = np.zeros((3, 3), dtype=dtype)
    one[1, 2] = np.finfo(dtype).smallest_subnormal
    assert backend.sigma(one, method, seed=0) == float(np.abs(one[1, 2]))


def reference_norm(a):
    """The float64 SVD's sigma_1 of a, scaled by 2^-200 and back (exact powers of two): inf
    where it lies beyond float64."""
    with np.errstate(over="ignore"):
        return np.linalg.svd(a.astype(np.complex128) * 2.0**-200, compute_uv=False)[0] * 2.0**200


@pytest.mark.parametrize("method", ["auto", "power", "lanczos", "rayleigh", "svd"])
@pytest.mark.parametrize("dtype", [np.float32, np.complex64, np.float64, np.complex128])
def test_entries_near_the_overflow_threshold_keep_their_accuracy(backend, method, dtype):
    """A norm near or beyond the largest number of the dtype (found by the fuzzer: two float32
    entries of 3e38 gave sigma = 0; the norm, 4.2e38, is beyond float32): computed on a copy
    scaled by a power of two, and returned as a float64."""
    rng = np.random.default_rng(4)
    base = rng.standard_normal((6, 5))
    if np.dtype(dtype).kind == "c":
        base = base + 1j * rng.standard_normal((6, 5))
    top = float(np.finfo(dtype).max)
    base = base / np.max(np.abs(base))
    a = (base * (0.9 * top)).astype(dtype)
    exact = reference_norm(a)
    if not np.isfinite(exact):  # float64: the norm lies beyond the dtype's range
        with pytest.raises(ValueError, match="exceeds the largest float64"):
            backend.estimate(a, method, seed=0)
        a = (base * (0.1 * top)).astype(dtype)
        exact = reference_norm(a)
    rel = 1e-5 if np.dtype(dtype).itemsize <= 8 else 1e-9
    for stack in (a, np.stack([a, a])):
        est = backend.estimate(stack, method, tol=1e-6 if rel > 1e-6 else 1e-10, seed=0)
        assert np.all(np.abs(np.asarray(est.sigma) - exact) <= rel * exact), est.sigma
        assert np.all(np.asarray(est.lower) <= exact * (1 + rel))
        assert np.all(np.asarray(est.upper) >= exact * (1 - rel))
