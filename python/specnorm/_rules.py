"""The rules every layer of specnorm shares, written once: compute dtypes and layouts, the
tolerance floor, the default product budget, the safe ranges of scale, the method names and the
thresholds. This module imports nothing of the package (only NumPy), so that the public API, the
pipeline, the backends and the engine can all read it without importing one another.

The C++ core has its own copies of the constants it needs, and exposes each as an attribute of
``specnorm._core`` (which this module must not import: it may be missing); ``tests/test_rules.py``
checks that the two agree.
"""

from __future__ import annotations

import math
import time
from typing import Any

import numpy as np

__all__ = [
    "BASIS_BYTES",
    "BASIS_VECTORS",
    "BOUND_KINDS",
    "CORE_METHODS",
    "DGKS_RATIO",
    "FAILURE_PROBABILITY",
    "LANCZOS_TINY",
    "METHODS",
    "MISS_PROBABILITY",
    "MOST_CALLS",
    "RAYLEIGH_INNER_STEPS",
    "RAYLEIGH_MINRES_RTOL",
    "RESTART_DIVISOR",
    "START_MIX",
    "STATUSES",
    "SVD_CUTOFF",
    "UNDERFLOW_SQUARES",
    "basis_size",
    "compute_dtype",
    "core_view",
    "default_maxiter",
    "namespace_compute_dtype",
    "namespace_dtype",
    "remaining",
    "resolve_method",
    "safe_range",
    "stack_view",
    "start_miss",
    "tol_floor",
]

#: The methods a caller may ask for.
METHODS = ("auto", "power", "lanczos", "rayleigh", "svd")
#: The kinds of random-start bound a run supports, by their code in the core (BoundKind).
BOUND_KINDS = ("none", "power", "lanczos")
#: The solvers of the compiled core, by their code there (Method): the iterative methods of
#: METHODS and "gram", the Gram kernel for small matrices (resolve_method).
CORE_METHODS = ("power", "lanczos", "rayleigh", "gram")
#: What the one-pass bounds leave a solver to do, by the code of the core's Status (an IntEnum,
#: equal to its code): "ok" (it runs), "not_finite" (an entry is NaN or Inf), "zero" (A = 0).
STATUSES = ("ok", "not_finite", "zero")
#: method="auto" on a matrix whose smaller dimension is at most this runs the Gram kernel
#: (reported as "power", with a certain upper bound) where the backend has it, else the SVD.
SVD_CUTOFF = 64
#: The Lanczos basis holds at most this many vectors, and at most this many bytes.
BASIS_VECTORS = 64
BASIS_BYTES = 1 << 29
#: The most products of the default budget (maxiter=None) where each product is a Python call
#: (about 40 us on the NumPy backend): about two seconds of calls, where the compiled loop
#: allows 10^7 multiply-adds (2.5 million products for a 2 x 2 matrix, 100 s of such calls).
MOST_CALLS = 50_000
#: The probability that a reported probabilistic ``upper`` fails; ``confidence = 1 - this``.
FAILURE_PROBABILITY = 1e-3
#: A float64 sum of squares below this has lost digits to underflow: the pass over the
#: entries is redone on magnitudes divided by the largest (bounds.hpp and sparse.hpp alike).
UNDERFLOW_SQUARES = 1e-280
#: Lanczos: a new alpha or beta below this times eps times the norm before orthogonalization
#: is a breakdown (an invariant subspace), taken as zero.
LANCZOS_TINY = 16.0
#: Reorthogonalization repeats a Gram-Schmidt pass while it left less than this fraction of the
#: norm, 1 / sqrt(2) (the criterion of Daniel, Gragg, Kaufman and Stewart).
DGKS_RATIO = math.sqrt(0.5)
#: A thick restart of a full Lanczos basis of kmax vectors keeps kmax // RESTART_DIVISOR.
RESTART_DIVISOR = 2
#: Rayleigh-quotient iteration: at most this many MINRES steps per shifted solve, each stopped
#: at the relative residual RAYLEIGH_MINRES_RTOL.
RAYLEIGH_INNER_STEPS = 24
RAYLEIGH_MINRES_RTOL = 1e-3
#: A converged answer is below sigma_1 by more than tol * sigma_1 with at most this probability
#: over the random start, whatever the matrix (docs/mathematics.md, "Which singular value").
MISS_PROBABILITY = 1e-6
#: A start that is not random (the caller's v0, a refined vector) is mixed with a Gaussian
#: vector of this relative weight; the certificate then counts with (1 + START_MIX) / START_MIX.
START_MIX = 1e-3


