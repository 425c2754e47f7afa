"""xentc.logsumexp: scipy.special.logsumexp's semantics (docs/semantics.md §1.1, items 1-8)."""

import warnings

import numpy as np
import pytest
from numpy.testing import assert_allclose, assert_array_equal, assert_equal

import xentc

sp = pytest.importorskip("scipy.special")

inf, nan = np.inf, np.nan


class TestChecklist:
    """Items 1-8 of the conformance checklist, values as given there."""

    def test_item1_values(self):
        assert_allclose(xentc.logsumexp([1, 2, 3]), 3.40760596444438, rtol=1e-15)
        assert_equal(xentc.logsumexp([1000.0, 1000.0]), 1000.6931471805599)
        assert_equal(xentc.logsumexp([-1000.0, -1000.0]), -999.3068528194401)

    def test_item2_dtypes_and_log1p_precision(self):
        r = xentc.logsumexp(np.float32([0, -20]))
        assert r.dtype == np.float32
        assert_equal(r, np.float32(2.0611537e-09))
        assert xentc.logsumexp(np.float16([1, 2])).dtype == np.float16
        assert xentc.logsumexp(np.array([1, 2])).dtype == np.float64
        assert_equal(xentc.logsumexp([True, False]), 1.3132616875182228)

    def test_item3_empty(self):
        r = xentc.logsumexp([])
        assert isinstance(r, np.float64) and r == -inf
        assert_array_equal(xentc.logsumexp(np.zeros((2, 0)), axis=1), [-inf, -inf])
        r = xentc.logsumexp(np.zeros((0, 3)), axis=1)
        assert r.shape == (0,)
        assert_equal(xentc.logsumexp(np.zeros((0, 3)), axis=1, keepdims=True).shape, (0, 1))

    @pytest.mark.parametrize(
        "row, expected",
        [([-inf, -inf], -inf), ([inf, 1], inf), ([inf, -inf], inf), ([inf, inf], inf),
         ([nan, 1], nan), ([nan, -inf], nan), ([nan, inf], nan), ([-inf], -inf), ([inf], inf),
         ([nan], nan), ([-inf, 0.0], 0.0), ([-inf, -inf, 3.0, -inf], 3.0)],
    )
    def test_item4_non_finite_no_warning(self, row, expected):
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            assert_equal(xentc.logsumexp(row), expected)
            # the same row in every kernel: pair (C=2), chunk-flat and per-row paths
            for reps in (1, 300):
                x = np.tile(np.asarray(row, dtype=float), (reps, 1))
                assert_equal(xentc.logsumexp(x, axis=1), np.full(reps, expected))

    def test_item5_negative_weights(self):
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            assert_equal(xentc.logsumexp([1, 2], b=[1, -1]), nan)
        assert_equal(xentc.logsumexp([1, 2], b=[1, -1], return_sign=True),
                     (1.5413248546129181, -1.0))
        assert_equal(xentc.logsumexp([1, 2], b=[-1, 1], return_sign=True),
                     (1.5413248546129181, 1.0))

    def test_item6_cancellation_and_zero_weights(self):
        assert_equal(xentc.logsumexp([1, 1], b=[1, -1], return_sign=True), (-inf, 0.0))
        assert_equal(xentc.logsumexp([1, 2], b=[0, 0]), -inf)
        assert_equal(xentc.logsumexp([1, 2], b=[0, 0], return_sign=True), (-inf, 0.0))

    def test_item7_zero_weight_masks_inf_and_nan(self):
        assert_equal(xentc.logsumexp([inf, 2], b=[0, 1]), 2.0)
        assert_equal(xentc.logsumexp([nan, 2], b=[0, 1]), 2.0)

    def test_item8_axes_and_keepdims(self):
        x = [[1, 2], [3, 4]]
        r = xentc.logsumexp(x, axis=1, keepdims=True)
        assert r.shape == (2, 1)
        assert_allclose(r, [[2.31326169], [4.31326169]], rtol=1e-8)
        assert_allclose(xentc.logsumexp(x, axis=(0, 1)), 4.440189698561196, rtol=1e-15)
        with pytest.raises(np.exceptions.AxisError, match="axis 2 is out of bounds"):
            xentc.logsumexp(x, axis=2)


