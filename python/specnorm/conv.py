"""Spectral norms of 2-D convolution layers: exact for circular padding, matrix-free otherwise.

A convolution layer with kernel ``K`` of shape ``(c_out, c_in, kh, kw)`` (PyTorch's layout; the
layer computes a cross-correlation, as ``torch.nn.functional.conv2d`` does) is a linear map from
inputs of shape ``(c_in, H, W)`` to outputs of shape ``(c_out, H_out, W_out)``. This module gives

* :func:`singular_values_conv2d` and :func:`sigma_conv2d`: every singular value, or the largest,
  of the map with **circular** padding and stride 1, exactly, from the kernel's 2-D DFT
  (Sedghi, Gupta & Long, "The singular values of convolutional layers", ICLR 2019);
* :class:`Conv2dOperator`: the map itself, matrix-free, for any stride and zero padding (or
  circular padding, stride 1), with its exact adjoint (the transposed convolution);
  :func:`specnorm.sigma` and :func:`specnorm.estimate` take it as they take any matrix-free
  operator (Lanczos on its products), e.g. ``specnorm.sigma(Conv2dOperator(K, (32, 32),
  padding=1))``.

Vectors are the inputs and outputs flattened in C order: ``x.reshape(c_in, H, W)`` is the image.
The module needs NumPy only.
"""

from __future__ import annotations

import numbers
from collections.abc import Sequence
from typing import Any

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view
from numpy.typing import ArrayLike, NDArray

__all__ = [
    "Conv2dOperator",
    "sigma_conv2d",
    "singular_values_conv2d",
]

#: Conv2dOperator.to_dense refuses to build a matrix with more entries than this (512 MiB in
#: float64).
DENSE_LIMIT = 1 << 26



# --- validation ---------------------------------------------------------------------------------

def _as_kernel(kernel: Any) -> NDArray[np.floating]:
    """The kernel as a read-only float32/float64 array of shape (c_out, c_in, kh, kw) (a copy)."""
    try:
        k = np.asarray(kernel)
    except Exception as exc:  # ragged nested lists and the like
        raise TypeError(f"kernel cannot be read as a numeric array: {exc}") from exc
    if k.dtype == np.bool_ or k.dtype.kind not in "iuf":
        raise TypeError(f"kernel must be real: float32, float64 or an integer dtype (promoted to "
                        f"float64), got dtype {k.dtype}")
    if k.dtype.kind in "iu":
        k = k.astype(np.float64)
    elif k.dtype not in (np.float32, np.float64):
        raise TypeError(f"kernel must be float32 or float64 (or an integer dtype), got dtype "
                        f"{k.dtype}; convert it with kernel.astype(numpy.float64)")
    if k.ndim != 4:
        raise ValueError(f"kernel must be 4-D with shape (c_out, c_in, kh, kw), got shape "
                         f"{k.shape}")
    if min(k.shape) < 1:
        raise ValueError(f"kernel must have every dimension >= 1, got shape {k.shape}")
    if not np.isfinite(k).all():
        raise ValueError("kernel contains NaN or Inf; its singular values need finite entries")
    k = np.array(k, dtype=k.dtype.newbyteorder("="), order="C", copy=True)
    k.flags.writeable = False
    return k


def _is_int(x: Any) -> bool:
    return isinstance(x, numbers.Integral) and not isinstance(x, (bool, np.bool_))


def _pair(value: Any, name: str, minimum: int) -> tuple[int, int]:
    """An int or a pair of ints, each >= minimum, as a pair of Python ints."""
    items = (value, value) if _is_int(value) else value
    if (not isinstance(items, (Sequence, np.ndarray)) or len(items) != 2
            or not all(_is_int(v) for v in items)):
        raise TypeError(f"{name} must be an integer or a pair of integers, got {value!r}")
    a, b = int(items[0]), int(items[1])
    if a < minimum or b < minimum:
        raise ValueError(f"{name} must be at least {minimum}, got {value!r}")
    return a, b


