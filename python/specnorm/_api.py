"""The public functions: sigma, estimate, sigma_many, rayleigh_quotient, backends."""

from __future__ import annotations

import math
import numbers
import random
from collections.abc import Callable, Iterable
from typing import Any

import numpy as np

from . import _dask, _operator, _rules
from . import backends as _backends
from ._bounds import random_start_factor
from ._result import Estimate
from ._rules import (
    BOUND_KINDS,
    FAILURE_PROBABILITY,
    SVD_CUTOFF,
    basis_size,
    compute_dtype,
    default_maxiter,
    remaining,
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
    reject_masked,
)
from .backends.xp import Options, XpBackend

__all__ = ["backends", "estimate", "rayleigh_quotient", "sigma", "sigma_many"]



def backends() -> dict[str, _backends.BackendInfo]:
    """Which backends are usable here, and why not.

    Returns
    -------
    dict
        Backend name (``"cpp"``, ``"numpy"``, ``"cupy"``) -> ``BackendInfo(usable, reason)``;
        the reason names what is missing (the compiled extension, CuPy, a CUDA device).

    Examples
    --------
    >>> import specnorm
    >>> specnorm.backends()["numpy"].usable
    True
    """
    return _backends.available()


def _zero_estimate(m: int, n: int, a: Any, method: str, be: XpBackend) -> Estimate:
    return Estimate(sigma=0.0, u=be.unit(m, a), v=be.unit(n, a), lower=0.0, upper=0.0,
                    confidence=1.0, iterations=0, converged=True, residual=0.0,
                    method=method, backend=be.NAME)




_NOT_FINITE = "A contains NaN or Inf; the spectral norm needs finite entries"
#: The dtypes the lean path reads in place (native byte order), with their machine epsilon.
_LEAN_EPS = {np.dtype(t): float(np.finfo(t).eps)
             for t in (np.float64, np.float32, np.complex128, np.complex64)}
#: ... and the norms their products compute at full accuracy (see safe_range).
_LEAN_RANGE = {dtype: safe_range(dtype) for dtype in _LEAN_EPS}
#: Seeds for calls with seed=None on the lean path (seeded from the operating system).
_ENTROPY = random.Random()


def _lean_small(A: Any, method: Any, tol: Any, maxiter: Any, seed: Any, backend: Any,
                threads: Any, vectors: bool) -> tuple[Any, ...] | None:
    """The core's answer for the common small call, in a few microseconds: a C- or F-ordered
    NumPy matrix with ``min(m, n) <= SVD_CUTOFF``, method "auto", plain arguments and the C++
    backend; None wherever anything else holds (the general path then checks and runs it). The
    answer is the one the general path gives for the same arguments."""
    if type(A) is not np.ndarray or method != "auto" or backend != "auto" or A.ndim != 2:
        return None
    eps = _LEAN_EPS.get(A.dtype)
    if eps is None:
        return None
    m, n = A.shape
    if not 0 < (m if m < n else n) <= SVD_CUTOFF:
        return None
    flags = A.flags
    if not ((flags.c_contiguous or flags.f_contiguous) and flags.aligned):
        return None
    if type(tol) is not float or not 0.0 < tol < 1.0:
        return None
    if maxiter is not None and (type(maxiter) is not int or maxiter < 1):
        return None
    if threads is not None and (type(threads) is not int or threads < 1):
        return None
    if seed is None:
        core_seed = _ENTROPY.getrandbits(64)
    elif type(seed) is int and 0 <= seed < 2**64:
        core_seed = seed
    else:
        return None
    core = _backends.lean_core()
    if core is None:
        return None
    floor = 8.0 * eps * math.sqrt(m if m > n else n)
    budget = maxiter if maxiter is not None else default_maxiter(m, n)
    return core.estimate_small(A, tol if tol > floor else floor, budget, core_seed, None,
                               vectors)


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


def _rescued_from_extremes(a: Any, size: Any, be: XpBackend,
                           run: Callable[[Any], Estimate], spent: Any = 0) -> Estimate | None:
    """None where the size of every matrix of ``a`` (``size`` over the batch: an upper bound on
    its norm) lies in the dtype's safe range (see safe_range). Else the estimate by ``run`` of a
    copy of ``a`` with the matrices outside it scaled by a power of two that puts their size
    near 1, its values scaled back; ``spent`` products (of a run already made) are counted too."""
    bound = np.asarray(size, dtype=np.float64)
    low, high = safe_range(be.numpy_dtype(a))
    extreme = (bound > 0) & ((bound < low) | (bound > high))
    if not np.any(extreme):
        return None
    # An infinite bound (sums beyond float64): by the largest power the dtype has, which puts
    # every entry at or below 1.
    top = float(np.finfo(be.numpy_dtype(a)).maxexp)
    with np.errstate(divide="ignore"):
        k = np.where(extreme, -np.floor(np.log2(np.where(extreme, bound, 1.0))), 0.0)
    k = np.where(np.isfinite(k), k, -top).astype(np.int64)
    again = run(_scaled_by_powers_of_two(a, k, be))
    # Scaling back by 2^-k in two halves: 2^-k itself may lie beyond float64 (2^1024).
    half = -k // 2
    halves = (np.ldexp(1.0, half), np.ldexp(1.0, -k - half))

    def unscale(x: Any) -> Any:
        with np.errstate(over="ignore"):  # an upper bound beyond float64 becomes inf: valid
            if np.ndim(x) == 0:
                return float(x) * float(halves[0]) * float(halves[1])
            return x * be.from_host(halves[0], a) * be.from_host(halves[1], a)

    sigma = unscale(again.sigma)
    if not np.all(np.isfinite(np.asarray(be.to_host(sigma) if np.ndim(sigma) else sigma))):
        raise ValueError("the spectral norm of A exceeds the largest float64 number "
                         f"({np.finfo(np.float64).max:.3g}): it cannot be returned")

    # sigma (and so lower) is finite once scaled back; upper may be inf, a valid bound still
    return Estimate(sigma=sigma, u=again.u, v=again.v, lower=unscale(again.lower),
                    upper=unscale(again.upper), confidence=again.confidence,
                    iterations=again.iterations + (be.from_host(np.asarray(spent), a)
                                                   if np.ndim(spent) else spent),
                    converged=again.converged, residual=again.residual, method=again.method,
                    backend=again.backend)


