"""The choice of backend, what each backend returns, the device discipline of the GPU path (on the
array_api_strict stand-in for CuPy), the import cost, and life without the compiled extension."""

from __future__ import annotations

import functools
import importlib.util
import json
import math
import os
import subprocess
import sys
import textwrap

import numpy as np
import pytest

import specnorm as sn
from specnorm.backends import BACKENDS, BackendInfo, cupy
from specnorm.engine import operator as engine_operator

STANDIN = "array_api_strict"
ITERATIVE = ("power", "lanczos", "rayleigh")
HAVE_CUPY = importlib.util.find_spec("cupy") is not None


@pytest.fixture
def a():
    return np.random.default_rng(0).standard_normal((30, 20))


@pytest.fixture
def no_env(monkeypatch):
    """No SPECNORM_BACKEND from the caller's environment."""
    monkeypatch.delenv("SPECNORM_BACKEND", raising=False)


@pytest.fixture
def xps():
    """The array_api_strict namespace of the stand-in backend (registered by conftest)."""
    if STANDIN not in BACKENDS:
        pytest.skip("array_api_strict is not installed")
    return BACKENDS[STANDIN].xp


@functools.cache
def spectrum_matrix(kind: str, m: int = 300, n: int = 200) -> np.ndarray:
    """U diag(s) V^T with random orthonormal U (m, n), V (n, n) and the singular values s:
    "cluster" 1, 0.9999, 0.9998, ... (Lanczos restarts); "gap" 1, 0.9, then 0.85 ... 0.01;
    "wide" 1, 0.6, then 0.55 ... 0.01."""
    if kind == "cluster":
        values = 1.0 - 1e-4 * np.arange(n)
    elif kind == "wide":
        values = np.concatenate([[1.0, 0.6], np.linspace(0.55, 0.01, n - 2)])
    else:
        values = np.concatenate([[1.0, 0.9], np.linspace(0.85, 0.01, n - 2)])
    rng = np.random.default_rng(0)
    left, _ = np.linalg.qr(rng.standard_normal((m, n)))
    right, _ = np.linalg.qr(rng.standard_normal((n, n)))
    out = (left * values) @ right.T
    out.flags.writeable = False
    return out


# --- (a) what backends() reports -----------------------------------------------------------


def test_backends_lists_cpp_numpy_and_cupy_with_usable_and_reason():
    info = sn.backends()
    assert {"cpp", "numpy", "cupy"} <= set(info)
    for name, entry in info.items():
        assert isinstance(entry, BackendInfo), name
        usable, reason = entry
        assert isinstance(usable, bool) and isinstance(reason, str) and reason, name
    assert info["numpy"].usable
    assert info["cpp"].usable == (importlib.util.find_spec("specnorm._core") is not None)


@pytest.mark.skipif(HAVE_CUPY, reason="CuPy is installed here")
def test_cupy_without_cupy_is_unusable_and_says_why():
    info = sn.backends()["cupy"]
    assert info.usable is False
    assert "CuPy is not installed" in info.reason


def test_backends_reports_a_switched_off_backend(monkeypatch):
    monkeypatch.setattr(BACKENDS["cpp"], "availability", lambda: (False, "no extension here"))
    assert sn.backends()["cpp"] == BackendInfo(False, "no extension here")


# --- (b) the automatic choice on the host, SPECNORM_BACKEND, explicit names --------------------


def test_auto_picks_cpp_for_numpy_input(a, no_env):
    if not BACKENDS["cpp"].availability()[0]:
        pytest.skip("the C++ extension is not built here")
    for method in (*ITERATIVE, "svd", "auto"):
        assert sn.estimate(a, method, seed=0).backend == "cpp"
    assert sn.estimate(np.ones((3, 4, 5)), seed=0).backend == "cpp"


def test_auto_falls_back_to_numpy_without_the_extension(a, no_env, monkeypatch):
    monkeypatch.setattr(BACKENDS["cpp"], "availability",
                        lambda: (False, "the compiled extension specnorm._core is gone"))
    est = sn.estimate(a, "lanczos", seed=0)
    assert est.backend == "numpy"
    assert est.sigma == pytest.approx(np.linalg.norm(a, 2), rel=1e-6)
    with pytest.raises(RuntimeError, match="'cpp' backend is not usable here: the compiled"):
        sn.sigma(a, backend="cpp")


