"""The top Ritz pair of Lanczos's projected matrix: the twin of ritz.hpp.

After j steps the projected matrix B (j x j, upper triangular) gives the Ritz triplet of A from
the top singular pair of B: s_1 = sigma_1(B), its right singular vector, and the residual
|beta_j| |e_j^T B v~_1| / s_1 of the triplet, known without a product (lanczos.hpp).

Intended differences from ritz.hpp:
- One batched dense Hermitian eigensolver (LAPACK through NumPy, on the host where B lives) for
  the top pair of B^H B of every matrix, instead of the core's O(j) bisection on B's arrowhead
  and tridiagonal structure. The core's solver pays off in compiled code; here a step of it would
  be a Python loop over j (0.3 to 1 ms per step at j = 64, measured), where LAPACK's O(j^3) takes
  about 0.1 ms for a whole batch. Both give the top pair to rounding; the core falls back to the
  same dense solver where its structured answer fails its check.
"""

from __future__ import annotations

import numpy as np

__all__ = ["log_det_above", "top_ritz"]


def top_ritz(b: np.ndarray, beta: np.ndarray
             ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """(s_1, right, ritz residual) for the projected matrices ``b`` (k, j, j) and the couplings
    ``beta`` (k,) to the next Lanczos vector: s_1 = sigma_1(B), ``right`` (k, j) its right
    singular vector, the residual ||A^H u - s_1 v|| of the Ritz triplet (beta where s_1 = 0),
    and every eigenvalue of Bs^H Bs (k, j) with the scale (k,): B = scale Bs.
    B is scaled to entries near 1 first, so that B^H B can neither overflow nor underflow."""
    j = b.shape[-1]
    b_max = np.max(np.abs(b), axis=(1, 2))
    b_scale = np.where(b_max > 0, b_max, 1.0)
    bs = b / b_scale[:, None, None]
    values, vectors = np.linalg.eigh(np.swapaxes(bs.conj(), 1, 2) @ bs)
    s1 = b_scale * np.sqrt(np.maximum(values[:, -1], 0.0))
    right = vectors[:, :, -1]
    last_row = np.abs(np.einsum("bi,bi->b", bs[:, j - 1, :], right))
    with np.errstate(divide="ignore", invalid="ignore"):
        residual = np.where(s1 > 0, beta * last_row * (b_scale / np.where(s1 > 0, s1, 1.0)),
                            beta)
    return s1, right, residual, values, b_scale


def log_det_above(values: np.ndarray, b_scale: np.ndarray, star: np.ndarray) -> np.ndarray:
    """log det(star^2 I - B^H B) from top_ritz's eigenvalues and scale; -inf where star^2 does
    not exceed every eigenvalue (lanczos.hpp's log_det_above, there by a Cholesky factorization)."""
    x = (star / b_scale) ** 2
    gaps = x[:, None] - values
    with np.errstate(divide="ignore", invalid="ignore"):
        total = np.sum(np.log(np.where(gaps > 0, gaps, 1.0)), axis=1)
        total = total + 2 * values.shape[1] * np.log(b_scale)
    return np.where(np.all(gaps > 0, axis=1), total, -np.inf)
