"""Input checks: every bad argument becomes one clear exception here, before any computation."""

from __future__ import annotations

import math
import numbers
import sys
import time
from typing import Any

import numpy as np

from ._rules import METHODS, compute_dtype, namespace_compute_dtype

__all__ = [
    "as_matrix",
    "as_namespace_matrix",
    "backend_matrix",
    "check_maxiter",
    "check_method",
    "check_start",
    "check_starts",
    "check_threads",
    "check_timeout",
    "check_tol",
    "make_rng",
    "reject_masked",
]



def reject_masked(a: Any, name: str = "A", var: str | None = None) -> None:
    """Raise TypeError if ``a`` is a NumPy masked array: its mask would be lost in the
    conversion to a plain array, and the masked entries computed with as if unmasked. The
    message calls it ``name`` and its suggestions ``var`` (default: ``name``)."""
    ma = sys.modules.get("numpy.ma")  # not imported: nothing can be a masked array
    if ma is not None and isinstance(a, ma.MaskedArray):
        var = name if var is None else var
        raise TypeError(
            f"{name} is a NumPy masked array (numpy.ma.MaskedArray) and specnorm would ignore "
            f"its mask: pass {var}.filled(0) to compute with the masked entries as zeros, or "
            f"np.asarray({var}) to use the values stored under the mask"
        )


def as_matrix(a: Any, name: str = "A") -> np.ndarray:
    """A NumPy array of at least 2 dimensions in its compute dtype; never the caller's buffer
    modified (a conversion makes a new array, a matching one is returned as is)."""
    reject_masked(a, name)
    if isinstance(a, np.ndarray):
        arr = np.asarray(a)  # a plain ndarray view of subclasses such as numpy.matrix
    else:
        if hasattr(a, "tocsr") or hasattr(a, "matvec"):
            raise TypeError(
                f"{name} is a sparse matrix or a linear operator without rmatvec "
                f"({type(a).__name__}); specnorm takes dense arrays, and matrix-free operators "
                "with shape, matvec and rmatvec: wrap a sparse matrix with "
                "scipy.sparse.linalg.aslinearoperator, or convert it with .toarray()"
            )
        if hasattr(a, "__cuda_array_interface__"):
            raise TypeError(
                f"{name} is a GPU array of type {type(a).__name__}; specnorm computes on CuPy "
                "arrays on the GPU: wrap it with cupy.asarray (no copy), or move it to NumPy"
            )
        try:
            arr = np.asarray(a)
        except (TypeError, ValueError) as exc:
            raise TypeError(f"{name} cannot be read as a numeric array: {exc}") from exc
    if arr.ndim < 2:
        raise ValueError(
            f"{name} must have at least 2 dimensions (m, n), got shape {arr.shape}"
        )
    target = compute_dtype(arr.dtype)
    if arr.dtype != target:
        arr = arr.astype(target)
    return arr


def as_namespace_matrix(a: Any, xp: Any, name: str = "A") -> Any:
    """An array of the namespace ``xp`` with at least 2 dimensions in its compute dtype (the
    rules of :func:`compute_dtype`); a conversion makes a new array on the same device."""
    if a.ndim < 2:
        raise ValueError(
            f"{name} must have at least 2 dimensions (m, n), got shape {tuple(a.shape)}"
        )
    dt = a.dtype
    target = namespace_compute_dtype(xp, dt, name)
    return a if dt == target else xp.astype(a, target)








def backend_matrix(a: Any, be: Any, name: str = "A") -> Any:
    """The validated input in its compute dtype for the backend ``be``: an array of its
    namespace for a device backend (on the same device), a NumPy array for a host backend."""
    return as_namespace_matrix(a, be.xp, name) if be.on_device else as_matrix(a, name)


def check_threads(threads: Any) -> int:
    """The thread count for the core: 0 (OpenMP's default, OMP_NUM_THREADS) for None."""
    if threads is None:
        return 0
    if isinstance(threads, bool) or not isinstance(threads, numbers.Integral):
        raise ValueError(f"threads must be an integer >= 1 or None, got {threads!r}")
    if threads < 1:
        raise ValueError(f"threads must be at least 1, got {threads}")
    return int(threads)


