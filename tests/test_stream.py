"""log_loss, d2_log_loss_score and cross_entropy on memory-mapped and other row-sliceable
inputs, read in row blocks: the same results (1e-12 relative in float64), warnings and
errors as in memory, and anonymous memory that stays bounded by the block size, not the
file size."""

import re
import sys
import threading
import time

import numpy as np
import pytest

import xentc
from xentc import _stream

from helpers import assert_same_outcome, bad_log_loss_problems, outcome

RTOL = {np.float16: 2e-3, np.float32: 1e-6, np.float64: 1e-12}


def on_disk(tmp_path, name, a):
    """``a`` saved as .npy under tmp_path and opened memory-mapped, read-only."""
    path = tmp_path / f"{name}.npy"
    np.save(path, a)
    return np.load(path, mmap_mode="r")


class RowSliced:
    """A minimal array-like that only supports row slices (as h5py datasets and zarr arrays
    do), counting the rows it hands out."""

    def __init__(self, a):
        self._a, self.shape, self.dtype, self.rows_read = a, a.shape, a.dtype, 0

    def __len__(self):
        return self.shape[0]

    def __getitem__(self, key):
        assert isinstance(key, slice) and key.step is None, key
        block = np.array(self._a[key])
        self.rows_read += block.shape[0]
        return block


def same(stream_call, memory_call, rtol=1e-12):
    assert_same_outcome(outcome(*stream_call), outcome(*memory_call), rtol=rtol)


@pytest.mark.parametrize("dtype", [np.float16, np.float32, np.float64])
@pytest.mark.parametrize("k, binary_1d", [(2, True), (3, False), (20, False)])
@pytest.mark.parametrize("weighted", [False, True])
def test_memmap_log_loss_equals_in_memory(tmp_path, dtype, k, binary_1d, weighted):
    rng = np.random.default_rng(k)
    n = 5003
    p = rng.dirichlet(np.ones(k), size=n).astype(dtype)
    if binary_1d:
        p = np.ascontiguousarray(p[:, 1])
    y = rng.integers(0, k, size=n)
    w = rng.random(n) if weighted else None
    mp, my = on_disk(tmp_path, "p", p), on_disk(tmp_path, "y", y)
    mw = None if w is None else on_disk(tmp_path, "w", w)
    for chunk_rows in (None, 1000, 7):
        for normalize in (True, False):
            same((lambda *a: xentc.log_loss(*a, normalize=normalize, sample_weight=mw,
                                            chunk_rows=chunk_rows), my, mp),
                 (lambda *a: xentc.log_loss(*a, normalize=normalize, sample_weight=w), y, p),
                 RTOL[dtype])
    same((lambda *a: xentc.d2_log_loss_score(*a, sample_weight=mw, chunk_rows=777), my, mp),
         (lambda *a: xentc.d2_log_loss_score(*a, sample_weight=w), y, p), RTOL[dtype])


def test_string_labels_and_labels_missing_from_early_blocks(tmp_path):
    rng = np.random.default_rng(0)
    n = 3000
    p = rng.dirichlet(np.ones(4), size=n)
    y = np.array(["ant", "bee", "cat", "dog"])[rng.integers(0, 3, size=n)]
    y[-1] = "dog"  # the last class appears in the last block only
    mp = on_disk(tmp_path, "p", p)
    same((lambda: xentc.log_loss(y, mp, chunk_rows=512),), (lambda: xentc.log_loss(y, p),))
    labels = ["dog", "cat", "bee", "ant"]  # unsorted: the warning, once
    stream = outcome(xentc.log_loss, y, mp, labels=labels, chunk_rows=512)
    assert len(stream.warnings) == 1
    assert_same_outcome(stream, outcome(xentc.log_loss, y, p, labels=labels), rtol=1e-12)
    as_list = list(y)
    same((lambda: xentc.log_loss(as_list, mp, chunk_rows=999),),
         (lambda: xentc.log_loss(as_list, p),))


BAD = bad_log_loss_problems(np.random.default_rng(1))


@pytest.mark.parametrize("name, y, p, kwargs", BAD, ids=[case[0] for case in BAD])
def test_memmap_errors_and_warnings_as_in_memory(tmp_path, name, y, p, kwargs):
    mp = on_disk(tmp_path, "p", p)
    stream = outcome(xentc.log_loss, y, mp, chunk_rows=1000, **kwargs)
    memory = outcome(xentc.log_loss, y, p, **kwargs)
    assert memory.error is not None or memory.warnings, name
    # a block names the undeclared labels it holds, not all of them
    assert_same_outcome(stream, memory, rtol=1e-12, messages="undeclared" not in name)


