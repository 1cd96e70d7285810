"""Property-based verification of spectral-norm estimators, built on Hypothesis.

This module is for anyone who writes or uses an estimator of the spectral norm
``sigma(A)``, the largest singular value of a matrix. It provides

* Hypothesis strategies of spectra (:func:`singular_values`) and of matrices whose
  singular values are known exactly by construction (:func:`matrices`), covering the
  spectra and singular vectors that make estimators go wrong;
* :func:`check_norm_estimator`, which tries to falsify any callable ``estimator(A) -> float``
  and reports a shrunk counterexample;
* :func:`check_lipschitz_bound`, which tries to falsify a claimed Lipschitz constant of any
  array function (a neural network, for instance);
* :func:`matrix_with_spectrum`, the deterministic builder ``U diag(s) V^H`` behind the
  strategies, for hand-written test cases.

Hypothesis is a dependency of this module only: ``import specnorm`` does not import it.
Install it with ``pip install "pyspecnorm[testing]"`` (``pip install ".[testing]"`` in a
source checkout).
"""

from __future__ import annotations

import inspect
import math
import threading
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import ArrayLike, DTypeLike, NDArray

from ._install import install_hint

try:
    from hypothesis import (
        HealthCheck,
        Phase,
        Verbosity,
        assume,
        currently_in_test_context,
        given,
        settings,
        target,
    )
    from hypothesis import seed as _run_with_seed
    from hypothesis import strategies as st
    from hypothesis.errors import Flaky, InvalidArgument
except ImportError as exc:
    raise ImportError(
        "specnorm.testing is built on Hypothesis, which is not installed here; "
        f"install it with: {install_hint('testing')}"
    ) from exc

__all__ = [
    "MATRIX_KINDS",
    "SPECTRUM_KINDS",
    "KnownSpectrum",
    "check_lipschitz_bound",
    "check_norm_estimator",
    "default_rtol",
    "matrices",
    "matrix_with_spectrum",
    "singular_values",
]

#: The kinds of spectra that :func:`singular_values` draws, in the order Hypothesis shrinks
#: towards (the first is the simplest).
SPECTRUM_KINDS: tuple[str, ...] = (
    "generic",
    "tiny_gap",
    "repeated_top",
    "rank_one",
    "rank_deficient",
    "zero",
    "graded",
    "extreme_scale",
)

#: The kinds of matrices that :func:`matrices` draws: every spectrum kind, plus
#: ``"start_trap"``, whose top singular vectors are orthogonal to the usual start vectors.
MATRIX_KINDS: tuple[str, ...] = (*SPECTRUM_KINDS, "start_trap")

# The fewest singular values (min(m, n)) a kind needs to show what it is.
_MIN_SIZE = {
    "generic": 1,
    "tiny_gap": 2,
    "repeated_top": 2,
    "rank_one": 1,
    "rank_deficient": 2,
    "zero": 0,
    "graded": 2,
    "extreme_scale": 1,
    "start_trap": 1,
}

# The largest dimension the default sizes and shapes use: big enough for tall, wide and
# rank-deficient cases, small enough that an SVD of every example is cheap.
_MAX_DEFAULT_SIZE = 12

# Powers of ten for the top singular value of an "extreme_scale" spectrum, by real precision:
# the squares of such values overflow or underflow the dtype, while every entry of the
# matrix, its Frobenius norm and 16 times either stay finite, and the spacing of subnormal
# numbers stays far below eps * sigma.
_EXTREME_EXPONENTS = {
    np.dtype(np.float32): (25, 35),
    np.dtype(np.float64): (180, 300),
}

_DTYPES: tuple[np.dtype[Any], ...] = tuple(
    np.dtype(t) for t in (np.float32, np.float64, np.complex64, np.complex128)
)

# Hypothesis draws the seed of NumPy's generator for the Haar factors from this range.
_SEED_RANGE = (0, 2**32 - 1)


@dataclass(frozen=True, eq=False)
class KnownSpectrum:
    """A matrix together with the singular values it was built from.

    Attributes
    ----------
    matrix : numpy.ndarray
        ``U diag(s) V^H`` in the requested dtype, of shape ``(..., m, n)``, with ``U`` and
        ``V`` Haar-distributed orthogonal (real dtypes) or unitary (complex dtypes) factors.
        Its true singular values equal `singular_values` to the accuracy of its dtype: each
        differs by at most a small multiple of ``eps(dtype) * max(m, n) * sigma``.
    singular_values : numpy.ndarray
        float64, shape ``(..., min(m, n))``: all singular values, in descending order, zeros
        included.
    sigma : float or numpy.ndarray
        The largest singular value (``0.0`` for an empty spectrum): a float for one matrix,
        a float64 array of shape ``matrix.shape[:-2]`` for a stack.
    kind : str or numpy.ndarray
        Which of :data:`MATRIX_KINDS` the matrix was drawn as: a str for one matrix, an
        array of str of shape ``matrix.shape[:-2]`` for a stack (each matrix of a stack
        draws its own kind).
    """

    matrix: NDArray[Any]
    singular_values: NDArray[np.float64]
    sigma: float | NDArray[np.float64]
    kind: str | NDArray[np.str_]


# ---------------------------------------------------------------------------------------
# Argument checks shared by the strategies