def _extreme(raw: tuple[Any, ...], a: np.ndarray) -> bool:
    """Whether a lean-path answer is for a matrix outside the safe range of its dtype (the
    general path then computes it on a scaled copy)."""
    low, high = _LEAN_RANGE[a.dtype]
    return raw[0] == 0 and not low <= raw[3] <= high


def _core_seed(seed: Any, rng: np.random.Generator) -> int:
    """The seed the core draws its start from: an integer seed itself (as on the lean path),
    else a draw from ``rng``."""
    if isinstance(seed, numbers.Integral) and not isinstance(seed, bool) and 0 <= seed < 2**64:
        return int(seed)
    return int(rng.integers(0, 2**63 - 1))


def _small_estimate(raw: tuple[Any, ...], m: int, n: int, a: Any, be: XpBackend) -> Estimate:
    """The Estimate from the answer of the core's ``estimate_small`` (the Gram kernel): its upper
    bound is certain."""
    status, sig, lower, certain, residual, iterations, converged, u, v = raw
    if status == 1:
        raise ValueError(_NOT_FINITE)
    if status == 2:
        return _zero_estimate(m, n, a, "power", be)
    return Estimate(sigma=max(sig, lower), u=u, v=v, lower=lower, upper=max(certain, lower),
                    confidence=1.0,
                    iterations=iterations, converged=converged, residual=residual,
                    method="power", backend=be.NAME)


def _host_vector(be: XpBackend, x: Any, name: str = "v0") -> Any:
    """A vector argument on the host for validation: a device backend's vector (n numbers, once
    per call, outside every loop) is copied back; a device vector for a host matrix is an error."""
    if be.on_device:
        return be.to_host(x) if be.owns(x) else x
    owner = _backends.owner(x)
    if owner is not None:
        raise TypeError(f"{name} is a {owner.NAME} array but A is on the host; pass both on the "
                        "same side")
    return x


def _random_starts(rng: np.random.Generator, shape: tuple[int, ...],
                   dtype: np.dtype) -> np.ndarray:
    """Gaussian start vectors (complex ones with Gaussian real and imaginary parts)."""
    draw = rng.standard_normal(shape)
    if dtype.kind == "c":
        draw = draw + 1j * rng.standard_normal(shape)
    return draw.astype(dtype)


def _bracket(sigma: np.ndarray, lower: np.ndarray, certain: np.ndarray, kinds: np.ndarray,
             steps: np.ndarray, n: int, is_complex: bool,
             floor: float) -> tuple[np.ndarray, np.ndarray]:
    """(upper, confidence) per estimate: the random-start bound of kind ``kinds`` (codes into
    BOUND_KINDS) after ``steps`` steps where it is below the certain bound, else the certain
    bound; never below ``lower``."""
    if kinds.size == 1:
        factor = np.array([random_start_factor(BOUND_KINDS[int(kinds[0])], int(steps[0]), n,
                                               is_complex)])
    else:  # the factor depends on (kind, steps) only: one evaluation per distinct pair
        keys, inverse = np.unique(np.stack([kinds, steps], axis=1), axis=0, return_inverse=True)
        values = np.array([random_start_factor(BOUND_KINDS[k], int(st), n, is_complex)
                           for k, st in keys])
        factor = values[inverse.reshape(-1)]
    with np.errstate(invalid="ignore", over="ignore"):
        likely = np.maximum(sigma, lower) * factor * (1.0 + floor)
    use_likely = likely < certain
    upper = np.maximum(np.where(use_likely, likely, certain), lower)
    return upper, np.where(use_likely, 1.0 - FAILURE_PROBABILITY, 1.0)






