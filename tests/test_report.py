"""``specnorm report FILE``: real checkpoints written to tmp_path, read back and estimated."""

from __future__ import annotations

import io
import json
import math
import os
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from specnorm import _report
from specnorm.cli import main

safetensors_numpy = pytest.importorskip("safetensors.numpy")

RNG_SEED = 1234


def exact_sigma(w: np.ndarray) -> float:
    """sigma of a weight reshaped to (shape[0], -1), in float64 / complex128."""
    m = np.asarray(w).reshape(w.shape[0], -1)
    m = m.astype(np.complex128 if np.iscomplexobj(m) else np.float64)
    return float(np.linalg.svd(m, compute_uv=False)[0])


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    status = main(["report", *argv])
    out, err = capsys.readouterr()
    return status, out, err


def report_json(capsys: pytest.CaptureFixture[str], *argv: str) -> dict:
    status, out, err = run(capsys, *argv, "--json")
    assert status == 0, err
    assert out.count("\n") == 1  # one JSON object on one line
    return json.loads(out)


def table_rows(out: str) -> dict[str, list[str]]:
    """The rows of the table, name -> [shape, sigma, lower, upper, iterations, seconds]."""
    rows = {}
    pattern = re.compile(r"^(\S+)\s+(\S+)\s+(\S+)\s+\[(\S+), (\S+)\]\s+(\d+\*?)\s+(\S+)$")
    for line in out.splitlines():
        match = pattern.match(line)
        if match and match.group(1) != "name":
            rows[match.group(1)] = list(match.groups()[1:])
    return rows


@pytest.fixture
def mlp(tmp_path: Path) -> tuple[Path, dict[str, np.ndarray]]:
    rng = np.random.default_rng(RNG_SEED)
    tensors = {
        "layer1.weight": rng.standard_normal((64, 32)).astype(np.float32),
        "layer1.bias": rng.standard_normal(64).astype(np.float32),
        "layer2.weight": rng.standard_normal((32, 16)).astype(np.float32),
        "layer2.bias": rng.standard_normal(32).astype(np.float32),
        "layer10.weight": rng.standard_normal((10, 16)).astype(np.float32),
        "layer10.bias": rng.standard_normal(10).astype(np.float32),
        "embedding.index": np.arange(12, dtype=np.int64).reshape(4, 3),
    }
    path = tmp_path / "mlp.safetensors"
    safetensors_numpy.save_file(tensors, str(path))
    return path, tensors


@pytest.fixture
def convnet(tmp_path: Path) -> tuple[Path, dict[str, np.ndarray]]:
    rng = np.random.default_rng(RNG_SEED + 1)
    tensors = {
        "conv1.weight": rng.standard_normal((8, 3, 3, 3)).astype(np.float32),
        "conv1.bias": np.zeros(8, np.float32),
        "conv2.weight": rng.standard_normal((16, 8, 3, 3)).astype(np.float32),
        "conv2.bias": np.zeros(16, np.float32),
        "head.weight": rng.standard_normal((10, 16 * 4 * 4)).astype(np.float32),
        "head.bias": np.zeros(10, np.float32),
    }
    path = tmp_path / "conv.safetensors"
    safetensors_numpy.save_file(tensors, str(path))
    return path, tensors


# --- safetensors ------------------------------------------------------------------------------

