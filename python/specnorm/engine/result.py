"""What every method returns and the options every method takes, and the certification that
every answer leaves through: the twin of result.hpp.

A run works on a batch of matrices (an operator's ``count``); its host arrays hold one entry per
matrix, and its singular vectors are collected as rows while matrices finish.

Intended differences from result.hpp:
- Options are per run (tol, basis size, deadline) and per matrix (budget, norm hint, seed),
  the per-matrix ones as arrays in :class:`Run`; the core runs one matrix per call.
- The fresh random vectors a method needs after a start in a null space come from NumPy's
  generator seeded with the matrix's seed, not from std::mt19937_64: the same seed draws other
  numbers than in the core (only that start, of probability zero, differs).
- ``sync_every``: a device backend reads the stopping test of power iteration back every few
  steps (the core tests every step).
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field
from typing import Any, NamedTuple

import numpy as np

from .._rules import MISS_PROBABILITY, START_MIX, start_miss
from .operator import Operator

__all__ = ["Certified", "Options", "Run", "certify", "expired", "rounding"]

#: Bound kinds, as the core's BoundKind.
NONE, POWER, LANCZOS = 0, 1, 2


@dataclass(frozen=True)
class Options:
    """What a run asks: the relative residual ``tol``, the largest Lanczos basis, how often
    power iteration reads its test back, and the deadline on ``time.monotonic()``'s clock."""

    tol: float = 1e-6
    basis_size: int = 64
    sync_every: int = 1
    deadline: float = math.inf
    #: How the starts were drawn (result.hpp's Options): 1 Gaussian, (1 + START_MIX) /
    #: START_MIX mixed with a Gaussian one, 0 not random (no evidence is gathered).
    start_weight: float = 1.0
    #: The length of the Gaussian vector behind a start (0: the operator's n).
    start_dim: int = 0
    #: The tolerance of the certificate that sigma_1 was not missed (0: tol).
    miss_tol: float = 0.0


def rounding(op: Operator) -> float:
    """The relative rounding of one product, 8 eps sqrt(max(m, n)) (result.hpp's
    rounding_of)."""
    return 8.0 * op.eps * math.sqrt(max(op.m, op.n, 1))


def expired(opt: Options) -> bool:
    """Whether the run's deadline has passed (checked once per step, as the core does)."""
    return opt.deadline < math.inf and time.monotonic() >= opt.deadline


