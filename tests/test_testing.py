"""Tests of specnorm.testing: its strategies draw what they promise, and its checkers catch the
estimators and Lipschitz claims that are wrong while passing the ones that are right."""

from __future__ import annotations

import itertools
import os
import pathlib
import re
import subprocess
import sys
import textwrap
import time

import numpy as np
import pytest
from hypothesis import find, given, settings
from hypothesis import strategies as st
from hypothesis.errors import InvalidArgument

import specnorm.testing as snt

FLOAT_DTYPES = [np.float32, np.float64, np.complex64, np.complex128]
# The folder that holds the specnorm package: python/ in a checkout (snt is specnorm/testing/).
PACKAGE_ROOT = pathlib.Path(snt.__file__).resolve().parents[2]


def wide(a: np.ndarray) -> np.ndarray:
    """The matrix in double precision, for a reference SVD."""
    return a.astype(np.complex128 if a.dtype.kind == "c" else np.float64)


def spectrum_tolerance(case: snt.KnownSpectrum) -> float:
    """Rounding the exact U diag(s) V^H once to the dtype moves each singular value by at
    most about eps * ||A||_F (Weyl); 8 eps max(m, n) sigma covers that and the SVD."""
    m, n = case.matrix.shape[-2:]
    return 8.0 * float(np.finfo(case.matrix.dtype).eps) * max(m, n) * float(np.max(case.sigma))


def spectral_norm(a: np.ndarray) -> float:
    return float(np.linalg.norm(a, 2))


def power_from_ones(a: np.ndarray, iterations: int = 100) -> float:
    """A classic bug: power iteration on A^H A from the all-ones vector."""
    v = np.ones(a.shape[1], dtype=a.dtype)
    for _ in range(iterations):
        w = a.conj().T @ (a @ v)
        norm = np.linalg.norm(w)
        if norm == 0:
            return 0.0
        v = w / norm
    return float(np.linalg.norm(a @ v))


def run_python(code: str) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([str(PACKAGE_ROOT), *filter(None, [env.get("PYTHONPATH")])])
    return subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
        check=False,
    )


def require_importable_specnorm() -> None:
    probe = run_python("import specnorm")
    if probe.returncode != 0:
        pytest.skip(f"import specnorm fails here: {probe.stderr.strip().splitlines()[-1:]}")


# ---------------------------------------------------------------------------------------
# singular_values


@settings(max_examples=200, deadline=None)
@given(snt.singular_values())
def test_spectra_are_finite_nonnegative_descending_float64(s):
    assert s.dtype == np.float64
    assert s.ndim == 1 and 1 <= s.size <= 12
    assert np.all(np.isfinite(s))
    assert np.all(s >= 0)
    assert np.all(np.diff(s) <= 0)


@settings(max_examples=50, deadline=None)
@given(st.data())
def test_spectrum_size_is_the_size_asked_for(data):
    size = data.draw(st.integers(2, 20))
    assert data.draw(snt.singular_values(size=size)).shape == (size,)
    drawn = data.draw(snt.singular_values(size=st.integers(0, 3)))
    assert drawn.shape[0] <= 3


SPECTRUM_SIGNATURES = {
    "generic": lambda s: (
        s.size >= 2 and 1e-3 <= s[0] <= 1e3 and s[-1] >= 1e-3 * s[0] and s[1] < (1 - 1e-3) * s[0]
    ),
    "tiny_gap": lambda s: s.size >= 2 and s[0] > 0 and 0 < 1 - s[1] / s[0] <= 1.000001e-3,
    "repeated_top": lambda s: s.size >= 2 and s[0] == s[1] > 0,
    "rank_one": lambda s: s.size >= 2 and s[0] > 0 and not s[1:].any(),
    "rank_deficient": lambda s: s.size >= 3 and s[1] > 0 and s[-1] == 0,
    "zero": lambda s: s.size >= 1 and not s.any(),
    "graded": lambda s: s[-1] > 0 and s[-1] <= 1.000001e-4 * s[0] and s[0] <= 1e3,
    "extreme_scale": lambda s: s[0] > 1e150 or 0 < s[0] < 1e-150,
}