def test_mlp_json_matches_svd(capsys, mlp):
    path, tensors = mlp
    data = report_json(capsys, str(path), "--tol", "1e-8")
    assert set(data) == {"file", "layers", "lipschitz_bound", "lipschitz_upper", "skipped"}
    assert data["file"] == str(path)
    # natural order of the names: layer10 after layer2; biases ignored, the int tensor skipped
    assert [layer["name"] for layer in data["layers"]] == [
        "layer1.weight", "layer2.weight", "layer10.weight"]
    for layer in data["layers"]:
        assert set(layer) == {"name", "shape", "sigma", "lower", "upper", "iterations",
                              "seconds"}
        w = tensors[layer["name"]]
        assert layer["shape"] == list(w.shape)
        exact = exact_sigma(w)
        # float32 weights: sigma is as accurate as float32 rounding allows
        assert layer["sigma"] == pytest.approx(exact, rel=1e-5)
        assert layer["lower"] <= layer["sigma"] <= layer["upper"]
        assert layer["lower"] <= exact * (1 + 1e-5) and exact <= layer["upper"] * (1 + 1e-5)
        assert isinstance(layer["iterations"], int) and layer["iterations"] > 0
        assert layer["seconds"] >= 0
    sigmas = [layer["sigma"] for layer in data["layers"]]
    uppers = [layer["upper"] for layer in data["layers"]]
    assert data["lipschitz_bound"] == pytest.approx(math.prod(sigmas), rel=1e-12)
    assert data["lipschitz_upper"] == pytest.approx(math.prod(uppers), rel=1e-12)
    assert data["lipschitz_upper"] >= data["lipschitz_bound"]
    assert data["skipped"] == [{"name": "embedding.index", "shape": [4, 3], "dtype": "int64",
                                "reason": "not floating point (int64)"}]


def test_mlp_table(capsys, mlp):
    path, tensors = mlp
    status, out, err = run(capsys, str(path), "--tol", "1e-8")
    assert status == 0, err
    lines = out.splitlines()
    assert lines[0] == f"file: {path}"
    assert lines[1].split() == ["name", "shape", "sigma", "bracket", "[lower,", "upper]",
                                "iterations", "time", "[s]"]
    rows = table_rows(out)
    assert list(rows) == ["layer1.weight", "layer2.weight", "layer10.weight"]
    product = 1.0
    for name, (shape, sigma, lower, upper, iterations, seconds) in rows.items():
        exact = exact_sigma(tensors[name])
        assert shape == "x".join(map(str, tensors[name].shape))
        assert float(sigma) == pytest.approx(exact, rel=1e-6)
        # the printed bracket is rounded outwards: it still holds
        assert float(lower) <= float(sigma) <= float(upper)
        assert float(lower) <= exact * (1 + 1e-6)
        assert int(iterations.rstrip("*")) > 0 and float(seconds) >= 0
        product *= exact
    bound = re.search(r"Lipschitz bound \(product of sigma over 3 layers\): (\S+)", out)
    assert bound and float(bound.group(1)) == pytest.approx(product, rel=1e-5)
    assert re.search(r"product of upper: \S+", out)
    assert "skipped 1 tensor(s):" in out
    assert re.search(r"embedding\.index\s+4x3\s+int64: not floating point", out)
    assert "ignored 3 tensor(s) with fewer than 2 dimensions" in out
    assert err == ""  # no progress bar when stderr is not a terminal


def test_convnet_kernels_are_reshaped(capsys, convnet):
    path, tensors = convnet
    data = report_json(capsys, str(path), "--tol", "1e-8", "--method", "lanczos")
    names = [layer["name"] for layer in data["layers"]]
    assert names == ["conv1.weight", "conv2.weight", "head.weight"]
    for layer in data["layers"]:
        w = tensors[layer["name"]]
        assert layer["shape"] == list(w.shape)  # the original shape, not the matrix's
        assert layer["sigma"] == pytest.approx(exact_sigma(w), rel=1e-5)
    assert data["skipped"] == []
    expected = math.prod(exact_sigma(tensors[n]) for n in names)
    assert data["lipschitz_bound"] == pytest.approx(expected, rel=1e-5)


@pytest.mark.parametrize("method", ["power", "lanczos", "rayleigh", "svd"])
def test_methods_and_backends(capsys, convnet, method):
    path, tensors = convnet
    for backend in ("cpp", "numpy"):
        if not _backend_usable(backend):
            continue
        data = report_json(capsys, str(path), "--method", method, "--backend", backend,
                           "--seed", "3")
        for layer in data["layers"]:
            assert layer["sigma"] == pytest.approx(exact_sigma(tensors[layer["name"]]),
                                                   rel=1e-5)


def _backend_usable(name: str) -> bool:
    import specnorm

    info = specnorm.backends().get(name)
    return bool(info and info.usable)


