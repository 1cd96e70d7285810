"""specnorm.conv on a convolution layer: the exact circular spectrum and the operator path.

    python bench/bench_conv.py              # 64 -> 64 channels, 3 x 3 kernel, 32 x 32 inputs
    python bench/bench_conv.py --size 16    # smaller inputs

Prints a Markdown table: best-of-N wall time of singular_values_conv2d and sigma_conv2d (circular
padding, exact; target under one second), and of specnorm.sigma on Conv2dOperator with zero
padding 1 (stride 1 and 2), with one matvec + rmatvec for scale, the Lanczos steps, and the gap to
the circular norm on the padded grid (an upper bound of the zero-padded norm).
"""

from __future__ import annotations

import argparse

import numpy as np
from timing import best_time, host_line

import specnorm as sn
from specnorm.conv import Conv2dOperator, sigma_conv2d, singular_values_conv2d


class Counting:
    """Wraps an operator and counts its matvecs (one per Lanczos step)."""

    def __init__(self, op: Conv2dOperator) -> None:
        self.op, self.shape, self.dtype, self.steps = op, op.shape, op.dtype, 0

    def matvec(self, x: np.ndarray) -> np.ndarray:
        self.steps += 1
        return self.op.matvec(x)

    def rmatvec(self, y: np.ndarray) -> np.ndarray:
        return self.op.rmatvec(y)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--channels", type=int, default=64)
    parser.add_argument("--size", type=int, default=32)
    parser.add_argument("--tol", type=float, default=1e-6)
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    c, hw = args.channels, (args.size, args.size)
    # He-initialized weights, as a freshly initialized layer has.
    k = np.random.default_rng(0).standard_normal((c, c, 3, 3)) * np.sqrt(2.0 / (9 * c))
    n = c * hw[0] * hw[1]

    t_sv, s = best_time(lambda: singular_values_conv2d(k, hw), args.repeats)
    t_sig, sig = best_time(lambda: sigma_conv2d(k, hw), args.repeats)
    padded = (hw[0] + 2, hw[1] + 2)
    bound = sigma_conv2d(k, padded)
    print(f"Setup: kernel {c} -> {c} channels 3 x 3, inputs {hw[0]} x {hw[1]} "
          f"({n} x {n} circular matrix), float64, tol={args.tol:g}; {host_line()}")
    print()
    print("| computation | time [s] | Lanczos steps | sigma_1 | note |")
    print("| --- | ---: | ---: | ---: | --- |")
    print(f"| singular_values_conv2d (circular, all {s.size} values) | {t_sv:.3f} | - | "
          f"{s[0]:.6f} | exact |")
    print(f"| sigma_conv2d (circular) | {t_sig:.3f} | - | {sig:.6f} | exact |")
    for stride in (1, 2):
        op = Conv2dOperator(k, hw, stride=stride, padding=1)
        x = np.random.default_rng(1).standard_normal(op.shape[1])
        t_mv, _ = best_time(lambda op=op, x=x: op.rmatvec(op.matvec(x)), 20)
        counting = Counting(op)
        sn.sigma(counting, tol=args.tol, seed=0)
        t_op, est = best_time(lambda op=op: sn.sigma(op, tol=args.tol, seed=0),
                              max(1, args.repeats // 2))
        print(f"| one matvec + rmatvec (padding 1, stride {stride}) | {t_mv:.4f} | - | - | "
              f"for scale |")
        print(f"| specnorm.sigma(Conv2dOperator) (padding 1, stride {stride}) | {t_op:.3f} | "
              f"{counting.steps} | {est:.6f} | "
              f"{(bound - est) / bound:.2%} below sigma_conv2d(K, {padded}) = {bound:.6f} |")


if __name__ == "__main__":
    main()