@pytest.mark.parametrize("kind", snt.SPECTRUM_KINDS)
def test_default_spectra_reach_every_kind(kind):
    found = find(
        snt.singular_values(),
        SPECTRUM_SIGNATURES[kind],
        settings=settings(max_examples=2000, database=None, deadline=None),
    )
    assert SPECTRUM_SIGNATURES[kind](found)


@pytest.mark.parametrize("kind", snt.SPECTRUM_KINDS)
def test_spectra_of_one_kind_have_its_signature(kind):
    @settings(max_examples=30, deadline=None)
    @given(snt.singular_values(kinds=[kind], size=st.integers(3, 12)))
    def check(s):
        if kind == "generic":
            assert s[-1] >= 1e-3 * s[0] > 0
        elif kind == "rank_deficient":
            assert s[0] > 0 and s[-1] == 0
        else:
            assert SPECTRUM_SIGNATURES[kind](s)

    check()


# ---------------------------------------------------------------------------------------
# matrices


@settings(max_examples=300, deadline=None)
@given(snt.matrices())
def test_matrix_singular_values_are_the_known_ones(case):
    a = case.matrix
    m, n = a.shape
    assert a.dtype in FLOAT_DTYPES
    assert 1 <= m <= 12 and 1 <= n <= 12
    assert case.singular_values.dtype == np.float64
    assert case.singular_values.shape == (min(m, n),)
    assert np.all(np.diff(case.singular_values) <= 0)
    assert case.sigma == case.singular_values[0]
    assert isinstance(case.sigma, float) and isinstance(case.kind, str)
    assert np.all(np.isfinite(a))
    if case.sigma == 0:
        assert not a.any()
        return
    # Relative to sigma, so that the extreme scales compare without overflow or underflow.
    computed = np.linalg.svd(wide(a) / case.sigma, compute_uv=False)
    error = np.max(np.abs(computed - case.singular_values / case.sigma))
    assert error <= spectrum_tolerance(case) / case.sigma


@pytest.mark.parametrize("kind", snt.MATRIX_KINDS)
def test_default_matrices_reach_every_kind(kind):
    found = find(
        snt.matrices(),
        lambda case: case.kind == kind,
        settings=settings(max_examples=2000, database=None, deadline=None),
    )
    assert found.kind == kind


def test_default_shapes_include_single_rows_columns_tall_and_wide():
    shapes = set()

    @settings(max_examples=300, deadline=None, database=None)
    @given(snt.matrices(dtype=np.float64))
    def collect(case):
        shapes.add(case.matrix.shape)

    collect()
    assert any(m == 1 and n > 1 for m, n in shapes)
    assert any(n == 1 and m > 1 for m, n in shapes)
    assert any(m > n > 1 for m, n in shapes)
    assert any(n > m > 1 for m, n in shapes)


@settings(max_examples=60, deadline=None)
@given(snt.matrices(kinds="extreme_scale"))
def test_extreme_spectra_square_to_overflow_or_underflow_of_the_dtype(case):
    real = np.finfo(case.matrix.dtype).dtype.type
    top = real(case.sigma)
    with np.errstate(over="ignore", under="ignore"):
        square = top * top
    assert np.isinf(square) or square == 0
    assert np.all(np.isfinite(case.matrix))
    # Every entry, and 16 times it, stays finite in the dtype.
    assert np.all(np.isfinite(16 * case.matrix))
    exponent = abs(np.log10(case.sigma))
    assert (25 <= exponent <= 35.5) if real is np.float32 else (180 <= exponent <= 300.5)


