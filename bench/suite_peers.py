"""The peers of specnorm in bench/bench_suite.py: scipy svds (arpack, lobpcg, propack), scipy's
estimate_spectral_norm with its search over its, and the exact norms of NumPy and torch."""

from __future__ import annotations

import os
import warnings
from typing import Any

import numpy as np
from scipy.linalg.interpolative import estimate_spectral_norm
from scipy.sparse.linalg import LinearOperator, svds
from suite_cases import Case, Outcome, Row, join_notes, make_row, target_for, timed

ESN_MAX_ITS = 1024
SVDS_SOLVERS = ("arpack", "lobpcg", "propack")
PROPACK_KMAX = 1000


class CountingOperator(LinearOperator):
    """A as a LinearOperator that counts products (columns of matmat count one each)."""

    def __init__(self, a: np.ndarray) -> None:
        super().__init__(dtype=a.dtype, shape=a.shape)
        self.a = a
        self.products = 0

    def _matvec(self, x: np.ndarray) -> np.ndarray:
        self.products += 1
        return self.a @ x

    def _rmatvec(self, x: np.ndarray) -> np.ndarray:
        self.products += 1
        return self.a.conj().T @ x

    def _matmat(self, x: np.ndarray) -> np.ndarray:
        self.products += x.shape[1]
        return self.a @ x

    def _rmatmat(self, x: np.ndarray) -> np.ndarray:
        self.products += x.shape[1]
        return self.a.conj().T @ x


def propack_kmax(shape: tuple[int, ...]) -> int:
    return min(*shape, PROPACK_KMAX)


def svds_call(a: Any, tol: float, solver: str) -> float:
    maxiter = propack_kmax(a.shape) if solver == "propack" else None
    return float(svds(a, k=1, tol=tol, solver=solver, maxiter=maxiter,
                      return_singular_vectors=False, random_state=0)[0])


def svds_products(a: np.ndarray, tol: float, solver: str) -> int | None:
    op = CountingOperator(a)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            svds_call(op, tol, solver)
    except Exception:
        return None
    return op.products


def esn_call(a: np.ndarray, its: int) -> float:
    return float(estimate_spectral_norm(a.astype(np.float64, copy=False), its=its,
                                        rng=np.random.default_rng(0)))


class EsnSearch:
    """The untimed search over its for estimate_spectral_norm, shared by the tols of a matrix."""

    def __init__(self, a: np.ndarray, exact: float) -> None:
        self.a, self.exact = a, exact
        self.errors: dict[int, float] = {}

    def its_for(self, target: float) -> int:
        """The smallest its in 2, 4, ..., ESN_MAX_ITS that meets target, else ESN_MAX_ITS."""
        its = 2
        while its < ESN_MAX_ITS:
            if its not in self.errors:
                self.errors[its] = abs(esn_call(self.a, its) - self.exact) / self.exact
            if self.errors[its] <= target:
                break
            its *= 2
        return its


def torch_module() -> Any:
    try:
        import torch
    except ImportError:
        return None
    torch.set_num_threads(int(os.environ.get("OMP_NUM_THREADS", os.cpu_count() or 1)))
    return torch


def exact_peers(a: np.ndarray, repeats: int, torch: Any) -> dict[str, Outcome]:
    """The tol-independent peers, timed once per matrix."""
    peers = {"numpy.linalg.norm(A, 2)": timed(lambda: float(np.linalg.norm(a, 2)), repeats)}
    if torch is not None:
        ta = torch.from_numpy(a)
        peers["torch matrix_norm(A, 2)"] = timed(
            lambda: float(torch.linalg.matrix_norm(ta, ord=2)), repeats)
    return peers


def peer_rows(a: np.ndarray, case: Case, tol: float, exact: dict[str, Outcome],
              esn: EsnSearch, repeats: int) -> list[Row]:
    rows = []
    for solver in SVDS_SOLVERS:
        out = timed(lambda s=solver: svds_call(a, tol, s), repeats)
        if solver == "propack":
            out.note = join_notes(f"kmax {propack_kmax(a.shape)}", out.note)
        rows.append(make_row(case, tol, f"svds {solver}", out,
                             products=svds_products(a, tol, solver)))
    its = esn.its_for(target_for(case, tol))
    out = timed(lambda: esn_call(a, its), repeats)
    out.note = join_notes(f"its {its}", out.note)
    rows.append(make_row(case, tol, "estimate_spectral_norm", out, products=2 * its))
    rows += [make_row(case, tol, name, peer) for name, peer in exact.items()]
    return rows