def test_environment_variable_overrides_auto(a, monkeypatch):
    monkeypatch.setenv("SPECNORM_BACKEND", "numpy")
    assert sn.estimate(a, "lanczos", seed=0).backend == "numpy"
    assert sn.estimate(np.ones((2, 4, 5)), seed=0).backend == "numpy"
    monkeypatch.setenv("SPECNORM_BACKEND", " auto ")
    assert sn.estimate(a, seed=0).backend == next(
        name for name in ("cpp", "numpy") if BACKENDS[name].availability()[0])


def test_environment_variable_does_not_override_an_explicit_backend(a, monkeypatch):
    if not BACKENDS["cpp"].availability()[0]:
        pytest.skip("the C++ extension is not built here")
    monkeypatch.setenv("SPECNORM_BACKEND", "numpy")
    assert sn.estimate(a, "lanczos", seed=0, backend="cpp").backend == "cpp"
    monkeypatch.setenv("SPECNORM_BACKEND", "cpp")
    assert sn.estimate(a, "lanczos", seed=0, backend="numpy").backend == "numpy"


@pytest.mark.skipif(HAVE_CUPY, reason="CuPy is installed here")
def test_explicit_cupy_without_cupy_is_a_runtime_error_naming_the_reason(a, monkeypatch):
    with pytest.raises(RuntimeError, match="'cupy' backend is not usable here: CuPy is not "
                                           "installed"):
        sn.sigma(a, backend="cupy")
    monkeypatch.setenv("SPECNORM_BACKEND", "cupy")
    with pytest.raises(RuntimeError, match="CuPy is not installed"):
        sn.sigma(a)


# --- (c) device arrays go to their backend and nowhere else ------------------------------------


def test_standin_arrays_go_to_the_standin_under_auto(xps, a, no_env):
    est = sn.estimate(xps.asarray(a), "lanczos", seed=0)
    assert est.backend == STANDIN
    assert sn.estimate(xps.asarray(np.ones((2, 4, 5)))).backend == STANDIN


def test_device_array_with_a_host_backend_is_a_type_error(xps, a):
    for name in ("cpp", "numpy"):
        if not BACKENDS[name].availability()[0]:
            continue
        with pytest.raises(TypeError, match="never moves a device array to the host"):
            sn.sigma(xps.asarray(a), backend=name)


def test_host_array_with_the_device_backend_is_a_type_error(xps, a):
    for host in (a, a.tolist(), np.ones((2, 3, 4))):
        with pytest.raises(TypeError, match="computes on arrays of its own device"):
            sn.sigma(host, backend=STANDIN)


def test_environment_variable_naming_a_host_backend_never_moves_a_device_array(xps, a,
                                                                                monkeypatch):
    monkeypatch.setenv("SPECNORM_BACKEND", "numpy")
    with pytest.raises(TypeError, match="never moves a device array to the host"):
        sn.sigma(xps.asarray(a))


def test_unusable_device_backend_is_a_runtime_error_not_a_host_fallback(xps, a, monkeypatch,
                                                                         no_env):
    monkeypatch.setattr(BACKENDS[STANDIN], "availability", lambda: (False, "no device here"))
    with pytest.raises(RuntimeError, match="not usable here: no device here"):
        sn.sigma(xps.asarray(a))


# --- (d) what the device backend returns -------------------------------------------------------