def test_nan_weight_is_skipped_not_fatal(capsys, tmp_path):
    rng = np.random.default_rng(0)
    bad = rng.standard_normal((6, 5))
    bad[2, 3] = np.nan
    inf = rng.standard_normal((4, 4)).astype(np.float32)
    inf[0, 0] = np.inf
    good = rng.standard_normal((7, 3))
    path = tmp_path / "nan.safetensors"
    safetensors_numpy.save_file({"a": good, "b": bad, "c": inf}, str(path))
    data = report_json(capsys, str(path))
    assert [layer["name"] for layer in data["layers"]] == ["a"]
    assert [(s["name"], s["shape"], s["dtype"], s["reason"]) for s in data["skipped"]] == [
        ("b", [6, 5], "float64", "contains NaN or Inf"),
        ("c", [4, 4], "float32", "contains NaN or Inf")]
    status, out, _ = run(capsys, str(path))
    assert status == 0 and "b  6x5  float64: contains NaN or Inf" in out


def test_complex_and_float16_weights(capsys, tmp_path):
    rng = np.random.default_rng(5)
    z = (rng.standard_normal((9, 7)) + 1j * rng.standard_normal((9, 7))).astype(np.complex64)
    h = rng.standard_normal((12, 4)).astype(np.float16)
    path = tmp_path / "mixed.npz"
    np.savez(path, z=z, h=h)
    data = report_json(capsys, str(path), "--tol", "1e-8")
    got = {layer["name"]: layer["sigma"] for layer in data["layers"]}
    assert got["z"] == pytest.approx(exact_sigma(z), rel=1e-5)
    assert got["h"] == pytest.approx(exact_sigma(h), rel=1e-5)


def _bfloat16_file(path: Path) -> None:
    """A safetensors file with one BF16 tensor (NumPy has no bfloat16) and one F32 tensor,
    written by hand: the format is an 8-byte header length, a JSON header, then the data."""
    import struct

    f32 = np.arange(1.0, 7.0, dtype=np.float32).reshape(2, 3)
    header = {
        "emb.weight": {"dtype": "BF16", "shape": [2, 2], "data_offsets": [0, 8]},
        "proj.weight": {"dtype": "F32", "shape": [2, 3], "data_offsets": [8, 32]},
    }
    raw = json.dumps(header).encode()
    raw += b" " * (-len(raw) % 8)
    path.write_bytes(struct.pack("<Q", len(raw)) + raw + bytes(8) + f32.tobytes())


def test_bfloat16_is_skipped_with_reason(capsys, tmp_path):
    path = tmp_path / "bf16.safetensors"
    _bfloat16_file(path)
    data = report_json(capsys, str(path))
    assert [layer["name"] for layer in data["layers"]] == ["proj.weight"]
    f32 = np.arange(1.0, 7.0).reshape(2, 3)
    assert data["layers"][0]["sigma"] == pytest.approx(exact_sigma(f32), rel=1e-5)
    [skipped] = data["skipped"]
    assert skipped["name"] == "emb.weight" and skipped["shape"] == [2, 2]
    assert skipped["dtype"] == "BF16" and "bfloat16" in skipped["reason"]


def test_natural_key_orders_numbers_by_value():
    names = ["layer10.weight", "layer9.weight", "layer1.weight", "block2.conv10",
             "block2.conv9", "layer", "layer1"]
    assert sorted(names, key=_report.natural_key) == [
        "block2.conv9", "block2.conv10", "layer", "layer1", "layer1.weight", "layer9.weight",
        "layer10.weight"]


# --- Matrix Market, .npy, .npz -----------------------------------------------------------------

def test_matrix_market_stays_sparse(capsys, tmp_path, monkeypatch):
    sparse = pytest.importorskip("scipy.sparse")
    scipy_io = pytest.importorskip("scipy.io")
    a = sparse.random(120, 90, density=0.05, random_state=7, format="csr")
    path = tmp_path / "graph.mtx"
    scipy_io.mmwrite(str(path), a)

    seen = []
    real = _report.estimate

    def spy(matrix, *args, **kwargs):
        seen.append(type(matrix))
        return real(matrix, *args, **kwargs)

    monkeypatch.setattr(_report, "estimate", spy)
    data = report_json(capsys, str(path), "--tol", "1e-8")
    # handed over as the SciPy sparse matrix mmread returned, never densified
    assert len(seen) == 1 and seen[0].__module__.startswith("scipy.sparse")
    [layer] = data["layers"]
    assert layer["name"] == "graph" and layer["shape"] == [120, 90]
    assert layer["sigma"] == pytest.approx(exact_sigma(a.toarray()), rel=1e-7)
    assert data["lipschitz_bound"] == layer["sigma"]