def _input_hw(input_hw: Any, kernel: np.ndarray, circular: bool) -> tuple[int, int]:
    if _is_int(input_hw):
        raise TypeError(f"input_hw must be a pair (H, W) of integers, got {input_hw!r}")
    h, w = _pair(input_hw, "input_hw", 1)
    kh, kw = kernel.shape[2:]
    if circular and (h < kh or w < kw):
        raise ValueError(f"circular padding needs the input at least as large as the kernel: "
                         f"input_hw=({h}, {w}) but the kernel is {kh} x {kw}")
    return h, w


# --- exact singular values for circular padding ------------------------------------------------

def _frequency_singular_values(k: np.ndarray, h: int, w: int) -> np.ndarray:
    """Singular values of the c_out x c_in DFT matrices at the frequencies (u, v), 0 <= u < H,
    0 <= v <= W // 2 (the others are complex conjugates): shape (H, W // 2 + 1, min(c))."""
    khat = np.fft.rfft2(k.astype(np.float64, copy=False), s=(h, w), axes=(2, 3))
    mats = np.moveaxis(khat, (0, 1), (2, 3))  # (H, W//2 + 1, c_out, c_in)
    return np.linalg.svd(mats, compute_uv=False)


def singular_values_conv2d(kernel: ArrayLike, input_hw: Sequence[int]) -> NDArray[np.float64]:
    """Every singular value of a 2-D convolution with circular padding and stride 1, exactly.

    The map is ``y[o, i, j] = sum_{c, a, b} K[o, c, a, b] x[c, (i + a) mod H, (j + b) mod W]``
    from ``x`` of shape ``(c_in, H, W)`` to ``y`` of shape ``(c_out, H, W)``: the cross-correlation
    of ``torch.nn.functional.conv2d`` on the input padded circularly by ``kh - 1`` rows below and
    ``kw - 1`` columns to the right. Circular padding of ``(kh - 1) // 2`` on each side (PyTorch's
    ``padding_mode="circular"`` for odd kernels) only shifts the output cyclically, which changes
    no singular value.

    Parameters
    ----------
    kernel : array_like, shape (c_out, c_in, kh, kw)
        Real and finite: float32 or float64; integer dtypes are promoted to float64. Not modified.
    input_hw : (int, int)
        The input's height and width ``(H, W)``, with ``H >= kh`` and ``W >= kw``.

    Returns
    -------
    numpy.ndarray
        float64, 1-D, of length ``H * W * min(c_in, c_out)``, sorted in decreasing order: the
        singular values of the ``(c_out*H*W) x (c_in*H*W)`` matrix of the map with multiplicity,
        leaving out only the ``H * W * |c_out - c_in|`` zeros that its larger dimension forces.
        Computed in float64 whatever the kernel's dtype, each to within a few ``eps * sigma_1``
        of the exact value (the backward error of the FFT and of LAPACK's SVD).

    Raises
    ------
    TypeError
        The kernel is not real (complex, bool, object) or ``input_hw`` is not two integers.
    ValueError
        The kernel is not 4-D, has an empty dimension or contains NaN or Inf; or ``input_hw`` is
        smaller than the kernel.

    Notes
    -----
    The 2-D DFT over the spatial axes block-diagonalizes the map: at each of the ``H * W``
    frequencies it acts by the ``c_out x c_in`` matrix of the kernel's zero-padded DFT, so the
    spectrum is the union of those matrices' spectra. A real kernel's DFT at ``(-u, -v)`` is the
    complex conjugate of the one at ``(u, v)``, with the same singular values, so only the
    ``H * (W // 2 + 1)`` frequencies of ``numpy.fft.rfft2`` are decomposed (one batched
    ``numpy.linalg.svd``) and the conjugate pairs are counted twice.

    Examples
    --------
    >>> import numpy as np
    >>> from specnorm.conv import singular_values_conv2d
    >>> singular_values_conv2d(np.ones((1, 1, 2, 2)), (2, 2)).round(12)
    array([4., 0., 0., 0.])
    """
    k = _as_kernel(kernel)
    h, w = _input_hw(input_hw, k, circular=True)
    s = _frequency_singular_values(k, h, w)
    reps = np.full(s.shape[1], 2)
    reps[0] = 1
    if w % 2 == 0:
        reps[-1] = 1  # the Nyquist column v = W/2 is its own conjugate
    values = np.sort(np.repeat(s, reps, axis=1), axis=None)[::-1]
    return np.ascontiguousarray(values)


