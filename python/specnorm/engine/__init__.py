"""The Python twin of the C++ core (cpp/specnorm/), written once against the array API standard
and batched: it runs the NumPy fallback, the CuPy backend, torch tensors and matrix-free
operators. One file per header of the core:

==============  ====================  ===============================================
module          twin of               what it holds
==============  ====================  ===============================================
operator        operator.hpp          batched operators (dense stack, sparse) and
                                      the row-wise vector algebra
result          result.hpp            Options, the run's state, the certification
power           power.hpp             power iteration
lanczos         lanczos.hpp           Golub-Kahan-Lanczos with thick restarts
ritz            ritz.hpp              the top Ritz pair of the projected matrix
rayleigh        rayleigh.hpp          Rayleigh-quotient iteration (MINRES inner solves)
small           small.hpp             the Gram kernel for small matrices
bounds          bounds.hpp            the certain bound from the entries
svd             (none)                the exact reference from the library's SVD
==============  ====================  ===============================================

Each module starts with its intended differences from its twin; tests/test_parity.py runs
every method on both from the same start vectors and checks the same answers and product
counts. Everything takes its array namespace from the operator, so the device never changes:
only scalars (and the small projected problems) cross to the host inside a loop.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .lanczos import lanczos
from .operator import Operator, SparseOperator, StackOperator
from .power import power
from .rayleigh import rayleigh, rayleigh_quotient
from .result import Options, Run
from .small import gram_power

__all__ = ["METHODS", "Operator", "Options", "Run", "SparseOperator", "StackOperator", "solve"]

#: The iterative methods by name ("gram": the small-matrix kernel, reported as "power").
METHODS = {"power": power, "lanczos": lanczos, "rayleigh": rayleigh, "gram": gram_power}


def solve(op: Operator, method: str, v0: Any, opt: Options, limit: Any, hint: Any,
          seed: Any) -> Run:
    """``method`` on every matrix of ``op`` from the rows of ``v0`` (count, n), with each matrix's
    product budget ``limit``, norm hint ``hint`` (a rough size of sigma_1, > 0) and ``seed`` (for
    the fresh starts a null-space start needs), all of one number or one per matrix. Returns the
    run: host arrays per matrix, and ``run.vectors(op)`` for u and v."""
    count = op.count
    run = Run(count, np.broadcast_to(limit, (count,)), np.broadcast_to(hint, (count,)),
              np.broadcast_to(seed, (count,)))
    if method == "gram" and not isinstance(op, StackOperator):
        raise ValueError("the Gram kernel needs the entries of a dense matrix")
    METHODS[method](op, np.arange(count), v0, opt, run)
    return run


__all__ += ["rayleigh_quotient"]
