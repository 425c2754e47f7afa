"""xentc.dask: log_loss, d2_log_loss_score and cross_entropy on Dask arrays, with the
threaded scheduler and on a real LocalCluster (2 worker processes), for unequal, row-only
and row-and-column chunkings, against xentc's in-memory functions and scikit-learn."""

import json
import math
import pathlib
import subprocess
import sys

import numpy as np
import pytest

import xentc

from helpers import assert_same_outcome, bad_log_loss_problems, outcome

da = pytest.importorskip("dask.array")
dask = pytest.importorskip("dask")
import xentc.dask as xd  # noqa: E402  (after the skip: needs dask)

CHUNKINGS = {
    "unequal rows": ((1000, 1, 2999, 0, 3000, 1000), -1),
    "rows and columns": ((2500, 2500, 3000), (2, 3)),
    "one block": (-1, -1),
}


def problem(rng, n=8000, k=5):
    p = rng.dirichlet(np.ones(k), size=n)
    y = rng.integers(0, k, size=n)
    return y, p


@pytest.fixture(autouse=True)
def threaded_scheduler():
    with dask.config.set(scheduler="threads"):
        yield


@pytest.mark.parametrize("chunking", CHUNKINGS, ids=list(CHUNKINGS))
@pytest.mark.parametrize("weighted", [False, True])
def test_log_loss_equals_in_memory(chunking, weighted):
    rng = np.random.default_rng(0)
    y, p = problem(rng)
    w = rng.random(y.shape[0]) if weighted else None
    rows, cols = CHUNKINGS[chunking]
    dp = da.from_array(p, chunks=(rows, cols))
    dy = da.from_array(y, chunks=1234)  # other row chunks than p's
    dw = None if w is None else da.from_array(w, chunks=999)
    for normalize in (True, False):
        ours = xd.log_loss(dy, dp, sample_weight=dw, normalize=normalize)
        assert type(ours) is float
        assert ours == pytest.approx(
            xentc.log_loss(y, p, sample_weight=w, normalize=normalize), rel=1e-12)
    assert xd.d2_log_loss_score(dy, dp, sample_weight=dw) == pytest.approx(
        xentc.d2_log_loss_score(y, p, sample_weight=w), rel=1e-12)
    state = xd.log_loss_state(dy, dp, sample_weight=dw, split_every=2)
    memory = xentc.log_loss_partial(y, p, labels=range(5), sample_weight=w)
    assert state.n == memory.n
    np.testing.assert_allclose(state.per_class(), memory.per_class(), rtol=1e-12)
    assert state.sem() == pytest.approx(memory.sem(), rel=1e-9)


def test_labels_inferred_once_over_all_blocks():
    """A class present in one block only, string labels, and mixed dask / NumPy inputs."""
    rng = np.random.default_rng(1)
    y, p = problem(rng, n=6000, k=4)
    y[y == 3] = 2
    y[-1] = 3
    names = np.array(["ant", "bee", "cat", "dog"])[y]
    dp = da.from_array(p, chunks=1000)
    for labels in (y, names):
        expected = xentc.log_loss(labels, p)
        assert xd.log_loss(da.from_array(labels, chunks=1000), dp) == pytest.approx(
            expected, rel=1e-12)
        assert xd.log_loss(labels, dp) == pytest.approx(expected, rel=1e-12)
        assert xd.log_loss(da.from_array(labels, chunks=700), p) == pytest.approx(
            expected, rel=1e-12)
    # NumPy arrays alone go to xentc.log_loss
    assert xd.log_loss(y, p) == xentc.log_loss(y, p)


def test_binary_one_dimensional_probabilities():
    rng = np.random.default_rng(2)
    p = rng.random(5000)
    y = rng.integers(0, 2, size=5000)
    assert xd.log_loss(da.from_array(y, chunks=800), da.from_array(p, chunks=1100)) == \
        pytest.approx(xentc.log_loss(y, p), rel=1e-12)


BAD = bad_log_loss_problems(np.random.default_rng(3))