def _check_kinds(
    kinds: str | Iterable[str] | None, allowed: tuple[str, ...], where: str
) -> tuple[str, ...]:
    if kinds is None:
        return allowed
    chosen = {kinds} if isinstance(kinds, str) else set(kinds)
    unknown = sorted(chosen.difference(allowed))
    if unknown:
        hint = ""
        if "start_trap" in unknown and where == "singular_values":
            hint = " ('start_trap' is a property of singular vectors: use matrices())"
        raise InvalidArgument(
            f"{where}: unknown kinds {unknown}; the valid kinds are {list(allowed)}{hint}"
        )
    if not chosen:
        raise InvalidArgument(f"{where}: kinds is empty; choose from {list(allowed)}")
    # A fixed order keeps the strategy (and so every seeded run) independent of set order.
    return tuple(kind for kind in allowed if kind in chosen)


def _kind_fits(kind: str, m: int, n: int) -> bool:
    if min(m, n) < _MIN_SIZE[kind]:
        return False
    return kind != "start_trap" or n >= 2


def _check_dimension(value: Any, what: str) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
        raise InvalidArgument(f"{what} must be an int, not {value!r}")
    if value < 0:
        raise InvalidArgument(f"{what} must be non-negative, not {value}")
    return int(value)


def _check_shape(shape: Any) -> tuple[int, ...]:
    if not isinstance(shape, (tuple, list)) or len(shape) < 2:
        raise InvalidArgument(f"shape must be a tuple (..., m, n) of ints, not {shape!r}")
    return tuple(_check_dimension(d, "every dimension of shape") for d in shape)


def _check_dtype(dtype: Any) -> np.dtype[Any]:
    try:
        resolved = np.dtype(dtype)
    except TypeError as exc:
        raise InvalidArgument(f"dtype {dtype!r} is not a NumPy dtype") from exc
    if resolved not in _DTYPES:
        raise InvalidArgument(
            f"dtype {resolved} is not supported; choose from {[str(d) for d in _DTYPES]}"
        )
    return resolved


def _dtype_strategy(dtype: DTypeLike | st.SearchStrategy[Any] | None) -> st.SearchStrategy[Any]:
    if dtype is None:
        return st.sampled_from(_DTYPES)
    if isinstance(dtype, st.SearchStrategy):
        return dtype.map(_check_dtype)
    return st.just(_check_dtype(dtype))


def _real_dtype(dtype: np.dtype[Any]) -> np.dtype[Any]:
    return np.dtype(np.finfo(dtype).dtype)


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


# ---------------------------------------------------------------------------------------
# Spectra


def _fractions(
    draw: st.DrawFn, count: int, low: float, high: float, *, exclude_high: bool = False
) -> NDArray[np.float64]:
    """`count` draws from [low, high], sorted in descending order."""
    values = draw(
        st.lists(
            st.floats(
                low,
                high,
                exclude_max=exclude_high,
                allow_nan=False,
                allow_infinity=False,
                allow_subnormal=False,
            ),
            min_size=count,
            max_size=count,
        )
    )
    return np.sort(np.asarray(values, dtype=np.float64))[::-1]


def _top_value(draw: st.DrawFn) -> float:
    # A moderate scale: 1e-3 to 1e3, shrinking towards 1.
    return float(10.0 ** draw(st.floats(-3.0, 3.0, allow_nan=False)))


def _draw_spectrum(draw: st.DrawFn, kind: str, k: int, real: np.dtype[Any]) -> NDArray[np.float64]:
    """A spectrum of `k` values of the given kind, descending, in float64.

    `real` is the precision the spectrum is for; it decides only the magnitude of the
    "extreme_scale" kind.
    """
    s = np.zeros(k, dtype=np.float64)
    if kind == "zero" or k == 0:
        return s
    if kind == "extreme_scale":
        low, high = _EXTREME_EXPONENTS[real]
        exponent = draw(st.integers(low, high))
        if draw(st.booleans()):
            exponent = -exponent
        s[0] = 1.0
        s[1:] = _fractions(draw, k - 1, 1e-2, 1.0)
        return s * 10.0**exponent
    s[0] = _top_value(draw)
    if kind == "generic":
        s[1:] = s[0] * _fractions(draw, k - 1, 1e-3, 1.0)
    elif kind == "tiny_gap":
        # 1 - sigma2/sigma1 between 1e-6 and 1e-3.
        gap = 10.0 ** -draw(st.floats(3.0, 6.0, allow_nan=False))
        s[1] = s[0] * (1.0 - gap)
        s[2:] = s[1] * _fractions(draw, k - 2, 0.0, 1.0)
    elif kind == "repeated_top":
        copies = draw(st.integers(2, k))
        s[1:copies] = s[0]
        s[copies:] = s[0] * _fractions(draw, k - copies, 0.0, 1.0, exclude_high=True)
    elif kind == "rank_deficient":
        rank = draw(st.integers(1, k - 1))
        s[1:rank] = s[0] * _fractions(draw, rank - 1, 1e-2, 1.0)
    elif kind == "graded":
        # Geometric decay from s[0] down over 4 to 20 decades.
        decades = draw(st.floats(4.0, 20.0, allow_nan=False))
        s[1:] = s[0] * 10.0 ** (-decades * np.arange(1, k) / (k - 1))
    elif kind == "start_trap":
        # A clear but moderate gap: a start vector with no component along the top singular
        # vector picks one up only through rounding, and then grows it slowly.
        if k > 1:
            s[1] = s[0] * draw(st.floats(0.5, 0.99, allow_nan=False))
            s[2:] = s[1] * _fractions(draw, k - 2, 0.0, 1.0)
    # "rank_one" keeps s[1:] = 0.
    return s


