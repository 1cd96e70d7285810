"""Rayleigh quotients and Rayleigh-quotient iteration for the largest singular value, on every
matrix of a batch at once: the twin of rayleigh.hpp.

A Lanczos start to a loose tolerance is refined by Rayleigh-quotient iteration: with the shift
rho = sigma^2, MINRES solves (A^H A - rho I) x = v approximately (two products a step), and the
better Ritz vector of span{v, x} is certified from fresh products. Inexact solves can stall near
the working precision; Lanczos from the refined vector then finishes with the budget left.

Intended differences from rayleigh.hpp:
- Batched: MINRES and the Ritz steps run on every matrix still refining at once, with the
  recurrences' scalars of all matrices in one host transfer per step; a matrix whose MINRES
  converges stops counting products while the others go on.
"""

from __future__ import annotations

import math
from dataclasses import replace
from typing import Any

import numpy as np

from .._rules import RAYLEIGH_INNER_STEPS, RAYLEIGH_MINRES_RTOL
from .lanczos import finish, lanczos
from .operator import Operator
from .result import Options, Run, certify, expired, rounding

__all__ = ["rayleigh", "rayleigh_quotient"]

#: MINRES steps per refinement (at most), and the relative residual at which MINRES stops.
INNER_STEPS, INNER_RTOL = RAYLEIGH_INNER_STEPS, RAYLEIGH_MINRES_RTOL


def rayleigh_quotient(op: Operator, x: Any) -> np.ndarray:
    """||A x|| / ||x|| for every nonzero row x: a certain lower bound on sigma_1. One product."""
    return op.real_host(op.norms(op.apply(op.normalized(x))))[0]


def _minres(op: Operator, members: np.ndarray, ref: np.ndarray, b: Any, steps: int,
            opt: Options, run: Run) -> Any:
    """About (A^H A / ref^2 - I)^{-1} b, row by row, by at most ``steps`` MINRES steps (Paige &
    Saunders, 1975), each two products (counted per matrix while its MINRES runs)."""
    xp = op.xp
    count = members.size
    ref_dev = op.put_real(ref)
    beta = op.real_host(op.norms(b))[0]
    active = beta > 0
    x = xp.zeros_like(b)
    v_prev, w, w_prev = xp.zeros_like(b), xp.zeros_like(b), xp.zeros_like(b)
    v = op.divide(b, op.put_real(np.where(beta > 0, beta, 1.0)))
    beta1 = beta.copy()
    c, s = np.full(count, -1.0), np.zeros(count)
    dbar, eps_next, phibar = np.zeros(count), np.zeros(count), beta1.copy()
    tiny = float(np.finfo(np.float32 if op.eps > 1e-10 else np.float64).tiny)
    for k in range(steps):
        if expired(opt) or not np.any(active):
            break
        _, y = op.normal(v, 1.0 / ref_dev)
        run.iterations[members] += 2 * active
        y = op.divide(y, ref_dev) - v
        if k > 0:
            y = y - op.as_dtype(op.put_real(beta))[:, None] * v_prev
        alpha_dev = xp.real(op.dots(v, y))
        y = y - op.as_dtype(alpha_dev)[:, None] * v
        alpha, beta = op.real_host(alpha_dev, op.norms(y))
        # Apply the previous rotation, then make the one that annihilates beta.
        eps_k = eps_next
        delta = c * dbar + s * alpha
        gbar = s * dbar - c * alpha
        eps_next = s * beta
        dbar = -c * beta
        gamma = np.maximum(np.hypot(gbar, beta), tiny)
        c, s = gbar / gamma, beta / gamma
        phi = np.where(active, c * phibar, 0.0)
        phibar = s * phibar
        # w_k = (v_k - eps_k w_{k-2} - delta w_{k-1}) / gamma
        w_new = (v - op.as_dtype(op.put_real(eps_k))[:, None] * w_prev
                 - op.as_dtype(op.put_real(delta))[:, None] * w)
        w_new = op.divide(w_new, op.put_real(gamma))
        w_prev, w = w, w_new
        x = x + op.as_dtype(op.put_real(phi))[:, None] * w
        active &= (beta > 0) & ~(phibar <= INNER_RTOL * beta1)
        v_prev = v
        v = op.divide(y, op.put_real(np.where(beta > 0, beta, 1.0)))
    return x