@pytest.mark.parametrize("name, y, p, kwargs", BAD, ids=[case[0] for case in BAD])
def test_errors_and_warnings_as_in_memory(name, y, p, kwargs):
    dkwargs = dict(kwargs)
    if "sample_weight" in kwargs:
        dkwargs["sample_weight"] = da.from_array(kwargs["sample_weight"], chunks=1000)
    ours = outcome(xd.log_loss, da.from_array(y, chunks=1000), da.from_array(p, chunks=1000),
                   **dkwargs)
    memory = outcome(xentc.log_loss, y, p, **kwargs)
    assert memory.error is not None or memory.warnings, name
    # a block names the undeclared labels it holds, not all of them
    assert_same_outcome(ours, memory, rtol=1e-12, messages="undeclared" not in name)


def test_cross_entropy_equals_in_memory():
    rng = np.random.default_rng(4)
    n, c = 6000, 9
    x = rng.normal(size=(n, c)).astype(np.float32)
    t = rng.integers(0, c, size=n)
    t[::13] = -100
    w = rng.random(c)
    dx = da.from_array(x, chunks=((1000, 1, 4999), (4, 5)))
    dt = da.from_array(t, chunks=1500)
    for reduction in ("mean", "sum"):
        for weight in (None, w):
            ours = xd.cross_entropy(dx, dt, weight, reduction=reduction)
            expected = xentc.cross_entropy(x, t, weight, reduction=reduction)
            assert ours.dtype == np.float32
            np.testing.assert_allclose(ours, expected, rtol=1e-6)
    x3 = rng.normal(size=(300, 4, 5))
    t3 = rng.integers(0, 4, size=(300, 5))
    np.testing.assert_allclose(
        xd.cross_entropy(da.from_array(x3, chunks=(70, 2, 3)), da.from_array(t3, chunks=50)),
        xentc.cross_entropy(x3, t3), rtol=1e-12)
    state = xd.cross_entropy_state(dx, dt)
    np.testing.assert_allclose(state.per_class(),
                               xentc.cross_entropy_partial(x, t).per_class(), rtol=1e-6)
    with pytest.raises(IndexError, match="Target 9 is out of bounds"):
        xd.cross_entropy(dx, da.from_array(np.full(n, 9), chunks=1000))
    with pytest.raises(ValueError, match="reduction must be"):
        xd.cross_entropy(dx, dt, reduction="none")
    with pytest.raises(ValueError, match="batch_size"):
        xd.cross_entropy(dx, dt[:10])


def test_agrees_with_sklearn_and_dask_ml_style_bias_is_absent():
    """Unequal chunks: the mean of per-block means (dask-ml's way) is biased; ours is not."""
    sklearn_metrics = pytest.importorskip("sklearn.metrics")
    rng = np.random.default_rng(5)
    y, p = problem(rng, n=1000, k=3)
    p[900:] = np.clip(p[900:] * 0.2, 0.01, None)  # the short last block scores worse
    p /= p.sum(axis=1, keepdims=True)
    chunks = (300, 300, 300, 100)
    ours = xd.log_loss(da.from_array(y, chunks=chunks), da.from_array(p, chunks=(chunks, 3)))
    theirs = sklearn_metrics.log_loss(y, p)
    assert ours == pytest.approx(theirs, rel=1e-12)
    bounds = np.cumsum((0,) + chunks)
    mean_of_means = np.mean([sklearn_metrics.log_loss(y[a:b], p[a:b], labels=[0, 1, 2])
                             for a, b in zip(bounds[:-1], bounds[1:])])
    assert not math.isclose(mean_of_means, theirs, rel_tol=1e-3)