@st.composite
def _spectra(
    draw: st.DrawFn, sizes: st.SearchStrategy[int] | None, kinds: tuple[str, ...]
) -> NDArray[np.float64]:
    if sizes is None:
        kind = draw(st.sampled_from(kinds))
        k = draw(st.integers(max(1, _MIN_SIZE[kind]), _MAX_DEFAULT_SIZE))
    else:
        k = _check_dimension(draw(sizes), "size")
        fitting = [kind for kind in kinds if _MIN_SIZE[kind] <= k]
        assume(fitting)
        kind = draw(st.sampled_from(fitting))
    return _draw_spectrum(draw, kind, k, np.dtype(np.float64))


def singular_values(
    *,
    size: int | st.SearchStrategy[int] | None = None,
    kinds: str | Iterable[str] | None = None,
) -> st.SearchStrategy[NDArray[np.float64]]:
    """A Hypothesis strategy of spectra that are hard for spectral-norm estimators.

    Every array drawn is one-dimensional, float64, finite, non-negative and sorted in
    descending order.

    Parameters
    ----------
    size : int or SearchStrategy of int, optional
        The number of singular values. The default draws between 1 and 12 (at least 2 for
        the kinds that need two values).
    kinds : str or iterable of str, optional
        Which kinds of spectra to draw, from :data:`SPECTRUM_KINDS` (default: all of them,
        each drawn with the same probability):

        ``"generic"``
            a top value between 1e-3 and 1e3, the others between 1e-3 and 1 times it;
        ``"tiny_gap"``
            ``sigma2 / sigma1`` between ``1 - 1e-3`` and ``1 - 1e-6``;
        ``"repeated_top"``
            ``sigma1 = sigma2 = ... = sigma_r`` exactly, for some ``r >= 2``;
        ``"rank_one"``
            one non-zero value;
        ``"rank_deficient"``
            at least one zero, at least one non-zero value;
        ``"zero"``
            all zeros;
        ``"graded"``
            geometric decay from the top value over 4 to 20 decades;
        ``"extreme_scale"``
            values whose squares overflow or underflow float64: the top value is
            ``10**e`` with ``180 <= |e| <= 300``, the others within a factor 100 of it.

    Returns
    -------
    SearchStrategy of numpy.ndarray

    Raises
    ------
    hypothesis.errors.InvalidArgument
        For an unknown kind (``"start_trap"`` included: it is a property of singular
        vectors, so only :func:`matrices` draws it), a negative size, or a fixed size that
        none of the kinds can fill (``"tiny_gap"``, ``"repeated_top"``, ``"rank_deficient"``
        and ``"graded"`` need 2 values; only ``"zero"`` is empty).

    Notes
    -----
    A spectrum has no dtype, so ``"extreme_scale"`` spectra are drawn at the extremes of
    float64. :func:`matrices` draws its own extreme spectra at the extremes of the matrix
    dtype instead: around ``1e+-30`` (``25 <= |e| <= 35``) for float32 and complex64.

    Examples
    --------
    >>> from hypothesis import given
    >>> @given(singular_values(kinds=["tiny_gap"]))
    ... def test_gap(s):
    ...     assert 0.998 * s[0] < s[1] < s[0]
    >>> test_gap()
    """
    chosen = _check_kinds(kinds, SPECTRUM_KINDS, "singular_values")
    sizes: st.SearchStrategy[int] | None
    if size is None:
        sizes = None
    elif isinstance(size, st.SearchStrategy):
        sizes = size
    else:
        fixed = _check_dimension(size, "size")
        if not any(_MIN_SIZE[kind] <= fixed for kind in chosen):
            raise InvalidArgument(f"singular_values: no kind in {list(chosen)} has size {fixed}")
        sizes = st.just(fixed)
    return _spectra(sizes, chosen)


# ---------------------------------------------------------------------------------------
# Matrices with known spectra


def _gaussian(rng: np.random.Generator, shape: tuple[int, ...], is_complex: bool) -> NDArray[Any]:
    if is_complex:
        return rng.standard_normal(shape) + 1j * rng.standard_normal(shape)
    return rng.standard_normal(shape)


def _haar_factor(
    rng: np.random.Generator, rows: int, cols: int, is_complex: bool, trap: bool
) -> NDArray[Any]:
    """`cols` orthonormal columns, Haar-distributed (Mezzadri, 2007: QR of a Gaussian
    matrix with the phases of R's diagonal moved into Q).

    With `trap`, the first column is drawn uniformly from the unit vectors orthogonal to the
    all-ones vector and, when rows >= 3, to e_1; the others are Haar given the first.
    """
    g = _gaussian(rng, (rows, cols), is_complex)
    if cols == 0:
        return g
    if trap and rows == 2:
        g[1, 0] = -g[0, 0]
    elif trap and rows >= 3:
        starts = [np.ones(rows), np.eye(rows, 1)[:, 0]]
        basis = np.linalg.qr(np.stack(starts, axis=1))[0]
        for _ in range(2):  # twice is enough for orthogonality to working precision
            g[:, 0] -= basis @ (basis.T @ g[:, 0])
    q, r = np.linalg.qr(g)
    d = np.diagonal(r)
    magnitude = np.abs(d)
    phases = np.where(magnitude > 0, d / np.where(magnitude > 0, magnitude, 1), 1)
    q = q * phases
    if trap and rows == 2:
        # The unit vectors orthogonal to (1, 1) are phase * (1, -1) / sqrt(2). With entries
        # that are exact opposites, A @ ones vanishes exactly when A has rank one.
        q[1, 0] = -q[0, 0]
    return q


