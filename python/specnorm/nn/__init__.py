"""Deep-learning uses of the spectral norm, on NumPy and CuPy arrays with one implementation.

* :class:`SpectralNorm`: spectral normalization ``W / sigma(W)`` by the power iteration that
  ``torch.nn.utils.parametrizations.spectral_norm`` runs, with a converged warm start, an
  optional residual target and a bracket on ``sigma_1``.
* :func:`spectral_penalty`: the regularizer ``lam / 2 * sigma_1(W)^2`` with its gradient.
* :func:`lipschitz_bound`: the product of the layers' spectral norms, a global Lipschitz bound.
* :func:`local_lipschitz`: the spectral norm of a ReLU network's Jacobian at a point,
  matrix-free.

The array code takes its namespace from ``array_api_compat.array_namespace``, so the same
functions serve NumPy, CuPy and (through :mod:`specnorm.torch`) PyTorch tensors.
"""

from __future__ import annotations

# isort: off
# The public names in the order of the reference page (mkdocstrings' members_order: source).
from .spectral_norm import SpectralNorm
from .penalty import spectral_penalty
from .lipschitz import lipschitz_bound, local_lipschitz

# isort: on
# Helpers and constants shared with specnorm.torch, importable from specnorm.nn as before.
from ._checks import check_dim as check_dim
from ._checks import check_power_options as check_power_options
from ._checks import matrix_to_weight as matrix_to_weight
from ._checks import weight_to_matrix as weight_to_matrix
from .power import MAX_EXTRA_STEPS as MAX_EXTRA_STEPS
from .power import WARMUP_TOL as WARMUP_TOL
from .power import certain_upper as certain_upper
from .power import power_iterate as power_iterate
from .power import warm_start as warm_start

__all__ = ["SpectralNorm", "lipschitz_bound", "local_lipschitz", "spectral_penalty"]