def compute_dtype(dtype: Any) -> np.dtype:
    """The dtype the computation runs in: float32, float64, complex64 or complex128.

    bool and integers are promoted to float64, float16 computes in float32, long double to
    float64 (complex likewise). Any other dtype raises TypeError.
    """
    dtype = np.dtype(dtype)
    if dtype.kind in "biu":
        return np.dtype(np.float64)
    if dtype.kind == "f":
        return np.dtype(np.float32 if dtype.itemsize <= 4 else np.float64)
    if dtype.kind == "c":
        return np.dtype(np.complex64 if dtype.itemsize <= 8 else np.complex128)
    raise TypeError(
        f"A must have a numeric dtype (bool, integer, floating or complex), got dtype {dtype}"
    )


def namespace_compute_dtype(xp: Any, dt: Any, name: str = "A") -> Any:
    """The compute dtype of the array namespace ``xp`` for its dtype ``dt`` (the rules of
    :func:`compute_dtype`); TypeError for a non-numeric one."""
    if xp.isdtype(dt, ("bool", "integral")):
        return xp.float64
    if xp.isdtype(dt, "real floating"):
        return xp.float32 if xp.finfo(dt).bits <= 32 else xp.float64
    if xp.isdtype(dt, "complex floating"):
        return xp.complex64 if xp.finfo(dt).bits <= 32 else xp.complex128
    raise TypeError(
        f"{name} must have a numeric dtype (bool, integer, floating or complex), got dtype {dt}"
    )


def namespace_dtype(xp: Any, dtype: Any) -> np.dtype:
    """The NumPy dtype equal to a compute dtype of the namespace ``xp``."""
    for name in ("float32", "float64", "complex64", "complex128"):
        if dtype == getattr(xp, name):
            return np.dtype(name)
    raise TypeError(f"no compute dtype matches {dtype}")


def _readable(a: np.ndarray, rows: int, cols: int, s0: int, s1: int) -> bool:
    """Whether the core reads a matrix with these strides in place: rows or columns contiguous,
    positive strides, aligned, native byte order."""
    size = a.itemsize

    def unit(s: int) -> bool:
        return s > 0 and s % size == 0

    return bool(a.flags.aligned and a.dtype.isnative and (
        ((s0 == size or rows <= 1) and (cols <= 1 or unit(s1)))
        or ((s1 == size or cols <= 1) and (rows <= 1 or unit(s0)))
    ))


def core_view(a: np.ndarray) -> np.ndarray:
    """``a`` itself when the core can read its memory in place (rows or columns contiguous,
    positive strides, aligned, native byte order); otherwise one Fortran-ordered copy."""
    if _readable(a, *a.shape, *a.strides):
        return a
    # a real copy: asfortranarray would hand back an unaligned array that is already F-ordered
    return np.array(a, order="F", copy=True)


def stack_view(a: np.ndarray) -> np.ndarray:
    """``a`` (B, m, n) itself when the core can read every matrix in place (rows or columns
    contiguous, aligned, native byte order); otherwise one C-ordered copy."""
    if a.strides[0] >= 0 and _readable(a, *a.shape[1:], *a.strides[1:]):
        return a
    return np.array(a, order="C", copy=True)  # a copy even when already C-ordered