def _iterative_estimate(raw: dict[str, Any], certain: float, random_start: bool, n: int,
                        dtype: np.dtype, floor: float, method: str, backend: str,
                        extra_products: int = 0) -> Estimate:
    """The Estimate of one iterative run: the solver's fields, and the bracket from the certain
    bound and (for a random start) the random-start bound of the run's kind."""
    sig, lower = float(raw["sigma"]), float(raw["lower"])
    kind = BOUND_KINDS.index(raw["bound_kind"]) if random_start else 0
    upper, confidence = _bracket(np.array([sig]), np.array([lower]), np.array([certain]),
                                 np.array([kind]), np.array([int(raw["bound_steps"])]), n,
                                 dtype.kind == "c", floor)
    return Estimate(sigma=max(sig, lower), u=raw["u"], v=raw["v"], lower=lower,
                    upper=float(upper[0]),
                    confidence=float(confidence[0]),
                    iterations=int(raw["iterations"]) + extra_products,
                    converged=bool(raw["converged"]), residual=float(raw["residual"]),
                    method=method, backend=backend)


def _estimate_matrix(a: Any, method: str, tol: float, maxiter: int | None,
                     rng: np.random.Generator, v0: Any, be: XpBackend,
                     seed: Any = None, deadline: float = math.inf) -> Estimate:
    m, n = (int(d) for d in a.shape)
    dtype = be.numpy_dtype(a)
    resolved = resolve_method(method, m, n, "gram" in be.STACK_METHODS)
    start = None if v0 is None else check_start(_host_vector(be, v0), n, dtype)
    if m == 0 or n == 0:
        return _zero_estimate(m, n, a, "power" if resolved == "gram" else resolved, be)
    view = be.prepare(a)

    def again(x: Any) -> Estimate:
        return _estimate_matrix(x, method, tol, maxiter, rng, v0, be, seed, deadline)

    if resolved == "gram":
        raw = be.estimate_small(view, max(tol, tol_floor(dtype, m, n)),
                                maxiter if maxiter is not None else default_maxiter(m, n),
                                _core_seed(seed, rng), start, deadline)
        est = _small_estimate(raw, m, n, a, be)
        return _rescued_from_extremes(a, est.upper, be, again, est.iterations) or est
    finite, certain = be.dense_bounds(view)
    if not finite:
        raise ValueError(_NOT_FINITE)
    if certain == 0.0:
        return _zero_estimate(m, n, a, resolved, be)
    rescued = _rescued_from_extremes(a, certain, be, again)
    if rescued is not None:
        return rescued
    if resolved == "svd":
        exact = be.svd(view)
        return Estimate(sigma=exact["sigma"], u=exact["u"], v=exact["v"], lower=exact["lower"],
                        upper=exact["upper"], confidence=1.0, iterations=exact["iterations"],
                        converged=True, residual=exact["residual"], method="svd",
                        backend=be.NAME)

    floor = tol_floor(dtype, m, n)
    budget = maxiter if maxiter is not None else default_maxiter(m, n, be.MOST_CALLS)
    random_start = start is None
    if start is None:
        start = _random_starts(rng, (n,), dtype)
    core_seed = int(rng.integers(0, 2**63 - 1))
    raw = be.estimate_dense(view, resolved, max(tol, floor), budget,
                            basis_size(m, n, dtype.itemsize), core_seed,
                            be.from_host(start, a), certain, deadline)
    return _iterative_estimate(raw, certain, random_start, n, dtype, floor, resolved, be.NAME)


def _estimate_operator(op: Any, method: str, tol: float, maxiter: int | None,
                       rng: np.random.Generator, v0: Any, backend: Any,
                       certain: float = math.inf, what: str = "a matrix-free operator",
                       deadline: float = math.inf) -> Estimate:
    """A matrix-free operator (shape, matvec, rmatvec): the iterative methods of the NumPy
    backend with its products; the bracket's upper bound is the random-start one, or
    ``certain`` where that is smaller (a bound from the entries, when the caller has one)."""
    if backend not in ("auto", "cpp", "numpy"):
        be = _backends.resolve(backend)  # an unknown or unusable backend raises here
        raise TypeError(f"{what} computes on the host; the {be.NAME!r} backend "
                        "computes on device arrays only")
    shape = tuple(op.shape)
    if len(shape) != 2 or not all(isinstance(d, (int, np.integer)) and d >= 0 for d in shape):
        raise ValueError(f"an operator's shape must be (m, n) with m, n >= 0, got {op.shape!r}")
    m, n = (int(d) for d in shape)
    dtype = _operator.operator_dtype(op)
    resolved = "lanczos" if method == "auto" else method
    if resolved == "svd":
        raise ValueError(f"method='svd' needs the entries of A in memory; {what} is used through "
                         "its products only: use 'lanczos' (or convert it to a dense array "
                         "first)")
    engine = _operator.OperatorEngine(op, dtype)
    start = None if v0 is None else check_start(v0, n, dtype)
    if m == 0 or n == 0:
        return _zero_estimate(m, n, np.zeros((0, 0), dtype), resolved,
                              _backends.BACKENDS["numpy"])
    return _run_engine(engine, resolved, start, rng, dtype, tol, maxiter, certain, "numpy", 1,
                       deadline)


