"""The certain bound from the entries, min(||A||_F, sqrt(||A||_1 ||A||_inf)), with the check that
every entry is finite: the twin of bounds.hpp (dense) and of sparse.hpp's bounds (sparse).

Intended differences from bounds.hpp:
- A dense stack is read in blocks of about CHUNK_ELEMENTS entries (whole matrices, or row blocks
  of one large matrix) with array operations, and one transfer of 5 numbers per matrix per
  block; the core makes one pass per matrix. Matrices whose float64 sums overflow or underflow
  get a second pass divided by their largest entry, as in the core.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from .._rules import UNDERFLOW_SQUARES
from .operator import SparseOperator, StackOperator

__all__ = ["entry_bound", "needs_rescale", "sparse_bounds", "stack_bounds"]

#: Entries per block of the pass over a dense stack, so that temporaries stay small.
CHUNK_ELEMENTS = 1 << 22


def needs_rescale(big: Any, norm1: Any, norm_inf: Any, squares: Any) -> Any:
    """Where the float64 sums of a pass over the entries' magnitudes (largest ``big``, largest
    column sum ``norm1``, largest row sum ``norm_inf``, sum of squares) overflowed or lost the
    answer to underflow, so that the pass must be redone with magnitudes divided by ``big``.
    Scalars or NumPy arrays, elementwise."""
    overflow = ~(np.isfinite(norm1) & np.isfinite(norm_inf) & np.isfinite(squares))
    underflow = (big > 0) & ((norm1 == 0) | (squares < UNDERFLOW_SQUARES))
    return (big > 0) & (overflow | underflow)


def entry_bound(norm1: Any, norm_inf: Any, squares: Any, scale: Any = 1.0) -> Any:
    """The certain bound ``min(||A||_F, sqrt(||A||_1 ||A||_inf))`` from the sums of a pass over
    magnitudes divided by ``scale``, in the units of A. Scalars or NumPy arrays."""
    with np.errstate(invalid="ignore", over="ignore"):
        return np.minimum(np.sqrt(squares), np.sqrt(norm1) * np.sqrt(norm_inf)) * scale




def stack_bounds(op: StackOperator) -> tuple[np.ndarray, np.ndarray]:
    """For every matrix of the stack: whether all its entries are finite, and the certain bound
    min(||A||_F, sqrt(||A||_1 ||A||_inf)) (NaN where not finite), as host arrays."""
    return _stack_bounds(op.xp, op.a, op._to_host, op.device)


def _stack_bounds(xp: Any, a: Any, to_host: Callable[[Any], np.ndarray],
                 device: Any) -> tuple[np.ndarray, np.ndarray]:
    """For every matrix of the stack ``a`` (B, m, n): whether all its entries are finite, and the
    certain bound min(||A||_F, sqrt(||A||_1 ||A||_inf)) (NaN where not finite), as host arrays.

    One pass over ``a`` in blocks of about CHUNK_ELEMENTS entries (whole matrices, or row blocks
    of one large matrix), so temporaries stay small; one transfer of 5 numbers per matrix per
    block of matrices. Matrices whose squares overflow or underflow float64 get a second pass
    scaled by their largest entry (bounds.hpp does the same).
    """
    count, m, n = (int(d) for d in a.shape)
    group = max(1, CHUNK_ELEMENTS // max(m * n, 1))
    rows = m if group > 1 else max(1, CHUNK_ELEMENTS // max(n, 1))
    biggest: list[Any] = []  # each block's largest magnitudes, kept on the device for the rescale

    def sweep(rescale: bool) -> np.ndarray:
        out = []
        for i, b0 in enumerate(range(0, count, group)):
            b1 = min(b0 + group, count)
            g = b1 - b0
            finite = xp.ones((g,), dtype=xp.bool, device=device)
            big = xp.zeros((g,), dtype=xp.float64, device=device)
            cols = xp.zeros((g, n), dtype=xp.float64, device=device)
            row_max = xp.zeros((g,), dtype=xp.float64, device=device)
            squares = xp.zeros((g,), dtype=xp.float64, device=device)
            for r0 in range(0, m, rows):
                block = a[b0:b1, r0:min(r0 + rows, m), :]
                mag = xp.astype(xp.abs(block), xp.float64)
                if rescale:
                    safe = xp.where(biggest[i] > 0, biggest[i], xp.ones_like(biggest[i]))
                    mag = mag / safe[:, None, None]
                else:
                    finite = finite & xp.all(xp.isfinite(block), axis=(1, 2))
                    big = xp.maximum(big, xp.max(mag, axis=(1, 2)))
                cols = cols + xp.sum(mag, axis=1)
                row_max = xp.maximum(row_max, xp.max(xp.sum(mag, axis=2), axis=1))
                squares = squares + xp.sum(mag * mag, axis=(1, 2))
            if not rescale:
                biggest.append(big)
            parts = [xp.astype(finite, xp.float64), big, xp.max(cols, axis=1), row_max, squares]
            out.append(np.asarray(to_host(xp.stack(parts))))
        return np.concatenate(out, axis=1) if out else np.zeros((5, 0))

    # Squares that overflow float64 are detected below and redone scaled: no warning wanted.
    with np.errstate(over="ignore", invalid="ignore"):
        finite, big, norm1, norm_inf, squares = sweep(False)
    finite = finite > 0
    redo = finite & needs_rescale(big, norm1, norm_inf, squares)
    scale = np.ones(count)
    if np.any(redo):
        _, _, n1, ni, sq = sweep(True)
        norm1, norm_inf, squares = (np.where(redo, x, y) for x, y in
                                    ((n1, norm1), (ni, norm_inf), (sq, squares)))
        scale = np.where(redo, big, 1.0)
    certain = entry_bound(norm1, norm_inf, squares, scale)
    return finite, np.where(finite, certain, np.nan)


def _scalars(op: SparseOperator, *parts: Any) -> list[float]:
    return [float(np.real(p)) for p in op.fetch(*parts)]


def sparse_bounds(op: SparseOperator) -> tuple[bool, float]:
    """(every stored entry finite, min(||A||_F, sqrt(||A||_1 ||A||_inf))) from the stored
    entries, scaled by the largest magnitude so that no square overflows or underflows; two
    transfers of a few numbers."""
    xp, csr = op.xp, op.csr
    if int(csr.nnz) == 0:
        return True, 0.0
    mag = xp.astype(xp.abs(csr.data), xp.float64)
    finite, big = op.fetch(xp.astype(xp.all(xp.isfinite(csr.data)), xp.float64), xp.max(mag))
    big_value, all_finite = float(np.real(big)), bool(np.real(finite) > 0)
    if not all_finite or not big_value > 0:
        return all_finite, 0.0
    scaled = mag / big_value
    magnitudes = type(csr)((scaled, csr.indices, csr.indptr), shape=csr.shape)
    ones_m = xp.ones((op.m,), dtype=xp.float64, device=op.device)
    ones_n = xp.ones((op.n,), dtype=xp.float64, device=op.device)
    norm1, norm_inf, squares = _scalars(op, xp.max(magnitudes.T @ ones_m),
                                        xp.max(magnitudes @ ones_n), xp.sum(scaled * scaled))
    return True, float(entry_bound(norm1, norm_inf, squares, big_value))
