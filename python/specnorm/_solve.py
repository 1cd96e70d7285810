"""One path from request to answer.

The public functions (:mod:`specnorm._api`) turn their arguments into a :class:`Request`, checked
once here. Each kind of input is an adapter behind one small protocol (:class:`Input`): its
shape and dtype, its bounds from the entries, its iterative answer and its exact reference. The
steps every kind shares are written once in :func:`answer`: the empty and zero answers, the
finite check, the rescue from extreme scales, the seeds and start vectors, the run, the bracket
``lower <= sigma_1 <= upper`` and ``sigma >= lower``.

Input kinds: dense arrays and stacks (:class:`Dense`, on any backend), SciPy sparse matrices
(:class:`HostSparse`), sparse matrices of a device library (:class:`DeviceSparse`), and
matrix-free products (:class:`Products`: operators with matvec/rmatvec, Dask arrays).
"""

from __future__ import annotations

import hashlib
import math
import numbers
from dataclasses import dataclass, field
from typing import Any, Protocol

import numpy as np

from . import _dask, _operator, _rules
from . import backends as _backends
from ._bounds import random_start_factor
from ._result import Estimate
from ._rules import (
    BOUND_KINDS,
    FAILURE_PROBABILITY,
    START_MIX,
    basis_size,
    compute_dtype,
    default_maxiter,
    resolve_method,
    safe_range,
    tol_floor,
)
from ._validate import (
    backend_matrix,
    check_maxiter,
    check_method,
    check_start,
    check_starts,
    check_threads,
    check_timeout,
    check_tol,
    make_rng,
)
from .backends.xp import Solved, XpBackend
from .engine import Operator, Options, solve
from .engine import rayleigh_quotient as quotients
from .engine.bounds import sparse_bounds

__all__ = ["NOT_FINITE", "Request", "answer", "host_vector", "input_for", "request"]

NOT_FINITE = "A contains NaN or Inf; the spectral norm needs finite entries"


@dataclass
class Request:
    """The arguments of one call, checked: method, tol, maxiter (None: the default budget),
    the seed's generator, the start vector(s) as given, backend name, thread count (0: OpenMP's
    default) and deadline (on ``time.monotonic()``'s clock)."""

    method: str
    tol: float
    maxiter: int | None
    rng: np.random.Generator
    v0: Any = None
    backend: str = "auto"
    threads: int = 0
    deadline: float = math.inf
    seed: Any = field(default=None, repr=False)


def request(method: Any, tol: Any, maxiter: Any, seed: Any, backend: Any, v0: Any,
            threads: Any, timeout: Any) -> Request:
    """The request for these arguments; ValueError (or TypeError) naming the first bad one."""
    return Request(method=check_method(method), tol=check_tol(tol),
                   maxiter=check_maxiter(maxiter), rng=make_rng(seed), v0=v0,
                   backend=backend, threads=check_threads(threads),
                   deadline=check_timeout(timeout), seed=seed)


class Input(Protocol):
    """What every input kind gives the common steps."""

    #: The backend that holds the answer's vectors and reports it (its name).
    be: XpBackend
    batch: tuple[int, ...]
    m: int
    n: int
    dtype: np.dtype
    #: The product budget's cap (None: a compiled loop) and whether the Gram kernel runs here.
    most_calls: int | None
    has_gram: bool
    #: Whether a matrix outside its dtype's safe range is computed on a scaled copy.
    rescues: bool

    def resolve(self, method: str) -> str: ...

    def iterate(self, method: str, tol: float, limit: int, seeds: np.ndarray,
                starts: np.ndarray, req: Request) -> Solved: ...

    def exact(self) -> Solved: ...

    def scaled(self, k: np.ndarray) -> Input: ...

    def zero_vectors(self, count: int, size: int) -> Any: ...


