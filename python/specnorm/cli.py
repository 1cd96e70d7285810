"""The command line: ``specnorm sigma FILE`` (a .npy or Matrix Market file), ``specnorm demo``
(also what ``python -m specnorm`` runs without a command), ``specnorm backends`` and
``specnorm report FILE`` (every weight of a checkpoint; the work is in :mod:`specnorm._report`)."""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from ._api import backends, estimate
from ._rules import METHODS
from .backends import BACKENDS

__all__ = ["demo_matrices", "main"]


def demo_matrices(seed: int = 0) -> dict[str, np.ndarray]:
    """The built-in examples: an easy Gaussian matrix and one whose top two singular values are
    1 and 0.999 (a tiny gap, where power iteration is slow)."""
    rng = np.random.default_rng(seed)
    easy = rng.standard_normal((600, 400))
    m, n = 600, 400
    left, _ = np.linalg.qr(rng.standard_normal((m, n)))
    right, _ = np.linalg.qr(rng.standard_normal((n, n)))
    spectrum = np.concatenate([[1.0, 0.999], np.linspace(0.9, 0.01, n - 2)])
    hard = (left * spectrum) @ right.T
    return {"gaussian 600x400": easy, "tiny gap 600x400": hard}


#: The files ``specnorm sigma`` reads: one matrix or one stack of matrices (read as
#: ``specnorm report`` reads them). The report's other types hold checkpoints of named tensors.
SIGMA_SUFFIXES = (".npy", ".mtx", ".mtx.gz", ".mtx.bz2")


def _read_matrix(path: str) -> Any:
    """The matrix in ``path`` as the report reads it (``.value``: an array or a SciPy sparse
    matrix; ``.name``: the file name without its type); ReportError with the report's message
    for a missing, unknown or unreadable file."""
    from . import _report

    checkpoints = tuple(s for s in _report.SUFFIXES if s not in SIGMA_SUFFIXES)
    name = Path(path).name
    if name.lower().endswith(checkpoints):
        raise _report.ReportError(
            f"{name!r} is a checkpoint of named tensors: specnorm sigma reads one matrix or "
            f"stack ({', '.join(SIGMA_SUFFIXES)}); specnorm report {path} estimates each weight")
    _report.file_type(path, SIGMA_SUFFIXES)
    (tensor,), _ = _report.read_tensors(path)
    return tensor


def _check_table(name: str, data: Any, est: Any) -> str:
    """Per matrix: sigma, the exact value (float64 or complex128 SVD), the relative error, the
    bracket (6 digits, rounded outwards so that it still holds), its confidence and the
    products; a stack's matrices are named ``name[i, j]``."""
    from ._report import _num, _round_sig

    dense = data.toarray() if hasattr(data, "toarray") else np.asarray(data)
    wide = dense.astype(np.complex128 if np.iscomplexobj(dense) else np.float64)
    batch = wide.shape[:-2]
    exact = (np.linalg.svd(wide, compute_uv=False)[..., 0] if wide.size
             else np.zeros(batch))
    header = ("matrix", "sigma", "exact (SVD)", "rel. error", "bracket [lower, upper]",
              "confidence", "iterations")
    rows = []
    for idx in np.ndindex(*batch):
        sig, ex = float(np.asarray(est.sigma)[idx]), float(exact[idx])
        lo = _round_sig(float(np.asarray(est.lower)[idx]), 6, up=False)
        hi = _round_sig(float(np.asarray(est.upper)[idx]), 6, up=True)
        done = bool(np.asarray(est.converged)[idx])
        rows.append((f"{name}[{', '.join(str(i) for i in idx)}]" if idx else name,
                     f"{sig:.17g}", f"{ex:.17g}", f"{abs(sig - ex) / (ex if ex > 0 else 1.0):.2e}",
                     f"[{_num(lo, '.6g')}, {_num(hi, '.6g')}]",
                     f"{float(np.asarray(est.confidence)[idx]):.4g}",
                     f"{int(np.asarray(est.iterations)[idx])}{'' if done else '*'}"))
    widths = [max(len(h), *(len(r[i]) for r in rows)) if rows else len(h)
              for i, h in enumerate(header)]

    def line(cells: tuple[str, ...]) -> str:
        return "  ".join(c.ljust(w) if i in (0, 4) else c.rjust(w)
                         for i, (c, w) in enumerate(zip(cells, widths, strict=True))).rstrip()

    out = [line(header), "  ".join("-" * w for w in widths), *(line(r) for r in rows)]
    if not np.all(np.asarray(est.converged)):
        out.append("* not converged within the iteration budget: sigma is approximate, "
                   "the bracket still holds")
    out.append(f"method: {est.method}, backend: {est.backend}")
    return "\n".join(out)


def _cmd_sigma(args: argparse.Namespace) -> int:
    from ._report import ReportError

    try:
        matrix = _read_matrix(args.file)
    except ReportError as exc:
        print(f"specnorm: {exc}", file=sys.stderr)
        return 2
    est = estimate(matrix.value, args.method, tol=args.tol, seed=args.seed,
                   backend=args.backend)
    if args.check:
        print(_check_table(matrix.name, matrix.value, est))
    elif np.ndim(est.sigma) == 0:
        print(f"{float(est.sigma):.17g}")
    else:
        for idx in np.ndindex(*np.shape(est.sigma)):
            print(f"{idx} {float(est.sigma[idx]):.17g}")
    return 0