@settings(max_examples=80, deadline=None)
@given(snt.matrices(kinds="start_trap"))
def test_start_trap_top_singular_vectors_are_orthogonal_to_ones_and_e1(case):
    a = case.matrix
    m, n = a.shape
    assert n >= 2
    u, _, vh = np.linalg.svd(wide(a))
    s_true = case.singular_values
    gap = 1.0 if s_true.size == 1 else 1.0 - s_true[1] / s_true[0]
    assert gap >= 0.01 - 1e-12
    # Rounding A to its dtype turns the top singular vectors by about eps ||A|| / gap.
    tolerance = 16.0 * float(np.finfo(a.dtype).eps) * max(m, n) / gap
    top_right = vh[0].conj()
    assert abs(top_right.sum()) / np.sqrt(n) <= tolerance
    if n >= 3:
        assert abs(top_right[0]) <= tolerance
    top_left = u[:, 0]
    if m >= 2:
        assert abs(top_left.sum()) / np.sqrt(m) <= tolerance
    if m >= 3:
        assert abs(top_left[0]) <= tolerance


@settings(max_examples=40, deadline=None)
@given(snt.matrices(shape=(1, 2), kinds="start_trap"))
def test_rank_one_start_trap_sends_the_ones_vector_exactly_to_zero(case):
    assert case.sigma > 0
    assert not (case.matrix @ np.ones(2, dtype=case.matrix.dtype)).any()


@settings(max_examples=40, deadline=None)
@given(
    snt.matrices(
        shape=st.tuples(st.integers(0, 3), st.integers(1, 3), st.integers(1, 6), st.integers(1, 6))
    )
)
def test_stacks_hold_one_known_spectrum_per_matrix(case):
    b1, b2, m, n = case.matrix.shape
    k = min(m, n)
    assert case.singular_values.shape == (b1, b2, k)
    assert isinstance(case.sigma, np.ndarray) and case.sigma.shape == (b1, b2)
    assert isinstance(case.kind, np.ndarray) and case.kind.shape == (b1, b2)
    for index in np.ndindex(b1, b2):
        assert case.kind[index] in snt.MATRIX_KINDS
        assert case.sigma[index] == case.singular_values[index][0]
        computed = np.linalg.svd(wide(case.matrix[index]), compute_uv=False)
        tolerance = 8 * float(np.finfo(case.matrix.dtype).eps) * max(m, n)
        error = np.abs(computed - case.singular_values[index])
        assert np.all(error <= tolerance * case.sigma[index])


@pytest.mark.parametrize("shape", [(0, 3), (4, 0), (2, 0, 5), (0, 2, 2)])
def test_empty_shapes_have_the_empty_spectrum_and_zero_sigma(shape):
    case = find(snt.matrices(shape=shape), lambda case: True, settings=settings(database=None))
    assert case.matrix.shape == shape
    assert case.singular_values.shape == (*shape[:-2], min(shape[-2:]))
    assert np.all(np.asarray(case.sigma) == 0.0)
    assert np.all(np.asarray(case.kind) == "zero")


@pytest.mark.parametrize("dtype", FLOAT_DTYPES)
def test_matrices_have_the_dtype_asked_for(dtype):
    case = find(snt.matrices(dtype=dtype), lambda case: True, settings=settings(database=None))
    assert case.matrix.dtype == dtype


@pytest.mark.parametrize(
    "make",
    [
        lambda: snt.singular_values(kinds=["start_trap"]),
        lambda: snt.singular_values(kinds=["no_such_kind"]),
        lambda: snt.singular_values(kinds=[]),
        lambda: snt.singular_values(size=-1),
        lambda: snt.singular_values(size=1, kinds="tiny_gap"),
        lambda: snt.matrices(shape=(1, 5), kinds="repeated_top"),
        lambda: snt.matrices(shape=(4, 1), kinds="start_trap"),
        lambda: snt.matrices(shape=(5,)),
        lambda: snt.matrices(dtype=np.float16),
        lambda: snt.matrices(dtype=np.int64),
    ],
)
def test_invalid_strategy_arguments_raise_invalid_argument(make):
    with pytest.raises(InvalidArgument):
        make()