def _build(
    s: NDArray[np.float64],
    m: int,
    n: int,
    dtype: np.dtype[Any],
    rng: np.random.Generator,
    trap: bool,
) -> NDArray[Any]:
    is_complex = dtype.kind == "c"
    k = min(m, n)
    u = _haar_factor(rng, m, k, is_complex, trap)
    v = _haar_factor(rng, n, k, is_complex, trap)
    # Formed in float64/complex128 and rounded once to the target dtype.
    return ((u * s) @ v.conj().T).astype(dtype)


def matrix_with_spectrum(
    singular_values: ArrayLike,
    shape: tuple[int, int],
    *,
    dtype: DTypeLike = np.float64,
    seed: int | np.random.Generator | None = None,
    start_trap: bool = False,
) -> NDArray[Any]:
    """The matrix ``U diag(s) V^H`` with Haar-random singular vectors.

    Parameters
    ----------
    singular_values : array_like
        ``min(m, n)`` finite, non-negative values in descending order.
    shape : tuple of two ints
        ``(m, n)``.
    dtype : dtype-like, optional
        float32, float64 (default), complex64 or complex128. ``U`` and ``V`` are orthogonal
        for real dtypes and unitary for complex ones.
    seed : int or numpy.random.Generator, optional
        The same seed gives the same matrix.
    start_trap : bool, optional
        If true, the top right singular vector is orthogonal to the all-ones vector and,
        when ``n >= 3``, to ``e_1``, and likewise the top left singular vector in ``R^m``
        (``C^m``); the rest of ``U`` and ``V`` stays Haar-random.

    Returns
    -------
    numpy.ndarray
        An ``m x n`` matrix of the given dtype whose singular values equal
        `singular_values` to the accuracy of that dtype (it is formed in double precision
        and rounded once).

    Raises
    ------
    ValueError
        If the values are not ``min(m, n)`` finite, non-negative and descending, or if
        `shape` is not two non-negative ints.

    Examples
    --------
    >>> import numpy as np
    >>> a = matrix_with_spectrum([3.0, 1.0], (4, 2), seed=1)
    >>> np.allclose(np.linalg.svd(a, compute_uv=False), [3.0, 1.0])
    True
    """
    if len(shape) != 2 or any(
        isinstance(d, bool) or not isinstance(d, (int, np.integer)) or d < 0 for d in shape
    ):
        raise ValueError(f"shape must be two non-negative ints (m, n), not {shape!r}")
    m, n = int(shape[0]), int(shape[1])
    s = np.asarray(singular_values, dtype=np.float64)
    if s.shape != (min(m, n),):
        raise ValueError(
            f"a {m} x {n} matrix has {min(m, n)} singular values, not an array of shape {s.shape}"
        )
    if not np.all(np.isfinite(s)) or np.any(s < 0) or np.any(np.diff(s) > 0):
        raise ValueError("singular values must be finite, non-negative and in descending order")
    resolved = np.dtype(dtype)
    if resolved not in _DTYPES:
        raise ValueError(
            f"dtype {resolved} is not supported; choose from {[str(d) for d in _DTYPES]}"
        )
    return _build(s, m, n, resolved, np.random.default_rng(seed), start_trap)


def _default_shape(draw: st.DrawFn, kind: str) -> tuple[int, int]:
    low = max(1, _MIN_SIZE[kind])
    m = draw(st.integers(low, _MAX_DEFAULT_SIZE))
    n = draw(st.integers(max(low, 2) if kind == "start_trap" else low, _MAX_DEFAULT_SIZE))
    return m, n


@st.composite
def _known_spectra(
    draw: st.DrawFn,
    shapes: st.SearchStrategy[Any] | None,
    dtypes: st.SearchStrategy[Any],
    kinds: tuple[str, ...],
) -> KnownSpectrum:
    dtype = draw(dtypes)
    if shapes is None:
        kind = draw(st.sampled_from(kinds))
        shape: tuple[int, ...] = _default_shape(draw, kind)
        element_kinds = [kind]
    else:
        shape = _check_shape(draw(shapes))
        count = math.prod(shape[:-2])
        fitting = [kind for kind in kinds if _kind_fits(kind, *shape[-2:])]
        assume(fitting or count == 0)
        element_kinds = [draw(st.sampled_from(fitting)) for _ in range(count)]
    batch, (m, n) = shape[:-2], shape[-2:]
    k = min(m, n)
    real = _real_dtype(dtype)
    spectra = [_draw_spectrum(draw, kind, k, real) for kind in element_kinds]
    rng = np.random.default_rng(draw(st.integers(*_SEED_RANGE)))
    built = [
        _build(s, m, n, dtype, rng, kind == "start_trap")
        for s, kind in zip(spectra, element_kinds, strict=True)
    ]
    matrix = np.zeros(shape, dtype=dtype)
    values = np.zeros((*batch, k), dtype=np.float64)
    for index, a, s in zip(np.ndindex(*batch), built, spectra, strict=True):
        matrix[index] = a
        values[index] = s
    tops = values[..., 0] if k > 0 else np.zeros(batch, dtype=np.float64)
    if not batch:
        return KnownSpectrum(matrix, values, float(tops), element_kinds[0])
    labels = np.array(element_kinds, dtype=np.str_).reshape(batch)
    return KnownSpectrum(matrix, values, tops, labels)


