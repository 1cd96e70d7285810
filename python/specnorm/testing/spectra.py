"""Spectra: the kinds that the strategies draw, :class:`KnownSpectrum`, and the strategy
:func:`singular_values`."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import numpy as np
from hypothesis import assume
from hypothesis import strategies as st
from hypothesis.errors import InvalidArgument
from numpy.typing import NDArray

from ._common import _check_dimension

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
# Checks of the kinds, shared by the strategies


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
