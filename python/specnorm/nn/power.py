"""The power-iteration step of :mod:`specnorm.nn` (PyTorch's, with an optional residual
target), its vector helpers, the certain upper bound and the converged warm start."""

from __future__ import annotations

import math
from typing import Any

from .._api import estimate
from ..backends import resolve as _resolve_backend

#: Most extra power steps one call makes to meet ``tol`` (after its ``n_power_iterations``).
MAX_EXTRA_STEPS = 1000
#: Residual target of the warm-up estimate when ``tol`` is not set.
WARMUP_TOL = 1e-6


def _is_complex(xp: Any, a: Any) -> bool:
    return bool(xp.isdtype(a.dtype, "complex floating"))



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
