"""specnorm.conv: the exact circular-convolution spectrum against the SVD of the unrolled matrix,
the matrix-free operator against a direct convolution and its adjoint identity, and the operator
path (Golub-Kahan-Lanczos) against the dense SVD."""

from __future__ import annotations

import numpy as np
import pytest

import specnorm as sn
from specnorm.conv import (
    Conv2dOperator,
    sigma_conv2d,
    singular_values_conv2d,
)

# (c_out, c_in, kh, kw, H, W): c_out != c_in both ways, non-square inputs, odd and even sizes
# (the Nyquist column of the rfft), 1 x 1 kernels and kernels as large as the input.
CIRCULAR_CASES = [
    (1, 1, 3, 3, 5, 5),
    (2, 3, 3, 3, 4, 6),
    (3, 2, 2, 3, 5, 4),
    (4, 4, 1, 1, 3, 5),
    (2, 5, 1, 1, 4, 4),
    (3, 2, 4, 3, 4, 3),  # the kernel as large as the input
    (1, 2, 3, 3, 3, 7),
    (2, 2, 2, 2, 6, 2),
    (5, 3, 3, 1, 7, 6),
]


def kernel(shape, seed=0, dtype=np.float64):
    return np.random.default_rng(seed).standard_normal(shape).astype(dtype)


def unrolled_circular(k: np.ndarray, h: int, w: int) -> np.ndarray:
    """The (c_out*H*W) x (c_in*H*W) matrix of circular cross-correlation, entry by entry."""
    c_out, c_in, kh, kw = k.shape
    a = np.zeros((c_out, h, w, c_in, h, w))
    for o in range(c_out):
        for i in range(h):
            for j in range(w):
                for c in range(c_in):
                    for p in range(kh):
                        for q in range(kw):
                            a[o, i, j, c, (i + p) % h, (j + q) % w] += k[o, c, p, q]
    return a.reshape(c_out * h * w, c_in * h * w)


def reference_conv(x: np.ndarray, k: np.ndarray, stride: int, padding: int) -> np.ndarray:
    """conv2d (cross-correlation) of x (c_in, H, W) by loops over output positions."""
    c_out, _, kh, kw = k.shape
    xp = np.pad(x, ((0, 0), (padding, padding), (padding, padding)))
    h_out = (xp.shape[1] - kh) // stride + 1
    w_out = (xp.shape[2] - kw) // stride + 1
    y = np.zeros((c_out, h_out, w_out))
    for o in range(c_out):
        for i in range(h_out):
            for j in range(w_out):
                patch = xp[:, i * stride:i * stride + kh, j * stride:j * stride + kw]
                y[o, i, j] = np.sum(patch * k[o])
    return y


# --- the exact spectrum (circular padding) ------------------------------------------------------

@pytest.mark.parametrize("case", CIRCULAR_CASES, ids=lambda c: "x".join(map(str, c)))
def test_singular_values_match_the_svd_of_the_unrolled_matrix(case):
    c_out, c_in, kh, kw, h, w = case
    k = kernel((c_out, c_in, kh, kw), seed=sum(case))
    dense = unrolled_circular(k, h, w)
    exact = np.linalg.svd(dense, compute_uv=False)[:h * w * min(c_in, c_out)]
    got = singular_values_conv2d(k, (h, w))
    assert got.shape == (h * w * min(c_in, c_out),) and got.dtype == np.float64
    assert np.all(np.diff(got) <= 0)
    np.testing.assert_allclose(got, exact, rtol=1e-10, atol=1e-12 * exact[0])
    assert sigma_conv2d(k, (h, w)) == got[0]
    np.testing.assert_allclose(Conv2dOperator(k, (h, w), circular=True).to_dense(), dense,
                               rtol=0, atol=1e-15)


