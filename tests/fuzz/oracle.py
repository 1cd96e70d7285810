"""The fuzzing oracle: turns a byte string into a call of specnorm's public API (a matrix of any
shape, dtype and memory layout, and arbitrary parameters), and checks what the call did.

Shared by tests/test_fuzz.py (Hypothesis) and tests/fuzz/fuzz_sigma.py (atheris). The rule: a
call either returns a finite answer that agrees with the SVD of A, or raises the exception the
documentation names for one of its input's problems (ValueError or TypeError; RuntimeError for a
backend that cannot run here). A call with nothing wrong must succeed. The input is never
modified.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

import specnorm

ABSENT = object()

NUMERIC = ["b1", "i1", "u1", "i2", "u2", "i4", "u4", "i8", "u8", "f2", "f4", "f8", "g", "c8",
           "c16", "G"]
OTHER = ["O", "U3", "S3", "V8", [("a", "f8"), ("b", "i4")], "M8[s]", "m8[s]"]
VALUES = [0.0, 1.0, -1.0, 0.5, -2.0, 3.0, 1e-300, 1e300, 1e-30, 1e30, 3e38, 1e-45, 1e-8,
          123456789.0, math.nan, math.inf, -math.inf, 7.0, -0.25, 1e5]

METHODS = ["auto", "auto", "power", "lanczos", "rayleigh", "svd", "qr", 3]
TOLS = [ABSENT, ABSENT, 1e-3, 1e-10, 0.5, 1e-300, 0, 1, -1e-3, math.nan, math.inf, "1e-6", True]
MAXITERS = [ABSENT, ABSENT, None, 1, 2, 3, 7, 50, 0, -1, 2.5, True]
SEEDS = [ABSENT, 0, 1, 2**63 + 5, -1, "x", 1.5]
BACKENDS = [ABSENT, ABSENT, "auto", "cpp", "numpy", "gpu", "cupy"]
THREADS = [ABSENT, ABSENT, None, 1, 2, 0, -1, 1.5]
TIMEOUTS = [ABSENT, ABSENT, 30.0, 0, -1.0, math.nan]


class Reader:
    """Choices drawn from a byte string (zeros once it is used up)."""

    def __init__(self, data: bytes) -> None:
        self.data, self.pos = data, 0

    def byte(self) -> int:
        if self.pos >= len(self.data):
            return 0
        self.pos += 1
        return self.data[self.pos - 1]

    def choice(self, seq: list[Any]) -> Any:
        return seq[self.byte() % len(seq)]


def _values(r: Reader, size: int, dtype: np.dtype) -> np.ndarray:
    """``size`` entries in ``dtype`` (converted as NumPy converts, overflow to inf included)."""
    if dtype.kind in "biu":
        scale = r.choice([1, 1, 1000, 2**31 - 1])
        raw = np.array([(r.byte() - 128) * scale for _ in range(size)], dtype=np.int64)
        with np.errstate(over="ignore"):
            return raw.astype(dtype) if dtype.kind != "b" else raw != 0
    vals = np.array([r.choice(VALUES) if r.byte() < 160 else (r.byte() - 128) / 8.0
                     for _ in range(size)], dtype=np.float64)
    if dtype.kind == "c":
        vals = vals + 1j * np.array([(r.byte() - 128) / 16.0 for _ in range(size)])
    if dtype.kind in "fc":
        with np.errstate(over="ignore", invalid="ignore"):
            return vals.astype(dtype)
    if dtype.kind == "U":
        return vals.astype("U3")
    if dtype.kind == "S":
        return vals.astype("S3")
    if dtype.kind == "O":
        return vals.astype(object)
    if dtype.kind in "Mm":
        return np.arange(size).astype(dtype)
    out = np.zeros(size, dtype=dtype)  # structured and void
    return out


def _layout(r: Reader, a: np.ndarray) -> np.ndarray:
    kind = r.choice(["plain", "plain", "F", "reversed", "broadcast", "unaligned", "readonly",
                     "sliced", "transposed"])
    if kind == "F":
        return np.asfortranarray(a)
    if kind == "reversed" and a.ndim:
        return a[..., ::-1, :] if a.ndim >= 2 else a[::-1]
    if kind == "broadcast" and a.ndim >= 1:
        row = a[..., :1, :] if a.ndim >= 2 else a[:1]
        return np.broadcast_to(row, a.shape)
    if kind == "unaligned" and a.dtype.kind in "biufc" and a.dtype.itemsize > 1:
        buf = np.zeros(a.nbytes + 1, dtype=np.uint8)
        out = buf[1:].view(a.dtype).reshape(a.shape)
        out[...] = a
        return out
    if kind == "readonly":
        a = a.copy()
        a.flags.writeable = False
        return a
    if kind == "sliced" and a.ndim >= 2:
        big = np.repeat(np.repeat(a, 2, axis=-1), 2, axis=-2)
        return big[..., ::2, ::2]
    if kind == "transposed" and a.ndim >= 2:
        return np.swapaxes(np.ascontiguousarray(np.swapaxes(a, -1, -2)), -1, -2)
    return a


def decode(data: bytes) -> tuple[str, Any, dict[str, Any]]:
    """The call a byte string stands for: (function name, A, keyword arguments)."""
    r = Reader(data)
    ndim = r.choice([2, 2, 2, 2, 3, 1, 0, 4])
    dims = [r.choice([0, 1, 2, 3, 5, 6, 1, 2, 4, 70]) for _ in range(ndim)]
    big = dims == [70, 70]
    if big:
        # one matrix in 100: past 2^16 entries, where the core solves an F-ordered matrix
        # through its transpose; 8 x 8 entries from the bytes on a grid, zeros elsewhere (rank
        # at most 8: starts in or near the null space)
        dims = [256, 257]
    elif sum(d == 70 for d in dims) > 1 or (ndim > 2 and 70 in dims):
        dims = [min(d, 6) for d in dims]
    spec = r.choice(NUMERIC * 3 + OTHER)
    dtype = np.dtype(spec)
    if big:
        block = _values(r, 64, dtype).reshape(8, 8)
        a = np.zeros(dims, dtype=block.dtype)
        a[::32, :256:32] = block
    else:
        a = _values(r, math.prod(dims), dtype).reshape(dims)
    a = _layout(r, a)
    kwargs: dict[str, Any] = {}
    for name, options in (("tol", TOLS), ("maxiter", MAXITERS), ("seed", SEEDS),
                          ("backend", BACKENDS), ("threads", THREADS), ("timeout", TIMEOUTS)):
        value = r.choice(options)
        if value is not ABSENT:
            kwargs[name] = value
    method = r.choice(METHODS)
    fn = r.choice(["sigma", "estimate", "estimate"])
    if fn == "estimate" and r.byte() % 5 == 0 and a.ndim == 2:
        n = a.shape[1]
        kwargs["v0"] = r.choice([np.ones(n), np.ones(n + 1), np.zeros(n),
                                 np.full(n, np.nan), np.ones(n, dtype=complex)])
    kwargs["method"] = method
    return fn, a, kwargs


def _param_errors(kw: dict[str, Any]) -> set[type]:
    """The exception types the parameters alone call for."""
    errors: set[type] = set()
    tol = kw.get("tol", 1e-6)
    if isinstance(tol, bool) or not isinstance(tol, (int, float)) or not 0 < tol < 1:
        errors.add(ValueError)
    maxiter = kw.get("maxiter")
    if maxiter is not None and (isinstance(maxiter, bool) or not isinstance(maxiter, int)
                                or maxiter < 1):
        errors.add(ValueError)
    seed = kw.get("seed")
    if seed is not None and (isinstance(seed, bool) or not isinstance(seed, int) or seed < 0):
        errors.add(ValueError)
    if kw.get("method") not in ("auto", "power", "lanczos", "rayleigh", "svd"):
        errors.add(ValueError)
    backend = kw.get("backend", "auto")
    if backend not in ("auto", "cpp", "numpy", "cupy"):
        errors.add(ValueError)
    elif backend == "cupy" and not specnorm.backends()["cupy"].usable:
        errors.update({RuntimeError, TypeError})
    threads = kw.get("threads")
    if threads is not None and (isinstance(threads, bool) or not isinstance(threads, int)
                                or threads < 1):
        errors.add(ValueError)
    timeout = kw.get("timeout")
    if timeout is not None and not timeout > 0:
        errors.add(ValueError)
    return errors


def _input_errors(a: np.ndarray, kw: dict[str, Any]) -> set[type]:
    errors: set[type] = set()
    if a.ndim < 2:
        errors.add(ValueError)
    if a.dtype.kind not in "biufc":
        errors.add(TypeError)
    if errors:
        return errors
    if a.dtype.kind in "fc" and not np.all(np.isfinite(a.astype(np.complex128))):
        errors.add(ValueError)
    v0 = kw.get("v0")
    if v0 is not None:
        n = a.shape[-1]
        if v0.shape != (n,) or not np.all(np.isfinite(v0)) or (n and not np.any(v0 != 0)):
            errors.add(ValueError)
        if np.iscomplexobj(v0) and a.dtype.kind != "c":
            errors.add(TypeError)
    return errors


def reference(a: np.ndarray) -> np.ndarray:
    """The largest singular value of every matrix of a (float64 SVD; 0 for empty matrices)."""
    return spectrum(a)[..., 0]


def spectrum(a: np.ndarray) -> np.ndarray:
    """Every matrix's singular values, largest first (float64 SVD; a 0 for empty matrices)."""
    work = a.astype(np.complex128 if a.dtype.kind == "c" else np.float64)
    batch = work.shape[:-2]
    if work.size == 0:
        return np.zeros((*batch, 1))
    # each matrix scaled by a power of two so that its SVD neither overflows nor loses
    # subnormal digits; inf where the norm itself lies beyond float64
    big = np.max(np.abs(work), axis=(-2, -1), keepdims=True)
    if not np.all(np.isfinite(big)):
        return np.linalg.svd(work, compute_uv=False)
    k = np.where(big > 0, np.frexp(big)[1], 0)
    scaled = np.ldexp(work.real, -k) + (1j * np.ldexp(work.imag, -k)
                                         if work.dtype.kind == "c" else 0)
    values = np.linalg.svd(scaled, compute_uv=False)
    with np.errstate(over="ignore"):
        return np.ldexp(values, k[..., 0, :])


