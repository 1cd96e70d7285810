"""F order against C order: each matrix is timed as stored column by column (F order) and as its
C-ordered copy, in the same run, for each method; the ratio F / C is the cost of the layout
(1.0 where there is none). Best of repeats, seconds. The iteration counts are shown because a
different layout may take a different but equally valid path to the same tolerance.

    PYTHONPATH=python python bench/bench_layout.py            # the build in the work tree
    python bench/bench_layout.py --quick                      # smaller cases
"""

from __future__ import annotations

import argparse
import timeit

import numpy as np

import specnorm as sn


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--methods", default="lanczos,power")
    args = parser.parse_args()
    scale = 2 if args.quick else 1
    shapes = [(500, 32000), (32000, 500), (4000, 4000), (2000, 8000), (200, 200), (60, 2000)]
    shapes = [(m // scale if m > 200 else m, n // scale if n > 200 else n) for m, n in shapes]
    rng = np.random.default_rng(0)
    print("| shape | method | tol | F order (s) | iterations | C order (s) | iterations | F / C |")
    print("| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: |")
    for m, n in shapes:
        c = rng.standard_normal((m, n))
        f = np.asfortranarray(c)
        for method in args.methods.split(","):
            tol = 1e-4 if method == "power" else 1e-6
            row = []
            for a in (f, c):
                def run(a=a, method=method, tol=tol):
                    return sn.estimate(a, method, tol=tol, seed=0)

                est = run()
                number = max(1, int(0.2 / max(timeit.timeit(run, number=1), 1e-6)))
                t = min(timeit.repeat(run, number=number, repeat=3)) / number
                row.append((t, int(est.iterations)))
            (tf, itf), (tc, itc) = row
            print(f"| {m} x {n} | {method} | {tol:g} | {tf:.4g} | {itf} | {tc:.4g} | {itc} | "
                  f"{tf / tc:.2f} |", flush=True)


if __name__ == "__main__":
    main()
