"""xentc.softmax / log_softmax: scipy.special's semantics (semantics.md §1.2, items 9-12)."""

import warnings

import numpy as np
import pytest
from numpy.testing import assert_allclose, assert_array_equal, assert_equal

import xentc

sp = pytest.importorskip("scipy.special")

inf, nan = np.inf, np.nan
FUNCS = [(xentc.softmax, "softmax"), (xentc.log_softmax, "log_softmax")]


def scipy_twin(name):
    return getattr(sp, name)


class TestChecklist:
    def test_item9_axis_none_is_whole_array(self):
        r = xentc.softmax(np.array([[1.0, 2.0], [3.0, 4.0]]))
        assert_allclose(r, [[0.0320586, 0.08714432], [0.23688282, 0.64391426]], rtol=1e-6)
        assert_allclose(r.sum(), 1.0, rtol=1e-15)

    def test_item10_saturation_and_masked(self):
        assert_array_equal(xentc.log_softmax(np.array([1000.0, 1.0])), [0.0, -999.0])
        for row in ([1000.0, 1.0], [1000.0, 1.0, -np.inf], [1.0] + [-1000.0] * 60):
            assert not np.signbit(xentc.log_softmax(np.array(row))[0])   # +0 as scipy
        assert_array_equal(xentc.log_softmax(np.array([-inf, 0.0])), [-inf, 0.0])
        assert_array_equal(xentc.softmax(np.array([-inf, 0.0])), [0.0, 1.0])
        assert_array_equal(xentc.softmax(np.array([1000.0, 1.0])), [1.0, 0.0])

    @pytest.mark.parametrize("func, name", FUNCS)
    @pytest.mark.parametrize("row", [[-inf, -inf], [inf, 1.0], [inf, inf], [inf, -inf], [-inf],
                                     [inf]])
    def test_item11_infinite_max_warns_like_numpy(self, func, name, row):
        with pytest.warns(RuntimeWarning, match="invalid value encountered in subtract"):
            r = func(np.array(row))
        with pytest.warns(RuntimeWarning, match="invalid value encountered in subtract"):
            e = scipy_twin(name)(np.array(row))
        assert_array_equal(r, e)

    @pytest.mark.parametrize("func, name", FUNCS)
    def test_0d_warning_wording(self, func, name):
        # scipy's log_softmax of a 0-d input ends in NumPy scalar arithmetic
        wording = "scalar subtract" if name == "log_softmax" else "encountered in subtract"
        for v in (np.array(-inf), inf, np.float32(inf)):
            with pytest.warns(RuntimeWarning, match=wording):
                r = func(v)
            assert np.isnan(r) and np.ndim(r) == 0

    def test_item11_values(self):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            assert_array_equal(xentc.log_softmax(np.array([inf, 1.0])), [nan, -inf])
            assert_array_equal(xentc.softmax(np.array([-inf, -inf])), [nan, nan])

    @pytest.mark.parametrize("func, name", FUNCS)
    @pytest.mark.parametrize("row", [[nan, 1.0], [nan, inf], [nan, -inf], [1.0, nan, 2.0]])
    def test_nan_rows_are_nan_without_warning(self, func, name, row):
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            r = func(np.array(row))
            e = scipy_twin(name)(np.array(row))
        assert_array_equal(r, e)
        assert np.isnan(r).all()

    @pytest.mark.parametrize("func, name", FUNCS)
    def test_warning_follows_np_errstate(self, func, name):
        with np.errstate(invalid="ignore"), warnings.catch_warnings():
            warnings.simplefilter("error")
            func(np.array([inf, 1.0]))
        with np.errstate(invalid="raise"), pytest.raises(FloatingPointError):
            func(np.array([inf, 1.0]))

    @pytest.mark.parametrize("func", [xentc.softmax, xentc.log_softmax])
    def test_item12_empty_reduction_raises(self, func):
        msg = "zero-size array to reduction operation maximum which has no identity"
        with pytest.raises(ValueError, match=msg):
            func([])
        with pytest.raises(ValueError, match=msg):
            func(np.zeros((2, 0)), axis=1)
        with pytest.raises(ValueError, match=msg):
            func(np.zeros((0, 0)), axis=1)
        assert func(np.zeros((0, 3)), axis=1).shape == (0, 3)


