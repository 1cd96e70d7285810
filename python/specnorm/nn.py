"""Deep-learning uses of the spectral norm, on NumPy and CuPy arrays with one implementation.

* :class:`SpectralNorm`: spectral normalization ``W / sigma(W)`` by the power iteration that
  ``torch.nn.utils.parametrizations.spectral_norm`` runs, with a converged warm start, an
  optional residual target and a bracket on ``sigma_1``.
* :func:`spectral_penalty`: the regularizer ``lam / 2 * sigma_1(W)^2`` with its gradient.
* :func:`lipschitz_bound`: the product of the layers' spectral norms, a global Lipschitz bound.
* :func:`local_lipschitz`: the spectral norm of a ReLU network's Jacobian at a point,
  matrix-free.

The array code takes its namespace from ``array_api_compat.array_namespace``, so the same
functions serve NumPy, CuPy and (through :mod:`specnorm.torch`) PyTorch tensors.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Sequence
from typing import Any

import array_api_compat
import numpy as np

from ._api import estimate, sigma_many
from .backends import resolve as _resolve_backend

__all__ = ["SpectralNorm", "lipschitz_bound", "local_lipschitz", "spectral_penalty"]

#: Most extra power steps one call makes to meet ``tol`` (after its ``n_power_iterations``).
MAX_EXTRA_STEPS = 1000
#: Residual target of the warm-up estimate when ``tol`` is not set.
WARMUP_TOL = 1e-6


# --------------------------------------------------------------------------------------------
# Checks and helpers shared with specnorm.torch


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


def _is_complex(xp: Any, a: Any) -> bool:
    return bool(xp.isdtype(a.dtype, "complex floating"))


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


def _norm(xp: Any, x: Any) -> float:
    return float(xp.linalg.vector_norm(x))


def _normalize(xp: Any, x: Any, eps: float) -> tuple[Any, float]:
    """(x / max(||x||, eps), ||x||): PyTorch's ``F.normalize`` rule."""
    nrm = _norm(xp, x)
    return x / max(nrm, eps), nrm


def _rmatvec(xp: Any, mat: Any, u: Any, cplx: bool) -> Any:
    """``mat^H u`` without forming the transpose."""
    if cplx:
        return xp.conj(xp.conj(u) @ mat)
    return u @ mat


def _vdot(xp: Any, u: Any, y: Any, cplx: bool) -> Any:
    return xp.sum(xp.conj(u) * y) if cplx else xp.sum(u * y)


def power_iterate(xp: Any, mat: Any, u: Any, v: Any, steps: int, eps: float,
                  tol: float | None) -> dict[str, Any]:
    """``steps`` power steps on ``mat`` from (u, v), then more while the residual exceeds tol.

    One step is PyTorch's: ``u = normalize(mat v)``, then ``v = normalize(mat^H u)`` (each with
    the ``eps`` floor of ``F.normalize``). The value ``sigma = u^H mat v`` that PyTorch computes
    with a third product equals ``||mat^H u||`` (if it exceeds eps; ``||mat^H u||^2 / eps``
    otherwise) because v is ``mat^H u`` normalized, so it is read off the step for free.

    With ``tol`` set, steps continue (at most ``MAX_EXTRA_STEPS`` more) while
    ``||mat v - sigma u|| / sigma > tol``. For the pair a step returns, ``mat^H u = sigma v``
    holds exactly, so this half is the one that measures convergence; it is the residual of
    :class:`specnorm.Estimate` with the roles of u and v exchanged.

    Returns a dict with ``u``, ``v``, ``sigma`` (float), ``lower`` (``||mat^H u|| / ||u||``, a
    certain lower bound on sigma_1), ``residual`` (float, or None when tol is None), ``steps``.
    """
    cplx = _is_complex(xp, mat)
    nx = unorm = 0.0
    done = 0

    def step(y: Any) -> tuple[Any, Any, float, float]:
        u_new, ny = _normalize(xp, y, eps)
        x = _rmatvec(xp, mat, u_new, cplx)
        v_new, nx_new = _normalize(xp, x, eps)
        return u_new, v_new, nx_new, ny / max(ny, eps)

    for _ in range(steps):
        u, v, nx, unorm = step(mat @ v)
        done += 1
    sig = nx if nx > eps else nx * nx / eps
    residual = None
    if tol is not None:
        for extra in range(MAX_EXTRA_STEPS + 1):
            y = mat @ v
            residual = _norm(xp, y - sig * u) / sig if sig > 0 else 0.0
            if residual <= tol or extra == MAX_EXTRA_STEPS or not math.isfinite(residual):
                break
            u, v, nx, unorm = step(y)
            done += 1
            sig = nx if nx > eps else nx * nx / eps
    lower = nx / unorm if unorm > 0 else 0.0
    return {"u": u, "v": v, "sigma": sig, "lower": lower, "residual": residual, "steps": done}


