"""Spectral normalization ``W / sigma(W)`` with a persistent power-iteration state."""

from __future__ import annotations

import math
import numbers
from typing import Any

import array_api_compat
import numpy as np

from ._checks import _check_weight, check_dim, check_power_options, weight_to_matrix
from .power import (
    WARMUP_TOL,
    _is_complex,
    _norm,
    _vdot,
    certain_upper,
    power_iterate,
    warm_start,
)


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