def test_row_sliceable_array_likes_are_read_in_blocks():
    rng = np.random.default_rng(2)
    p = rng.dirichlet(np.ones(5), size=10_000)
    y = rng.integers(0, 5, size=10_000)
    sliced = RowSliced(p)
    assert _stream.streams(sliced, None) and not _stream.streams(p, None)
    assert xentc.log_loss(y, sliced, chunk_rows=3000) == pytest.approx(
        xentc.log_loss(y, p), rel=1e-12)
    assert sliced.rows_read == 10_000
    # labels read in blocks too
    labels = RowSliced(y)
    assert xentc.log_loss(labels, p, chunk_rows=2500) == pytest.approx(
        xentc.log_loss(y, p), rel=1e-12)


def test_in_memory_arrays_stream_when_chunk_rows_is_given():
    rng = np.random.default_rng(3)
    p = rng.dirichlet(np.ones(3), size=1000)
    y = rng.integers(0, 3, size=1000)
    with pytest.raises(ValueError, match="chunk_rows must be >= 1"):
        xentc.log_loss(y, p, chunk_rows=0)
    with pytest.raises(TypeError, match="chunk_rows must be an int"):
        xentc.log_loss(y, p, chunk_rows=10.0)
    assert xentc.log_loss(y, p, chunk_rows=7) == pytest.approx(xentc.log_loss(y, p),
                                                                rel=1e-12)


def test_multilabel_indicator_memmap_is_scored_in_one_piece(tmp_path):
    y = np.array([[0, 1, 1], [1, 0, 1], [0, 0, 1], [1, 1, 0]])
    p = np.array([[.2, .3, .5], [.3, .3, .4], [.1, .1, .8], [.5, .4, .1]])
    assert xentc.log_loss(y, on_disk(tmp_path, "p", p)) == xentc.log_loss(y, p)


# --- cross_entropy -------------------------------------------------------------------------

@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("kdim", [False, True])
def test_memmap_cross_entropy_equals_in_memory(tmp_path, dtype, kdim):
    rng = np.random.default_rng(4)
    n, c = 4001, 7
    x = rng.normal(size=(n, c, 2) if kdim else (n, c)).astype(dtype)
    t = rng.integers(0, c, size=(n, 2) if kdim else n)
    t[rng.random(t.shape) < 0.1] = -100
    w = rng.random(c)
    mx, mt = on_disk(tmp_path, "x", x), on_disk(tmp_path, "t", t)
    t3 = np.where(t == -100, 3, t)
    cases = [(t, mt, {}), (t, mt, {"weight": w}),
             (t3, on_disk(tmp_path, "t3", t3), {"weight": w, "ignore_index": 3})]
    for reduction in ("mean", "sum"):
        for target, mapped, kwargs in cases:
            ours = xentc.cross_entropy(mx, mapped, reduction=reduction, chunk_rows=1000,
                                       **kwargs)
            expected = xentc.cross_entropy(x, target, reduction=reduction, **kwargs)
            assert ours.dtype == expected.dtype
            np.testing.assert_allclose(ours, expected, rtol=RTOL[dtype])
    # what is not streamed is computed in one piece, memory-mapped or not
    for kwargs in ({"reduction": "none"}, {"label_smoothing": 0.1}):
        np.testing.assert_array_equal(xentc.cross_entropy(mx, mt, **kwargs),
                                      xentc.cross_entropy(x, t, **kwargs))
    probabilities = rng.dirichlet(np.ones(c), size=n)
    np.testing.assert_array_equal(
        xentc.cross_entropy(on_disk(tmp_path, "x2", x[:, :, 0] if kdim else x),
                            probabilities.astype(dtype)),
        xentc.cross_entropy(x[:, :, 0] if kdim else x, probabilities.astype(dtype)))


def test_memmap_cross_entropy_errors(tmp_path):
    x = np.zeros((3000, 4))
    t = np.zeros(3000, np.int64)
    t[2999] = 4
    mx = on_disk(tmp_path, "x", x)
    with pytest.raises(IndexError, match="Target 4 is out of bounds"):
        xentc.cross_entropy(mx, t, chunk_rows=500)
    with pytest.raises(ValueError, match="invalid-reduction is not a valid value"):
        xentc.cross_entropy(mx, t, reduction="invalid-reduction")
    with pytest.raises(ValueError, match="Expected input batch_size"):
        xentc.cross_entropy(mx, t[:10])


# --- memory and progress -------------------------------------------------------------------