def rayleigh(op: Operator, members: np.ndarray, v0: Any, opt: Options, run: Run) -> None:
    """A Lanczos start to max(tol, min(1e-2, sqrt(tol))) refined by Rayleigh-quotient iteration
    until ||A^H u - sigma v|| <= tol * sigma or the budget is spent, on the matrices
    ``members`` of ``run`` (``op`` holds them in order) from the rows of ``v0``."""
    xp = op.xp
    # The Lanczos start separates sigma_1 at tol itself (rayleigh.hpp).
    lanczos(op, members, v0, replace(opt, tol=max(opt.tol, min(1e-2, math.sqrt(opt.tol))),
                                     miss_tol=opt.tol), run)
    settled = (run.converged[members] & (run.residual[members] <= opt.tol)
               & run.separated(members, run.sigma[members], opt.tol, rounding(op)))
    refine = ~settled & (run.sigma[members] > 0)
    run.converged[members[refine]] = False
    if not np.any(refine):
        return
    rows = np.flatnonzero(refine)
    op, members = op.select(rows), members[rows]
    zh, v = run.vectors(op, members)
    sigma = run.sigma[members].copy()
    inner = min(INNER_STEPS, max(2, op.n))

    def part(x: Any, keep: np.ndarray) -> Any:
        return xp.take(x, op.put_index(keep), axis=0)

    while True:
        # Rows out of budget or time, and below rows that cannot progress: Lanczos finishes.
        stop = ~(run.iterations[members] + 2 * inner + 1 + 2 <= run.limit[members])
        if expired(opt):
            stop[:] = True
        if np.any(stop):
            out, keep = np.flatnonzero(stop), np.flatnonzero(~stop)
            finish(op.select(out), members[out], part(v, out), opt, run)
            if not keep.size:
                return
            zh, v, sigma = part(zh, keep), part(v, keep), sigma[keep]
            op, members = op.select(keep), members[keep]
        # (A^H A / sigma^2 - I) x = v: the shift is the Rayleigh quotient itself.
        x = _minres(op, members, sigma, v, inner, opt, run)
        # Ritz step on span{v, x}: orthonormal basis {v, x'}.
        x = x - op.dots(v, x)[:, None] * v
        x = x - op.dots(v, x)[:, None] * v
        xn_dev = op.norms(x)
        x = op.divide(x, xp.where(xn_dev > 0, xn_dev, xp.ones_like(xn_dev)))
        ax = op.divide(op.apply(x), op.put_real(sigma))
        run.iterations[members] += 1
        xn, zn, an, h12 = op.fetch(xn_dev, op.norms(zh), op.norms(ax), op.dots(zh, ax))
        xn, zn, an = np.real(xn), np.real(zn), np.real(an)
        h12 = h12 if op.complex else np.real(h12)
        h11, h22 = zn * zn, an * an
        off = np.abs(h12)
        lam = 0.5 * (h11 + h22) + np.hypot(0.5 * (h11 - h22), off)
        c1 = np.where(off > 0, h12, 0.0)
        c2 = np.where(off > 0, lam - h11, 1.0)
        # x' adds nothing, or no progress is possible at this precision
        stuck = ~(xn > 0) | ((off == 0) & ~(h22 > h11)) | ~(lam > h11)
        cn = np.hypot(np.abs(c1), np.abs(c2))
        cn = np.where(cn > 0, cn, 1.0)
        v_new = op.put(c1 / cn)[:, None] * v + op.put(c2 / cn)[:, None] * x
        if np.any(stuck):
            out, keep = np.flatnonzero(stuck), np.flatnonzero(~stuck)
            finish(op.select(out), members[out], part(v, out), opt, run)
            if not keep.size:
                return
            zh, v, v_new, sigma = part(zh, keep), part(v, keep), part(v_new, keep), sigma[keep]
            op, members = op.select(keep), members[keep]
        # The stopping rule from fresh products: the certification is exact.
        found = certify(op, members, v_new, opt, run)
        if found.u is not None and np.any(found.good):
            mask = op.put_real(found.good.astype(np.float64))[:, None] > 0
            zh, v = xp.where(mask, found.u, zh), xp.where(mask, found.v, v)
            sigma = np.where(found.good, run.sigma[members], sigma)
        if np.any(found.done):
            keep = np.flatnonzero(~found.done)
            if not keep.size:
                return
            zh, v, sigma = part(zh, keep), part(v, keep), sigma[keep]
            op, members = op.select(keep), members[keep]
