"""Stacks of small matrices: specnorm against numpy.linalg.matrix_norm(A, ord=2) and
torch.linalg.matrix_norm(A, ord=2) (when torch is installed), on the same float32 stacks, in the
same run.

    python bench/bench_batch.py            # 10000x32x32, 10000x64x64, 1000x256x256
    python bench/bench_batch.py --quick    # a tenth of each batch

Prints a Markdown table: best-of-N wall time of each, the speed-up of specnorm over each peer
(ratio measured in this run), mean products per matrix and the largest relative error against
the float64 SVD.
"""

from __future__ import annotations

import argparse

import numpy as np
from timing import best_time, host_line

import specnorm as sn


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--tol", type=float, default=1e-4)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    try:
        import torch
    except ImportError:
        torch = None
    scale = 10 if args.quick else 1
    cases = [(10000 // scale, 32, 32), (10000 // scale, 64, 64), (1000 // scale, 256, 256)]
    print(f"Host: {host_line()}, NumPy {np.__version__}, torch "
          f"{torch.__version__ if torch is not None else 'not installed'}; float32, "
          f"tol={args.tol:g}, best of {args.repeats}")
    print()
    print("| stack | numpy matrix_norm [s] | torch matrix_norm [s] | specnorm method "
          "| specnorm [s] | vs numpy | vs torch | products / matrix | max rel. error |")
    print("| --- | ---: | ---: | --- | ---: | ---: | ---: | ---: | ---: |")
    for shape in cases:
        a = np.random.default_rng(0).standard_normal(shape).astype(np.float32)
        exact = np.linalg.svd(a.astype(np.float64), compute_uv=False)[..., 0]
        t_np, _ = best_time(lambda a=a: np.linalg.matrix_norm(a, ord=2), args.repeats)
        t_torch = None
        if torch is not None:
            ta = torch.from_numpy(a)
            t_torch, _ = best_time(lambda ta=ta: torch.linalg.matrix_norm(ta, ord=2), args.repeats)
        for method in ("auto", "lanczos", "power"):
            t, est = best_time(lambda a=a, m=method: sn.estimate(a, m, tol=args.tol, seed=0),
                               args.repeats)
            err = float(np.max(np.abs(np.asarray(est.sigma) - exact) / exact))
            torch_cols = (f"{t_torch:.3f}", f"{t_torch / t:.1f}") if t_torch else ("-", "-")
            label = est.method if method == est.method else f"{method} -> {est.method}"
            print(f"| {'x'.join(map(str, shape))} | {t_np:.3f} | {torch_cols[0]} | {label} | "
                  f"{t:.3f} | {t_np / t:.1f} | {torch_cols[1]} | "
                  f"{float(np.mean(est.iterations)):.1f} | {err:.1e} |")


if __name__ == "__main__":
    main()
