"""The C++/Eigen core (``specnorm._core``) on NumPy arrays, read in place without copying.

The iterative methods and the one-pass bounds run in the extension with the GIL released; the
exact reference (``method="svd"``) is the engine's (:mod:`specnorm.engine.svd`) on NumPy.
The core answers with typed objects (``_core.Estimate``, ``_core.BatchEstimate``, ...: see
``_core.pyi``); :meth:`CppBackend.fields` turns them into the dicts of the backend interface.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

import numpy as np

from .._rules import CORE_METHODS, STATUSES, core_view, remaining, safe_range, stack_view
from . import numpy as _numpy
from .xp import Solved, XpBackend

if TYPE_CHECKING:
    from .. import _core

NAME = "cpp"


class CppBackend(XpBackend):
    """The compiled core behind the backend interface of :class:`XpBackend`."""

    #: method="auto" on a small matrix runs the core's Gram kernel (small.hpp): a certain
    #: upper bound in a few microseconds.
    AUTO_SMALL = "gram"
    #: The core's loops run in C++: the default budget is not capped.
    MOST_CALLS = None

    def __init__(self) -> None:
        super().__init__(NAME, load=_numpy._load, check=lambda namespace: (True, ""),
                         owns=_numpy.owns_host, to_host=np.asarray,
                         from_host=lambda values, like: np.asarray(values))
        self._core: Any = None
        self._error = ""
        self._methods: dict[str, _core.Method] = {}

    def core(self) -> Any:
        if self._core is None and not self._error:
            try:
                from .. import _core as core  # type: ignore[attr-defined]
            except ImportError as exc:  # the extension was not built, or was removed
                self._error = f"the compiled extension specnorm._core does not import ({exc})"
            else:
                self._core = core
                self._methods = dict(core.Method.__members__)
        return self._core

    def availability(self) -> tuple[bool, str]:
        if self.core() is None:
            return False, self._error
        return True, "the C++ core is built"

    def method(self, name: str) -> _core.Method:
        """The core's ``Method`` for a method name of CORE_METHODS."""
        if not self._methods:
            self.core()
        try:
            return self._methods[name]
        except KeyError:
            raise ValueError(f"unknown method {name!r}: the core runs "
                             f"{', '.join(CORE_METHODS)}") from None

    def prepare(self, a: np.ndarray) -> np.ndarray:
        return core_view(a) if a.ndim == 2 else stack_view(a)

    def dense_bounds(self, a: np.ndarray) -> tuple[bool, float]:
        bounds = self.core().dense_bounds(a)
        return bounds.finite, bounds.upper

    # The interface of the pipeline (_solve.py).
    def solve(self, a: np.ndarray, method: str, tol: float, limit: int, basis: int,
              seeds: np.ndarray, starts: np.ndarray | None, threads: int,
              deadline: float = math.inf, weight: float = 1.0) -> Solved:
        """``method`` on every matrix of the stack ``a`` (count, m, n): one matrix by
        ``_core.estimate`` (its products multi-threaded, an F-ordered matrix through its
        transpose) or ``_core.estimate_small`` (the Gram kernel, its start drawn from the seed
        where ``starts`` is None); a stack by ``_core.estimate_batch``, one matrix per task on
        ``threads`` threads (0: OpenMP's default)."""
        core = self.core()
        if a.shape[0] != 1:
            return _from_batch(core.estimate_batch(a, self.method(method), tol, limit, basis,
                                                   seeds, starts, threads,
                                                   remaining(deadline), weight))
        one = core_view(a[0])
        m, n = one.shape
        if method == "gram":
            small = core.estimate_small(one, tol, limit, int(seeds[0]),
                                        None if starts is None else starts[0], True,
                                        remaining(deadline))
            return _from_small(small, m, n, one.dtype)
        bounds = core.dense_bounds(one)
        low, high = safe_range(one.dtype)
        out = _nothing(m, n, one.dtype, bounds.finite,
                       bounds.upper if bounds.finite else math.nan)
        if not bounds.finite or not low <= bounds.upper <= high:
            return out  # rejected, zero, or rescaled by the caller
        est = core.estimate(one, self.method(method), tol, limit, basis, int(seeds[0]),
                            starts[0], bounds.upper, remaining(deadline), weight)
        return _from_estimate(est, out)

    def solve_sparse(self, csr: Any, method: str, tol: float, limit: int, basis: int,
                     seed: int, start: np.ndarray, deadline: float = math.inf,
                     weight: float = 1.0) -> Solved:
        """``method`` on a SciPy CSR matrix without duplicates, its arrays read in place; the
        core makes the one-pass bounds itself."""
        m, n = (int(d) for d in csr.shape)
        indices, indptr = csr.indices, csr.indptr
        if indices.dtype != indptr.dtype:
            indices = indices.astype(indptr.dtype)
        found = self.core().estimate_sparse(
            np.ascontiguousarray(indptr), np.ascontiguousarray(indices),
            np.ascontiguousarray(csr.data), m, n, self.method(method), tol, limit, basis, seed,
            start, remaining(deadline), weight)
        bounds = found.bounds
        out = _nothing(m, n, csr.dtype, bounds.finite, bounds.upper if bounds.finite else math.nan)
        return out if found.estimate is None else _from_estimate(found.estimate, out)

    def rayleigh_quotient(self, a: np.ndarray, x: np.ndarray) -> float:
        return float(self.core().rayleigh_quotient(a, x))


