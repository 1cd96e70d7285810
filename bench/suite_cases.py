"""The matrices of bench/bench_suite.py and what a row records: Case, Row, Outcome and Plan, the
matrix makers, the stream reads of A, the reference values and the timing helper."""

from __future__ import annotations

import argparse
import time
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
from timing import best_time

FLOOR_EPS = 50.0  # the target floor, in units of eps(dtype)
SLOW_S = 2.0  # a first run longer than this is not repeated
PAUSE_S = 0.1  # idle time before each timed method: lets the last one's spinning threads sleep
STREAM_WIDTH = 1024
FULL_SHAPES = ((4000, 4000), (8192, 1024), (1024, 8192))
QUICK_SHAPES = ((1000, 1000), (2048, 256), (256, 2048))


@dataclass
class Case:
    """One matrix: what it is, its reference value and how fast it can be read."""

    label: str
    shape: tuple[int, int]
    dtype: str
    spectrum: str
    exact: float
    gap: float  # sigma_2 / sigma_1
    nbytes: int
    stream: dict[str, float]  # one-pass read -> best seconds

    @property
    def stream_time(self) -> float:
        return min(self.stream.values())

    @property
    def bandwidth(self) -> float:
        return self.nbytes / self.stream_time / 1e9


@dataclass
class Row:
    """One method on one matrix at one tol."""

    case: str
    tol: float
    target: float
    method: str
    time_s: float | None
    sigma: float | None
    rel_error: float | None
    meets: bool
    products: int | None = None
    converged: bool | None = None
    note: str = ""
    ratio: float | None = None
    ms_per_ata: float | None = None
    per_stream: float | None = None


@dataclass
class Outcome:
    """A timed call: best seconds (None if it raised), its result and a note."""

    time_s: float | None
    value: Any
    note: str = ""


@dataclass
class Plan:
    """The specnorm runs of one row: (method, maxiter) pairs and the label ratios are taken to."""

    runs: list[tuple[str, int | None]]
    base: str


def parse_shape(text: str) -> tuple[int, int]:
    """'4000x1000' -> (4000, 1000)."""
    try:
        m, n = (int(d) for d in text.lower().split("x"))
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"{text!r} is not a shape like 4000x1000") from exc
    return m, n


def gaussian_matrix(shape: tuple[int, int], dtype: str) -> np.ndarray:
    return np.random.default_rng(0).standard_normal(shape).astype(dtype)


def hard_matrix(shape: tuple[int, int], dtype: str) -> np.ndarray:
    """U diag(s) V^T: Haar-random U, V; s = 1, 0.999, then linspace(0.998, 0)."""
    rng = np.random.default_rng(0)
    m, n = shape
    k = min(m, n)
    u = np.linalg.qr(rng.standard_normal((m, k)))[0]
    v = np.linalg.qr(rng.standard_normal((n, k)))[0]
    s = np.concatenate([[1.0, 0.999], np.linspace(0.998, 0.0, k - 2)])
    return np.ascontiguousarray((u * s) @ v.T, dtype=dtype)


def make_matrix(shape: tuple[int, int], dtype: str, spectrum: str) -> np.ndarray:
    return (hard_matrix if spectrum == "hard" else gaussian_matrix)(shape, dtype)


def stream_reads(a: np.ndarray) -> dict[str, Callable[[], Any]]:
    """One-pass reads of A, each a candidate for the stream time."""
    m, n = a.shape
    x, y = np.ones(n, a.dtype), np.ones(m, a.dtype)
    reads: dict[str, Callable[[], Any]] = {"A @ x": lambda: a @ x, "x @ A": lambda: y @ a,
                                           "A.sum()": a.sum}
    if a.size % STREAM_WIDTH == 0:
        z = np.ones(STREAM_WIDTH, a.dtype)
        reads[f"A.reshape(-1, {STREAM_WIDTH}) @ z"] = lambda: a.reshape(-1, STREAM_WIDTH) @ z
    return reads


def describe(a: np.ndarray, spectrum: str, repeats: int) -> Case:
    """The reference sigma_1 (untimed float64 SVD) and the stream times of A."""
    s = np.linalg.svd(a.astype(np.float64), compute_uv=False)
    stream = {name: best_time(fn, max(10, 3 * repeats))[0]
              for name, fn in stream_reads(a).items()}
    m, n = a.shape
    return Case(label=f"{m}x{n} {a.dtype} {spectrum}", shape=(m, n), dtype=str(a.dtype),
                spectrum=spectrum, exact=float(s[0]), gap=float(s[1] / s[0]), nbytes=a.nbytes,
                stream=stream)


def timed(fn: Callable[[], Any], repeats: int) -> Outcome:
    """Best of ``repeats`` (one run if the first is slow) after a pause of PAUSE_S; an exception
    becomes a note."""
    time.sleep(PAUSE_S)
    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            t, out = best_time(fn, 1)
            if repeats > 1 and t < SLOW_S:
                t = min(t, best_time(fn, repeats - 1)[0])
    except Exception as exc:
        return Outcome(None, None, f"{type(exc).__name__}: {str(exc).splitlines()[0]}")
    note = f"warned: {str(caught[0].message).strip().splitlines()[0].strip()}" if caught else ""
    return Outcome(t, out, note)


def join_notes(*parts: str) -> str:
    return "; ".join(p for p in parts if p)


def target_for(case: Case, tol: float) -> float:
    return max(tol, FLOOR_EPS * float(np.finfo(case.dtype).eps))


def make_row(case: Case, tol: float, method: str, out: Outcome, **extra: Any) -> Row:
    target = target_for(case, tol)
    sigma = None if out.time_s is None else float(out.value)
    err = None if sigma is None else abs(sigma - case.exact) / case.exact
    return Row(case=case.label, tol=tol, target=target, method=method, time_s=out.time_s,
               sigma=sigma, rel_error=err, meets=err is not None and err <= target,
               note=out.note, **extra)