class TestAgainstScipy:
    @pytest.mark.parametrize("func, name", FUNCS)
    def test_table(self, func, name):
        for x in ([1.0, 2.0, 3.0], [1000.0, 1.0], [1000.0, 0.0], [-inf, 0.0]):
            assert_allclose(func(np.array(x)), scipy_twin(name)(np.array(x)), rtol=1e-15,
                            atol=0)

    @pytest.mark.parametrize("func, name", FUNCS)
    def test_axes(self, func, name, rng):
        # against scipy within scipy's own error: log_softmax near 0 is up to ~1e-16 absolute
        # off in scipy (gh-19521), which xentc computes to a few ulp (test_accuracy.py)
        x = rng.normal(size=(3, 4, 5)) * 4
        for axis in (None, 0, 1, -1, (0, 2), (2, 0), (0, 1, 2), ()):
            assert_allclose(func(x, axis=axis), scipy_twin(name)(x, axis=axis), rtol=1e-13,
                            atol=1e-15)

    @pytest.mark.parametrize("func, name", FUNCS)
    def test_scalar_input(self, func, name):
        for x in (3.0, np.float32(3.0), 3, np.array(2.5)):
            r, e = func(x), scipy_twin(name)(x)
            assert type(r) is type(e)
            assert_equal(r, e)

    @pytest.mark.parametrize("func, name", FUNCS)
    def test_axis_empty_tuple(self, func, name):
        x = np.array([[1.0, -inf], [2.0, 3.0]])
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            assert_array_equal(func(x, axis=()), scipy_twin(name)(x, axis=()))

    def test_log_softmax_dominant_element_keeps_precision(self):
        # scipy gh-19521: scipy returns exactly 0 for the dominant element; the exact value is
        # -log1p(exp(-40)) = -4.248354255291589e-18
        r = xentc.log_softmax(np.array([0.0, -40.0]))
        assert_allclose(r, [-4.248354255291589e-18, -40.0], rtol=1e-15)
        r = xentc.log_softmax(np.float32([0.0, -20.0]))
        assert_allclose(r, [-2.0611537e-09, -20.0], rtol=1e-7)

    def test_softmax_tiny_outputs_are_subnormal_not_zero(self):
        r = xentc.softmax(np.array([0.0, -740.0]))
        assert r[1] > 0 and r[1] == np.exp(-740.0)
        assert xentc.softmax(np.array([0.0, -746.0]))[1] == 0.0

    @pytest.mark.parametrize("C", [3, 10, 48, 100, 1000])
    def test_softmax_tiny_outputs_in_many_rows(self, cpu_level, C, rng):
        # the vectorised kernels flush terms below exp(-708) in their sums (8 rows at a time
        # for short rows); an output there must still be the subnormal, among ordinary rows
        x = rng.normal(size=(203, C))
        x[100] = -50.0
        x[100, 0], x[100, 1] = 0.0, -740.0
        r = xentc.softmax(x, axis=1)
        assert r[100, 1] == np.exp(-740.0)
        assert_allclose(r, sp.softmax(x, axis=1), rtol=1e-13, atol=1e-300)

    @pytest.mark.parametrize("func", [xentc.softmax, xentc.log_softmax])
    def test_output_normalised(self, func, rng):
        x = rng.normal(size=(1000, 37)) * 10
        y = func(x, axis=1)
        s = y.sum(axis=1) if func is xentc.softmax else np.exp(y).sum(axis=1)
        assert_allclose(s, 1.0, rtol=1e-14)


