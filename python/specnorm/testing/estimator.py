""":func:`check_norm_estimator`, which tries to falsify a spectral-norm estimator, and its
default tolerance :func:`default_rtol`."""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
from hypothesis import Phase, currently_in_test_context, given, target
from hypothesis import seed as _run_with_seed
from hypothesis import strategies as st
from hypothesis.errors import Flaky
from numpy.typing import DTypeLike, NDArray

from ._common import _DTYPES, _SEED_RANGE
from ._run import (
    _callable_name,
    _check_run_arguments,
    _floats,
    _format_matrix,
    _local_settings,
    _no_local_constants,
)
from .builders import _gaussian, matrices
from .spectra import KnownSpectrum


def default_rtol(dtype: DTypeLike) -> float:
    """The relative tolerance :func:`check_norm_estimator` uses when none is given.

    Parameters
    ----------
    dtype : dtype-like
        A real or complex floating dtype.

    Returns
    -------
    float
        ``4 * sqrt(eps)`` of the dtype's precision: about 1.4e-3 for float32 and complex64,
        6.0e-8 for float64 and complex128. It is far above the rounding error of an exact
        method on the matrices that :func:`matrices` draws, and far below the error of a
        norm that is not the spectral norm (the Frobenius norm) or of an estimate that
        stopped early.

    Examples
    --------
    >>> import numpy as np
    >>> round(default_rtol(np.float32), 5)
    0.00138
    """
    return 4.0 * math.sqrt(float(np.finfo(np.dtype(dtype)).eps))


class _EstimatorFailed(Exception):
    """Raised inside the Hypothesis run; turned into one AssertionError outside it."""

    def __init__(self, report: str, matrix: NDArray[Any]) -> None:
        super().__init__(report)
        self.report = report
        self.matrix = matrix


@dataclass(frozen=True)
class _Probe:
    """What was passed to the estimator: the matrix, its name and its true sigma."""

    label: str
    matrix: NDArray[Any]
    sigma: float


def _answer(
    estimator: Callable[[NDArray[Any]], Any], probe: _Probe
) -> tuple[float | None, str | None, str | None]:
    """The estimator's answer on probe.matrix as a float, or the property it broke.

    Returns (answer, property broken, what happened), with None for what does not apply.
    """
    finite = "returns a finite real number"
    unchanged = probe.matrix.copy()
    try:
        value = estimator(probe.matrix)
    except Exception as exc:
        return None, finite, f"it raised {type(exc).__name__}: {exc}"
    if not np.array_equal(probe.matrix, unchanged):
        return None, "leaves its input unchanged", "it modified the matrix it was given"
    try:
        answer = np.asarray(value)
    except Exception as exc:
        return None, finite, f"its answer {value!r} is not a number: {exc}"
    if answer.shape != ():
        return None, finite, f"it returned an array of shape {answer.shape}, not a scalar"
    if answer.dtype.kind not in "iuf":
        return None, finite, f"it returned {value!r} of dtype {answer.dtype}, not a real number"
    result = float(answer)
    if not math.isfinite(result):
        return result, finite, f"it returned {result!r}"
    return result, None, None


def _rayleigh_lower_bound(matrix: NDArray[Any], rng: np.random.Generator) -> float:
    """max ||A x|| / ||x|| over x = e_j (every j), the all-ones vector and a Gaussian x,
    in double precision and scaled so that extreme entries neither overflow nor underflow.
    """
    wide = matrix.astype(np.complex128 if matrix.dtype.kind == "c" else np.float64)
    scale = float(np.max(np.abs(wide))) if wide.size else 0.0
    if scale == 0.0:
        return 0.0
    b = wide / scale
    n = b.shape[1]
    x = _gaussian(rng, (n,), matrix.dtype.kind == "c")
    quotients = [
        float(np.max(np.linalg.norm(b, axis=0))),
        float(np.linalg.norm(b.sum(axis=1))) / math.sqrt(n),
        float(np.linalg.norm(b @ x) / np.linalg.norm(x)),
    ]
    return scale * max(quotients)


