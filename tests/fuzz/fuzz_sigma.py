"""atheris harness: coverage-guided fuzzing of sigma, estimate and sigma_many with the oracle of
oracle.py (every input either gets a finite answer that agrees with the SVD, or the documented
exception).

Bounded run (what CI does):  python tests/fuzz/fuzz_sigma.py -runs=20000
Long run:                    python tests/fuzz/fuzz_sigma.py -runs=1000000 -max_len=600
Any other libFuzzer flag works as usual (-max_total_time=SECONDS, a corpus folder, ...).
"""

from __future__ import annotations

import sys
from pathlib import Path

import atheris

sys.path.insert(0, str(Path(__file__).parent))

with atheris.instrument_imports():
    import oracle


def one_input(data: bytes) -> None:
    if data[:1] == b"\xff":  # one byte in 256 drives sigma_many on a few matrices
        parts = [data[i:i + 40] for i in range(1, len(data), 40)][:5]
        oracle.check_many([oracle.decode(p)[1] for p in parts])
        return
    oracle.check(*oracle.decode(data))


def main() -> None:
    atheris.Setup(sys.argv, one_input)
    atheris.Fuzz()


if __name__ == "__main__":
    main()
