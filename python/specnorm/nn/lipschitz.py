"""Lipschitz bounds of a network: the global product of the layers' spectral norms, and the
local constant of a ReLU network (the spectral norm of its Jacobian at a point, matrix-free)."""

from __future__ import annotations

import numbers
from collections.abc import Sequence
from typing import Any

import numpy as np

from .._api import estimate, sigma_many


def lipschitz_bound(weights: Sequence[Any], *, tol: float = 1e-6,
                    seed: Any = None) -> tuple[float, np.ndarray]:
    """The global Lipschitz bound ``prod_l sigma_1(W_l)`` of a network with 1-Lipschitz
    activations (ReLU, tanh, ...) between the affine layers ``x -> W_l x + b_l``.

    Parameters
    ----------
    weights : sequence of 2-D arrays
        The layer matrices (biases do not matter). For convolutions the operator norm is not
        the norm of the reshaped kernel; pass the layers' matrices.
    tol, seed
        As in :func:`specnorm.sigma_many`, which estimates all the norms in batches.

    Returns
    -------
    (bound, sigmas)
        The product (float) and the per-layer spectral norms (1-D float64 array). Each sigma is
        within ``tol`` relative of ``sigma_1(W_l)`` and never above it by more than rounding,
        so the product is within about ``len(weights) * tol`` relative of the exact bound.

    Examples
    --------
    >>> import numpy as np
    >>> from specnorm.nn import lipschitz_bound
    >>> bound, sigmas = lipschitz_bound([np.diag([2.0, 1.0]), 3 * np.eye(2)], seed=0)
    >>> round(bound, 6), sigmas.round(6).tolist()
    (6.0, [2.0, 3.0])
    """
    items = list(weights)
    if not items:
        raise ValueError("lipschitz_bound got no weights")
    for i, W in enumerate(items):
        if getattr(W, "ndim", None) != 2:
            raise ValueError(f"lipschitz_bound takes 2-D weight matrices; weight {i} has shape "
                             f"{getattr(W, 'shape', None)}")
    sigmas = sigma_many(items, tol=tol, seed=seed)
    return float(np.prod(sigmas)), sigmas


def _check_network(weights: Sequence[Any], biases: Sequence[Any],
                   x: Any) -> tuple[list[np.ndarray], list[np.ndarray], np.ndarray]:
    ws = [np.asarray(W) for W in weights]
    bs = [np.asarray(b) for b in biases]
    if not ws:
        raise ValueError("local_lipschitz got no weights")
    if len(ws) != len(bs):
        raise ValueError(f"got {len(ws)} weights but {len(bs)} biases; one bias per layer")
    xs = np.asarray(x)
    for name, arrays in (("weight", ws), ("bias", bs), ("x", [xs])):
        for i, a in enumerate(arrays):
            if a.dtype.kind not in "biuf":
                raise TypeError(f"{name} {i} must be real, got dtype {a.dtype}")
            if not np.all(np.isfinite(a)):
                raise ValueError(f"{name} {i} contains NaN or Inf")
    width = ws[0].shape[1] if ws[0].ndim == 2 else None
    if xs.shape != (width,):
        raise ValueError(f"x must have shape ({width},), got {xs.shape}")
    for i, (W, b) in enumerate(zip(ws, bs, strict=True)):
        if W.ndim != 2 or W.shape[1] != width:
            raise ValueError(f"weight {i} must have shape (k, {width}), got {W.shape}")
        if b.shape != (W.shape[0],):
            raise ValueError(f"bias {i} must have shape ({W.shape[0]},), got {b.shape}")
        width = W.shape[0]
    dtype = np.result_type(*ws, *bs, xs, np.float32)
    return ([W.astype(dtype, copy=False) for W in ws], [b.astype(dtype, copy=False) for b in bs],
            xs.astype(dtype, copy=False))


