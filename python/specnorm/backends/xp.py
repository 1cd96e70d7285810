"""The methods of the C++ core, written once against the array API standard.

Everything here takes its array namespace ``xp`` as a parameter: with NumPy it is the pure-Python
fallback (the ``numpy`` backend), with CuPy the GPU backend, and the test suite runs it with
``array_api_strict`` to prove that only standard operations are used. The algorithms, the stopping
rule ``||A^H u - sigma v|| <= tol * sigma`` and the product counting are those of
``cpp/specnorm/*.hpp`` (see the comments there for the mathematics), so every backend returns the
same fields with the same meaning.

Device discipline: the matrix and every vector of length m or n stay in the input's namespace (on
its device). What crosses to the host inside a loop are the scalars the stopping rule and the
recurrences need, fetched together in one transfer per step: for Lanczos the new column of the
small projected matrix (at most ``basis_size + 2`` numbers), for MINRES two numbers, for power
iteration two numbers every ``sync_every`` steps.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Any

import array_api_compat
import numpy as np

from .._bounds import entry_bound, needs_rescale
from .._rules import MOST_CALLS, namespace_dtype, safe_range

__all__ = ["Engine", "Options", "SparseEngine", "StackEngine", "XpBackend"]

#: Rows of A per chunk in the one-pass bounds, so that temporaries stay small.
CHUNK_ELEMENTS = 1 << 22


@dataclass(frozen=True)
class Options:
    """The solver options of the C++ core (``Options`` in result.hpp)."""

    tol: float = 1e-6
    maxiter: int = 10_000
    basis_size: int = 64
    seed: int = 0
    norm_hint: float = 1.0
    #: Power iteration reads sigma and the residual back every this many steps (1 on the host).
    sync_every: int = 1
    #: Stop at this time of ``time.monotonic()`` with the best pair so far (converged=False).
    deadline: float = math.inf


def expired(opt: Options) -> bool:
    """Whether the run's deadline has passed (checked once per step, as the core does)."""
    return opt.deadline < math.inf and time.monotonic() >= opt.deadline


@dataclass
class _Estimate:
    sigma: float = 0.0
    lower: float = 0.0
    residual: float = math.inf
    u: Any = None
    v: Any = None
    iterations: int = 0
    converged: bool = False
    bound_kind: str = "none"
    bound_steps: int = 0
    extra: dict[str, Any] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return {"sigma": self.sigma, "lower": self.lower, "residual": self.residual,
                "u": self.u, "v": self.v, "iterations": self.iterations,
                "converged": self.converged, "bound_kind": self.bound_kind,
                "bound_steps": self.bound_steps}


def product_scale(sigma: float, opt: Options) -> float:
    """The scale s in A^H (s A x): 1 / max(best estimate so far, hint), never above 1 / hint, so
    that s A x stays below 1 where the hint is a certain bound (result.hpp)."""
    size = max(sigma, opt.norm_hint)
    return 1.0 / (size if size > 0 else 1.0)