def rss_anon_kib():
    with open("/proc/self/status") as f:
        return int(re.search(r"RssAnon:\s+(\d+) kB", f.read()).group(1))


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc/self/status")
def test_memmap_streaming_keeps_anonymous_memory_bounded(tmp_path):
    n, c = 2_000_000, 10  # 160 MB of float64 probabilities, 16 MB of int64 labels
    p = np.lib.format.open_memmap(tmp_path / "p.npy", "w+", np.float64, (n, c))
    y = np.lib.format.open_memmap(tmp_path / "y.npy", "w+", np.int64, (n,))
    rng = np.random.default_rng(5)
    for r0 in range(0, n, 250_000):
        block = rng.random((250_000, c)) + 0.1
        p[r0:r0 + 250_000] = block / block.sum(axis=1, keepdims=True)
        y[r0:r0 + 250_000] = rng.integers(0, c, size=250_000)
    del p, y
    p = np.load(tmp_path / "p.npy", mmap_mode="r")
    y = np.load(tmp_path / "y.npy", mmap_mode="r")
    file_kib = p.nbytes // 1024

    peak, done = [0], threading.Event()

    def sample():
        while not done.is_set():
            peak[0] = max(peak[0], rss_anon_kib())
            time.sleep(0.002)

    xentc.log_loss(y[:1000], p[:1000])  # imports and first-call allocations
    baseline = rss_anon_kib()
    sampler = threading.Thread(target=sample)
    sampler.start()
    try:
        loss = xentc.log_loss(y, p, chunk_rows=100_000)
        loss_auto = xentc.log_loss(y, p)
        ce = xentc.cross_entropy(np.log(p[:10]), np.asarray(y[:10]))
    finally:
        done.set()
        sampler.join()
    grown = peak[0] - baseline
    # a block of 100_000 rows keeps ~2.4 MB of per-row arrays; the file is 156 MiB
    assert grown < file_kib // 8, f"anonymous memory grew by {grown} KiB"
    assert np.isfinite(loss) and loss == pytest.approx(loss_auto, rel=1e-12)
    assert np.isfinite(ce)


def test_progress_bar_with_and_without_tqdm(monkeypatch, capsys):
    rng = np.random.default_rng(6)
    p = rng.dirichlet(np.ones(3), size=1000)
    y = rng.integers(0, 3, size=1000)
    expected = xentc.log_loss(y, p)
    assert xentc.log_loss(y, p, chunk_rows=100, progress=True) == pytest.approx(expected)
    assert capsys.readouterr().err == ""  # small inputs show no bar
    monkeypatch.setattr(_stream, "_PROGRESS_MIN_BYTES", 0)
    pytest.importorskip("tqdm")
    assert xentc.log_loss(y, p, chunk_rows=100, progress=True) == pytest.approx(expected)
    assert "xentc.log_loss" in capsys.readouterr().err
    monkeypatch.setitem(sys.modules, "tqdm.auto", None)  # as if tqdm were not installed
    assert xentc.cross_entropy(np.log(p), y, chunk_rows=300, progress=True) == \
        pytest.approx(xentc.cross_entropy(np.log(p), y))
    err = capsys.readouterr().err
    assert "xentc.cross_entropy: 100% (1000/1000 rows)" in err


def test_big_endian_memmap(tmp_path):
    rng = np.random.default_rng(7)
    p = rng.dirichlet(np.ones(4), size=3000)
    y = rng.integers(0, 4, size=3000)
    mapped = on_disk(tmp_path, "p", p.astype(">f8"))
    assert not mapped.dtype.isnative
    assert xentc.log_loss(y, mapped, chunk_rows=700) == pytest.approx(xentc.log_loss(y, p),
                                                                      rel=1e-12)


def test_chunk_rows_with_lists_and_data_frames():
    """Inputs already in memory that are not arrays are scored in one piece."""
    pd = pytest.importorskip("pandas")
    rng = np.random.default_rng(8)
    p = rng.dirichlet(np.ones(3), size=500)
    y = rng.integers(0, 3, size=500)
    expected = xentc.log_loss(y, p)
    for probabilities in (pd.DataFrame(p), p.tolist()):
        assert xentc.log_loss(y, probabilities, chunk_rows=100) == expected
        assert xentc.log_loss(pd.Series(y), probabilities, chunk_rows=100) == expected
    logits = np.log(p)
    for x in (pd.DataFrame(logits), logits.tolist()):
        assert xentc.cross_entropy(x, y, chunk_rows=100) == xentc.cross_entropy(logits, y)


def test_tensors_of_other_libraries_are_not_read_in_blocks():
    """An array-like whose dtype is not NumPy's (a torch tensor) is converted as before."""
    class Tensor:  # torch.Tensor's relevant surface: shape, a non-NumPy dtype, slicing
        def __init__(self, a):
            self._a, self.shape, self.dtype = a, a.shape, "torch.float64"

        def __getitem__(self, key):
            return Tensor(self._a[key])

        def __array__(self, dtype=None, copy=None):
            return np.asarray(self._a, dtype=dtype)

        def __len__(self):
            return self.shape[0]

    rng = np.random.default_rng(9)
    p = rng.dirichlet(np.ones(3), size=300)
    y = rng.integers(0, 3, size=300)
    assert not _stream.streams(Tensor(p), None)
    assert xentc.log_loss(y, Tensor(p)) == xentc.log_loss(y, p)
    torch = pytest.importorskip("torch")
    assert not _stream.streams(torch.from_numpy(p), None)
    assert xentc.log_loss(y, torch.from_numpy(p)) == xentc.log_loss(y, p)
    assert xentc.cross_entropy(torch.from_numpy(np.log(p)), y) == \
        xentc.cross_entropy(np.log(p), y)