class _Jacobian:
    """The Jacobian of a ReLU network at a point as a matrix-free operator: products go through
    the layers one at a time, masked by the activation pattern."""

    def __init__(self, weights: list[np.ndarray], masks: list[np.ndarray]) -> None:
        self.weights, self.masks = weights, masks
        self.shape = (weights[-1].shape[0], weights[0].shape[1])
        self.dtype = weights[0].dtype

    def matvec(self, z: np.ndarray) -> np.ndarray:
        for W, d in zip(self.weights[:-1], self.masks, strict=True):
            z = d * (W @ z)
        return self.weights[-1] @ z

    def rmatvec(self, y: np.ndarray) -> np.ndarray:
        y = y @ self.weights[-1]
        for W, d in zip(reversed(self.weights[:-1]), reversed(self.masks), strict=True):
            y = (d * y) @ W
        return y


def local_lipschitz(weights: Sequence[Any], biases: Sequence[Any], x: Any, *,
                    tol: float = 1e-8, maxiter: int = 10_000,
                    seed: Any = None) -> tuple[float, np.ndarray]:
    """The local Lipschitz constant ``||J(x)||_2`` of a ReLU network at x, matrix-free.

    The network is ``f(x) = W_L relu(... relu(W_1 x + b_1) ...) + b_L``. Its Jacobian at x is
    ``J = W_L D_{L-1} W_{L-1} ... D_1 W_1`` with ``D_l`` the diagonal 0/1 matrix of the units
    of layer l that are active (pre-activation > 0; the derivative of relu at 0 is taken as 0,
    as PyTorch does). J is never formed: products ``J z`` and ``J^T y`` go through the layers
    one at a time, and :func:`specnorm.estimate` runs Lanczos on them as on any matrix-free
    operator, stopping when ``||J^T u - sigma v|| <= tol * sigma``.

    Where every pre-activation is non-zero the pattern is constant near x, f is affine there,
    and ``||f(x + d) - f(x)|| <= sigma ||d||`` for small d, with equality along the returned
    direction. It never exceeds :func:`lipschitz_bound` of the weights.

    Parameters
    ----------
    weights, biases : sequences of arrays
        ``W_l`` of shape ``(n_l, n_{l-1})`` and ``b_l`` of shape ``(n_l,)``, real.
    x : array, shape (n_0,)
        The input point.
    tol : float
        Residual target.
    maxiter : int
        Most products with J and J^T.
    seed : int or numpy.random.Generator, optional
        Seeds the random start.

    Returns
    -------
    (sigma, direction)
        ``sigma = ||J v||`` (float) for the unit input direction ``v`` (1-D array of length
        n_0) that it returns: the top right singular vector of J.

    Examples
    --------
    >>> import numpy as np
    >>> from specnorm.nn import local_lipschitz
    >>> W1, b1 = np.array([[1.0, 0.0], [0.0, 1.0]]), np.array([0.0, -10.0])
    >>> W2, b2 = np.array([[3.0, 4.0]]), np.zeros(1)
    >>> sigma, v = local_lipschitz([W1, W2], [b1, b2], np.array([1.0, 1.0]), seed=0)
    >>> round(sigma, 10), np.abs(v).round(10).tolist()  # the second unit is off at x
    (3.0, [1.0, 0.0])
    """
    if isinstance(tol, bool) or not isinstance(tol, numbers.Real) or not 0 < tol < 1:
        raise ValueError(f"tol must be a number with 0 < tol < 1, got {tol!r}")
    if isinstance(maxiter, bool) or not isinstance(maxiter, numbers.Integral) or maxiter < 1:
        raise ValueError(f"maxiter must be a positive int, got {maxiter!r}")
    ws, bs, h = _check_network(weights, biases, x)
    masks = []
    for W, b in zip(ws[:-1], bs[:-1], strict=True):
        pre = W @ h + b
        mask = pre > 0
        masks.append(mask.astype(h.dtype))
        h = np.where(mask, pre, 0)

    est = estimate(_Jacobian(ws, masks), "lanczos", tol=float(tol), maxiter=int(maxiter),
                   seed=seed)
    return float(est.sigma), np.asarray(est.v)