# -- the common steps ----------------------------------------------------------------------
def answer(inp: Input, req: Request) -> Estimate:
    """The Estimate for ``inp``: a float answer for a single matrix (batch ()), arrays over the
    batch otherwise."""
    method = inp.resolve(req.method)
    reported = "power" if method == "gram" else method
    count = math.prod(inp.batch)
    starts = None
    if req.v0 is not None:
        host = host_vector(inp.be, req.v0)
        starts = (check_start(host, inp.n, inp.dtype)[None, :] if not inp.batch
                  else check_starts(host, inp.batch, inp.n, inp.dtype).reshape(count, inp.n))
        starts = _mixed(starts, req.seed, inp.dtype)
    if count == 0 or inp.m == 0 or inp.n == 0:
        return _assemble(inp, _zeros(inp, count), reported, np.ones(count))
    if method == "svd":
        solved = inp.exact()
    else:
        floor = tol_floor(inp.dtype, inp.m, inp.n)
        limit = (req.maxiter if req.maxiter is not None
                 else default_maxiter(inp.m, inp.n, inp.most_calls))
        random = starts is None
        if random and method == "gram" and not inp.batch:
            # the start drawn by the backend from the seed, as on the fast path
            seeds = np.array([core_seed(req.seed, req.rng)], dtype=np.uint64)
        else:
            if random:
                starts = _random_starts(req.rng, (count, inp.n), inp.dtype)
            seeds = req.rng.integers(0, 2**63 - 1, size=count, dtype=np.uint64)
        solved = inp.iterate(method, max(req.tol, floor), limit, seeds, starts, req)
    if not np.all(solved.finite):
        raise ValueError(NOT_FINITE)
    certain = solved.certain
    low, high = safe_range(inp.dtype)
    extreme = (certain > 0) & ((certain < low) | (certain > high))
    if inp.rescues and np.any(extreme):
        return _rescued(inp, req, certain, extreme, solved.iterations)
    zero = ~(certain > 0)
    if method == "svd":
        upper, confidence = solved.upper, np.ones(count)
    else:
        bound = np.fmin(certain, solved.upper)
        kinds = solved.bound_kind.astype(np.int64) if random else np.zeros(count, np.int64)
        upper, confidence = _bracket(solved.sigma, solved.lower, bound, kinds,
                                     solved.bound_steps, inp.n, inp.dtype.kind == "c", floor)
    if np.any(zero):  # the zero matrix: sigma = 0 exactly, converged
        zeros = _zeros(inp, count)
        solved = _merge(inp, zero, zeros, solved)
        upper = np.where(zero, 0.0, upper)
        confidence = np.where(zero, 1.0, confidence)
    sigma = np.maximum(solved.sigma, solved.lower)  # never below the certain lower bound
    return _assemble(inp, solved._replace(sigma=sigma, upper=np.maximum(upper, solved.lower)),
                     reported, confidence)


def start_weight(req: Request) -> float:
    """How the starts of ``req`` were drawn, for the certificate that sigma_1 was not missed:
    1 for Gaussian starts, (1 + START_MIX) / START_MIX for the caller's v0 mixed (_mixed)."""
    return 1.0 if req.v0 is None else (1 + START_MIX) / START_MIX


def _mixed(starts: np.ndarray, seed: Any, dtype: np.dtype[Any]) -> np.ndarray:
    """Each row v of the caller's starts as v / ||v|| + START_MIX g / ||g||, normalized: v's
    direction, and a random part that lets a run prove it has not missed sigma_1
    (docs/mathematics.md 7.4). g is drawn from the row's own bytes and an integer ``seed``, so
    a row gets the same start alone or in a stack."""
    v = np.asarray(starts)
    base = int(seed) if isinstance(seed, (int, np.integer)) and not isinstance(seed, bool) else 0
    out = np.empty(v.shape, dtype=np.result_type(v.dtype, np.float64))
    for i, row in enumerate(v):
        key = int.from_bytes(hashlib.blake2b(np.ascontiguousarray(row).tobytes(),
                                             digest_size=8).digest(), "little")
        g = _random_starts(np.random.default_rng([key, base]), row.shape, dtype)
        g = g.astype(out.dtype) / np.linalg.norm(g)
        size = np.linalg.norm(row)
        x = row / (size if size > 0 else 1.0) + START_MIX * g
        out[i] = x / np.linalg.norm(x)
    return out.astype(v.dtype)


