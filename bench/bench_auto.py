"""The evidence behind method="auto": every candidate on single matrices of growing size.

    python bench/bench_auto.py            # float64 and float32, square and 8:1 shapes
    python bench/bench_auto.py --quick    # fewer sizes and repeats

For each matrix (Gaussian entries, tol=1e-6) it times the C++ core's Lanczos and power iteration,
the Gram kernel that auto uses for small matrices (``specnorm._core.estimate_small``, called
directly so that it can be timed beyond the size where auto uses it) and LAPACK's SVD
(``numpy.linalg.norm(A, 2)``), and prints the time of each and which was fastest. Every answer is
checked against the SVD (the largest relative error is printed).
"""

from __future__ import annotations

import argparse

import numpy as np
from timing import best_time, host_line

import specnorm as sn
from specnorm import _core, _rules
from specnorm._rules import SVD_CUTOFF, default_maxiter, tol_floor


def gram(a: np.ndarray, tol: float) -> float:
    m, n = a.shape
    answer = _core.estimate_small(a, max(tol, tol_floor(a.dtype, m, n)), default_maxiter(m, n),
                                  0, None, False)
    assert answer.status == _core.Status.ok
    return answer.sigma


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--tol", type=float, default=1e-6)
    args = parser.parse_args()
    sizes = [16, 32, 64, 128, 256] if args.quick else [16, 32, 48, 64, 96, 128, 192, 256, 512]
    repeats = 5 if args.quick else 20
    rng = np.random.default_rng(0)
    print(f"Setup: Gaussian matrices, tol={args.tol:g}, best of {repeats}; {host_line()}")
    print()
    print("| shape | dtype | gram [us] | lanczos [us] | power [us] | numpy svd [us] | fastest "
          "| max rel. error |")
    print("| --- | --- | ---: | ---: | ---: | ---: | --- | ---: |")
    for dtype in (np.float64, np.float32):
        for k in sizes:
            for shape in ((k, k), (8 * k, k)):
                a = rng.standard_normal(shape).astype(dtype)
                exact = float(np.linalg.svd(a.astype(np.float64), compute_uv=False)[0])
                reps = max(3, repeats if k <= 128 else repeats // 4)
                runs = {
                    "gram": lambda a=a: gram(a, args.tol),
                    "lanczos": lambda a=a: sn.sigma(a, "lanczos", tol=args.tol, seed=0),
                    "power": lambda a=a: sn.sigma(a, "power", tol=args.tol, seed=0),
                    "numpy svd": lambda a=a: float(np.linalg.norm(a, 2)),
                }
                times, worst = {}, 0.0
                for name, fn in runs.items():
                    t, value = best_time(fn, reps)
                    times[name] = t
                    if name != "power":  # power may stop near sigma_2 on a small gap
                        worst = max(worst, abs(value - exact) / exact)
                best = min(times, key=times.get)
                cells = " | ".join(f"{1e6 * times[name]:.0f}" for name in runs)
                print(f"| {shape[0]}x{shape[1]} | {np.dtype(dtype).name} | {cells} | {best} | "
                      f"{worst:.1e} |")
    print()
    print(f"auto uses the Gram kernel for min(m, n) <= {SVD_CUTOFF} and Lanczos above.")
    print()
    overhead(repeats)
    print()
    basis_study(2048 if not args.quick else 512)


def hard_matrix(n: int, ratio: float, rng: np.random.Generator) -> np.ndarray:
    """U diag(s) V^T with Haar U, V: s = 1, ratio, then evenly spread below ratio."""
    u, _ = np.linalg.qr(rng.standard_normal((n, n)))
    v, _ = np.linalg.qr(rng.standard_normal((n, n)))
    s = np.concatenate([[1.0, ratio], np.linspace(ratio - 1e-3, 0.0, n - 2)])
    return (u * s) @ v.T


def basis_study(n: int) -> None:
    """Lanczos products and time against the basis size (the thick restart keeps half)."""
    rng = np.random.default_rng(2)
    cases = [(f"Gaussian {n}x{n}, tol 1e-6", rng.standard_normal((n, n)), 1e-6),
             (f"Gaussian {n}x{n}, tol 1e-10", None, 1e-10),
             (f"sigma_2/sigma_1 = 0.999, {n}x{n}, tol 1e-8", hard_matrix(n, 0.999, rng), 1e-8)]
    cases[1] = (cases[1][0], cases[0][1], 1e-10)
    sizes = (16, 24, 32, 48, 64, 96, 128)
    print("| matrix | " + " | ".join(f"basis {k}" for k in sizes) + " |")
    print("| --- |" + " ---: |" * len(sizes))
    saved = _rules.BASIS_VECTORS
    try:
        for name, a, tol in cases:
            cells = []
            for k in sizes:
                _rules.BASIS_VECTORS = k
                t, est = best_time(lambda a=a, tol=tol: sn.estimate(a, "lanczos", tol=tol,
                                                                   seed=0), 3)
                cells.append(f"{est.iterations} / {1e3 * t:.0f} ms")
            print(f"| {name} | " + " | ".join(cells) + " |")
    finally:
        _rules.BASIS_VECTORS = saved
    print()
    print("(cells: products / best-of-3 time)")


def overhead(repeats: int) -> None:
    """The cost of one call on a 32 x 32 float64 matrix: the public functions against the core
    call alone (the difference is the Python layer) and numpy.linalg.norm(A, 2)."""
    a = np.random.default_rng(1).standard_normal((32, 32))
    calls = 2000

    def per_call(fn) -> float:
        t, _ = best_time(lambda: [fn() for _ in range(calls)], max(3, repeats // 4))
        return 1e6 * t / calls

    tol = max(1e-6, tol_floor(a.dtype, 32, 32))
    rows = [
        ("specnorm.sigma(A)", per_call(lambda: sn.sigma(a))),
        ("specnorm.estimate(A)", per_call(lambda: sn.estimate(a))),
        ("the core call alone", per_call(
            lambda: _core.estimate_small(a, tol, default_maxiter(32, 32), 0, None, False))),
        ("numpy.linalg.norm(A, 2)", per_call(lambda: np.linalg.norm(a, 2))),
    ]
    print("| one call on 32x32 float64 | time per call [us] |")
    print("| --- | ---: |")
    for name, us in rows:
        print(f"| {name} | {us:.1f} |")


if __name__ == "__main__":
    main()
