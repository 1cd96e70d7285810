"""The command line: ``specnorm sigma FILE.npy``, ``specnorm demo`` (also what
``python -m specnorm`` runs without a command), ``specnorm backends`` and ``specnorm report
FILE`` (every weight of a checkpoint; the work is in :mod:`specnorm._report`)."""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Sequence

import numpy as np

from ._api import backends, estimate
from ._validate import METHODS
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


def _cmd_sigma(args: argparse.Namespace) -> int:
    try:
        data = np.load(args.file, allow_pickle=False)
    except (OSError, ValueError) as exc:
        print(f"specnorm: cannot read {args.file}: {exc}", file=sys.stderr)
        return 2
    est = estimate(data, args.method, tol=args.tol, seed=args.seed, backend=args.backend)
    if np.ndim(est.sigma) == 0:
        print(f"{float(est.sigma):.17g}")
    else:
        for idx in np.ndindex(*np.shape(est.sigma)):
            print(f"{idx} {float(est.sigma[idx]):.17g}")
    if args.check:
        exact = np.linalg.svd(np.asarray(data, dtype=np.complex128 if np.iscomplexobj(data)
                                         else np.float64), compute_uv=False)[..., 0] \
            if data.size else np.zeros(np.shape(data)[:-2])
        err = np.abs(np.asarray(est.sigma) - exact) / np.where(exact > 0, exact, 1.0)
        print(f"svd {np.array2string(np.asarray(exact), precision=17)}")
        print(f"relative error {np.array2string(np.asarray(err), precision=3)}")
        print(f"converged {est.converged}, iterations {est.iterations}, "
              f"bracket [{est.lower}, {est.upper}] (confidence {est.confidence})")
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


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit status."""
    parser = argparse.ArgumentParser(
        prog="specnorm", description="The spectral norm (largest singular value) of a matrix.")
    sub = parser.add_subparsers(dest="command")
    choices = ("auto", *BACKENDS)

    p_sigma = sub.add_parser("sigma", help="print the spectral norm of the matrix in a .npy file")
    p_sigma.add_argument("file", help="a .npy file holding a 2-D array (or a stack)")
    p_sigma.add_argument("--method", default="auto", choices=METHODS)
    p_sigma.add_argument("--tol", type=float, default=1e-6, help="relative accuracy (0, 1)")
    p_sigma.add_argument("--seed", type=int, default=0, help="seed of the random start")
    p_sigma.add_argument("--check", action="store_true",
                         help="also print the exact SVD value and the relative error")
    p_sigma.add_argument("--backend", default="auto", choices=choices,
                         help="where to compute (default: auto, or SPECNORM_BACKEND)")
    p_sigma.set_defaults(run=_cmd_sigma)

    p_demo = sub.add_parser("demo", help="run every method on built-in example matrices")
    p_demo.add_argument("--tol", type=float, default=1e-6)
    p_demo.add_argument("--seed", type=int, default=0)
    p_demo.add_argument("--backend", default="auto", choices=choices,
                        help="where to compute (default: auto, or SPECNORM_BACKEND)")
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
    p_report.add_argument("--method", default="auto", choices=METHODS)
    p_report.add_argument("--tol", type=float, default=1e-6, help="relative accuracy (0, 1)")
    p_report.add_argument("--seed", type=int, default=0, help="seed of the random start")
    p_report.add_argument("--backend", default="auto", choices=choices,
                          help="where to compute (default: auto, or SPECNORM_BACKEND)")
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