def matrices(
    *,
    shape: tuple[int, ...] | st.SearchStrategy[tuple[int, ...]] | None = None,
    dtype: DTypeLike | st.SearchStrategy[Any] | None = None,
    kinds: str | Iterable[str] | None = None,
) -> st.SearchStrategy[KnownSpectrum]:
    """A Hypothesis strategy of matrices whose singular values are known.

    Each example is a :class:`KnownSpectrum`: ``matrix = U diag(s) V^H`` with ``U`` and ``V``
    Haar-random (orthogonal for real dtypes, unitary for complex ones), its spectrum ``s``
    and its largest singular value ``sigma``. The factors come from a NumPy generator whose
    seed Hypothesis draws, so every example is reproducible, and shrinking moves towards
    smaller shapes, simpler kinds and simpler spectra.

    Parameters
    ----------
    shape : tuple of ints or SearchStrategy of tuples, optional
        ``(m, n)``, or ``(..., m, n)`` for a stack of independent matrices (each with its own
        kind and spectrum). By default ``m`` and ``n`` are drawn from 1 to 12 (including
        1 x n, n x 1, tall, wide and square) and no stack is drawn. Shapes with a zero
        dimension are drawn only when asked for here; an empty matrix has the empty
        spectrum of kind ``"zero"`` and ``sigma = 0.0``. A drawn shape that no requested
        kind can fill is rejected.
    dtype : dtype-like or SearchStrategy of dtypes, optional
        float32, float64, complex64 or complex128 (default: any of the four).
    kinds : str or iterable of str, optional
        From :data:`MATRIX_KINDS` (default: all, each as likely as the others). The spectrum
        kinds are those of :func:`singular_values`, except that ``"extreme_scale"`` follows
        the dtype: the top value is ``10**e`` with ``25 <= |e| <= 35`` for float32 and
        complex64 and ``180 <= |e| <= 300`` for float64 and complex128, so that the squares
        of the singular values overflow or underflow the dtype while every entry of the
        matrix, and 16 times it, stays finite. The extra kind ``"start_trap"`` makes the top
        right singular vector orthogonal to the all-ones vector and, when ``n >= 3``, to
        ``e_1`` (the start vectors that code commonly uses), and the top left singular
        vector likewise in dimension ``m``, with ``0.5 <= sigma2 / sigma1 <= 0.99``; it
        needs ``n >= 2``. Kinds that need two singular values (``"tiny_gap"``,
        ``"repeated_top"``, ``"rank_deficient"``, ``"graded"``) are drawn only for
        ``min(m, n) >= 2``.

    Returns
    -------
    SearchStrategy of KnownSpectrum
        ``matrix`` has shape `shape` and the drawn dtype; ``singular_values`` is float64 of
        shape ``(..., min(m, n))``; ``sigma`` is a float for one matrix and an array of shape
        ``(...)`` for a stack. The true singular values of ``matrix`` equal
        ``singular_values`` to the accuracy of its dtype.

    Raises
    ------
    hypothesis.errors.InvalidArgument
        For an unknown kind or dtype, a malformed shape, or a fixed shape that none of the
        requested kinds can fill.

    Notes
    -----
    Every matrix of a stack draws its own spectrum from Hypothesis, so a large stack is a
    large example: beyond about 30 matrices of 12 columns, Hypothesis's
    ``HealthCheck.large_base_example`` may fire; suppress it in the test's settings, or
    draw fewer matrices.

    Examples
    --------
    >>> import numpy as np
    >>> from hypothesis import given, settings
    >>> @settings(max_examples=20, deadline=None)
    ... @given(matrices(dtype=np.float64))
    ... def test_norm(case):
    ...     assert np.isclose(np.linalg.norm(case.matrix, 2), case.sigma, rtol=1e-12)
    >>> test_norm()
    """
    chosen = _check_kinds(kinds, MATRIX_KINDS, "matrices")
    dtypes = _dtype_strategy(dtype)
    shapes: st.SearchStrategy[Any] | None
    if shape is None:
        shapes = None
    elif isinstance(shape, st.SearchStrategy):
        shapes = shape
    else:
        fixed = _check_shape(shape)
        if math.prod(fixed[:-2]) > 0 and not any(_kind_fits(kind, *fixed[-2:]) for kind in chosen):
            raise InvalidArgument(
                f"matrices: no kind in {list(chosen)} fits a {fixed[-2]} x {fixed[-1]} matrix"
            )
        shapes = st.just(fixed)
    return _known_spectra(shapes, dtypes, chosen)


# ---------------------------------------------------------------------------------------
# Running Hypothesis inside a call, independent of the caller's profile


