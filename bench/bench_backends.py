"""The backends against each other on the same inputs, in the same run.

    python bench/bench_backends.py            # cpp vs numpy: 3000 x 3000 and 6000 x 1500
    python bench/bench_backends.py --quick    # 800 x 800 and 1600 x 400, a few seconds
    python bench/bench_backends.py --gpu      # also cupy vs cupy.linalg.norm(A, 2) (needs CuPy
                                              # and a CUDA device; 4096 x 4096 and 8192 x 2048)

Prints Markdown tables: best-of-N wall time per backend and method, the ratio numpy / cpp
measured in this run, the products used and the relative error against the exact value. With
--gpu, the cupy backend against cupy.linalg.norm(A, 2) (the GPU's exact SVD) on the same device
array, timed with the device synchronised, and the device named.
"""

from __future__ import annotations

import argparse
from typing import Any

import numpy as np
from timing import best_time, host_line

import specnorm as sn


def matrix(shape: tuple[int, int], dtype: Any, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).standard_normal(shape).astype(dtype)


def host_table(shapes: list[tuple[int, int]], tol: float, repeats: int) -> None:
    print(f"cpp against numpy (tol={tol:g}, best of {repeats}; ratio = numpy time / cpp time)")
    print()
    print("| matrix | dtype | method | cpp [s] | numpy [s] | numpy / cpp | products cpp / numpy "
          "| rel. error cpp / numpy |")
    print("| --- | --- | --- | ---: | ---: | ---: | ---: | ---: |")
    for shape in shapes:
        for dtype in (np.float64, np.float32):
            a = matrix(shape, dtype)
            exact = float(np.linalg.norm(a.astype(np.float64), 2))
            for method in ("lanczos", "rayleigh", "power"):
                rows = {}
                for backend in ("cpp", "numpy"):
                    rows[backend] = best_time(
                        lambda a=a, b=backend, m=method: sn.estimate(a, m, tol=tol, seed=0,
                                                                     backend=b),
                        repeats if method != "power" else 1)
                (tc, ec), (tn, en) = rows["cpp"], rows["numpy"]
                errors = [abs(e.sigma - exact) / exact for e in (ec, en)]
                print(f"| {shape[0]} x {shape[1]} | {np.dtype(dtype).name} | {method} | "
                      f"{tc:.3f} | {tn:.3f} | {tn / tc:.1f} | {ec.iterations} / {en.iterations} | "
                      f"{errors[0]:.1e} / {errors[1]:.1e} |")


def gpu_table(shapes: list[tuple[int, int]], tol: float, repeats: int) -> None:
    import cupy as cp

    props = cp.cuda.runtime.getDeviceProperties(cp.cuda.Device().id)
    name = props["name"].decode() if isinstance(props["name"], bytes) else props["name"]
    sync = cp.cuda.Device().synchronize
    print()
    print(f"cupy backend against cupy.linalg.norm(A, 2) on {name} (CuPy {cp.__version__}, "
          f"tol={tol:g}, best of {repeats})")
    print()
    print("| matrix | dtype | method | specnorm [s] | cupy.linalg.norm [s] | speed-up | products "
          "| ms / product | rel. error |")
    print("| --- | --- | --- | ---: | ---: | ---: | ---: | ---: | ---: |")
    for shape in shapes:
        for dtype in (np.float32, np.float64):
            a = cp.asarray(matrix(shape, dtype))
            t_ref, ref = best_time(lambda a=a: float(cp.linalg.norm(a, 2)), 2, sync)
            exact = float(np.linalg.norm(cp.asnumpy(a).astype(np.float64), 2)) \
                if shape[0] * shape[1] <= 1 << 24 else ref
            for method in ("lanczos", "power"):
                sn.estimate(a, method, tol=tol, seed=0)  # warm-up: kernels compile once
                t, est = best_time(lambda a=a, m=method: sn.estimate(a, m, tol=tol, seed=0),
                                   repeats, sync)
                print(f"| {shape[0]} x {shape[1]} | {np.dtype(dtype).name} | {method} | "
                      f"{t:.4f} | {t_ref:.3f} | {t_ref / t:.1f} | {est.iterations} | "
                      f"{1e3 * t / est.iterations:.3f} | {abs(est.sigma - exact) / exact:.1e} |")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--gpu", action="store_true")
    parser.add_argument("--tol", type=float, default=1e-6)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    print(f"Host: {host_line()}, NumPy {np.__version__}")
    print()
    shapes = [(800, 800), (1600, 400)] if args.quick else [(3000, 3000), (6000, 1500)]
    host_table(shapes, args.tol, args.repeats)
    if args.gpu:
        gpu_table([(4096, 4096), (8192, 2048)], args.tol, args.repeats)


if __name__ == "__main__":
    main()
