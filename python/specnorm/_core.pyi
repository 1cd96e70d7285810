# Stubs for the compiled core (private; use the functions of specnorm).
# timeout: seconds before the solvers stop with their best pair (0: none). Ctrl-C stops them too
# and raises KeyboardInterrupt.
from typing import Any

import numpy.typing as npt

def estimate(
    a: npt.NDArray[Any],
    method: str,
    tol: float,
    maxiter: int,
    basis_size: int,
    seed: int,
    v0: npt.NDArray[Any],
    norm_hint: float,
    timeout: float = 0.0,
) -> dict[str, Any]: ...
def dense_bounds(a: npt.NDArray[Any]) -> tuple[bool, float, float]: ...
def rayleigh_quotient(a: npt.NDArray[Any], x: npt.NDArray[Any]) -> float: ...
def estimate_small(
    a: npt.NDArray[Any],
    tol: float,
    maxiter: int,
    seed: int,
    v0: npt.NDArray[Any] | None,
    vectors: bool,
    timeout: float = 0.0,
) -> tuple[
    int, float, float, float, float, int, bool, npt.NDArray[Any] | None, npt.NDArray[Any] | None
]: ...
def estimate_batch(
    a: npt.NDArray[Any],
    method: str,
    tol: float,
    maxiter: int,
    basis_size: int,
    seeds: npt.NDArray[Any],
    v0: npt.NDArray[Any],
    threads: int,
    timeout: float = 0.0,
) -> dict[str, Any]: ...
def estimate_sparse(
    indptr: npt.NDArray[Any],
    indices: npt.NDArray[Any],
    data: npt.NDArray[Any],
    m: int,
    n: int,
    method: str,
    tol: float,
    maxiter: int,
    basis_size: int,
    seed: int,
    v0: npt.NDArray[Any],
    timeout: float = 0.0,
) -> dict[str, Any]: ...
