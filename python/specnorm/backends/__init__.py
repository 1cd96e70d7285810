"""The registry of compute backends and the runtime choice between them.

Every backend is an :class:`~specnorm.backends.xp.XpBackend` (the C++ one a subclass): it says
whether it can run here and why not, which arrays it owns, and computes the bounds, the iterative
estimates and the exact reference for the pipeline in :mod:`specnorm._solve`.

Choice for ``backend="auto"``: arrays of a device backend (CuPy) go to it; everything else (NumPy
and what converts to NumPy) goes to ``cpp`` when ``specnorm._core`` imports, else to ``numpy``.
The environment variable ``SPECNORM_BACKEND`` replaces ``"auto"`` by a backend name.
"""

from __future__ import annotations

import os
from typing import Any, NamedTuple

from . import cpp, cupy, numpy
from .xp import XpBackend

__all__ = ["BACKENDS", "BackendInfo", "XpBackend", "available", "owner", "resolve",
           "sparse_owner"]

#: Backends by name; the host backends in order of preference for ``backend="auto"``.
BACKENDS: dict[str, XpBackend] = {
    cpp.NAME: cpp.BACKEND,
    numpy.NAME: numpy.BACKEND,
    cupy.NAME: cupy.BACKEND,
}


class BackendInfo(NamedTuple):
    """Whether a backend can run here, and if not, why."""

    usable: bool
    reason: str


def available() -> dict[str, BackendInfo]:
    """Every known backend with whether it is usable here and why (not)."""
    return {name: BackendInfo(*be.availability()) for name, be in BACKENDS.items()}


def owner(a: Any) -> XpBackend | None:
    """The device backend whose arrays (or sparse matrices) ``a`` is, if any."""
    for be in BACKENDS.values():
        if be.on_device and (be.owns(a) or be.owns_sparse(a)):
            return be
    return None


def sparse_owner(a: Any) -> XpBackend | None:
    """The device backend whose sparse matrices ``a`` is, if any."""
    for be in BACKENDS.values():
        if be.on_device and be.owns_sparse(a):
            return be
    return None


def _describe(a: Any) -> str:
    kind = type(a)
    return f"{kind.__module__}.{kind.__qualname__}"


def resolve(backend: object, a: Any = None) -> XpBackend:
    """The backend that computes on ``a`` for the ``backend`` argument.

    Raises ValueError for an unknown name, RuntimeError (with the reason) for a backend that
    cannot run here, and TypeError when ``a`` lives where the named backend cannot read it.
    """
    choices = ("auto", *BACKENDS)
    if not isinstance(backend, str) or backend not in choices:
        raise ValueError(f"unknown backend {backend!r}; valid backends are {', '.join(choices)}")
    forced_by_env = False
    if backend == "auto":
        forced = os.environ.get("SPECNORM_BACKEND", "").strip()
        if forced and forced != "auto":
            if forced not in BACKENDS:
                raise ValueError(
                    f"SPECNORM_BACKEND={forced!r} names no backend; valid backends are "
                    f"{', '.join(choices)}"
                )
            backend, forced_by_env = forced, True
    home = owner(a) if a is not None else None
    if backend == "auto":
        if home is not None:
            return _usable(home)
        hosts = [be for be in BACKENDS.values() if not be.on_device]
        for be in hosts:
            if be.availability()[0]:
                return be
        reasons = "; ".join(f"{be.NAME}: {be.availability()[1]}" for be in hosts)
        raise RuntimeError(f"no specnorm backend is usable here ({reasons})")
    chosen = _usable(BACKENDS[backend])
    asked = f"the {chosen.NAME!r} backend was asked for" + (
        " (by SPECNORM_BACKEND)" if forced_by_env else "")
    if a is not None:
        if home is not None and home is not chosen:
            raise TypeError(
                f"A is a {_describe(a)} on the {home.NAME!r} backend's device and {asked}; "
                f"specnorm never moves a device array to the host: use {home.NAME!r}, or copy "
                "A to NumPy yourself"
            )
        if chosen.on_device and home is None:
            raise TypeError(
                f"{asked}; it computes on arrays of its own device and A is a "
                f"{_describe(a)}: move it there first (for CuPy, cupy.asarray(A))"
            )
    return chosen


def lean_core() -> Any:
    """The compiled core when ``backend="auto"`` resolves to ``cpp`` for a NumPy array (no
    SPECNORM_BACKEND naming another backend, and the extension imports), else None."""
    forced = os.environ.get("SPECNORM_BACKEND")
    if forced and forced.strip() not in ("auto", "cpp", ""):
        return None
    be = BACKENDS["cpp"]
    return be.core() if be.availability()[0] else None


def _usable(be: XpBackend) -> XpBackend:
    usable, reason = be.availability()
    if not usable:
        raise RuntimeError(f"the {be.NAME!r} backend is not usable here: {reason}")
    return be