def _rescued(inp: Input, req: Request, certain: np.ndarray, extreme: np.ndarray,
             spent: np.ndarray) -> Estimate:
    """The answer for a copy of the input with the matrices outside the safe range scaled by a
    power of two that puts their size near 1, scaled back; the products of the first run are
    counted too."""
    top = float(np.finfo(inp.dtype).maxexp)
    with np.errstate(divide="ignore"):
        k = np.where(extreme, -np.floor(np.log2(np.where(extreme, certain, 1.0))), 0.0)
    # an infinite bound (sums beyond float64): by the largest power, every entry then <= 1
    k = np.where(np.isfinite(k), k, -top).astype(np.int64)
    again = answer(inp.scaled(k.reshape(inp.batch)), req)
    be = inp.be
    # Scaling back by 2^-k in two halves: 2^-k itself may lie beyond float64 (2^1024).
    halves = (np.ldexp(1.0, -k // 2), np.ldexp(1.0, -k - (-k // 2)))

    def unscale(x: Any) -> Any:
        with np.errstate(over="ignore"):  # an upper bound beyond float64 becomes inf: valid
            if not inp.batch:
                return float(x) * float(halves[0][0]) * float(halves[1][0])
            host = np.asarray(be.to_host(x), dtype=np.float64).reshape(-1)
            return be.from_host((host * halves[0] * halves[1]).reshape(inp.batch),
                                again.u)

    sigma = unscale(again.sigma)
    if not np.all(np.isfinite(np.asarray(be.to_host(sigma) if inp.batch else sigma))):
        raise ValueError("the spectral norm of A exceeds the largest float64 number "
                         f"({np.finfo(np.float64).max:.3g}): it cannot be returned")
    iterations = again.iterations
    if inp.batch:
        host = np.asarray(be.to_host(iterations)).reshape(-1) + spent
        iterations = be.from_host(host.reshape(inp.batch), again.u)
    else:
        iterations = int(iterations) + int(spent[0])
    return Estimate(sigma=sigma, u=again.u, v=again.v, lower=unscale(again.lower),
                    upper=unscale(again.upper), confidence=again.confidence,
                    iterations=iterations, converged=again.converged, residual=again.residual,
                    method=again.method, backend=again.backend)


def _bracket(sigma: np.ndarray, lower: np.ndarray, certain: np.ndarray, kinds: np.ndarray,
             steps: np.ndarray, n: int, is_complex: bool,
             floor: float) -> tuple[np.ndarray, np.ndarray]:
    """(upper, confidence) per estimate: the random-start bound of kind ``kinds`` (codes into
    BOUND_KINDS) after ``steps`` steps where it is below the certain bound, else the certain
    bound; never below ``lower``."""
    keys, inverse = np.unique(np.stack([kinds, steps], axis=1), axis=0, return_inverse=True)
    values = np.array([random_start_factor(BOUND_KINDS[k], int(st), n, is_complex)
                       for k, st in keys])
    factor = values[inverse.reshape(-1)]
    with np.errstate(invalid="ignore", over="ignore"):
        likely = np.maximum(sigma, lower) * factor * (1.0 + floor)
    use_likely = likely < certain
    upper = np.maximum(np.where(use_likely, likely, certain), lower)
    return upper, np.where(use_likely, 1.0 - FAILURE_PROBABILITY, 1.0)


def _zeros(inp: Input, count: int) -> Solved:
    """The answer for zero (or empty) matrices: sigma = 0, unit vectors, converged."""
    return Solved(finite=np.ones(count, dtype=bool), certain=np.zeros(count),
                  sigma=np.zeros(count), lower=np.zeros(count), residual=np.zeros(count),
                  upper=np.zeros(count), iterations=np.zeros(count, dtype=np.int64),
                  converged=np.ones(count, dtype=bool), bound_kind=np.zeros(count, np.int8),
                  bound_steps=np.zeros(count, dtype=np.int64),
                  u=inp.zero_vectors(count, inp.m), v=inp.zero_vectors(count, inp.n))


def _merge(inp: Input, where: np.ndarray, first: Solved, second: Solved) -> Solved:
    """``first`` where ``where`` holds, else ``second`` (vectors included)."""
    be = inp.be
    mask = be.from_host(where.astype(np.float64), second.u)[:, None] > 0
    host = {name: np.where(where, getattr(first, name), getattr(second, name))
            for name in Solved._fields if name not in ("u", "v")}
    return Solved(**host, u=be.xp.where(mask, first.u, second.u),
                  v=be.xp.where(mask, first.v, second.v))


def _assemble(inp: Input, solved: Solved, method: str, confidence: np.ndarray) -> Estimate:
    """The Estimate: floats and vectors for a single matrix, arrays shaped by the batch."""
    be = inp.be
    if not inp.batch:
        return Estimate(sigma=float(solved.sigma[0]), u=solved.u[0, ...], v=solved.v[0, ...],
                        lower=float(solved.lower[0]), upper=float(solved.upper[0]),
                        confidence=float(confidence[0]),
                        iterations=int(solved.iterations[0]),
                        converged=bool(solved.converged[0]),
                        residual=float(solved.residual[0]), method=method, backend=be.NAME)
    like = solved.u

    def shaped(x: np.ndarray, dtype: Any) -> Any:
        return be.from_host(np.ascontiguousarray(x, dtype=dtype).reshape(inp.batch), like)

    xp = be.xp
    return Estimate(sigma=shaped(solved.sigma, np.float64),
                    u=xp.reshape(solved.u, (*inp.batch, inp.m)),
                    v=xp.reshape(solved.v, (*inp.batch, inp.n)),
                    lower=shaped(solved.lower, np.float64),
                    upper=shaped(solved.upper, np.float64),
                    confidence=shaped(confidence, np.float64),
                    iterations=shaped(solved.iterations, np.int64),
                    converged=shaped(solved.converged, np.bool_),
                    residual=shaped(solved.residual, np.float64), method=method,
                    backend=be.NAME)


def _random_starts(rng: np.random.Generator, shape: tuple[int, ...],
                   dtype: np.dtype) -> np.ndarray:
    """Gaussian start vectors (complex ones with Gaussian real and imaginary parts)."""
    draw = rng.standard_normal(shape)
    if dtype.kind == "c":
        draw = draw + 1j * rng.standard_normal(shape)
    return draw.astype(dtype)


def host_vector(be: XpBackend, x: Any, name: str = "v0") -> Any:
    """A vector argument on the host for validation: a device backend's vector (n numbers, once
    per call, outside every loop) is copied back; a device vector for a host matrix is an
    error."""
    if be.on_device:
        return be.to_host(x) if be.owns(x) else x
    owner = _backends.owner(x)
    if owner is not None:
        raise TypeError(f"{name} is a {owner.NAME} array but A is on the host; pass both on the "
                        "same side")
    return x


# -- the input kinds -----------------------------------------------------------------------
class Dense:
    """A dense array or stack (..., m, n) on a backend (NumPy on cpp or numpy, CuPy, ...)."""

    rescues = True

    def __init__(self, a: Any, be: XpBackend) -> None:
        self.be, self.a = be, a
        shape = tuple(int(d) for d in a.shape)
        self.batch, (self.m, self.n) = shape[:-2], shape[-2:]
        self.dtype = be.numpy_dtype(a)
        self.most_calls = be.MOST_CALLS
        self.has_gram = be.AUTO_SMALL == "gram"

    def resolve(self, method: str) -> str:
        return resolve_method(method, self.m, self.n, self.has_gram)

    def _stack(self) -> Any:
        count = math.prod(self.batch)
        return self.be.prepare(self.be.xp.reshape(self.a, (count, self.m, self.n)))

    def iterate(self, method: str, tol: float, limit: int, seeds: np.ndarray,
                starts: np.ndarray, req: Request) -> Solved:
        return self.be.solve(self._stack(), method, tol, limit,
                             basis_size(self.m, self.n, self.dtype.itemsize), seeds, starts,
                             req.threads, req.deadline, start_weight(req))

    def exact(self) -> Solved:
        return self.be.exact(self._stack())

    def scaled(self, k: np.ndarray) -> Dense:
        return Dense(_scaled_by_powers_of_two(self.a, k, self.be), self.be)

    def zero_vectors(self, count: int, size: int) -> Any:
        return self.be.units(count, size, self.a)


def _scaled_by_powers_of_two(a: Any, k: np.ndarray, be: XpBackend) -> Any:
    """A new array: every matrix of ``a`` times 2**k (k of shape a.shape[:-2], of either sign),
    exactly but for entries pushed into the subnormal range, in steps of at most 2**100 (which
    every dtype represents)."""
    xp = be.xp
    real = np.finfo(be.numpy_dtype(a)).dtype
    left = k.astype(np.int64)
    while np.any(left != 0):
        step = np.clip(left, -100, 100)
        factor = np.ldexp(1.0, step).astype(real).reshape(*k.shape, 1, 1)
        a = a * xp.astype(be.from_host(factor, a), getattr(xp, real.name))
        left = left - step
    return a


class _EngineInput:
    """An input the engine runs as one operator (a stack of one): sparse matrices and products.
    ``certain`` is the bound from the entries (inf where there are none: the first product then
    gives the size of A, and is counted)."""

    batch: tuple[int, ...] = ()
    has_gram = False
    rescues = False
    most_calls: int | None = _rules.MOST_CALLS

    def __init__(self, be: XpBackend, op: Operator, dtype: np.dtype, finite: bool,
                 certain: float, sync_every: int = 1) -> None:
        self.be, self.op, self.dtype = be, op, dtype
        self.m, self.n = op.m, op.n
        self.finite, self.certain, self.sync_every = finite, certain, sync_every

    def resolve(self, method: str) -> str:
        return "lanczos" if method == "auto" else method

    def iterate(self, method: str, tol: float, limit: int, seeds: np.ndarray,
                starts: np.ndarray, req: Request) -> Solved:
        op = self.op
        if not self.finite or not self.certain > 0:
            return _skipped(self, self.finite, self.certain)
        x0 = op.put(starts)
        extra = 0
        hint = self.certain
        if not math.isfinite(hint):
            hint = float(quotients(op, x0)[0])
            extra = 1
        opt = Options(tol=tol, basis_size=basis_size(self.m, self.n, self.dtype.itemsize),
                      sync_every=self.sync_every, deadline=req.deadline,
                      start_weight=start_weight(req))
        run = solve(op, method, x0, opt, max(limit - extra, 1), hint if hint > 0 else 1.0,
                    seeds)
        u, v = run.vectors(op)
        return Solved(finite=np.array([True]), certain=np.array([self.certain]),
                      sigma=run.sigma, lower=run.lower, residual=run.residual,
                      upper=run.upper, iterations=run.iterations + extra,
                      converged=run.converged, bound_kind=run.bound_kind,
                      bound_steps=run.bound_steps, u=u, v=v)

    def exact(self) -> Solved:  # pragma: no cover - resolve() refuses svd first
        raise ValueError("no exact reference without the entries")

    def scaled(self, k: np.ndarray) -> _EngineInput:
        return self  # pragma: no cover - no bound is extreme without entries

    def zero_vectors(self, count: int, size: int) -> Any:
        return self.op.unit_rows(count, size)


def _skipped(inp: Any, finite: bool, certain: float) -> Solved:
    """A Solved that computed nothing (an entry not finite, or A = 0)."""
    zeros = _zeros(inp, 1)
    return zeros._replace(finite=np.array([finite]), certain=np.array([certain]))


class Products(_EngineInput):
    """Matrix-free products (``shape``, ``matvec``, ``rmatvec``; Dask arrays through one Dask
    computation per product) on the host."""

    def __init__(self, products: Any, dtype: np.dtype, what: str, finite: bool = True,
                 certain: float = math.inf) -> None:
        be = _backends.BACKENDS["numpy"]
        super().__init__(be, _operator.ProductsOperator(products, dtype), dtype, finite,
                         certain)
        self.what = what

    def resolve(self, method: str) -> str:
        if method == "svd":
            raise ValueError(f"method='svd' needs the entries of A in memory; {self.what} is "
                             "used through its products only: use 'lanczos' (or convert it to "
                             "a dense array first)")
        return super().resolve(method)


class HostSparse(_EngineInput):
    """A SciPy sparse matrix in CSR form: read in place by the C++ core on the cpp backend,
    else the engine's sparse products on NumPy vectors."""

    def __init__(self, csr: Any, be: XpBackend, dtype: np.dtype) -> None:
        self.csr, self.be = csr, be
        op = be.sparse_operator(csr) if be.NAME != "cpp" else _backends.BACKENDS[
            "numpy"].sparse_operator(csr)
        finite, certain = (True, math.inf) if be.NAME == "cpp" else sparse_bounds(op)
        super().__init__(be, op, dtype, finite, certain)

    def iterate(self, method: str, tol: float, limit: int, seeds: np.ndarray,
                starts: np.ndarray, req: Request) -> Solved:
        if self.be.NAME == "cpp":
            return self.be.solve_sparse(self.csr, method, tol, limit,
                                        basis_size(self.m, self.n, self.dtype.itemsize),
                                        int(seeds[0]), starts[0], req.deadline,
                                        start_weight(req))
        return super().iterate(method, tol, limit, seeds, starts, req)


class DeviceSparse(_EngineInput):
    """A sparse matrix of a device library (``cupyx.scipy.sparse``), products on its device."""

    def __init__(self, csr: Any, be: XpBackend, dtype: np.dtype) -> None:
        op = be.sparse_operator(csr)
        finite, certain = sparse_bounds(op)
        super().__init__(be, op, dtype, finite, certain, be.sync_every)


def _is_scipy_sparse(a: Any) -> bool:
    return type(a).__module__.startswith("scipy.sparse") and hasattr(a, "tocsr")


def _as_csr(a: Any, dtype: np.dtype) -> Any:
    """A in CSR form in its compute dtype, duplicates summed (one conversion where needed)."""
    csr = a if a.format == "csr" else a.tocsr()
    if csr.dtype != dtype:
        csr = csr.astype(dtype)
    if not csr.has_canonical_format:
        csr = csr.copy() if csr is a else csr  # summing duplicates works in place
        csr.sum_duplicates()
    return csr


def _host_backend(backend: Any, what: str) -> XpBackend:
    """The backend for an input that lives on the host (sparse matrices, operators)."""
    be = _backends.resolve(backend)  # an unknown or unusable backend raises here
    if be.on_device:
        raise TypeError(f"{what} computes on the host; the {be.NAME!r} backend computes on "
                        "device arrays only")
    return be


def input_for(A: Any, req: Request) -> Input | Estimate:
    """The adapter for ``A`` (or, for a sparse matrix asked for "svd", the answer of its dense
    copy)."""
    if _is_scipy_sparse(A):
        if A.ndim != 2:
            raise ValueError(f"A must be a 2-D sparse matrix, got shape {A.shape}")
        be = _host_backend(req.backend, "A is a SciPy sparse matrix on the host and")
        if req.method == "svd":
            return Dense(backend_matrix(A.toarray(), be), be)
        return HostSparse(_as_csr(A, compute_dtype(A.dtype)), be, compute_dtype(A.dtype))
    device = _backends.sparse_owner(A)
    if device is not None:
        be = _backends.resolve(req.backend, A)
        if req.method == "svd":
            return Dense(backend_matrix(A.toarray(), be), be)
        dtype = compute_dtype(np.dtype(A.dtype))
        return DeviceSparse(_as_csr(A, dtype), be, dtype)
    if _dask.is_dask_array(A):
        if A.ndim != 2:
            raise ValueError(f"A must be a 2-D Dask array, got shape {A.shape}")
        dtype = compute_dtype(A.dtype)  # a non-numeric dtype raises here, first
        _host_backend(req.backend, "a Dask array")
        if req.method == "svd":
            raise ValueError("method='svd' needs the entries of A in memory; a Dask array is "
                             "used through its products only: use 'lanczos' (or compute() it "
                             "first)")
        finite, certain = _dask.dask_bounds(A)
        return Products(_dask.DaskProducts(A), dtype, "a Dask array", finite, certain)
    if _operator.is_operator(A):
        _host_backend(req.backend, "a matrix-free operator")
        shape = tuple(A.shape)
        if len(shape) != 2 or not all(isinstance(d, (int, np.integer)) and d >= 0
                                      for d in shape):
            raise ValueError(f"an operator's shape must be (m, n) with m, n >= 0, got "
                             f"{A.shape!r}")
        return Products(A, _operator.operator_dtype(A), "a matrix-free operator")
    be = _backends.resolve(req.backend, A)
    return Dense(backend_matrix(A, be), be)


def core_seed(seed: Any, rng: np.random.Generator) -> int:
    """The seed the core draws its start from: an integer seed itself (as on the lean path),
    else a draw from ``rng``."""
    if isinstance(seed, numbers.Integral) and not isinstance(seed, bool) and 0 <= seed < 2**64:
        return int(seed)
    return int(rng.integers(0, 2**63 - 1))