def check_starts(v0: Any, batch: tuple[int, ...], n: int, dtype: np.dtype) -> np.ndarray:
    """Start vectors for a stack: shape (*batch, n), finite, each nonzero, in the compute dtype
    (a fresh C-ordered array)."""
    reject_masked(v0, "v0")
    arr = np.asarray(v0)
    if arr.dtype.kind not in "biufc":
        raise TypeError(f"v0 must be numeric, got dtype {arr.dtype}")
    if arr.shape != (*batch, n):
        raise ValueError(f"v0 must have shape {(*batch, n)} for a stack of {batch} matrices with "
                         f"{n} columns, got {arr.shape}")
    if np.iscomplexobj(arr) and dtype.kind != "c":
        raise TypeError("v0 is complex but A is real")
    out = np.array(arr, dtype=dtype, order="C", copy=True)
    if not np.all(np.isfinite(out)):
        raise ValueError("v0 contains NaN or Inf")
    if n > 0 and out.size and not np.all(np.any(out != 0, axis=-1)):
        raise ValueError("v0 must be nonzero (every start vector of the stack)")
    return out


def check_method(method: Any) -> str:
    if not isinstance(method, str) or method not in METHODS:
        raise ValueError(f"unknown method {method!r}; valid methods are {', '.join(METHODS)}")
    return method


def check_tol(tol: Any) -> float:
    if isinstance(tol, bool) or not isinstance(tol, numbers.Real):
        raise ValueError(f"tol must be a real number in (0, 1), got {tol!r}")
    value = float(tol)
    if not (0.0 < value < 1.0):
        raise ValueError(f"tol must lie in (0, 1), got {tol!r}")
    return value


def check_maxiter(maxiter: Any) -> int | None:
    if maxiter is None:
        return None
    if isinstance(maxiter, bool) or not isinstance(maxiter, numbers.Integral):
        raise ValueError(f"maxiter must be an integer >= 1 or None, got {maxiter!r}")
    if maxiter < 1:
        raise ValueError(f"maxiter must be at least 1, got {maxiter}")
    return int(maxiter)


def check_timeout(timeout: Any) -> float:
    """The deadline, on the clock of ``time.monotonic()``, for ``timeout`` seconds from now
    (``math.inf`` for None)."""
    if timeout is None:
        return math.inf
    if isinstance(timeout, bool) or not isinstance(timeout, numbers.Real):
        raise ValueError(f"timeout must be a number of seconds > 0 or None, got {timeout!r}")
    if not timeout > 0:  # NaN included
        raise ValueError(f"timeout must be a number of seconds > 0 or None, got {timeout}")
    return time.monotonic() + float(timeout)




def make_rng(seed: Any) -> np.random.Generator:
    if seed is None or (isinstance(seed, numbers.Integral) and not isinstance(seed, bool)):
        if seed is not None and seed < 0:
            raise ValueError(f"seed must be a non-negative integer, got {seed}")
        return np.random.default_rng(seed)
    if isinstance(seed, np.random.Generator):
        return seed
    raise ValueError(f"seed must be None, a non-negative integer or a numpy.random.Generator, "
                     f"got {seed!r}")


def check_start(v0: Any, n: int, dtype: np.dtype, name: str = "v0",
                nonzero: bool = True) -> np.ndarray:
    """A finite (and nonzero) vector of length n, in the compute dtype (a fresh array)."""
    reject_masked(v0, name)
    arr = np.asarray(v0)
    if arr.dtype.kind not in "biufc":
        raise TypeError(f"{name} must be numeric, got dtype {arr.dtype}")
    if arr.shape != (n,):
        raise ValueError(f"{name} must have shape ({n},) to match A's {n} columns, "
                         f"got {arr.shape}")
    if np.iscomplexobj(arr) and dtype.kind != "c":
        raise TypeError(f"{name} is complex but A is real")
    out = np.array(arr, dtype=dtype, order="C", copy=True)
    if not np.all(np.isfinite(out)):
        raise ValueError(f"{name} contains NaN or Inf")
    if nonzero and n > 0 and not np.any(out):
        raise ValueError(f"{name} must be nonzero")
    return out

