"""Matrix-free operators: any object with ``shape``, ``matvec`` and ``rmatvec`` (a SciPy
``LinearOperator``, the convolution operators of :mod:`specnorm.conv`, or your own).

The iterative methods are the engine's (:mod:`specnorm.engine`) on NumPy vectors, with the two
products replaced by calls to the operator, so power iteration, Lanczos and Rayleigh-quotient
iteration run unchanged, with the same stopping rule and certification.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ._rules import compute_dtype
from .backends import numpy as _numpy
from .engine import Operator

__all__ = ["ProductsOperator", "SparseProducts", "is_operator", "operator_dtype"]


def is_operator(a: Any) -> bool:
    """Whether ``a`` is a matrix-free operator rather than an array: it has ``shape``,
    ``matvec`` and ``rmatvec``, and is not an array with a buffer of its own."""
    if isinstance(a, np.ndarray) or hasattr(a, "__array_namespace__"):
        return False
    return all(hasattr(a, name) for name in ("shape", "matvec", "rmatvec"))


def operator_dtype(op: Any) -> np.dtype:
    """The compute dtype of an operator: its ``dtype`` where it has one (float32, float64,
    complex64 or complex128 as for arrays), else float64."""
    dtype = getattr(op, "dtype", None)
    return compute_dtype(np.float64 if dtype is None else dtype)


class ProductsOperator(Operator):
    """A matrix-free operator as the engine's operator (a stack of one): products call
    ``op.matvec`` and ``op.rmatvec`` on NumPy vectors; every result is checked for shape and
    finiteness, since nothing can be checked before the first product. (There are no entries:
    no bounds or SVD are asked of it.) Lanczos applies A^H to q_j itself, as for sparse
    matrices."""

    fused = False

    def __init__(self, op: Any, dtype: np.dtype) -> None:
        xp = _numpy._load()
        like = np.zeros((0,), dtype=dtype)
        super().__init__(xp, like.dtype, "cpu", np.asarray,
                         lambda values, _like: np.asarray(values), like)
        self.op = op
        self.count = 1
        self.m, self.n = (int(d) for d in op.shape)

    def _product(self, name: str, x: Any, size: int) -> np.ndarray:
        out = np.asarray(getattr(self.op, name)(np.asarray(x)[0]))
        if out.size != size:
            raise ValueError(f"the operator's {name} returned {out.size} numbers; expected a "
                             f"vector of length {size} (A has shape ({self.m}, {self.n}))")
        if out.dtype.kind == "c" and not self.complex:
            raise TypeError(f"the operator's {name} returned complex values but its dtype is "
                            f"real ({self.dtype})")
        out = out.reshape(1, size).astype(self.dtype, copy=False)
        if not np.all(np.isfinite(out)):
            raise ValueError(f"the operator's {name} returned NaN or Inf")
        return out

    def apply(self, x: Any) -> Any:
        return self._product("matvec", x, self.m)

    def adjoint(self, y: Any) -> Any:
        return self._product("rmatvec", y, self.n)

    def select(self, rows: np.ndarray) -> ProductsOperator:
        return self


class SparseProducts:
    """A SciPy sparse matrix as a matrix-free operator (for the NumPy backend)."""

    def __init__(self, a: Any) -> None:
        self.a, self.shape = a, a.shape
        self.dtype = compute_dtype(a.dtype)
        self.adjoint = a.conj().T

    def matvec(self, x: np.ndarray) -> np.ndarray:
        return np.asarray(self.a @ x)

    def rmatvec(self, y: np.ndarray) -> np.ndarray:
        return np.asarray(self.adjoint @ y)
