"""Parallel speedup from Python threads: 8 calls run one after another against the same 8 calls
from 8 threads, for specnorm and for two baselines in the same run: SHA-256 over a large buffer
(hashlib releases the GIL, so it shows how much parallelism the machine gives) and a pure-Python
loop (holds the GIL, so it shows no speedup). The ratio threaded / serial is 1 / cores at best and
1.0 where calls serialise. Matrices are below the size at which the core splits one product across
its own threads, so only the Python threads provide parallelism. Best of repeats.

    PYTHONPATH=python python bench/bench_threads.py          # the build in the work tree
"""

from __future__ import annotations

import argparse
import hashlib
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

import numpy as np
from timing import host_line

import specnorm as sn


def ratio(job: Callable[[], object], threads: int, repeats: int) -> tuple[float, float, float]:
    """(best serial seconds, best threaded seconds, threaded / serial) for ``threads`` calls."""
    job()
    serial = threaded = float("inf")
    with ThreadPoolExecutor(threads) as pool:
        for _ in range(repeats):
            start = time.perf_counter()
            for _k in range(threads):
                job()
            serial = min(serial, time.perf_counter() - start)
            start = time.perf_counter()
            list(pool.map(lambda _k: job(), range(threads)))
            threaded = min(threaded, time.perf_counter() - start)
    return serial, threaded, threaded / serial


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, default=8)
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    rng = np.random.default_rng(4)
    dense = rng.standard_normal((250, 200))
    stack = rng.standard_normal((16, 60, 50))
    buffer = rng.bytes(32 << 20)

    def python_loop() -> int:
        total = 0
        for k in range(2_000_000):
            total += k
        return total

    jobs = {
        "specnorm estimate, power, 250 x 200, 1000 products":
            lambda: sn.estimate(dense, "power", tol=1e-15, maxiter=1000, seed=0),
        "specnorm estimate, lanczos, 250 x 200, tol=1e-14":
            lambda: sn.estimate(dense, "lanczos", tol=1e-14, seed=0),
        "specnorm sigma, stack of 16 x 60 x 50, power, tol=1e-10":
            lambda: sn.sigma(stack, "power", tol=1e-10, seed=0),
        "baseline: hashlib.sha256 of 32 MiB (releases the GIL)":
            lambda: hashlib.sha256(buffer).digest(),
        "baseline: pure-Python loop (holds the GIL)": python_loop,
    }
    print(f"{args.threads} calls, best of {args.repeats}; {host_line()}")
    print()
    print("| job | serial (s) | threaded (s) | threaded / serial |")
    print("| --- | ---: | ---: | ---: |")
    for name, job in jobs.items():
        serial, threaded, r = ratio(job, args.threads, args.repeats)
        print(f"| {name} | {serial:.4g} | {threaded:.4g} | {r:.2f} |", flush=True)


if __name__ == "__main__":
    main()
