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
from typing import Any

import numpy as np
from suite_cases import (
    FULL_SHAPES,
    QUICK_SHAPES,
    Case,
    Outcome,
    Plan,
    Row,
    describe,
    join_notes,
    make_matrix,
    make_row,
    parse_shape,
    target_for,
    timed,
)
from suite_peers import EsnSearch, exact_peers, peer_rows, torch_module
from suite_report import (
    bar_chart,
    fmt,
    load_average,
    print_case,
    print_summary,
    print_table,
    pyplot,
    write_json,
)
from timing import host_line

import specnorm as sn

GAP_TOL = 1e-8
GAP_POWER_MAXITER = 40_000


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
