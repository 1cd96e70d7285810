"""The full answer of an estimate: the value, its singular vectors, a bracket and diagnostics."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

__all__ = ["Estimate"]


@dataclass(frozen=True, eq=False)
class Estimate:
    """The answer of :func:`specnorm.estimate`.

    For one matrix every field is a scalar (``u`` and ``v`` are 1-D arrays); for a stack of shape
    ``(..., m, n)`` every field is an array over the leading dimensions (``u``: ``(..., m)``,
    ``v``: ``(..., n)``).

    Attributes
    ----------
    sigma : float or ndarray
        The estimate of the largest singular value: ``||A v||`` for the returned unit ``v``, up
        to the rounding of one product, and never below ``lower`` (in single precision the last
        product may round a unit in the last place below an earlier quotient; ``sigma`` is then
        ``lower``).
    u, v : ndarray
        Unit left and right singular vectors: ``A @ v == sigma * u`` up to rounding, and
        ``A^H @ u == sigma * v`` up to ``residual * sigma``.
    lower, upper : float or ndarray
        A bracket ``lower <= sigma_1(A) <= upper``. ``lower`` is certain (a Rayleigh quotient
        ``||A x|| / ||x||``, up to the rounding of one product); ``upper`` holds with probability at
        least ``confidence``.
    confidence : float or ndarray
        The probability with which ``upper`` holds: 1.0 where it is certain.
    iterations : int or ndarray
        Matrix-vector products with A and with A^H, each counted once, for every method alike.
    converged : bool or ndarray
        Whether ``||A^H u - sigma v|| <= tol * sigma`` was met within ``maxiter`` products.
    residual : float or ndarray
        ``||A^H u - sigma v|| / sigma`` at exit, measured from fresh products (``inf`` if the
        budget left no room to measure it, 0 for a zero matrix).
    method, backend : str
        What actually ran, after ``"auto"`` was resolved.
    """

    sigma: Any
    u: np.ndarray
    v: np.ndarray
    lower: Any
    upper: Any
    confidence: Any
    iterations: Any
    converged: Any
    residual: Any
    method: str
    backend: str

    def __float__(self) -> float:
        return float(self.sigma)
