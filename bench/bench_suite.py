"""specnorm against its peers at matched accuracy, on the same matrices in the same process.

    python bench/bench_suite.py                    # the full suite (long: 4000 x 4000 SVDs)
    python bench/bench_suite.py --quick            # small sizes, fewer repeats, under a minute
    python bench/bench_suite.py --shapes 4000x4000 --dtypes float64 --spectra gaussian \\
        --tols 1e-6                                # one full-size subset
    python bench/bench_suite.py --only-hard-gap    # only the hard-gap section (see below)
    python bench/bench_suite.py --quick --json /tmp/suite.json --plot /tmp/suite.png \\
        --plot-products /tmp/products.png          # raw records and charts (matplotlib)

Options: --shapes MxN ..., --dtypes float32 float64, --spectra gaussian hard, --tols T ... select
a subset; --repeats N (best of N: 3, --quick 2); --power-budget (maxiter of specnorm power in the
main tables, 2000); --gap-size N, --only-hard-gap, --skip-hard-gap; --json PATH, --plot PATH,
--plot-products PATH (the charts need matplotlib, an optional extra: pip install matplotlib).

Matrices (C-contiguous, built once and reused for every tol and peer): 4000x4000, 8192x1024 and
1024x8192 (--quick: 1000x1000, 2048x256, 256x2048), float32 and float64, two spectra:
"gaussian" (standard normal entries, seed 0; the float32 matrix is the float64 one rounded) and
"hard" (U diag(s) V^T with Haar-random U, V from QR of Gaussian matrices, s_1 = 1, s_2 = 0.999,
the rest linspace(0.998, 0)). tol runs over 1e-3, 1e-6 and 1e-10.

Reference: sigma_1 of numpy.linalg.svd(A.astype(float64)), untimed, once per matrix. A row's
target is a relative error <= max(tol, 50 * eps(dtype)): the floor is 6.0e-6 for float32 (float32
arithmetic cannot reliably do better than about 1e-6 relative) and 1.1e-14 for float64.

Each method gets its natural parameter set to tol:
  specnorm auto / lanczos   sn.estimate(A, method, tol=tol, seed=0); stops when
                            ||A^H u - sigma v|| <= tol * sigma.
  specnorm power            only on the gaussian matrices at tol >= 1e-6, capped at
                            --power-budget products (a row with converged=False says so); the
                            hard spectrum is the hard-gap section's job.
  svds arpack/lobpcg/propack  scipy.sparse.linalg.svds(A, k=1, tol=tol, solver=...). svds hands
                            tol**2 to the eigensolver on A^H A. lobpcg runs with its default
                            maxiter (20). propack with k=1 fails with its default kmax (10 here),
                            so it gets maxiter (= kmax) = min(m, n, 1000); its time barely
                            depends on kmax (it stops once converged).
  estimate_spectral_norm    scipy.linalg.interpolative, a randomized power method with a fixed
                            count `its`: an untimed search over its = 2, 4, ..., 1024 (seeded rng)
                            picks the smallest that meets the target, then only that call is
                            timed; this gives the peer every benefit. It takes float64 only: for
                            float32 the copy to float64 is part of the timed call.
  numpy.linalg.norm(A, 2), torch.linalg.matrix_norm(A, ord=2)  exact (a full SVD): timed once
                            per matrix and reused on every tol row of it. torch (if installed)
                            runs with OMP_NUM_THREADS threads (or all cores).
A peer that raises is reported with its error text, one that misses the target with its error;
both are marked "no" under "meets target" and never count as faster. Warnings (lobpcg warns when
it stops at maxiter) are silenced and their first line is put in the notes column.

Columns of every table:
  time [s]        best of --repeats wall times (one run where the first takes over 2 s),
                  after a 0.1 s pause: without it, a method timed right after a BLAS or OpenMP
                  call ran up to 2x slower while that library's threads still spun.
  vs specnorm     this row's time / specnorm auto's time on the same row (> 1: specnorm faster;
                  in the hard-gap section: / specnorm lanczos's time).
  rel. error      |sigma - sigma_1| / sigma_1 against the reference.
  meets target    rel. error <= target (see above).
  products        products with A or A^H: specnorm's .iterations; for svds counted in a separate
                  untimed run on a LinearOperator that counts matvec/rmatvec/matmat columns; for
                  estimate_spectral_norm 2 * its (what such a count gives).
  A^H A products  products / 2.
  ms / A^H A      time / (A^H A products).
  / stream        (time per A^H A product) / (stream time of A): 2.0 means each A^H A product
                  costs two plain reads of A (A v, then A^H u); 1.0 means one read, which only a
                  product that fuses the two passes can reach.
  converged       specnorm's .converged (- for peers).
  notes           the method auto ran and the backend (specnorm), maxiter / kmax / its, error
                  text or the first line of a warning.
Stream time: per matrix, the fastest of NumPy one-pass reads of A (A @ x, x @ A, a reshape of A
to width 1024 times a vector, A.sum()); bandwidth = bytes of A / stream time.

The hard-gap section (--gap-size, 2048; --quick 512): the hard spectrum n x n float64 at tol
1e-8, specnorm lanczos against specnorm power (maxiter 40000) and every peer at matched accuracy,
to read off "Lanczos uses at least 10x fewer products than power iteration and is faster than
every peer". The summary names, for each row, the fastest method that met the target, and lists
every row where a peer beat specnorm (auto; lanczos in the hard-gap section) at matched accuracy.
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import time
import warnings
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
from scipy.linalg.interpolative import estimate_spectral_norm
from scipy.sparse.linalg import LinearOperator, svds
from timing import best_time, host_line

import specnorm as sn

FLOOR_EPS = 50.0  # the target floor, in units of eps(dtype)
SLOW_S = 2.0  # a first run longer than this is not repeated
PAUSE_S = 0.1  # idle time before each timed method: lets the last one's spinning threads sleep
ESN_MAX_ITS = 1024
SVDS_SOLVERS = ("arpack", "lobpcg", "propack")
PROPACK_KMAX = 1000
STREAM_WIDTH = 1024
GAP_TOL = 1e-8
GAP_POWER_MAXITER = 40_000
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


class CountingOperator(LinearOperator):
    """A as a LinearOperator that counts products (columns of matmat count one each)."""

    def __init__(self, a: np.ndarray) -> None:
        super().__init__(dtype=a.dtype, shape=a.shape)
        self.a = a
        self.products = 0

    def _matvec(self, x: np.ndarray) -> np.ndarray:
        self.products += 1
        return self.a @ x

    def _rmatvec(self, x: np.ndarray) -> np.ndarray:
        self.products += 1
        return self.a.conj().T @ x

    def _matmat(self, x: np.ndarray) -> np.ndarray:
        self.products += x.shape[1]
        return self.a @ x

    def _rmatmat(self, x: np.ndarray) -> np.ndarray:
        self.products += x.shape[1]
        return self.a.conj().T @ x


def join_notes(*parts: str) -> str:
    return "; ".join(p for p in parts if p)


def propack_kmax(shape: tuple[int, ...]) -> int:
    return min(*shape, PROPACK_KMAX)


def svds_call(a: Any, tol: float, solver: str) -> float:
    maxiter = propack_kmax(a.shape) if solver == "propack" else None
    return float(svds(a, k=1, tol=tol, solver=solver, maxiter=maxiter,
                      return_singular_vectors=False, random_state=0)[0])


def svds_products(a: np.ndarray, tol: float, solver: str) -> int | None:
    op = CountingOperator(a)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            svds_call(op, tol, solver)
    except Exception:
        return None
    return op.products


def esn_call(a: np.ndarray, its: int) -> float:
    return float(estimate_spectral_norm(a.astype(np.float64, copy=False), its=its,
                                        rng=np.random.default_rng(0)))


class EsnSearch:
    """The untimed search over its for estimate_spectral_norm, shared by the tols of a matrix."""

    def __init__(self, a: np.ndarray, exact: float) -> None:
        self.a, self.exact = a, exact
        self.errors: dict[int, float] = {}

    def its_for(self, target: float) -> int:
        """The smallest its in 2, 4, ..., ESN_MAX_ITS that meets target, else ESN_MAX_ITS."""
        its = 2
        while its < ESN_MAX_ITS:
            if its not in self.errors:
                self.errors[its] = abs(esn_call(self.a, its) - self.exact) / self.exact
            if self.errors[its] <= target:
                break
            its *= 2
        return its


def torch_module() -> Any:
    try:
        import torch
    except ImportError:
        return None
    torch.set_num_threads(int(os.environ.get("OMP_NUM_THREADS", os.cpu_count() or 1)))
    return torch


def exact_peers(a: np.ndarray, repeats: int, torch: Any) -> dict[str, Outcome]:
    """The tol-independent peers, timed once per matrix."""
    peers = {"numpy.linalg.norm(A, 2)": timed(lambda: float(np.linalg.norm(a, 2)), repeats)}
    if torch is not None:
        ta = torch.from_numpy(a)
        peers["torch matrix_norm(A, 2)"] = timed(
            lambda: float(torch.linalg.matrix_norm(ta, ord=2)), repeats)
    return peers


def target_for(case: Case, tol: float) -> float:
    return max(tol, FLOOR_EPS * float(np.finfo(case.dtype).eps))


def make_row(case: Case, tol: float, method: str, out: Outcome, **extra: Any) -> Row:
    target = target_for(case, tol)
    sigma = None if out.time_s is None else float(out.value)
    err = None if sigma is None else abs(sigma - case.exact) / case.exact
    return Row(case=case.label, tol=tol, target=target, method=method, time_s=out.time_s,
               sigma=sigma, rel_error=err, meets=err is not None and err <= target,
               note=out.note, **extra)


def specnorm_rows(a: np.ndarray, case: Case, tol: float, plan: Plan, repeats: int) -> list[Row]:
    rows = []
    for method, maxiter in plan.runs:
        out = timed(lambda m=method, k=maxiter: sn.estimate(a, m, tol=tol, maxiter=k, seed=0),
                    repeats)
        est = out.value
        if est is not None:
            ran = f"{'' if est.method == method else f'ran {est.method}, '}{est.backend} backend"
            cap = "" if maxiter is None else f"maxiter {maxiter}"
            out = Outcome(out.time_s, est.sigma, join_notes(ran, cap, out.note))
        rows.append(make_row(case, tol, f"specnorm {method}", out,
                             products=None if est is None else int(est.iterations),
                             converged=None if est is None else bool(est.converged)))
    return rows


def peer_rows(a: np.ndarray, case: Case, tol: float, exact: dict[str, Outcome],
              esn: EsnSearch, repeats: int) -> list[Row]:
    rows = []
    for solver in SVDS_SOLVERS:
        out = timed(lambda s=solver: svds_call(a, tol, s), repeats)
        if solver == "propack":
            out.note = join_notes(f"kmax {propack_kmax(a.shape)}", out.note)
        rows.append(make_row(case, tol, f"svds {solver}", out,
                             products=svds_products(a, tol, solver)))
    its = esn.its_for(target_for(case, tol))
    out = timed(lambda: esn_call(a, its), repeats)
    out.note = join_notes(f"its {its}", out.note)
    rows.append(make_row(case, tol, "estimate_spectral_norm", out, products=2 * its))
    rows += [make_row(case, tol, name, peer) for name, peer in exact.items()]
    return rows


def finish(rows: list[Row], base: str, case: Case) -> None:
    """Fill in the ratio to the base row and the per-product columns."""
    base_time = next(r.time_s for r in rows if r.method == base)
    for r in rows:
        if r.time_s is None:
            continue
        r.ratio = r.time_s / base_time if base_time else None
        if r.products:
            r.ms_per_ata = 1e3 * r.time_s / (r.products / 2)
            r.per_stream = r.ms_per_ata / (1e3 * case.stream_time)


def fmt(x: float | None, spec: str) -> str:
    return "-" if x is None else format(x, spec)


def print_case(case: Case, prefix: str = "") -> None:
    reads = ", ".join(f"{name} {1e3 * t:.4g} ms" for name, t in case.stream.items())
    fastest = min(case.stream, key=case.stream.__getitem__)
    print(f"## {prefix}{case.label}: sigma_1 = {case.exact:.6g}, "
          f"sigma_2 / sigma_1 = {case.gap:.6f}")
    print()
    print(f"Stream reads of A ({case.nbytes / 1e6:.1f} MB): {reads}; stream time "
          f"{1e3 * case.stream_time:.4g} ms ({fastest}) = {case.bandwidth:.1f} GB/s.")
    print()


def print_table(rows: list[Row], title: str, base: str) -> None:
    print(f"### {title}")
    print()
    print(f"| method | time [s] | vs {base} | rel. error | meets target | products "
          "| A^H A products | ms / A^H A | / stream | converged | notes |")
    print("| --- | ---: | ---: | ---: | --- | ---: | ---: | ---: | ---: | --- | --- |")
    for r in rows:
        ata = None if r.products is None else r.products / 2
        conv = "-" if r.converged is None else str(r.converged)
        print(f"| {r.method} | {fmt(r.time_s, '.4g')} | {fmt(r.ratio, '.2f')} | "
              f"{fmt(r.rel_error, '.1e')} | {'yes' if r.meets else 'no'} | "
              f"{fmt(r.products, 'd')} | {fmt(ata, 'g')} | {fmt(r.ms_per_ata, '.3f')} | "
              f"{fmt(r.per_stream, '.2f')} | {conv} | {r.note[:70]} |")
    print()


def run_tol(a: np.ndarray, case: Case, tol: float, plan: Plan, exact: dict[str, Outcome],
            esn: EsnSearch, repeats: int) -> list[Row]:
    rows = specnorm_rows(a, case, tol, plan, repeats) + peer_rows(a, case, tol, exact, esn,
                                                                  repeats)
    finish(rows, plan.base, case)
    print_table(rows, f"{case.label}, tol {tol:g} (target {target_for(case, tol):.1e})", plan.base)
    return rows


def main_plan(spectrum: str, tol: float, budget: int) -> Plan:
    runs: list[tuple[str, int | None]] = [("auto", None), ("lanczos", None)]
    if spectrum == "gaussian" and tol >= 1e-6:
        runs.append(("power", budget))
    return Plan(runs, base="specnorm auto")


def run_suite(args: argparse.Namespace, torch: Any) -> tuple[list[Case], list[Row]]:
    cases, rows = [], []
    for shape in args.shapes:
        for dtype in args.dtypes:
            for spectrum in args.spectra:
                a = make_matrix(shape, dtype, spectrum)
                case = describe(a, spectrum, args.repeats)
                print_case(case)
                exact = exact_peers(a, args.repeats, torch)
                esn = EsnSearch(a, case.exact)
                for tol in args.tols:
                    plan = main_plan(spectrum, tol, args.power_budget)
                    rows += run_tol(a, case, tol, plan, exact, esn, args.repeats)
                cases.append(case)
    return cases, rows


def run_hard_gap(n: int, repeats: int, torch: Any) -> tuple[Case, list[Row]]:
    a = make_matrix((n, n), "float64", "hard")
    case = describe(a, "hard", repeats)
    print_case(case, prefix=f"Hard gap, tol {GAP_TOL:g}: ")
    plan = Plan([("lanczos", None), ("power", GAP_POWER_MAXITER)], base="specnorm lanczos")
    rows = run_tol(a, case, GAP_TOL, plan, exact_peers(a, repeats, torch),
                   EsnSearch(a, case.exact), repeats)
    lanczos, power = rows[0], rows[1]
    if lanczos.products and power.products:
        ratio = power.products / lanczos.products
        print(f"Products: lanczos {lanczos.products}, power {power.products} (converged "
              f"{power.converged}); power / lanczos = {ratio:.1f} "
              f"({'at least' if ratio >= 10 else 'less than'} 10x).")
    beaten = [r.method for r in rows[1:] if r.meets and r.time_s is not None
              and lanczos.time_s is not None and r.time_s <= lanczos.time_s]
    if not lanczos.meets:
        verdict = "short of the target"
    elif beaten:
        verdict = "NOT faster than " + ", ".join(beaten)
    else:
        verdict = "faster than every other method that met the target"
    print(f"specnorm lanczos ({fmt(lanczos.time_s, '.4g')} s) is {verdict}.")
    print()
    return case, rows


def print_summary(rows: list[Row]) -> None:
    """Per row: the fastest method that met the target; then every row where a peer beat the
    specnorm baseline (auto; lanczos in the hard-gap section) at matched accuracy."""
    print("## Summary")
    print()
    print("| matrix | tol | fastest meeting target | time [s] | specnorm baseline | time [s] "
          "| baseline meets target |")
    print("| --- | ---: | --- | ---: | --- | ---: | --- |")
    groups: dict[tuple[str, float], list[Row]] = {}
    for r in rows:
        groups.setdefault((r.case, r.tol), []).append(r)
    beaten: list[str] = []
    for (label, tol), group in groups.items():
        ok = [r for r in group if r.meets and r.time_s is not None]
        best = min(ok, key=lambda r: r.time_s) if ok else None
        base = next((r for r in group if r.method == "specnorm auto"), None) or next(
            (r for r in group if r.method == "specnorm lanczos"), None)
        if base is None or base.time_s is None:
            continue
        print(f"| {label} | {tol:g} | {best.method if best else 'none'} | "
              f"{fmt(best.time_s if best else None, '.4g')} | {base.method} | "
              f"{base.time_s:.4g} | {'yes' if base.meets else 'no'} |")
        faster = [f"{r.method} ({r.time_s:.4g} s, ratio {r.ratio:.2f})" for r in ok
                  if not r.method.startswith("specnorm")
                  and (not base.meets or r.time_s < base.time_s)]
        if faster:
            why = "" if base.meets else f", which missed the target ({base.rel_error:.1e})"
            beaten.append(f"- {label}, tol {tol:g} ({base.method} {base.time_s:.4g} s{why}): "
                          + ", ".join(faster))
    print()
    print("Rows where a peer beat specnorm at matched accuracy:" if beaten
          else "No peer beat specnorm at matched accuracy.")
    print()
    if beaten:
        print("\n".join(beaten))
        print()


def write_json(path: str, header: dict[str, Any], cases: Sequence[Case],
               rows: Sequence[Row]) -> None:
    data = {**header, "cases": [{**asdict(c), "stream_time": c.stream_time,
                                 "bandwidth_gb_s": c.bandwidth} for c in cases],
            "rows": [asdict(r) for r in rows]}
    with open(path, "w", encoding="utf-8") as f:
        json.dump(data, f, indent=1)


def pyplot() -> Any:
    try:
        import matplotlib
    except ImportError as exc:
        raise SystemExit("--plot needs matplotlib: pip install matplotlib") from exc
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def bar_chart(path: str, rows: Sequence[Row], value: Callable[[Row], float | None],
              methods: Sequence[str], ylabel: str, title: str, hline: float | None) -> None:
    """Grouped bars: one group per (matrix, tol), one bar per method, log y axis; bars of rows
    that missed the target are hatched and pale."""
    plt = pyplot()
    groups = list(dict.fromkeys((r.case, r.tol) for r in rows))
    by_key = {(r.case, r.tol, r.method): r for r in rows}
    width = 0.8 / len(methods)
    fig, ax = plt.subplots(figsize=(min(max(8.0, 0.5 * len(groups)), 30.0), 6.0))
    for j, method in enumerate(methods):
        legend: str | None = method
        for i, (label, tol) in enumerate(groups):
            r = by_key.get((label, tol, method))
            y = None if r is None else value(r)
            if r is None or y is None or y <= 0:
                continue
            ax.bar(i + (j - (len(methods) - 1) / 2) * width, y, width, color=f"C{j}",
                   alpha=1.0 if r.meets else 0.35, hatch=None if r.meets else "//", label=legend)
            legend = None
    if hline is not None:
        ax.axhline(hline, color="black", linewidth=1)
    ax.set_yscale("log")
    ax.set_ylabel(ylabel)
    ax.set_title(title, fontsize=9)
    ax.set_xticks(range(len(groups)))
    ax.set_xticklabels([f"{c}\ntol {t:g}" for c, t in groups], rotation=90, fontsize=7)
    ax.grid(axis="y", which="both", alpha=0.3)
    ax.legend(fontsize=7, title="hatched: misses target", title_fontsize=7,
              bbox_to_anchor=(1.01, 1.0), loc="upper left")
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def load_average() -> str:
    return " / ".join(f"{x:.2f}" for x in os.getloadavg()) + " (1 / 5 / 15 min)"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small sizes, 2 repeats")
    parser.add_argument("--shapes", nargs="+", type=parse_shape, help="e.g. 4000x4000 8192x1024")
    parser.add_argument("--dtypes", nargs="+", default=["float32", "float64"],
                        choices=["float32", "float64"])
    parser.add_argument("--spectra", nargs="+", default=["gaussian", "hard"],
                        choices=["gaussian", "hard"])
    parser.add_argument("--tols", nargs="+", type=float, default=[1e-3, 1e-6, 1e-10])
    parser.add_argument("--repeats", type=int, help="best of N (default 3; --quick 2)")
    parser.add_argument("--power-budget", type=int, default=2000,
                        help="maxiter (products) of specnorm power in the main tables")
    parser.add_argument("--gap-size", type=int, help="n of the hard-gap section (2048; quick 512)")
    section = parser.add_mutually_exclusive_group()
    section.add_argument("--only-hard-gap", action="store_true", help="only the hard-gap section")
    section.add_argument("--skip-hard-gap", action="store_true", help="no hard-gap section")
    parser.add_argument("--json", metavar="PATH", help="write every record as JSON")
    parser.add_argument("--plot", metavar="PATH", help="PNG: time / specnorm auto per row")
    parser.add_argument("--plot-products", metavar="PATH", help="PNG: products per row")
    args = parser.parse_args()
    args.shapes = args.shapes or list(QUICK_SHAPES if args.quick else FULL_SHAPES)
    args.repeats = args.repeats or (2 if args.quick else 3)
    gap_size = args.gap_size or (512 if args.quick else 2048)
    if args.plot or args.plot_products:
        pyplot()  # fail now, not after the run

    torch = torch_module()
    started = datetime.datetime.now()
    header = {"date": started.isoformat(timespec="seconds"), "host": host_line(),
              "numpy": np.__version__, "torch": torch.__version__ if torch else None,
              "specnorm": getattr(sn, "__version__", "?"), "repeats": args.repeats}
    print(f"# specnorm suite, {header['date']}")
    print()
    print(f"Host: {header['host']}; NumPy {np.__version__}, torch "
          f"{header['torch'] or 'not installed'}; best of {args.repeats}; "
          f"load average {load_average()} (other work on the machine skews every timing).")
    print()
    cases, rows = ([], []) if args.only_hard_gap else run_suite(args, torch)
    gap_rows: list[Row] = []
    if not args.skip_hard_gap:
        gap_case, gap_rows = run_hard_gap(gap_size, args.repeats, torch)
        cases.append(gap_case)
    all_rows = rows + gap_rows
    print_summary(all_rows)
    elapsed = (datetime.datetime.now() - started).total_seconds()
    print(f"Total wall time {elapsed:.0f} s; load average now {load_average()}.")
    if args.json:
        write_json(args.json, {**header, "elapsed_s": elapsed}, cases, all_rows)
    peers = list(dict.fromkeys(r.method for r in all_rows if r.method != "specnorm auto"))
    if args.plot:
        bar_chart(args.plot, all_rows, lambda r: r.ratio, peers, "time / specnorm time",
                  "Time of each method / specnorm auto's (hard-gap row: / specnorm lanczos's); "
                  "> 1: specnorm faster", 1.0)
    if args.plot_products:
        counted = list(dict.fromkeys(r.method for r in all_rows if r.products is not None))
        bar_chart(args.plot_products, all_rows, lambda r: r.products, counted,
                  "products with A or A^H", "Products per method and row", None)


if __name__ == "__main__":
    main()