class TestAgainstScipy:
    """Cases from semantics.md §1.1's table and scipy's own edge cases."""

    @pytest.mark.parametrize(
        "a, b, expected",
        [([1, 2], [1, nan], nan), ([1, 2], [1, -inf], nan), ([1, 2], 2, 3.006408868078168)],
    )
    def test_weights_table(self, a, b, expected):
        assert_allclose(xentc.logsumexp(a, b=b), expected, rtol=1e-15)

    def test_weights_per_row(self):
        x = [[1, 2], [3, 4]]
        assert_allclose(xentc.logsumexp(x, axis=1, b=[[1], [0]]), [2.31326169, -inf],
                        rtol=1e-8)
        r, s = xentc.logsumexp(x, axis=1, b=[[1], [-1]], return_sign=True)
        assert_allclose(r, [2.31326169, 4.31326169], rtol=1e-8)
        assert_array_equal(s, [1.0, -1.0])

    def test_b_broadcasts_against_a(self):
        # a is broadcast too (scipy promotes and broadcasts a and b together)
        r = xentc.logsumexp([1.0, 2.0], b=[[1.0], [2.0]])
        assert_allclose(r, sp.logsumexp([1.0, 2.0], b=[[1.0], [2.0]]), rtol=1e-15)
        r = xentc.logsumexp([1.0, 2.0], b=[[1.0], [2.0]], axis=1)
        assert_allclose(r, sp.logsumexp([1.0, 2.0], b=[[1.0], [2.0]], axis=1), rtol=1e-15)

    def test_return_sign_without_b(self):
        r, s = xentc.logsumexp([[1.0, 2.0], [-inf, -inf], [nan, 1.0], [inf, 0.0]], axis=1,
                               return_sign=True)
        er, es = sp.logsumexp([[1.0, 2.0], [-inf, -inf], [nan, 1.0], [inf, 0.0]], axis=1,
                              return_sign=True)
        assert_array_equal(r, er)
        assert_array_equal(s, es)
        assert_equal(xentc.logsumexp([], return_sign=True), (-inf, -1.0))

    def test_axis_none_tuple_negative_empty_tuple(self, rng):
        x = rng.normal(size=(3, 4, 5))
        for axis in (None, 0, -1, (0, 2), (2, 0), (-1, -3), ()):
            assert_allclose(xentc.logsumexp(x, axis=axis), sp.logsumexp(x, axis=axis),
                            rtol=1e-14)
            assert_allclose(xentc.logsumexp(x, axis=axis, keepdims=True),
                            sp.logsumexp(x, axis=axis, keepdims=True), rtol=1e-14)

    def test_scalar_input_and_0d_output(self):
        r = xentc.logsumexp(3.0)
        assert isinstance(r, np.float64) and r == 3.0
        r = xentc.logsumexp(np.float32(3.0))
        assert isinstance(r, np.float32)
        assert isinstance(xentc.logsumexp([[1.0, 2.0]]), np.float64)

    def test_gh18295_dominant_term(self):
        # scipy gh-18295: the tail below a dominant term must not be lost
        assert_allclose(xentc.logsumexp([0.0, -40.0]), 4.248354255291589e-18, rtol=1e-15)
        x = np.full((500, 3), -60.0)
        x[:, 0] = 0.0
        assert_allclose(xentc.logsumexp(x, axis=1), np.full(500, 2 * np.exp(-60.0)),
                        rtol=1e-15)

    @pytest.mark.parametrize("shift", [1e4, -1e4, 1e300 / 1e10])
    def test_translation(self, rng, shift):
        x = rng.normal(size=(50, 7))
        assert_allclose(xentc.logsumexp(x + shift, axis=1),
                        sp.logsumexp(x, axis=1) + shift, rtol=1e-15)


class TestDtypes:
    @pytest.mark.parametrize(
        "a_dtype, b_dtype, expected",
        [(np.float32, None, np.float32), (np.float64, None, np.float64),
         (np.float16, None, np.float16), (np.int64, None, np.float64),
         (np.int8, None, np.float64), (np.uint16, None, np.float64), (bool, None, np.float64),
         (np.float32, np.float64, np.float64), (np.float32, np.int64, np.float64),
         (np.float32, np.float32, np.float32), (np.float32, np.float16, np.float32),
         (np.float16, np.float16, np.float16), (np.int8, np.int8, np.float64)],
    )
    def test_result_dtype_matches_scipy(self, a_dtype, b_dtype, expected):
        a = np.array([1, 0, 1], dtype=a_dtype)
        b = None if b_dtype is None else np.array([1, 1, 0], dtype=b_dtype)
        r = xentc.logsumexp(a, b=b)
        assert r.dtype == expected
        assert sp.logsumexp(a, b=b).dtype == expected

    def test_float16_is_computed_in_float32(self):
        x = np.float16([0.0, -8.0, 1.5])
        ref = sp.logsumexp(x.astype(np.float64))
        assert_equal(xentc.logsumexp(x), np.float16(ref))


class TestErrors:
    def test_complex(self):
        with pytest.raises(TypeError, match="complex"):
            xentc.logsumexp(np.array([1 + 1j, 2]))
        with pytest.raises(TypeError, match="complex"):
            xentc.logsumexp([1.0, 2.0], b=np.array([1j, 1]))

    @pytest.mark.parametrize(
        "bad", [np.array([1, 2], dtype=object), np.array(["a", "b"]),
                np.array(["2020-01-01"], dtype="datetime64[D]")],
    )
    def test_non_numeric(self, bad):
        with pytest.raises(TypeError, match="real numbers"):
            xentc.logsumexp(bad)

    def test_longdouble(self):
        with pytest.raises(TypeError, match="float32/float64"):
            xentc.logsumexp(np.array([1, 2], dtype=np.longdouble))

    def test_ragged(self):
        with pytest.raises(ValueError):
            xentc.logsumexp([[1.0], [1.0, 2.0]])

    def test_bad_axis(self):
        with pytest.raises(np.exceptions.AxisError):
            xentc.logsumexp([1.0, 2.0], axis=-2)
        with pytest.raises(ValueError, match="duplicate"):
            xentc.logsumexp([[1.0, 2.0]], axis=(1, 1))
        with pytest.raises(ValueError, match="duplicate"):
            xentc.logsumexp([[1.0, 2.0]], axis=(1, -1))
        with pytest.raises(TypeError):
            xentc.logsumexp([1.0, 2.0], axis=1.0)
        with pytest.raises(TypeError):
            xentc.logsumexp([1.0, 2.0], axis=True)
        with pytest.raises(TypeError):
            xentc.logsumexp([1.0, 2.0], axis="0")

    def test_b_not_broadcastable(self):
        with pytest.raises(ValueError, match="incompatible for broadcasting"):
            xentc.logsumexp([1.0, 2.0], b=[1.0, 2.0, 3.0])
        with pytest.raises(ValueError, match="incompatible for broadcasting"):
            xentc.logsumexp(np.ones((2, 3)), b=np.ones((3, 2)))