class TestDtypes:
    @pytest.mark.parametrize("func", [xentc.softmax, xentc.log_softmax])
    @pytest.mark.parametrize(
        "dtype, expected",
        [(np.float32, np.float32), (np.float64, np.float64), (np.float16, np.float16),
         (np.int64, np.float64), (np.uint8, np.float64), (bool, np.float64)],
    )
    def test_result_dtype(self, func, dtype, expected):
        assert func(np.array([1, 0, 1], dtype=dtype)).dtype == expected

    def test_bool_is_computed_as_float64(self):
        # scipy raises TypeError for bool (no boolean subtract); xentc computes in float64
        assert_allclose(xentc.softmax([True, False]), sp.softmax([1.0, 0.0]), rtol=1e-15)

    @pytest.mark.parametrize("func", [xentc.softmax, xentc.log_softmax])
    def test_errors(self, func):
        with pytest.raises(TypeError, match="complex"):
            func(np.array([1j, 1.0]))
        with pytest.raises(TypeError, match="real numbers"):
            func(np.array(["a"]))
        with pytest.raises(np.exceptions.AxisError):
            func([1.0, 2.0], axis=1)


class TestOut:
    """out= (an extension: scipy.special has none)."""

    @pytest.mark.parametrize("func", [xentc.softmax, xentc.log_softmax])
    @pytest.mark.parametrize("dtype", [np.float32, np.float64])
    @pytest.mark.parametrize("C", [2, 10, 100])
    def test_out_matches_and_is_returned(self, rng, func, dtype, C):
        x = (3 * rng.normal(size=(300, C))).astype(dtype)
        expected = func(x, axis=1)
        for out in (np.empty_like(x), np.empty_like(x, order="F"),
                    np.empty((300, 2 * C), dtype=dtype)[:, ::2]):
            r = func(x, axis=1, out=out)
            assert r is out
            assert_array_equal(out, expected)
        assert_array_equal(func(x, axis=0, out=np.empty_like(x)), func(x, axis=0))

    @pytest.mark.parametrize("func", [xentc.softmax, xentc.log_softmax])
    def test_in_place(self, rng, func):
        for C in (2, 5, 10, 64, 1000):
            x = 3 * rng.normal(size=(200, C))
            expected = func(x, axis=1)
            r = func(x, axis=1, out=x)
            assert r is x
            assert_array_equal(x, expected)
        x = 3 * rng.normal(size=300_000)            # one long, segmented row
        expected = func(x)
        func(x, out=x)
        assert_array_equal(x, expected)

    @pytest.mark.parametrize("func", [xentc.softmax, xentc.log_softmax])
    def test_overlapping_out(self, rng, func):
        buf = 3 * rng.normal(size=(101, 10))
        x = buf[1:]
        expected = func(x.copy(), axis=1)
        out = buf[:-1]                              # overlaps x, shifted by a row
        assert func(x, axis=1, out=out) is out
        assert_array_equal(out, expected)

    @pytest.mark.parametrize("func", [xentc.softmax, xentc.log_softmax])
    def test_out_errors(self, func):
        x = np.ones((3, 4))
        with pytest.raises(ValueError, match="shape"):
            func(x, axis=1, out=np.empty((4, 3)))
        with pytest.raises(TypeError, match="dtype"):
            func(x, axis=1, out=np.empty((3, 4), dtype=np.float32))
        with pytest.raises(TypeError, match="numpy array"):
            func(x, axis=1, out=[[0.0] * 4] * 3)
        ro = np.empty((3, 4))
        ro.flags.writeable = False
        with pytest.raises(ValueError, match="read-only"):
            func(x, axis=1, out=ro)
        out16 = np.empty((3, 4), dtype=np.float16)
        assert func(x.astype(np.float16), axis=1, out=out16) is out16


@pytest.mark.parametrize("n_cols", [2, 3, 10, 60, 1000])
def test_spread_beyond_the_double_range(cpu_level, n_cols):
    """Finite rows whose max - x overflows (1e308 and -1e308), or whose shift has a low part
    far below the max (1e20 and 1): scipy's values (0 and -inf), not NaN."""
    x = np.zeros((3, n_cols))
    x[0, :2] = [1e308, -1e308]
    x[1, :2] = [-1e308, 1e308]
    x[1, 2:] = 1.0
    x[2, 0], x[2, 1:] = 1e20, 1.0
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # scipy: overflow in subtract
        expected_log = sp.log_softmax(x, axis=1)
        expected = sp.softmax(x, axis=1)
    assert_array_equal(xentc.log_softmax(x, axis=1), expected_log)
    assert_array_equal(xentc.softmax(x, axis=1), expected)
