"""The upper bounds on sigma_1 that a random start supports (docs/mathematics.md, section 9.3).

With a start uniform on the unit sphere, the power and Lanczos estimates fall far below sigma_1 only
when the start is nearly orthogonal to the top singular space. Outside an event of probability
``delta`` (the same event for every step count k), the bounds below hold for every k at once, so
they stay valid for an iteration that stops adaptively.
"""

from __future__ import annotations

import math

from ._rules import FAILURE_PROBABILITY

__all__ = ["random_start_factor"]





def _threshold(n: int, is_complex: bool, delta: float) -> float:
    """s*: the start's component along the top singular space exceeds s* with prob. >= 1 - delta."""
    if is_complex:
        return math.sqrt(-math.expm1(math.log1p(-delta) / (n - 1)))
    return delta * math.sqrt(math.pi / (2.0 * (n - 1)))


def _power_ratio(eps: float, k: int) -> float:
    """c_k(eps) / (eps + c_k(eps)), decreasing in eps."""
    if k == 1:
        c = 1.0 - eps
    else:
        # c_k = (1-eps)^(2k-1) (2k-2)^(2k-2) / (2k-1)^(2k-1), in logarithms.
        log_c = (2 * k - 1) * math.log1p(-eps) + (2 * k - 2) * math.log(2 * k - 2)
        log_c -= (2 * k - 1) * math.log(2 * k - 1)
        c = math.exp(log_c)
    return c / (eps + c)


def random_start_factor(kind: str, steps: int, n: int, is_complex: bool,
                        delta: float = FAILURE_PROBABILITY) -> float:
    """The factor f >= 1 with ``sigma_1 <= f * sigma_hat`` with probability >= 1 - delta.

    Parameters
    ----------
    kind : {"power", "lanczos", "none"}
        ``"power"``: sigma_hat^2 is at least the Rayleigh quotient of A^H A at (A^H A)^(k-1) v0;
        ``"lanczos"``: at least the largest Ritz value of A^H A on the Krylov space K_k(A^H A, v0);
        ``"none"``: the start was not random (no bound: returns inf).
    steps : int
        k, at least 1.
    n : int
        The length of the random start v0 (the number of columns of A).
    is_complex : bool
        Whether v0 has independent Gaussian real and imaginary parts.
    """
    if kind not in ("power", "lanczos") or steps < 1:
        return math.inf
    if n <= 1:
        return 1.0  # one dimension: every nonzero start is the top singular vector
    s = _threshold(n, is_complex, delta)
    if not 0.0 < s < 1.0:
        return math.inf
    if kind == "lanczos":
        return math.cosh(math.acosh(1.0 / s) / (2 * steps - 1))
    target = s * s
    lo, hi = 0.0, 1.0  # _power_ratio(lo) > target > _power_ratio(hi)
    for _ in range(200):
        mid = 0.5 * (lo + hi)
        if _power_ratio(mid, steps) > target:
            lo = mid
        else:
            hi = mid
        if hi - lo <= 1e-15 * hi:
            break
    if hi >= 1.0:
        return math.inf
    return 1.0 / math.sqrt(1.0 - hi)