def _norm_failure(
    estimator: Callable[[NDArray[Any]], Any],
    case: KnownSpectrum,
    c: Any,
    probe_seed: int,
    rtol: float,
) -> tuple[str, str, _Probe, float | None] | None:
    """The first property the estimator breaks on this case, or None.

    Returns (property, detail, probe, answer).
    """
    a = case.matrix
    sigma = float(case.sigma)
    m, n = a.shape
    eps = float(np.finfo(a.dtype).eps)

    plain = _Probe("A", a, sigma)
    answer, broken, detail = _answer(estimator, plain)
    if broken is not None:
        return broken, str(detail), plain, answer
    assert answer is not None
    error = abs(answer - sigma)
    if error > rtol * sigma:
        return (
            "agrees with the known sigma",
            f"|answer - sigma| = {error:.3g} > rtol * sigma = {rtol * sigma:.3g} "
            f"(rtol = {rtol:.3g})",
            plain,
            answer,
        )
    if sigma > 0 and currently_in_test_context():
        # Steer the search towards matrices on which the estimator is least accurate.
        target(error / (rtol * sigma), label="relative error / rtol")

    bound = _rayleigh_lower_bound(a, np.random.default_rng(probe_seed))
    allowance = 10.0 * max(m, n) * eps
    if answer < bound * (1.0 - allowance):
        return (
            "is not below a Rayleigh quotient ||A x|| / ||x||",
            f"the answer is below ||A x|| / ||x|| = {bound!r} (x: a column e_j, the ones "
            f"vector or a Gaussian vector; rounding allowance {allowance:.2g} relative)",
            plain,
            answer,
        )

    magnitude = abs(complex(c))
    scaled = _Probe(f"c * A with c = {c!r}", (c * a).astype(a.dtype), magnitude * sigma)
    answer_scaled, broken, detail = _answer(estimator, scaled)
    if broken is not None:
        return broken, str(detail), scaled, answer_scaled
    assert answer_scaled is not None
    if abs(answer_scaled - magnitude * answer) > 2.0 * rtol * magnitude * sigma:
        return (
            "scales with |c|: sigma(c A) = |c| sigma(A)",
            f"|c| * (answer for A) = {magnitude * answer!r} differs from the answer for c * A "
            f"by more than 2 * rtol * |c| * sigma = {2.0 * rtol * magnitude * sigma:.3g}",
            scaled,
            answer_scaled,
        )

    adjoint = _Probe("A^H (the conjugate transpose, as a strided view)", a.conj().T, sigma)
    answer_adjoint, broken, detail = _answer(estimator, adjoint)
    if broken is not None:
        return broken, str(detail), adjoint, answer_adjoint
    assert answer_adjoint is not None
    if abs(answer_adjoint - answer) > 2.0 * rtol * sigma:
        return (
            "is the same for the adjoint: sigma(A^H) = sigma(A)",
            f"the answer for A is {answer!r}; the two differ by more than "
            f"2 * rtol * sigma = {2.0 * rtol * sigma:.3g}",
            adjoint,
            answer_adjoint,
        )
    return None


def _scale_factors(dtype: np.dtype[Any]) -> st.SearchStrategy[Any]:
    """Scalars c of the dtype with 1/8 <= |c| < 16, any sign (real) or phase (complex)."""

    @st.composite
    def draw_factor(draw: st.DrawFn) -> Any:
        magnitude = draw(st.floats(1.0, 2.0, exclude_max=True)) * 2.0 ** draw(st.integers(-3, 3))
        if dtype.kind == "c":
            angle = draw(st.floats(0.0, 2.0 * math.pi, allow_nan=False))
            return dtype.type(magnitude * complex(math.cos(angle), math.sin(angle)))
        return dtype.type(-magnitude if draw(st.booleans()) else magnitude)

    return draw_factor()


def _resolve_rtol(rtol: float | Mapping[Any, float] | None, dtype: np.dtype[Any]) -> float:
    if rtol is None:
        return default_rtol(dtype)
    if isinstance(rtol, Mapping):
        by_dtype = {np.dtype(key): value for key, value in rtol.items()}
        if dtype not in by_dtype:
            return default_rtol(dtype)
        rtol = by_dtype[dtype]
    value = float(rtol)
    if not 0.0 < value < 1.0:
        raise ValueError(f"rtol must lie in (0, 1), not {value}")
    return value


