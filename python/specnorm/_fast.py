"""The small-matrix fast path: the common call ``sigma(A)`` / ``estimate(A)`` on a small NumPy
matrix answered by the core's Gram kernel in a few microseconds, without building a request.

It takes only plain arguments whose check here is the pipeline's own (see :func:`_small`), and
its answer is the one :mod:`specnorm._solve` gives for the same arguments: the cpp backend's
``solve`` makes the same core call (``estimate_small``, its start drawn from the same seed) for
one small matrix. Everything else goes to the pipeline.
"""

from __future__ import annotations

import math
import random
from typing import Any

import numpy as np

from . import _rules
from . import backends as _backends
from ._result import Estimate
from ._rules import SVD_CUTOFF, default_maxiter, safe_range
from ._solve import NOT_FINITE

__all__ = ["lean", "lean_sigma"]

#: The dtypes the fast path reads in place (native byte order), with their machine epsilon ...
_LEAN_EPS = {np.dtype(t): float(np.finfo(t).eps)
             for t in (np.float64, np.float32, np.complex128, np.complex64)}
#: ... and the norms their products compute at full accuracy (see safe_range).
_LEAN_RANGE = {dtype: safe_range(dtype) for dtype in _LEAN_EPS}
#: Seeds for calls with seed=None on the fast path (seeded from the operating system).
_ENTROPY = random.Random()
#: The codes of the core's statuses (its Status is an IntEnum: a status equals its code).
_OK, _NOT_FINITE, _ZERO = (_rules.STATUSES.index(name) for name in ("ok", "not_finite", "zero"))


def _small(A: Any, method: Any, tol: Any, maxiter: Any, seed: Any, backend: Any, threads: Any,
           vectors: bool) -> Any:
    """The core's Gram-kernel answer (a ``_core.SmallEstimate``) for the common small call, in a
    few microseconds, or None. It is the answer the pipeline gives for the same arguments (the
    cpp backend's solve makes the same core call for one small matrix): taken only where every
    argument is of the plain type whose check here is the pipeline's check (a float tol in
    (0, 1), an int maxiter >= 1 or None, an int seed or None, method and backend "auto"), for a
    C- or F-ordered NumPy matrix with 0 < min(m, n) <= SVD_CUTOFF inside its dtype's safe range."""
    if type(A) is not np.ndarray or method != "auto" or backend != "auto" or A.ndim != 2:
        return None
    eps = _LEAN_EPS.get(A.dtype)
    if eps is None:
        return None
    m, n = A.shape
    if not 0 < (m if m < n else n) <= SVD_CUTOFF:
        return None
    flags = A.flags
    if not ((flags.c_contiguous or flags.f_contiguous) and flags.aligned):
        return None
    if type(tol) is not float or not 0.0 < tol < 1.0:
        return None
    if maxiter is not None and (type(maxiter) is not int or maxiter < 1):
        return None
    if threads is not None and (type(threads) is not int or threads < 1):
        return None
    if seed is None:
        seed = _ENTROPY.getrandbits(64)
    elif type(seed) is not int or not 0 <= seed < 2**64:
        return None
    core = _backends.lean_core()
    if core is None:
        return None
    floor = 8.0 * eps * math.sqrt(m if m > n else n)  # tol_floor, without its dtype lookup
    budget = maxiter if maxiter is not None else default_maxiter(m, n)
    raw = core.estimate_small(A, tol if tol > floor else floor, budget, seed, None, vectors)
    if raw.status == _OK:
        low, high = _LEAN_RANGE[A.dtype]
        if not low <= raw.upper <= high:
            return None  # the pipeline computes it on a scaled copy
    return raw


def _checked(raw: Any) -> Any:
    """``raw``, or ValueError where the core found an entry that is NaN or infinite."""
    if raw is not None and raw.status == _NOT_FINITE:
        raise ValueError(NOT_FINITE)
    return raw


def lean(A: Any, method: Any, tol: Any, maxiter: Any, seed: Any, backend: Any, threads: Any,
         vectors: bool) -> Estimate | None:
    """``estimate``'s answer from the fast path (see _small), or None."""
    raw = _checked(_small(A, method, tol, maxiter, seed, backend, threads, vectors))
    if raw is None:
        return None
    be = _backends.BACKENDS["cpp"]
    m, n = A.shape
    if raw.status == _ZERO:
        return Estimate(sigma=0.0, u=be.units(1, m, A)[0], v=be.units(1, n, A)[0], lower=0.0,
                        upper=0.0, confidence=1.0, iterations=0, converged=True, residual=0.0,
                        method="power", backend=be.NAME)
    lower = raw.lower
    return Estimate(sigma=max(raw.sigma, lower), u=raw.u, v=raw.v, lower=lower,
                    upper=max(raw.upper, lower), confidence=1.0, iterations=raw.iterations,
                    converged=raw.converged, residual=raw.residual, method="power",
                    backend=be.NAME)


def lean_sigma(A: Any, method: Any, tol: Any, maxiter: Any, seed: Any, backend: Any,
               threads: Any) -> float | None:
    """``sigma``'s answer from the fast path (no vectors), or None."""
    raw = _checked(_small(A, method, tol, maxiter, seed, backend, threads, False))
    if raw is None:
        return None
    sig, lower = raw.sigma, raw.lower  # 0.0 for A = 0; never below lower
    return sig if sig >= lower else lower