def test_float32_and_integer_kernels_give_the_float64_spectrum_of_their_values():
    k32 = kernel((2, 3, 3, 3), seed=5, dtype=np.float32)
    np.testing.assert_array_equal(singular_values_conv2d(k32, (5, 6)),
                                  singular_values_conv2d(k32.astype(np.float64), (5, 6)))
    kint = np.arange(2 * 2 * 2 * 2).reshape(2, 2, 2, 2) - 7
    exact = np.linalg.svd(unrolled_circular(kint.astype(float), 3, 4), compute_uv=False)
    np.testing.assert_allclose(singular_values_conv2d(kint, (3, 4)), exact[:24], rtol=1e-10,
                               atol=1e-12 * exact[0])
    assert singular_values_conv2d([[[[2]]]], (2, 3)).tolist() == [2.0] * 6


def test_the_inputs_are_not_modified():
    k = kernel((2, 2, 3, 3))
    before = k.copy()
    op = Conv2dOperator(k, (4, 4), padding=1)
    singular_values_conv2d(k, (4, 4))
    x = np.ones(op.shape[1])
    op.matvec(x)
    op.rmatvec(np.ones(op.shape[0]))
    k[0, 0, 0, 0] = 100.0  # the operator kept its own copy
    np.testing.assert_array_equal(op.kernel, before)
    assert not op.kernel.flags.writeable and np.all(x == 1)


# --- the matrix-free operator -------------------------------------------------------------------

