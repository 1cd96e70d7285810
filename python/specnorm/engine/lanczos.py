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
- The certificate that sigma_1 was not missed (lanczos.hpp) takes log det(s*^2 I - B^H B) from
  the eigenvalues the dense eigensolver gives anyway, where the core factors s*^2 I - B^H B.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import numpy as np

from .._rules import DGKS_RATIO, LANCZOS_TINY, RESTART_DIVISOR, START_MIX
from .operator import Operator
from .result import LANCZOS, NONE, Options, Run, certify, expired, rounding
from .ritz import log_det_above, top_ritz

__all__ = ["finish", "lanczos", "orthogonalize"]

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
    state.queue.append((np.arange(members.size), op.normalized(v0), True,
                        np.full(members.size, float(opt.start_weight))))
    while state.queue:
        rows, start, first, weight = state.queue.pop(0)
        state.cycle(rows, start, first, weight)


class _Cohorts:
    """The cohorts of one Lanczos run: matrices that step together from j = 0."""

    def __init__(self, op: Operator, members: np.ndarray, opt: Options, run: Run) -> None:
        self.op, self.members, self.opt, self.run = op, members, opt, run
        self.kmax = max(2, min(opt.basis_size, op.n))
        self.tiny = LANCZOS_TINY * op.eps
        self.fresh = np.zeros(members.size, dtype=np.int64)
        self.queue: list[tuple[np.ndarray, Any, bool, np.ndarray]] = []
        self.miss_tol = opt.miss_tol if opt.miss_tol > 0 else opt.tol
        self.last_certified = np.full(members.size, np.inf)  # lanczos.hpp's stall test
        self.last_sigma = np.zeros(members.size)
        self.rebuilds = np.zeros(members.size, dtype=np.int64)

    def cycle(self, rows: np.ndarray, start: Any, first_cycle: bool, weight: np.ndarray) -> None:
        """Steps the cohort of ``rows`` (positions in ``self.members``) from the unit ``start``
        (drawn with the start weights ``weight``) until every matrix of it has left."""
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
        # log |phi(s*^2)| = grown - couplings + log det(s*^2 I - B^H B), as in lanczos.hpp
        grown, couplings = np.zeros(count), np.zeros(count)
        miss_tol = self.miss_tol

        def keep_only(keep: np.ndarray) -> None:
            nonlocal op, P, Q, R, B, best, estimate, top, rows, members, grown, couplings, weight
            at = op.put_index(keep)
            op = op.select(keep)
            P, Q = xp.take(P, at, axis=0), xp.take(Q, at, axis=0)
            R = xp.take(R, at, axis=0) if R is not None else None
            best = xp.take(best, at, axis=0)
            B, estimate, rows, members = B[keep], estimate[keep], rows[keep], members[keep]
            grown, couplings, weight = grown[keep], couplings[keep], weight[keep]
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
            with np.errstate(divide="ignore"):
                couplings = couplings + np.log(np.real(B[:, j, j])) + np.log(beta)
            j += 1
            if first_cycle:
                run.bound_steps[members] = j
            s1, right, ritz, values, b_scale = top_ritz(B[:, :j, :j], beta)
            estimate = s1
            top = right
            null = ~(s1 > 0)
            near = ~null & ((ritz <= opt.tol * s1) | (beta == 0))
            if np.any(near):
                star = s1[near] * (1 + miss_tol)
                # beta = 0: the start's Krylov space is invariant, sigma_1 included; j = n:
                # the basis spans the whole space (lanczos.hpp)
                with np.errstate(invalid="ignore"):
                    log_phi = np.where((beta[near] == 0) | (j >= op.n), np.inf,
                                       grown[near] - couplings[near]
                                       + log_det_above(values[near], b_scale[near], star))
                run.exclude(members[near], star, -log_phi, opt, weight[near], op.n, op.complex)
            separated = run.separated(members, s1, miss_tol, rounding(op))
            settle = ~null & (((ritz <= opt.tol * s1) & separated) | (beta == 0))
            leaving = null | settle
            if np.any(settle):
                sub = np.flatnonzero(settle)
                final = self._ritz_vector(op, right[sub], xp.take(P, op.put_index(sub), axis=0),
                                          j)
                done = certify(op.select(sub), members[sub], final, opt, run).done.copy()
                late = ((run.residual[members[sub]] <= opt.tol)
                        & (run.sigma[members[sub]] < s1[sub]))
                if np.any(late):
                    # The certified sigma fell below the Ritz value by rounding: the
                    # certificate at it.
                    lr = sub[late]
                    star = run.sigma[members[lr]] * (1 + miss_tol)
                    with np.errstate(invalid="ignore"):
                        log_phi = np.where((beta[lr] == 0) | (j >= op.n), np.inf,
                                           grown[lr] - couplings[lr]
                                           + log_det_above(values[lr], b_scale[lr], star))
                    run.exclude(members[lr], star, -log_phi, opt, weight[lr], op.n, op.complex)
                    ok = run.separated(members[lr], run.sigma[members[lr]], opt.tol, rounding(op))
                    run.converged[members[lr[ok]]] = True
                    done[np.flatnonzero(late)[ok]] = True
                # Rounding made the recurrence optimistic (or an invariant space left sigma_1
                # unproven): start again from the certified v, mixed with a random vector.
                # At the rounding floor the certified residual stops falling: a start again
                # that did not halve it ends the matrix's run, not its budget (lanczos.hpp).
                res_now, sig_now = run.residual[members[sub]], run.sigma[members[sub]]
                last, last_sig = self.last_certified[rows[sub]], self.last_sigma[rows[sub]]
                high = res_now > opt.tol
                stalled = (~done & high & ~(res_now < last / 2)
                           & ~(sig_now > last_sig * (1 + 4 * op.eps)))
                self.last_certified[rows[sub[high]]] = res_now[high]
                self.last_sigma[rows[sub[high]]] = np.maximum(last_sig[high], sig_now[high])
                redo = ~done & ~stalled
                again = sub[redo]
                if again.size:
                    picked = np.flatnonzero(redo)
                    kept = xp.take(final, op.put_index(picked), axis=0)
                    self.rebuilds[rows[again]] += 1
                    self.queue.append((rows[again],
                                       run.mixed_starts(op, members[again], kept,
                                                        self.rebuilds[rows[again]]),
                                       False, np.full(again.size, (1 + START_MIX) / START_MIX)))
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
                P, Q, R, B, best, j, spike, kept = self._restart(op, P, Q, R, B, j)
                with np.errstate(divide="ignore"):
                    top_value = kept[:, :1]
                    dropped = kept[:, j:]
                    factors = np.log(top_value - dropped) + np.log(top_value + dropped)
                    grown = grown + np.sum(factors, axis=1) - couplings
                couplings = np.zeros_like(couplings)
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
        self.queue.append((rows[again], op.put(starts), False, np.ones(again.size)))

    def _restart(self, op: Operator, P: Any, Q: Any, R: Any, B: np.ndarray,
                 j: int) -> tuple[Any, Any, Any, np.ndarray, Any, int, int, np.ndarray]:
        """Thick restart: the leading kmax // 2 Ritz triplets and the residual direction; also
        every singular value of B (k, j), largest first."""
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
        return P, Q, R, B, P[:, 0, :], keep, keep, values