def _run_engine(engine: Any, method: str, start: np.ndarray | None, rng: np.random.Generator,
                dtype: np.dtype, tol: float, maxiter: int | None, certain: float, backend: str,
                sync_every: int, deadline: float) -> Estimate:
    """An iterative ``method`` on an engine of products (an operator, a Dask array, a device
    sparse matrix): ``start`` or a random one, the bracket from ``certain`` (the bound from the
    entries; inf where there are none) and, for a random start, the random-start bound.

    The products are scaled by about 1 / sigma_1 so that nothing overflows: the size comes from
    ``certain`` where it is finite, else from one product with the start (counted)."""
    m, n = engine.m, engine.n
    floor = tol_floor(dtype, m, n)
    budget = maxiter if maxiter is not None else default_maxiter(m, n, _rules.MOST_CALLS)
    random_start = start is None
    if start is None:
        start = _random_starts(rng, (n,), dtype)
    core_seed = int(rng.integers(0, 2**63 - 1))
    x0 = engine.device_vector(start)
    extra = 0
    if math.isfinite(certain) and certain > 0:
        hint = certain
    else:
        (hint,) = engine.scalars(engine.norm(engine.apply(x0 / engine.norm(x0))))
        extra = 1
    opt = Options(tol=max(tol, floor), maxiter=max(budget - extra, 1),
                  basis_size=basis_size(m, n, dtype.itemsize), seed=core_seed,
                  norm_hint=hint if hint > 0 else 1.0, sync_every=sync_every, deadline=deadline)
    raw = engine.run(method, x0, opt)
    return _iterative_estimate(raw, certain, random_start, n, dtype, floor, method, backend,
                               extra_products=extra)


def _estimate_dask(a: Any, method: str, tol: float, maxiter: int | None,
                   rng: np.random.Generator, v0: Any, backend: Any,
                   deadline: float = math.inf) -> Estimate:
    """A 2-D Dask array: one Dask computation for the entries' bounds (finiteness and the certain
    upper bound), then the iterative methods of the NumPy backend with one computation per
    product."""
    if a.ndim != 2:
        raise ValueError(f"A must be a 2-D Dask array, got shape {a.shape}")
    compute_dtype(a.dtype)  # a non-numeric dtype raises here, before any computation
    if method == "svd":
        raise ValueError("method='svd' needs the entries of A in memory; a Dask array is used "
                         "through its products only: use 'lanczos' (or compute() it first)")
    finite, certain = _dask.dask_bounds(a)
    if not finite:
        raise ValueError(_NOT_FINITE)
    if certain == 0.0 and a.size:
        return _zero_estimate(int(a.shape[0]), int(a.shape[1]),
                              np.zeros((0, 0), compute_dtype(a.dtype)),
                              "lanczos" if method == "auto" else method,
                              _backends.BACKENDS["numpy"])
    return _estimate_operator(_dask.DaskProducts(a), method, tol, maxiter, rng, v0, backend,
                              certain=certain, what="a Dask array", deadline=deadline)


def _is_scipy_sparse(a: Any) -> bool:
    return type(a).__module__.startswith("scipy.sparse") and hasattr(a, "tocsr")


def _estimate_sparse(a: Any, method: str, tol: float, maxiter: int | None,
                     rng: np.random.Generator, v0: Any, backend: Any,
                     deadline: float = math.inf) -> Estimate:
    """A SciPy sparse matrix or array: its CSR arrays read in place by the C++ core (other
    formats converted to CSR once, other dtypes to the compute dtype once); on the NumPy
    backend, or for "svd" (on a dense copy), the general paths."""
    if a.ndim != 2:
        raise ValueError(f"A must be a 2-D sparse matrix, got shape {a.shape}")
    be = _backends.resolve(backend)
    if be.on_device:
        raise TypeError(f"A is a SciPy sparse matrix on the host and the {be.NAME!r} backend "
                        "computes on device arrays only")
    if method == "svd":
        return estimate(a.toarray(), "svd", tol=tol, seed=rng, backend=backend, v0=v0)
    if be.NAME != "cpp":
        return _estimate_operator(_operator.SparseProducts(a), method, tol, maxiter, rng, v0,
                                  backend, deadline=deadline)
    m, n = (int(d) for d in a.shape)
    dtype = compute_dtype(a.dtype)
    csr = a if a.format == "csr" else a.tocsr()
    if csr.dtype != dtype:
        csr = csr.astype(dtype)
    resolved = "lanczos" if method == "auto" else method
    start = None if v0 is None else check_start(v0, n, dtype)
    if m == 0 or n == 0:
        return _zero_estimate(m, n, np.zeros((0, 0), dtype), resolved, be)
    indices, indptr = csr.indices, csr.indptr
    if indices.dtype != indptr.dtype:
        indices = indices.astype(indptr.dtype)
    floor = tol_floor(dtype, m, n)
    random_start = start is None
    if start is None:
        start = _random_starts(rng, (n,), dtype)
    raw = be.core().estimate_sparse(
        np.ascontiguousarray(indptr), np.ascontiguousarray(indices),
        np.ascontiguousarray(csr.data), m, n, resolved, max(tol, floor),
        maxiter if maxiter is not None else default_maxiter(m, n),
        basis_size(m, n, dtype.itemsize), int(rng.integers(0, 2**63 - 1)), start,
        remaining(deadline))
    if not raw["finite"]:
        raise ValueError(_NOT_FINITE)
    certain = float(raw["certain"])
    if certain == 0.0:
        return _zero_estimate(m, n, np.zeros((0, 0), dtype), resolved, be)
    return _iterative_estimate(raw, certain, random_start, n, dtype, floor, resolved, be.NAME)


