"""The C++/Eigen core (``specnorm._core``) on NumPy arrays, read in place without copying.

The iterative methods and the one-pass bounds run in the extension with the GIL released; the
exact reference (``method="svd"``) is the array-API one of :mod:`specnorm.backends.xp` on NumPy.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from .._rules import core_view, remaining, stack_view
from . import numpy as _numpy
from .xp import XpBackend

NAME = "cpp"


class CppBackend(XpBackend):
    """The compiled core behind the backend interface of :class:`XpBackend`."""

    #: Methods that ``estimate_stack`` runs on a whole stack ("gram": small.hpp).
    STACK_METHODS = ("power", "lanczos", "rayleigh", "gram")
    #: The core's loops run in C++: the default budget is not capped.
    MOST_CALLS = None

    def __init__(self) -> None:
        super().__init__(NAME, load=_numpy._load, check=lambda namespace: (True, ""),
                         owns=_numpy.owns_host, to_host=np.asarray,
                         from_host=lambda values, like: np.asarray(values))
        self._core: Any = None
        self._error = ""

    def core(self) -> Any:
        if self._core is None and not self._error:
            try:
                from .. import _core as core  # type: ignore[attr-defined]
            except ImportError as exc:  # the extension was not built, or was removed
                self._error = f"the compiled extension specnorm._core does not import ({exc})"
            else:
                self._core = core
        return self._core

    def availability(self) -> tuple[bool, str]:
        if self.core() is None:
            return False, self._error
        return True, "the C++ core is built"

    def prepare(self, a: np.ndarray) -> np.ndarray:
        return core_view(a) if a.ndim == 2 else stack_view(a)

    def dense_bounds(self, a: np.ndarray) -> tuple[bool, float]:
        finite, upper, _ = self.core().dense_bounds(a)
        return bool(finite), float(upper)

    def estimate_dense(self, a: np.ndarray, method: str, tol: float, maxiter: int,
                       basis_size: int, seed: int, v0: np.ndarray,
                       norm_hint: float, deadline: float = math.inf) -> dict[str, Any]:
        return dict(self.core().estimate(a, method, tol, maxiter, basis_size, seed, v0,
                                         norm_hint, remaining(deadline)))

    def estimate_stack(self, a: np.ndarray, method: str, tol: float, maxiter: int,
                       basis_size: int, seeds: np.ndarray, v0: np.ndarray,
                       threads: int, deadline: float = math.inf) -> dict[str, Any]:
        """Every matrix of ``a`` (B, m, n), one per task on ``threads`` threads (0: OpenMP's
        default); see ``_core.estimate_batch``."""
        return dict(self.core().estimate_batch(a, method, tol, maxiter, basis_size, seeds, v0,
                                               threads, remaining(deadline)))

    def estimate_small(self, a: np.ndarray, tol: float, maxiter: int, seed: int,
                       v0: np.ndarray | None, deadline: float = math.inf) -> tuple[Any, ...]:
        """A small matrix by the Gram kernel with its bounds, the start drawn from ``seed`` when
        ``v0`` is None; see ``_core.estimate_small``."""
        return tuple(self.core().estimate_small(a, tol, maxiter, seed, v0, True,
                                                remaining(deadline)))

    def rayleigh_quotient(self, a: np.ndarray, x: np.ndarray) -> float:
        return float(self.core().rayleigh_quotient(a, x))


BACKEND = CppBackend()