def _cmd_demo(args: argparse.Namespace) -> int:
    methods = ("power", "lanczos", "rayleigh", "svd")
    header = f"{'matrix':<18} {'method':<9} {'sigma':>20} {'rel. error':>11} " \
             f"{'products':>9} {'time [ms]':>10} {'converged':>9}"
    used = None
    print(header)
    print("-" * len(header))
    for name, a in demo_matrices(args.seed).items():
        exact = float(np.linalg.svd(a, compute_uv=False)[0])
        for method in methods:
            start = time.perf_counter()
            est = estimate(a, method, tol=args.tol, seed=args.seed, backend=args.backend)
            used = est.backend
            ms = 1e3 * (time.perf_counter() - start)
            err = abs(est.sigma - exact) / exact
            print(f"{name:<18} {method:<9} {est.sigma:>20.15f} {err:>11.2e} "
                  f"{est.iterations:>9d} {ms:>10.1f} {est.converged!s:>9}")
    print(f"backend: {used}")
    return 0


def _cmd_backends(args: argparse.Namespace) -> int:
    for name, info in backends().items():
        print(f"{name:<6} {'usable' if info.usable else 'not usable':<10}  {info.reason}")
    return 0


def _cmd_report(args: argparse.Namespace) -> int:
    from . import _report

    try:
        if args.plot is not None:
            _report.require_matplotlib()  # before the work, not after it
        report = _report.run_report(args.file, method=args.method, tol=args.tol,
                                    seed=args.seed, backend=args.backend,
                                    progress=not args.no_progress)
        if args.plot is not None:
            _report.write_plot(report, args.plot)
    except _report.ReportError as exc:
        print(f"specnorm: {exc}", file=sys.stderr)
        return 2
    text = _report.format_json(report) if args.json else _report.format_table(report)
    if args.plot is not None and not args.json:
        text += f"\nplot: {args.plot}"
    try:
        print(text)
        sys.stdout.flush()
    except BrokenPipeError:  # specnorm report ... | head: the reader stopped reading
        import os

        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())  # no second error when Python flushes at exit
    return 0


def _compute_options(parser: argparse.ArgumentParser, method: bool) -> None:
    """The options of the subcommands that compute, with the defaults of specnorm.estimate."""
    if method:
        parser.add_argument("--method", default="auto", choices=METHODS,
                            help="the algorithm; auto chooses by the matrix's size "
                                 "(default: %(default)s)")
    parser.add_argument("--tol", type=float, default=1e-6,
                        help="the relative accuracy asked for, 0 < TOL < 1 "
                             "(default: %(default)s)")
    parser.add_argument("--seed", type=int, default=0,
                        help="seed of the random start vector (default: %(default)s)")
    parser.add_argument("--backend", default="auto", choices=("auto", *BACKENDS),
                        help="where to compute; auto honours SPECNORM_BACKEND "
                             "(default: %(default)s)")


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit status."""
    parser = argparse.ArgumentParser(
        prog="specnorm", description="The spectral norm (largest singular value) of a matrix.")
    sub = parser.add_subparsers(dest="command")

    p_sigma = sub.add_parser(
        "sigma", help="print the spectral norm of the matrix in a .npy or .mtx file",
        description="Print the spectral norm of the matrix (or of every matrix of a stack) in "
                    "a .npy or Matrix Market (.mtx, .mtx.gz, .mtx.bz2) file.")
    p_sigma.add_argument("file", help="a .npy file holding a 2-D array or a stack (..., m, n), "
                                      "or a Matrix Market file")
    _compute_options(p_sigma, method=True)
    p_sigma.add_argument("--check", action="store_true",
                         help="print a table instead: per matrix sigma, the exact value from "
                              "the SVD, the relative error, the bracket and the products")
    p_sigma.set_defaults(run=_cmd_sigma)

    p_demo = sub.add_parser("demo", help="run every method on built-in example matrices")
    _compute_options(p_demo, method=False)
    p_demo.set_defaults(run=_cmd_demo)

    p_backends = sub.add_parser("backends", help="list the backends and whether they can run")
    p_backends.set_defaults(run=_cmd_backends)

    p_report = sub.add_parser(
        "report", help="the spectral norm of every weight in a checkpoint",
        description="Estimate the spectral norm of every weight with two or more dimensions "
                    "in a .npy, .npz, Matrix Market (.mtx) or .safetensors file (more than 2 "
                    "dimensions: reshaped to (shape[0], -1)) and print a table with the "
                    "product bound over the layers.")
    p_report.add_argument("file", help="a .npy, .npz, .mtx (.mtx.gz, .mtx.bz2) or "
                                       ".safetensors file")
    _compute_options(p_report, method=True)
    p_report.add_argument("--json", action="store_true",
                          help="print one JSON object instead of the table")
    p_report.add_argument("--plot", metavar="OUT.png", default=None,
                          help="also write a bar chart of sigma per layer (needs matplotlib)")
    p_report.add_argument("--no-progress", action="store_true",
                          help="no progress bar (there is none anyway unless stderr is a "
                               "terminal)")
    p_report.set_defaults(run=_cmd_report)

    args = parser.parse_args(argv)
    if args.command is None:  # python -m specnorm: the demo
        args = parser.parse_args(["demo", *(argv or [])])
    try:
        return int(args.run(args))
    except (ValueError, TypeError, RuntimeError) as exc:
        print(f"specnorm: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