def stack_bounds(xp: Any, a: Any, to_host: Callable[[Any], np.ndarray],
                 device: Any) -> tuple[np.ndarray, np.ndarray]:
    """For every matrix of the stack ``a`` (B, m, n): whether all its entries are finite, and the
    certain bound min(||A||_F, sqrt(||A||_1 ||A||_inf)) (NaN where not finite), as host arrays.

    One pass over ``a`` in blocks of about CHUNK_ELEMENTS entries (whole matrices, or row blocks
    of one large matrix), so temporaries stay small; one transfer of 5 numbers per matrix per
    block of matrices. Matrices whose squares overflow or underflow float64 get a second pass
    scaled by their largest entry (bounds.hpp does the same).
    """
    count, m, n = (int(d) for d in a.shape)
    group = max(1, CHUNK_ELEMENTS // max(m * n, 1))
    rows = m if group > 1 else max(1, CHUNK_ELEMENTS // max(n, 1))
    biggest: list[Any] = []  # each block's largest magnitudes, kept on the device for the rescale

    def sweep(rescale: bool) -> np.ndarray:
        out = []
        for i, b0 in enumerate(range(0, count, group)):
            b1 = min(b0 + group, count)
            g = b1 - b0
            finite = xp.ones((g,), dtype=xp.bool, device=device)
            big = xp.zeros((g,), dtype=xp.float64, device=device)
            cols = xp.zeros((g, n), dtype=xp.float64, device=device)
            row_max = xp.zeros((g,), dtype=xp.float64, device=device)
            squares = xp.zeros((g,), dtype=xp.float64, device=device)
            for r0 in range(0, m, rows):
                block = a[b0:b1, r0:min(r0 + rows, m), :]
                mag = xp.astype(xp.abs(block), xp.float64)
                if rescale:
                    safe = xp.where(biggest[i] > 0, biggest[i], xp.ones_like(biggest[i]))
                    mag = mag / safe[:, None, None]
                else:
                    finite = finite & xp.all(xp.isfinite(block), axis=(1, 2))
                    big = xp.maximum(big, xp.max(mag, axis=(1, 2)))
                cols = cols + xp.sum(mag, axis=1)
                row_max = xp.maximum(row_max, xp.max(xp.sum(mag, axis=2), axis=1))
                squares = squares + xp.sum(mag * mag, axis=(1, 2))
            if not rescale:
                biggest.append(big)
            parts = [xp.astype(finite, xp.float64), big, xp.max(cols, axis=1), row_max, squares]
            out.append(np.asarray(to_host(xp.stack(parts))))
        return np.concatenate(out, axis=1) if out else np.zeros((5, 0))

    # Squares that overflow float64 are detected below and redone scaled: no warning wanted.
    with np.errstate(over="ignore", invalid="ignore"):
        finite, big, norm1, norm_inf, squares = sweep(False)
    finite = finite > 0
    redo = finite & needs_rescale(big, norm1, norm_inf, squares)
    scale = np.ones(count)
    if np.any(redo):
        _, _, n1, ni, sq = sweep(True)
        norm1, norm_inf, squares = (np.where(redo, x, y) for x, y in
                                    ((n1, norm1), (ni, norm_inf), (sq, squares)))
        scale = np.where(redo, big, 1.0)
    certain = entry_bound(norm1, norm_inf, squares, scale)
    return finite, np.where(finite, certain, np.nan)


class Engine:
    """One dense matrix ``a`` (m, n) in namespace ``xp``, with the operations the methods need.

    ``to_host`` turns a small array of the namespace into a NumPy array (the one way data
    leaves the device); ``from_host`` makes an array of the namespace, on ``a``'s device, from a
    NumPy array.
    """

    def __init__(self, xp: Any, a: Any, to_host: Callable[[Any], np.ndarray],
                 from_host: Callable[[np.ndarray, Any], Any]) -> None:
        self.xp = xp
        self.a = a
        self.m, self.n = (int(d) for d in a.shape)
        self.dtype = a.dtype
        self.complex = bool(xp.isdtype(a.dtype, "complex floating"))
        if self.complex:
            self.real_dtype = xp.float32 if a.dtype == xp.complex64 else xp.float64
        else:
            self.real_dtype = a.dtype
        self.eps = float(xp.finfo(self.real_dtype).eps)
        self.host_dtype = np.complex128 if self.complex else np.float64
        self.device = array_api_compat.device(a)
        self._to_host = to_host
        self._from_host = from_host

    # -- transfers -----------------------------------------------------------------------------
    def fetch(self, *parts: Any) -> list[np.ndarray]:
        """Host copies of device arrays (0-d or 1-d), in one transfer."""
        xp = self.xp
        flat = [xp.reshape(p, (-1,)) for p in parts]
        common = self.dtype if any(xp.isdtype(p.dtype, "complex floating") for p in flat) \
            else self.real_dtype
        joined = xp.concat([xp.astype(p, common) for p in flat]) if flat else None
        host = np.asarray(self._to_host(joined)) if joined is not None else np.zeros(0)
        out, start = [], 0
        for p in flat:
            size = int(p.shape[0])
            out.append(host[start:start + size])
            start += size
        return out

    def scalars(self, *parts: Any) -> list[float]:
        """Real 0-d device arrays as Python floats, in one transfer."""
        return [float(np.real(p[0])) for p in self.fetch(*parts)]

    def device_vector(self, values: np.ndarray) -> Any:
        """A vector of the namespace in the matrix's dtype from host values."""
        host = np.asarray(values, dtype=self.host_dtype if self.complex else np.float64)
        return self.xp.astype(self._from_host(host, self.a), self.dtype)

    # -- vector algebra ------------------------------------------------------------------------
    def norm(self, x: Any) -> Any:
        """||x|| as a 0-d array, without overflow or underflow at any scale."""
        xp = self.xp
        if self.complex:
            # Real and imaginary parts apart: complex division by a subnormal real overflows.
            re, im = xp.real(x), xp.imag(x)
            big = xp.maximum(xp.max(xp.abs(re)), xp.max(xp.abs(im)))
            safe = xp.where(big > 0, big, xp.ones_like(big))
            scaled = xp.stack([xp.linalg.vector_norm(re / safe), xp.linalg.vector_norm(im / safe)])
            return big * xp.linalg.vector_norm(scaled)
        big = xp.max(xp.abs(x))
        safe = xp.where(big > 0, big, xp.ones_like(big))
        return big * xp.linalg.vector_norm(x / safe)

    def divide(self, x: Any, d: Any) -> Any:
        """x / d for a real 0-d d, each part apart as in the C++ core: NumPy and CuPy divide a
        complex x by multiplying with 1 / d, which overflows for a subnormal d."""
        if not self.complex:
            return x / d
        xp = self.xp
        re = xp.astype(xp.real(x) / d, self.dtype)
        im = xp.astype(xp.imag(x) / d, self.dtype)
        return re + im * 1j

    def dot(self, x: Any, y: Any) -> Any:
        """x^H y as a 0-d array."""
        xp = self.xp
        return xp.sum(xp.conj(x) * y) if self.complex else xp.sum(x * y)

    def unit(self, size: int) -> Any:
        e = np.zeros(size)
        if size:
            e[0] = 1.0
        return self.device_vector(e)

    def random_unit(self, source: np.random.Generator, size: int) -> Any:
        draw = source.standard_normal(size)
        if self.complex:
            draw = draw + 1j * source.standard_normal(size)
        x = self.device_vector(draw)
        return x / self.norm(x)

    def orthogonalize(self, rows: Any, count: int, x: Any) -> tuple[Any, Any]:
        """x without its components along the first ``count`` rows of ``rows`` (orthonormal),
        removed twice, and the coefficients removed."""
        xp = self.xp
        if count == 0:
            return x, xp.zeros((0,), dtype=self.dtype, device=self.device)
        basis = rows[:count, :]
        h = None
        for _ in range(2):
            g = xp.conj(basis @ xp.conj(x)) if self.complex else basis @ x
            x = x - g @ basis
            h = g if h is None else h + g
        return x, h

    # -- products ------------------------------------------------------------------------------
    def apply(self, x: Any) -> Any:
        """A x."""
        return self.a @ x

    def adjoint(self, y: Any) -> Any:
        """A^H y, without forming the conjugate of A."""
        xp = self.xp
        return xp.conj(xp.conj(y) @ self.a) if self.complex else y @ self.a

    def normal(self, x: Any, scale: float) -> tuple[Any, Any]:
        """(A x, A^H (scale A x)): two products."""
        z = self.apply(x)
        return z, self.adjoint(z * scale)

    # -- the certification shared by every method ----------------------------------------------
    def certify(self, v_in: Any, opt: Options, est: _Estimate) -> None:
        """Recomputes the pair for the unit v_in / ||v_in|| from fresh products (see result.hpp)."""
        if est.iterations >= opt.maxiter:
            return
        xp = self.xp
        v = v_in / self.norm(v_in)
        both = est.iterations + 2 <= opt.maxiter
        scale = product_scale(est.sigma, opt)
        if both:
            z, w = self.normal(v, scale)
            est.iterations += 2
        else:
            z, w = self.apply(v), None
            est.iterations += 1
        s = self.norm(z)
        s_safe = xp.where(s > 0, s, xp.ones_like(s))
        # ||A v|| / ||v|| with the norm of the v actually stored: in single precision it may
        # round to 1 + eps, and ||A v|| alone is then no Rayleigh quotient of A
        quotient = s / self.norm(v)
        if both:
            res = self.norm(w / (scale * s_safe) - s * v) / s_safe
            sigma, residual = self.scalars(quotient, res)
        else:
            (sigma,), residual = self.scalars(quotient), math.inf
        if not sigma > 0:
            return
        est.lower = max(est.lower, sigma)
        est.sigma = sigma
        est.u = z / s_safe
        est.v = v
        est.residual = residual
        est.converged = residual <= opt.tol

    def finish(self, est: _Estimate, v: Any) -> dict[str, Any]:
        if est.u is None:  # every start fell in the null space: a unit pair, sigma = 0
            est.u = self.unit(self.m)
            est.v = v
        return est.as_dict()

    # -- methods -------------------------------------------------------------------------------
    def power(self, v0: Any, opt: Options) -> dict[str, Any]:
        """Power iteration on A^H A (power.hpp)."""
        xp = self.xp
        est = _Estimate(bound_kind="power")
        source = np.random.default_rng(opt.seed)
        v = v0 / self.norm(v0)
        if opt.maxiter < 2:
            self.certify(v, opt, est)
            est.bound_steps = 1
            return self.finish(est, v)
        steps, fresh, check = 1, 0, True
        every = max(1, int(opt.sync_every))
        while est.iterations + 2 <= opt.maxiter and not expired(opt):
            scale = product_scale(est.sigma, opt)
            z, w = self.normal(v, scale)
            est.iterations += 2
            s = self.norm(z)
            s_safe = xp.where(s > 0, s, xp.ones_like(s))
            adj_u = w / (scale * s_safe)  # A^H u
            res = self.norm(adj_u - s * v) / s_safe
            last = est.iterations + 2 > opt.maxiter or expired(opt)
            if check or last or steps % every == 0:
                check = False
                sigma, residual = self.scalars(s, res)
                if not sigma > 0:
                    # A v = 0 for a nonzero A (checked by the caller): a start in the null space.
                    if fresh == 3:
                        break
                    fresh += 1
                    est.bound_kind = "none"
                    v = self.random_unit(source, self.n)
                    check = True
                    continue
                est.sigma = sigma
                est.lower = max(est.lower, sigma)
                est.u = z / s_safe
                est.v = v
                est.bound_steps = steps
                est.residual = residual
                if residual <= opt.tol:
                    est.converged = True
                    break
            an = self.norm(adj_u)
            v = adj_u / xp.where(an > 0, an, xp.ones_like(an))
            steps += 1
        if est.u is None and fresh == 0:  # stopped before a first step: the start's own pair
            self.certify(v, opt, est)
        return self.finish(est, v)

    def lanczos(self, v0: Any, opt: Options) -> dict[str, Any]:
        """Golub-Kahan-Lanczos bidiagonalization with full reorthogonalization and thick restarts
        (lanczos.hpp). The bases live in the namespace, one vector per row; the small projected
        matrix B lives on the host."""
        xp = self.xp
        m, n = self.m, self.n
        kmax = max(2, min(opt.basis_size, n))
        tiny = 16.0 * self.eps
        est = _Estimate(bound_kind="lanczos")
        source = np.random.default_rng(opt.seed)

        def empty(rows: int, cols: int) -> Any:
            return xp.zeros((rows, cols), dtype=self.dtype, device=self.device)

        P, Q, R = empty(kmax + 1, n), empty(kmax, m), empty(kmax, n)  # R = A^H Q, row by row
        B = np.zeros((kmax, kmax), dtype=self.host_dtype)
        best = v0 / self.norm(v0)
        estimate = 0.0
        P[0, :] = best
        j, first_cycle, fresh = 0, True, 0

        def reset(start: Any) -> None:
            nonlocal P, Q, R, B, j, first_cycle
            P, Q, R = empty(kmax + 1, n), empty(kmax, m), empty(kmax, n)
            B = np.zeros((kmax, kmax), dtype=self.host_dtype)
            P[0, :] = start
            j, first_cycle = 0, False

        while est.iterations + 4 <= opt.maxiter and not expired(opt):
            scale = product_scale(estimate, opt)
            q, w = self.normal(P[j, :], scale)
            est.iterations += 2
            before = self.norm(q)
            q, h = self.orthogonalize(Q, j, q)
            alpha = self.norm(q)
            # alpha ~ 0: A p_j lies in span(Q), the pair of spaces is invariant.
            ok = (alpha > tiny * before) & (alpha > 0)
            alpha_safe = xp.where(ok, alpha, xp.ones_like(alpha))
            q = xp.where(ok, self.divide(q, alpha_safe), xp.zeros_like(q))
            r = w if j == 0 else w - (h * scale) @ R[:j, :]
            # The divisor is 1 where the step is discarded: scale * 1 may be tiny, and dividing by
            # it would overflow (a NumPy warning) in the branch that xp.where throws away.
            r_den = xp.where(ok, scale * alpha, xp.ones_like(alpha))
            r = xp.where(ok, self.divide(r, r_den), xp.zeros_like(r))
            Q[j, :] = q
            R[j, :] = r
            before_r = self.norm(r)
            r, _ = self.orthogonalize(P, j + 1, r)
            beta_dev = self.norm(r)
            h_host, tail = self.fetch(h, xp.stack([alpha, xp.astype(ok, self.real_dtype),
                                                   before_r, beta_dev]))
            alpha_h, ok_h, before_r_h, beta = (float(np.real(t)) for t in tail)
            B[:j, j] = h_host
            B[j, j] = alpha_h if ok_h else 0.0
            if beta <= tiny * before_r_h or beta == 0.0:
                beta = 0.0
            j += 1
            if first_cycle:
                est.bound_steps = j

            # The top Ritz pair from the eigenproblem of the scaled B^H B.
            bj = B[:j, :j]
            b_max = float(np.max(np.abs(bj)))
            b_scale = b_max if b_max > 0 else 1.0
            bs = bj / b_scale
            values, vectors = np.linalg.eigh(bs.conj().T @ bs)
            s1 = b_scale * math.sqrt(max(0.0, float(values[-1])))
            right = vectors[:, -1]
            ritz_residual = (beta * abs(complex(bs[j - 1, :] @ right)) * (b_scale / s1)
                             if s1 > 0 else beta)
            estimate = s1

            if not s1 > 0:
                # Only a start in the null space of A gets here (A != 0 is checked by the caller).
                if fresh == 3:
                    break
                fresh += 1
                best = self.random_unit(source, n)
                reset(best)
                est.bound_kind = "none"
                continue
            best = self.device_vector(right) @ P[:j, :]
            if ritz_residual <= opt.tol * s1 or beta == 0.0:
                self.certify(best, opt, est)
                if est.converged:
                    return est.as_dict()
                # Rounding made the recurrence optimistic: start again from the certified vector.
                reset(est.v if est.v is not None else best)
                continue
            P[j, :] = self.divide(r, beta_dev)
            if j == kmax:
                # Thick restart: keep the leading half of the Ritz triplets and p_{j+1}.
                keep = kmax // 2
                left, values_b, right_h = np.linalg.svd(bj)
                v_keep = self.device_vector(right_h[:keep, :].conj().reshape(-1))
                u_keep = self.device_vector(left[:, :keep].T.reshape(-1))
                v_keep = xp.reshape(v_keep, (keep, j))
                u_keep = xp.reshape(u_keep, (keep, j))
                p_kept, q_kept, r_kept = v_keep @ P[:j, :], u_keep @ Q[:j, :], u_keep @ R[:j, :]
                following = P[j, :]
                P, Q, R = empty(kmax + 1, n), empty(kmax, m), empty(kmax, n)
                B = np.zeros((kmax, kmax), dtype=self.host_dtype)
                P[:keep, :] = p_kept
                P[keep, :] = following
                Q[:keep, :] = q_kept
                R[:keep, :] = r_kept
                B[np.arange(keep), np.arange(keep)] = values_b[:keep]
                j, first_cycle = keep, False
        self.certify(best, opt, est)
        return self.finish(est, best)

    def _minres(self, ref: float, shift: float, b: Any, steps: int, rtol: float, opt: Options,
                est: _Estimate) -> Any:
        """About (A^H A / ref^2 - shift I)^{-1} b by at most ``steps`` MINRES steps
        (rayleigh.hpp)."""
        xp = self.xp
        x = xp.zeros_like(b)
        v_prev, w, w_prev = xp.zeros_like(b), xp.zeros_like(b), xp.zeros_like(b)
        (beta,) = self.scalars(self.norm(b))
        if not beta > 0:
            return x
        v = b / beta
        beta1 = beta
        c, s, dbar, eps_next, phibar = -1.0, 0.0, 0.0, 0.0, beta1
        tiny = float(np.finfo(np.float32 if self.eps > 1e-10 else np.float64).tiny)
        for k in range(steps):
            if expired(opt):
                break
            _, y = self.normal(v, 1.0 / ref)
            est.iterations += 2
            y = y / ref - shift * v
            if k > 0:
                y = y - beta * v_prev
            alpha_dev = xp.real(self.dot(v, y)) if self.complex else self.dot(v, y)
            y = y - alpha_dev * v
            alpha, beta = self.scalars(alpha_dev, self.norm(y))
            eps_k = eps_next
            delta = c * dbar + s * alpha
            gbar = s * dbar - c * alpha
            eps_next = s * beta
            dbar = -c * beta
            gamma = max(math.hypot(gbar, beta), tiny)
            c, s = gbar / gamma, beta / gamma
            phi = c * phibar
            phibar = s * phibar
            w_new = (v - eps_k * w_prev - delta * w) / gamma
            w_prev, w = w, w_new
            x = x + phi * w
            if not beta > 0 or phibar <= rtol * beta1:
                break
            v_prev = v
            v = y / beta
        return x

    def rayleigh(self, v0: Any, opt: Options) -> dict[str, Any]:
        """A Lanczos start refined by Rayleigh-quotient iteration (rayleigh.hpp)."""
        start = replace(opt, tol=max(opt.tol, min(1e-2, math.sqrt(opt.tol))))
        first = self.lanczos(v0, start)
        est = _Estimate(**{k: first[k] for k in _Estimate().as_dict()})
        if est.converged and est.residual <= opt.tol:
            return est.as_dict()
        if not est.sigma > 0:
            return est.as_dict()
        est.converged = False
        inner = min(24, max(2, self.n))
        v, zh, sigma = est.v, est.u, est.sigma
        while est.iterations + 2 * inner + 1 + 2 <= opt.maxiter and not expired(opt):
            x = self._minres(sigma, 1.0, v, inner, 1e-3, opt, est)
            x = x - v * self.dot(v, x)
            x = x - v * self.dot(v, x)
            (xn,) = self.scalars(self.norm(x))
            if not xn > 0:
                break
            x = x / xn
            ax = self.apply(x) / sigma
            est.iterations += 1
            zn_d, an_d, h12_d = self.fetch(self.norm(zh), self.norm(ax), self.dot(zh, ax))
            zn, an = float(np.real(zn_d[0])), float(np.real(an_d[0]))
            h12 = complex(h12_d[0]) if self.complex else float(np.real(h12_d[0]))
            h11, h22 = zn * zn, an * an
            off = abs(h12)
            lam = 0.5 * (h11 + h22) + math.hypot(0.5 * (h11 - h22), off)
            if off > 0:
                c1, c2 = h12, lam - h11
            elif h22 > h11:
                c1, c2 = 0.0, 1.0
            else:
                break  # x adds nothing
            if not lam > h11:
                break  # no progress is possible at this precision
            cn = math.hypot(abs(c1), abs(c2))
            v = v * (c1 / cn) + x * (c2 / cn)
            self.certify(v, opt, est)
            if est.converged:
                return est.as_dict()
            v, zh, sigma = est.v, est.u, est.sigma
        # Inexact solves can stall near the working precision: Lanczos finishes the job.
        if not est.converged and est.iterations + 4 <= opt.maxiter:
            rest = replace(opt, maxiter=opt.maxiter - est.iterations)
            tail = self.lanczos(est.v, rest)
            tail["iterations"] += est.iterations
            tail["lower"] = max(tail["lower"], est.lower)
            tail["bound_kind"], tail["bound_steps"] = est.bound_kind, est.bound_steps
            if tail["sigma"] >= est.sigma or tail["converged"]:
                return tail
            est.iterations = tail["iterations"]
        return est.as_dict()

    def run(self, method: str, v0: Any, opt: Options) -> dict[str, Any]:
        if method == "power":
            return self.power(v0, opt)
        if method == "lanczos":
            return self.lanczos(v0, opt)
        if method == "rayleigh":
            return self.rayleigh(v0, opt)
        raise ValueError(f"unknown iterative method {method!r}")

    # -- one-pass quantities and the exact reference -------------------------------------------
    def rayleigh_quotient(self, x: Any) -> float:
        """||A x|| / ||x|| for nonzero x: one product."""
        (value,) = self.scalars(self.norm(self.apply(x / self.norm(x))))
        return value

    def dense_bounds(self) -> tuple[bool, float]:
        """(every entry finite, min(||A||_F, sqrt(||A||_1 ||A||_inf))), see stack_bounds."""
        finite, certain = stack_bounds(self.xp, self.a[None, ...], self._to_host, self.device)
        return bool(finite[0]), float(certain[0])

    def svd(self) -> dict[str, Any]:
        """The exact top triplet from the namespace's SVD, with a certain bracket."""
        xp = self.xp
        left, values, right_h = xp.linalg.svd(self.a, full_matrices=False)
        u = left[:, 0]
        v = xp.conj(right_h[0, :]) if self.complex else right_h[0, :]
        s = values[0]
        s_safe = xp.where(s > 0, s, xp.ones_like(s))
        # NumPy's float32 matmul has been seen (once, on a loaded machine) to raise an "invalid
        # value" flag on finite input whose products are finite; the flag is not an answer.
        with np.errstate(invalid="ignore"):
            sigma, image, residual = self.scalars(
                s, self.norm(self.apply(v)), self.norm(self.adjoint(u) - s * v) / s_safe)
        # LAPACK's singular values are exact for a matrix within p(m, n) * eps * ||A|| of A.
        upper = sigma * (1.0 + 4.0 * max(self.m, self.n) * self.eps)
        return {"sigma": sigma, "lower": min(image, sigma), "upper": upper, "u": u, "v": v,
                "residual": residual if sigma > 0 else 0.0, "iterations": 2, "converged": True}


class SparseEngine(Engine):
    """A sparse matrix with the SciPy sparse API (``cupyx.scipy.sparse`` on the GPU) whose
    vectors live in namespace ``xp``: the products are the library's sparse matrix-vector
    products on the matrix's device. ``csr`` is in CSR form with no duplicate entries; A^H is
    formed once, as a CSR matrix of its own, so that both products run over rows."""

    def __init__(self, xp: Any, csr: Any, to_host: Callable[[Any], np.ndarray],
                 from_host: Callable[[np.ndarray, Any], Any]) -> None:
        like = xp.zeros((0, 0), dtype=csr.dtype, device=array_api_compat.device(csr.data))
        super().__init__(xp, like, to_host, from_host)
        self.m, self.n = (int(d) for d in csr.shape)
        self.csr = csr
        self.csr_h = (csr.conj() if self.complex else csr).T.tocsr()

    def apply(self, x: Any) -> Any:
        return self.csr @ x

    def adjoint(self, y: Any) -> Any:
        return self.csr_h @ y

    def dense_bounds(self) -> tuple[bool, float]:
        """(every stored entry finite, min(||A||_F, sqrt(||A||_1 ||A||_inf))) from the stored
        entries, scaled by the largest magnitude so that no square overflows or underflows; two
        transfers of a few numbers."""
        xp, csr = self.xp, self.csr
        if int(csr.nnz) == 0:
            return True, 0.0
        mag = xp.astype(xp.abs(csr.data), xp.float64)
        finite, big = self.fetch(xp.astype(xp.all(xp.isfinite(csr.data)), xp.float64),
                                 xp.max(mag))
        big_value = float(np.real(big[0]))
        if not finite[0] or not big_value > 0:
            return bool(finite[0]), 0.0
        scaled = mag / big_value
        magnitudes = type(csr)((scaled, csr.indices, csr.indptr), shape=csr.shape)
        ones_m = xp.ones((self.m,), dtype=xp.float64, device=self.device)
        ones_n = xp.ones((self.n,), dtype=xp.float64, device=self.device)
        norm1, norm_inf, squares = self.scalars(xp.max(magnitudes.T @ ones_m),
                                                xp.max(magnitudes @ ones_n),
                                                xp.sum(scaled * scaled))
        return True, float(entry_bound(norm1, norm_inf, squares, big_value))


class StackEngine:
    """A stack ``a`` (B, m, n) in namespace ``xp``: power iteration or Lanczos on every matrix at
    once with batched matmuls. Matrices that meet the stopping rule leave the products: the live
    matrices are gathered (power iteration: whenever at most half of the rows are still live;
    Lanczos: at every departure, with its basis), so the work follows the matrices left."""

    def __init__(self, xp: Any, a: Any, to_host: Callable[[Any], np.ndarray],
                 from_host: Callable[[np.ndarray, Any], Any]) -> None:
        self.xp = xp
        self.a = a
        self.count, self.m, self.n = (int(d) for d in a.shape)
        first = Engine(xp, a[0, ...], to_host, from_host)
        self.complex, self.dtype, self.real_dtype = first.complex, first.dtype, first.real_dtype
        self.host_dtype = first.host_dtype
        self._to_host = to_host
        self._from_host = from_host

    def rows_norm(self, x: Any) -> Any:
        """The norm of each row of x (k, l), without overflow or underflow."""
        xp = self.xp
        parts = (xp.real(x), xp.imag(x)) if self.complex else (x,)
        big = xp.max(xp.abs(parts[0]), axis=-1)
        for p in parts[1:]:
            big = xp.maximum(big, xp.max(xp.abs(p), axis=-1))
        safe = xp.where(big > 0, big, xp.ones_like(big))
        squares = sum(xp.linalg.vector_norm(p / safe[:, None], axis=-1) ** 2 for p in parts)
        return big * xp.sqrt(squares)

    def rows_divide(self, x: Any, d: Any) -> Any:
        """Each row of x divided by the real d[row], complex parts apart (see Engine.divide)."""
        xp = self.xp
        if not self.complex:
            return x / d[:, None]
        re = xp.astype(xp.real(x) / d[:, None], self.dtype)
        im = xp.astype(xp.imag(x) / d[:, None], self.dtype)
        return re + im * 1j

    def conj(self, x: Any) -> Any:
        return self.xp.conj(x) if self.complex else x

    def normal(self, rows: Any, v: Any, scale: Any) -> tuple[Any, Any]:
        """(A_b v_b, A_b^H (scale_b A_b v_b)) for every matrix A_b of ``rows``: two products
        each, as batched matmuls, without forming conj(A)."""
        xp = self.xp
        z = xp.matmul(rows, v[..., None])[..., 0]
        zs = z * xp.astype(scale, self.dtype)[:, None]
        return z, self.conj(xp.matmul(self.conj(zs)[:, None, :], rows)[:, 0, :])

    def host(self, *parts: Any) -> list[np.ndarray]:
        xp = self.xp
        joined = xp.stack([xp.astype(p, xp.float64) for p in parts])
        out = np.asarray(self._to_host(joined))
        return [out[i] for i in range(len(parts))]

    def bounds(self) -> tuple[np.ndarray, np.ndarray]:
        """(finite, certain upper bound) of every matrix, as host arrays of length B."""
        return stack_bounds(self.xp, self.a, self._to_host, array_api_compat.device(self.a))

    def power(self, v0: Any, live: np.ndarray, hints: np.ndarray, opt: Options) -> dict[str, Any]:
        """Power iteration (power.hpp) on the matrices where ``live`` is True, from the rows of
        v0 (B, n); the others are left at sigma = 0. Returns host arrays of length B and device
        arrays u (B, m), v (B, n)."""
        xp = self.xp
        count = self.count
        sigma, lower = np.zeros(count), np.zeros(count)
        residual, steps_out = np.full(count, np.inf), np.zeros(count, dtype=np.int64)
        iterations = np.zeros(count, dtype=np.int64)
        converged = np.zeros(count, dtype=bool)
        finished: list[tuple[np.ndarray, Any, Any]] = []  # (member indices, u rows, v rows)
        members = np.flatnonzero(live)  # the matrices in the working stack, in order
        rows = xp.take(self.a, self._index(members), axis=0) if members.size < count else self.a
        v = xp.take(v0, self._index(members), axis=0) if members.size < count else v0
        v = self.rows_divide(v, self.rows_norm(v))
        alive = np.ones(members.size, dtype=bool)  # rows of the working stack still iterating
        estimate = hints[members].astype(np.float64)
        every = max(1, int(opt.sync_every))
        done_products, step = 0, 1
        z = u = None
        while members.size and done_products + 2 <= opt.maxiter:
            scale = 1.0 / np.maximum(np.maximum(estimate, hints[members]), 1e-300)
            scale_dev = self._real(scale)
            z, w = self.normal(rows, v, scale_dev)
            done_products += 2
            s = self.rows_norm(z)
            s_safe = xp.where(s > 0, s, xp.ones_like(s))
            adj_u = self.rows_divide(w, scale_dev * s_safe)
            res = self.rows_norm(adj_u - xp.astype(s, self.dtype)[:, None] * v) / s_safe
            last = done_products + 2 > opt.maxiter or expired(opt)
            if step == 1 or last or step % every == 0:
                s_h, res_h = self.host(s, res)
                # A start in the null space (A v = 0 for A != 0) has probability 0: such a
                # matrix is left to the caller's one-matrix path (sigma stays 0, not converged).
                ok = alive & (s_h > 0)
                idx = members[ok]
                sigma[idx], residual[idx] = s_h[ok], res_h[ok]
                lower[idx] = np.maximum(lower[idx], s_h[ok])
                steps_out[idx], iterations[idx] = step, done_products
                estimate = np.where(s_h > 0, s_h, estimate)
                stop = ok & (res_h <= opt.tol)
                converged[members[stop]] = True
                u = self.rows_divide(z, s_safe)
                leaving = stop | (alive & ~(s_h > 0))
                if np.any(leaving) or last:
                    keep = leaving | last
                    pos = self._index(np.flatnonzero(keep & alive))
                    finished.append((members[keep & alive], xp.take(u, pos, axis=0),
                                     xp.take(v, pos, axis=0)))
                    alive &= ~keep
                    if not np.any(alive):
                        members = members[:0]
                        break
                    if alive.sum() * 2 <= alive.size:  # compact: gather the live matrices
                        pos = self._index(np.flatnonzero(alive))
                        rows, v = xp.take(rows, pos, axis=0), xp.take(v, pos, axis=0)
                        adj_u = xp.take(adj_u, pos, axis=0)
                        members, estimate = members[alive], estimate[alive]
                        alive = np.ones(members.size, dtype=bool)
            an = self.rows_norm(adj_u)
            v = self.rows_divide(adj_u, xp.where(an > 0, an, xp.ones_like(an)))
            step += 1
        return self._assemble(finished, sigma, lower, residual, iterations, converged,
                              steps_out)

    def lanczos(self, v0: Any, live: np.ndarray, hints: np.ndarray,
                opt: Options) -> dict[str, Any]:
        """Golub-Kahan-Lanczos (lanczos.hpp) on the matrices where ``live`` is True, all at once:
        the products and the reorthogonalization are batched matmuls, the small projected
        problems one batched ``eigh`` on the host. A full basis restarts from the Ritz vector.
        Matrices whose certification at exit misses ``tol`` (rounding) are left unfinished
        (sigma = 0) for the caller's one-matrix path."""
        xp = self.xp
        count, m, n = self.count, self.m, self.n
        kmax = max(2, min(opt.basis_size, n))
        tiny = 16.0 * float(xp.finfo(self.real_dtype).eps)
        sigma, lower = np.zeros(count), np.zeros(count)
        residual, steps_out = np.full(count, np.inf), np.zeros(count, dtype=np.int64)
        iterations = np.zeros(count, dtype=np.int64)
        converged = np.zeros(count, dtype=bool)
        finished: list[tuple[np.ndarray, Any, Any]] = []
        members = np.flatnonzero(live)
        pos = self._index(members)
        rows = xp.take(self.a, pos, axis=0)
        start = xp.take(v0, pos, axis=0)
        estimate = hints[members].astype(np.float64)
        products, first_cycle = 0, True

        conj = self.conj

        def project(basis: Any, x: Any) -> tuple[Any, Any]:  # CGS2 against the rows of basis
            h = None
            for _ in range(2):
                g = conj(xp.matmul(basis, conj(x)[..., None])[..., 0])
                x = x - xp.matmul(g[:, None, :], basis)[:, 0, :]
                h = g if h is None else h + g
            return x, h

        while members.size and products + 4 <= opt.maxiter:
            live_n = members.size
            P = xp.zeros((live_n, kmax + 1, n), dtype=self.dtype)
            Q = xp.zeros((live_n, kmax, m), dtype=self.dtype)
            R = xp.zeros((live_n, kmax, n), dtype=self.dtype)
            B = np.zeros((live_n, kmax, kmax), dtype=self.host_dtype)
            P[:, 0, :] = self.rows_divide(start, self.rows_norm(start))
            leaving = np.zeros(live_n, dtype=bool)
            best = P[:, 0, :]
            for j in range(kmax):
                if products + 4 > opt.maxiter:
                    break
                scale = self._real(1.0 / np.maximum(np.maximum(estimate, hints[members]),
                                                    1e-300))
                q, w = self.normal(rows, P[:, j, :], scale)
                products += 2
                before = self.rows_norm(q)
                if j:
                    q, h = project(Q[:, :j, :], q)
                else:
                    h = xp.zeros((live_n, 0), dtype=self.dtype)
                alpha = self.rows_norm(q)
                ok = (alpha > tiny * before) & (alpha > 0)
                q = xp.where(ok[:, None], self.rows_divide(q, xp.where(ok, alpha,
                                                                       xp.ones_like(alpha))),
                             xp.zeros_like(q))
                r = w if not j else w - xp.matmul((h * xp.astype(scale, self.dtype)[:, None])
                                                  [:, None, :], R[:, :j, :])[:, 0, :]
                r = xp.where(ok[:, None], self.rows_divide(r, xp.where(ok, scale * alpha,
                                                                       xp.ones_like(alpha))),
                             xp.zeros_like(r))
                Q[:, j, :] = q
                R[:, j, :] = r
                before_r = self.rows_norm(r)
                r, _ = project(P[:, :j + 1, :], r)
                beta_dev = self.rows_norm(r)
                (h_host,) = [np.asarray(self._to_host(h))] if j else [np.zeros((live_n, 0))]
                a_h, ok_h, br_h, beta = self.host(alpha, xp.astype(ok, self.real_dtype),
                                                  before_r, beta_dev)
                B[:, :j, j] = h_host
                B[:, j, j] = np.where(ok_h > 0, a_h, 0.0)
                beta = np.where((beta <= tiny * br_h) | (beta == 0), 0.0, beta)
                k = j + 1
                if first_cycle:
                    steps_out[members] = k
                bj = B[:, :k, :k]
                b_max = np.max(np.abs(bj), axis=(1, 2))
                b_scale = np.where(b_max > 0, b_max, 1.0)
                bs = bj / b_scale[:, None, None]
                values, vectors = np.linalg.eigh(np.swapaxes(bs.conj(), 1, 2) @ bs)
                s1 = b_scale * np.sqrt(np.maximum(values[:, -1], 0.0))
                right = vectors[:, :, -1]
                last_row = np.abs(np.einsum("bi,bi->b", bs[:, k - 1, :], right))
                with np.errstate(divide="ignore", invalid="ignore"):
                    ritz = np.where(s1 > 0, beta * last_row * (b_scale / s1), beta)
                estimate = np.where(s1 > 0, s1, estimate)
                coeffs = xp.astype(self._from_host(right.astype(self.host_dtype), self.a),
                                   self.dtype)
                best = xp.matmul(coeffs[:, None, :], P[:, :k, :])[:, 0, :]
                out_of_budget = products + 4 > opt.maxiter or expired(opt)
                leaving = (ritz <= opt.tol * s1) | (beta == 0) | ~(s1 > 0)
                if out_of_budget:
                    leaving[:] = True
                if np.any(leaving):
                    # Certify the leaving matrices from fresh products; a matrix whose certified
                    # residual misses tol (rounding) or whose start lay in a null space is left
                    # unfinished for the caller's one-matrix path.
                    sub = np.flatnonzero(leaving)
                    sel = self._index(sub)
                    v = xp.take(best, sel, axis=0)
                    v = self.rows_divide(v, self.rows_norm(v))
                    rows_l = xp.take(rows, sel, axis=0)
                    scale_l = self._real(1.0 / np.maximum(
                        np.maximum(estimate[sub], hints[members[sub]]), 1e-300))
                    z, w = self.normal(rows_l, v, scale_l)
                    s_dev = self.rows_norm(z)
                    s_safe = xp.where(s_dev > 0, s_dev, xp.ones_like(s_dev))
                    res_dev = self.rows_norm(self.rows_divide(w, scale_l * s_safe)
                                             - xp.astype(s_dev, self.dtype)[:, None] * v) / s_safe
                    s_h, res_h = self.host(s_dev, res_dev)
                    good = (s_h > 0) & (res_h <= opt.tol)
                    settle = good | (out_of_budget & (s_h > 0))
                    idx = members[sub[settle]]
                    sigma[idx], residual[idx] = s_h[settle], res_h[settle]
                    lower[idx], iterations[idx] = s_h[settle], products + 2
                    converged[members[sub[good]]] = True
                    if np.any(settle):
                        put = self._index(np.flatnonzero(settle))
                        u = self.rows_divide(z, s_safe)
                        finished.append((idx, xp.take(u, put, axis=0), xp.take(v, put, axis=0)))
                    if out_of_budget:
                        members = members[:0]
                        break
                    keep = np.flatnonzero(~leaving)
                    if keep.size == 0:
                        members = members[:0]
                        break
                    sel = self._index(keep)
                    rows, best = xp.take(rows, sel, axis=0), xp.take(best, sel, axis=0)
                    P, Q, R = (xp.take(X, sel, axis=0) for X in (P, Q, R))
                    r, beta_dev = xp.take(r, sel, axis=0), xp.take(beta_dev, sel, axis=0)
                    B, members, estimate = B[keep], members[keep], estimate[keep]
                    live_n = members.size
                if k == kmax:
                    break
                P[:, k, :] = self.rows_divide(r, xp.where(beta_dev > 0, beta_dev,
                                                          xp.ones_like(beta_dev)))
            # A full basis: restart every matrix left from its Ritz vector.
            first_cycle = False
            start = best
        return self._assemble(finished, sigma, lower, residual, iterations, converged,
                              steps_out, kind=2)

    def _assemble(self, finished: list[tuple[np.ndarray, Any, Any]], sigma: np.ndarray,
                  lower: np.ndarray, residual: np.ndarray, iterations: np.ndarray,
                  converged: np.ndarray, steps: np.ndarray, kind: int = 1) -> dict[str, Any]:
        """Host fields and the u, v rows put back in member order (unit vectors for matrices
        that never finished)."""
        xp = self.xp
        count, m, n = self.count, self.m, self.n
        have = np.zeros(count, dtype=bool)
        order, us, vs = [], [], []
        for idx, u_rows, v_rows in finished:
            order.append(idx)
            us.append(u_rows)
            vs.append(v_rows)
            have[idx] = True
        missing = np.flatnonzero(~have)
        if missing.size:
            e_m, e_n = np.zeros((missing.size, m)), np.zeros((missing.size, n))
            e_m[:, 0], e_n[:, 0] = 1.0, 1.0
            order.append(missing)
            us.append(xp.astype(self._from_host(e_m.astype(self.host_dtype), self.a), self.dtype))
            vs.append(xp.astype(self._from_host(e_n.astype(self.host_dtype), self.a), self.dtype))
        flat = np.concatenate(order)
        inverse = np.empty(count, dtype=np.int64)
        inverse[flat] = np.arange(count)
        pos = self._index(inverse)
        u = xp.take(xp.concat(us, axis=0), pos, axis=0)
        v = xp.take(xp.concat(vs, axis=0), pos, axis=0)
        return {"sigma": sigma, "lower": lower, "residual": residual, "u": u, "v": v,
                "iterations": iterations, "converged": converged, "bound_steps": steps,
                "bound_kind": np.full(count, kind, dtype=np.int8)}

    def _index(self, values: np.ndarray) -> Any:
        return self._from_host(np.asarray(values, dtype=np.int64), self.a)

    def _real(self, values: np.ndarray) -> Any:
        return self.xp.astype(self._from_host(np.asarray(values, dtype=np.float64), self.a),
                              self.real_dtype)


class XpBackend:
    """A backend that runs :class:`Engine` on one array namespace.

    Stacks: power iteration and Lanczos run on the whole stack (:class:`StackEngine`);
    Rayleigh-quotient iteration goes matrix by matrix; the exact SVD is one batched call.

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

    def engine(self, a: Any) -> Engine:
        return Engine(self.xp, a, self.to_host, self._from_host)

    def sparse_engine(self, csr: Any) -> SparseEngine:
        """The engine on a sparse matrix of this backend (CSR, no duplicate entries)."""
        return SparseEngine(self.xp, csr, self.to_host, self._from_host)

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

    def unit(self, size: int, like: Any) -> Any:
        """The first unit vector of length ``size`` beside ``like``."""
        return self.engine(like).unit(size)

    def prepare(self, a: Any) -> Any:
        """The array the compute methods read (the cpp backend may make one aligned copy)."""
        return a

    def dense_bounds(self, a: Any) -> tuple[bool, float]:
        return self.engine(a).dense_bounds()

    def estimate_dense(self, a: Any, method: str, tol: float, maxiter: int, basis_size: int,
                       seed: int, v0: Any, norm_hint: float,
                       deadline: float = math.inf) -> dict[str, Any]:
        opt = Options(tol=tol, maxiter=maxiter, basis_size=basis_size, seed=seed,
                      norm_hint=norm_hint, sync_every=self.sync_every, deadline=deadline)
        return self.engine(a).run(method, v0, opt)

    def svd(self, a: Any) -> dict[str, Any]:
        return self.engine(a).svd()

    def rayleigh_quotient(self, a: Any, x: Any) -> float:
        return self.engine(a).rayleigh_quotient(x)

    #: Methods that ``estimate_stack`` runs on a whole stack.
    STACK_METHODS: tuple[str, ...] = ("power", "lanczos")
    #: The most products of the default budget (_api.default_maxiter): each product is a
    #: Python call here; None where the loop is compiled.
    MOST_CALLS: int | None = MOST_CALLS

    def estimate_stack(self, a: Any, method: str, tol: float, maxiter: int, basis_size: int,
                       seeds: np.ndarray, v0: np.ndarray, threads: int,
                       deadline: float = math.inf) -> dict[str, Any]:
        """A method of STACK_METHODS on a whole stack (B, m, n) with batched matmuls; fields as
        ``_core.estimate_batch``."""
        if method not in self.STACK_METHODS:
            raise ValueError(f"the {self.NAME!r} backend runs {method!r} matrix by matrix")
        engine = StackEngine(self.xp, a, self.to_host, self._from_host)
        finite, certain = engine.bounds()
        computed = finite & (certain > 0)
        low, high = safe_range(namespace_dtype(self.xp, a.dtype))
        if not np.all(finite) or np.any(computed & ((certain < low) | (certain > high))):
            # nothing computed: the caller rejects A, or rescales it first
            return {"finite": finite, "certain": certain}
        opt = Options(tol=tol, maxiter=maxiter, basis_size=basis_size, seed=0, norm_hint=1.0,
                      sync_every=self.sync_every, deadline=deadline)
        start = self.xp.astype(self._from_host(v0, a), a.dtype)
        run = engine.power if method == "power" else engine.lanczos
        out = run(start, computed, certain, opt)
        # A matrix whose start fell in its null space (probability 0) was not finished here.
        out["computed"] = computed & (out["sigma"] > 0)
        out["certain"], out["finite"] = certain, finite
        return out

    def svd_stack(self, a: Any) -> dict[str, Any]:
        """The exact top triplets of a nonempty stack (..., m, n) from one batched SVD, with
        certain brackets; every field an array of the namespace over the leading dimensions.
        Raises ValueError if an entry is not finite."""
        xp = self.xp
        if not bool(self.to_host(xp.reshape(xp.all(xp.isfinite(a)), (1,)))[0]):
            raise ValueError("A contains NaN or Inf; the spectral norm needs finite entries")
        engine = self.engine(a[(0,) * (a.ndim - 2) + (..., )])
        left, values, right_h = xp.linalg.svd(a, full_matrices=False)
        u = left[..., :, 0]
        v = right_h[..., 0, :]
        if engine.complex:
            v = xp.conj(v)
        s = values[..., 0]
        s_safe = xp.where(s > 0, s, xp.ones_like(s))

        def norms(x: Any) -> Any:  # row norms without overflow: scaled by each row's largest part
            big = xp.max(xp.abs(x), axis=-1)
            safe = xp.where(big > 0, big, xp.ones_like(big))
            return big * xp.linalg.vector_norm(x / safe[..., None], axis=-1)

        image = norms(xp.matmul(a, v[..., None])[..., 0])
        adj = xp.matmul(xp.conj(u[..., None, :]) if engine.complex else u[..., None, :], a)
        adj = xp.conj(adj[..., 0, :]) if engine.complex else adj[..., 0, :]
        residual = xp.where(s > 0, norms(adj - s[..., None] * v) / s_safe, xp.zeros_like(s))
        factor = 1.0 + 4.0 * max(engine.m, engine.n) * engine.eps
        return {"sigma": s, "u": u, "v": v, "lower": xp.minimum(image, s), "upper": s * factor,
                "residual": residual}