def test_from_npy_reads_rows_in_tasks(tmp_path):
    rng = np.random.default_rng(7)
    p = rng.dirichlet(np.ones(3), size=1001)
    y = rng.integers(0, 3, size=1001)
    np.save(tmp_path / "p.npy", p)
    np.save(tmp_path / "y.npy", y)
    dp = xd.from_npy(tmp_path / "p.npy", chunk_rows=300)
    assert dp.chunks == ((300, 300, 300, 101), (3,)) and dp.dtype == p.dtype
    np.testing.assert_array_equal(dp.compute(), p)
    # the graph holds the path, not the data
    assert sum(a.nbytes for a in dask.core.flatten(dp.dask.values())
               if isinstance(a, np.ndarray)) < 1000
    dy = xd.from_npy(tmp_path / "y.npy")
    assert dy.numblocks == (1,)
    assert xd.log_loss(dy, dp) == pytest.approx(xentc.log_loss(y, p), rel=1e-12)
    np.save(tmp_path / "scalar.npy", np.float64(1.0))
    with pytest.raises(ValueError, match="no rows"):
        xd.from_npy(tmp_path / "scalar.npy")


def test_import_xentc_does_not_import_dask():
    code = ("import sys, xentc; assert 'dask' not in sys.modules; "
            "import xentc.dask; assert 'dask' in sys.modules; "
            "assert xentc.dask is sys.modules['xentc.dask']")
    subprocess.run([sys.executable, "-c", code], check=True, cwd="/")


def test_local_cluster_two_worker_processes(tmp_path):
    distributed = pytest.importorskip("distributed")
    sklearn_metrics = pytest.importorskip("sklearn.metrics")
    rng = np.random.default_rng(6)
    y, p = problem(rng, n=20_000, k=4)
    w = rng.random(y.shape[0])
    names = np.array(["a", "b", "c", "d"])[y]
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                  dashboard_address=None) as cluster, \
            distributed.Client(cluster) as client:
        assert len(client.scheduler_info()["workers"]) == 2
        dp = da.from_array(p, chunks=((7000, 1, 9999, 3000), 2))
        dy = da.from_array(names, chunks=4500)
        dw = da.from_array(w, chunks=6000)
        ours = xd.log_loss(dy, dp, sample_weight=dw)
        assert ours == pytest.approx(xentc.log_loss(names, p, sample_weight=w), rel=1e-12)
        assert ours == pytest.approx(sklearn_metrics.log_loss(names, p, sample_weight=w),
                                     rel=1e-12)
        # warnings raised where the result is finished: in this process, once
        q = p.copy()
        q[[5, 19_000]] *= 0.9
        result = outcome(xd.log_loss, dy, da.from_array(q, chunks=5000))
        assert result.warnings == [
            (UserWarning, "The y_prob values do not sum to one. Make sure to pass "
                          "probabilities.")]
        # and errors come back from the workers with their messages
        q[12_345, 0] = 2.0
        with pytest.raises(ValueError, match="y_prob contains values greater than 1: 2.0"):
            xd.log_loss(dy, da.from_array(q, chunks=5000))
        x = rng.normal(size=(20_000, 4))
        assert xd.cross_entropy(da.from_array(x, chunks=3000), y) == pytest.approx(
            xentc.cross_entropy(x, y), rel=1e-12)
        # files read by the workers themselves
        np.save(tmp_path / "p.npy", p)
        np.save(tmp_path / "y.npy", y)
        on_disk = xd.from_npy(tmp_path / "p.npy", chunk_rows=6000)
        assert xd.log_loss(xd.from_npy(tmp_path / "y.npy", chunk_rows=7000), on_disk) == \
            pytest.approx(sklearn_metrics.log_loss(y, p), rel=1e-12)


def test_out_of_core_benchmark_runs(tmp_path):
    """benchmarks/out_of_core.py end to end on a tiny file (a smoke test: no timing)."""
    pytest.importorskip("distributed")
    pytest.importorskip("sklearn")
    script = pathlib.Path(__file__).resolve().parent.parent / "benchmarks" / "out_of_core.py"
    if not script.exists():
        pytest.skip("benchmarks/ not found next to tests/")
    out = tmp_path / "result.json"
    proc = subprocess.run([sys.executable, str(script), "--gb", "0.004", "--repeat", "1",
                           "--workers", "1", "--json", str(out)], cwd=tmp_path,
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-2000:]
    result = json.loads(out.read_text())
    assert result["meta"]["agree"]
    assert set(result["results"]) == {"xentc streaming (memmap)", "xentc.dask LocalCluster",
                                      "naive: np.load + sklearn.metrics.log_loss"}