@pytest.mark.parametrize("method", [*ITERATIVE, "svd", "auto"])
@pytest.mark.parametrize("dtype", ["float32", "float64", "complex64", "complex128"])
def test_standin_single_matrix_result_types(xps, method, dtype):
    rng = np.random.default_rng(5)
    host = rng.standard_normal((40, 30))
    if dtype.startswith("complex"):
        host = host + 1j * rng.standard_normal((40, 30))
    host = host.astype(dtype)
    est = sn.estimate(xps.asarray(host), method, seed=0, tol=1e-4)
    assert type(est.sigma) is float
    for name in ("lower", "upper", "confidence", "residual"):
        assert type(getattr(est, name)) is float, name
    assert type(est.iterations) is int and type(est.converged) is bool
    for vec, size in ((est.u, 40), (est.v, 30)):
        assert type(vec).__module__.startswith("array_api_strict")
        assert vec.dtype == getattr(xps, dtype) and vec.shape == (size,)
    assert est.sigma == pytest.approx(np.linalg.norm(host.astype(np.complex128), 2), rel=1e-3)
    assert type(sn.sigma(xps.asarray(host), method, seed=0, tol=1e-4)) is float


def test_standin_stack_result_types(xps):
    host = np.random.default_rng(6).standard_normal((2, 3, 12, 9)).astype(np.float32)
    est = sn.estimate(xps.asarray(host), "lanczos", seed=0, tol=1e-4)
    for name in ("sigma", "lower", "upper", "iterations", "converged", "confidence", "residual"):
        value = getattr(est, name)
        assert type(value).__module__.startswith("array_api_strict"), name
        assert value.shape == (2, 3), name
    assert est.iterations.dtype == xps.int64 and est.converged.dtype == xps.bool
    assert est.u.shape == (2, 3, 12) and est.v.shape == (2, 3, 9)
    assert est.u.dtype == xps.float32 and est.v.dtype == xps.float32
    exact = np.linalg.svd(host.astype(np.float64), compute_uv=False)[..., 0]
    np.testing.assert_allclose(np.asarray(np.from_dlpack(est.sigma)), exact, rtol=1e-3)
    got = sn.sigma(xps.asarray(host), "lanczos", seed=0, tol=1e-4)
    assert type(got).__module__.startswith("array_api_strict") and got.shape == (2, 3)


# --- (e) device discipline: what crosses from the device to the host ---------------------------


class Transfers(list):
    """Sizes of transfers; ``shapes`` holds their shapes."""

    def __init__(self) -> None:
        super().__init__()
        self.shapes: list[tuple[int, ...]] = []


@pytest.fixture
def transfers(xps, monkeypatch):
    """Sizes of every device-to-host transfer of the stand-in backend, in order."""
    be = BACKENDS[STANDIN]
    original = be.to_host
    sizes = Transfers()

    def counting(x):
        sizes.append(math.prod(int(d) for d in x.shape))
        sizes.shapes.append(tuple(int(d) for d in x.shape))
        return original(x)

    monkeypatch.setattr(be, "to_host", counting)
    # An operator receives to_host at construction: every one built must get the counting one.
    engines: list = []
    init = engine_operator.Operator.__init__

    def spy(self, namespace, dtype, device, to_host, from_host, like):
        engines.append(to_host)
        init(self, namespace, dtype, device, to_host, from_host, like)

    monkeypatch.setattr(engine_operator.Operator, "__init__", spy)
    yield sizes
    assert engines, "no engine operator was built"
    assert all(got is counting for got in engines)


def test_lanczos_moves_only_small_columns_to_the_host(xps, transfers):
    m, n = 300, 200
    basis = 64  # specnorm._rules.BASIS_VECTORS, reached here: min(64, n, memory limit)
    # A clustered spectrum: Lanczos needs a thick restart (more than `basis` steps).
    host = spectrum_matrix("cluster", m, n)
    est = sn.estimate(xps.asarray(host), "lanczos", seed=0, tol=1e-8)
    assert est.converged and est.iterations > 2 * basis
    assert est.sigma == pytest.approx(1.0, rel=1e-8)
    assert len(transfers) >= est.iterations // 2 - 4  # one fetch per Lanczos step
    assert max(transfers) <= basis + 8, transfers
    # u and v stay on the device: nothing of length m or n ever came back.
    assert type(est.u).__module__.startswith("array_api_strict")
    assert not {m, n} & set(transfers)


@pytest.mark.parametrize("method", ["power", "rayleigh", "svd"])
def test_other_methods_move_only_scalars_to_the_host(xps, transfers, method):
    host = spectrum_matrix("gap")
    est = sn.estimate(xps.asarray(host), method, seed=0, tol=1e-8)
    assert est.converged
    assert transfers and max(transfers) <= 64 + 8, transfers


