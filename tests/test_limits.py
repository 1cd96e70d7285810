"""Long computations stop: on maxiter, on a timeout (with the best estimate so far) and on
Ctrl-C (the C++ loops let Python's signal handlers run), on every backend and input kind."""

from __future__ import annotations

import _thread
import threading
import time

import numpy as np
import pytest

import specnorm as sn
from specnorm.testing import matrix_with_spectrum

#: sigma_2 / sigma_1 = 1 - 1e-9: power iteration needs about 10^10 steps to reach tol = 1e-15.
HARD = np.r_[1.0, 1.0 - 1e-9, np.linspace(0.5, 0.1, 118)]
NEVER = dict(tol=1e-15, maxiter=10**15)


@pytest.fixture(scope="module")
def hard():
    return matrix_with_spectrum(HARD, (160, 120), seed=0)


def check_best_so_far(est, timeout, elapsed, close=1e-6):
    """A stopped run: not converged, a valid bracket, sigma close to the true 1.0 (the start is
    random, so power iteration has long passed the bulk of the spectrum). With close=None the
    number of steps that fit is not known (a Dask product is a scheduler round trip, slower
    still under a sanitizer): sigma need only be a valid lower estimate."""
    assert not est.converged
    assert est.iterations >= 1
    assert est.lower <= 1.0 + 1e-12 <= est.upper + 1e-12
    if close is None:
        # power iteration's quotients increase: lower (the largest seen) is the last one
        assert est.lower <= est.sigma * (1 + 1e-12) and est.sigma <= 1.0 + 1e-12
    else:
        assert est.iterations > 2
        assert abs(est.sigma - 1.0) < close
    # the deadline is checked once per step: a step of this size takes microseconds, but a
    # Dask step (two scheduler round trips, and its bounds pass) can take seconds under a
    # sanitizer
    assert timeout <= elapsed < timeout + (2.0 if close is not None else 10.0)


@pytest.mark.parametrize("timeout", [0.2, 0.5])
def test_timeout_returns_the_best_estimate_so_far(backend, hard, timeout):
    start = time.perf_counter()
    est = backend.estimate(hard, "power", timeout=timeout, seed=0, **NEVER)
    check_best_so_far(est, timeout, time.perf_counter() - start)


@pytest.mark.slow
@pytest.mark.parametrize("method", ["lanczos", "rayleigh"])
def test_timeout_on_the_other_methods(host_backend, method):
    # A deadline shorter than the run: a matrix large enough that reaching tol takes longer.
    rng = np.random.default_rng(1)
    a = rng.standard_normal((1500, 1200))
    start = time.perf_counter()
    est = host_backend.estimate(a, method, tol=1e-13, seed=0, timeout=0.02)
    elapsed = time.perf_counter() - start
    assert elapsed < 2.0
    exact = np.linalg.norm(a, 2)
    assert not est.converged
    assert est.lower <= exact * (1 + 1e-12) <= est.upper * (1 + 1e-12)
    assert est.sigma <= exact * (1 + 1e-12)


def test_timeout_on_stacks(backend, hard):
    stack = np.stack([hard, 2 * hard, 3 * hard])
    start = time.perf_counter()
    est = backend.estimate(stack, "power", timeout=0.3, seed=0, **NEVER)
    elapsed = time.perf_counter() - start
    assert 0.3 <= elapsed < 2.3
    assert not np.any(est.converged)
    # Every matrix has a valid bracket and an estimate from at least its start (on the C++
    # backend, one matrix per thread: a matrix whose turn came after the deadline has only its
    # start's Rayleigh quotient).
    exact = np.array([1.0, 2.0, 3.0])
    assert np.all(est.lower <= exact * (1 + 1e-12))
    assert np.all(est.upper >= exact * (1 - 1e-12))
    assert np.all((est.sigma > 0) & (est.sigma <= exact * (1 + 1e-12)))
    assert abs(est.sigma[0] - 1.0) < 1e-6


def test_timeout_on_sparse_operator_and_dask(hard):
    sp = pytest.importorskip("scipy.sparse")
    from scipy.sparse.linalg import aslinearoperator

    inputs = [sp.csr_matrix(hard), aslinearoperator(hard)]
    try:
        import dask.array as da
    except ImportError:
        pass
    else:
        inputs.append(da.from_array(hard, chunks=80))
    for a in inputs:
        start = time.perf_counter()
        est = sn.estimate(a, "power", timeout=0.3, seed=0, **NEVER)
        # a Dask product is a scheduler round trip: on a loaded machine only a few steps fit
        close = None if type(a).__module__.startswith("dask") else 1e-6
        check_best_so_far(est, 0.3, time.perf_counter() - start, close=close)