def _estimate_device_sparse(a: Any, method: str, tol: float, maxiter: int | None,
                            rng: np.random.Generator, v0: Any, backend: Any,
                            deadline: float = math.inf) -> Estimate:
    """A sparse matrix of a device backend (``cupyx.scipy.sparse``): converted to CSR (and its
    duplicate entries summed) once where needed, then the backend's iterative methods on its
    sparse products, on the device; "svd" on a dense copy."""
    be = _backends.resolve(backend, a)
    if method == "svd":
        return estimate(a.toarray(), "svd", tol=tol, seed=rng, backend=be.NAME, v0=v0)
    m, n = (int(d) for d in a.shape)
    dtype = compute_dtype(np.dtype(a.dtype))
    csr = a.tocsr()
    if csr.dtype != dtype:
        csr = csr.astype(dtype)
    if not csr.has_canonical_format:
        csr = csr.copy() if csr is a else csr  # summing duplicates works in place
        csr.sum_duplicates()
    engine = be.sparse_engine(csr)
    resolved = "lanczos" if method == "auto" else method
    start = None if v0 is None else check_start(_host_vector(be, v0), n, dtype)
    finite, certain = engine.dense_bounds()
    if not finite:
        raise ValueError(_NOT_FINITE)
    if m == 0 or n == 0 or certain == 0.0:
        return _zero_estimate(m, n, engine.a, resolved, be)
    return _run_engine(engine, resolved, start, rng, dtype, tol, maxiter, certain, be.NAME,
                       be.sync_every, deadline)


def _stack(results: list[Estimate], batch: tuple[int, ...], a: Any, method: str,
           be: XpBackend) -> Estimate:
    """One Estimate whose fields are arrays over the batch, in the backend's namespace."""
    xp = be.xp
    m, n = (int(d) for d in a.shape[-2:])

    def field(name: str, kind: Any) -> Any:
        host = np.array([getattr(r, name) for r in results], dtype=kind).reshape(batch)
        return be.from_host(host, a)

    def vectors(name: str, size: int) -> Any:
        if not results:
            return be.from_host(np.zeros((*batch, size), dtype=be.numpy_dtype(a)), a)
        return xp.reshape(xp.stack([getattr(r, name) for r in results]), (*batch, size))

    methods = {r.method for r in results}
    return Estimate(sigma=field("sigma", np.float64), u=vectors("u", m), v=vectors("v", n),
                    lower=field("lower", np.float64), upper=field("upper", np.float64),
                    confidence=field("confidence", np.float64),
                    iterations=field("iterations", np.int64),
                    converged=field("converged", np.bool_), residual=field("residual", np.float64),
                    method=methods.pop() if len(methods) == 1 else method, backend=be.NAME)


