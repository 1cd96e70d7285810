"""Spectral normalization of a PyTorch module's parameter, as a ``torch.nn.utils.parametrize``
parametrization: a drop-in for ``torch.nn.utils.parametrizations.spectral_norm`` with a
converged warm start and an optional residual target.

This module imports torch; ``import specnorm`` does not import it.
"""

from __future__ import annotations

from typing import Any

import array_api_compat
import numpy as np

from ._install import install_hint

try:
    import torch
    from torch import nn
    from torch.nn.utils import parametrize
except ImportError as exc:
    raise ImportError(
        f"specnorm.torch needs PyTorch, which is not installed here; install it with: "
        f"{install_hint('torch')}"
    ) from exc

from . import nn as _snn

__all__ = ["spectral_norm"]

_TRANSPOSED = (nn.ConvTranspose1d, nn.ConvTranspose2d, nn.ConvTranspose3d)


class _SpectralNormParametrization(nn.Module):
    """``weight -> weight / sigma_hat`` with the power-iteration state in the buffers ``_u`` and
    ``_v`` (the names PyTorch's parametrization uses, so state dicts carry over)."""

    def __init__(self, weight: torch.Tensor, n_power_iterations: int, dim: int, eps: float,
                 tol: float | None, seed: Any) -> None:
        super().__init__()
        _snn.check_power_options(n_power_iterations, eps, tol)
        if not (weight.is_floating_point() or weight.is_complex()):
            raise TypeError(f"the weight must be floating or complex, got {weight.dtype}")
        self.dim = _snn.check_dim(dim, max(weight.ndim, 1))
        self.eps = float(eps)
        self.tol = None if tol is None else float(tol)
        self.n_power_iterations = int(n_power_iterations)
        if weight.ndim > 1:
            if weight.numel() == 0:
                raise ValueError(f"the weight is empty (shape {tuple(weight.shape)})")
            with torch.no_grad():
                mat = self._matrix(weight.detach())
                if not bool(torch.isfinite(mat).all()):
                    raise ValueError("the weight contains NaN or Inf")
                u, v = self._warm_start(mat, seed)
            self.register_buffer("_u", u)
            self.register_buffer("_v", v)

    def _matrix(self, weight: torch.Tensor) -> torch.Tensor:
        return _snn.weight_to_matrix(array_api_compat.array_namespace(weight), weight, self.dim)

    def _warm_start(self, mat: torch.Tensor, seed: Any) -> tuple[torch.Tensor, torch.Tensor]:
        """Converged u, v from specnorm.estimate on a NumPy copy (once, at registration),
        instead of PyTorch's fixed 15 power steps."""
        host = mat.cpu()
        if host.dtype in (torch.float16, torch.bfloat16):
            host = host.to(torch.float32)
        tol = self.tol if self.tol is not None else _snn.WARMUP_TOL
        u, v = _snn.warm_start(np.ascontiguousarray(host.numpy()), tol, seed)
        as_tensor = {"dtype": mat.dtype, "device": mat.device}
        return torch.as_tensor(np.asarray(u), **as_tensor), torch.as_tensor(np.asarray(v),
                                                                            **as_tensor)

    def forward(self, weight: torch.Tensor) -> torch.Tensor:
        if weight.ndim == 1:  # a vector: its 2-norm is its spectral norm, exactly
            return weight / torch.clamp(torch.linalg.vector_norm(weight), min=self.eps)
        mat = self._matrix(weight)
        if self.training:
            with torch.no_grad():
                xp = array_api_compat.array_namespace(mat)
                out = _snn.power_iterate(xp, mat.detach(), self._u, self._v,
                                         self.n_power_iterations, self.eps, self.tol)
                # In place, as PyTorch does, so that replicas sharing the buffers (DataParallel)
                # see the update.
                self._u.copy_(out["u"])
                self._v.copy_(out["v"])
        # specnorm.nn reads sigma off the power step (sigma = ||W^H u||, no third product). Here
        # sigma must be a function of the weight in the autograd graph, with u and v constants,
        # so that d sigma = u^H dW v (the gradient PyTorch's parametrization gives): it is
        # recomputed from the weight, with clones of the buffers (they may be updated in place
        # by a later forward before this one's backward runs).
        u = self._u.clone(memory_format=torch.contiguous_format)
        v = self._v.clone(memory_format=torch.contiguous_format)
        sigma = torch.vdot(u, torch.mv(mat, v))
        return weight / sigma

    def right_inverse(self, value: torch.Tensor) -> torch.Tensor:
        return value


def spectral_norm(module: nn.Module, name: str = "weight", n_power_iterations: int = 1,
                  eps: float = 1e-12, dim: int | None = None, tol: float | None = None, *,
                  seed: Any = None) -> nn.Module:
    """Register spectral normalization on ``module.<name>``: it then reads ``W / sigma_hat``.

    Behaves as ``torch.nn.utils.parametrizations.spectral_norm``: the weight is viewed as a
    matrix with axis ``dim`` first; the buffers ``_u`` and ``_v`` of the parametrization
    (``module.parametrizations.<name>[0]``) hold the power-iteration state and are part of the
    module's state dict under the same keys as PyTorch's; in training mode each access makes
    ``n_power_iterations`` power steps (``u = normalize(W v)``, ``v = normalize(W^H u)``) under
    ``no_grad``, updating the buffers in place; in eval mode it uses them as they are; the
    result is ``W / (u^H W v)``, differentiated with u and v held constant. From the same weight
    and buffers it gives PyTorch's result up to rounding. A 1-D parameter is divided by its
    2-norm.

    Differences: the buffers start from the converged singular vectors of
    :func:`specnorm.estimate` (Lanczos, stopped on its residual) rather than from 15 power
    steps, whose accuracy depends on the gap ``sigma_2 / sigma_1``; with ``tol`` set, each
    training-mode access continues stepping until ``||W v - sigma u|| <= tol * sigma`` (at most
    ``specnorm.nn.MAX_EXTRA_STEPS`` more steps); an out-of-range ``dim`` raises ValueError.

    Parameters
    ----------
    module : torch.nn.Module
    name : str
        The parameter (or buffer) to normalize.
    n_power_iterations : int
        Power steps per training-mode access, at least 1.
    eps : float
        The floor of every normalization, positive.
    dim : int, optional
        Default 1 for ``ConvTranspose1d/2d/3d``, else 0 (as PyTorch).
    tol : float, optional
        Residual target, 0 < tol < 1 (see above); also the warm-up's (else 1e-6).
    seed : int or numpy.random.Generator, optional
        Seeds the warm-up estimate's random start.

    Returns
    -------
    torch.nn.Module
        ``module``, parametrized.
    """
    weight = getattr(module, name, None)
    if not isinstance(weight, torch.Tensor):
        raise ValueError(f"module {type(module).__name__} has no parameter or buffer {name!r}")
    if dim is None:
        dim = 1 if isinstance(module, _TRANSPOSED) else 0
    parametrize.register_parametrization(
        module, name,
        _SpectralNormParametrization(weight, n_power_iterations, dim, eps, tol, seed))
    return module
