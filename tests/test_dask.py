"""Dask arrays: the iterative methods run on their products, one Dask computation per product,
on the local scheduler and on a distributed LocalCluster, and agree with NumPy."""

import numpy as np
import pytest

import specnorm as sn

da = pytest.importorskip("dask.array")
dask = pytest.importorskip("dask")
from dask.callbacks import Callback  # noqa: E402


def exact(a):
    return float(np.linalg.svd(np.asarray(a), compute_uv=False)[0])


class CountComputations(Callback):
    """Counts the Dask computations (graphs run) while active."""

    def __init__(self):
        super().__init__()
        self.count = 0

    def _start(self, dsk):
        self.count += 1


@pytest.fixture(scope="module")
def matrix():
    # a top singular value well apart (sigma_2 / sigma_1 = 0.5), so power iteration is quick too
    rng = np.random.default_rng(7)
    left, _ = np.linalg.qr(rng.standard_normal((300, 200)))
    right, _ = np.linalg.qr(rng.standard_normal((200, 200)))
    spectrum = np.concatenate([[20.0], np.linspace(10.0, 0.1, 199)])
    return (left * spectrum) @ right.T


@pytest.mark.parametrize("method", ["auto", "lanczos", "power", "rayleigh"])
@pytest.mark.parametrize("dtype", [np.float64, np.float32, np.complex128])
def test_agrees_with_numpy(matrix, method, dtype):
    a = matrix.astype(dtype)
    if np.dtype(dtype).kind == "c":
        a = a + 1j * matrix[::-1].astype(dtype)
    d = da.from_array(a, chunks=(70, 90))
    est = sn.estimate(d, method, tol=1e-8, seed=0)
    tol = 1e-4 if dtype == np.float32 else 1e-7
    ref = exact(a)
    assert abs(est.sigma - ref) <= tol * ref
    assert est.converged
    assert est.lower <= ref * (1 + tol) and est.upper >= ref * (1 - tol)
    assert isinstance(est.u, np.ndarray) and est.u.shape == (300,) and est.v.shape == (200,)
    np.testing.assert_allclose(a @ est.v, est.sigma * est.u, atol=1e-3 * ref)
    assert est.method == ("lanczos" if method == "auto" else method)
    # the same answer as the matrix-free path on the same products
    dense = sn.estimate(a, "lanczos" if method == "auto" else method, tol=1e-8, seed=0)
    assert abs(est.sigma - dense.sigma) <= tol * ref


def test_upper_is_the_certain_bound_when_smaller(matrix):
    # a rank-one matrix: ||A||_F = sigma_1, so the bound from the entries is tight and certain
    a = np.outer(np.arange(1.0, 41.0), np.ones(30))
    est = sn.estimate(da.from_array(a, chunks=7), tol=1e-10, seed=1)
    ref = exact(a)
    assert abs(est.sigma - ref) <= 1e-9 * ref
    assert est.confidence == 1.0 and est.upper == pytest.approx(ref, rel=1e-12)


def test_one_computation_per_product(matrix):
    d = da.from_array(matrix, chunks=(100, 100))
    with CountComputations() as counter:
        est = sn.estimate(d, "lanczos", tol=1e-6, seed=3)
    # one computation for the bounds over the entries, then one per product
    assert counter.count == est.iterations + 1
    with CountComputations() as counter:
        est = sn.estimate(d, "power", tol=1e-4, seed=3)
    assert counter.count == est.iterations + 1


def test_start_vector_and_seed(matrix):
    d = da.from_array(matrix, chunks=100)
    v = np.linalg.svd(matrix)[2][0]
    est = sn.estimate(d, v0=v, tol=1e-10)
    cold = sn.estimate(d, tol=1e-10, seed=0)
    assert est.converged and est.iterations <= cold.iterations + 10
    assert abs(est.sigma - exact(matrix)) <= 1e-9 * exact(matrix)
    assert sn.sigma(d, seed=5) == sn.sigma(d, seed=5)


def test_memmap_in_chunks(tmp_path, matrix):
    path = tmp_path / "a.dat"
    mm = np.memmap(path, dtype=np.float64, mode="w+", shape=matrix.shape)
    mm[:] = matrix
    mm.flush()
    ro = np.memmap(path, dtype=np.float64, mode="r", shape=matrix.shape)
    assert sn.sigma(da.from_array(ro, chunks=(64, 200)), tol=1e-10, seed=0) == pytest.approx(
        exact(matrix), rel=1e-9)


def test_zero_and_empty():
    est = sn.estimate(da.zeros((6, 4), chunks=3))
    assert est.sigma == 0.0 and est.upper == 0.0 and est.converged and est.iterations == 0
    assert sn.sigma(da.zeros((0, 4), chunks=2)) == 0.0
    assert sn.sigma(da.zeros((4, 0), chunks=2)) == 0.0


def test_huge_and_tiny_entries_keep_a_finite_bound():
    rng = np.random.default_rng(0)
    a = rng.standard_normal((40, 30))
    for scale in (1e200, 1e-200):
        est = sn.estimate(da.from_array(a * scale, chunks=10), tol=1e-10, seed=0)
        ref = exact(a) * scale
        assert abs(est.sigma - ref) <= 1e-9 * ref
        assert np.isfinite(est.upper) and est.upper >= ref * (1 - 1e-12)


def test_bad_input():
    good = da.ones((5, 4), chunks=2)
    bad = np.ones((5, 4))
    bad[2, 1] = np.nan
    with pytest.raises(ValueError, match="NaN or Inf"):
        sn.sigma(da.from_array(bad, chunks=2))
    bad[2, 1] = np.inf
    with pytest.raises(ValueError, match="NaN or Inf"):
        sn.sigma(da.from_array(bad, chunks=2))
    with pytest.raises(ValueError, match="2-D Dask array"):
        sn.sigma(da.ones((2, 3, 4)))
    with pytest.raises(ValueError, match="svd"):
        sn.sigma(good, method="svd")
    with pytest.raises(TypeError):
        sn.sigma(da.from_array(np.array([["a", "b"], ["c", "d"]]), chunks=1))
    with pytest.raises(ValueError, match="tol"):
        sn.sigma(good, tol=2.0)
    with pytest.raises(ValueError):
        sn.estimate(good, v0=np.ones(3))


@pytest.mark.slow
def test_distributed_local_cluster(matrix):
    distributed = pytest.importorskip("distributed")
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                  dashboard_address=None) as cluster, \
            distributed.Client(cluster) as client:
        assert len(client.scheduler_info()["workers"]) == 2
        d = da.from_array(matrix, chunks=(100, 100)).persist()
        with distributed.get_task_stream(client) as stream:
            est = sn.estimate(d, tol=1e-10, seed=0)
        ref = exact(matrix)
        assert abs(est.sigma - ref) <= 1e-9 * ref and est.converged
        # the products ran as tasks on the cluster's workers
        workers = {task["worker"] for task in stream.data}
        assert workers and workers <= set(client.scheduler_info()["workers"])
        assert len(stream.data) >= est.iterations
