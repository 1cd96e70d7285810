"""Small matrices (min(m, n) <= 64): power iteration on the formed Gram matrix, on every matrix
of a batch at once: the twin of small.hpp (see there for the mathematics).

The k x k Gram matrix G = A^H A (A A^H when m < n), scaled by a certain bound so that its
entries lie in [-1, 1], is squared three times with a renormalization, H = G^8 / c: one product
with H is eight steps of power iteration on A^H A. Steps stop when the Gram residual is below
tol^2; a top pair too close for 4k steps is settled by the top eigenvector of G from a dense
eigensolver. The pair is certified from fresh products with A, Lanczos finishes where rounding
kept the certified residual above tol, and ||G^8||_F gives a certain upper bound.

Intended differences from small.hpp:
- Batched: G, its squarings and the steps run on every matrix at once (batched matmuls), with
  one host transfer per step for the norms; a matrix that settles stops counting products.
- Stored layout: G is formed from A as the array library holds it (the core forms it from the
  stored block, A or A^T).
- Which singular value: sigma_1 <= s* is tested on G's largest eigenvalue from a batched
  eigensolver (the core factors s*^2 / hint^2 I - G by Cholesky): the same test to rounding.
"""

from __future__ import annotations

import math
from dataclasses import replace
from typing import Any

import numpy as np

from .lanczos import lanczos
from .operator import Operator, StackOperator
from .result import NONE, Options, Run, certify, rounding

__all__ = ["SQUARINGS", "gram_power"]

#: Squarings of the Gram matrix: one product with H is 2^SQUARINGS power steps.
SQUARINGS = 3


