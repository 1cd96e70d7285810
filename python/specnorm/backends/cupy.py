"""The GPU backend: the Python engine (:mod:`specnorm.engine`) on CuPy arrays.

CuPy is optional (``pip install "pyspecnorm[gpu]"``) and imported only when this backend is first
asked whether it can run, never by ``import specnorm``. The input stays on its device; inside the
iterations only the scalars of the stopping rule and the small projected problems come back to
the host (see :mod:`specnorm.engine`).
"""

from __future__ import annotations

import sys
from typing import Any

import numpy as np

from .._install import install_hint
from .xp import XpBackend

NAME = "cupy"

#: Power iteration reads its stopping test back from the GPU every this many steps: one
#: synchronisation costs about as much as a product with a matrix of a few million entries.
SYNC_EVERY = 4


def _load() -> Any:
    try:
        import array_api_compat.cupy as namespace
    except ImportError as exc:
        raise ImportError(
            f"CuPy is not installed ({install_hint('gpu')}, or a cupy-cudaXXx wheel "
            f"matching your CUDA): {exc}"
        ) from exc
    return namespace


def _check(namespace: Any) -> tuple[bool, str]:
    import cupy

    try:
        count = int(cupy.cuda.runtime.getDeviceCount())
    except Exception as exc:  # CUDA driver or runtime missing: CuPy raises its own error types
        return False, f"CuPy {cupy.__version__} finds no usable CUDA device ({exc})"
    if count < 1:
        return False, f"CuPy {cupy.__version__} finds no CUDA device"
    name = cupy.cuda.runtime.getDeviceProperties(0)["name"]
    if isinstance(name, bytes):
        name = name.decode()
    return True, f"CuPy {cupy.__version__} on {count} CUDA device(s): {name}"


def owns(a: Any) -> bool:
    """Whether ``a`` is a CuPy array (without importing CuPy)."""
    cupy = sys.modules.get("cupy")
    return cupy is not None and isinstance(a, cupy.ndarray)


def owns_sparse(a: Any) -> bool:
    """Whether ``a`` is a ``cupyx.scipy.sparse`` matrix (without importing CuPy)."""
    sparse = sys.modules.get("cupyx.scipy.sparse")
    return sparse is not None and bool(sparse.issparse(a))


def _to_host(x: Any) -> np.ndarray:
    return x.get()


def _from_host(values: np.ndarray, like: Any) -> Any:
    import cupy

    with like.device:
        return cupy.asarray(values)


BACKEND = XpBackend(
    NAME,
    load=_load,
    check=_check,
    owns=owns,
    to_host=_to_host,
    from_host=_from_host,
    sync_every=SYNC_EVERY,
    on_device=True,
    owns_sparse=owns_sparse,
)
