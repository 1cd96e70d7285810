"""Golub-Kahan-Lanczos bidiagonalization with reorthogonalization and thick restarts, on every
matrix of a batch at once: the twin of lanczos.hpp (see there for the recurrences).

After j steps from the unit start p_1, A P_j = Q_j B_j and A^H Q_j = P_j B_j^H + beta_j p_{j+1}
e_j^T; the top Ritz triplet of B_j and its residual |beta_j| |e_j^T u~_1| decide when to stop,
and the answer is certified from fresh products (result.certify). A full basis keeps the leading
half of the Ritz vectors and p_{j+1} (a thick restart).

Intended differences from lanczos.hpp:
- Batched: the matrices of a cohort step together with batched matmuls; one host transfer per
  step carries every matrix's new column of B. A matrix leaves the cohort when it settles or
  its budget ends. A matrix whose certification misses tol (rounding made the recurrence
  optimistic) or whose start lay in a null space starts again, as in the core, in a later
  cohort of such matrices, with its own product count.
- Each Gram-Schmidt pass of the orthogonalization (the criterion of Daniel, Gragg, Kaufman and
  Stewart, as in the core) is computed for every matrix and applied where that matrix needs it,
  so no host transfer decides it.
- The top Ritz pair comes from a dense eigensolver (see ritz.py).
- Operators with a fused product (dense stacks) derive A^H q_j from the kept A^H q_i, as the core
  does for dense matrices; sparse operators apply A^H to q_j, as the core does for them.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .._rules import DGKS_RATIO, LANCZOS_TINY, RESTART_DIVISOR
from .operator import Operator
from .result import LANCZOS, NONE, Options, Run, certify, expired
from .ritz import top_ritz

__all__ = ["lanczos", "orthogonalize"]

def orthogonalize(op: Operator, basis: Any, count: int, x: Any,
                  relaxed: bool = False) -> tuple[Any, Any]:
    """The rows of x without their components along the first ``count`` rows of ``basis[b]``
    (orthonormal), and the coefficients removed (k, count): the last basis vector first, then a
    Gram-Schmidt pass over all, repeated while it removed more than half of what was left, at
    most twice. With ``relaxed``, a pass whose coefficients are below eps^(3/4) ||x|| removes
    nothing."""
    xp = op.xp
    rows = int(x.shape[0])
    if count == 0:
        return x, op.zeros(rows, 0)
    last = basis[:, count - 1, :]
    local = op.dots(last, x)
    x = x - local[:, None] * last
    before = op.norms(x)
    level = op.eps ** 0.75 if relaxed else 0.0
    span = basis[:, :count, :]
    h, again = None, None
    for _ in range(2):
        g = op.coefficients(span, x)
        use = op.norms(g) > level * before
        if again is not None:
            use = use & again
        g = xp.where(use[:, None], g, xp.zeros_like(g))
        x = x - op.combine(g, span)
        h = g if h is None else h + g
        after = op.norms(x)
        again = after < DGKS_RATIO * before
        before = after
    return x, h + local[:, None] * _unit_column(op, count)


def _orthogonalize_last(op: Operator, basis: Any, count: int, x: Any) -> tuple[Any, Any]:
    """x without its component along basis row count - 1 (the recurrence's local step)."""
    if count == 0:
        return x, op.zeros(int(x.shape[0]), 0)
    last = basis[:, count - 1, :]
    local = op.dots(last, x)
    return x - local[:, None] * last, local[:, None] * _unit_column(op, count)


def _unit_column(op: Operator, count: int) -> Any:
    e = np.zeros((1, count))
    e[0, count - 1] = 1.0
    return op.put(e)


def lanczos(op: Operator, members: np.ndarray, v0: Any, opt: Options, run: Run) -> None:
    """Restarted Golub-Kahan-Lanczos on the matrices ``members`` of ``run`` (``op`` holds them in
    order) from the rows of ``v0``. A matrix stops when its certified residual is at most
    tol * sigma, or when its budget is spent."""
    run.bound_kind[members] = LANCZOS
    state = _Cohorts(op, members, opt, run)
    state.queue.append((np.arange(members.size), op.normalized(v0), True))
    while state.queue:
        rows, start, first = state.queue.pop(0)
        state.cycle(rows, start, first)


class _Cohorts:
    """The cohorts of one Lanczos run: matrices that step together from j = 0."""

    def __init__(self, op: Operator, members: np.ndarray, opt: Options, run: Run) -> None:
        self.op, self.members, self.opt, self.run = op, members, opt, run
        self.kmax = max(2, min(opt.basis_size, op.n))
        self.tiny = LANCZOS_TINY * op.eps
        self.fresh = np.zeros(members.size, dtype=np.int64)
        self.queue: list[tuple[np.ndarray, Any, bool]] = []

    def cycle(self, rows: np.ndarray, start: Any, first_cycle: bool) -> None:
        """Steps the cohort of ``rows`` (positions in ``self.members``) from the unit ``start``
        until every matrix of it has left."""
        base, run, opt, kmax, tiny = self.op, self.run, self.opt, self.kmax, self.tiny
        op = base.select(rows)
        xp = op.xp
        fused = op.fused
        m, n = op.m, op.n
        members = self.members[rows]
        count = rows.size
        P, Q = op.zeros(count, kmax + 1, n), op.zeros(count, kmax, m)
        R = op.zeros(count, kmax, n) if fused else None  # A^H Q, for the fused step
        B = np.zeros((count, kmax, kmax), dtype=op.host_dtype)
        P[:, 0, :] = start
        best = start
        estimate = np.zeros(count)  # the current top Ritz value, for scaling the products
        top: np.ndarray | None = None  # the top right singular vectors of B_j
        j, spike = 0, 0

        def keep_only(keep: np.ndarray) -> None:
            nonlocal op, P, Q, R, B, best, estimate, top, rows, members
            at = op.put_index(keep)
            op = op.select(keep)
            P, Q = xp.take(P, at, axis=0), xp.take(Q, at, axis=0)
            R = xp.take(R, at, axis=0) if R is not None else None
            best = xp.take(best, at, axis=0)
            B, estimate, rows, members = B[keep], estimate[keep], rows[keep], members[keep]
            top = top[keep] if top is not None else None

        # Each step costs two products; two more are kept for the certification at exit.
        while rows.size:
            out = (run.iterations[members] + 4 > run.limit[members]) | expired(opt)
            if np.any(out):
                leave = np.flatnonzero(out)
                at = op.put_index(leave)
                final = (self._ritz_vector(op, top[leave], xp.take(P, at, axis=0), j)
                         if top is not None else xp.take(best, at, axis=0))
                certify(op.select(leave), members[leave], final, opt, run)
                keep_only(np.flatnonzero(~out))
                if not rows.size:
                    return
            scale = op.put_real(run.scale(members, estimate))
            pj = P[:, j, :]
            if fused:
                q, w = op.normal(pj, scale)  # q = A p_j, w = A^H (scale q)
            else:
                q = op.apply(pj)
            run.iterations[members] += 2
            before = op.norms(q)
            if fused or j == spike:
                q, h = orthogonalize(op, Q, j, q)
            else:
                q, h = _orthogonalize_last(op, Q, j, q)
            alpha = op.norms(q)
            # alpha ~ 0: A p_j lies in span(Q), the pair of spaces is invariant.
            ok = (alpha > tiny * before) & (alpha > 0)
            q = xp.where(ok[:, None], op.divide(q, xp.where(ok, alpha, xp.ones_like(alpha))),
                         xp.zeros_like(q))
            if fused:
                r = w if j == 0 else w - op.combine(h * op.as_dtype(scale)[:, None], R[:, :j, :])
                # The divisor is 1 where the step is discarded: scale * 1 may be tiny, and
                # dividing by it would overflow in the branch that xp.where throws away.
                r = xp.where(ok[:, None],
                             op.divide(r, xp.where(ok, scale * alpha, xp.ones_like(alpha))),
                             xp.zeros_like(r))
                R[:, j, :] = r
            else:
                r = op.adjoint(q)  # zero where q was discarded
            Q[:, j, :] = q
            before_r = op.norms(r)
            r, _ = orthogonalize(op, P, j + 1, r, relaxed=not fused)
            beta_dev = op.norms(r)
            flags = xp.stack([alpha, xp.astype(ok, op.real_dtype), before_r, beta_dev], axis=1)
            h_host, tail = op.fetch(h, flags)
            tail = np.real(tail).T
            B[:, :j, j] = h_host
            B[:, j, j] = np.where(tail[1] > 0, tail[0], 0.0)
            beta = np.where((tail[3] <= tiny * tail[2]) | (tail[3] == 0), 0.0, tail[3])
            j += 1
            if first_cycle:
                run.bound_steps[members] = j
            s1, right, ritz = top_ritz(B[:, :j, :j], beta)
            estimate = s1
            top = right
            null = ~(s1 > 0)
            settle = ~null & ((ritz <= opt.tol * s1) | (beta == 0))
            leaving = null | settle
            if np.any(settle):
                sub = np.flatnonzero(settle)
                final = self._ritz_vector(op, right[sub], xp.take(P, op.put_index(sub), axis=0),
                                          j)
                done = certify(op.select(sub), members[sub], final, opt, run).done
                # Rounding made the recurrence optimistic: start again from the certified v.
                again = sub[~done]
                if again.size:
                    picked = np.flatnonzero(~done)
                    self.queue.append((rows[again], op.normalized(
                        xp.take(final, op.put_index(picked), axis=0)), False))
            if np.any(null):
                self._fresh(op, rows, members, np.flatnonzero(null), best)
            if np.any(leaving):
                stay = np.flatnonzero(~leaving)
                if stay.size:
                    at = op.put_index(stay)
                    r, beta_dev = xp.take(r, at, axis=0), xp.take(beta_dev, at, axis=0)
                keep_only(stay)
                if not rows.size:
                    return
            P[:, j, :] = op.divide(r, beta_dev)
            if j == kmax:
                P, Q, R, B, best, j, spike = self._restart(op, P, Q, R, B, j)
                top, first_cycle = None, False

    def _ritz_vector(self, op: Operator, right: np.ndarray, P: Any, j: int) -> Any:
        """The Ritz vectors P_j right (rows)."""
        return op.combine(op.put(right), P[:, :j, :])

    def _fresh(self, op: Operator, rows: np.ndarray, members: np.ndarray, sub: np.ndarray,
               best: Any) -> None:
        """Matrices whose start lay in their null space: a fresh random start each, in a later
        cohort (at most three; after that the matrix ends with sigma = 0)."""
        run = self.run
        spent = sub[self.fresh[rows[sub]] == 3]
        if spent.size:
            at = op.put_index(spent)
            certify(op.select(spent), members[spent], op.xp.take(best, at, axis=0), self.opt,
                    run)
        again = sub[self.fresh[rows[sub]] < 3]
        if not again.size:
            return
        self.fresh[rows[again]] += 1
        run.bound_kind[members[again]] = NONE
        starts = np.stack([run.fresh_start(op, int(b)) for b in members[again]])
        self.queue.append((rows[again], op.put(starts), False))

    def _restart(self, op: Operator, P: Any, Q: Any, R: Any, B: np.ndarray,
                 j: int) -> tuple[Any, Any, Any, np.ndarray, Any, int, int]:
        """Thick restart: the leading kmax // 2 Ritz triplets and the residual direction."""
        xp, kmax = op.xp, self.kmax
        keep = kmax // RESTART_DIVISOR
        count = int(P.shape[0])
        left, values, right_h = np.linalg.svd(B[:, :j, :j])
        cv = op.put(np.conj(right_h[:, :keep, :]))
        cu = op.put(np.swapaxes(left[:, :, :keep], 1, 2))
        p_kept = xp.matmul(cv, P[:, :j, :])
        q_kept = xp.matmul(cu, Q[:, :j, :])
        r_kept = xp.matmul(cu, R[:, :j, :]) if R is not None else None
        following = P[:, j, :]
        P, Q = op.zeros(count, kmax + 1, op.n), op.zeros(count, kmax, op.m)
        P[:, :keep, :] = p_kept
        P[:, keep, :] = following
        Q[:, :keep, :] = q_kept
        if R is not None:
            R = op.zeros(count, kmax, op.n)
            R[:, :keep, :] = r_kept
        B = np.zeros_like(B)
        B[:, np.arange(keep), np.arange(keep)] = values[:, :keep]
        return P, Q, R, B, P[:, 0, :], keep, keep
