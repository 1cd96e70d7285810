"""specnorm: the spectral norm (largest singular value) of a matrix, fast and with guarantees."""

__version__ = "0.1.0"