def test_a_stack_moves_only_scalars_to_the_host(xps, transfers):
    host = np.random.default_rng(7).standard_normal((2, 3, 90, 70))
    est = sn.estimate(xps.asarray(host), "lanczos", seed=0, tol=1e-8)
    assert bool(np.all(np.asarray(np.from_dlpack(est.converged))))
    # The stack runs as one batch: a transfer carries the scalars of every live matrix at once,
    # at most basis_size + 8 per matrix, and never a vector of length m or n.
    m, n = host.shape[-2:]
    assert max(transfers) <= host.shape[0] * host.shape[1] * (64 + 8), transfers
    assert not [s for s in transfers.shapes if m in s or n in s], transfers.shapes


def test_power_iteration_synchronises_only_every_few_steps(xps, transfers):
    # a gap wide enough that power iteration proves sigma_1 itself (power.hpp), with no
    # Lanczos check, whose steps each read back
    host = spectrum_matrix("wide")
    est = sn.estimate(xps.asarray(host), "power", seed=0, tol=1e-6)
    steps = est.iterations // 2
    assert est.converged and steps >= 20
    assert cupy.SYNC_EVERY > 1
    # One transfer for the one-pass bounds, one per SYNC_EVERY steps (and the first and last).
    assert len(transfers) <= steps // cupy.SYNC_EVERY + 4, (len(transfers), steps)
    assert max(transfers) <= 8


def test_a_device_start_vector_is_accepted(xps, a):
    v0 = np.random.default_rng(8).standard_normal(20)
    est = sn.estimate(xps.asarray(a), "lanczos", seed=0, v0=xps.asarray(v0), tol=1e-10)
    assert est.sigma == pytest.approx(np.linalg.norm(a, 2), rel=1e-9)


# --- (f) import cost ---------------------------------------------------------------------------


def _child_env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k != "SPECNORM_BACKEND"}
    env.update(extra)
    return env


def _compute_env(**extra: str) -> dict[str, str]:
    """For children that compute: one BLAS thread, as spinning BLAS threads on a loaded CI
    machine can make one SVD take seconds."""
    return _child_env(OPENBLAS_NUM_THREADS="1", OMP_NUM_THREADS="1", MKL_NUM_THREADS="1",
                      **extra)


def _run_child(code: str, tmp_path, env: dict[str, str] | None = None,
               timeout: float = 120) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          cwd=tmp_path, env=env if env is not None else _child_env(),
                          timeout=timeout, check=False)


def test_import_is_fast_and_imports_neither_cupy_nor_scipy(tmp_path):
    code = textwrap.dedent("""
        import json, sys, time
        start = time.perf_counter()
        import specnorm
        took = time.perf_counter() - start
        heavy = [name for name in ("cupy", "scipy", "hypothesis", "array_api_strict")
                 if name in sys.modules]
        print(json.dumps({"took": took, "heavy": heavy}))
    """)
    times = []
    for _ in range(3):
        child = _run_child(code, tmp_path)
        assert child.returncode == 0, child.stderr
        report = json.loads(child.stdout.strip().splitlines()[-1])
        assert report["heavy"] == [], report
        times.append(report["took"])
    assert min(times) < 0.3, times


# --- (g) a machine where the compiled extension was removed ------------------------------------

BLOCK_CORE = textwrap.dedent("""
    import sys

    class _NoCore:
        def find_spec(self, name, path=None, target=None):
            if name == "specnorm._core":
                raise ImportError("simulated: the extension file was removed")
            return None

    sys.meta_path.insert(0, _NoCore())
""")


