"""Dask arrays: a matrix stored in chunks (on disk as zarr, HDF5 or a ``numpy.memmap``, or spread
over a ``dask.distributed`` cluster) is estimated from its products, one Dask computation per
product, so no more than Dask's working set of chunks is ever in memory.

Dask is optional and never imported here unless the input already is a Dask array.
"""

from __future__ import annotations

import math
import sys
from typing import Any

import numpy as np

from ._rules import compute_dtype
from .engine.bounds import entry_bound, needs_rescale

__all__ = ["DaskProducts", "dask_bounds", "is_dask_array"]


def is_dask_array(a: Any) -> bool:
    """Whether ``a`` is a ``dask.array.Array`` (without importing Dask)."""
    module = sys.modules.get("dask.array")
    return module is not None and isinstance(a, module.Array)


class DaskProducts:
    """A 2-D Dask array as a matrix-free operator: ``matvec`` and ``rmatvec`` each build the
    product's graph and run it with one ``compute()`` on the current scheduler (the threaded
    one, or the cluster of an active ``distributed.Client``), returning a NumPy vector."""

    def __init__(self, a: Any) -> None:
        self.a, self.shape = a, tuple(int(d) for d in a.shape)
        self.dtype = compute_dtype(a.dtype)
        self.adjoint = a.conj().T if self.dtype.kind == "c" else a.T

    def matvec(self, x: np.ndarray) -> np.ndarray:
        return np.asarray((self.a @ x.astype(self.dtype, copy=False)).compute())

    def rmatvec(self, y: np.ndarray) -> np.ndarray:
        return np.asarray((self.adjoint @ y.astype(self.dtype, copy=False)).compute())


def _block_stats(block: np.ndarray, scale: float) -> tuple[bool, float, np.ndarray, np.ndarray,
                                                            float]:
    """(finite, largest magnitude, column sums, row sums, sum of squares) of one chunk's
    magnitudes divided by ``scale``, in float64, with one temporary of the chunk's size."""
    block = np.asarray(block)
    finite = bool(np.isfinite(block).all())
    mag = np.abs(block).astype(np.float64, copy=False)
    if scale != 1.0:
        mag = mag / scale
    with np.errstate(over="ignore", invalid="ignore"):
        return (finite, float(mag.max(initial=0.0)), mag.sum(axis=0), mag.sum(axis=1),
                float(np.vdot(mag.ravel(), mag.ravel())))


def dask_bounds(a: Any) -> tuple[bool, float]:
    """(every entry finite, the certain bound min(||A||_F, sqrt(||A||_1 ||A||_inf))) of a 2-D Dask
    array, from one Dask computation in which each chunk is reduced to its statistics on its own
    (so only a few chunks are in memory at once); a second one, scaled by the largest magnitude,
    where the float64 squares overflow or underflow."""
    import dask

    m, n = (int(d) for d in a.shape)
    if m == 0 or n == 0:
        return True, 0.0
    blocks = a.to_delayed()
    row_offsets = np.concatenate([[0], np.cumsum(a.chunks[0])])
    col_offsets = np.concatenate([[0], np.cumsum(a.chunks[1])])

    def sweep(scale: float) -> tuple[bool, float, float, float, float]:
        stats = dask.compute(*[dask.delayed(_block_stats)(blocks[i, j], scale)
                               for i in range(blocks.shape[0]) for j in range(blocks.shape[1])])
        cols, rows = np.zeros(n), np.zeros(m)
        finite, big, squares = True, 0.0, 0.0
        with np.errstate(over="ignore", invalid="ignore"):
            for k, (ok, top, col, row, sq) in enumerate(stats):
                i, j = divmod(k, blocks.shape[1])
                finite &= ok
                big = max(big, top)
                cols[col_offsets[j]:col_offsets[j + 1]] += col
                rows[row_offsets[i]:row_offsets[i + 1]] += row
                squares += sq
        return finite, big, float(cols.max()), float(rows.max()), squares

    finite, big, norm1, norm_inf, squares = sweep(1.0)
    if not finite:
        return False, math.nan
    scale = 1.0
    if needs_rescale(big, norm1, norm_inf, squares):
        _, _, norm1, norm_inf, squares = sweep(big)
        scale = big
    return True, float(entry_bound(norm1, norm_inf, squares, scale))