def certain_upper(mat: Any) -> float:
    """A certain upper bound on sigma_1(mat): ``min(||mat||_F, sqrt(||mat||_1 ||mat||_inf))``,
    the one-pass bound of the backend that owns ``mat`` (without overflow at any scale)."""
    be = _resolve_backend("auto", mat)
    return be.dense_bounds(be.prepare(mat))[1]


def warm_start(mat: Any, tol: float, seed: Any) -> tuple[Any, Any]:
    """Converged (u, v) of a NumPy or CuPy matrix from :func:`specnorm.estimate` (Lanczos for
    large matrices): ``mat v = sigma u`` and ``||mat^H u - sigma v|| <= tol * sigma``."""
    est = estimate(mat, tol=tol, seed=seed)
    return est.u, est.v


# --------------------------------------------------------------------------------------------
# SpectralNorm


class SpectralNorm:
    """Spectral normalization ``W -> W / sigma_hat(W)``, with the state of the power iteration.

    The weight is viewed as an ``(h, w)`` matrix as PyTorch does: axis ``dim`` moved to the
    front, the remaining axes flattened (``h = W.shape[dim]``, ``w = W.size // h``). Between
    calls the layer keeps unit vectors ``u`` (length h) and ``v`` (length w). In training mode
    each call makes ``n_power_iterations`` steps of PyTorch's power iteration (``u =
    normalize(W v)``, ``v = normalize(W^T u)``, both with PyTorch's ``eps`` floor) and divides
    W by ``sigma_hat = u^T W v``; from the same W, u and v the output equals that of
    ``torch.nn.utils.parametrizations.spectral_norm`` up to rounding. In eval mode (see
    :meth:`eval`) no step is made and the stored u, v give ``sigma_hat``.

    Warm start: the first call, before any state exists (or after :meth:`reset`), sets u and v
    to the converged singular vectors from :func:`specnorm.estimate` (Lanczos on large
    matrices), then proceeds as above. PyTorch instead makes a fixed 15 power steps, whose
    error shrinks like ``(sigma_2 / sigma_1)^(2k)``: with a gap ratio of 0.99, 15 steps leave
    sigma_hat percents too low. Lanczos converges like a Chebyshev polynomial (about the square
    root of the power method's step count) and stops when its residual meets the target, so the
    first normalized weight has ``sigma_1`` within ``tol`` of 1 whatever the gap.

    Parameters
    ----------
    n_power_iterations : int
        Power steps per training-mode call, at least 1.
    eps : float
        The floor of every normalization (``x / max(||x||, eps)``), positive.
    dim : int
        The output axis of the weight (0 for linear and convolution kernels, 1 for transposed
        convolutions).
    seed : int or numpy.random.Generator, optional
        Seeds the random start of the warm-up estimate.
    tol : float, optional
        If set, each training-mode call continues after its ``n_power_iterations`` steps (at most
        ``MAX_EXTRA_STEPS`` more) until ``||W v - sigma u|| / sigma <= tol``; the warm-up then
        also runs at this tolerance (else at ``WARMUP_TOL``).
    bounds : bool
        If true, each call also computes the certain upper bound ``upper`` (one more pass over
        W, by the backend's one-pass bounds); else ``upper`` is None.

    Attributes
    ----------
    u, v : array or None
        The current unit vectors (None before the first call).
    sigma : float or None
        ``sigma_hat`` of the last call, the value W was divided by.
    lower : float or None
        A certain lower bound on ``sigma_1(W)`` from the last call: a Rayleigh quotient
        ``||W^T u|| / ||u||`` (training) or ``||W v|| / ||v||`` (eval), exact up to the rounding
        of one product, as ``Estimate.lower``.
    upper : float or None
        With ``bounds=True``, a certain upper bound: ``min(||W||_F, sqrt(||W||_1 ||W||_inf))``
        of the matrix view (not the residual: a small residual puts sigma_hat near *some*
        singular value, not necessarily the largest).
    residual : float or None
        ``||W v - sigma u|| / sigma`` at the end of the last call when ``tol`` is set.
    training : bool
        The mode; :meth:`train` and :meth:`eval` set it.

    Examples
    --------
    >>> import numpy as np
    >>> from specnorm.nn import SpectralNorm
    >>> W = np.diag([4.0, 2.0, 1.0])
    >>> layer = SpectralNorm(seed=0)
    >>> np.round(np.diag(layer(W)), 6)
    array([1.  , 0.5 , 0.25])
    >>> round(layer.sigma, 6)
    4.0
    """

    def __init__(self, n_power_iterations: int = 1, eps: float = 1e-12, dim: int = 0,
                 seed: Any = None, tol: float | None = None, *, bounds: bool = False) -> None:
        check_power_options(n_power_iterations, eps, tol)
        if isinstance(dim, bool) or not isinstance(dim, numbers.Integral):
            raise TypeError(f"dim must be an int, got {type(dim).__name__}")
        self.n_power_iterations = int(n_power_iterations)
        self.eps = float(eps)
        self.dim = int(dim)
        self.seed = seed
        self.tol = None if tol is None else float(tol)
        self.bounds = bool(bounds)
        self.training = True
        self.u: Any = None
        self.v: Any = None
        self.sigma: float | None = None
        self.lower: float | None = None
        self.upper: float | None = None
        self.residual: float | None = None

    def train(self, mode: bool = True) -> SpectralNorm:
        """Set training mode (power steps on each call); returns self."""
        self.training = bool(mode)
        return self

    def eval(self) -> SpectralNorm:
        """Set eval mode: calls use the stored u and v and leave them unchanged; returns self."""
        return self.train(False)

    def reset(self) -> None:
        """Forget u and v: the next call warms up again."""
        self.u = self.v = None

    def state_dict(self) -> dict[str, Any]:
        """``{"u": u, "v": v}`` as copies (arrays of W's namespace), empty before the first
        call."""
        if self.u is None:
            return {}
        xp = array_api_compat.array_namespace(self.u)
        return {"u": xp.asarray(self.u, copy=True), "v": xp.asarray(self.v, copy=True)}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        """Restore u and v saved by :meth:`state_dict` (copies are kept; an empty dict resets).

        Raises
        ------
        ValueError
            A key is missing, u or v is not 1-D, or contains NaN or Inf.
        """
        if not state:
            self.reset()
            return
        missing = {"u", "v"} - set(state)
        if missing:
            raise ValueError(f"state is missing {sorted(missing)}; it needs 'u' and 'v'")
        vectors = []
        for key in ("u", "v"):
            arr = state[key]
            xp = array_api_compat.array_namespace(arr)
            if arr.ndim != 1:
                raise ValueError(f"state[{key!r}] must be 1-D, got shape {tuple(arr.shape)}")
            if not bool(xp.all(xp.isfinite(arr))):
                raise ValueError(f"state[{key!r}] contains NaN or Inf")
            vectors.append(xp.asarray(arr, copy=True))
        self.u, self.v = vectors

    def __call__(self, W: Any) -> Any:
        """``W / sigma_hat``: same shape, dtype and namespace as W (W is not modified).

        Raises
        ------
        ValueError
            W has fewer than 2 dimensions, an empty axis, NaN or Inf (detected through the
            products, which any non-finite entry makes non-finite); ``dim`` is out of range;
            the stored u, v do not fit W's matrix view.
        TypeError
            W is not a floating or complex array.
        """
        xp = array_api_compat.array_namespace(W)
        _check_weight(xp, W)
        dim = check_dim(self.dim, W.ndim)
        mat = weight_to_matrix(xp, W, dim)
        h, w = (int(d) for d in mat.shape)
        if self.u is None:
            u, v = warm_start(mat, self.tol if self.tol is not None else WARMUP_TOL, self.seed)
        else:
            u, v = self.u, self.v
            if tuple(u.shape) != (h,) or tuple(v.shape) != (w,):
                raise ValueError(f"the stored u, v have lengths ({u.shape[0]}, {v.shape[0]}) "
                                 f"but W's matrix view (dim={dim}) is {h} x {w}; call reset() "
                                 "for a weight of another shape")
        if u.dtype != mat.dtype:
            u, v = xp.astype(u, mat.dtype), xp.astype(v, mat.dtype)
        residual = None
        # Non-finite entries are detected from sigma below, not reported as NumPy warnings.
        with np.errstate(invalid="ignore", over="ignore", divide="ignore"):
            if self.training:
                out = power_iterate(xp, mat, u, v, self.n_power_iterations, self.eps, self.tol)
                u, v, sig, lower, residual = (out[k] for k in ("u", "v", "sigma", "lower",
                                                               "residual"))
            else:
                cplx = _is_complex(xp, mat)
                y = mat @ v
                sig = float(xp.real(_vdot(xp, u, y, cplx)))
                vnorm = _norm(xp, v)
                lower = _norm(xp, y) / vnorm if vnorm > 0 else 0.0
        if not math.isfinite(sig):
            raise ValueError("W contains NaN or Inf (its products with u and v are not "
                             "finite); spectral normalization needs finite entries")
        if sig == 0.0:
            raise ValueError("sigma_hat is 0 (W is zero, or u, v lie in its null spaces); "
                             "W / sigma_hat is undefined")
        self.u, self.v = u, v
        self.sigma, self.lower, self.residual = sig, lower, residual
        self.upper = max(certain_upper(mat), lower) if self.bounds else None
        return W / sig


# --------------------------------------------------------------------------------------------
# The penalty, and Lipschitz bounds


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


# --------------------------------------------------------------------------------------------
# The local Lipschitz constant of a ReLU network


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