def _local_settings(max_examples: int, phases: Sequence[Phase]) -> settings:
    """Every setting given explicitly, so the caller's profile neither leaks in nor changes."""
    suppressed = [HealthCheck.too_slow]
    nested = getattr(HealthCheck, "nested_given", None)
    if nested is not None:
        suppressed.append(nested)
    options: dict[str, Any] = {
        "max_examples": max_examples,
        "derandomize": False,
        "database": None,
        "verbosity": Verbosity.quiet,
        "phases": tuple(phases),
        "stateful_step_count": 50,
        "report_multiple_bugs": False,
        "suppress_health_check": suppressed,
        "deadline": None,
        "print_blob": False,
    }
    if "backend" in inspect.signature(settings.__init__).parameters:
        options["backend"] = "hypothesis"
    return settings(**options)


# Hypothesis 6.131 and later sometimes draw, instead of a random value, a literal found in
# the source of the "local" modules loaded at the time (those outside site-packages and the
# standard library: the caller's script, the caller's package, this package in a source
# checkout). Which examples a seed draws then depends on the caller's source code and on
# what had been imported by the time of the run, so the same seed gave different results in
# different scripts and, within one process, before and after a local module was imported.
# During a run of ours that pool is empty: the examples depend on the seed and the versions of
# Hypothesis and NumPy only. The pool's filtered views are cached under a key that does not
# name the pool, so the cache is swapped for one that only ever sees the empty pool.
try:
    from hypothesis.internal.cache import LRUCache as _LRUCache
    from hypothesis.internal.conjecture import providers as _providers
    from hypothesis.internal.constants_ast import Constants as _Constants
except ImportError:  # a Hypothesis without the feature: nothing to hold fixed
    _providers = None

_POOL_LOCK = threading.Lock()
_pool_state: dict[str, Any] = {"depth": 0, "saved": None, "cache": None}


@contextmanager
def _no_local_constants() -> Iterator[None]:
    """Within the block, Hypothesis draws no literals from the source of loaded modules."""
    if _providers is None or not (
        hasattr(_providers, "_get_local_constants") and hasattr(_providers, "CONSTANTS_CACHE")
    ):
        yield
        return
    with _POOL_LOCK:
        if _pool_state["depth"] == 0:
            if _pool_state["cache"] is None:
                _pool_state["cache"] = _LRUCache(1024)
            empty = _Constants()
            _pool_state["saved"] = (_providers._get_local_constants, _providers.CONSTANTS_CACHE)
            _providers._get_local_constants = lambda: empty
            _providers.CONSTANTS_CACHE = _pool_state["cache"]
        _pool_state["depth"] += 1
    try:
        yield
    finally:
        with _POOL_LOCK:
            _pool_state["depth"] -= 1
            if _pool_state["depth"] == 0:
                _providers._get_local_constants, _providers.CONSTANTS_CACHE = _pool_state["saved"]
                _pool_state["saved"] = None


def _check_run_arguments(max_examples: int, seed: int) -> None:
    if isinstance(max_examples, bool) or not isinstance(max_examples, (int, np.integer)):
        raise TypeError(f"max_examples must be an int, not {max_examples!r}")
    if max_examples < 1:
        raise ValueError(f"max_examples must be at least 1, not {max_examples}")
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)):
        raise TypeError(f"seed must be an int, not {seed!r}")


def _callable_name(fn: Callable[..., Any], fallback: str) -> str:
    name = getattr(fn, "__qualname__", None) or getattr(fn, "__name__", None)
    if not isinstance(name, str) or not all(part.isidentifier() for part in name.split(".")):
        return fallback
    return name


def _format_matrix(matrix: NDArray[Any]) -> str:
    text = np.array2string(
        matrix, separator=", ", floatmode="unique", max_line_width=96, threshold=64
    )
    return "\n".join("    " + line for line in text.splitlines())


def _floats(values: NDArray[Any]) -> str:
    return "[" + ", ".join(repr(float(v)) for v in values) + "]"


# ---------------------------------------------------------------------------------------
# check_norm_estimator


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


# ---------------------------------------------------------------------------------------
# check_lipschitz_bound


class _LipschitzViolation(Exception):
    """Raised inside the Hypothesis run when a pair breaks the bound."""

    def __init__(
        self, report: str, x: NDArray[np.float64], y: NDArray[np.float64], ratio: float
    ) -> None:
        super().__init__(report)
        self.report = report
        self.x = x
        self.y = y
        self.ratio = ratio


# Each start climbs for this many Jacobian evaluations at most, and for fewer when the input
# is large, so that one start costs about _EVALUATIONS_PER_START evaluations of f or fewer.
_MAX_ASCENT_STEPS = 4
_EVALUATIONS_PER_START = 4096
# Pair distances, relative to the norm of the point.
_PAIR_DISTANCES = (1e-3, 1e-2, 1e-1, 1.0)