def gram_power(op: StackOperator, members: np.ndarray, v0: Any, opt: Options,
               run: Run) -> None:
    """The Gram power iteration on the matrices ``members`` of ``run`` (``op`` holds them in
    order) from the rows of ``v0``; ``run.upper`` gets the kernel's certain bound."""
    xp = op.xp
    m, n = op.m, op.n
    right = n <= m  # iterate on the right vectors (G = A^H A) or the left (A A^H)
    k = n if right else m
    count = members.size
    hint = np.where(run.hint[members] > 0, run.hint[members], 1.0)
    info = np.finfo(np.float32 if op.eps > 1e-10 else np.float64)
    lo = math.sqrt(float(info.tiny)) * 1e6
    hi = math.sqrt(float(info.max)) * 1e-6
    extreme = ~((hint > lo) & (hint < hi))
    inv = 1.0 / hint
    # extreme scales: one scaled copy of A keeps G finite and normal; else G scaled after
    a = op.a * op.as_dtype(op.put_real(np.where(extreme, inv, 1.0)))[:, None, None]
    ah = op.conj(xp.matrix_transpose(a))
    G = xp.matmul(ah, a) if right else xp.matmul(a, ah)
    G = G * op.as_dtype(op.put_real(np.where(extreme, 1.0, inv * inv)))[:, None, None]
    eye = op.put(np.eye(k))
    trace0 = op.real_host(xp.real(xp.sum(G * eye, axis=(1, 2))))[0]
    # H = G^(2^done) / c with log c tracked: ||H||_F c bounds lambda_1(G)^(2^done) from above.
    H = G
    log_c = np.zeros(count)
    done = np.zeros(count, dtype=np.int64)
    for _ in range(SQUARINGS):
        trace = op.real_host(xp.real(xp.sum(H * eye, axis=(1, 2))))[0]
        go = (trace > 0) & (done == _)
        if not np.any(go):
            break
        t = np.where(go, trace, 1.0)
        Hs = H / op.as_dtype(op.put_real(t))[:, None, None]
        mask = op.put_real(go.astype(np.float64))[:, None, None] > 0
        H = xp.where(mask, xp.matmul(Hs, Hs), H)
        log_c = np.where(go, 2 * log_c + 2 * np.log(t), log_c)
        done += go
    h_norm = op.real_host(xp.linalg.vector_norm(xp.reshape(H, (count, k * k)), axis=1))[0]
    eps = op.eps
    with np.errstate(over="ignore", divide="ignore", invalid="ignore"):
        computed = (np.exp((np.log(h_norm) + log_c) / np.ldexp(1.0, done))
                    * (1.0 + 4.0 * (k + 2) * eps * (done + 1)))
        formed = 1.01 * max(m, n) * eps * trace0
        upper = hint * np.sqrt(computed + formed)
    run.upper[members] = np.where((h_norm > 0) & np.isfinite(h_norm), upper, np.inf)
    per_step = 2 << SQUARINGS

    run.bound_kind[members] = NONE  # the Gram start is derived: the bracket is the certain one
    x = v0 if right else op.apply(v0)
    x = op.normalized(x)
    # Add the largest column of H with the phase of its overlap with x (small.hpp).
    col_norms = op.real_host(xp.linalg.vector_norm(H, axis=1))[0]
    j_max = np.argmax(col_norms, axis=1)
    pick = op.put(np.eye(k)[j_max])  # (count, k): selects column j_max
    column = xp.matmul(H, pick[..., None])[..., 0]
    cn = op.norms(column)
    overlap = op.dots(column, x)
    size = xp.abs(overlap)
    phase = xp.where(size > 0, overlap / op.as_dtype(xp.where(size > 0, size,
                                                                xp.ones_like(size))),
                     xp.ones_like(overlap))
    unit_col = op.divide(column, xp.where(cn > 0, cn, xp.ones_like(cn)))
    y = x + phase[:, None] * unit_col
    yn, cn_h = op.real_host(op.norms(y), cn)
    y = xp.where(op.put_real((yn > 0).astype(float))[:, None] > 0, y, column)
    y = xp.where(op.put_real(((yn > 0) | (cn_h > 0)).astype(float))[:, None] > 0, y,
                 op.put(np.ones((count, k))))
    x = op.normalized(y)

    floor = 16.0 * eps * math.sqrt(k)
    inner_tol = max(opt.tol * opt.tol, floor)
    spent = np.zeros(count, dtype=np.int64)
    budget = np.maximum(0, run.limit[members] // 2 - 2)
    live = np.ones(count, dtype=bool)
    settled = np.zeros(count, dtype=bool)
    for _ in range(4 * k):
        live &= spent + per_step <= budget
        if not np.any(live):
            break
        y = xp.matmul(H, x[..., None])[..., 0]
        spent += per_step * live
        yn = xp.linalg.vector_norm(y, axis=1)
        x_new = op.divide(y, xp.where(yn > 0, yn, xp.ones_like(yn)))
        gx = xp.matmul(G, x_new[..., None])[..., 0]
        lam = xp.real(op.dots(x_new, gx))
        gx = gx - op.as_dtype(lam)[:, None] * x_new
        yn_h, lam_h, gn_h = op.real_host(yn, lam, xp.linalg.vector_norm(gx, axis=1))
        moved = live & (yn_h > 0)
        x = xp.where(op.put_real(moved.astype(float))[:, None] > 0, x_new, x)
        good = moved & (lam_h > 0)
        now = good & (gn_h <= inner_tol * lam_h)
        settled |= now
        live &= good & ~now
    if not np.all(settled):
        # A close top pair: the eigensolver's top eigenvector of G (accurate to eps / gap).
        _, vectors = xp.linalg.eigh(G)
        top = vectors[:, :, k - 1]
        x = xp.where(op.put_real(settled.astype(float))[:, None] > 0, x, top)
    run.iterations[members] = spent
    v = x if right else op.adjoint(x)
    vn = op.real_host(op.norms(v))[0]
    if not np.all(vn > 0):
        v = xp.where(op.put_real((vn > 0).astype(float))[:, None] > 0, v, v0)
    top_value = op.real_host(xp.linalg.eigvalsh(G)[:, k - 1])[0]

    def decide(rows: np.ndarray) -> None:
        """sigma_1 <= s* = sigma (1 + tol) exactly when lambda_1(G) < (s* / hint)^2 (to the
        rounding of G): the members' excluded bound and converged flag (small.hpp)."""
        idx = members[rows]
        star = run.sigma[idx] * (1 + opt.tol)
        ok = top_value[rows] < (star / hint[rows]) ** 2
        run.excluded[idx] = np.where(ok, star, np.inf)
        run.converged[idx] = ((run.residual[idx] <= opt.tol)
                              & run.separated(idx, run.sigma[idx], opt.tol, rounding(op)))

    certify(op, members, v, opt, run)
    decide(np.arange(count))
    again = (~run.converged[members] & (run.residual[members] <= opt.tol)
             & (run.iterations[members] + 2 <= run.limit[members]))
    if np.any(again):
        # sigma_1 lies above: the eigensolver's top eigenvector of G gives the pair.
        rows = np.flatnonzero(again)
        _, vectors = xp.linalg.eigh(xp.take(G, op.put_index(rows), axis=0))
        x_top = vectors[:, :, k - 1]
        sub = op.select(rows)
        certify(sub, members[rows], x_top if right else sub.adjoint(x_top), opt, run)
        decide(rows)
    go = ~run.converged[members] & (run.iterations[members] + 4 <= run.limit[members])
    if np.any(go):
        rows = np.flatnonzero(go)
        _finish(op, members, rows, opt, run)
        tail_done = run.residual[members[rows]] <= opt.tol
        decide(rows[tail_done])


def _finish(op: Operator, members: np.ndarray, rows: np.ndarray, opt: Options,
            run: Run) -> None:
    """Lanczos from the certified vectors with each matrix's budget left; its answer replaces
    the kernel's (with no random-start bound), as in small.hpp."""
    sub, idx = op.select(rows), members[rows]
    _, v = run.vectors(sub, idx)
    tail = Run(idx.size, run.limit[idx] - run.iterations[idx], run.hint[idx], run.seed[idx])
    tail.excluded[:] = 0.0  # a derived start: the test on G decides afterwards
    lanczos(sub, np.arange(idx.size), v, replace(opt, start_weight=0.0), tail)
    run.iterations[idx] += tail.iterations
    run.lower[idx] = np.maximum(tail.lower, run.lower[idx])
    run.sigma[idx], run.residual[idx] = tail.sigma, tail.residual
    run.converged[idx] = tail.converged
    run.bound_kind[idx], run.bound_steps[idx] = NONE, 0
    u, v = tail.vectors(sub)
    run.record(idx, u, v)
