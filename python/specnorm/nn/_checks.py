"""Argument and weight checks of :mod:`specnorm.nn`, and the weight <-> matrix reshaping
(shared with :mod:`specnorm.torch`)."""

from __future__ import annotations

import math
import numbers
from typing import Any


def check_power_options(n_power_iterations: Any, eps: Any, tol: Any) -> None:
    """ValueError/TypeError for a bad ``n_power_iterations``, ``eps`` or ``tol``."""
    if (isinstance(n_power_iterations, bool)
            or not isinstance(n_power_iterations, numbers.Integral)):
        raise TypeError("n_power_iterations must be an int, got "
                        f"{type(n_power_iterations).__name__}")
    if n_power_iterations < 1:
        raise ValueError(f"n_power_iterations must be at least 1, got {n_power_iterations}")
    if isinstance(eps, bool) or not isinstance(eps, numbers.Real):
        raise TypeError(f"eps must be a real number, got {type(eps).__name__}")
    if not (math.isfinite(eps) and eps > 0):
        raise ValueError(f"eps must be finite and positive, got {eps}")
    if tol is not None:
        if isinstance(tol, bool) or not isinstance(tol, numbers.Real):
            raise TypeError(f"tol must be a real number or None, got {type(tol).__name__}")
        if not 0 < tol < 1:
            raise ValueError(f"tol must satisfy 0 < tol < 1, got {tol}")


def check_dim(dim: Any, ndim: int) -> int:
    """``dim`` as a non-negative axis of an ``ndim``-dimensional weight (ValueError if out of
    range, as ``-ndim <= dim < ndim`` is required)."""
    if isinstance(dim, bool) or not isinstance(dim, numbers.Integral):
        raise TypeError(f"dim must be an int, got {type(dim).__name__}")
    if not -ndim <= dim < ndim:
        raise ValueError(f"dim={dim} is out of range for a weight with {ndim} dimensions "
                         f"(expected {-ndim} <= dim < {ndim})")
    return int(dim) % ndim



def _check_weight(xp: Any, W: Any, name: str = "W") -> None:
    if not xp.isdtype(W.dtype, ("real floating", "complex floating")):
        raise TypeError(f"{name} must have a floating or complex dtype, got {W.dtype}")
    if W.ndim < 2:
        raise ValueError(f"{name} must have at least 2 dimensions, got shape {tuple(W.shape)}; "
                         "the spectral norm of a vector is its 2-norm")
    if any(int(d) == 0 for d in W.shape):
        raise ValueError(f"{name} has an empty dimension (shape {tuple(W.shape)})")


def weight_to_matrix(xp: Any, W: Any, dim: int) -> Any:
    """W as the (h, w) matrix spectral normalization works on: axis ``dim`` moved to the front,
    the others flattened in order (PyTorch's convention). A view where the layout allows."""
    if dim != 0:
        W = xp.permute_dims(W, (dim, *(d for d in range(W.ndim) if d != dim)))
    return xp.reshape(W, (int(W.shape[0]), -1))


def matrix_to_weight(xp: Any, M: Any, shape: tuple[int, ...], dim: int) -> Any:
    """The inverse of :func:`weight_to_matrix`: an (h, w) matrix back to ``shape``."""
    order = (dim, *(d for d in range(len(shape)) if d != dim))
    M = xp.reshape(M, tuple(shape[d] for d in order))
    if dim != 0:
        inverse = tuple(order.index(d) for d in range(len(shape)))
        M = xp.permute_dims(M, inverse)
    return M
