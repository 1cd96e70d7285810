"""specnorm against what users would otherwise call, on the same matrix in the same run.

    python bench/bench_core.py            # 4000 x 4000 float64 Gaussian (the reference case)
    python bench/bench_core.py --quick    # 1000 x 1000, a few seconds

Prints a Markdown table: best-of-N wall time, the speed-up of each specnorm method over
numpy.linalg.norm(A, 2) (ratio measured in this run), products used, time per product, and the
relative error against the exact value.
"""

from __future__ import annotations

import argparse

import numpy as np
from timing import best_time, host_line

import specnorm as sn


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="1000 x 1000 instead of 4000 x 4000")
    parser.add_argument("--size", type=int, default=None)
    parser.add_argument("--tol", type=float, default=1e-6)
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    n = args.size or (1000 if args.quick else 4000)
    a = np.random.default_rng(0).standard_normal((n, n))

    t_ref, exact = best_time(lambda: float(np.linalg.norm(a, 2)), 1 if n > 2000 else 3)
    top = np.linalg.svd(a, compute_uv=False)[:2]  # untimed: the gap that governs convergence
    x = np.random.default_rng(1).standard_normal(n)
    t_gemv, _ = best_time(lambda: a @ x, 20)
    print(f"Setup: {n} x {n} float64 Gaussian, tol={args.tol:g}; {host_line()}; "
          f"sigma_2 / sigma_1 = {top[1] / top[0]:.4f}")
    print()
    print("| method | time [s] | speed-up vs numpy.linalg.norm(A, 2) | products | ms / product "
          "| relative error | converged |")
    print("| --- | ---: | ---: | ---: | ---: | ---: | --- |")
    print(f"| numpy.linalg.norm(A, 2) | {t_ref:.3f} | 1.0 | - | - | 0 (reference) | - |")
    print(f"| NumPy A @ x (one GEMV, for scale) | {t_gemv:.4f} | - | 1 | "
          f"{1e3 * t_gemv:.2f} | - | - |")
    for method in ("lanczos", "rayleigh", "power"):
        t, est = best_time(lambda m=method: sn.estimate(a, m, tol=args.tol, seed=0),
                           args.repeats if method != "power" else 1)
        err = abs(est.sigma - exact) / exact
        print(f"| specnorm {method} | {t:.3f} | {t_ref / t:.1f} | {est.iterations} | "
              f"{1e3 * t / est.iterations:.2f} | {err:.1e} | {est.converged} |")
    try:
        from scipy.sparse.linalg import svds
    except ImportError:
        return
    t, _ = best_time(lambda: svds(a, k=1, tol=args.tol, return_singular_vectors=False,
                                  random_state=0), args.repeats)
    s = float(svds(a, k=1, tol=args.tol, return_singular_vectors=False, random_state=0)[0])
    print(f"| scipy svds(A, k=1, tol={args.tol:g}) (ARPACK) | {t:.3f} | {t_ref / t:.1f} | - | - | "
          f"{abs(s - exact) / exact:.1e} | - |")


if __name__ == "__main__":
    main()