def test_without_the_extension_numpy_computes(tmp_path):
    code = BLOCK_CORE + textwrap.dedent("""
        import json
        import numpy as np
        import specnorm

        info = specnorm.backends()["cpp"]
        a = np.random.default_rng(0).standard_normal((120, 90))
        est = specnorm.estimate(a, seed=0)
        try:
            specnorm.sigma(a, backend="cpp")
            forced = ""
        except RuntimeError as exc:
            forced = str(exc)
        print(json.dumps({
            "forced": forced,
            "usable": info.usable, "reason": info.reason, "backend": est.backend,
            "sigma": specnorm.sigma(a, "lanczos", seed=0), "power": specnorm.sigma(a, "power"),
            "exact": float(np.linalg.norm(a, 2)), "core": "specnorm._core" in sys.modules,
        }))
    """)
    child = _run_child(code, tmp_path, env=_compute_env())
    assert child.returncode == 0, child.stderr
    report = json.loads(child.stdout.strip().splitlines()[-1])
    assert report["usable"] is False and "specnorm._core" in report["reason"]
    assert report["backend"] == "numpy" and report["core"] is False
    assert "'cpp' backend is not usable here" in report["forced"]
    assert "specnorm._core" in report["forced"]
    for key in ("sigma", "power"):
        assert report[key] == pytest.approx(report["exact"], rel=1e-6)


def test_without_the_extension_the_demo_runs_on_numpy(tmp_path):
    code = BLOCK_CORE + textwrap.dedent("""
        import runpy
        sys.argv = ["specnorm", "demo"]
        runpy.run_module("specnorm", run_name="__main__", alter_sys=True)
    """)
    child = _run_child(code, tmp_path, env=_compute_env(SPECNORM_BACKEND="numpy"))
    assert child.returncode == 0, child.stdout + child.stderr
    assert "lanczos" in child.stdout
    named = [line for line in child.stdout.splitlines() if "backend" in line.lower()]
    if named:  # the demo may name the backend it ran on: it must be numpy
        assert "numpy" in " ".join(named), named


# --- (h) the host backends agree ---------------------------------------------------------------


@functools.cache
def random_matrix(dtype: str, m: int = 90, n: int = 70) -> tuple[np.ndarray, float]:
    """A Gaussian matrix of the dtype (complex: independent real and imaginary parts) and its
    spectral norm in double precision."""
    rng = np.random.default_rng(9)
    host = rng.standard_normal((m, n))
    if dtype.startswith("complex"):
        host = host + 1j * rng.standard_normal((m, n))
    host = host.astype(dtype)
    host.flags.writeable = False
    return host, float(np.linalg.norm(host.astype(np.complex128), 2))


@pytest.mark.parametrize("dtype, tol", [("float32", 1e-4), ("float64", 1e-8),
                                        ("complex64", 1e-4), ("complex128", 1e-8)])
@pytest.mark.parametrize("method", [*ITERATIVE, "svd", "auto"])
def test_cpp_and_numpy_agree(dtype, tol, method):
    for name in ("cpp", "numpy"):
        usable, reason = BACKENDS[name].availability()
        if not usable:
            pytest.skip(f"{name}: {reason}")
    host, exact = random_matrix(dtype)
    cpp = sn.estimate(host, method, seed=3, tol=tol, backend="cpp")
    py = sn.estimate(host, method, seed=3, tol=tol, backend="numpy")
    assert (cpp.method, py.method) == ((method,) * 2 if method != "auto" else ("lanczos",) * 2)
    assert cpp.converged and py.converged
    assert cpp.sigma == pytest.approx(exact, rel=tol)
    assert py.sigma == pytest.approx(exact, rel=tol)
    assert py.sigma == pytest.approx(cpp.sigma, rel=tol)
    assert py.residual <= tol and cpp.residual <= tol
    assert py.v.dtype == cpp.v.dtype == np.dtype(dtype)
    assert py.lower <= exact * (1 + 1e-5) and cpp.lower <= exact * (1 + 1e-5)


def test_every_backend_agrees_with_the_svd_on_a_stack(backend):
    host = np.random.default_rng(10).standard_normal((3, 80, 66))
    got = backend.estimate(host, "lanczos", seed=1, tol=1e-8)
    exact = np.linalg.svd(host, compute_uv=False)[:, 0]
    np.testing.assert_allclose(got.sigma, exact, rtol=1e-8)
    assert got.backend == backend.name and np.all(got.converged)
