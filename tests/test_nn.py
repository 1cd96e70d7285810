"""specnorm.nn on NumPy arrays: spectral normalization, the penalty and Lipschitz bounds."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

import specnorm as sn
from specnorm.nn import SpectralNorm, lipschitz_bound, local_lipschitz, spectral_penalty
from specnorm.testing import matrix_with_spectrum


def gapped(shape, seed=0, top=3.0):
    """A matrix with sigma_1 = top and sigma_2 = top / 2 (a clear gap)."""
    k = min(shape)
    s = np.concatenate([[top], np.linspace(top / 2, 0.1, k - 1)])
    return matrix_with_spectrum(s, shape, seed=seed)


# -- SpectralNorm ----------------------------------------------------------------------------

@pytest.mark.parametrize("shape, dim", [((40, 30), 0), ((30, 40), 1), ((16, 3, 3, 3), 0),
                                        ((8, 6, 3, 3), 1), ((120, 90), 0)])
def test_the_output_has_spectral_norm_one_after_the_warm_up(shape, dim):
    W = np.random.default_rng(1).standard_normal(shape)
    before = W.copy()
    layer = SpectralNorm(dim=dim, seed=0, bounds=True)
    out = layer(W)
    np.testing.assert_array_equal(W, before)  # never modified
    assert out.shape == W.shape and out.dtype == W.dtype
    mat = np.moveaxis(out, dim, 0).reshape(shape[dim], -1)
    assert np.linalg.norm(mat, 2) == pytest.approx(1.0, rel=1e-6)
    exact = np.linalg.norm(np.moveaxis(W, dim, 0).reshape(shape[dim], -1), 2)
    assert layer.lower <= exact * (1 + 1e-12) <= layer.upper * (1 + 1e-12)
    assert layer.sigma == pytest.approx(exact, rel=1e-6)


def test_float32_stays_float32():
    W = np.random.default_rng(2).standard_normal((50, 20)).astype(np.float32)
    out = SpectralNorm(seed=0)(W)
    assert out.dtype == np.float32
    assert np.linalg.norm(out.astype(np.float64), 2) == pytest.approx(1.0, rel=1e-5)


def test_state_dict_round_trip_gives_identical_outputs():
    rng = np.random.default_rng(3)
    W = rng.standard_normal((30, 20))
    a = SpectralNorm(seed=0)
    a(W)
    state = a.state_dict()
    b = SpectralNorm(seed=99)
    b.load_state_dict(state)
    for _ in range(3):
        W = W + 0.01 * rng.standard_normal(W.shape)
        np.testing.assert_array_equal(a(W), b(W))
    state["u"][:] = 0  # the saved arrays are copies
    assert np.all(a.u != 0)
    b.load_state_dict({})
    assert b.u is None and b.state_dict() == {}


def test_eval_mode_does_not_change_u_and_v():
    W = np.random.default_rng(4).standard_normal((25, 35))
    layer = SpectralNorm(seed=0)
    layer(W)
    u, v = layer.u.copy(), layer.v.copy()
    layer.eval()
    out = layer(W + 1.0)
    np.testing.assert_array_equal(layer.u, u)
    np.testing.assert_array_equal(layer.v, v)
    assert layer.sigma == pytest.approx(u @ (W + 1.0) @ v, rel=1e-12)
    np.testing.assert_allclose(out, (W + 1.0) / layer.sigma)
    layer.train()
    layer(W + 1.0)
    assert not np.array_equal(layer.u, u)


def test_tol_keeps_iterating_until_the_residual_is_met():
    W = gapped((60, 50), seed=5)
    rng = np.random.default_rng(5)
    u0, v0 = rng.standard_normal(60), rng.standard_normal(50)
    state = {"u": u0 / np.linalg.norm(u0), "v": v0 / np.linalg.norm(v0)}
    plain = SpectralNorm()
    plain.load_state_dict(state)
    plain(W)
    assert plain.residual is None
    layer = SpectralNorm(tol=1e-9)
    layer.load_state_dict(state)
    layer(W)
    u, v, s = layer.u, layer.v, layer.sigma
    assert layer.residual <= 1e-9
    assert np.linalg.norm(W @ v - s * u) / s <= 1e-9
    assert s == pytest.approx(3.0, rel=1e-12)


def test_a_shape_change_needs_a_reset():
    layer = SpectralNorm(seed=0)
    layer(np.ones((4, 3)))
    with pytest.raises(ValueError, match="reset"):
        layer(np.ones((5, 3)))
    layer.reset()
    assert layer(np.ones((5, 3))).shape == (5, 3)


@pytest.mark.parametrize("kwargs, error, match", [
    ({"n_power_iterations": 0}, ValueError, "n_power_iterations"),
    ({"n_power_iterations": 1.5}, TypeError, "n_power_iterations"),
    ({"eps": 0.0}, ValueError, "eps"),
    ({"eps": float("nan")}, ValueError, "eps"),
    ({"tol": 2.0}, ValueError, "tol"),
    ({"dim": "0"}, TypeError, "dim"),
])
def test_bad_options_raise_clear_errors(kwargs, error, match):
    with pytest.raises(error, match=match):
        SpectralNorm(**kwargs)


def test_bad_weights_raise_clear_errors():
    with pytest.raises(ValueError, match="at least 2 dimensions"):
        SpectralNorm()(np.ones(3))
    with pytest.raises(ValueError, match="dim=2 is out of range"):
        SpectralNorm(dim=2)(np.ones((3, 3)))
    with pytest.raises(TypeError, match="dtype"):
        SpectralNorm()(np.ones((3, 3), dtype=int))
    with pytest.raises(ValueError, match="NaN or Inf"):
        SpectralNorm()(np.array([[1.0, np.nan], [0.0, 1.0]]))
    layer = SpectralNorm(seed=0)
    W = np.random.default_rng(0).standard_normal((3, 3))
    layer(W)
    u = layer.u.copy()
    bad = W.copy()
    bad[1, 2] = np.inf
    with pytest.raises(ValueError, match="NaN or Inf"):
        layer(bad)
    np.testing.assert_array_equal(layer.u, u)  # the state is kept
    with pytest.raises(ValueError, match="missing"):
        layer.load_state_dict({"u": u})
    with pytest.raises(ValueError, match="NaN or Inf"):
        layer.load_state_dict({"u": u, "v": np.full(3, np.nan)})


# -- spectral_penalty ------------------------------------------------------------------------

def finite_difference(W, lam, h=1e-6):
    grad = np.zeros_like(W)
    for idx in np.ndindex(*W.shape):
        step = np.zeros_like(W)
        step[idx] = h
        plus = spectral_penalty(W + step, lam, seed=0)[0]
        minus = spectral_penalty(W - step, lam, seed=0)[0]
        grad[idx] = (plus - minus) / (2 * h)
    return grad


@pytest.mark.parametrize("seed", [0, 1])
def test_the_penalty_gradient_matches_finite_differences(seed):
    W = gapped((7, 5), seed=seed)
    value, grad = spectral_penalty(W, 0.3, seed=0)
    assert value == pytest.approx(0.15 * 9.0, rel=1e-10)
    np.testing.assert_allclose(grad, finite_difference(W, 0.3), rtol=1e-6, atol=1e-7)


def test_the_penalty_of_a_conv_kernel_is_reshaped_back():
    mat = gapped((4, 2 * 3 * 3), seed=7)
    W = mat.reshape(4, 2, 3, 3)
    value, grad = spectral_penalty(W, 1.0, seed=0)
    assert grad.shape == W.shape
    assert value == pytest.approx(4.5, rel=1e-10)
    np.testing.assert_allclose(grad, finite_difference(W, 1.0), rtol=1e-6, atol=1e-7)
    # dim=1: the matrix view has the second axis first
    _, grad1 = spectral_penalty(np.moveaxis(W, 0, 1), 1.0, dim=1, seed=0)
    np.testing.assert_allclose(np.moveaxis(grad1, 1, 0), grad, atol=1e-9)


def test_the_penalty_of_a_list_sums_the_values_and_lists_the_gradients():
    ws = [gapped((6, 4), seed=1), gapped((3, 6), seed=2, top=2.0)]
    value, grads = spectral_penalty(ws, 2.0, seed=0)
    assert value == pytest.approx(9.0 + 4.0, rel=1e-10)
    for W, g in zip(ws, grads, strict=True):
        np.testing.assert_allclose(g, spectral_penalty(W, 2.0, seed=0)[1])
    with pytest.raises(ValueError, match="lam"):
        spectral_penalty(ws, -1.0)
    with pytest.raises(ValueError, match="empty"):
        spectral_penalty([], 1.0)
    with pytest.raises(TypeError, match="real floating"):
        spectral_penalty(np.eye(2) * 1j, 1.0)


# -- Lipschitz bounds ------------------------------------------------------------------------

def network(seed, widths):
    rng = np.random.default_rng(seed)
    ws = [rng.standard_normal((o, i)) / np.sqrt(i) for i, o in itertools.pairwise(widths)]
    bs = [0.3 * rng.standard_normal(o) for o in widths[1:]]
    return ws, bs


def forward(ws, bs, x):
    for W, b in zip(ws[:-1], bs[:-1], strict=True):
        x = np.maximum(W @ x + b, 0)
    return ws[-1] @ x + bs[-1]


def jacobian(ws, bs, x):
    J = np.eye(x.shape[0])
    for W, b in zip(ws[:-1], bs[:-1], strict=True):
        pre = W @ x + b
        J = ((pre > 0)[:, None] * W) @ J
        x = np.maximum(pre, 0)
    return ws[-1] @ J


def test_lipschitz_bound_is_the_product_of_the_norms():
    ws, _ = network(0, [10, 80, 80, 70, 3])
    bound, sigmas = lipschitz_bound(ws, seed=0)
    exact = [np.linalg.norm(W, 2) for W in ws]
    np.testing.assert_allclose(sigmas, exact, rtol=1e-6)
    assert bound == pytest.approx(np.prod(exact), rel=1e-5)
    with pytest.raises(ValueError, match="2-D"):
        lipschitz_bound([np.ones((2, 2, 2))])
    with pytest.raises(ValueError, match="no weights"):
        lipschitz_bound([])


@pytest.mark.parametrize("seed, widths", [(0, [5, 16, 16, 3]), (1, [8, 30, 20, 20, 4]),
                                          (2, [12, 40, 6]), (3, [4, 10, 1])])
def test_local_lipschitz_bounds_the_network_near_x(seed, widths):
    ws, bs = network(seed, widths)
    rng = np.random.default_rng(100 + seed)
    x = rng.standard_normal(widths[0])
    local, v = local_lipschitz(ws, bs, x, seed=0)
    exact = np.linalg.svd(jacobian(ws, bs, x), compute_uv=False)[0]
    assert local == pytest.approx(exact, rel=1e-8)
    assert local <= lipschitz_bound(ws, seed=0)[0] * (1 + 1e-6)
    assert np.linalg.norm(v) == pytest.approx(1.0)
    fx = forward(ws, bs, x)
    for _ in range(20):  # small steps keep the activation pattern: f is affine there
        d = 1e-7 * rng.standard_normal(widths[0])
        ratio = np.linalg.norm(forward(ws, bs, x + d) - fx) / np.linalg.norm(d)
        assert ratio <= local * (1 + 1e-6)
    t = 1e-7
    along = np.linalg.norm(forward(ws, bs, x + t * v) - fx) / t
    assert along == pytest.approx(local, rel=1e-6)


def test_local_lipschitz_with_every_unit_off_is_zero():
    ws, bs = network(4, [3, 5, 2])
    bs[0] = -100.0 * np.ones(5)
    local, _ = local_lipschitz(ws, bs, np.zeros(3), seed=0)
    assert local == 0.0


def test_local_lipschitz_checks_the_network():
    ws, bs = network(5, [3, 4, 2])
    with pytest.raises(ValueError, match="biases"):
        local_lipschitz(ws, bs[:1], np.zeros(3))
    with pytest.raises(ValueError, match="x must have shape"):
        local_lipschitz(ws, bs, np.zeros(4))
    with pytest.raises(ValueError, match="bias 1"):
        local_lipschitz(ws, [bs[0], np.zeros(3)], np.zeros(3))
    with pytest.raises(ValueError, match="NaN"):
        local_lipschitz(ws, bs, np.array([0.0, np.nan, 0.0]))
    with pytest.raises(ValueError, match="tol"):
        local_lipschitz(ws, bs, np.zeros(3), tol=0.0)


def test_sigma_of_the_normalized_weight_agrees_with_specnorm():
    W = gapped((70, 90), seed=9)
    out = SpectralNorm(seed=0)(W)
    assert sn.sigma(out, seed=0) == pytest.approx(1.0, rel=1e-6)


def test_spectral_norm_runs_on_a_device_namespace():
    # The array_api_strict stand-in for CuPy (registered in conftest): one implementation of
    # SpectralNorm, through the array API, on a namespace that rejects anything non-standard.
    xps = pytest.importorskip("array_api_strict")
    W = np.random.default_rng(0).standard_normal((20, 30))
    host, device = SpectralNorm(seed=0), SpectralNorm(seed=0)
    want = host(W)
    got = device(xps.asarray(W))
    assert type(got).__module__.startswith("array_api_strict")
    np.testing.assert_allclose(np.asarray(np.from_dlpack(got)), want, rtol=1e-10, atol=1e-12)
    assert np.linalg.norm(np.asarray(np.from_dlpack(got)), 2) == pytest.approx(1.0, rel=1e-8)