def test_matrix_with_spectrum_is_reproducible_and_has_that_spectrum():
    s = np.array([5.0, 5.0, 1e-3, 0.0])
    first = snt.matrix_with_spectrum(s, (6, 4), dtype=np.complex128, seed=42)
    second = snt.matrix_with_spectrum(s, (6, 4), dtype=np.complex128, seed=42)
    assert np.array_equal(first, second)
    assert np.allclose(np.linalg.svd(first, compute_uv=False), s, rtol=0, atol=1e-13)
    trap = snt.matrix_with_spectrum([2.0, 1.0], (2, 2), seed=1, start_trap=True)
    assert abs(np.linalg.svd(trap)[2][0].sum()) < 1e-13


@pytest.mark.parametrize(
    ("values", "shape"),
    [([1.0, 2.0], (2, 2)), ([1.0], (2, 2)), ([-1.0], (1, 3)), ([np.nan], (1, 1))],
)
def test_matrix_with_spectrum_rejects_invalid_spectra(values, shape):
    with pytest.raises(ValueError, match="singular values"):
        snt.matrix_with_spectrum(values, shape)


# ---------------------------------------------------------------------------------------
# check_norm_estimator


def test_numpy_spectral_norm_passes_on_every_dtype_in_well_under_a_minute():
    start = time.perf_counter()
    snt.check_norm_estimator(lambda a: np.linalg.norm(a, 2), dtypes=FLOAT_DTYPES)
    assert time.perf_counter() - start < 30.0


def test_frobenius_norm_fails_with_a_shrunk_counterexample_message():
    with pytest.raises(AssertionError) as raised:
        snt.check_norm_estimator(np.linalg.norm)
    error = raised.value
    assert type(error) is AssertionError
    message = str(error)
    assert 'failed the property "agrees with the known sigma"' in message
    assert re.search(
        r"Shrunk counterexample: A is a \d+ x \d+ float32 matrix of kind '\w+'", message
    )
    assert "singular values of A: [" in message
    assert "true sigma of the matrix given: " in message
    assert "estimator's answer: " in message
    assert "Reproduce with: specnorm.testing.check_norm_estimator(norm, dtypes=['float32']" in (
        message
    )
    assert "seed=0)" in message
    # The counterexample really is one.
    a = error.matrix
    assert abs(np.linalg.norm(a) - spectral_norm(a)) > snt.default_rtol(a.dtype) * spectral_norm(a)


@pytest.mark.parametrize("dtype", FLOAT_DTYPES)
def test_power_iteration_from_the_ones_vector_is_caught(dtype):
    with pytest.raises(AssertionError) as raised:
        snt.check_norm_estimator(power_from_ones, dtypes=[dtype])
    a = raised.value.matrix
    assert type(raised.value) is AssertionError
    assert "power_from_ones failed the property" in str(raised.value)
    rtol = snt.default_rtol(dtype)
    truth = spectral_norm(a)
    with np.errstate(all="ignore"):  # it may overflow: a failure too
        answer = power_from_ones(a)
    # The counterexample really is one, for the property the message names.
    if "below a Rayleigh quotient" in str(raised.value):
        assert answer < truth
    else:
        assert not abs(answer - truth) <= rtol * truth


def test_estimate_one_percent_low_is_caught():
    with pytest.raises(AssertionError, match="agrees with the known sigma") as raised:
        snt.check_norm_estimator(lambda a: 0.99 * np.linalg.norm(a, 2), dtypes=[np.float64])
    assert type(raised.value) is AssertionError


def test_estimator_that_raises_fails():
    def square_only(a):
        if a.shape[0] != a.shape[1]:
            raise ValueError("square matrices only")
        return spectral_norm(a)

    with pytest.raises(AssertionError) as raised:
        snt.check_norm_estimator(square_only, dtypes=[np.float64])
    message = str(raised.value)
    assert 'failed the property "returns a finite real number"' in message
    assert "it raised ValueError: square matrices only" in message


def test_non_finite_answer_fails():
    def nan_for_zero(a):
        s = spectral_norm(a)
        return float("nan") if s == 0 else s

    with pytest.raises(AssertionError) as raised:
        snt.check_norm_estimator(nan_for_zero, dtypes=[np.complex64])
    message = str(raised.value)
    assert "it returned nan" in message
    assert "of kind 'zero'" in message


