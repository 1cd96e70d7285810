"""Power iteration on A^H A in the two-sided form v = A^H u / ||A^H u||, u = A v / ||A v||,
sigma = ||A v||, from the unit start v0, on every matrix of a batch at once: the twin of
power.hpp. The residual ||A^H u - sigma v|| of each pair is known from the step's two products,
so the stopping rule costs no product.

Intended differences from power.hpp:
- Batched: the matrices step together; each leaves when it meets its stopping rule or its
  budget, and the live ones are gathered whenever at most half of the rows are still live.
- ``sync_every`` > 1 (device backends): sigma and the residual are read back every few steps, so
  a matrix may take up to sync_every - 1 steps more than in the core.
- Each step's scale comes from the last sigma read back (the core's from the last step).
- The sum of log N_l behind the certificate (power.hpp) is kept on the device and read back
  with sigma and the residual. The Lanczos check of the matrices whose residual met tol before
  their evidence did runs once the power steps of every matrix have ended.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .._rules import MISS_PROBABILITY, start_miss
from .lanczos import finish
from .operator import Operator
from .result import NONE, POWER, Options, Run, certify, expired, rounding

__all__ = ["POWER_PATIENCE", "power"]

#: Power iteration goes on proving sigma_1 itself while its residual promises the evidence
#: within this many more steps; past that a Lanczos check costs fewer products (power.hpp).
POWER_PATIENCE = 16


def power(op: Operator, members: np.ndarray, v0: Any, opt: Options, run: Run) -> None:
    """Power iteration on the matrices ``members`` of ``run`` (``op`` holds them in order) from
    the rows of ``v0``. Stops a matrix when ||A^H u - sigma v|| <= tol * sigma and sigma_1 is
    proven not missed (power.hpp; a Lanczos check where the residual comes first), or when
    another step would exceed its budget; never fails for lack of convergence."""
    checks: list[np.ndarray] = []
    _steps(op, members, v0, opt, run, checks)
    if checks:
        ids = np.concatenate(checks)
        position = {int(b): i for i, b in enumerate(members)}
        sub = op.select(np.array([position[int(b)] for b in ids]))
        finish(sub, ids, run.vectors(sub, ids)[1], opt, run)


def _steps(op: Operator, members: np.ndarray, v0: Any, opt: Options, run: Run,
           checks: list[np.ndarray]) -> None:
    """The power steps; appends to ``checks`` the members whose residual met tol first."""
    xp = op.xp
    run.bound_kind[members] = POWER
    v = op.normalized(v0)
    short = run.limit[members] < 2
    if np.any(short):  # room for A v0 only: a lower bound without a residual
        rows = np.flatnonzero(short)
        sub = op.select(rows)
        certify(sub, members[rows], xp.take(v, op.put_index(rows), axis=0), opt, run)
        run.bound_steps[members[rows]] = 1
        if np.all(short):
            return
        keep = np.flatnonzero(~short)
        op, members = op.select(keep), members[keep]
        v = xp.take(v, op.put_index(keep), axis=0)
    count = members.size
    weight = np.full(count, float(opt.start_weight))  # 1 after a fresh Gaussian start
    log_norms = op.put_real(np.zeros(count))  # sum over the steps so far of log N_l (power.hpp)
    steps = np.ones(count, dtype=np.int64)  # v = (A^H A)^(steps-1) v0, normalized
    previous = np.full(count, np.inf)  # the residual read back last, and its step
    previous_step = np.zeros(count, dtype=np.int64)
    fresh = np.zeros(count, dtype=np.int64)  # fresh random starts after a null-space start
    alive = np.ones(count, dtype=bool)
    paired = np.zeros(count, dtype=bool)  # rows with a pair (pu, pv) from a step
    pu, pv = op.zeros(count, op.m), op.zeros(count, op.n)
    every = max(1, int(opt.sync_every))
    tick, check = 0, True
    scale: Any = None
    scale_host = np.zeros(0)

    def leave(idx: np.ndarray) -> None:
        """Rows ``idx`` are done: their last pair is the answer (the start's own pair where
        the run stopped before a first step)."""
        alive[idx] = False
        have = idx[paired[idx]]
        if have.size:
            run.record(members[have], _rows(op, pu, have), _rows(op, pv, have))
        first = idx[~paired[idx] & (fresh[idx] == 0)]
        if first.size:
            certify(op.select(first), members[first], _rows(op, v, first), opt, run)
        rest = idx[~paired[idx]]
        if rest.size:
            run.ensure_pairs(op.select(rest), members[rest], _rows(op, v, rest))

    while True:
        out = alive & ((run.iterations[members] + 2 > run.limit[members]) | expired(opt))
        if np.any(out):  # out of budget or time
            leave(np.flatnonzero(out))
        if not np.any(alive):
            return
        if 2 * alive.sum() <= alive.size:  # gather the live matrices
            keep = np.flatnonzero(alive)
            at = op.put_index(keep)
            op, members = op.select(keep), members[keep]
            v, pu, pv = (op.xp.take(x, at, axis=0) for x in (v, pu, pv))
            steps, fresh, alive, paired = steps[keep], fresh[keep], alive[keep], paired[keep]
            weight, log_norms = weight[keep], xp.take(log_norms, at, axis=0)
            previous, previous_step = previous[keep], previous_step[keep]
            scale = None
        factors = run.scale(members)
        if scale is None or not np.array_equal(factors, scale_host):
            scale_host, scale = factors, op.put_real(factors)  # changes only at a read-back
        z, w = op.normal(v, scale)
        run.iterations[members] += 2 * alive
        s = op.norms(z)
        s_safe = xp.where(s > 0, s, xp.ones_like(s))
        adj_u = op.divide(w, scale * s_safe)  # A^H u = w / (scale sigma)
        res = op.norms(adj_u - op.as_dtype(s)[:, None] * v) / s_safe
        tick += 1
        last = np.any(alive & (run.iterations[members] + 2 > run.limit[members])) or expired(opt)
        restarted = np.zeros(members.size, dtype=bool)
        if check or last or tick % every == 0:
            check = False
            s_h, res_h, logs_h = op.real_host(s, res, log_norms)
            zero = alive & ~(s_h > 0)
            ok = alive & (s_h > 0)
            idx = members[ok]
            run.sigma[idx] = s_h[ok]
            run.lower[idx] = np.maximum(run.lower[idx], s_h[ok])
            run.bound_steps[idx] = steps[ok]
            run.residual[idx] = res_h[ok]
            if np.all(ok):
                pu, pv = op.divide(z, s_safe), v
                paired[:] = True
            elif np.any(ok):
                mask = op.put_real(ok.astype(np.float64))[:, None] > 0
                pu = xp.where(mask, op.divide(z, s_safe), pu)
                pv = xp.where(mask, v, pv)
                paired |= ok
            near = ok & (res_h <= opt.tol)
            log_eta = np.zeros(members.size)
            if np.any(near):
                t = opt.tol
                star = s_h[near] * (1 + t)
                with np.errstate(divide="ignore"):
                    log_eta[near] = (np.log(np.minimum(1.0, res_h[near] / (t * (2 + t))))
                                     + logs_h[near] - 2.0 * (steps[near] - 1) * np.log(star))
                run.exclude(members[near], star, log_eta[near], opt, weight[near], op.n,
                            op.complex)
            done = near & run.separated(members, s_h, opt.tol, rounding(op))
            if np.any(done):
                run.converged[members[done]] = True
                leave(np.flatnonzero(done))
            unproven = near & ~done
            if np.any(unproven):
                # go on while the residual's rate promises the evidence soon (power.hpp)
                idx = np.flatnonzero(unproven)
                dim = opt.start_dim if opt.start_dim > 0 else op.n
                miss = start_miss(log_eta[idx], weight[idx], dim, op.complex)
                span = np.maximum(steps[idx] - previous_step[idx], 1)
                with np.errstate(divide="ignore", invalid="ignore"):
                    rate = (res_h[idx] / previous[idx]) ** (1.0 / span)
                    promising = (rate < 1) & (np.log(miss / MISS_PROBABILITY)
                                              <= POWER_PATIENCE * -np.log(rate))
                room = run.iterations[members[idx]] + 2 <= run.limit[members[idx]]
                unproven[idx[promising & room]] = False
            previous = np.where(ok, res_h, previous)
            previous_step = np.where(ok, steps, previous_step)
            if np.any(unproven):
                checks.append(members[unproven])
                leave(np.flatnonzero(unproven))
            if np.any(zero):
                # A v = 0 for a nonzero A (checked by the caller): a start in the null space.
                spent = zero & (fresh == 3)
                if np.any(spent):
                    leave(np.flatnonzero(spent))
                restarted, starts = _restart(op, members, zero & ~spent, fresh, run)
                weight[restarted] = 1.0
                check = True
        an = op.norms(adj_u)
        v_next = op.divide(adj_u, xp.where(an > 0, an, xp.ones_like(an)))
        log_norms = log_norms + xp.log(s_safe) + xp.log(xp.where(an > 0, an, xp.ones_like(an)))
        if np.any(restarted):
            mask = op.put_real(restarted.astype(np.float64))[:, None] > 0
            v_next = xp.where(mask, starts, v_next)
            log_norms = xp.where(mask[:, 0], xp.zeros_like(log_norms), log_norms)
            steps[restarted] = 1
        v = v_next
        steps += ~restarted


def _rows(op: Operator, x: Any, rows: np.ndarray) -> Any:
    if rows.size == int(x.shape[0]):
        return x
    return op.xp.take(x, op.put_index(rows), axis=0)


def _restart(op: Operator, members: np.ndarray, again: np.ndarray, fresh: np.ndarray,
             run: Run) -> tuple[np.ndarray, Any]:
    """Fresh random starts for the rows ``again`` (a start in the null space): which rows
    restart, and the starts (rows)."""
    starts = np.zeros((members.size, op.n), dtype=op.host_dtype)
    for i in np.flatnonzero(again):
        fresh[i] += 1
        starts[i] = run.fresh_start(op, int(members[i]))
    run.bound_kind[members[again]] = NONE
    return again, op.put(starts)