def _estimate_stack(a: Any, method: str, tol: float, maxiter: int | None,
                    rng: np.random.Generator, v0: Any, be: XpBackend, threads: int,
                    deadline: float = math.inf) -> Estimate:
    """A stack (..., m, n): every field an array over the leading dimensions."""
    shape = tuple(int(d) for d in a.shape)
    batch, (m, n) = shape[:-2], shape[-2:]
    dtype = be.numpy_dtype(a)
    resolved = resolve_method(method, m, n, "gram" in be.STACK_METHODS)
    core_method = resolved
    if resolved == "gram":
        # Small matrices: power iteration on the formed Gram matrix (small.hpp), many times
        # faster than a batched SVD; it reports method="power".
        resolved = "power"
    starts = None if v0 is None else check_starts(_host_vector(be, v0), batch, n, dtype)
    count = math.prod(batch)
    empty = count == 0 or m == 0 or n == 0
    if resolved == "svd" and not empty:
        xp = be.xp
        # sqrt(m n) max |a_ij| >= ||A||_F: a bound on each norm from a pass far cheaper than
        # the SVD, for the rescue from extreme scales
        largest = np.asarray(be.to_host(xp.max(xp.abs(a), axis=(-2, -1))), dtype=np.float64)
        if not np.all(np.isfinite(largest)):
            raise ValueError(_NOT_FINITE)
        with np.errstate(over="ignore"):  # inf: beyond float64, rescaled like the others
            size = largest * math.sqrt(m * n)
        rescued = _rescued_from_extremes(
            a, size, be,
            lambda x: _estimate_stack(x, method, tol, maxiter, rng, v0, be, threads, deadline))
        if rescued is not None:
            return rescued
        exact = be.svd_stack(a)

        def host_shaped(values: np.ndarray) -> Any:
            return be.from_host(values.reshape(batch), a)

        return Estimate(sigma=xp.astype(exact["sigma"], xp.float64), u=exact["u"], v=exact["v"],
                        lower=xp.astype(exact["lower"], xp.float64),
                        upper=xp.astype(exact["upper"], xp.float64),
                        confidence=host_shaped(np.ones(count)),
                        iterations=xp.astype(exact["sigma"] > 0, xp.int64) * 2,
                        converged=host_shaped(np.ones(count, dtype=bool)),
                        residual=xp.astype(exact["residual"], xp.float64), method="svd",
                        backend=be.NAME)
    if empty or core_method not in be.STACK_METHODS:  # matrix by matrix
        return _stack([
            _estimate_matrix(a[(*idx, ...)], method, tol, maxiter, rng,
                             None if starts is None else starts[idx], be, deadline=deadline)
            for idx in np.ndindex(*batch)
        ], batch, a, resolved, be)

    floor = tol_floor(dtype, m, n)
    budget = maxiter if maxiter is not None else default_maxiter(m, n, be.MOST_CALLS)
    random_start = starts is None
    flat_starts = (_random_starts(rng, (count, n), dtype) if starts is None
                   else starts.reshape(count, n))
    seeds = rng.integers(0, 2**63 - 1, size=count, dtype=np.uint64)
    view = be.prepare(be.xp.reshape(a, (count, m, n)))
    raw = be.estimate_stack(view, core_method, max(tol, floor), budget,
                            basis_size(m, n, dtype.itemsize), seeds, flat_starts, threads,
                            deadline)
    if not np.all(raw["finite"]):
        raise ValueError(_NOT_FINITE)
    rescued = _rescued_from_extremes(
        a, raw["certain"].reshape(batch), be,
        lambda x: _estimate_stack(x, method, tol, maxiter, rng, v0, be, threads, deadline),
        raw["iterations"].reshape(batch) if "iterations" in raw else 0)
    if rescued is not None:
        return rescued
    computed = raw["computed"]
    redo = np.flatnonzero(~computed & (raw["certain"] > 0))
    if redo.size:  # left by the batch (a start in a null space): one matrix at a time
        raw = {key: val if key in ("u", "v") else np.array(val, copy=True)
               for key, val in raw.items()}
        host_u, host_v = np.array(be.to_host(raw["u"])), np.array(be.to_host(raw["v"]))
        for b in redo.tolist():
            one = _estimate_matrix(view[b, ...], resolved, tol, maxiter,
                                   np.random.default_rng(int(seeds[b])), None, be,
                                   deadline=deadline)
            for key in ("sigma", "lower", "residual", "iterations", "converged"):
                raw[key][b] = getattr(one, key)
            host_u[b], host_v[b] = be.to_host(one.u), be.to_host(one.v)
            raw["bound_steps"][b] = 0  # not the random-start bound: upper is the certain one
        raw["u"], raw["v"] = be.from_host(host_u, a), be.from_host(host_v, a)
        computed = computed | (raw["certain"] > 0)
    sig, lower, certain = raw["sigma"], raw["lower"], raw["certain"]
    if "upper" in raw:  # a certain bound the solver found (the Gram kernel's)
        certain = np.where(np.isnan(certain), certain, np.fmin(certain, raw["upper"]))
    kinds = raw["bound_kind"].astype(np.int64) if random_start else np.zeros(count, np.int64)
    upper, confidence = _bracket(sig, lower, certain, kinds, raw["bound_steps"], n,
                                 dtype.kind == "c", floor)
    zero = ~computed  # zero matrices: sigma = 0 exactly, converged
    upper = np.where(zero, 0.0, upper)
    confidence = np.where(zero, 1.0, confidence)
    converged = np.where(zero, True, raw["converged"])
    residual = np.where(zero, 0.0, raw["residual"])

    def shaped(x: np.ndarray) -> Any:
        return be.from_host(np.ascontiguousarray(x).reshape(batch), a)

    u = be.xp.reshape(raw["u"], (*batch, m))
    v = be.xp.reshape(raw["v"], (*batch, n))
    return Estimate(sigma=shaped(np.maximum(sig, lower)), u=u, v=v,
                    lower=shaped(lower), upper=shaped(upper), confidence=shaped(confidence),
                    iterations=shaped(raw["iterations"]), converged=shaped(converged),
                    residual=shaped(residual), method=resolved, backend=be.NAME)


