"""Matrices with known spectra: the builder :func:`matrix_with_spectrum` and the strategy
:func:`matrices`."""

from __future__ import annotations

import math
from collections.abc import Iterable
from typing import Any

import numpy as np
from hypothesis import assume
from hypothesis import strategies as st
from hypothesis.errors import InvalidArgument
from numpy.typing import ArrayLike, DTypeLike, NDArray

from ._common import _DTYPES, _SEED_RANGE, _check_shape, _dtype_strategy, _real_dtype
from .spectra import (
    _MAX_DEFAULT_SIZE,
    _MIN_SIZE,
    MATRIX_KINDS,
    KnownSpectrum,
    _check_kinds,
    _draw_spectrum,
    _kind_fits,
)


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