def check_norm_estimator(
    estimator: Callable[[NDArray[Any]], float],
    *,
    dtypes: Iterable[DTypeLike] | None = None,
    rtol: float | Mapping[DTypeLike, float] | None = None,
    max_examples: int = 100,
    seed: int = 0,
) -> None:
    """Try to falsify a spectral-norm estimator with matrices of known spectra.

    For each dtype, Hypothesis draws `max_examples` examples from :func:`matrices` (every
    kind, shapes up to 12 x 12) and checks, on each matrix ``A`` with known ``sigma``, that
    the estimator

    1. returns a finite real number (not an exception, NaN, inf, complex or array), and
       leaves its input unchanged;
    2. agrees with the known sigma: ``|estimator(A) - sigma| <= rtol * sigma`` (so it must
       return exactly 0 for the zero matrix);
    3. is not below a Rayleigh quotient: ``estimator(A) >= ||A x|| / ||x||`` for every
       column ``e_j``, the all-ones vector and a Gaussian ``x``, less a rounding allowance of
       ``10 * max(m, n) * eps`` relative, with ``eps`` that of the dtype;
    4. scales with ``|c|``: ``estimator(c A)`` is within ``2 * rtol * |c| * sigma`` of
       ``|c| * estimator(A)``, for a drawn scalar ``c`` with ``1/8 <= |c| < 16`` (any sign
       for real dtypes, any phase for complex ones);
    5. is the same for the adjoint: ``estimator(A^H)`` (passed as a strided view) is within
       ``2 * rtol * sigma`` of ``estimator(A)``.

    The matrices drawn depend only on `seed`, the dtypes, `max_examples` and the versions of
    Hypothesis and NumPy (and, once the estimator fails, on its answers, which steer the
    shrinking): not on the caller's Hypothesis settings profile, which the run leaves
    unchanged, nor on the caller's source code, nor on what ran or was imported before in
    the process. The run writes no example database and no other file.

    Parameters
    ----------
    estimator : callable
        ``estimator(A)`` for a 2-D NumPy array ``A`` returns its estimate of ``sigma(A)``.
    dtypes : iterable of dtype-like, optional
        The dtypes to check, in order (default: float32, float64, complex64, complex128).
    rtol : float or mapping from dtype to float, optional
        The relative tolerance, in (0, 1); a mapping gives one per dtype. By default (and for
        dtypes a mapping leaves out) :func:`default_rtol`: ``4 * sqrt(eps)`` of the dtype,
        which accepts ``numpy.linalg.norm(A, 2)`` on every kind and rejects the Frobenius
        norm.
    max_examples : int, optional
        Examples per dtype.
    seed : int, optional
        Seeds the search; the same seed draws the same matrices, in any process and
        whatever ran before it.

    Raises
    ------
    AssertionError
        At the first property broken, after Hypothesis has shrunk the counterexample: a
        plain AssertionError whose message names the property, the shape, dtype, kind and
        spectrum of the shrunk matrix, the true sigma, the estimator's answer, the matrix
        passed to the estimator, and the call that reproduces it. The matrix is also the
        exception's ``matrix`` attribute. An estimator whose failure does not repeat when
        called again on the same matrix fails too, with a message that says so.
    ValueError, TypeError
        For invalid arguments.

    Examples
    --------
    >>> import numpy as np
    >>> check_norm_estimator(lambda a: np.linalg.norm(a, 2), max_examples=20)
    >>> try:
    ...     check_norm_estimator(lambda a: np.linalg.norm(a), max_examples=20)
    ... except AssertionError as exc:
    ...     print(str(exc).splitlines()[0])
    estimator failed the property "agrees with the known sigma".
    """
    if not callable(estimator):
        raise TypeError(f"estimator must be callable, not {estimator!r}")
    _check_run_arguments(max_examples, seed)
    chosen = _DTYPES if dtypes is None else tuple(np.dtype(d) for d in dtypes)
    for dtype in chosen:
        if dtype not in _DTYPES:
            raise ValueError(
                f"dtype {dtype} is not supported; choose from {[str(d) for d in _DTYPES]}"
            )
    if not chosen:
        raise ValueError("dtypes is empty")
    tolerances = {dtype: _resolve_rtol(rtol, dtype) for dtype in chosen}
    name = _callable_name(estimator, "estimator")
    for dtype in chosen:
        _check_one_dtype(estimator, name, dtype, tolerances[dtype], max_examples, seed)


def _check_one_dtype(
    estimator: Callable[[NDArray[Any]], Any],
    name: str,
    dtype: np.dtype[Any],
    tolerance: float,
    max_examples: int,
    seed: int,
) -> None:
    reproduce = (
        f"specnorm.testing.check_norm_estimator({name}, dtypes=['{dtype}'], rtol={tolerance!r}, "
        f"max_examples={max_examples}, seed={seed})"
    )
    first_failure: list[_EstimatorFailed] = []

    @_run_with_seed(seed)
    @_local_settings(max_examples, (Phase.generate, Phase.target, Phase.shrink))
    @given(st.tuples(matrices(dtype=dtype), _scale_factors(dtype), st.integers(*_SEED_RANGE)))
    def run(drawn: tuple[KnownSpectrum, Any, int]) -> None:
        case, c, probe_seed = drawn
        found = _norm_failure(estimator, case, c, probe_seed, tolerance)
        if found is None:
            return
        prop, detail, probe, answer = found
        m, n = case.matrix.shape
        report = "\n".join(
            [
                f'{name} failed the property "{prop}".',
                f"  {detail}",
                f"Shrunk counterexample: A is a {m} x {n} {dtype} matrix of kind "
                f"{case.kind!r}; the estimator was given {probe.label}.",
                f"  singular values of A: {_floats(case.singular_values)}",
                f"  true sigma of the matrix given: {probe.sigma!r}",
                f"  estimator's answer: {answer!r}",
                f"  matrix given (shape {probe.matrix.shape}, dtype {dtype}):",
                _format_matrix(probe.matrix),
                f"Reproduce with: {reproduce}",
            ]
        )
        failure = _EstimatorFailed(report, probe.matrix.copy())
        if not first_failure:
            first_failure.append(failure)
        raise failure

    try:
        with _no_local_constants():
            run()
    except _EstimatorFailed as exc:
        error = AssertionError(exc.report)
        error.matrix = exc.matrix  # type: ignore[attr-defined]
        raise error from None
    except Flaky:
        report = first_failure[0].report if first_failure else "(no report)"
        error = AssertionError(
            f"{name} is not reproducible: it failed on a matrix and then passed on the same "
            f"matrix when called again. The first failure was:\n{report}"
        )
        if first_failure:
            error.matrix = first_failure[0].matrix  # type: ignore[attr-defined]
        raise error from None
