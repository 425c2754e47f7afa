"""n_threads: validation, bit-identical results for every thread count, concurrent calls."""

from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest
from numpy.testing import assert_array_equal

import xentc
from xentc._threads import effective_n_threads

from helpers import DTYPES, N_THREADS

FUNCS = [
    lambda x, **kw: xentc.logsumexp(x, axis=-1, **kw),
    lambda x, **kw: xentc.logsumexp(x, axis=-1, b=np.linspace(-1, 2, x.shape[-1]),
                                    return_sign=True, **kw)[0],
    lambda x, **kw: xentc.softmax(x, axis=-1, **kw),
    lambda x, **kw: xentc.log_softmax(x, axis=-1, **kw),
    lambda x, **kw: xentc.logsumexp(x, **kw),          # axis=None: one long row
    lambda x, **kw: xentc.log_softmax(x, **kw),
]
FUNC_IDS = ["logsumexp", "logsumexp_b", "softmax", "log_softmax", "lse_all", "lsm_all"]

# shapes that reach every kernel: pair, chunk-flat, row scan, segmented rows
SHAPES = [(40_000, 2), (30_000, 3), (20_000, 10), (3_000, 48), (2_000, 49), (300, 1000),
          (2, 300_000), (1, 700_001)]


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("shape", SHAPES, ids=str)
@pytest.mark.parametrize("func", FUNCS, ids=FUNC_IDS)
def test_bit_identical_for_every_n_threads(cpu_level, rng, func, shape, dtype):
    x = (4 * rng.normal(size=shape)).astype(dtype)
    x[::7, :1] = -np.inf
    reference = func(x, n_threads=1)
    for n_threads in N_THREADS[1:] + [-1, None]:
        assert_array_equal(func(x, n_threads=n_threads), reference, strict=True)


@pytest.mark.parametrize("C", [2, 10, 49, 1000])
@pytest.mark.parametrize("func", FUNCS[:4], ids=FUNC_IDS[:4])
def test_row_results_and_neighbours(rng, func, C):
    # rows with C = 2 or C > 48 depend only on the row: the same alone, in a slice or inside
    # a large array.  Rows with 3 <= C <= 48 share one shift per block of ~2048 elements
    # (chunk-flat kernels): they may differ in the last bits with the rows around them
    # (never with n_threads), within the accuracy bounds either way.
    x = 3 * rng.normal(size=(5_000, C))
    full = func(x, n_threads=2)
    exact_rows = not 3 <= C <= 48
    for start, stop in [(0, 1), (17, 18), (4_000, 4_999), (1_234, 4_321)]:
        part = func(x[start:stop], n_threads=1)
        if exact_rows:
            assert_array_equal(part, full[start:stop])
        else:
            np.testing.assert_allclose(part, full[start:stop], rtol=2e-15, atol=1e-300)


def test_concurrent_calls_from_python_threads(rng):
    xs = [(3 * rng.normal(size=(20_000, 20))).astype(dt) for dt in (np.float32, np.float64)] * 4
    expected = [(xentc.logsumexp(x, axis=1), xentc.softmax(x, axis=1)) for x in xs]

    def work(i):
        x = xs[i % len(xs)]
        return i % len(xs), xentc.logsumexp(x, axis=1, n_threads=2), xentc.softmax(x, axis=1)

    with ThreadPoolExecutor(max_workers=4) as pool:
        for k, lse, sm in pool.map(work, range(48)):
            assert_array_equal(lse, expected[k][0])
            assert_array_equal(sm, expected[k][1])


class TestNThreadsArgument:
    @pytest.mark.parametrize("func", [xentc.logsumexp, xentc.softmax, xentc.log_softmax])
    def test_zero_is_an_error(self, func):
        with pytest.raises(ValueError, match="n_threads=0"):
            func([1.0, 2.0], n_threads=0)

    @pytest.mark.parametrize("bad", [1.5, "2", True, np.float64(2.0), [2]])
    @pytest.mark.parametrize("func", [xentc.logsumexp, xentc.softmax, xentc.log_softmax])
    def test_non_integers_are_type_errors(self, func, bad):
        with pytest.raises(TypeError, match="n_threads"):
            func([1.0, 2.0], n_threads=bad)

    def test_integer_types_accepted(self):
        for k in (1, np.int32(2), np.int64(3)):
            assert xentc.logsumexp([1.0, 2.0], n_threads=k) == xentc.logsumexp([1.0, 2.0])

    def test_resolution(self, monkeypatch):
        if not xentc.openmp_enabled():
            assert effective_n_threads(None) == effective_n_threads(8) == 1
            return
        assert effective_n_threads(3) == 3
        n_cpu = effective_n_threads(-1)
        assert n_cpu >= 1
        assert effective_n_threads(-2) == max(1, n_cpu - 1)
        assert effective_n_threads(-10_000) == 1
        assert effective_n_threads(None) >= 1

    def test_none_honours_threadpoolctl(self):
        threadpoolctl = pytest.importorskip("threadpoolctl")
        if not xentc.openmp_enabled():
            pytest.skip("built without OpenMP")
        with threadpoolctl.threadpool_limits(limits=1, user_api="openmp"):
            assert effective_n_threads(None) == 1