def test_array_answer_fails():
    with pytest.raises(AssertionError, match="returned an array of shape"):
        snt.check_norm_estimator(lambda a: np.linalg.svd(a, compute_uv=False)[:1])


def test_estimator_that_modifies_its_input_fails():
    def scales_in_place(a):
        s = spectral_norm(a)
        a *= 2
        return s

    with pytest.raises(AssertionError, match='"leaves its input unchanged"'):
        snt.check_norm_estimator(scales_in_place, dtypes=[np.float64])


def test_wrong_answer_on_strided_views_fails_the_adjoint_property():
    def contiguous_only(a):
        return spectral_norm(a) if a.flags.c_contiguous else 0.5 * spectral_norm(a)

    with pytest.raises(AssertionError) as raised:
        snt.check_norm_estimator(contiguous_only, dtypes=[np.float64])
    message = str(raised.value)
    assert "sigma(A^H) = sigma(A)" in message
    assert "the estimator was given A^H" in message


def test_answer_below_a_rayleigh_quotient_fails_even_within_rtol():
    with pytest.raises(AssertionError, match="is not below a Rayleigh quotient"):
        snt.check_norm_estimator(lambda a: 0.9 * np.linalg.norm(a, 2), rtol=0.2)


def test_answer_that_does_not_scale_with_c_fails_homogeneity():
    # An estimator that is right unless the first entry is negative.
    def sign_sensitive(a):
        return spectral_norm(a) * (1.0 if a[0, 0].real >= 0 else 1.5)

    a = snt.matrix_with_spectrum([2.0, 1.0], (2, 2), seed=5)
    a = a if a[0, 0] > 0 else -a
    case = snt.KnownSpectrum(a, np.array([2.0, 1.0]), 2.0, "generic")
    found = snt._norm_failure(sign_sensitive, case, np.float64(-1.0), 0, 1e-6)
    assert found is not None
    assert found[0] == "scales with |c|: sigma(c A) = |c| sigma(A)"
    assert snt._norm_failure(spectral_norm, case, np.float64(-1.0), 0, 1e-6) is None


def test_non_reproducible_failure_is_reported_as_such():
    calls = [0]

    def wrong_once(a):
        calls[0] += 1
        return spectral_norm(a) * (2.0 if calls[0] == 5 else 1.0)

    with pytest.raises(AssertionError, match="is not reproducible") as raised:
        snt.check_norm_estimator(wrong_once, dtypes=[np.float64])
    assert type(raised.value) is AssertionError


def test_same_seed_gives_the_same_counterexample():
    messages = []
    for _ in range(2):
        with pytest.raises(AssertionError) as raised:
            snt.check_norm_estimator(power_from_ones, dtypes=[np.complex128], seed=7)
        messages.append(str(raised.value))
    assert messages[0] == messages[1]
    assert "seed=7)" in messages[0]


def test_check_ignores_the_callers_profile_and_writes_no_database(tmp_path, monkeypatch):
    current = getattr(settings, "get_current_profile_name", None)
    if current is None:
        pytest.skip("this Hypothesis cannot name the current profile, so cannot restore it")
    monkeypatch.chdir(tmp_path)
    with pytest.raises(AssertionError) as baseline:
        snt.check_norm_estimator(np.linalg.norm, dtypes=[np.float64])
    previous = current()
    settings.register_profile("specnorm-hostile", max_examples=1, derandomize=True)
    settings.load_profile("specnorm-hostile")
    try:
        with pytest.raises(AssertionError) as hostile:
            snt.check_norm_estimator(np.linalg.norm, dtypes=[np.float64])
        assert settings.default.max_examples == 1
    finally:
        settings.load_profile(previous)
    assert str(hostile.value) == str(baseline.value)
    assert not (tmp_path / ".hypothesis").exists()