def estimate(A: Any, method: str = "auto", *, tol: float = 1e-6, maxiter: int | None = None,
             seed: Any = None, backend: str = "auto", v0: Any = None,
             threads: int | None = None, timeout: float | None = None) -> Estimate:
    """The largest singular value of A with its singular vectors, a bracket and diagnostics.

    Parameters
    ----------
    A : array_like, shape (m, n) or (..., m, n)
        Real or complex matrix, or a stack of them. bool and integers compute in float64,
        float16 in float32; float32, float64, complex64 and complex128 keep their dtype. A is
        never modified, and C- or F-ordered arrays (and views whose rows or columns are
        contiguous) are read in place without a copy; other layouts are copied once. Or a
        matrix-free operator: any object with ``shape``, ``matvec`` and ``rmatvec`` (a SciPy
        ``LinearOperator``, for instance), computed from its products alone. SciPy sparse
        matrices go to the C++ core (CSR read in place), CuPy sparse matrices to the ``cupy``
        backend, and 2-D Dask arrays run with one Dask computation per product.
    method : {"auto", "power", "lanczos", "rayleigh", "svd"}
        ``"power"``: power iteration; ``"lanczos"``: Golub-Kahan-Lanczos bidiagonalization with
        full reorthogonalization and thick restarts; ``"rayleigh"``: a Lanczos start refined by
        Rayleigh-quotient iteration; ``"svd"``: the exact LAPACK SVD; ``"auto"``: Lanczos when
        ``min(m, n) > 64``; for smaller matrices power iteration on the formed Gram matrix on
        the C++ backend (reported as ``"power"``, with a certain ``upper``), the SVD on the
        others.
    tol : float, optional
        Relative accuracy asked for, 0 < tol < 1: iterations stop when
        ``||A^H u - sigma v|| <= tol * sigma``, which puts sigma within ``tol * sigma`` of a
        singular value of A. Requests below what rounding allows (``8 * eps * sqrt(max(m, n))``
        for the dtype's eps) are raised to that floor.
    maxiter : int, optional
        Most products with A and A^H allowed (default ``max(2000, 20 * min(m, n), 10**7 // (m *
        n))``). The answer
        then carries ``converged=False`` and a still valid bracket.
    seed : int or numpy.random.Generator, optional
        Seeds the random start vector: the same seed gives a bit-identical answer on the same
        backend and machine.
    backend : {"auto", "cpp", "numpy", "cupy"}
        Where to compute; ``"auto"`` honours the environment variable ``SPECNORM_BACKEND``.
    v0 : array_like, shape (n,) or (..., n) for a stack, optional
        A start vector per matrix (for example the previous answer's ``v``). A chosen start is not
        random, so ``upper`` is then a certain bound only.
    threads : int, optional
        Threads for the C++ core: the matrices of a stack are shared out among them, one matrix
        per task. Default: OpenMP's (``OMP_NUM_THREADS``, else every core).
    timeout : float, optional
        Seconds after which the iterations stop and the best estimate so far is returned, with
        ``converged=False`` and a still valid bracket (checked once per step, so a step in
        progress finishes first). Ctrl-C (SIGINT) stops every backend the same way, within a
        step, and raises ``KeyboardInterrupt``.

    Returns
    -------
    Estimate
        ``sigma``, ``u``, ``v``, the bracket ``lower <= sigma_1 <= upper`` with its
        ``confidence``, ``iterations``, ``converged``, ``residual``, ``method``, ``backend``. For a
        stack each field is an array over the leading dimensions.

    Raises
    ------
    ValueError
        A has fewer than 2 dimensions or contains NaN or Inf, or its spectral norm lies beyond
        the float64 range; ``tol``, ``maxiter``, ``method``, ``backend``, ``seed``, ``v0``,
        ``threads`` or ``timeout`` is invalid.
    TypeError
        A has a non-numeric dtype, or A or ``v0`` is a NumPy masked array (whose mask would be
        ignored; ``A.filled(0)`` or ``np.asarray(A)`` says which values to use).
    RuntimeError
        The requested backend is not usable here.

    Examples
    --------
    >>> import numpy as np, specnorm
    >>> A = np.array([[1.0, -1.0], [-1.0, 1.0]])
    >>> est = specnorm.estimate(A, method="lanczos", seed=0)
    >>> round(est.sigma, 12), est.converged
    (2.0, True)
    >>> est.lower <= 2.0 <= est.upper
    True
    """
    if v0 is None and timeout is None:
        raw = _lean_small(A, method, tol, maxiter, seed, backend, threads, True)
        if raw is not None and not _extreme(raw, A):
            return _small_estimate(raw, A.shape[0], A.shape[1], A, _backends.BACKENDS["cpp"])
    method = check_method(method)
    tol = check_tol(tol)
    maxiter = check_maxiter(maxiter)
    deadline = check_timeout(timeout)
    for owns, run in ((_is_scipy_sparse, _estimate_sparse),
                      (lambda x: _backends.sparse_owner(x) is not None, _estimate_device_sparse),
                      (_dask.is_dask_array, _estimate_dask),
                      (_operator.is_operator, _estimate_operator)):
        if owns(A):
            check_threads(threads)
            return run(A, method, tol, maxiter, make_rng(seed), v0, backend, deadline=deadline)
    be = _backends.resolve(backend, A)
    rng = make_rng(seed)
    nthreads = check_threads(threads)
    a = backend_matrix(A, be)
    if a.ndim == 2:
        return _estimate_matrix(a, method, tol, maxiter, rng, v0, be, seed, deadline)
    return _estimate_stack(a, method, tol, maxiter, rng, v0, be, nthreads, deadline)


def sigma(A: Any, method: str = "auto", *, tol: float = 1e-6, maxiter: int | None = None,
          seed: Any = None, backend: str = "auto", v0: Any = None, threads: int | None = None,
          timeout: float | None = None) -> Any:
    """The spectral norm of A: its largest singular value.

    Takes the parameters of :func:`estimate` (``v0`` included, checked alike) and returns its
    ``sigma``: a float for one matrix, an array of shape ``A.shape[:-2]`` for a stack; for the
    same arguments, the value equals ``estimate(...).sigma``. The value lies within
    ``tol * sigma`` of a singular value of A when the method converged, and is never more than
    rounding above the true spectral norm (it is ``||A v||`` for a unit v).

    Examples
    --------
    >>> import numpy as np, specnorm
    >>> round(specnorm.sigma(np.diag([3.0, 1.0]), method="lanczos", seed=0), 12)
    3.0
    """
    raw = (_lean_small(A, method, tol, maxiter, seed, backend, threads, False)
           if v0 is None and timeout is None else None)
    if raw is not None and not _extreme(raw, A):
        if raw[0] == 1:
            raise ValueError(_NOT_FINITE)
        # 0.0 for A = 0 (status 2); never below lower, as in estimate's answer
        return raw[1] if raw[1] >= raw[2] else raw[2]
    est = estimate(A, method, tol=tol, maxiter=maxiter, seed=seed, backend=backend, v0=v0,
                   threads=threads, timeout=timeout)
    return est.sigma


