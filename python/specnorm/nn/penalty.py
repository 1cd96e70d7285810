"""The spectral-norm regularizer ``lam / 2 * sigma_1(W)^2`` and its gradient."""

from __future__ import annotations

import math
import numbers
from typing import Any

import array_api_compat

from .._api import estimate
from ._checks import _check_weight, check_dim, matrix_to_weight, weight_to_matrix


def _check_lam(lam: Any) -> float:
    if isinstance(lam, bool) or not isinstance(lam, numbers.Real):
        raise TypeError(f"lam must be a real number, got {type(lam).__name__}")
    if not (math.isfinite(lam) and lam >= 0):
        raise ValueError(f"lam must be finite and non-negative, got {lam}")
    return float(lam)


def _penalty_one(W: Any, lam: float, dim: int, tol: float, seed: Any) -> tuple[float, Any]:
    xp = array_api_compat.array_namespace(W)
    _check_weight(xp, W)
    if not xp.isdtype(W.dtype, "real floating"):
        raise TypeError(f"spectral_penalty takes real floating weights, got {W.dtype}")
    d = check_dim(dim, W.ndim)
    mat = weight_to_matrix(xp, W, d)
    est = estimate(mat, tol=tol, seed=seed)
    sig = float(est.sigma)
    u = xp.asarray(est.u, dtype=W.dtype)
    v = xp.asarray(est.v, dtype=W.dtype)
    grad = (lam * sig) * (u[:, None] * v[None, :])
    return 0.5 * lam * sig * sig, matrix_to_weight(xp, grad, tuple(W.shape), d)


def spectral_penalty(W: Any, lam: float, *, dim: int = 0, tol: float = 1e-10,
                     seed: Any = None) -> tuple[float, Any]:
    """The spectral-norm regularizer ``lam / 2 * sigma_1(W)^2`` and its gradient.

    Parameters
    ----------
    W : array or sequence of arrays
        A real weight of at least 2 dimensions (NumPy or CuPy), viewed as a matrix as in
        :class:`SpectralNorm` (axis ``dim`` first, the others flattened); or a list of them.
    lam : float
        The regularization strength, finite and non-negative.
    dim : int
        The axis that becomes the rows of the matrix view.
    tol : float
        Residual target of :func:`specnorm.estimate`. The gradient's error is about
        ``tol * sigma_1 / (sigma_1 - sigma_2)`` relative, so keep it tight.
    seed : int or numpy.random.Generator, optional
        Seeds the estimate's random start.

    Returns
    -------
    (value, grad)
        For one weight: ``value = lam / 2 * sigma^2`` (float) and ``grad = lam * sigma * u v^T``
        reshaped back to W's shape (W's dtype and namespace), since ``d sigma = u^T dW v``. For a
        list: the summed value and the list of gradients.

    Notes
    -----
    sigma_1 is differentiable where it is a simple singular value (``sigma_1 > sigma_2``). Where
    it is repeated, the returned array is one element of the subdifferential (the top singular
    pair the estimate found), not a gradient.

    Examples
    --------
    >>> import numpy as np
    >>> from specnorm.nn import spectral_penalty
    >>> value, grad = spectral_penalty(np.diag([3.0, 1.0]), lam=0.1, seed=0)
    >>> round(value, 6), np.abs(grad).round(6).tolist()
    (0.45, [[0.3, 0.0], [0.0, 0.0]])
    """
    lam = _check_lam(lam)
    if isinstance(W, (list, tuple)):
        if not W:
            raise ValueError("spectral_penalty got an empty list of weights")
        total, grads = 0.0, []
        for item in W:
            value, grad = _penalty_one(item, lam, dim, tol, seed)
            total += value
            grads.append(grad)
        return total, grads
    return _penalty_one(W, lam, dim, tol, seed)