def test_maxiter_stops_a_hard_problem(backend, hard):
    est = backend.estimate(hard, "power", tol=1e-15, maxiter=101, seed=0)
    assert not est.converged and est.iterations <= 101
    assert est.lower <= 1.0 + 1e-12 <= est.upper + 1e-12


def test_bad_timeouts():
    a = np.eye(3)
    for bad in (0, -1.0, float("nan"), "1", True):
        with pytest.raises(ValueError, match="timeout"):
            sn.sigma(a, timeout=bad)
    # math.inf is no deadline
    assert sn.sigma(a, timeout=float("inf")) == pytest.approx(1.0)


def assert_interrupted(a, backend):
    """SIGINT (as Ctrl-C sends it, here from a timer thread after 0.3 s) raises
    KeyboardInterrupt out of a run that would otherwise go on for hours, well within 2 s."""
    timer = threading.Timer(0.3, _thread.interrupt_main)
    timer.start()
    start = time.perf_counter()
    try:
        with pytest.raises(KeyboardInterrupt):
            sn.estimate(a, "power", seed=0, backend=backend, **NEVER)
    finally:
        timer.cancel()
    assert time.perf_counter() - start < 2.0


@pytest.mark.parametrize("kind", ["matrix", "stack", "sparse"])
def test_ctrl_c_stops_the_core(hard, kind):
    """SIGINT (as Ctrl-C sends it) raises KeyboardInterrupt out of the C++ loop within about one
    signal check (20 ms), not at the end of the budget. (Every solver loop asks the same stop
    request as the timeout, tested for every method above; power iteration on HARD is the run
    that lasts long enough to be interrupted reliably.)"""
    if kind == "stack":
        a = np.stack([hard, hard])
    elif kind == "sparse":
        a = pytest.importorskip("scipy.sparse").csr_matrix(hard)
    else:
        a = hard
    assert_interrupted(a, "cpp")


def test_ctrl_c_stops_the_numpy_backend(hard):
    assert_interrupted(hard, "numpy")


def test_a_signal_handler_that_does_not_raise_lets_the_run_go_on(hard):
    """The core runs Python's handlers; one that returns normally does not stop the solver."""
    import signal

    calls = []
    previous = signal.signal(signal.SIGUSR1, lambda *args: calls.append(args))
    try:
        timer = threading.Timer(0.1, lambda: signal.pthread_kill(threading.main_thread().ident,
                                                                 signal.SIGUSR1))
        timer.start()
        est = sn.estimate(hard, "power", seed=0, timeout=0.5, backend="cpp", **NEVER)
    finally:
        signal.signal(signal.SIGUSR1, previous)
    assert calls  # the handler ran while the core was computing
    assert not est.converged and abs(est.sigma - 1.0) < 1e-6


def test_the_default_budget_caps_the_python_calls(host_backend):
    """maxiter=None allows about 10^7 multiply-adds of products, but at most 50,000 products
    where each is a Python call (the NumPy backend here; the array-API stand-in shares its
    code). The fuzzer found a stack of three 2 x 2 matrices with sigma_2 / sigma_1 = 1 - 6e-5
    that took 10 s on the NumPy backend at tol=1e-10 (2.5 million products allowed, 225,000
    needed); the compiled loop converges in 0.3 s."""
    a = np.array([[4294885296, 126000], [127000, 4294852296]], dtype=np.uint32)
    exact = np.linalg.svd(a.astype(np.float64), compute_uv=False)[0]
    est = host_backend.estimate(np.stack([a, a, a]), "power", tol=1e-10, seed=1)
    its = np.asarray(est.iterations)
    if host_backend.name == "cpp":
        assert np.all(est.converged) and np.all(its > 50_000)
    else:
        assert np.all(its <= 50_000) and np.all(its > 40_000) and not np.any(est.converged)
    assert np.all(est.lower <= exact * (1 + 1e-12)) and np.all(exact <= est.upper * (1 + 1e-12))
    from specnorm._rules import default_maxiter
    assert default_maxiter(2, 2) == 2_500_000 and default_maxiter(2, 2, 50_000) == 50_000
    assert default_maxiter(1000, 1000, 50_000) == default_maxiter(1000, 1000) == 20_000