def _compute_eps(a: np.ndarray) -> float:
    single = a.dtype in (np.float16, np.float32, np.complex64)
    return float(np.finfo(np.float32 if single else np.float64).eps)


def check(fn: str, a: Any, kw: dict[str, Any]) -> None:
    """Runs ``specnorm.<fn>(a, **kw)`` and asserts the oracle's rule."""
    before = a.tobytes() if a.dtype.kind != "O" else None
    allowed = _param_errors(kw) | _input_errors(a, kw)
    if not allowed and not np.all(np.isfinite(reference(a))):
        allowed = {ValueError}  # a norm beyond float64 cannot be returned
    try:
        out = getattr(specnorm, fn)(a, **kw)
    except (ValueError, TypeError, RuntimeError) as exc:
        assert type(exc) in allowed or any(issubclass(type(exc), t) for t in allowed), (
            f"{type(exc).__name__}: {exc} for an input whose problems call for "
            f"{sorted(t.__name__ for t in allowed) or 'nothing'}")
        assert str(exc), "an exception without a message"
        return
    finally:
        if before is not None:
            assert a.tobytes() == before, "the input was modified"
    assert not allowed, f"no exception, but the input calls for {allowed}"
    _check_answer(a, kw, out if fn == "estimate" else None,
                  out.sigma if fn == "estimate" else out)


