"""A numpy.memmap is read in place, never copied into memory: its pages come and go through the
operating system's file cache, so a file larger than memory works."""

import subprocess
import sys
import textwrap
import tracemalloc

import numpy as np
import pytest

import specnorm as sn

ROWS, COLS = 1500, 8000  # 96 MB of float64


@pytest.fixture(scope="module")
def memmap_file(tmp_path_factory):
    path = tmp_path_factory.mktemp("memmap") / "a.dat"
    out = np.memmap(path, dtype=np.float64, mode="w+", shape=(ROWS, COLS))
    rng = np.random.default_rng(3)
    for r in range(0, ROWS, 250):
        out[r:r + 250] = rng.standard_normal((250, COLS))
    out.flush()
    del out
    ref = np.memmap(path, dtype=np.float64, mode="r", shape=(ROWS, COLS))
    # the reference from the Gram matrix (small: COLS x COLS would be 512 MB, ROWS x ROWS is 18 MB)
    gram = np.zeros((ROWS, ROWS))
    for c in range(0, COLS, 1000):
        block = np.asarray(ref[:, c:c + 1000])
        gram += block @ block.T
    sigma = float(np.sqrt(np.linalg.eigvalsh(gram)[-1]))
    return path, sigma


def open_ro(path):
    return np.memmap(path, dtype=np.float64, mode="r", shape=(ROWS, COLS))


@pytest.mark.slow
@pytest.mark.parametrize(("method", "tol"), [("auto", 1e-8), ("power", 1e-3), ("rayleigh", 1e-8)])
def test_no_copy_of_the_matrix(memmap_file, method, tol):
    path, sigma = memmap_file
    a = open_ro(path)
    tracemalloc.start()
    try:
        est = sn.estimate(a, method, tol=tol, seed=0)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert abs(est.sigma - sigma) <= 10 * tol * sigma
    # NumPy allocations seen by tracemalloc: the vectors only, not the 96 MB of A
    assert peak < a.nbytes / 20


@pytest.mark.slow
def test_dask_over_a_memmap_keeps_a_few_chunks(memmap_file):
    da = pytest.importorskip("dask.array")
    path, sigma = memmap_file
    a = open_ro(path)
    d = da.from_array(a, chunks=(50, COLS))  # 3.2 MB chunks
    # the one-time imports of a first Dask computation (schedulers, distributed's modules) are
    # allocations too: made before counting
    sn.estimate(da.from_array(a[:64, :64], chunks=32), seed=0)
    tracemalloc.start()
    try:
        est = sn.estimate(d, tol=1e-8, seed=0)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert abs(est.sigma - sigma) <= 1e-7 * sigma
    # What the NumPy backend's Lanczos holds (its bases: 64 vectors of length m + 2 n, twice over
    # during a restart) and a few chunks per worker thread, however large the file
    basis = 2 * 64 * (ROWS + 2 * COLS) * 8
    chunk = 50 * COLS * 8
    assert peak < basis + 4 * chunk
    assert peak < a.nbytes / 3


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="RLIMIT_DATA semantics of Linux")
def test_runs_with_less_memory_than_the_file(memmap_file):
    """In a process whose private memory may grow by only half the file's size (RLIMIT_DATA; a
    read-only file mapping does not count), a copy of A fails and the estimate succeeds."""
    path, sigma = memmap_file
    script = textwrap.dedent(f"""
        import resource
        import numpy as np
        import specnorm as sn

        def private_kib():
            for line in open("/proc/self/status"):
                if line.startswith("VmData:"):
                    return int(line.split()[1])

        a = np.memmap({str(path)!r}, dtype=np.float64, mode="r", shape=({ROWS}, {COLS}))
        sn.sigma(np.ones((80, 80)))  # load everything first (the core, its threads)
        limit = private_kib() * 1024 + a.nbytes // 2
        resource.setrlimit(resource.RLIMIT_DATA, (limit, limit))
        try:
            np.array(a)
        except MemoryError:
            pass
        else:
            raise SystemExit("the limit does not stop a copy of A")
        print(repr(sn.sigma(a, tol=1e-8, seed=0)))
    """)
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                          timeout=120)
    assert done.returncode == 0, done.stderr + done.stdout
    assert abs(float(done.stdout.strip()) - sigma) <= 1e-7 * sigma


@pytest.mark.slow
def test_memmap_is_not_modified(memmap_file):
    path, _ = memmap_file
    a = open_ro(path)
    before = np.asarray(a[::97, ::89]).copy()
    sn.estimate(a, "lanczos", tol=1e-6, seed=1)
    sn.estimate(a, "power", tol=1e-3, seed=1, backend="numpy")
    np.testing.assert_array_equal(np.asarray(a[::97, ::89]), before)