def _nothing(m: int, n: int, dtype: np.dtype, finite: bool, certain: float) -> Solved:
    """The answer for one matrix where nothing was computed: its bounds and unit vectors."""
    u, v = np.zeros((1, m), dtype=dtype), np.zeros((1, n), dtype=dtype)
    if m:
        u[0, 0] = 1
    if n:
        v[0, 0] = 1
    return Solved(finite=np.array([finite]), certain=np.array([certain]), sigma=np.zeros(1),
                  lower=np.zeros(1), residual=np.full(1, np.inf), upper=np.full(1, np.inf),
                  iterations=np.zeros(1, dtype=np.int64), converged=np.zeros(1, dtype=bool),
                  bound_kind=np.zeros(1, dtype=np.int8), bound_steps=np.zeros(1, dtype=np.int64),
                  u=u, v=v)


def _from_estimate(est: Any, out: Solved) -> Solved:
    """``out`` answered by one of the core's ``Estimate``."""
    return out._replace(sigma=np.array([est.sigma]), lower=np.array([est.lower]),
                        residual=np.array([est.residual]), upper=np.array([est.upper]),
                        iterations=np.array([est.iterations], dtype=np.int64),
                        converged=np.array([est.converged]),
                        bound_kind=np.array([int(est.bound_kind)], dtype=np.int8),
                        bound_steps=np.array([est.bound_steps], dtype=np.int64),
                        u=est.u[None, :], v=est.v[None, :])


def _from_small(small: Any, m: int, n: int, dtype: np.dtype) -> Solved:
    """The answer of the core's Gram kernel (``SmallEstimate``): its certain bound stands for
    the bounds (ok), an entry not finite, or A = 0."""
    status = STATUSES[int(small.status)]
    out = _nothing(m, n, dtype, status != "not_finite",
                   0.0 if status == "zero" else small.upper if status == "ok" else math.nan)
    if status != "ok":
        return out
    return out._replace(sigma=np.array([small.sigma]), lower=np.array([small.lower]),
                        residual=np.array([small.residual]), upper=np.array([small.upper]),
                        iterations=np.array([small.iterations], dtype=np.int64),
                        converged=np.array([small.converged]), u=small.u[None, :],
                        v=small.v[None, :])


def _from_batch(batch: Any) -> Solved:
    """The answer of the core's ``estimate_batch``."""
    bounds = batch.bounds
    return Solved(finite=bounds.finite, certain=np.where(bounds.finite, bounds.upper, np.nan),
                  sigma=batch.sigma, lower=batch.lower, residual=batch.residual,
                  upper=batch.upper, iterations=batch.iterations, converged=batch.converged,
                  bound_kind=batch.bound_kind, bound_steps=batch.bound_steps, u=batch.u,
                  v=batch.v)


BACKEND = CppBackend()