def draws_of_both_checks(seed: int) -> tuple[list[bytes], list[bytes], float]:
    """Every matrix check_norm_estimator gives the estimator, every point check_lipschitz_bound
    evaluates, and the ratio it returns, for one seed."""
    matrices_given: list[bytes] = []
    points: list[bytes] = []

    def recording_norm(a):
        matrices_given.append(repr((a.shape, a.dtype.str)).encode() + a.tobytes())
        return np.linalg.norm(a, 2)

    def recording_map(x):
        points.append(x.tobytes())
        return LINEAR_MAP @ x

    snt.check_norm_estimator(recording_norm, dtypes=[np.float64], max_examples=30, seed=seed)
    ratio = snt.check_lipschitz_bound(recording_map, 3.0, input_shape=(4,), seed=seed)
    return matrices_given, points, ratio


def test_same_seed_draws_the_same_examples_whatever_was_imported_before(tmp_path):
    # Hypothesis may draw literals found in the source of the modules loaded at the time of a
    # run (outside site-packages and the standard library). A module full of literals that
    # the checkers' draws could take, imported between two runs, must change nothing.
    before = draws_of_both_checks(seed=3)
    floats = [round(-1.99 + 0.0099 * k, 6) for k in range(400)]  # log scales in [-2, 2]
    ints = [1_000 + 10_007 * k for k in range(400)]  # seeds in [0, 2**32 - 1]
    name = "specnorm_literal_rich_module"
    (tmp_path / f"{name}.py").write_text(f"FLOATS = {floats!r}\nINTS = {ints!r}\n")
    sys.path.insert(0, str(tmp_path))
    try:
        __import__(name)
        after = draws_of_both_checks(seed=3)
    finally:
        sys.path.remove(str(tmp_path))
        sys.modules.pop(name, None)
    assert len(after[0]) == len(before[0]) and after[0] == before[0]
    assert len(after[1]) == len(before[1]) and after[1] == before[1]
    assert after[2] == before[2]


@pytest.mark.parametrize(
    ("kwargs", "error"),
    [
        ({"dtypes": [np.int32]}, ValueError),
        ({"dtypes": []}, ValueError),
        ({"rtol": 0.0}, ValueError),
        ({"rtol": 1.5}, ValueError),
        ({"max_examples": 0}, ValueError),
        ({"max_examples": 2.5}, TypeError),
        ({"seed": "zero"}, TypeError),
    ],
)
def test_invalid_check_arguments_raise(kwargs, error):
    with pytest.raises(error):
        snt.check_norm_estimator(spectral_norm, **kwargs)


def test_rtol_per_dtype_applies_to_that_dtype_only():
    def high(a):
        return 1.005 * spectral_norm(a)

    snt.check_norm_estimator(high, dtypes=[np.float64], rtol={np.float64: 1e-2})
    with pytest.raises(AssertionError, match="float32"):
        snt.check_norm_estimator(high, dtypes=[np.float64, np.float32], rtol={np.float64: 1e-2})


@pytest.mark.slow
def test_specnorm_sigma_passes_the_check():
    specnorm = pytest.importorskip("specnorm")
    if not hasattr(specnorm, "sigma"):
        pytest.skip("specnorm.sigma does not exist yet")
    try:
        specnorm.sigma(np.eye(2))
    except RuntimeError as exc:  # the design's error for "no backend is usable here"
        pytest.skip(f"specnorm.sigma cannot run here: {exc}")
    snt.check_norm_estimator(specnorm.sigma)


# ---------------------------------------------------------------------------------------
# check_lipschitz_bound


def relu_network(seed: int, lipschitz: float):
    """A one-hidden-layer ReLU network R^8 -> R^4 whose Lipschitz constant is `lipschitz`.

    The hidden layer (6 units) has full row rank, so every activation pattern D is realized
    on an open set, and the Lipschitz constant is the largest ||W2 D W1|| over the patterns.
    """
    rng = np.random.default_rng(seed)
    w1 = rng.standard_normal((6, 8))
    b1 = 0.5 * rng.standard_normal(6)
    w2 = rng.standard_normal((4, 6))
    b2 = rng.standard_normal(4)
    patterns = [np.array(p, dtype=float) for p in itertools.product([0, 1], repeat=6)]
    truth = max(np.linalg.norm(w2 @ (p[:, None] * w1), 2) for p in patterns)
    w2 = w2 * (lipschitz / truth)
    return lambda x: w2 @ np.maximum(w1 @ x + b1, 0.0) + b2


