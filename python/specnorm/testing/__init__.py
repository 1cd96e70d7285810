"""Property-based verification of spectral-norm estimators, built on Hypothesis.

This module is for anyone who writes or uses an estimator of the spectral norm
``sigma(A)``, the largest singular value of a matrix. It provides

* Hypothesis strategies of spectra (:func:`singular_values`) and of matrices whose
  singular values are known exactly by construction (:func:`matrices`), covering the
  spectra and singular vectors that make estimators go wrong;
* :func:`check_norm_estimator`, which tries to falsify any callable ``estimator(A) -> float``
  and reports a shrunk counterexample;
* :func:`check_lipschitz_bound`, which tries to falsify a claimed Lipschitz constant of any
  array function (a neural network, for instance);
* :func:`matrix_with_spectrum`, the deterministic builder ``U diag(s) V^H`` behind the
  strategies, for hand-written test cases.

Hypothesis is a dependency of this module only: ``import specnorm`` does not import it.
Install it with ``pip install "pyspecnorm[testing]"`` (``pip install ".[testing]"`` in a
source checkout).
"""

from __future__ import annotations

from .._install import install_hint

try:
    # Every name that the modules of this package take from Hypothesis: without Hypothesis, or
    # with one that lacks any of them, the import fails here, with the install hint.
    from hypothesis import (  # noqa: F401
        HealthCheck,
        Phase,
        Verbosity,
        assume,
        currently_in_test_context,
        given,
        settings,
        target,
    )
    from hypothesis import seed as _run_with_seed  # noqa: F401
    from hypothesis import strategies as st  # noqa: F401
    from hypothesis.errors import Flaky, InvalidArgument  # noqa: F401
except ImportError as exc:
    raise ImportError(
        "specnorm.testing is built on Hypothesis, which is not installed here; "
        f"install it with: {install_hint('testing')}"
    ) from exc

# isort: off
# In the order of the reference page (docs/reference/testing.md), which lists the members of this
# package in the order of the lines that import them here.
from .spectra import SPECTRUM_KINDS, MATRIX_KINDS, KnownSpectrum
from .estimator import default_rtol
from .spectra import singular_values
from .builders import matrix_with_spectrum, matrices
from .estimator import check_norm_estimator
from .lipschitz import check_lipschitz_bound
# isort: on

# Used by the tests.
from .estimator import _norm_failure as _norm_failure

__all__ = [
    "MATRIX_KINDS",
    "SPECTRUM_KINDS",
    "KnownSpectrum",
    "check_lipschitz_bound",
    "check_norm_estimator",
    "default_rtol",
    "matrices",
    "matrix_with_spectrum",
    "singular_values",
]

# The public functions live in the submodules, where doctest.testmod(specnorm.testing) does not
# look for the examples in their docstrings: it finds them here.
__test__ = {
    "default_rtol": default_rtol,
    "singular_values": singular_values,
    "matrix_with_spectrum": matrix_with_spectrum,
    "matrices": matrices,
    "check_norm_estimator": check_norm_estimator,
    "check_lipschitz_bound": check_lipschitz_bound,
}
