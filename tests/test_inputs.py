"""Layouts (C, F, strided, negative strides, broadcast, read-only, memory-mapped) and the
guarantee that inputs are never modified."""

import numpy as np
import pytest
from numpy.testing import assert_allclose, assert_array_equal

import xentc

from helpers import layouts

sp = pytest.importorskip("scipy.special")

FUNCS = [("logsumexp", xentc.logsumexp), ("softmax", xentc.softmax),
         ("log_softmax", xentc.log_softmax)]


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("C", [2, 7, 48, 200])
@pytest.mark.parametrize("name, func", FUNCS)
def test_layouts_give_identical_results(rng, name, func, C, dtype):
    base = (3 * rng.normal(size=(300, C))).astype(dtype)
    expected = func(base, axis=1)
    for layout, x in layouts(base):
        before = x.copy()
        for n_threads in (1, 2):
            assert_array_equal(func(x, axis=1, n_threads=n_threads), expected, err_msg=layout)
        assert_array_equal(x, before, err_msg=f"{layout} input modified")
    # reducing the other axis of the transposed data gives the same numbers
    assert_array_equal(func(np.asfortranarray(base.T), axis=0), expected.T)


def test_broadcast_rows_stride_zero(rng):
    row = rng.normal(size=1000)
    x = np.broadcast_to(row, (50, 1000))
    assert_array_equal(xentc.logsumexp(x, axis=1), np.full(50, xentc.logsumexp(row)))
    assert_array_equal(xentc.softmax(x, axis=1), np.tile(xentc.softmax(row), (50, 1)))


def test_memmap_input(tmp_path, rng):
    data = (3 * rng.normal(size=(2000, 30))).astype(np.float32)
    path = tmp_path / "x.f32"
    data.tofile(path)
    mm = np.memmap(path, dtype=np.float32, mode="r", shape=data.shape)
    assert_array_equal(xentc.logsumexp(mm, axis=1), xentc.logsumexp(data, axis=1))
    assert_array_equal(xentc.log_softmax(mm, axis=1), xentc.log_softmax(data, axis=1))


def test_b_layouts_and_not_modified(rng):
    a = rng.normal(size=(200, 40))
    b = rng.uniform(-1, 2, size=(200, 40))
    expected = xentc.logsumexp(a, axis=1, b=b, return_sign=True)
    for (_, av), (_, bv) in zip(layouts(a), layouts(b)):
        a0, b0 = av.copy(), bv.copy()
        r = xentc.logsumexp(av, axis=1, b=bv, return_sign=True)
        assert_array_equal(r[0], expected[0])
        assert_array_equal(r[1], expected[1])
        assert_array_equal(av, a0)
        assert_array_equal(bv, b0)
    # b broadcast along rows, columns, or a scalar
    for bb in (b[:1], b[:, :1], np.float64(0.5)):
        assert_allclose(xentc.logsumexp(a, axis=1, b=bb), sp.logsumexp(a, axis=1, b=bb),
                        rtol=1e-14)


def test_float16_input_not_modified_and_result_float16(rng):
    x = rng.normal(size=(64, 9)).astype(np.float16)
    x0 = x.copy()
    for _, func in FUNCS:
        assert func(x, axis=1).dtype == np.float16
    assert_array_equal(x, x0)


def test_python_lists_and_nested_sequences():
    assert_allclose(xentc.logsumexp([[1, 2], [3, 4]], axis=1), [2.31326169, 4.31326169],
                    rtol=1e-8)
    assert_allclose(xentc.softmax(((1.0, 2.0),), axis=1), [[0.26894142, 0.73105858]],
                    rtol=1e-8)


def test_broadcast_b_is_not_materialised(rng):
    # b broadcast along the reduced axis reaches the kernel with a zero column stride
    import tracemalloc

    a = rng.normal(size=(20_000, 200))
    b = rng.uniform(0.5, 1.5, size=(20_000, 1))
    expected = sp.logsumexp(a, axis=1, b=b)
    tracemalloc.start()
    r = xentc.logsumexp(a, axis=1, b=b)
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    assert_allclose(r, expected, rtol=1e-13)
    assert peak < a.nbytes / 10