@dataclass
class Run:
    """The state of a run over ``count`` matrices: host arrays per matrix, and the (u, v) rows
    recorded as matrices settle (the last record of a matrix wins).

    ``limit`` is each matrix's product budget (the core's maxiter), ``hint`` a rough size of its
    sigma_1 (> 0, the core's norm_hint) and ``seed`` the seed of its fresh random vectors.
    """

    count: int
    limit: np.ndarray
    hint: np.ndarray
    seed: np.ndarray
    sigma: np.ndarray = field(init=False)
    lower: np.ndarray = field(init=False)
    residual: np.ndarray = field(init=False)
    iterations: np.ndarray = field(init=False)
    converged: np.ndarray = field(init=False)
    bound_kind: np.ndarray = field(init=False)
    bound_steps: np.ndarray = field(init=False)
    upper: np.ndarray = field(init=False)
    excluded: np.ndarray = field(init=False)
    pieces: list[tuple[np.ndarray, Any, Any]] = field(init=False)

    def __post_init__(self) -> None:
        count = self.count
        self.limit = np.asarray(self.limit, dtype=np.int64).reshape(count)
        self.hint = np.asarray(self.hint, dtype=np.float64).reshape(count)
        self.seed = np.asarray(self.seed, dtype=np.uint64).reshape(count)
        self.sigma = np.zeros(count)
        self.lower = np.zeros(count)
        self.residual = np.full(count, np.inf)
        self.iterations = np.zeros(count, dtype=np.int64)
        self.converged = np.zeros(count, dtype=bool)
        self.bound_kind = np.zeros(count, dtype=np.int8)
        self.bound_steps = np.zeros(count, dtype=np.int64)
        self.upper = np.full(count, np.inf)
        #: sigma_1 <= excluded except with probability MISS_PROBABILITY (result.hpp's
        #: Estimate::excluded); a caller may set a prior bound before a run.
        self.excluded = np.full(count, np.inf)
        self.pieces = []
        self._paired = np.zeros(count, dtype=bool)
        self._sources: dict[int, np.random.Generator] = {}

    def record(self, members: np.ndarray, u: Any, v: Any) -> None:
        """The pairs (u, v) (rows) of ``members``, replacing any earlier ones."""
        if members.size:
            self.pieces.append((members, u, v))
            self._paired[members] = True

    def paired(self, members: np.ndarray) -> np.ndarray:
        return self._paired[members]

    def scale(self, members: np.ndarray, estimate: np.ndarray | None = None) -> np.ndarray:
        """The scale s in A^H (s A x): 1 / max(estimate so far, hint), never above 1 / hint, so
        that s A x stays below 1 where the hint is a certain bound (result.hpp's
        product_scale). ``estimate`` defaults to the members' sigma."""
        size = np.maximum(self.sigma[members] if estimate is None else estimate,
                          self.hint[members])
        return 1.0 / np.where(size > 0, size, 1.0)

    def fresh_start(self, op: Operator, member: int) -> np.ndarray:
        """A fresh Gaussian unit vector (host) for ``member`` from its own seeded generator."""
        source = self._sources.get(member)
        if source is None:
            source = self._sources[member] = np.random.default_rng(int(self.seed[member]))
        draw = source.standard_normal(op.n)
        if op.complex:
            draw = draw + 1j * source.standard_normal(op.n)
        return draw / np.linalg.norm(draw)

    def mixed_starts(self, op: Operator, members: np.ndarray, v: Any,
                     salt: np.ndarray | None = None) -> Any:
        """The rows of ``v`` (device, unit) mixed with Gaussian vectors of relative weight
        START_MIX and normalized (result.hpp's mixed_start; other random numbers). ``salt``
        (per member) makes a later mix of the same member draw anew."""
        draws = np.zeros((members.size, op.n), dtype=op.host_dtype)
        for i, b in enumerate(members):
            extra = 0 if salt is None else int(salt[i])
            source = np.random.default_rng([int(self.seed[b]), 0x9E3779B9, extra])
            g = source.standard_normal(op.n)
            if op.complex:
                g = g + 1j * source.standard_normal(op.n)
            draws[i] = g / np.linalg.norm(g)
        x = op.normalized(v) + START_MIX * op.put(draws)
        return op.normalized(x)

    def exclude(self, members: np.ndarray, star: np.ndarray, log_eta: np.ndarray,
                opt: Options, weight: np.ndarray | float, dim: int, complex_: bool) -> None:
        """Lowers ``excluded`` of ``members`` to ``star`` where the certificate log(eta) at star
        makes a missed sigma_1 less likely than MISS_PROBABILITY (result.hpp's exclude)."""
        if not members.size:
            return
        size = opt.start_dim if opt.start_dim > 0 else dim
        ok = start_miss(log_eta, weight, size, complex_) <= MISS_PROBABILITY
        self.excluded[members[ok]] = np.minimum(self.excluded[members[ok]], star[ok])

    def separated(self, members: np.ndarray, sigma: np.ndarray, tol: float,
                  slack: float) -> np.ndarray:
        """Whether sigma (1 + tol) reaches the members' excluded bound, to the relative
        ``slack`` (rounding(op): a Ritz value and its certified sigma differ by that)."""
        return sigma * (1 + tol) * (1 + slack) >= self.excluded[members]

    def ensure_pairs(self, op: Operator, members: np.ndarray, v: Any) -> None:
        """A unit pair for every member without one (every start in a null space, or no budget
        for a product): u = e_1 and v = the row of ``v`` normalized (result.hpp's ensure_pair)."""
        lacking = ~self._paired[members]
        if not np.any(lacking):
            return
        rows = np.flatnonzero(lacking)
        part = v if rows.size == members.size else op.xp.take(v, op.put_index(rows), axis=0)
        normalized = op.normalized(part)
        size = op.real_host(op.norms(normalized))[0]
        if not np.all(size > 0):  # a zero row: e_1
            normalized = op.xp.where(op.put_real(size > 0)[:, None] > 0, normalized,
                                     op.unit_rows(rows.size, op.n))
        self.record(members[rows], op.unit_rows(rows.size, op.m), normalized)

    def vectors(self, op: Operator, members: np.ndarray | None = None) -> tuple[Any, Any]:
        """u (k, m) and v (k, n) of ``members`` (default: every matrix): each one's last
        recorded pair, e_1 where none."""
        xp = op.xp
        wanted = np.arange(self.count) if members is None else members
        missing = wanted[~self._paired[wanted]]
        pieces = list(self.pieces)
        if missing.size:
            pieces.append((missing, op.unit_rows(missing.size, op.m),
                           op.unit_rows(missing.size, op.n)))
        if len(pieces) == 1 and np.array_equal(pieces[0][0], wanted):
            return pieces[0][1], pieces[0][2]
        order = np.concatenate([p[0] for p in pieces])
        last = np.empty(self.count, dtype=np.int64)
        last[order] = np.arange(order.size)  # a later record of a matrix overwrites
        at = op.put_index(last[wanted])
        u = xp.take(xp.concat([p[1] for p in pieces], axis=0), at, axis=0)
        v = xp.take(xp.concat([p[2] for p in pieces], axis=0), at, axis=0)
        return u, v


