"""Thread safety: sigma called from many Python threads at once gives the serial answers, and
the C++ core releases the GIL while it computes, so the threads run in parallel."""

from __future__ import annotations

import threading
import time
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest

import specnorm as sn

THREADS = 8


@pytest.fixture(scope="module")
def matrices():
    rng = np.random.default_rng(0)
    shapes = [(300, 200), (200, 300), (120, 120), (40, 30), (500, 80), (80, 500), (256, 256),
              (64, 48)]
    out = [rng.standard_normal(s) for s in shapes]
    out[2] = out[2].astype(np.float32)
    out[5] = out[5] + 1j * rng.standard_normal(shapes[5])
    return out


CALLS = [dict(method="lanczos"), dict(method="power", tol=1e-8), dict(method="rayleigh"),
         dict(method="auto")]


def serial_answers(mats):
    return [[sn.estimate(a, seed=i, **kw) for i, kw in enumerate(CALLS)] for a in mats]


def same(a, b):
    assert a.sigma == b.sigma and a.lower == b.lower and a.upper == b.upper
    assert a.iterations == b.iterations and a.converged == b.converged
    np.testing.assert_array_equal(a.u, b.u)
    np.testing.assert_array_equal(a.v, b.v)


@pytest.mark.parametrize("shared", [False, True], ids=["different", "shared"])
def test_eight_threads_give_the_serial_answers(matrices, shared):
    mats = [matrices[0]] * THREADS if shared else matrices
    want = serial_answers(mats)
    barrier = threading.Barrier(THREADS)

    def work(k):
        barrier.wait()  # all threads start together
        return [sn.estimate(mats[k], seed=i, **kw) for i, kw in enumerate(CALLS)]

    for _ in range(3):
        with ThreadPoolExecutor(THREADS) as pool:
            got = list(pool.map(work, range(THREADS)))
        for k in range(THREADS):
            for g, w in zip(got[k], want[k], strict=True):
                same(g, w)


def test_stacks_sparse_and_sigma_many_from_threads(matrices):
    sp = pytest.importorskip("scipy.sparse")
    stack = np.random.default_rng(1).standard_normal((6, 50, 40))
    sparse = sp.random(400, 300, density=0.05, random_state=2, format="csr")
    jobs = [lambda: sn.sigma(stack, seed=0), lambda: sn.sigma(sparse, seed=0),
            lambda: sn.sigma_many(matrices, seed=0)]
    want = [np.asarray(job()) for job in jobs]
    with ThreadPoolExecutor(THREADS) as pool:
        futures = [pool.submit(jobs[k % len(jobs)]) for k in range(3 * THREADS)]
        for k, fut in enumerate(futures):
            np.testing.assert_array_equal(np.asarray(fut.result()), want[k % len(jobs)])


def test_the_core_releases_the_gil():
    """While one thread is inside the core, another Python thread keeps running: it counts
    steps of pure Python for the whole time of the call (with the GIL held by the core, it
    would count only when the core handed the GIL back for signals, every 20 ms)."""
    # below the size at which the core splits one product across its own threads
    a = np.random.default_rng(3).standard_normal((250, 200))
    done = threading.Event()
    counts = []

    def count():
        k = 0
        while not done.is_set():
            k += 1
        counts.append(k)

    counter = threading.Thread(target=count)
    counter.start()
    try:
        time.sleep(0.05)
        start = time.perf_counter()
        spent = 0.0
        # a core call of at least a few tenths of a second in all
        while spent < 0.3:
            sn.estimate(a, "power", tol=1e-15, maxiter=1000, seed=0)
            spent = time.perf_counter() - start
    finally:
        done.set()
        counter.join()
    # Python counts millions of steps per second; a held GIL would leave it a few thousand
    assert counts[0] > 100_000 * spent


def test_threads_run_in_parallel():
    """8 calls from 8 threads take well below the serial sum on 2 cores (matrices below the
    size at which the core splits a product across its own threads, so that only the Python
    threads provide parallelism). Best of 3 runs against noisy neighbours."""
    a = np.random.default_rng(4).standard_normal((250, 200))
    run = lambda _: sn.estimate(a, "power", tol=1e-15, maxiter=1000, seed=0)  # noqa: E731
    run(0)
    ratios = []
    for _ in range(3):
        start = time.perf_counter()
        for k in range(THREADS):
            run(k)
        serial = time.perf_counter() - start
        start = time.perf_counter()
        with ThreadPoolExecutor(THREADS) as pool:
            list(pool.map(run, range(THREADS)))
        parallel = time.perf_counter() - start
        ratios.append(parallel / serial)
    # 2 cores: ideally 0.5
    assert min(ratios) < 0.8, ratios