def start_miss(log_eta: Any, weight: Any, dim: int, complex_: bool) -> Any:
    """P(|c_1| <= eta) for the component c_1 of the unit start along the top right singular
    vector, at most weight eta sqrt(2 (d - 1) / pi) for real vectors and (d - 1) (weight eta)^2
    for complex ones (d = the start's length; docs/mathematics.md). ``log_eta`` = log(eta),
    and ``weight`` floats or float64 arrays (broadcast); 1 where the weight is not positive.
    result.hpp's start_miss."""
    log_eta = np.asarray(log_eta, dtype=np.float64)
    weight = np.asarray(weight, dtype=np.float64)
    d = float(max(dim - 1, 1))
    with np.errstate(invalid="ignore", divide="ignore"):
        log_w = log_eta + np.log(np.where(weight > 0, weight, 1.0))
        log_p = (math.log(d) + 2 * log_w) if complex_ else (log_w + 0.5 * math.log(2 * d / math.pi))
        miss = np.where(log_p < 0, np.exp(np.minimum(log_p, 0.0)), 1.0)
    return np.where(weight > 0, miss, 1.0)


def tol_floor(dtype: Any, m: int, n: int) -> float:
    """The smallest relative residual rounding lets the solvers reach for an m-by-n matrix:
    ``8 * eps * sqrt(max(m, n))``; smaller requests are raised to it."""
    return 8.0 * float(np.finfo(dtype).eps) * math.sqrt(max(m, n, 1))


def default_maxiter(m: int, n: int, most_calls: int | None = None) -> int:
    """The product budget when maxiter is None: at least 2000 and 20 * min(m, n), and for small
    matrices as many as fit in about 10^7 multiply-adds, but no more than ``most_calls`` where
    that is given (MOST_CALLS where each product is a Python call: the NumPy and CuPy
    backends, matrix-free operators, Dask arrays, CuPy sparse matrices)."""
    small = 10_000_000 // max(m * n, 1)
    if most_calls is not None:
        small = min(small, most_calls)
    return int(max(2000, 20 * min(m, n), small))


def basis_size(m: int, n: int, itemsize: int) -> int:
    """The largest Lanczos basis for an m-by-n matrix of ``itemsize``-byte entries: at most
    BASIS_VECTORS vectors, n, and BASIS_BYTES of basis, and at least 2."""
    per_vector = (m + 2 * n) * itemsize
    return int(max(2, min(BASIS_VECTORS, n, BASIS_BYTES // max(per_vector, 1))))


def resolve_method(method: str, m: int, n: int, has_gram: bool) -> str:
    """The method that runs for ``method``: "gram" (the Gram kernel for small matrices, reported
    as "power") where the backend has it, else "svd", for small matrices; "lanczos" for the
    others; any named method itself."""
    if method != "auto":
        return method
    if min(m, n) <= SVD_CUTOFF:
        return "gram" if has_gram else "svd"
    return "lanczos"


def safe_range(dtype: Any) -> tuple[float, float]:
    """The spectral norms whose products the dtype computes at full relative accuracy. Below
    ``sqrt(tiny) / eps`` of the real dtype (about 9e-13 for float32, 7e-139 for float64) the
    squares of the entries, and the rounding errors of the products, fall near or into the
    subnormal range: products lose accuracy to underflow (float32 Lanczos at 1e-25 lost the
    orthogonality that the stopping rule's evidence rests on) and 1 / sigma overflows. Above a
    quarter of the largest number (8.5e37 for float32), A v itself may overflow. A bound above
    or below is computed on a copy scaled by a power of two."""
    info = np.finfo(dtype)
    return math.sqrt(float(info.tiny)) / float(info.eps), float(info.max) / 4.0


def remaining(deadline: float) -> float:
    """Seconds left until ``deadline`` (on ``time.monotonic()``'s clock) in the core's terms:
    0 for none, and at least 1 ns once one is set."""
    if deadline == math.inf:
        return 0.0
    return max(deadline - time.monotonic(), 1e-9)
