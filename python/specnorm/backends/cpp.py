"""The C++/Eigen core (``specnorm._core``) on NumPy arrays, read in place without copying."""

from __future__ import annotations

from typing import Any

import numpy as np

NAME = "cpp"

_core: Any = None
_error = ""


def _load() -> Any:
    global _core, _error
    if _core is None and not _error:
        try:
            from .. import _core as core  # type: ignore[attr-defined]
        except ImportError as exc:  # the extension was not built
            _error = f"the compiled extension specnorm._core does not import ({exc})"
        else:
            _core = core
    return _core


def availability() -> tuple[bool, str]:
    return (True, "the C++ core is built") if _load() is not None else (False, _error)


def dense_bounds(a: np.ndarray) -> tuple[bool, float]:
    """(all entries finite, a certain upper bound on sigma_1) from one pass over ``a``."""
    finite, upper, _ = _load().dense_bounds(a)
    return bool(finite), float(upper)


def estimate_dense(a: np.ndarray, method: str, tol: float, maxiter: int, basis_size: int,
                   seed: int, v0: np.ndarray, norm_hint: float) -> dict[str, Any]:
    return _load().estimate(a, method, tol, maxiter, basis_size, seed, v0, norm_hint)


def rayleigh_quotient(a: np.ndarray, x: np.ndarray) -> float:
    return float(_load().rayleigh_quotient(a, x))
