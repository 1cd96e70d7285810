"""The registry of compute backends and the runtime choice between them.

A backend module provides ``NAME``, ``availability() -> (usable, reason)``, ``dense_bounds(a)``,
``estimate_dense(...)`` and ``rayleigh_quotient(a, x)`` over arrays prepared by
:mod:`specnorm._validate`.
"""

from __future__ import annotations

import os
from types import ModuleType
from typing import NamedTuple

from . import cpp

__all__ = ["BACKENDS", "BackendInfo", "available", "resolve"]

#: Backends by name, in order of preference for ``backend="auto"``.
BACKENDS: dict[str, ModuleType] = {cpp.NAME: cpp}


class BackendInfo(NamedTuple):
    """Whether a backend can run here, and if not, why."""

    usable: bool
    reason: str


def available() -> dict[str, BackendInfo]:
    """Every known backend with whether it is usable here and why (not)."""
    return {name: BackendInfo(*mod.availability()) for name, mod in BACKENDS.items()}


def resolve(backend: object) -> ModuleType:
    """The backend module for ``backend`` ("auto" honours the SPECNORM_BACKEND variable)."""
    choices = ("auto", *BACKENDS)
    if not isinstance(backend, str) or backend not in choices:
        raise ValueError(f"unknown backend {backend!r}; valid backends are {', '.join(choices)}")
    if backend == "auto":
        forced = os.environ.get("SPECNORM_BACKEND", "").strip()
        if forced and forced != "auto":
            if forced not in BACKENDS:
                raise ValueError(
                    f"SPECNORM_BACKEND={forced!r} names no backend; valid backends are "
                    f"{', '.join(choices)}"
                )
            backend = forced
    if backend == "auto":
        for mod in BACKENDS.values():
            if mod.availability()[0]:
                return mod
        reasons = "; ".join(f"{n}: {i.reason}" for n, i in available().items())
        raise RuntimeError(f"no specnorm backend is usable here ({reasons})")
    mod = BACKENDS[backend]
    usable, reason = mod.availability()
    if not usable:
        raise RuntimeError(f"the {backend!r} backend is not usable here: {reason}")
    return mod
