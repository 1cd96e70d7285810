"""specnorm: the spectral norm (largest singular value) of a matrix, fast and with a bracket.

>>> import numpy as np, specnorm
>>> round(specnorm.sigma(np.array([[1.0, -1.0], [-1.0, 1.0]]), method="lanczos", seed=0), 12)
2.0
"""

from ._api import backends, estimate, rayleigh_quotient, sigma, sigma_many
from ._result import Estimate

__version__ = "0.1.0"

__all__ = ["Estimate", "__version__", "backends", "estimate", "rayleigh_quotient", "sigma",
           "sigma_many"]
