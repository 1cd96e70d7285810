"""Running Hypothesis inside a call of a checker, independent of the caller's profile: the
settings, the patch that keeps literals of loaded modules out of the draws, the checks of the
run arguments, and the formatting of reports."""

from __future__ import annotations

import inspect
import threading
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any

import numpy as np
from hypothesis import HealthCheck, Phase, Verbosity, settings
from numpy.typing import NDArray


def _local_settings(max_examples: int, phases: Sequence[Phase]) -> settings:
    """Every setting given explicitly, so the caller's profile neither leaks in nor changes."""
    suppressed = [HealthCheck.too_slow]
    nested = getattr(HealthCheck, "nested_given", None)
    if nested is not None:
        suppressed.append(nested)
    options: dict[str, Any] = {
        "max_examples": max_examples,
        "derandomize": False,
        "database": None,
        "verbosity": Verbosity.quiet,
        "phases": tuple(phases),
        "stateful_step_count": 50,
        "report_multiple_bugs": False,
        "suppress_health_check": suppressed,
        "deadline": None,
        "print_blob": False,
    }
    if "backend" in inspect.signature(settings.__init__).parameters:
        options["backend"] = "hypothesis"
    return settings(**options)


# Hypothesis 6.131 and later sometimes draw, instead of a random value, a literal found in
# the source of the "local" modules loaded at the time (those outside site-packages and the
# standard library: the caller's script, the caller's package, this package in a source
# checkout). Which examples a seed draws then depends on the caller's source code and on
# what had been imported by the time of the run, so the same seed gave different results in
# different scripts and, within one process, before and after a local module was imported.
# During a run of ours that pool is empty: the examples depend on the seed and the versions of
# Hypothesis and NumPy only. The pool's filtered views are cached under a key that does not
# name the pool, so the cache is swapped for one that only ever sees the empty pool.
try:
    from hypothesis.internal.cache import LRUCache as _LRUCache
    from hypothesis.internal.conjecture import providers as _providers
    from hypothesis.internal.constants_ast import Constants as _Constants
except ImportError:  # a Hypothesis without the feature: nothing to hold fixed
    _providers = None

_POOL_LOCK = threading.Lock()
_pool_state: dict[str, Any] = {"depth": 0, "saved": None, "cache": None}


@contextmanager
def _no_local_constants() -> Iterator[None]:
    """Within the block, Hypothesis draws no literals from the source of loaded modules."""
    if _providers is None or not (
        hasattr(_providers, "_get_local_constants") and hasattr(_providers, "CONSTANTS_CACHE")
    ):
        yield
        return
    with _POOL_LOCK:
        if _pool_state["depth"] == 0:
            if _pool_state["cache"] is None:
                _pool_state["cache"] = _LRUCache(1024)
            empty = _Constants()
            _pool_state["saved"] = (_providers._get_local_constants, _providers.CONSTANTS_CACHE)
            _providers._get_local_constants = lambda: empty
            _providers.CONSTANTS_CACHE = _pool_state["cache"]
        _pool_state["depth"] += 1
    try:
        yield
    finally:
        with _POOL_LOCK:
            _pool_state["depth"] -= 1
            if _pool_state["depth"] == 0:
                _providers._get_local_constants, _providers.CONSTANTS_CACHE = _pool_state["saved"]
                _pool_state["saved"] = None


def _check_run_arguments(max_examples: int, seed: int) -> None:
    if isinstance(max_examples, bool) or not isinstance(max_examples, (int, np.integer)):
        raise TypeError(f"max_examples must be an int, not {max_examples!r}")
    if max_examples < 1:
        raise ValueError(f"max_examples must be at least 1, not {max_examples}")
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)):
        raise TypeError(f"seed must be an int, not {seed!r}")


def _callable_name(fn: Callable[..., Any], fallback: str) -> str:
    name = getattr(fn, "__qualname__", None) or getattr(fn, "__name__", None)
    if not isinstance(name, str) or not all(part.isidentifier() for part in name.split(".")):
        return fallback
    return name


def _format_matrix(matrix: NDArray[Any]) -> str:
    text = np.array2string(
        matrix, separator=", ", floatmode="unique", max_line_width=96, threshold=64
    )
    return "\n".join("    " + line for line in text.splitlines())


def _floats(values: NDArray[Any]) -> str:
    return "[" + ", ".join(repr(float(v)) for v in values) + "]"