def sigma_conv2d(kernel: ArrayLike, input_hw: Sequence[int]) -> float:
    """The spectral norm of a 2-D convolution with circular padding and stride 1, exactly.

    The largest of :func:`singular_values_conv2d` (the same computation, so the two agree to the
    last bit), with the same parameters, exceptions and accuracy.

    Returns
    -------
    float
        ``sigma_1``, the operator 2-norm of the map on ``(c_in, H, W)`` inputs.

    Examples
    --------
    >>> import numpy as np
    >>> from specnorm.conv import sigma_conv2d
    >>> sigma_conv2d(np.array([[[[1.0, -1.0]]]]), (3, 4))
    2.0
    """
    k = _as_kernel(kernel)
    h, w = _input_hw(input_hw, k, circular=True)
    return float(_frequency_singular_values(k, h, w).max())


# --- the matrix-free operator ------------------------------------------------------------------

class Conv2dOperator:
    """A 2-D convolution layer as a matrix-free linear operator, with its exact adjoint.

    The map from ``x`` of shape ``(c_in, H, W)``, flattened in C order to length
    ``n = c_in * H * W``, to ``y = conv2d(x, kernel, stride, padding)`` of shape
    ``(c_out, H_out, W_out)``, flattened to length ``m = c_out * H_out * W_out``: the
    cross-correlation of ``torch.nn.functional.conv2d`` (no bias, dilation 1, groups 1) with
    ``H_out = (H + 2 * padding_h - kh) // stride_h + 1`` (and likewise ``W_out``).

    With ``circular=True`` the input is instead padded circularly, as in
    :func:`singular_values_conv2d`: stride 1, ``padding`` 0, ``(H_out, W_out) = (H, W)``, and
    ``y[o, i, j] = sum K[o, c, a, b] x[c, (i + a) mod H, (j + b) mod W]``.

    Parameters
    ----------
    kernel : array_like, shape (c_out, c_in, kh, kw)
        Real and finite: float32 or float64; integer dtypes are promoted to float64. A read-only
        copy is kept, so later changes to the caller's array do not affect the operator.
    input_hw : (int, int)
        ``(H, W)``, each at least 1 (at least the kernel's size when ``circular``).
    stride : int or (int, int)
        At least 1; must be 1 when ``circular``.
    padding : int or (int, int)
        Zero padding on each side, at least 0; must be 0 when ``circular``. The padded input must
        be at least as large as the kernel, so that the output is not empty.
    circular : bool
        Circular instead of zero padding.

    Attributes
    ----------
    shape : (int, int)
        ``(m, n)``.
    dtype : numpy.dtype
        The kernel's dtype (float32 or float64). Products are computed in the result dtype of the
        kernel and the vector: a float64 vector gives a float64 product with a float32 kernel.
    in_shape, out_shape : (int, int, int)
        ``(c_in, H, W)`` and ``(c_out, H_out, W_out)``.

    Raises
    ------
    TypeError, ValueError
        As :func:`singular_values_conv2d` for the kernel and ``input_hw``; a ``TypeError`` for a
        stride or padding that is not an integer or a pair of integers; a ``ValueError`` for a
        stride below 1, a negative padding, an empty output, or a stride or padding with
        ``circular=True``.

    Examples
    --------
    >>> import numpy as np
    >>> from specnorm.conv import Conv2dOperator
    >>> op = Conv2dOperator(np.ones((2, 1, 3, 3)), (4, 4), stride=2, padding=1)
    >>> op.shape, op.out_shape
    ((8, 16), (2, 2, 2))
    >>> op.matvec(np.ones(16)).reshape(op.out_shape)[0]
    array([[4., 6.],
           [6., 9.]])
    """

    def __init__(self, kernel: ArrayLike, input_hw: Sequence[int], stride: int | Sequence[int] = 1,
                 padding: int | Sequence[int] = 0, circular: bool = False) -> None:
        k = _as_kernel(kernel)
        circular = bool(circular)
        h, w = _input_hw(input_hw, k, circular)
        sh, sw = _pair(stride, "stride", 1)
        ph, pw = _pair(padding, "padding", 0)
        c_out, c_in, kh, kw = k.shape
        if circular:
            if (sh, sw) != (1, 1):
                raise ValueError(f"circular padding supports stride 1 only, got stride={stride!r}")
            if (ph, pw) != (0, 0):
                raise ValueError(f"circular padding takes no zero padding: padding must be 0, got "
                                 f"{padding!r}")
            h_out, w_out = h, w
        else:
            if h + 2 * ph < kh or w + 2 * pw < kw:
                raise ValueError(f"the output would be empty: the padded input "
                                 f"({h + 2 * ph} x {w + 2 * pw}) is smaller than the kernel "
                                 f"({kh} x {kw})")
            h_out = (h + 2 * ph - kh) // sh + 1
            w_out = (w + 2 * pw - kw) // sw + 1
        self.kernel = k
        self.input_hw = (h, w)
        self.output_hw = (h_out, w_out)
        self.stride = (sh, sw)
        self.padding = (ph, pw)
        self.circular = circular
        self.in_shape = (c_in, h, w)
        self.out_shape = (c_out, h_out, w_out)
        self.shape = (c_out * h_out * w_out, c_in * h * w)
        self.dtype = k.dtype

    def __repr__(self) -> str:
        pad = "circular" if self.circular else f"padding={self.padding}"
        return (f"Conv2dOperator(kernel {self.kernel.shape} {self.dtype}, input_hw={self.input_hw},"
                f" stride={self.stride}, {pad}; shape={self.shape})")

    # The padded input, as (rows, columns).
    def _padded_hw(self) -> tuple[int, int]:
        h, w = self.input_hw
        kh, kw = self.kernel.shape[2:]
        if self.circular:
            return h + kh - 1, w + kw - 1
        return h + 2 * self.padding[0], w + 2 * self.padding[1]

    def _block(self, x: Any, length: int, name: str, ndim: int) -> np.ndarray:
        arr = np.asarray(x)
        if arr.dtype.kind not in "biufc":
            raise TypeError(f"{name} must be numeric, got dtype {arr.dtype}")
        if arr.ndim != ndim or arr.shape[0] != length:
            want = f"({length},)" if ndim == 1 else f"({length}, k)"
            raise ValueError(f"{name} must have shape {want} for an operator of shape "
                             f"{self.shape}, got shape {arr.shape}")
        return arr

    def _forward(self, x: np.ndarray) -> np.ndarray:
        """(k, c_in, H, W) -> (k, c_out, H_out, W_out)."""
        kh, kw = self.kernel.shape[2:]
        if self.circular:
            xp = np.pad(x, ((0, 0), (0, 0), (0, kh - 1), (0, kw - 1)), mode="wrap")
        elif self.padding != (0, 0):
            ph, pw = self.padding
            xp = np.pad(x, ((0, 0), (0, 0), (ph, ph), (pw, pw)))
        else:
            xp = x
        sh, sw = self.stride
        windows = sliding_window_view(xp, (kh, kw), axis=(2, 3))[:, :, ::sh, ::sw]
        out = np.tensordot(windows, self.kernel, axes=([1, 4, 5], [1, 2, 3]))  # (k, Ho, Wo, co)
        return out.transpose(0, 3, 1, 2)

    def _adjoint(self, y: np.ndarray) -> np.ndarray:
        """(k, c_out, H_out, W_out) -> (k, c_in, H, W): the transposed convolution."""
        kh, kw = self.kernel.shape[2:]
        sh, sw = self.stride
        h_out, w_out = self.output_hw
        hp, wp = self._padded_hw()
        g = np.tensordot(self.kernel, y, axes=([0], [1]))  # (c_in, kh, kw, k, Ho, Wo)
        xp = np.zeros((y.shape[0], self.kernel.shape[1], hp, wp), dtype=g.dtype)
        for a in range(kh):
            for b in range(kw):
                xp[:, :, a:a + sh * (h_out - 1) + 1:sh, b:b + sw * (w_out - 1) + 1:sw] += (
                    g[:, a, b].transpose(1, 0, 2, 3))
        h, w = self.input_hw
        if self.circular:  # fold the wrapped rows and columns back onto the ones they copied
            xp[:, :, :kh - 1, :] += xp[:, :, h:, :]
            xp[:, :, :, :kw - 1] += xp[:, :, :, w:]
            return xp[:, :, :h, :w]
        ph, pw = self.padding
        return xp[:, :, ph:ph + h, pw:pw + w]

    def matvec(self, x: ArrayLike) -> np.ndarray:
        """``A @ x``: the convolution of ``x`` (shape ``(n,)``), flattened to shape ``(m,)``."""
        arr = self._block(x, self.shape[1], "x", 1)
        return self._forward(arr.reshape(1, *self.in_shape)).reshape(self.shape[0])

    def rmatvec(self, y: ArrayLike) -> np.ndarray:
        """``A.T @ y`` (the adjoint, ``A^H y`` for complex ``y``): the transposed convolution of
        ``y`` (shape ``(m,)``), flattened to shape ``(n,)``."""
        arr = self._block(y, self.shape[0], "y", 1)
        return self._adjoint(arr.reshape(1, *self.out_shape)).reshape(self.shape[1])

    def matmat(self, x: ArrayLike) -> np.ndarray:
        """``A @ X`` for ``X`` of shape ``(n, k)``: shape ``(m, k)``."""
        arr = self._block(x, self.shape[1], "X", 2)
        k = arr.shape[1]
        out = self._forward(arr.T.reshape(k, *self.in_shape))
        return out.reshape(k, self.shape[0]).T

    def rmatmat(self, y: ArrayLike) -> np.ndarray:
        """``A.T @ Y`` for ``Y`` of shape ``(m, k)``: shape ``(n, k)``."""
        arr = self._block(y, self.shape[0], "Y", 2)
        k = arr.shape[1]
        out = self._adjoint(arr.T.reshape(k, *self.out_shape))
        return out.reshape(k, self.shape[1]).T

    def to_dense(self) -> np.ndarray:
        """The explicit ``m x n`` matrix of the operator, in the kernel's dtype (for small sizes).

        Raises
        ------
        ValueError
            If the matrix would have more than ``DENSE_LIMIT`` (2**26) entries.
        """
        m, n = self.shape
        if m * n > DENSE_LIMIT:
            raise ValueError(f"to_dense would build a {m} x {n} matrix ({m * n} entries), more "
                             f"than DENSE_LIMIT = {DENSE_LIMIT}; use matvec/rmatvec instead")
        dense = np.empty((m, n), dtype=self.dtype)
        chunk = max(1, min(n, DENSE_LIMIT // (4 * max(n, m))))
        for start in range(0, n, chunk):
            stop = min(n, start + chunk)
            cols = np.zeros((n, stop - start), dtype=self.dtype)
            cols[np.arange(start, stop), np.arange(stop - start)] = 1
            dense[:, start:stop] = self.matmat(cols)
        return dense
