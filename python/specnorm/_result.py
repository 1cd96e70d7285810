"""The full answer of an estimate: the value, its singular vectors, a bracket and diagnostics."""

from __future__ import annotations

from dataclasses import dataclass, fields
from typing import Any

import numpy as np

__all__ = ["Estimate"]


@dataclass(frozen=True, eq=False, repr=False)
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

    The ``repr`` is a few lines whatever the size of A: the value of every scalar field; for
    ``u``, ``v`` and every field of a stack, the array's type, shape and dtype (and its device
    where it is not a NumPy array) instead of its entries, with the smallest and largest
    ``sigma`` of a stack and how many of its matrices ``converged``.
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

    def __repr__(self) -> str:
        names = [f.name for f in fields(self) if f.name not in ("u", "v")] + ["u", "v"]
        parts = [f"{name}={_summary(getattr(self, name), name in _DIGESTED)}" for name in names]
        return _wrap(f"{type(self).__name__}(", parts, ")")


#: The repr's lines are wrapped before this many characters (a longer part has a line of its own).
_WIDTH = 92
#: The fields of a stack whose repr adds a digest of the values to the shape and dtype.
_DIGESTED = ("sigma", "converged")


def _summary(x: Any, digest: bool) -> str:
    """A scalar as Python writes its value; an array as ``<type shape dtype[, digest]>``."""
    if isinstance(x, np.generic) or (type(x) is np.ndarray and x.ndim == 0):
        x = x.item()  # np.float64(2.0) is written 2.0
    if not (hasattr(x, "shape") and hasattr(x, "dtype")):
        return repr(x)
    kind = type(x)
    package = kind.__module__.split(".")[0]
    text = f"<{kind.__name__ if package == 'numpy' else f'{package}.{kind.__name__}'}"
    dtype = str(x.dtype).rsplit(".", 1)[-1]  # "float64" also for dtypes named "pkg.float64"
    text += f" {tuple(int(d) for d in x.shape)} {dtype}"
    if package != "numpy" and hasattr(x, "device"):
        device = x.device
        text += f" on device {device.id}" if isinstance(getattr(device, "id", None), int) \
            else f" on {device}"
    count = int(np.prod(x.shape))
    if digest and count > 0:
        if isinstance(x, np.ndarray):
            xp: Any = np
        else:
            from array_api_compat import array_namespace

            xp = array_namespace(x)
        if x.dtype == xp.bool:
            text += f", {int(xp.sum(xp.astype(x, xp.int64)))} of {count} True"
        else:
            text += f", min {float(xp.min(x)):.6g}, max {float(xp.max(x)):.6g}"
    return text + ">"


def _wrap(head: str, parts: list[str], tail: str) -> str:
    """``head`` + the parts joined by ", " + ``tail``, in lines shorter than _WIDTH where the
    parts allow, the later lines indented to the first part."""
    lines, line = [], head
    for i, part in enumerate(parts):
        piece = part + ("," if i + 1 < len(parts) else tail)
        if line != head and len(line) + 1 + len(piece) > _WIDTH:
            lines.append(line)
            line = " " * len(head) + piece
        else:
            line += ("" if line == head else " ") + piece
    lines.append(line)
    return "\n".join(lines)