class _LipschitzSearch:
    """Evaluates pairs for one call of check_lipschitz_bound and keeps the best ratio."""

    def __init__(
        self,
        f: Callable[[NDArray[np.float64]], Any],
        name: str,
        bound: float,
        shape: tuple[int, ...],
    ) -> None:
        self.f = f
        self.name = name
        self.bound = bound
        self.shape = shape
        self.size = math.prod(shape)
        self.best = 0.0
        self.output_eps = float(np.finfo(np.float64).eps)

    def evaluate(self, x: NDArray[np.float64]) -> NDArray[np.float64]:
        """f(x), flattened to a real vector (a complex output as its real and imaginary parts)."""
        value = np.asarray(self.f(x.reshape(self.shape).copy()))
        if value.dtype.kind not in "biufc":
            raise TypeError(f"f returned {value.dtype} values; it must return numbers")
        if value.dtype.kind in "fc":
            self.output_eps = max(self.output_eps, float(np.finfo(value.dtype).eps))
        flat = value.ravel()
        if flat.dtype.kind == "c":
            flat = np.concatenate([flat.real, flat.imag])
        flat = flat.astype(np.float64)
        if not np.all(np.isfinite(flat)):
            raise _LipschitzViolation(
                "\n".join(
                    [
                        f"{self.name} returned a non-finite value at the x below, so no finite "
                        "Lipschitz bound holds.",
                        "  x =",
                        _format_matrix(x.reshape(self.shape)),
                    ]
                ),
                x.reshape(self.shape),
                x.reshape(self.shape),
                math.inf,
            )
        return flat

    def pair(self, x: NDArray[np.float64], y: NDArray[np.float64]) -> float:
        """The ratio of the pair less its rounding allowance; raises if it exceeds the bound."""
        distance = float(np.linalg.norm(x - y))
        if distance == 0.0:
            return 0.0
        fx, fy = self.evaluate(x), self.evaluate(y)
        change = float(np.linalg.norm(fx - fy))
        if change == 0.0:
            return 0.0
        ratio = change / distance
        allowance = self.allowance(x, y, fx, fy, distance, change)
        credited = ratio / (1.0 + allowance)
        self.best = max(self.best, credited)
        if credited > self.bound:
            self.raise_if_broken(x, y)
        return credited

    def allowance(
        self,
        x: NDArray[np.float64],
        y: NDArray[np.float64],
        fx: NDArray[np.float64],
        fy: NDArray[np.float64],
        distance: float,
        change: float,
    ) -> float:
        """A relative bound on the rounding error of the ratio: f's outputs carry errors of a
        few eps of their own dtype, and the differences cancel what the two have in common.
        """
        input_eps = float(np.finfo(np.float64).eps)
        outputs = float(np.linalg.norm(fx) + np.linalg.norm(fy))
        inputs = float(np.linalg.norm(x) + np.linalg.norm(y))
        return 32.0 * self.output_eps * outputs / change + 4.0 * input_eps * inputs / distance

    def raise_if_broken(self, x: NDArray[np.float64], y: NDArray[np.float64]) -> None:
        """Evaluates the pair afresh and raises _LipschitzViolation if it breaks the bound, so
        that the pair reported is one that breaks it when evaluated again."""
        fx, fy = self.evaluate(x), self.evaluate(y)
        distance = float(np.linalg.norm(x - y))
        change = float(np.linalg.norm(fx - fy))
        ratio = change / distance
        allowance = self.allowance(x, y, fx, fy, distance, change)
        if ratio / (1.0 + allowance) <= self.bound:
            return
        lines = [
            f"{self.name} is not {self.bound!r}-Lipschitz: the pair x, y below has",
            f"  ||f(x) - f(y)|| / ||x - y|| = {ratio!r} > {self.bound!r}",
            f"  (||f(x) - f(y)|| = {change!r}, ||x - y|| = {distance!r}; "
            f"rounding allowance {allowance:.2g} relative)",
            "  x =",
            _format_matrix(x.reshape(self.shape)),
            "  y =",
            _format_matrix(y.reshape(self.shape)),
        ]
        raise _LipschitzViolation(
            "\n".join(lines), x.reshape(self.shape).copy(), y.reshape(self.shape).copy(), ratio
        )

    def top_direction(self, x: NDArray[np.float64]) -> tuple[NDArray[np.float64], float]:
        """The top right singular vector of f's Jacobian at x, and its singular value.

        The Jacobian is approximated by forward differences along every coordinate.
        """
        fx = self.evaluate(x)  # also fixes output_eps before the step is chosen
        # Forward differences balance truncation and rounding at a step of about sqrt(eps).
        step = math.sqrt(self.output_eps) * max(
            float(np.linalg.norm(x)) / math.sqrt(self.size), 1e-3
        )
        columns = []
        for j in range(self.size):
            moved = x.copy()
            moved[j] += step
            # Divide by the step as represented, not as intended.
            columns.append((self.evaluate(moved) - fx) / (moved[j] - x[j]))
        _, values, right = np.linalg.svd(np.stack(columns, axis=1), full_matrices=False)
        return right[0] / np.linalg.norm(right[0]), float(values[0])

    def explore(self, start_seed: int, scale: float) -> float:
        """Random pairs around a random start, then a hill climb on the local stretch, with
        pairs along the top singular direction of the local Jacobian at every step.
        """
        rng = np.random.default_rng(start_seed)
        found = 0.0
        x = scale * rng.standard_normal(self.size)
        found = max(found, self.pair(x, scale * rng.standard_normal(self.size)))
        g = rng.standard_normal(self.size)
        g /= np.linalg.norm(g)
        radius = max(float(np.linalg.norm(x)), scale)
        for t in _PAIR_DISTANCES:
            found = max(found, self.pair(x, x + t * radius * g))

        point, best_point, best_stretch = x, x, -1.0
        steps = max(1, min(_MAX_ASCENT_STEPS, _EVALUATIONS_PER_START // (self.size + 1)))
        for _ in range(steps):
            v, stretch = self.top_direction(point)
            radius = max(float(np.linalg.norm(point)), scale)
            for t in _PAIR_DISTANCES:
                half = 0.5 * t * radius * v
                found = max(found, self.pair(point - half, point + half))
            if stretch > best_stretch:
                best_point, best_stretch = point, stretch
            # Next point: a random neighbour of the best point so far, at a random distance.
            spread = radius / math.sqrt(self.size) * 10.0 ** rng.uniform(-2.0, 0.0)
            point = best_point + spread * rng.standard_normal(self.size)
        return found


def check_lipschitz_bound(
    f: Callable[[NDArray[np.float64]], ArrayLike],
    bound: float,
    *,
    input_shape: int | tuple[int, ...],
    max_examples: int = 100,
    seed: int = 0,
) -> float:
    """Try to falsify a claimed Lipschitz constant of an array function.

    Searches for inputs ``x``, ``y`` with ``||f(x) - f(y)|| > bound * ||x - y||`` (Euclidean
    norms of the flattened arrays; a complex output counts its real and imaginary parts).
    Each of the `max_examples` Hypothesis examples starts from a random point at a random
    scale (``10**-2`` to ``10**2``) and tries random pairs around it. Then it climbs: at each
    of up to four points it approximates f's Jacobian ``J`` by forward differences, takes its
    top right singular vector (the direction that f stretches most, the vector that power
    iteration on ``J^T J`` converges to), evaluates pairs along it at distances from
    ``1e-3`` to ``1`` times the norm of the point, and moves to a random neighbour of the
    point with the largest stretch so far. Hypothesis steers later starts towards the largest
    ratios. A Jacobian costs ``n + 1`` evaluations of f for ``n`` input elements; a start
    takes up to four of them, fewer when ``n`` is large (about ``4096 / (n + 1)``, and at
    least one).

    Every ratio is credited only after a rounding allowance: ``32 * eps * (||f(x)|| +
    ||f(y)||) / ||f(x) - f(y)||`` for the ``eps`` of f's output dtype, plus the analogous
    float64 term for the inputs. A pair breaks the bound when its ratio, divided by ``1 +
    allowance``, exceeds `bound`; the pair reported is evaluated again, and breaks it again.

    The run neither depends on nor changes the caller's Hypothesis settings profile, and
    writes no example database and no other file.

    Parameters
    ----------
    f : callable
        Takes a float64 array of shape `input_shape`, returns an array (or scalar) of
        numbers, of any fixed shape.
    bound : float
        The claimed Lipschitz constant (finite, non-negative).
    input_shape : int or tuple of ints
        The shape of f's input (at least one element).
    max_examples : int, optional
        Random starts.
    seed : int, optional
        Seeds the search; for an f that returns the same values, the same seed evaluates
        the same points and returns the same ratio, in any process and whatever ran
        before it (given the same versions of Hypothesis and NumPy).

    Returns
    -------
    float
        The largest ratio found, divided by ``1 + allowance``: a lower bound on the Lipschitz
        constant of f as computed in floating point, and so at most `bound`.

    Raises
    ------
    AssertionError
        A plain AssertionError, at the first pair that breaks the bound (or the first point
        where f is not finite), whose message gives the ratio, the bound, the allowance and
        both inputs. The exception's ``pair`` attribute holds ``(x, y)`` and its ``ratio``
        attribute the ratio.
    ValueError, TypeError
        For invalid arguments, or if f returns something that is not numeric.

    Examples
    --------
    >>> import numpy as np
    >>> w = np.diag([3.0, 1.0])
    >>> ratio = check_lipschitz_bound(lambda x: w @ x, 3.0, input_shape=(2,), max_examples=10)
    >>> 2.99 < ratio <= 3.0
    True
    """
    if not callable(f):
        raise TypeError(f"f must be callable, not {f!r}")
    _check_run_arguments(max_examples, seed)
    shape = (input_shape,) if isinstance(input_shape, (int, np.integer)) else tuple(input_shape)
    if not shape or any(
        isinstance(d, bool) or not isinstance(d, (int, np.integer)) or d < 1 for d in shape
    ):
        raise ValueError(f"input_shape must be positive ints, not {input_shape!r}")
    shape = tuple(int(d) for d in shape)
    claimed = float(bound)
    if not math.isfinite(claimed) or claimed < 0:
        raise ValueError(f"bound must be finite and non-negative, not {bound!r}")

    name = _callable_name(f, "f")
    search = _LipschitzSearch(f, name, claimed, shape)
    call = (
        f"specnorm.testing.check_lipschitz_bound({name}, {claimed!r}, "
        f"input_shape={shape}, max_examples={max_examples}, seed={seed})"
    )

    @_run_with_seed(seed)
    @_local_settings(max_examples, (Phase.generate, Phase.target))
    @given(st.integers(*_SEED_RANGE), st.floats(-2.0, 2.0, allow_nan=False))
    def run(start_seed: int, log_scale: float) -> None:
        target(search.explore(start_seed, 10.0**log_scale), label="ratio")

    try:
        with _no_local_constants():
            run()
    except _LipschitzViolation as exc:
        error = AssertionError(f"{exc.report}\nReproduce with: {call}")
        error.pair = (exc.x, exc.y)  # type: ignore[attr-defined]
        error.ratio = exc.ratio  # type: ignore[attr-defined]
        raise error from None
    except Flaky:
        raise AssertionError(
            f"{name} is not reproducible: a pair broke the bound {claimed!r} once and not when "
            f"evaluated again. Reproduce with: {call}"
        ) from None
    return search.best
