"""The pure-NumPy backend: the Python engine (:mod:`specnorm.engine`) on NumPy arrays.

It needs no compiled code, so it is what ``backend="auto"`` uses for NumPy input when the C++
extension is missing. NumPy computes every product with its BLAS; each step reads the matrix twice
(``A v`` and ``A^H u``), where the C++ core reads it once.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .xp import XpBackend

NAME = "numpy"


def _load() -> Any:
    import array_api_compat.numpy as namespace

    return namespace


def _check(namespace: Any) -> tuple[bool, str]:
    return True, f"pure NumPy {np.__version__}"


def owns_host(a: Any) -> bool:
    """Arrays that the host backends take: everything that is not a device backend's array."""
    return True


BACKEND = XpBackend(
    NAME,
    load=_load,
    check=_check,
    owns=owns_host,
    to_host=np.asarray,
    from_host=lambda values, like: np.asarray(values),
    sync_every=1,
    on_device=False,
)
