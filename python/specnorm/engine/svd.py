"""The exact reference: the top singular triplet of every matrix of a stack from the array
library's SVD (LAPACK on the host, cuSOLVER on a GPU), with a certain bracket. It has no twin in
the core: the C++ backend uses this one on NumPy.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from .operator import StackOperator

__all__ = ["Exact", "exact"]


class Exact(NamedTuple):
    """The exact answers: host arrays over the stack (sigma, lower, upper, residual) and the
    singular vectors as rows of the namespace (u (count, m), v (count, n))."""

    sigma: np.ndarray
    lower: np.ndarray
    upper: np.ndarray
    residual: np.ndarray
    u: object
    v: object


def exact(op: StackOperator) -> Exact:
    """sigma_1 of every matrix with its singular vectors. ``upper`` is certain: LAPACK's singular
    values are exact for a matrix within p(m, n) eps ||A|| of A, and 4 max(m, n) eps covers p;
    ``lower = min(||A v||, sigma)`` is a Rayleigh quotient of the computed v."""
    xp, a = op.xp, op.a
    left, values, right_h = xp.linalg.svd(a, full_matrices=False)
    u = left[:, :, 0]
    v = op.conj(right_h[:, 0, :])
    s = values[:, 0]
    s_safe = xp.where(s > 0, s, xp.ones_like(s))
    # NumPy's float32 matmul has been seen (once, on a loaded machine) to raise an "invalid
    # value" flag on finite input whose products are finite; the flag is not an answer.
    with np.errstate(invalid="ignore"):
        image = op.norms(op.apply(v))
        residual = op.norms(op.adjoint(u) - op.as_dtype(s)[:, None] * v) / s_safe
    sigma, image_h, residual_h = op.real_host(s, image, residual)
    factor = 1.0 + 4.0 * max(op.m, op.n) * op.eps
    return Exact(sigma=sigma, lower=np.minimum(image_h, sigma), upper=sigma * factor,
                 residual=np.where(sigma > 0, residual_h, 0.0), u=u, v=v)
