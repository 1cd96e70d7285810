"""Time per pass over a dense matrix for a block of b vectors (b = 1, 2, 4, 8): what a block
start would cost against one vector. Each pass forms A X and A^H (A X), as a step of the
iterative methods does; the ratio to b = 1 is measured in the same run.

    python bench/bench_block.py                 # 4000 x 4000 and 8192 x 1024, float32/float64
    python bench/bench_block.py --quick         # 1000 x 1000 and 2048 x 256
"""

from __future__ import annotations

import argparse
import time

import numpy as np


def best(fn, repeats: int) -> float:
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return min(times)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--repeats", type=int, default=7)
    args = ap.parse_args()
    shapes = [(1000, 1000), (2048, 256)] if args.quick else [(4000, 4000), (8192, 1024)]
    print(f"{'matrix':<22}{'b':>3}{'pass [ms]':>11}{'per vector [ms]':>17}{'pass / b=1':>12}")
    for m, n in shapes:
        for dtype in ("float32", "float64"):
            a = np.random.default_rng(0).standard_normal((m, n)).astype(dtype)
            base = None
            for b in (1, 2, 4, 8):
                x = np.random.default_rng(1).standard_normal((n, b)).astype(dtype)
                if b == 1:
                    x1 = x[:, 0].copy()
                    t = best(lambda a=a, x1=x1: a.T @ (a @ x1), args.repeats)
                else:
                    t = best(lambda a=a, x=x: a.T @ (a @ x), args.repeats)
                base = t if base is None else base
                print(f"{f'{m}x{n} {dtype}':<22}{b:>3}{1e3 * t:>11.2f}{1e3 * t / b:>17.2f}"
                      f"{t / base:>12.2f}")


if __name__ == "__main__":
    main()
