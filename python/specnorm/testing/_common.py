"""What the modules of specnorm.testing share: the dtypes they support, the range of the seeds
they draw for NumPy's generator, and the argument checks of the strategies."""

from __future__ import annotations

from typing import Any

import numpy as np
from hypothesis import strategies as st
from hypothesis.errors import InvalidArgument
from numpy.typing import DTypeLike

_DTYPES: tuple[np.dtype[Any], ...] = tuple(
    np.dtype(t) for t in (np.float32, np.float64, np.complex64, np.complex128)
)

# Hypothesis draws the seed of NumPy's generator for the Haar factors from this range.
_SEED_RANGE = (0, 2**32 - 1)


# ---------------------------------------------------------------------------------------
# Argument checks shared by the strategies


def _check_dimension(value: Any, what: str) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
        raise InvalidArgument(f"{what} must be an int, not {value!r}")
    if value < 0:
        raise InvalidArgument(f"{what} must be non-negative, not {value}")
    return int(value)


def _check_shape(shape: Any) -> tuple[int, ...]:
    if not isinstance(shape, (tuple, list)) or len(shape) < 2:
        raise InvalidArgument(f"shape must be a tuple (..., m, n) of ints, not {shape!r}")
    return tuple(_check_dimension(d, "every dimension of shape") for d in shape)


def _check_dtype(dtype: Any) -> np.dtype[Any]:
    try:
        resolved = np.dtype(dtype)
    except TypeError as exc:
        raise InvalidArgument(f"dtype {dtype!r} is not a NumPy dtype") from exc
    if resolved not in _DTYPES:
        raise InvalidArgument(
            f"dtype {resolved} is not supported; choose from {[str(d) for d in _DTYPES]}"
        )
    return resolved


def _dtype_strategy(dtype: DTypeLike | st.SearchStrategy[Any] | None) -> st.SearchStrategy[Any]:
    if dtype is None:
        return st.sampled_from(_DTYPES)
    if isinstance(dtype, st.SearchStrategy):
        return dtype.map(_check_dtype)
    return st.just(_check_dtype(dtype))


def _real_dtype(dtype: np.dtype[Any]) -> np.dtype[Any]:
    return np.dtype(np.finfo(dtype).dtype)