#: sigma_many stacks NumPy matrices of one shape and dtype up to this many entries each.
GROUP_ENTRIES = 1 << 20


def sigma_many(matrices: Iterable[Any], method: str = "auto", **kw: Any) -> np.ndarray:
    """The spectral norms of a sequence of (differently shaped) matrices, as a 1-D float64 array
    in the input order. Keyword arguments are those of :func:`sigma`.

    NumPy matrices of one shape and dtype with at most ``GROUP_ENTRIES`` entries each are
    estimated together as one stack (one call into the core, the matrices shared out among its
    threads); the others one by one. Each answer meets ``tol`` as a separate ``sigma`` call
    would; an int ``seed`` makes the whole call reproducible.

    Raises what :func:`sigma` raises, ValueError for a single 2-D array in place of the
    sequence, an item that is not 2-D, or a ``v0`` (one start cannot fit matrices of different
    shapes), and TypeError for an item that is a NumPy masked array.

    Examples
    --------
    >>> import numpy as np, specnorm
    >>> specnorm.sigma_many([np.eye(3), 2 * np.eye(3), np.ones((2, 5))], seed=0).round(6)
    array([1.      , 2.      , 3.162278])
    """
    if "v0" in kw:
        raise ValueError("sigma_many takes no v0 (one start vector cannot fit matrices of "
                         "different shapes); call sigma(A, v0=...) for each matrix")
    if getattr(matrices, "ndim", None) == 2:  # its rows would be taken for the matrices
        raise ValueError(
            f"sigma_many takes a sequence of matrices and got a single 2-D "
            f"{type(matrices).__name__} of shape {tuple(matrices.shape)}: use sigma(A) for one "
            "matrix, or sigma_many([A])")
    items = list(matrices)
    values: list[Any] = [None] * len(items)
    groups: dict[tuple[Any, ...], list[int]] = {}
    for i, item in enumerate(items):
        reject_masked(item, f"item {i}", "item")
        ndim = getattr(item, "ndim", None)
        if isinstance(ndim, int) and ndim != 2:
            raise ValueError(_not_a_matrix(i, tuple(item.shape)))
        if (isinstance(item, np.ndarray) and item.dtype.kind in "biufc"
                and item.size <= GROUP_ENTRIES):
            groups.setdefault((item.shape, compute_dtype(item.dtype)), []).append(i)
    for (_, dtype), members in groups.items():
        if len(members) < 2:
            continue
        stack = np.stack([np.asarray(items[i], dtype=dtype) for i in members])
        computed = np.asarray(sigma(stack, method, **kw)).tolist()
        for i, val in zip(members, computed, strict=True):
            values[i] = val
    for i, item in enumerate(items):
        if values[i] is None:
            values[i] = sigma(item, method, **kw)
            if np.ndim(values[i]) != 0:
                raise ValueError(_not_a_matrix(i, np.shape(item)))
    return np.asarray(values, dtype=np.float64).reshape(-1)


def _not_a_matrix(i: int, shape: tuple[int, ...]) -> str:
    """sigma_many's message for an item of ``shape`` that is not a 2-D matrix."""
    if len(shape) > 2:
        return (f"sigma_many takes 2-D matrices; item {i} is a stack of shape {shape}: "
                "sigma(item) estimates every matrix of a stack")
    return f"sigma_many takes 2-D matrices; item {i} has shape {shape}"


def rayleigh_quotient(A: Any, x: Any) -> float:
    """``||A x|| / ||x||``: a certain lower bound on the spectral norm of A.

    Parameters
    ----------
    A : array_like, shape (m, n)
    x : array_like, shape (n,), nonzero

    Raises
    ------
    ValueError
        A is not 2-D, A or x contains NaN or Inf, x has the wrong shape or is zero.
    TypeError
        A or x is not numeric, or is a NumPy masked array.
    """
    be = _backends.resolve("auto", A)
    a = backend_matrix(A, be)
    if a.ndim != 2:
        raise ValueError(f"A must be a 2-D matrix, got shape {tuple(a.shape)}")
    m, n = (int(d) for d in a.shape)
    reject_masked(x, "x")
    xa = np.asarray(_host_vector(be, x, "x"))
    if xa.dtype.kind not in "biufc":
        raise TypeError(f"x must be numeric, got dtype {xa.dtype}")
    dtype = compute_dtype(np.result_type(be.numpy_dtype(a), xa.dtype))
    a = be.astype(a, dtype)
    xv = check_start(xa, n, dtype, name="x", nonzero=m > 0)
    if m == 0 or n == 0:
        return 0.0
    view = be.prepare(a)
    finite, _ = be.dense_bounds(view)
    if not finite:
        raise ValueError(_NOT_FINITE)
    value = be.rayleigh_quotient(view, be.from_host(xv, a))
    return float(value) if math.isfinite(value) else math.inf
