"""The public functions: sigma, estimate, sigma_many, rayleigh_quotient, backends.

Each checks its arguments into a request and hands it to the one pipeline of
:mod:`specnorm._solve`; nothing here computes.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from typing import Any

import numpy as np

from . import _fast, _solve
from . import backends as _backends
from ._result import Estimate
from ._rules import compute_dtype
from ._validate import backend_matrix, check_start, reject_masked

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
        others (where it costs less).
    tol : float, optional
        Relative accuracy asked for, 0 < tol < 1. A run converges when
        ``||A^H u - sigma v|| <= tol * sigma`` and it has proven, from its random start, that
        no singular value above ``sigma * (1 + tol)`` was missed. Then
        ``sigma_1 - sigma <= tol * sigma_1`` except with probability at most 1e-6 over the
        start, for every matrix (docs/mathematics.md, 7.4). Requests below what rounding
        allows (``8 * eps * sqrt(max(m, n))`` for the dtype's eps) are raised to that floor.
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
        A start vector per matrix (for example the previous answer's ``v``). It is mixed with a
        random vector of relative weight 1e-3, so that ``converged`` keeps its meaning whatever
        the start; ``upper`` is then a certain bound only.
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
        quick = _fast.lean(A, method, tol, maxiter, seed, backend, threads, True)
        if quick is not None:
            return quick
    req = _solve.request(method, tol, maxiter, seed, backend, v0, threads, timeout)
    return _solve.answer(_solve.input_for(A, req), req)


def sigma(A: Any, method: str = "auto", *, tol: float = 1e-6, maxiter: int | None = None,
          seed: Any = None, backend: str = "auto", v0: Any = None, threads: int | None = None,
          timeout: float | None = None) -> Any:
    """The spectral norm of A: its largest singular value.

    Takes the parameters of :func:`estimate` (``v0`` included, checked alike) and returns its
    ``sigma``: a float for one matrix, an array of shape ``A.shape[:-2]`` for a stack; for the
    same arguments, the value equals ``estimate(...).sigma``. When the method converged it lies
    within ``tol * sigma_1`` of the spectral norm sigma_1 (except with probability at most 1e-6
    over the random start), and it is never more than rounding above sigma_1 (it is
    ``||A v||`` for a unit v).

    Examples
    --------
    >>> import numpy as np, specnorm
    >>> round(specnorm.sigma(np.diag([3.0, 1.0]), method="lanczos", seed=0), 12)
    3.0
    """
    if v0 is None and timeout is None:
        quick = _fast.lean_sigma(A, method, tol, maxiter, seed, backend, threads)
        if quick is not None:
            return quick
    return estimate(A, method, tol=tol, maxiter=maxiter, seed=seed, backend=backend, v0=v0,
                    threads=threads, timeout=timeout).sigma


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
    xa = np.asarray(_solve.host_vector(be, x, "x"))
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
        raise ValueError(_solve.NOT_FINITE)
    value = be.rayleigh_quotient(view, be.from_host(xv, a))
    return float(value) if math.isfinite(value) else math.inf
