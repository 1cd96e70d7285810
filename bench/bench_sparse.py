"""specnorm on SciPy sparse matrices against scipy.sparse.linalg.svds, in the same run.

    python bench/bench_sparse.py            # 1,000,000 x 1,000,000 with 10,000,000 nonzeros
    python bench/bench_sparse.py --quick    # 100,000 x 100,000 with 1,000,000 nonzeros

Each matrix is ``scipy.sparse.random`` (uniformly placed entries; values uniform on [0, 1), as
scipy draws them, or standard normal) in CSR form. Methods, each timed best-of-N on the same
matrix:

  specnorm   specnorm.estimate(A, tol=tol) (auto: Lanczos on the core's CSR operator)
  arpack     scipy.sparse.linalg.svds(A, k=1, tol=tol) (ARPACK on A^H A, the default)
  propack    svds(..., solver="propack") where it converges

The error column is |sigma - ref| / ref with ref from specnorm at tol=1e-12, cross-checked
against ARPACK at the same tolerance (their difference is printed under the table). "products"
counts products with A or A^H (specnorm's iterations; for svds, counted through a
LinearOperator wrapper in a separate untimed run). The last column is the time of one
A x plus one A^H y with scipy's own CSR kernels, the cost floor of a step for both libraries.
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import scipy.sparse as sp
from scipy.sparse.linalg import LinearOperator, svds
from timing import best_time, host_line

import specnorm as sn


def make(n: int, nnz: int, values: str, dtype: str, seed: int = 0) -> sp.csr_matrix:
    rng = np.random.default_rng(seed)
    rvs = rng.standard_normal if values == "normal" else rng.random
    a = sp.random(n, n, density=nnz / n / n, format="csr", random_state=rng, data_rvs=rvs)
    return a.astype(dtype)


def count_products(a: sp.csr_matrix, **kw: object) -> int:
    calls = [0]

    def mv(x: np.ndarray) -> np.ndarray:
        calls[0] += 1
        return a @ x

    def rmv(y: np.ndarray) -> np.ndarray:
        calls[0] += 1
        return a.T.conj() @ y

    op = LinearOperator(a.shape, matvec=mv, rmatvec=rmv, dtype=a.dtype)
    svds(op, k=1, random_state=0, **kw)
    return calls[0]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--tol", type=float, default=1e-6)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--peer-repeats", type=int, default=2)
    args = parser.parse_args()
    n, nnz = (100_000, 1_000_000) if args.quick else (1_000_000, 10_000_000)
    print(f"Setup: scipy.sparse.random {n} x {n} with {nnz} nonzeros, CSR, tol={args.tol:g}; "
          f"{host_line()}")
    print()
    print("| values | dtype | method | time [s] | products | rel. error | ratio to specnorm "
          "| A x + A^H y [ms] |")
    print("| --- | --- | --- | ---: | ---: | ---: | ---: | ---: |")
    notes = []
    for values, dtype in (("uniform", "float64"), ("normal", "float64"), ("normal", "float32")):
        a = make(n, nnz, values, dtype)
        x = np.ones(n, dtype=dtype)
        t_pair, _ = best_time(lambda a=a, x=x: a.T.conj() @ (a @ x), 5)
        ref = sn.estimate(a, tol=1e-12, seed=1).sigma
        ref_arpack = float(svds(a.astype(np.float64), k=1, tol=1e-12, random_state=1,
                                return_singular_vectors=False)[0])
        notes.append(f"{values} {dtype}: specnorm and ARPACK at tol=1e-12 differ by "
                     f"{abs(ref - ref_arpack) / ref:.1e}")
        t_sn, est = best_time(lambda a=a: sn.estimate(a, tol=args.tol, seed=0), args.repeats)
        err = abs(est.sigma - ref) / ref
        print(f"| {values} | {dtype} | specnorm | {t_sn:.3f} | {est.iterations} | {err:.1e} | "
              f"1.00 | {1e3 * t_pair:.1f} |")
        for solver in ("arpack", "propack"):
            try:
                start = time.perf_counter()
                t, s = best_time(lambda a=a, solver=solver: svds(
                    a, k=1, tol=args.tol, solver=solver, random_state=0), args.peer_repeats)
                products = count_products(a, tol=args.tol, solver=solver)
            except Exception as exc:
                spent = time.perf_counter() - start
                print(f"| {values} | {dtype} | {solver} | failed after {spent:.1f} s: "
                      f"{type(exc).__name__} | - | - | - | - |")
                continue
            sigma = float(s[1][0])
            print(f"| {values} | {dtype} | {solver} | {t:.3f} | {products} | "
                  f"{abs(sigma - ref) / ref:.1e} | {t / t_sn:.2f} | {1e3 * t_pair:.1f} |")
    print()
    for note in notes:
        print(f"- {note}")


if __name__ == "__main__":
    main()
