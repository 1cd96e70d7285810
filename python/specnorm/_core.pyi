# Stubs for the compiled core (private; use the functions of specnorm).
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
) -> dict[str, Any]: ...
def dense_bounds(a: npt.NDArray[Any]) -> tuple[bool, float, float]: ...
def rayleigh_quotient(a: npt.NDArray[Any], x: npt.NDArray[Any]) -> float: ...
