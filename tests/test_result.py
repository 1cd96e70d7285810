"""The Estimate's repr: a few lines whatever the size of A, every scalar field's value, and for
arrays their type, shape and dtype, never their entries; fields and equality as before."""

from __future__ import annotations

import dataclasses
import re

import numpy as np
import pytest

import specnorm as sn
from specnorm.backends import BACKENDS

SCALARS = ("sigma", "lower", "upper", "confidence", "iterations", "converged", "residual",
           "method", "backend")


def no_entries(text: str, *arrays: np.ndarray) -> bool:
    """Whether ``text`` shows no entry of the arrays: no bracketed list, no array(...) and none of
    their first values written as NumPy prints them."""
    if "[" in text or "array(" in text:
        return False
    shown = {f"{float(v):.8f}"[:8] for a in arrays for v in np.ravel(a)[:20] if v != 0}
    return not any(s in text for s in shown)


def test_the_repr_of_a_large_estimate_is_a_few_lines(host_backend):
    a = np.random.default_rng(0).standard_normal((2000, 1000))
    est = sn.estimate(a, seed=0, backend=host_backend.name)
    text = repr(est)
    assert len(text) <= 400 and text.count("\n") <= 4
    for name in SCALARS:
        assert f"{name}={getattr(est, name)!r}" in text
    assert "u=<ndarray (2000,) float64>" in text and "v=<ndarray (1000,) float64>" in text
    assert no_entries(text, est.u, est.v)
    assert str(est) == text


@pytest.mark.parametrize("dtype", [np.float32, np.complex128])
def test_the_repr_names_the_vectors_dtype(dtype):
    a = np.random.default_rng(1).standard_normal((90, 70)).astype(dtype)
    text = repr(sn.estimate(a, seed=0))
    name = np.dtype(dtype).name
    assert f"u=<ndarray (90,) {name}>" in text and f"v=<ndarray (70,) {name}>" in text


def test_the_repr_of_a_stack_shows_shapes_and_a_digest(host_backend):
    stack = np.random.default_rng(2).standard_normal((3, 4, 300, 200))
    est = sn.estimate(stack, "lanczos", seed=0, backend=host_backend.name)
    text = repr(est)
    assert len(text) <= 600 and text.count("\n") <= 6
    sig = est.sigma
    assert f"sigma=<ndarray (3, 4) float64, min {sig.min():.6g}, max {sig.max():.6g}>" in text
    for name in ("lower", "upper", "confidence", "residual"):
        assert f"{name}=<ndarray (3, 4) float64>" in text
    assert "iterations=<ndarray (3, 4) int64>" in text
    assert f"converged=<ndarray (3, 4) bool, {int(est.converged.sum())} of 12 True>" in text
    assert f"method={est.method!r}" in text and f"backend={est.backend!r}" in text
    assert "u=<ndarray (3, 4, 300) float64>" in text and "v=<ndarray (3, 4, 200) float64>" in text
    assert no_entries(text, est.u, est.v, est.lower, est.upper, est.residual)


def test_the_repr_counts_the_matrices_that_did_not_converge():
    stack = np.random.default_rng(3).standard_normal((5, 80, 70))
    est = sn.estimate(stack, "power", tol=1e-12, maxiter=3, seed=0)
    assert not est.converged.any()
    assert "converged=<ndarray (5,) bool, 0 of 5 True>" in repr(est)


def test_the_repr_of_an_empty_stack_has_no_digest():
    est = sn.estimate(np.zeros((0, 4, 3)), seed=0)
    assert "sigma=<ndarray (0,) float64>" in repr(est)


def test_numpy_scalars_are_written_as_python_values():
    est = sn.Estimate(sigma=np.float64(2.5), u=np.ones(2), v=np.ones(3), lower=np.float32(2.0),
                      upper=np.array(3.0), confidence=1.0, iterations=np.int64(7),
                      converged=np.bool_(True), residual=0.0, method="power", backend="numpy")
    assert repr(est) == (
        "Estimate(sigma=2.5, lower=2.0, upper=3.0, confidence=1.0, iterations=7, converged=True,\n"
        "         residual=0.0, method='power', backend='numpy', u=<ndarray (2,) float64>,\n"
        "         v=<ndarray (3,) float64>)")


def test_device_arrays_are_named_with_their_type_and_device():
    standin = BACKENDS.get("array_api_strict")
    if standin is None:
        pytest.skip("array_api_strict is not installed")
    xp = standin.xp
    stack = xp.asarray(np.random.default_rng(4).standard_normal((3, 50, 40)))
    text = repr(sn.estimate(stack, seed=0, backend="array_api_strict"))
    device = str(stack.device)
    assert f"u=<array_api_strict.Array (3, 50) float64 on {device}>" in text
    assert re.search(r"sigma=<array_api_strict\.Array \(3,\) float64 on .*, min \S+, max \S+>",
                     text)
    assert f"converged=<array_api_strict.Array (3,) bool on {device}, 3 of 3 True>" in text


def test_fields_and_equality_are_unchanged():
    assert [f.name for f in dataclasses.fields(sn.Estimate)] == [
        "sigma", "u", "v", "lower", "upper", "confidence", "iterations", "converged",
        "residual", "method", "backend"]
    est = sn.estimate(np.eye(3), seed=0)
    same_fields = dataclasses.replace(est)
    assert est == est and est != same_fields  # identity, as before (arrays have no truth value)
    with pytest.raises(dataclasses.FrozenInstanceError):
        est.sigma = 2.0  # type: ignore[misc]