class Certified(NamedTuple):
    """What a certification found, per member: ``done`` (converged), ``good`` (A v != 0 and a
    product was made: the pair below is the member's new pair), and the pair's rows u, v (None
    where no product was made)."""

    done: np.ndarray
    good: np.ndarray
    u: Any
    v: Any


def certify(op: Operator, members: np.ndarray, v_in: Any, opt: Options, run: Run) -> Certified:
    """Recomputes the pair of every member from its row of ``v_in`` (normalized) by fresh
    products, as result.hpp's certify: sigma = ||A v||, u = A v / sigma, residual =
    ||A^H u - sigma v|| / sigma, ``converged`` when the residual is at most tol and
    sigma (1 + tol) reaches the member's excluded bound (result.hpp's judge). Two products, or
    only A v where the budget leaves one (the residual then stays infinite); none where the
    budget is spent. ``op`` holds the members' matrices in order. Leaves a member unchanged
    where A v = 0."""
    xp = op.xp
    spent = run.iterations[members]
    room = run.limit[members] - spent
    can = room >= 1
    if not np.any(can):
        run.ensure_pairs(op, members, v_in)
        none = np.zeros(members.size, dtype=bool)
        return Certified(none, none, None, None)
    both = room >= 2
    v = op.normalized(v_in)
    scale = run.scale(members)
    z, w = op.normal(v, op.put_real(scale))
    run.iterations[members] = spent + np.where(both, 2, np.where(can, 1, 0))
    s = op.norms(z)
    s_safe = xp.where(s > 0, s, xp.ones_like(s))
    # ||A v|| / ||v|| with the norm of the v actually stored: in single precision it may round
    # to 1 + eps, and ||A v|| alone is then no Rayleigh quotient of A
    quotient = s / op.norms(v)
    adj_u = op.divide(w, op.put_real(scale) * s_safe)
    res = op.norms(adj_u - op.as_dtype(s)[:, None] * v) / s_safe
    s_h, q_h, res_h = op.real_host(s, quotient, res)
    good = can & (s_h > 0)
    done = good & both & (res_h <= opt.tol) & run.separated(members, q_h, opt.tol, rounding(op))
    u = op.divide(z, s_safe)
    if np.any(good):
        idx = members[good]
        run.lower[idx] = np.maximum(run.lower[idx], q_h[good])
        run.sigma[idx] = q_h[good]
        run.residual[idx] = np.where(both[good], res_h[good], np.inf)
        run.converged[idx] = done[good]
        if np.all(good):
            run.record(idx, u, v)
        else:
            at = op.put_index(np.flatnonzero(good))
            run.record(idx, xp.take(u, at, axis=0), xp.take(v, at, axis=0))
    if not np.all(good):
        run.ensure_pairs(op, members, v)
    return Certified(done, good, u, v)