def pair_ratio(f, x, y) -> float:
    return float(np.linalg.norm(np.ravel(f(x)) - np.ravel(f(y))) / np.linalg.norm(x - y))


LINEAR_MAP = snt.matrix_with_spectrum([3.0, 2.0, 1.0, 0.5], (5, 4), seed=3)


def linear_map(x):
    return LINEAR_MAP @ x


@pytest.mark.parametrize(
    ("f", "shape"),
    [(linear_map, (4,)), (relu_network(11, 3.0), (8,)), (relu_network(12, 3.0), (8,))],
)
@pytest.mark.parametrize("claimed", [2.9, 2.99])
def test_understated_lipschitz_bound_is_caught_with_a_pair_that_breaks_it(f, shape, claimed):
    with pytest.raises(AssertionError) as raised:
        snt.check_lipschitz_bound(f, claimed, input_shape=shape)
    error = raised.value
    assert type(error) is AssertionError
    assert f" is not {claimed!r}-Lipschitz: the pair x, y below has" in str(error)
    x, y = error.pair
    assert x.shape == y.shape == shape
    assert pair_ratio(f, x, y) > claimed
    assert pair_ratio(f, x, y) == error.ratio


@pytest.mark.parametrize(("f", "shape"), [(linear_map, (4,)), (relu_network(11, 3.0), (8,))])
def test_true_lipschitz_bound_is_accepted_with_a_ratio_close_to_it(f, shape):
    ratio = snt.check_lipschitz_bound(f, 3.0, input_shape=shape)
    assert 0.99 * 3.0 <= ratio <= 3.0


def test_lipschitz_search_finds_the_top_direction_of_a_wide_input():
    wide_map = snt.matrix_with_spectrum(np.linspace(3.0, 0.1, 10), (10, 200), seed=1)
    with pytest.raises(AssertionError):
        snt.check_lipschitz_bound(lambda x: wide_map @ x.ravel(), 2.9, input_shape=(10, 20))


def test_lipschitz_rounding_allowance_accepts_a_float32_map_at_its_true_bound():
    w = snt.matrix_with_spectrum([3.0, 2.0, 1.0], (3, 3), seed=3).astype(np.float32)
    truth = float(np.linalg.norm(w.astype(np.float64), 2))
    ratio = snt.check_lipschitz_bound(lambda x: w @ x.astype(np.float32), truth, input_shape=3)
    assert 0.99 * truth <= ratio <= truth


def test_function_with_non_finite_values_fails_the_lipschitz_check():
    with pytest.raises(AssertionError, match="non-finite"):
        snt.check_lipschitz_bound(
            lambda x: np.where(x > 0, np.inf, x), 1.0, input_shape=(3,), max_examples=5
        )


@pytest.mark.parametrize(
    ("bound", "kwargs", "error"),
    [
        (-1.0, {"input_shape": (2,)}, ValueError),
        (float("inf"), {"input_shape": (2,)}, ValueError),
        (1.0, {"input_shape": (0,)}, ValueError),
        (1.0, {"input_shape": (2,), "max_examples": 0}, ValueError),
    ],
)
def test_invalid_lipschitz_arguments_raise(bound, kwargs, error):
    with pytest.raises(error):
        snt.check_lipschitz_bound(linear_map, bound, **kwargs)


# ---------------------------------------------------------------------------------------
# Hypothesis stays optional


def test_import_specnorm_does_not_import_hypothesis():
    require_importable_specnorm()
    result = run_python(
        """
        import sys
        import specnorm
        loaded = sorted(m for m in sys.modules if m == "hypothesis" or m.startswith("hypothesis."))
        print(loaded)
        assert not loaded, loaded
        """
    )
    assert result.returncode == 0, result.stderr
