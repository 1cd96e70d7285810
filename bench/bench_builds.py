"""Two builds of specnorm on the same cases, for changes inside the core (the per-step stop
request, the thread-independent pieces of the products): run it once per build with a label,
alternating, and compare the rows. Best of repeats; times in seconds unless marked.

    python bench/bench_builds.py before                     # the installed build
    PYTHONPATH=python python bench/bench_builds.py after    # the build in the work tree
    python bench/bench_builds.py after --quick              # smaller cases, for a first look

Compiler flags (docs/performance.md, "Build"): build _core with CMake into one directory per
flag set, put each beside a copy of python/specnorm, and run this once per copy:

    PYTHONPATH=/tmp/b-lto/pkg python bench/bench_builds.py lto
"""

from __future__ import annotations

import argparse
import timeit

import numpy as np
import scipy.sparse as sp

import specnorm as sn


def best(fn, number: int, repeat: int) -> float:
    return min(timeit.repeat(fn, number=number, repeat=repeat)) / number


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("label")
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args()
    rng = np.random.default_rng(0)
    big = 2000 if args.quick else 4000
    square = rng.standard_normal((big, big))
    tall = rng.standard_normal((8 * big, big // 8))
    n, nnz = (100_000, 1_000_000) if args.quick else (1_000_000, 10_000_000)
    sparse = sp.csr_matrix((rng.standard_normal(nnz), (rng.integers(0, n, nnz),
                                                       rng.integers(0, n, nnz))), shape=(n, n))
    small = rng.standard_normal((32, 32))
    stack = rng.standard_normal((200, 100, 80))
    cases = {
        "32x32 auto (us)": (lambda: sn.sigma(small, seed=0), 2000, 1e6),
        f"{big}^2 lanczos tol=1e-6": (lambda: sn.sigma(square, "lanczos", seed=0), 3, 1),
        f"{big}^2 power tol=1e-4": (lambda: sn.sigma(square, "power", tol=1e-4, seed=0), 2, 1),
        f"{8 * big}x{big // 8} lanczos": (lambda: sn.sigma(tall, "lanczos", seed=0), 3, 1),
        f"{big // 8}x{8 * big} lanczos": (lambda: sn.sigma(tall.T, "lanczos", seed=0), 3, 1),
        f"sparse {n}^2 nnz={nnz} tol=1e-6": (lambda: sn.sigma(sparse, seed=0), 2, 1),
        "200 x (100x80) stack lanczos": (lambda: sn.sigma(stack, "lanczos", seed=0), 3, 1),
    }
    for name, (fn, number, unit) in cases.items():
        fn()
        t = best(fn, number, 3)
        print(f"| {args.label} | {name} | {t * unit:.4g} |", flush=True)


if __name__ == "__main__":
    main()
