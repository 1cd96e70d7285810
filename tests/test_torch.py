"""specnorm.torch.spectral_norm against torch.nn.utils.parametrizations.spectral_norm."""

from __future__ import annotations

import copy
import io
import subprocess
import sys

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from torch.nn.utils.parametrizations import spectral_norm as torch_spectral_norm  # noqa: E402

from specnorm.nn import SpectralNorm  # noqa: E402
from specnorm.torch import spectral_norm  # noqa: E402

MODULES = {
    "linear": lambda: torch.nn.Linear(20, 30),
    "conv2d": lambda: torch.nn.Conv2d(3, 8, 3),
    "conv_transpose2d": lambda: torch.nn.ConvTranspose2d(4, 6, 3),
}


def pair(kind, seed=0):
    """(torch's, specnorm's) parametrized copies of one float64 module, with the same start
    vectors u and v, and a specnorm.nn.SpectralNorm with them."""
    torch.manual_seed(seed)
    base = MODULES[kind]().double()
    theirs = torch_spectral_norm(copy.deepcopy(base))
    ours = spectral_norm(copy.deepcopy(base), seed=0)
    p_theirs, p_ours = theirs.parametrizations.weight[0], ours.parametrizations.weight[0]
    u = torch.nn.functional.normalize(torch.randn_like(p_theirs._u), dim=0)
    v = torch.nn.functional.normalize(torch.randn_like(p_theirs._v), dim=0)
    with torch.no_grad():
        for p in (p_theirs, p_ours):
            p._u.copy_(u)
            p._v.copy_(v)
    layer = SpectralNorm(dim=1 if kind == "conv_transpose2d" else 0)
    layer.load_state_dict({"u": u.numpy().copy(), "v": v.numpy().copy()})
    return base, theirs, ours, layer


@pytest.mark.parametrize("kind", sorted(MODULES))
@pytest.mark.parametrize("steps", [1, 5, 50])
@pytest.mark.parametrize("training", [True, False])
def test_the_normalized_weight_matches_torch(kind, steps, training):
    base, theirs, ours, layer = pair(kind)
    theirs.train(training)
    ours.train(training)
    layer.train(training)
    W = base.weight.detach().numpy()
    for _ in range(steps):
        w_theirs, w_ours, w_layer = theirs.weight, ours.weight, layer(W)
    torch.testing.assert_close(w_ours, w_theirs, rtol=1e-6, atol=1e-6)
    np.testing.assert_allclose(w_layer, w_theirs.detach().numpy(), rtol=1e-6, atol=1e-6)
    p_theirs, p_ours = theirs.parametrizations.weight[0], ours.parametrizations.weight[0]
    torch.testing.assert_close(p_ours._u, p_theirs._u, rtol=1e-6, atol=1e-6)
    torch.testing.assert_close(p_ours._v, p_theirs._v, rtol=1e-6, atol=1e-6)


def test_the_dim_rule_follows_torch():
    for kind, dim in (("linear", 0), ("conv2d", 0), ("conv_transpose2d", 1)):
        _, theirs, ours, _ = pair(kind)
        assert ours.parametrizations.weight[0].dim == dim
        shapes = [m.parametrizations.weight[0]._u.shape for m in (ours, theirs)]
        assert shapes[0] == shapes[1]


@pytest.mark.parametrize("kind", sorted(MODULES))
def test_gradients_flow_and_match_torch(kind):
    _, theirs, ours, _ = pair(kind, seed=1)
    torch.manual_seed(2)
    x = torch.randn(2, 20, dtype=torch.float64) if kind == "linear" else \
        torch.randn(2, MODULES[kind]().in_channels, 6, 6, dtype=torch.float64)
    grads = []
    for module in (theirs, ours):
        module.zero_grad()
        loss = (module(x) ** 2).sum() + (module(x + 1) ** 2).sum()  # two forwards, one backward
        loss.backward()
        grads.append(module.parametrizations.weight.original.grad.clone())
    torch.testing.assert_close(grads[1], grads[0], rtol=1e-5, atol=1e-8)


def test_state_dict_round_trip():
    _, _, ours, _ = pair("conv2d")
    for _ in range(3):
        ours.weight  # noqa: B018 (a training-mode access updates u and v)
    buffer = io.BytesIO()
    torch.save(ours.state_dict(), buffer)
    torch.manual_seed(5)
    fresh = spectral_norm(torch.nn.Conv2d(3, 8, 3).double(), seed=1)
    buffer.seek(0)
    fresh.load_state_dict(torch.load(buffer))
    p, q = ours.parametrizations.weight[0], fresh.parametrizations.weight[0]
    torch.testing.assert_close(q._u, p._u, rtol=0, atol=0)
    torch.testing.assert_close(fresh.weight, ours.weight, rtol=0, atol=0)
    # torch's own parametrization reads the same keys
    theirs = torch_spectral_norm(torch.nn.Conv2d(3, 8, 3).double())
    theirs.load_state_dict(ours.state_dict())
    theirs.eval()
    ours.eval()
    torch.testing.assert_close(theirs.weight, ours.weight, rtol=1e-12, atol=1e-12)


def test_the_warm_start_is_converged():
    torch.manual_seed(3)
    module = spectral_norm(torch.nn.Linear(50, 40).double(), seed=0).eval()
    assert torch.linalg.matrix_norm(module.weight, 2).item() == pytest.approx(1.0, rel=1e-6)


def test_tol_reaches_the_residual():
    torch.manual_seed(4)
    module = spectral_norm(torch.nn.Linear(30, 30).double(), tol=1e-10, seed=0)
    p = module.parametrizations.weight[0]
    with torch.no_grad():
        p._u.copy_(torch.nn.functional.normalize(torch.randn(30, dtype=torch.float64), dim=0))
    w = module.weight
    assert torch.linalg.matrix_norm(w, 2).item() == pytest.approx(1.0, rel=1e-9)


def test_bad_arguments_raise_clear_errors():
    with pytest.raises(ValueError, match="no parameter"):
        spectral_norm(torch.nn.Linear(2, 2), name="nothing")
    with pytest.raises(ValueError, match="n_power_iterations"):
        spectral_norm(torch.nn.Linear(2, 2), n_power_iterations=0)
    with pytest.raises(ValueError, match="dim=3 is out of range"):
        spectral_norm(torch.nn.Linear(2, 2), dim=3)
    module = torch.nn.Linear(2, 2)
    with torch.no_grad():
        module.weight[0, 0] = float("nan")
    with pytest.raises(ValueError, match="NaN or Inf"):
        spectral_norm(module)


def test_import_specnorm_does_not_import_torch():
    code = ("import sys, numpy, specnorm, specnorm.nn; "
            "specnorm.nn.SpectralNorm(seed=0)(numpy.eye(3)); print('torch' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True)
    assert out.stdout.strip() == "False"
