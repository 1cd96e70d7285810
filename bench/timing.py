"""What every benchmark script shares: best-of-N wall time and a line about the host."""

from __future__ import annotations

import os
import platform
import time
from collections.abc import Callable
from typing import Any


def best_time(fn: Callable[[], Any], repeats: int,
              sync: Callable[[], None] = lambda: None) -> tuple[float, Any]:
    """(the shortest of ``repeats`` wall times of ``fn()``, its last result); ``sync`` runs
    before and after each call (a device synchronisation, for GPU timings)."""
    best, out = float("inf"), None
    for _ in range(repeats):
        sync()
        start = time.perf_counter()
        out = fn()
        sync()
        best = min(best, time.perf_counter() - start)
    return best, out


def host_line() -> str:
    """The processor, core count and OMP_NUM_THREADS, for the header of a result table."""
    cpu = platform.processor() or platform.machine()
    return (f"{cpu}, {os.cpu_count()} cores, "
            f"OMP_NUM_THREADS={os.environ.get('OMP_NUM_THREADS', 'unset')}")