def finish(op: Operator, members: np.ndarray, v: Any, opt: Options, run: Run) -> None:
    """Lanczos from the rows of ``v`` (the members' pairs) mixed with random vectors, with each
    member's budget left: it proves sigma_1 or finds a larger value. Its answer replaces the
    member's where it is at least as large or converged (lanczos.hpp's lanczos_finish)."""
    room = run.limit[members] - run.iterations[members]
    go = (room >= 4) & ~expired(opt)
    if not np.any(go):
        return
    rows = np.flatnonzero(go)
    op, members = op.select(rows), members[rows]
    v = op.xp.take(v, op.put_index(rows), axis=0)
    tail = Run(members.size, room[rows], run.hint[members], run.seed[members])
    tail.excluded[:] = run.excluded[members]
    lanczos(op, np.arange(members.size), run.mixed_starts(op, members, v),
            replace(opt, start_weight=(1 + START_MIX) / START_MIX, start_dim=0), tail)
    spent = run.iterations[members] + tail.iterations
    take = (tail.sigma >= run.sigma[members]) | tail.converged
    run.iterations[members] = spent
    if np.any(take):
        idx = members[take]
        run.sigma[idx] = tail.sigma[take]
        run.residual[idx] = tail.residual[take]
        run.converged[idx] = tail.converged[take]
        run.excluded[idx] = np.minimum(run.excluded[idx], tail.excluded[take])
        run.lower[idx] = np.maximum(run.lower[idx], tail.lower[take])
        u, v_t = tail.vectors(op, np.flatnonzero(take))
        run.record(idx, u, v_t)
