"""The per-step cost of the stop request (timeout= and Ctrl-C): sigma on a 32 x 32 matrix
(method auto, the Gram kernel's lean path) and on a 2000 x 2000 one (lanczos, and power at
tol=1e-4), best of repeats.

Run it once against each build with a label, alternating, and compare the rows:
    python bench/bench_stop_check.py before   # the build without the stop request
    PYTHONPATH=python python bench/bench_stop_check.py after
"""

from __future__ import annotations

import sys
import timeit

import numpy as np

import specnorm as sn


def main() -> None:
    label = sys.argv[1] if len(sys.argv) > 1 else sn.__file__
    rng = np.random.default_rng(0)
    small, big = rng.standard_normal((32, 32)), rng.standard_normal((2000, 2000))
    t_small = min(timeit.repeat(lambda: sn.sigma(small, seed=0), number=2000, repeat=5)) / 2000
    t_lanczos = min(timeit.repeat(lambda: sn.sigma(big, "lanczos", seed=0), number=3,
                                  repeat=3)) / 3
    t_power = min(timeit.repeat(lambda: sn.sigma(big, "power", seed=0, tol=1e-4), number=3,
                                repeat=3)) / 3
    print(f"| {label} | {t_small * 1e6:.1f} µs | {t_lanczos * 1e3:.1f} ms | "
          f"{t_power * 1e3:.1f} ms |")


if __name__ == "__main__":
    main()