def _check_answer(a: np.ndarray, kw: dict[str, Any], est: Any, sigma: Any) -> None:
    ref = reference(a)
    sig = np.asarray(sigma, dtype=np.float64)
    assert sig.shape == ref.shape, (sig.shape, ref.shape)
    assert np.all(np.isfinite(sig)) and np.all(sig >= 0), sig
    m, n = a.shape[-2:]
    tol = float(kw.get("tol", 1e-6))
    floor = 8 * _compute_eps(a) * math.sqrt(max(m, n, 1))
    rel = 16 * max(tol, floor)
    # answers below the normal range are themselves subnormal: a few units of the last place
    tiny = 16 * float(np.finfo(np.float64).smallest_subnormal)
    room = rel * ref + tiny
    # sigma = ||A v|| for a unit v: never above sigma_1 (up to rounding)
    assert np.all(sig <= ref + room), (sig, ref)
    if est is None:
        # sigma() does not say whether it converged: assumed for auto and svd with the default
        # budget, which meet tol on every input; a chosen power iteration may run out of its
        # default budget on a close top pair (sigma_2 / sigma_1 = 1 - 6e-8 needs ~1e8 steps).
        sure = kw.get("maxiter") is None and kw.get("method") in ("auto", "svd")
        converged = np.ones(ref.shape, dtype=bool) if sure else None
    else:
        converged = np.asarray(est.converged)
        lower, upper = np.asarray(est.lower), np.asarray(est.upper)
        assert np.all(lower <= ref + room), (lower, ref)
        # upper is certain where confidence is 1; elsewhere it fails with the documented
        # probability 1 - confidence (1e-3) over the random start, which a million inputs meet
        certain = np.asarray(est.confidence) == 1.0
        assert np.all((upper >= ref - room)[certain]), (upper, ref)
        assert np.all(lower <= sig + room)
        u, v = np.asarray(est.u), np.asarray(est.v)
        assert u.shape == (*ref.shape, m) and v.shape == (*ref.shape, n)
        assert np.all(np.isfinite(u)) and np.all(np.isfinite(v))
    if converged is not None:
        ok = converged & (ref > tiny)
        near_top = np.abs(sig - ref) <= room
        if kw.get("method") in ("power", "lanczos", "rayleigh"):
            # The documented promise of a converged run of a chosen iterative method: sigma
            # lies within tol of *a* singular value. From a start nearly orthogonal to v_1 (a
            # small-probability event) power iteration meets the stopping rule at sigma_2; the
            # bracket, checked above, still holds sigma_1.
            values = spectrum(a)
            near_any = np.any(np.abs(sig[..., None] - values) <= rel * values + tiny, axis=-1)
            assert np.all(near_any[ok]), (sig, values, converged)
        else:
            assert np.all(near_top[ok]), (sig, ref, converged)


def check_many(items: list[Any]) -> None:
    """sigma_many on a list of arbitrary items: each answer that of sigma, or the exception."""
    allowed: set[type] = set()
    for a in items:
        allowed |= _input_errors(a, {})
        if a.ndim > 2:
            allowed.add(ValueError)
    try:
        out = specnorm.sigma_many(items, seed=0)
    except (ValueError, TypeError) as exc:
        assert type(exc) in allowed, f"{type(exc).__name__}: {exc}; allowed {allowed}"
        return
    assert not allowed, f"no exception, but the input calls for {allowed}"
    assert out.shape == (len(items),)
    for a, s in zip(items, out, strict=True):
        _check_answer(a, {}, None, s)
