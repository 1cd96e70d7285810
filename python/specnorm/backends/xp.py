"""A backend that runs the Python engine (:mod:`specnorm.engine`) on one array namespace:
NumPy for the pure-Python fallback, CuPy on the GPU (and array_api_strict in the tests).

Device discipline: the matrix and every vector of length m or n stay in the input's namespace
(on its device); what crosses to the host inside a loop are the scalars the stopping rule and
the recurrences need (see the engine).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any, NamedTuple

import numpy as np

from .._rules import MOST_CALLS, namespace_dtype, safe_range
from ..engine import Options, SparseOperator, StackOperator, rayleigh_quotient, solve
from ..engine.bounds import stack_bounds
from ..engine.svd import exact

__all__ = ["Solved", "XpBackend"]


class Solved(NamedTuple):
    """A backend's answer for a stack of ``count`` matrices: host arrays per matrix, and the
    singular vectors as rows of the backend's namespace (u (count, m), v (count, n)).

    ``finite`` and ``certain`` are the one-pass bounds (every entry finite; min(||A||_F,
    sqrt(||A||_1 ||A||_inf)), NaN where not finite). Nothing is computed for a matrix that is not
    finite, zero, or outside its dtype's safe range (the caller rejects, answers or rescales
    it). ``upper`` is a certain bound a method found (the Gram kernel's, the SVD's), else inf;
    ``bound_kind`` codes into _rules.BOUND_KINDS."""

    finite: np.ndarray
    certain: np.ndarray
    sigma: np.ndarray
    lower: np.ndarray
    residual: np.ndarray
    upper: np.ndarray
    iterations: np.ndarray
    converged: np.ndarray
    bound_kind: np.ndarray
    bound_steps: np.ndarray
    u: Any
    v: Any

#: The Gram kernel's own draws come from another stream than the start's (as in the core).
GRAM_STREAM = 0x9E3779B97F4A7C15


class XpBackend:
    """A backend that runs the engine on one array namespace: every method on a whole stack at
    once (a single matrix is a stack of one), the exact SVD as one batched call.

    Parameters
    ----------
    name : str
        The backend's name in the registry.
    load : callable
        Returns the array namespace (imported only when first needed), or raises ImportError.
    check : callable
        ``check(namespace) -> (usable, reason)``: whether the namespace can run here.
    owns : callable
        Whether an input array belongs to this backend's namespace (must not import it).
    owns_sparse : callable, optional
        Whether an input is a sparse matrix of this backend's library, with the SciPy sparse
        API (must not import it); none by default.
    to_host, from_host : callable
        ``to_host(x) -> numpy.ndarray`` and ``from_host(values, like) -> array`` on the device of
        ``like``.
    sync_every : int
        How often power iteration reads its stopping test back from the device.
    on_device : bool
        Whether arrays of this backend live off the host (their input is never moved there).
    """

    def __init__(self, name: str, load: Callable[[], Any],
                 check: Callable[[Any], tuple[bool, str]], owns: Callable[[Any], bool],
                 to_host: Callable[[Any], np.ndarray], from_host: Callable[[np.ndarray, Any], Any],
                 sync_every: int = 1, on_device: bool = False,
                 owns_sparse: Callable[[Any], bool] | None = None) -> None:
        self.NAME = name
        self._load = load
        self._check = check
        self._owns = owns
        self._owns_sparse = owns_sparse
        self.to_host = to_host
        self._from_host = from_host
        self.sync_every = sync_every
        self.on_device = on_device
        self._namespace: Any = None
        self._status: tuple[bool, str] | None = None

    @property
    def xp(self) -> Any:
        if self._namespace is None:
            self._namespace = self._load()
        return self._namespace

    def availability(self) -> tuple[bool, str]:
        if self._status is None:
            try:
                namespace = self.xp
            except ImportError as exc:
                self._status = (False, str(exc))
            else:
                self._status = self._check(namespace)
        return self._status

    def owns(self, a: Any) -> bool:
        return self._owns(a)

    def owns_sparse(self, a: Any) -> bool:
        return self._owns_sparse is not None and self._owns_sparse(a)

    def from_host(self, values: np.ndarray, like: Any) -> Any:
        return self._from_host(values, like)

    def operator(self, a: Any) -> StackOperator:
        """The engine's operator on a stack (count, m, n) of this backend's namespace."""
        return StackOperator(self.xp, a, self.to_host, self._from_host)

    def sparse_operator(self, csr: Any) -> SparseOperator:
        """The engine's operator on a sparse matrix of this backend (CSR, no duplicate
        entries)."""
        return SparseOperator(self.xp, csr, self.to_host, self._from_host)

    # The interface of the pipeline (_solve.py), shared with the cpp backend.
    def solve(self, a: Any, method: str, tol: float, limit: int, basis: int,
              seeds: np.ndarray, starts: np.ndarray | None, threads: int,
              deadline: float = math.inf, weight: float = 1.0) -> Solved:
        """``method`` on every matrix of the stack ``a`` (count, m, n) from the rows of
        ``starts`` (host; None: drawn from ``seeds``, for the Gram kernel of one matrix), each
        with the budget ``limit``; ``threads`` is for the core only."""
        op = self.operator(a)
        finite, certain = stack_bounds(op)
        low, high = safe_range(namespace_dtype(self.xp, a.dtype))
        computed = finite & (certain >= low) & (certain <= high)
        out = _empty(op, finite, certain)
        rows = np.flatnonzero(computed)
        if not rows.size or not np.all(finite):
            return out
        sub = op.select(rows)
        if starts is None:
            starts = np.stack([_drawn(int(s), op) for s in seeds[rows]])
            seeds = (seeds + np.uint64(GRAM_STREAM)) if method == "gram" else seeds
        else:
            starts = np.asarray(starts)[rows]
        opt = Options(tol=tol, basis_size=basis, sync_every=self.sync_every, deadline=deadline,
                      start_weight=weight)
        run = solve(sub, method, sub.put(starts), opt, limit, certain[rows], seeds[rows])
        u, v = run.vectors(sub)
        return _put(op, out, rows, run, u, v)

    def exact(self, a: Any) -> Solved:
        """The exact answers of the stack ``a`` (count, m, n) from the namespace's SVD, with
        their one-pass bounds; nothing computed if an entry is not finite or a matrix lies
        outside the safe range."""
        op = self.operator(a)
        finite, certain = stack_bounds(op)
        low, high = safe_range(namespace_dtype(self.xp, a.dtype))
        out = _empty(op, finite, certain)
        if not np.all(finite) or np.any((certain > 0) & ((certain < low) | (certain > high))):
            return out
        found = exact(op)
        count = op.count
        return out._replace(sigma=found.sigma, lower=found.lower, upper=found.upper,
                            residual=found.residual,
                            iterations=np.where(found.sigma > 0, 2, 0).astype(np.int64),
                            converged=np.ones(count, dtype=bool), u=found.u, v=found.v)

    def units(self, count: int, size: int, like: Any) -> Any:
        """``count`` rows of the first unit vector of length ``size``, beside ``like``."""
        e = np.zeros((count, size))
        if size:
            e[:, 0] = 1.0
        return self.xp.astype(self.from_host(e, like), like.dtype)

    # The interface the API layer uses (shared with the cpp backend).
    def numpy_dtype(self, a: Any) -> np.dtype:
        return namespace_dtype(self.xp, a.dtype) if self.on_device else np.dtype(a.dtype)

    def astype(self, a: Any, dtype: np.dtype) -> Any:
        """``a`` in the compute dtype named by the NumPy dtype ``dtype`` (a new array if needed)."""
        if self.numpy_dtype(a) == dtype:
            return a
        if self.on_device:
            return self.xp.astype(a, getattr(self.xp, np.dtype(dtype).name))
        return a.astype(dtype)

    def prepare(self, a: Any) -> Any:
        """The array the compute methods read (the cpp backend may make one aligned copy)."""
        return a

    def dense_bounds(self, a: Any) -> tuple[bool, float]:
        """(every entry finite, min(||A||_F, sqrt(||A||_1 ||A||_inf))) of one matrix."""
        finite, certain = stack_bounds(self.operator(a[None, ...]))
        return bool(finite[0]), float(certain[0])

    def rayleigh_quotient(self, a: Any, x: Any) -> float:
        op = self.operator(a[None, ...])
        return float(rayleigh_quotient(op, x[None, :])[0])

    #: What method="auto" runs on a small matrix (min(m, n) <= SVD_CUTOFF): the exact SVD
    #: here, where one LAPACK call costs less than the Gram kernel's Python loop (measured on
    #: 32 x 32 float64 with NumPy: 0.4 ms against 7 ms, and 125 ms against 264 ms for a stack
    #: of 1000; docs/performance.md); the kernel itself (engine/small.py) runs here too.
    AUTO_SMALL = "svd"
    #: The most products of the default budget (_rules.default_maxiter): each product is a
    #: Python call here; None where the loop is compiled.
    MOST_CALLS: int | None = MOST_CALLS


def _drawn(seed: int, op: StackOperator) -> np.ndarray:
    """The Gaussian start drawn from ``seed`` (complex: Gaussian real and imaginary parts)."""
    source = np.random.default_rng(seed)
    draw = source.standard_normal(op.n)
    if op.complex:
        draw = draw + 1j * source.standard_normal(op.n)
    return draw


def _empty(op: StackOperator, finite: np.ndarray, certain: np.ndarray) -> Solved:
    """A Solved of ``op``'s shape that computed nothing (unit vectors)."""
    count = op.count
    return Solved(finite=finite, certain=certain, sigma=np.zeros(count), lower=np.zeros(count),
                  residual=np.full(count, np.inf), upper=np.full(count, np.inf),
                  iterations=np.zeros(count, dtype=np.int64),
                  converged=np.zeros(count, dtype=bool), bound_kind=np.zeros(count, np.int8),
                  bound_steps=np.zeros(count, dtype=np.int64), u=op.unit_rows(count, op.m),
                  v=op.unit_rows(count, op.n))


def _put(op: StackOperator, out: Solved, rows: np.ndarray, run: Any, u: Any, v: Any) -> Solved:
    """``out`` with the matrices ``rows`` answered by the engine's ``run``."""
    host = {}
    for name in ("sigma", "lower", "residual", "upper", "iterations", "converged",
                 "bound_kind", "bound_steps"):
        values = np.array(getattr(out, name), copy=True)
        values[rows] = getattr(run, name)
        host[name] = values
    if rows.size == op.count:
        return out._replace(**host, u=u, v=v)
    return out._replace(**host, u=_scatter(op, rows, u, out.u), v=_scatter(op, rows, v, out.v))


def _scatter(op: StackOperator, rows: np.ndarray, values: Any, base: Any) -> Any:
    """``base`` (count, l) with its rows ``rows`` replaced by the rows of ``values``."""
    xp = op.xp
    where = np.full(op.count, -1, dtype=np.int64)
    where[rows] = np.arange(rows.size)
    mask = op.put_real((where >= 0).astype(np.float64))[:, None] > 0
    spread = xp.take(values, op.put_index(np.maximum(where, 0)), axis=0)
    return xp.where(mask, spread, base)
