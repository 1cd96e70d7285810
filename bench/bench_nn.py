"""One spectral-normalization step: specnorm.nn.SpectralNorm against PyTorch's parametrization.

    python bench/bench_nn.py              # 4096 x 4096 float32 weight, CPU
    python bench/bench_nn.py --size 1024

Both run one training-mode step (one power step and W / sigma) on the same weight from the
same warm state, in the same run; best-of-N wall time and the ratio specnorm / torch (below 1:
specnorm is faster).
"""

from __future__ import annotations

import argparse

import numpy as np
from timing import best_time, host_line

from specnorm.nn import SpectralNorm


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=4096)
    parser.add_argument("--repeats", type=int, default=20)
    args = parser.parse_args()
    n = args.size
    w = np.random.default_rng(0).standard_normal((n, n)).astype(np.float32)

    layer = SpectralNorm(seed=0)
    layer(w)  # warm-up: converged u, v
    t_sn, _ = best_time(lambda: layer(w), args.repeats)
    bounded = SpectralNorm(seed=0, bounds=True)
    bounded(w)
    t_bounds, _ = best_time(lambda: bounded(w), args.repeats)

    print(f"Setup: {n} x {n} float32 weight, one training-mode step after warm-up, best of "
          f"{args.repeats}; {host_line()}")
    print()
    print("| implementation | time [ms] | ratio specnorm / torch |")
    print("| --- | ---: | ---: |")
    try:
        import torch
        from torch.nn.utils.parametrizations import spectral_norm
    except ImportError:
        print(f"| specnorm.nn.SpectralNorm | {1e3 * t_sn:.2f} | - (torch not installed) |")
        return
    module = torch.nn.Linear(n, n, bias=False)
    with torch.no_grad():
        module.weight.copy_(torch.from_numpy(w))
    spectral_norm(module)  # 15 power steps at registration
    module.train()

    def torch_step() -> torch.Tensor:
        with torch.no_grad():
            return module.weight

    t_torch, _ = best_time(torch_step, args.repeats)
    print(f"| torch parametrizations.spectral_norm ({torch.get_num_threads()} threads) | "
          f"{1e3 * t_torch:.2f} | 1.00 |")
    print(f"| specnorm.nn.SpectralNorm | {1e3 * t_sn:.2f} | {t_sn / t_torch:.2f} |")
    print(f"| specnorm.nn.SpectralNorm(bounds=True) | {1e3 * t_bounds:.2f} | "
          f"{t_bounds / t_torch:.2f} |")


if __name__ == "__main__":
    main()