def test_npy_and_npz(capsys, tmp_path):
    rng = np.random.default_rng(11)
    w = rng.standard_normal((40, 30))
    np.save(tmp_path / "w.npy", w)
    data = report_json(capsys, str(tmp_path / "w.npy"), "--tol", "1e-8")
    assert [layer["name"] for layer in data["layers"]] == ["w"]
    assert data["layers"][0]["sigma"] == pytest.approx(exact_sigma(w), rel=1e-7)

    k = rng.standard_normal((5, 2, 3, 3))
    tensors = {"zeta": w, "alpha": k, "bias": rng.standard_normal(5), "mask": w > 0,
               "scalar": np.float64(2.0)}
    np.savez(tmp_path / "ck.npz", **tensors)
    data = report_json(capsys, str(tmp_path / "ck.npz"), "--tol", "1e-8")
    # the order saved, not sorted
    assert [layer["name"] for layer in data["layers"]] == ["zeta", "alpha"]
    assert data["layers"][1]["shape"] == [5, 2, 3, 3]
    assert data["layers"][1]["sigma"] == pytest.approx(exact_sigma(k), rel=1e-7)
    assert data["lipschitz_bound"] == pytest.approx(exact_sigma(w) * exact_sigma(k), rel=1e-7)
    assert data["skipped"] == [{"name": "mask", "shape": [40, 30], "dtype": "bool",
                                "reason": "not floating point (bool)"}]
    status, out, _ = run(capsys, str(tmp_path / "ck.npz"))
    assert status == 0 and "ignored 2 tensor(s) with fewer than 2 dimensions" in out


# --- output details ---------------------------------------------------------------------------

def test_json_has_no_nan_or_infinity_tokens(capsys):
    layer = _report.Layer("w", (3, 3), 2.0, 1.5, math.inf, 0.999, 4, False, 0.1, "power", "cpp")
    text = _report.format_json(_report.Report("f.npz", [layer]))
    data = json.loads(text, parse_constant=lambda c: pytest.fail(f"non-JSON token {c}"))
    assert data["layers"][0]["upper"] is None and data["lipschitz_upper"] is None
    assert data["lipschitz_bound"] == 2.0
    table = _report.format_table(_report.Report("f.npz", [layer]))
    assert "[1.5, inf]" in table and "4*" in table and "not converged" in table


def test_plot(capsys, tmp_path, convnet):
    image = pytest.importorskip("matplotlib.image")
    path, _ = convnet
    out_png = tmp_path / "sigma.png"
    status, out, err = run(capsys, str(path), "--plot", str(out_png))
    assert status == 0, err
    assert f"plot: {out_png}" in out
    pixels = image.imread(str(out_png))
    height, width = pixels.shape[:2]
    assert width >= 300 and height >= 200
    assert float(pixels.std()) > 0.01
    colors = np.unique(pixels.reshape(-1, pixels.shape[-1]), axis=0)
    assert len(colors) > 1


def test_plot_without_matplotlib(capsys, tmp_path, convnet, monkeypatch):
    path, _ = convnet
    monkeypatch.setitem(sys.modules, "matplotlib", None)  # import matplotlib -> ImportError
    status, out, err = run(capsys, str(path), "--plot", str(tmp_path / "p.png"))
    assert status == 2 and out == ""
    assert err.startswith("specnorm: ") and 'pip install "pyspecnorm[report]"' in err
    assert not (tmp_path / "p.png").exists()


def test_plot_unwritable(capsys, tmp_path, convnet):
    pytest.importorskip("matplotlib")
    path, _ = convnet
    status, _, err = run(capsys, str(path), "--plot", str(tmp_path / "no" / "dir" / "p.png"))
    assert status == 2 and err.startswith("specnorm: cannot write the plot")