@pytest.mark.parametrize("stride", [1, 2, 3])
@pytest.mark.parametrize("padding", [0, 1, 2])
@pytest.mark.parametrize("shapes", [(3, 2, 3, 3, 7, 8), (2, 3, 2, 3, 5, 6), (2, 2, 1, 1, 4, 5)])
def test_operator_matches_a_direct_convolution_and_its_adjoint_identity(stride, padding, shapes):
    c_out, c_in, kh, kw, h, w = shapes
    k = kernel((c_out, c_in, kh, kw), seed=stride + 3 * padding)
    op = Conv2dOperator(k, (h, w), stride=stride, padding=padding)
    rng = np.random.default_rng(1)
    x = rng.standard_normal(op.shape[1])
    y = rng.standard_normal(op.shape[0])
    ref = reference_conv(x.reshape(c_in, h, w), k, stride, padding)
    assert op.out_shape == ref.shape and op.shape == (ref.size, x.size)
    ax = op.matvec(x)
    aty = op.rmatvec(y)
    np.testing.assert_allclose(ax, ref.ravel(), rtol=1e-12, atol=1e-12)
    assert ax.shape == (op.shape[0],) and aty.shape == (op.shape[1],)
    assert np.vdot(ax, y) == pytest.approx(np.vdot(x, aty), rel=1e-12, abs=1e-12)
    dense = op.to_dense()
    np.testing.assert_allclose(dense @ x, ax, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(dense.T @ y, aty, rtol=1e-12, atol=1e-12)
    xs = rng.standard_normal((op.shape[1], 3))
    ys = rng.standard_normal((op.shape[0], 3))
    np.testing.assert_allclose(op.matmat(xs), dense @ xs, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(op.rmatmat(ys), dense.T @ ys, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("case", [(2, 3, 3, 3, 5, 6), (3, 1, 2, 4, 4, 4), (1, 1, 1, 1, 2, 3)])
def test_circular_operator_adjoint_and_torch(case):
    c_out, c_in, kh, kw, h, w = case
    k = kernel((c_out, c_in, kh, kw), seed=7)
    op = Conv2dOperator(k, (h, w), circular=True)
    rng = np.random.default_rng(2)
    x = rng.standard_normal(op.shape[1])
    y = rng.standard_normal(op.shape[0])
    assert np.dot(op.matvec(x), y) == pytest.approx(np.dot(x, op.rmatvec(y)), rel=1e-12)
    np.testing.assert_allclose(op.to_dense(), unrolled_circular(k, h, w), atol=1e-15)


@pytest.mark.parametrize("stride,padding", [(1, 0), (1, 1), (2, 1), (3, 2), ((1, 2), (2, 0))])
def test_operator_agrees_with_torch_conv2d(stride, padding):
    torch = pytest.importorskip("torch")
    functional = torch.nn.functional
    k = kernel((4, 3, 3, 2), seed=11)
    op = Conv2dOperator(k, (7, 6), stride=stride, padding=padding)
    x = np.random.default_rng(3).standard_normal(op.in_shape)
    ref = functional.conv2d(torch.from_numpy(x)[None], torch.from_numpy(k), stride=stride,
                            padding=padding)[0].numpy()
    np.testing.assert_allclose(op.matvec(x.ravel()), ref.ravel(), rtol=1e-12, atol=1e-12)
    y = np.random.default_rng(4).standard_normal(op.out_shape)
    xt = torch.from_numpy(x)[None].requires_grad_(True)
    out = functional.conv2d(xt, torch.from_numpy(k), stride=stride, padding=padding)
    out.backward(torch.from_numpy(y)[None])  # the gradient is the adjoint applied to y
    np.testing.assert_allclose(op.rmatvec(y.ravel()), xt.grad[0].numpy().ravel(), rtol=1e-12,
                               atol=1e-12)
    circ = Conv2dOperator(k, (7, 6), circular=True)
    padded = functional.pad(torch.from_numpy(x)[None], (0, 1, 0, 2), mode="circular")
    ref = functional.conv2d(padded, torch.from_numpy(k))[0].numpy()
    np.testing.assert_allclose(circ.matvec(x.ravel()), ref.ravel(), rtol=1e-12, atol=1e-12)


def test_operator_products_follow_the_vector_dtype():
    k = kernel((2, 2, 3, 3), dtype=np.float32)
    op = Conv2dOperator(k, (5, 5), padding=1)
    assert op.dtype == np.float32 and op.to_dense().dtype == np.float32
    assert op.matvec(np.ones(op.shape[1], dtype=np.float32)).dtype == np.float32
    assert op.matvec(np.ones(op.shape[1])).dtype == np.float64
    z = np.ones(op.shape[1]) * (1 + 2j)
    np.testing.assert_allclose(op.matvec(z), (1 + 2j) * op.matvec(np.ones(op.shape[1])),
                               rtol=1e-6)


# --- spectral norms -------------------------------------------------------------------------------

@pytest.mark.parametrize("case", CIRCULAR_CASES[:6], ids=lambda c: "x".join(map(str, c)))
def test_operator_path_matches_the_exact_circular_norm(case):
    c_out, c_in, kh, kw, h, w = case
    k = kernel((c_out, c_in, kh, kw), seed=sum(case))
    exact = sigma_conv2d(k, (h, w))
    op = Conv2dOperator(k, (h, w), circular=True)
    got = sn.sigma(op, tol=1e-10, seed=0)
    assert got == pytest.approx(exact, rel=1e-9)
    assert got <= exact * (1 + 1e-12)


@pytest.mark.parametrize("stride", [1, 2, 3])
@pytest.mark.parametrize("padding", [0, 1, 2])
def test_operator_path_matches_the_dense_svd_and_the_circular_bound(stride, padding):
    k = kernel((3, 2, 3, 3), seed=10 * stride + padding)
    h, w = 6, 5
    op = Conv2dOperator(k, (h, w), stride=stride, padding=padding)
    exact = np.linalg.svd(op.to_dense(), compute_uv=False)[0]
    got = sn.sigma(op, tol=1e-10, seed=1)
    assert got == pytest.approx(exact, rel=1e-9)
    # Zero padding embeds the input isometrically in the (H+2p) x (W+2p) grid, and the output (any
    # stride) is a subset of the rows of the circular map there: a submatrix, so a smaller norm.
    assert exact <= sigma_conv2d(k, (h + 2 * padding, w + 2 * padding)) * (1 + 1e-12)


def test_the_operator_runs_through_specnorm_like_any_operator():
    k = kernel((8, 8, 3, 3), seed=3)
    op = Conv2dOperator(k, (12, 12), circular=True)
    est = sn.estimate(op, tol=1e-9, seed=5)
    assert est.converged and est.method == "lanczos"
    assert est.sigma == pytest.approx(sigma_conv2d(k, (12, 12)), rel=1e-9)
    assert sn.sigma(op, seed=5) == sn.sigma(op, seed=5)
    np.testing.assert_allclose(op.matvec(est.v), est.sigma * est.u, atol=1e-9)


# --- bad input --------------------------------------------------------------------------------

K = np.ones((2, 2, 3, 3))


@pytest.mark.parametrize("bad,exc,match", [
    (np.ones((2, 3, 3)), ValueError, "4-D"),
    (np.ones((0, 2, 3, 3)), ValueError, "dimension >= 1"),
    (np.full((1, 1, 2, 2), np.nan), ValueError, "NaN or Inf"),
    (np.full((1, 1, 2, 2), np.inf), ValueError, "NaN or Inf"),
    (np.ones((1, 1, 2, 2), dtype=complex), TypeError, "real"),
    (np.ones((1, 1, 2, 2), dtype=bool), TypeError, "real"),
    (np.ones((1, 1, 2, 2), dtype=np.float16), TypeError, "float32 or float64"),
    ("abc", TypeError, "real"),
])
def test_bad_kernels_raise(bad, exc, match):
    for call in (lambda: singular_values_conv2d(bad, (4, 4)), lambda: sigma_conv2d(bad, (4, 4)),
                 lambda: Conv2dOperator(bad, (4, 4))):
        with pytest.raises(exc, match=match):
            call()


@pytest.mark.parametrize("hw,exc,match", [
    (4, TypeError, "pair"),
    ((4,), TypeError, "pair"),
    ((4.0, 4), TypeError, "pair"),
    ((True, 4), TypeError, "pair"),
    ((0, 4), ValueError, "at least 1"),
    ((2, 4), ValueError, "as large as the kernel"),
    ((4, 2), ValueError, "as large as the kernel"),
])
def test_bad_input_hw_raises(hw, exc, match):
    with pytest.raises(exc, match=match):
        singular_values_conv2d(K, hw)
    with pytest.raises(exc, match=match):
        Conv2dOperator(K, hw, circular=True)


@pytest.mark.parametrize("kwargs,exc,match", [
    ({"stride": 0}, ValueError, "stride must be at least 1"),
    ({"stride": 1.5}, TypeError, "stride must be an integer"),
    ({"padding": -1}, ValueError, "padding must be at least 0"),
    ({"padding": (1, 2, 3)}, TypeError, "padding must be"),
    ({"input_hw": (1, 1)}, ValueError, "output would be empty"),
    ({"circular": True, "stride": 2}, ValueError, "stride 1 only"),
    ({"circular": True, "padding": 1}, ValueError, "padding must be 0"),
])
def test_bad_operator_parameters_raise(kwargs, exc, match):
    kwargs = {"input_hw": (4, 4), **kwargs}
    with pytest.raises(exc, match=match):
        Conv2dOperator(K, **kwargs)


def test_zero_padding_allows_inputs_smaller_than_the_kernel():
    op = Conv2dOperator(K, (1, 2), padding=1)
    assert op.out_shape == (2, 1, 2)


def test_bad_vectors_and_operator_arguments_raise():
    op = Conv2dOperator(K, (4, 4), padding=1)
    with pytest.raises(ValueError, match=r"x must have shape \(32,\)"):
        op.matvec(np.ones(31))
    with pytest.raises(ValueError, match=r"y must have shape \(32,\)"):
        op.rmatvec(np.ones((32, 1)))
    with pytest.raises(ValueError, match=r"X must have shape \(32, k\)"):
        op.matmat(np.ones(32))
    with pytest.raises(TypeError, match="numeric"):
        op.matvec(np.array(["a"] * 32))
    big = Conv2dOperator(np.ones((64, 64, 3, 3)), (32, 32), padding=1)
    with pytest.raises(ValueError, match="DENSE_LIMIT"):
        big.to_dense()