def test_progress_bar_only_on_a_terminal(capsys, mlp, monkeypatch):
    pytest.importorskip("tqdm")
    path, _ = mlp

    class Terminal(io.StringIO):
        def isatty(self) -> bool:
            return True

    fake = Terminal()
    monkeypatch.setattr(sys, "stderr", fake)
    assert main(["report", str(path)]) == 0
    assert "mlp.safetensors" in fake.getvalue() and "/3 " in fake.getvalue()  # a tqdm bar

    quiet = Terminal()
    monkeypatch.setattr(sys, "stderr", quiet)
    assert main(["report", str(path), "--no-progress"]) == 0
    assert quiet.getvalue() == ""
    capsys.readouterr()


def test_runs_without_tqdm(capsys, mlp, monkeypatch):
    path, _ = mlp
    monkeypatch.setitem(sys.modules, "tqdm", None)
    monkeypatch.setattr(sys.stderr, "isatty", lambda: True, raising=False)
    status, out, _ = run(capsys, str(path))
    assert status == 0 and len(table_rows(out)) == 3


# --- errors -----------------------------------------------------------------------------------

def _expect_error(capsys, argv: list[str], fragment: str) -> None:
    status, out, err = run(capsys, *argv)
    assert status == 2
    assert out == ""
    assert err.startswith("specnorm: ") and err.count("\n") == 1, err  # one line, no traceback
    assert fragment in err, err


def test_error_missing_file(capsys, tmp_path):
    _expect_error(capsys, [str(tmp_path / "absent.safetensors")], "no such file")


def test_error_unknown_extension(capsys, tmp_path):
    path = tmp_path / "weights.pt"
    path.write_bytes(b"\x80\x02")
    _expect_error(capsys, [str(path)], "unknown file type")


@pytest.mark.parametrize("name", ["bad.safetensors", "bad.npz", "bad.npy", "bad.mtx"])
def test_error_corrupt_file(capsys, tmp_path, name):
    if name.endswith(".mtx"):
        pytest.importorskip("scipy.io")
    path = tmp_path / name
    path.write_bytes(b"this is not a checkpoint\n" * 3)
    _expect_error(capsys, [str(path)], "cannot read")


def test_error_no_2d_weights(capsys, tmp_path):
    path = tmp_path / "biases.safetensors"
    safetensors_numpy.save_file({"b1": np.zeros(3, np.float32), "b2": np.ones(4)}, str(path))
    _expect_error(capsys, [str(path)], "no weight with two or more dimensions")


def test_error_nothing_estimable(capsys, tmp_path):
    path = tmp_path / "ints.npz"
    np.savez(path, idx=np.zeros((3, 3), np.int32), nan=np.full((2, 2), np.nan))
    _expect_error(capsys, [str(path)], "could be estimated")


def test_error_bad_tol(capsys, mlp):
    path, _ = mlp
    _expect_error(capsys, [str(path), "--tol", "2"], "tol")


def test_bad_method_is_a_usage_error(capsys, mlp):
    path, _ = mlp
    with pytest.raises(SystemExit) as info:
        main(["report", str(path), "--method", "qr"])
    assert info.value.code == 2
    capsys.readouterr()


def test_other_subcommands_still_work(capsys, tmp_path):
    np.save(tmp_path / "a.npy", np.array([[3.0, 0.0], [0.0, 1.0]]))
    assert main(["sigma", str(tmp_path / "a.npy")]) == 0
    assert float(capsys.readouterr().out) == pytest.approx(3.0)
    assert main(["backends"]) == 0
    assert "numpy" in capsys.readouterr().out


# --- the module entry point, in a fresh interpreter -------------------------------------------

def test_python_dash_m_report(tmp_path, mlp):
    path, tensors = mlp
    env = {**os.environ, "PYTHONWARNINGS": "error"}
    done = subprocess.run([sys.executable, "-m", "specnorm", "report", str(path), "--json"],
                          capture_output=True, text=True, timeout=60, env=env, check=False)
    assert done.returncode == 0, done.stderr
    data = json.loads(done.stdout)
    assert [layer["name"] for layer in data["layers"]] == [
        "layer1.weight", "layer2.weight", "layer10.weight"]
    assert data["layers"][0]["sigma"] == pytest.approx(
        exact_sigma(tensors["layer1.weight"]), rel=1e-5)
