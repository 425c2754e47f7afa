"""Multiclass losses: cross_entropy, nll_loss, their gradients and tf.nn's softmax
cross-entropies (SPEC §1-2; semantics.md §2.2-2.7, §3.2-3.3, §8.1-8.4, items 14-43).

Every semantic test runs against xentc and against xentc.reference (the ``impl`` fixture).
Where xentc departs from torch (SPEC §2), the test says so in a comment.  Comparisons with
torch itself are in test_cross_entropy_torch.py.
"""

from concurrent.futures import ThreadPoolExecutor

import mpmath
import numpy as np
import pytest
from numpy.testing import assert_allclose, assert_array_equal

import xentc
import xentc.reference as reference

from helpers import N_THREADS, ulp_error

sp = pytest.importorskip("scipy.special")

inf, nan = np.inf, np.nan


@pytest.fixture(params=[pytest.param(xentc, id="xentc"),
                        pytest.param(reference, id="reference")])
def impl(request):
    return request.param


# semantics.md §0, example EX
EX_X = np.array([[1.0, 2, 3], [1, 0, -1], [0.5, 0.5, 2]])
EX_Y = np.array([2, 0, 1])
EX_W = np.array([1.0, 2, 3])
EX_P = sp.softmax(np.array([[0.0, 1, 2], [2, 1, 0], [1, 1, 1]]), axis=1)
EX_ROWS = np.array([0.4076059644443804, 0.4076059644443804, 1.8689811354013153])


def close(result, expected, rtol=1e-12):
    assert_allclose(result, expected, rtol=rtol, atol=0)


def result_dtype(impl, dtype):
    """xentc's results follow the input (float16 stays float16, int/bool give float64);
    the reference always computes and returns float64."""
    dtype = np.dtype(dtype)
    return np.dtype(np.float64) if impl is reference or dtype.kind != "f" else dtype


def ce_all(impl, x, t, **kw):
    """loss, grad and loss_and_grad of one call, checked to agree."""
    loss = impl.cross_entropy(x, t, **kw)
    grad = impl.cross_entropy_grad(x, t, **kw)
    loss2, grad2 = impl.cross_entropy_and_grad(x, t, **kw)
    assert_allclose(loss2, loss, rtol=1e-14, atol=0)
    assert_allclose(grad2, grad, rtol=1e-14, atol=1e-300)
    return loss, grad


class TestIndexTargets:
    """Checklist items 14-32: class-index targets."""

    def test_item14_ex(self, impl):
        close(impl.cross_entropy(EX_X, EX_Y, reduction="none"), EX_ROWS)
        r = impl.cross_entropy(EX_X, EX_Y)
        assert type(r) is np.float64           # 0-d results are NumPy scalars
        close(r, 0.8947310214300255)
        close(impl.cross_entropy(EX_X, EX_Y, reduction="sum"), 2.6841930642900764)

    def test_item15_weight(self, impl):
        close(impl.cross_entropy(EX_X, EX_Y, weight=EX_W, reduction="none"),
              [1.2228178933331413, 0.4076059644443804, 3.7379622708026305])
        close(impl.cross_entropy(EX_X, EX_Y, weight=EX_W, reduction="sum"), 5.368386128580152)
        close(impl.cross_entropy(EX_X, EX_Y, weight=EX_W), 5.368386128580152 / 6)

    def test_negative_weights(self, impl):
        w = np.array([-1.0, 2, 3])
        close(impl.cross_entropy(EX_X, EX_Y, weight=w, reduction="none"), w[EX_Y] * EX_ROWS)

    def test_item16_ignore_index(self, impl):
        close(impl.cross_entropy(EX_X, EX_Y, ignore_index=0, reduction="none"),
              [EX_ROWS[0], 0.0, EX_ROWS[2]])
        close(impl.cross_entropy(EX_X, EX_Y, ignore_index=0), 1.138293549922848)
        close(impl.cross_entropy(EX_X, EX_Y, ignore_index=0, reduction="sum"), 2.276587099845696)
        close(impl.cross_entropy(EX_X, EX_Y, ignore_index=0, weight=EX_W), 0.9921560328271543)

    def test_item17_label_smoothing(self, impl):
        close(impl.cross_entropy(EX_X, EX_Y, label_smoothing=0.1, reduction="none"),
              [0.5076059644443804, 0.5076059644443804, 1.8189811354013152])
        close(impl.cross_entropy(EX_X, EX_Y, label_smoothing=0.1), 0.9447310214300255)
        close(impl.cross_entropy(EX_X, EX_Y, label_smoothing=0.5), 1.1447310214300255)
        close(impl.cross_entropy(EX_X, EX_Y, label_smoothing=1.0), 1.3947310214300255)
        close(impl.cross_entropy(EX_X, EX_Y, label_smoothing=0.1, weight=EX_W, reduction="none"),
              [1.3153906302220366, 0.7150332275554852, 3.5879622708026306])
        # the smoothing term is divided by sum(w[y_i]) = 6 too, not by sum(w)
        close(impl.cross_entropy(EX_X, EX_Y, label_smoothing=0.1, weight=EX_W),
              0.936397688096692)

    def test_item18_smoothing_weight_ignore(self, impl):
        kw = dict(label_smoothing=0.1, weight=EX_W, ignore_index=0)
        close(impl.cross_entropy(EX_X, EX_Y, reduction="none", **kw),
              [1.3153906302220366, 0.0, 3.5879622708026306])
        close(impl.cross_entropy(EX_X, EX_Y, **kw), 0.9806705802049334)
        close(impl.cross_entropy(EX_X, EX_Y, reduction="sum", **kw), 4.903352901024667)
        close(impl.cross_entropy(EX_X, EX_Y, label_smoothing=0.1, ignore_index=0),
              1.1632935499228478)

    @pytest.mark.parametrize("ls", [0.0, 0.2])
    def test_item19_all_ignored(self, impl, ls):
        y = np.full(3, 7)
        kw = dict(ignore_index=7, label_smoothing=ls, weight=EX_W)
        assert np.isnan(impl.cross_entropy(EX_X, y, **kw))
        assert impl.cross_entropy(EX_X, y, reduction="sum", **kw) == 0.0
        assert_array_equal(impl.cross_entropy(EX_X, y, reduction="none", **kw), np.zeros(3))
        for reduction in ("mean", "sum", "none"):
            assert_array_equal(impl.cross_entropy_grad(EX_X, y, reduction=reduction, **kw),
                               np.zeros((3, 3)))

    @pytest.mark.parametrize("kw", [{}, {"weight": EX_W}, {"label_smoothing": 0.1}],
                             ids=["plain", "weight", "ls"])
    def test_item20_empty_batch(self, impl, kw):
        x, y = np.zeros((0, 3)), np.zeros(0, dtype=np.int64)
        assert np.isnan(impl.cross_entropy(x, y, **kw))
        s = impl.cross_entropy(x, y, reduction="sum", **kw)
        assert s == 0.0 and not np.signbit(s)
        assert impl.cross_entropy(x, y, reduction="none", **kw).shape == (0,)
        for reduction in ("mean", "sum", "none"):
            assert impl.cross_entropy_grad(x, y, reduction=reduction, **kw).shape == (0, 3)
        # probability targets: -(empty sum) = -0.0 for sum, 0/0 for mean
        assert np.isnan(impl.cross_entropy(x, np.zeros((0, 3)), **kw))
        s = impl.cross_entropy(x, np.zeros((0, 3)), reduction="sum", **kw)
        assert s == 0.0 and np.signbit(s)
        # K-dim
        assert impl.cross_entropy(np.zeros((0, 3, 4)), np.zeros((0, 4), dtype=int),
                                  reduction="none").shape == (0, 4)

    def test_item21_weight_sums(self, impl):
        assert np.isnan(impl.cross_entropy(EX_X, EX_Y, weight=np.zeros(3)))
        assert impl.cross_entropy(EX_X[:2], [0, 1], weight=[1.0, -1.0, 0.0]) == inf

    @pytest.mark.parametrize("reduction", ["none", "mean", "sum"])
    @pytest.mark.parametrize("bad", [3, -1, 100])
    def test_item22_out_of_bounds(self, impl, reduction, bad):
        msg = f"^Target {bad} is out of bounds.$"
        y = np.array([0, bad, 1])
        with pytest.raises(IndexError, match=msg):
            impl.cross_entropy(EX_X, y, reduction=reduction)
        with pytest.raises(IndexError, match=msg):
            impl.cross_entropy_grad(EX_X, y, reduction=reduction, label_smoothing=0.1)
        with pytest.raises(IndexError, match=msg):
            impl.cross_entropy_and_grad(EX_X, y, reduction=reduction, weight=EX_W)
        with pytest.raises(IndexError, match=msg):
            impl.nll_loss(EX_X, y, reduction=reduction)
        with pytest.raises(IndexError, match=msg):
            impl.nll_loss_and_grad(EX_X, y, reduction=reduction)
        for shape in [(1, 3, 3), (1, 3, 3, 1)]:
            with pytest.raises(IndexError, match=msg):
                impl.cross_entropy(np.zeros(shape), y.reshape((1, 3) + shape[3:]),
                                   reduction=reduction)
        # an out-of-range target equal to ignore_index is ignored
        close(impl.cross_entropy(EX_X, y, ignore_index=bad, reduction="sum"),
              2.4076059644443804 + EX_ROWS[2])

    def test_item22_unsigned_and_huge_targets(self, impl):
        with pytest.raises(IndexError, match="^Target 18446744073709551615 is out of bounds.$"):
            impl.cross_entropy(EX_X, np.array([0, 2**64 - 1, 1], dtype=np.uint64))
        with pytest.raises(IndexError, match="^Target 255 is out of bounds.$"):
            impl.cross_entropy(EX_X, np.array([0, 255, 1], dtype=np.uint8))

    def test_item23_ignore_index_outside_range(self, impl):
        close(impl.cross_entropy(EX_X, EX_Y, ignore_index=5), 0.8947310214300255)

    def test_item24_label_smoothing_range(self, impl):
        with pytest.raises(ValueError,
                           match=r"^label_smoothing must be between 0\.0 and 1\.0\. Got: 1\.1$"):
            impl.cross_entropy(EX_X, EX_Y, label_smoothing=1.1)
        # deviation from torch (SPEC §2): torch silently treats a negative value as 0
        with pytest.raises(ValueError, match=r"between 0\.0 and 1\.0\. Got: -0\.1$"):
            impl.cross_entropy(EX_X, EX_Y, label_smoothing=-0.1)
        with pytest.raises(ValueError, match="label_smoothing"):
            impl.cross_entropy_grad(EX_X, EX_P, label_smoothing=nan)

    def test_item25_weight_length(self, impl):
        msg = ("^weight tensor should be defined either for all 3 classes or no classes but "
               r"got weight tensor of shape: \[2\]$")
        with pytest.raises(ValueError, match=msg):
            impl.cross_entropy(EX_X, EX_Y, weight=[1.0, 2.0])
        with pytest.raises(ValueError, match=msg):      # torch prefixes "cross_entropy: "
            impl.cross_entropy(EX_X, EX_P, weight=[1.0, 2.0])
        with pytest.raises(ValueError, match=msg):
            impl.nll_loss(EX_X, EX_Y, weight=[1.0, 2.0])
        with pytest.raises(ValueError, match=r"shape: \[1, 3\]$"):
            impl.cross_entropy_grad(EX_X, EX_Y, weight=[[1.0, 2.0, 3.0]])

    def test_item26_batch_mismatch(self, impl):
        msg = r"^Expected input batch_size \(3\) to match target batch_size \(2\)\.$"
        for func in (impl.cross_entropy, impl.cross_entropy_grad, impl.nll_loss):
            with pytest.raises(ValueError, match=msg):
                func(EX_X, EX_Y[:2])
        with pytest.raises(ValueError, match=msg):
            impl.cross_entropy(np.zeros((3, 3, 4)), np.zeros((2, 4), dtype=int))

    def test_target_shape_errors(self, impl):
        multi = "^0D or 1D target tensor expected, multi-target not supported$"
        for func in (impl.cross_entropy, impl.nll_loss_grad):
            with pytest.raises(ValueError, match=multi):
                func(EX_X, EX_Y[:, None])
            with pytest.raises(ValueError, match=multi):
                func(EX_X, np.zeros((3, 2), dtype=int))
        with pytest.raises(ValueError, match=multi):
            impl.nll_loss(EX_X, np.zeros((3, 3), dtype=int))   # nll: never probabilities
        with pytest.raises(ValueError, match=multi):
            impl.cross_entropy(EX_X[0], np.zeros((1, 1), dtype=int))
        with pytest.raises(ValueError, match=r"^Expected target size \[1, 2\], got \[1, 3\]$"):
            impl.cross_entropy(np.zeros((1, 3, 2)), np.zeros((1, 3), dtype=int))
        # torch words 4-D mismatches differently (nll_loss2d); xentc uses this one for all
        with pytest.raises(ValueError, match=r"^Expected target size \[2, 4, 5\], got \[2, 4\]$"):
            impl.cross_entropy(np.zeros((2, 3, 4, 5)), np.zeros((2, 4), dtype=int))
        with pytest.raises(ValueError, match=r"^Expected target size \[2, 4\], got \[2, 5\]$"):
            impl.nll_loss(np.zeros((2, 3, 4)), np.zeros((2, 5), dtype=int))
        with pytest.raises(ValueError, match="^For 1D input, 1D target must have size 1, but "
                                             "got target size: 2$"):
            impl.cross_entropy(EX_X[0], [2, 0])

    def test_argument_errors(self, impl):
        for func in (impl.cross_entropy, impl.cross_entropy_and_grad, impl.nll_loss,
                     impl.nll_loss_grad):
            with pytest.raises(ValueError, match="^avg is not a valid value for reduction$"):
                func(EX_X, EX_Y, reduction="avg")
            with pytest.raises(ValueError, match=r"^Expected 1 or more dimensions \(got 0\)$"):
                func(np.float64(1.0), np.int64(0))
            with pytest.raises(TypeError, match="^expected target dtype to be an integer type "
                                                "for class indices, got float64$"):
                func(EX_X, EX_Y.astype(np.float64))
            with pytest.raises(TypeError, match="integer type for class indices, got bool"):
                func(EX_X, np.zeros(3, dtype=bool))
        # a float target of another shape is not a probability target (SPEC §2: TypeError)
        with pytest.raises(TypeError, match="integer type for class indices, got float32"):
            impl.cross_entropy(EX_X, np.zeros((2, 3), dtype=np.float32))
        with pytest.raises(TypeError):
            impl.cross_entropy(EX_X + 1j, EX_Y)
        with pytest.raises(ValueError, match="^None is not a valid value for reduction$"):
            impl.cross_entropy(EX_X, EX_Y, reduction=None)

    def test_item27_kdim_equivalence(self, impl, rng):
        x = 2 * rng.normal(size=(2, 3, 4, 5))
        y = rng.integers(0, 3, size=(2, 4, 5))
        y[0, 1, :3] = -100
        flat_x = np.moveaxis(x, 1, -1).reshape(-1, 3)
        w = np.array([0.5, 2.0, 1.5])
        for kw in ({}, {"weight": w}, {"weight": w, "ignore_index": 2, "label_smoothing": 0.2},
                   {"label_smoothing": 1.0}):
            yy = np.where(y < 0, kw.get("ignore_index", -100), y)
            for reduction in ("none", "mean", "sum"):
                loss, grad = ce_all(impl, x, yy, reduction=reduction, **kw)
                eloss, egrad = ce_all(impl, flat_x, yy.reshape(-1), reduction=reduction, **kw)
                assert loss.shape == (() if reduction != "none" else (2, 4, 5))
                close(loss, eloss.reshape(np.shape(loss)), rtol=1e-13)
                close(grad, np.moveaxis(egrad.reshape(2, 4, 5, 3), -1, 1), rtol=1e-13)
        p = rng.dirichlet(np.ones(3), size=(2, 4, 5))
        flat_p = p.reshape(-1, 3)
        p = np.moveaxis(p, -1, 1)
        for kw in ({}, {"weight": w, "label_smoothing": 0.3}):
            for reduction in ("none", "mean", "sum"):
                loss, grad = ce_all(impl, x, p, reduction=reduction, **kw)
                eloss, egrad = ce_all(impl, flat_x, flat_p, reduction=reduction, **kw)
                close(loss, eloss.reshape(np.shape(loss)), rtol=1e-13)
                close(grad, np.moveaxis(egrad.reshape(2, 4, 5, 3), -1, 1), rtol=1e-13)

    def test_item28_unbatched(self, impl):
        for y in (2, np.int64(2), np.array(2, dtype=np.int32), np.array([2])):
            for reduction in ("none", "mean", "sum"):
                loss, grad = ce_all(impl, EX_X[0], y, reduction=reduction)
                assert type(loss) is np.float64
                close(loss, 0.4076059644443804)
                close(grad, [0.09003057317038046, 0.24472847105479764, -0.3347590442251781])
        loss = impl.cross_entropy(EX_X[0], EX_P[0], reduction="none")
        assert type(loss) is np.float64
        close(loss, 0.8323955818399388)
        assert impl.cross_entropy_grad(EX_X[0], EX_P[0]).shape == (3,)
        loss = impl.nll_loss(EX_X[0], 1, reduction="none")
        assert type(loss) is np.float64 and loss == -2.0

    @pytest.mark.parametrize("x0", [0.0, -3.5, 1e300, -1e-300])
    def test_item29_one_class(self, impl, x0):
        x = np.array([[x0], [x0]])
        for t, kw in [(np.zeros(2, dtype=int), {}), (np.ones((2, 1)), {}),
                      (np.full((2, 1), 0.5), {}), (np.zeros(2, dtype=int),
                                                   {"label_smoothing": 0.5})]:
            loss, grad = ce_all(impl, x, t, reduction="none", **kw)
            assert_array_equal(loss, [0.0, 0.0])
            assert np.signbit(loss).all()        # -0.0 as torch (TF gives +0.0)
            assert_array_equal(grad, np.zeros((2, 1)))

    def test_item30_non_finite_rows(self, impl):
        rows = np.array([[-inf, 0], [-inf, 0], [-inf, -inf], [inf, 0], [inf, 0], [inf, inf],
                         [nan, 0], [1000, 0]])
        y = np.array([1, 0, 0, 0, 1, 0, 1, 1])
        loss = impl.cross_entropy(rows, y, reduction="none")     # no RuntimeWarning either
        assert_array_equal(loss, [0.0, inf, nan, nan, nan, nan, nan, 1000.0])
        assert np.signbit(loss[0])
        assert np.isnan(impl.cross_entropy(rows, y))
        r = impl.cross_entropy(np.float32([[100, 0]]), [1], reduction="none")
        assert r.dtype == result_dtype(impl, np.float32) and r[0] == 100.0
        with pytest.raises(IndexError, match="^Target 0 is out of bounds.$"):
            impl.cross_entropy(np.zeros((2, 0)), [0, 0])

    def test_item31_smoothing_reaches_masked_class(self, impl):
        assert impl.cross_entropy([[-inf, 0.0]], [1], label_smoothing=0.1) == inf
        # an ignored all -inf row is skipped in the forward pass
        x = np.array([[-inf, -inf], [0.0, 1.0]])
        close(impl.cross_entropy(x, [-100, 1]), 0.31326168751822286)
        close(impl.cross_entropy(x, [-100, 1], label_smoothing=0.3, reduction="sum"),
              impl.cross_entropy(x[1:], [1], label_smoothing=0.3, reduction="sum"))

    @pytest.mark.parametrize("dtype", [np.int8, np.int16, np.int32, np.int64, np.uint8,
                                       np.uint16, np.uint32, np.uint64])
    def test_item32_target_dtypes(self, impl, dtype):
        # deviation from torch (SPEC §2): any integer dtype; torch takes only int64 and uint8
        expected = impl.cross_entropy_and_grad(EX_X, EX_Y, weight=EX_W, reduction="none")
        for a, b in zip(impl.cross_entropy_and_grad(EX_X, EX_Y.astype(dtype), weight=EX_W,
                                                    reduction="none"), expected):
            assert_array_equal(a, b)
        assert_array_equal(impl.nll_loss(EX_X, EX_Y.astype(dtype), reduction="none"),
                           -EX_X[np.arange(3), EX_Y])
        if np.dtype(dtype).kind == "i":
            y = np.array([2, -3, 1], dtype=dtype)
            close(impl.cross_entropy(EX_X, y, ignore_index=-3),
                  impl.cross_entropy(EX_X, [2, 0, 1], ignore_index=0))


class TestProbabilityTargets:
    """Checklist items 33-39."""

    def test_item33_ex(self, impl):
        close(impl.cross_entropy(EX_X, EX_P, reduction="none"),
              [0.8323955818399388, 0.8323955818399389, 1.3689811354013153])
        close(impl.cross_entropy(EX_X, EX_P), 1.0112574330270643)
        close(impl.cross_entropy(EX_X, EX_P, reduction="sum"), 3.033772299081193)
        # a one-hot float target gives exactly the index-target result
        close(impl.cross_entropy(EX_X, np.eye(3)[EX_Y], reduction="none"), EX_ROWS)

    def test_item34_weight_mean_divides_by_rows(self, impl):
        close(impl.cross_entropy(EX_X, EX_P, weight=EX_W, reduction="none"),
              [1.719189200099021, 1.6103931272607341, 2.2379622708026305])
        close(impl.cross_entropy(EX_X, EX_P, weight=EX_W), 1.8558481993874618)

    def test_item35_label_smoothing(self, impl):
        close(impl.cross_entropy(EX_X, EX_P, label_smoothing=0.1, reduction="none"),
              [0.889916620100383, 0.8899166201003831, 1.3689811354013153])

    def test_item36_ignore_index(self, impl):
        msg = "^ignore_index is not supported for floating point target$"
        for ii in (0, 2, 5):
            with pytest.raises(ValueError, match=msg):
                impl.cross_entropy(EX_X, EX_P, ignore_index=ii)
            with pytest.raises(ValueError, match=msg):
                impl.cross_entropy_grad(EX_X, EX_P, ignore_index=ii)
        for ii in (-1, -5, -100):
            close(impl.cross_entropy(EX_X, EX_P, ignore_index=ii), 1.0112574330270643)

    def test_item37_unnormalised_targets(self, impl):
        close(impl.cross_entropy(EX_X[0], [2.0, 0, 0]), 4.815211928888761)
        close(impl.cross_entropy(EX_X[0], [-1.0, 1, 1]), -0.5923940355556199)

    @pytest.mark.parametrize("dtype", [np.int64, np.int32, np.uint8, bool])
    def test_item38_integer_target_with_input_shape(self, impl, dtype):
        msg = ("^Expected floating point type for target with class probabilities, got "
               f"{np.dtype(dtype)}$")
        with pytest.raises(TypeError, match=msg):
            impl.cross_entropy(EX_X, np.eye(3, dtype=dtype))
        # (C,) input with a (1,)-shaped int target: equal shapes when C = 1
        with pytest.raises(TypeError, match="class probabilities"):
            impl.cross_entropy(np.zeros(1), np.zeros(1, dtype=dtype))

    def test_item39_zero_target_times_masked_logit(self, impl):
        # deviation from torch (SPEC §2 "zero weight times infinity is zero"): torch, TF and
        # optax give NaN here; xentc gives the limit, as optax.safe_softmax_cross_entropy
        x = np.array([[-inf, 0.0], [-inf, 1.0]])
        t = np.array([[0.0, 1.0], [0.0, 1.0]])
        loss, grad = ce_all(impl, x, t, reduction="none")
        assert_array_equal(loss, [0.0, 0.0])
        assert_array_equal(grad, np.zeros((2, 2)))
        close(impl.cross_entropy(x, [[0.0, 0.5], [0.0, 2.0]], reduction="sum"), 0.0)
        # smoothing makes the masked class's target weight positive: inf, as torch
        assert impl.cross_entropy(x, t, label_smoothing=0.1) == inf
        # a zero class weight zeroes the term too (applied to class weights, SPEC §2)
        w = np.array([0.0, 1.0])
        assert impl.cross_entropy(x, t, weight=w, label_smoothing=0.1) == 0.0
        assert impl.cross_entropy(x, [1, 1], weight=w, label_smoothing=0.1) == 0.0
        assert impl.nll_loss([[-inf, 0.0]], [0], weight=w, reduction="sum") == 0.0
        # mass on the masked class is an infinite loss; rows with +inf or NaN stay NaN
        assert impl.cross_entropy(x, [[1.0, 0.0], [0.5, 0.5]], reduction="sum") == inf
        assert_array_equal(impl.cross_entropy([[inf, 0.0], [nan, 0.0], [-inf, -inf]],
                                              [[0.0, 1.0]] * 3, reduction="none"), [nan] * 3)

    def test_float_target_dtypes(self, impl):
        expected = impl.cross_entropy(EX_X, EX_P, reduction="none")
        close(impl.cross_entropy(EX_X, EX_P.astype(np.float32), reduction="none"),
              impl.cross_entropy(EX_X, EX_P.astype(np.float32).astype(np.float64),
                                 reduction="none"))
        assert_allclose(impl.cross_entropy(EX_X, EX_P.astype(np.float16), reduction="none"),
                        expected, rtol=1e-3)


class TestGradients:
    """Checklist items 40-43 and the degenerate cases of semantics.md §2.5."""

    def test_item40_mean(self, impl):
        g = impl.cross_entropy_grad(EX_X, EX_Y)
        close(g[0], [0.030010191056793478, 0.08157615701826587, -0.1115863480750594])
        close(g, (sp.softmax(EX_X, axis=1) - np.eye(3)[EX_Y]) / 3, rtol=1e-13)

    def test_item41_general(self, impl):
        g = impl.cross_entropy_grad(EX_X, EX_Y, label_smoothing=0.1, weight=EX_W,
                                    ignore_index=0)
        close(g[0], [0.045551065772153995, 0.1286091798784493, -0.17416024565060337])
        assert_array_equal(g[1], [0.0, 0.0, 0.0])

    def test_item42_unnormalised_probabilities(self, impl):
        t = np.array([[2.0, 0, 0], [0, 0, 0], [0.5, 0, 0]])
        g = impl.cross_entropy_grad(EX_X, t, reduction="sum")
        close(g[0], [-1.8199388536592391, 0.4894569421095953, 1.3304819115496436])
        s = sp.softmax(EX_X, axis=1)
        close(g, s * t.sum(axis=1, keepdims=True) - t, rtol=1e-13)   # not TF's s - t

    def test_item43_masked_and_ignored_rows(self, impl):
        x = np.array([[-inf, 0.0], [0.0, 1.0]])
        g = impl.cross_entropy_grad(x, [1, 1])
        assert_array_equal(g[0], [0.0, 0.0])
        close(impl.cross_entropy_grad(x, [1, 1], label_smoothing=0.1)[0], [-0.025, 0.025])
        # torch's NaN gradient row for an ignored all -inf row (log_softmax's backward)
        g = impl.cross_entropy_grad(np.array([[-inf, -inf], [0.0, 1.0]]), [-100, 1])
        assert np.isnan(g[0]).all() and np.isfinite(g[1]).all()
        # an ignored finite row: zeros; a non-ignored NaN row: NaN
        g = impl.cross_entropy_grad(np.array([[nan, 0.0], [5.0, 1.0], [0.0, 1.0]]),
                                    [1, -100, 0], reduction="none")
        assert np.isnan(g[0]).all()
        assert_array_equal(g[1:], [[0.0, 0.0], sp.softmax([0.0, 1.0]) - [1, 0]])

    def test_none_rows_have_unit_upstream(self, impl, rng):
        x, y = rng.normal(size=(6, 4)), rng.integers(0, 4, 6)
        for kw in ({}, {"weight": rng.uniform(0.5, 2, 4), "label_smoothing": 0.2}):
            g_none = impl.cross_entropy_grad(x, y, reduction="none", **kw)
            close(g_none, impl.cross_entropy_grad(x, y, reduction="sum", **kw), rtol=1e-14)
            close(g_none[3], impl.cross_entropy_grad(x[3], y[3], reduction="sum", **kw),
                  rtol=1e-14)

    @pytest.mark.parametrize("reduction", ["none", "mean", "sum"])
    @pytest.mark.parametrize("kind", ["index", "prob", "prob_unnormalised"])
    @pytest.mark.parametrize("shape", [(4, 3), (3,), (2, 3, 2), (1, 2, 2, 1)], ids=str)
    def test_against_finite_differences(self, impl, rng, shape, kind, reduction):
        C = shape[0] if len(shape) == 1 else shape[1]
        x = 2 * rng.normal(size=shape)
        tshape = shape[:1] + shape[2:] if len(shape) > 1 else ()
        weights = [None, rng.uniform(0.2, 3, C), np.array([0.0, 2.0, -0.5])[:C]]
        for weight in weights:
            for ls in (0.0, 0.3, 1.0):
                for ignore in ((-100, 1) if kind == "index" else (-100,)):
                    if kind == "index":
                        t = rng.integers(0, C, size=tshape)
                    else:
                        t = rng.dirichlet(np.ones(C), size=tshape)
                        t = np.moveaxis(t, -1, 1) if len(shape) > 1 else t
                        if kind == "prob_unnormalised":
                            t = t * rng.uniform(-0.5, 3, size=t.shape)
                    kw = dict(weight=weight, ignore_index=ignore, reduction=reduction,
                              label_smoothing=ls)

                    def f(z):
                        return np.sum(impl.cross_entropy(z, t, **kw))

                    loss, grad = ce_all(impl, x, t, **kw)
                    if not np.isfinite(loss).all():   # a zero mean denominator
                        continue
                    assert_allclose(grad, fd_gradient(f, x), rtol=1e-6, atol=1e-8,
                                    err_msg=str(kw))

    @pytest.mark.parametrize("reduction", ["none", "mean", "sum"])
    def test_nll_against_finite_differences(self, impl, rng, reduction):
        x = rng.normal(size=(2, 3, 4))
        y = rng.integers(0, 3, size=(2, 4))
        for kw in ({}, {"weight": np.array([0.5, 0.0, 2.0])}, {"ignore_index": 1}):
            loss, grad = impl.nll_loss_and_grad(x, y, reduction=reduction, **kw)
            assert_array_equal(grad, impl.nll_loss_grad(x, y, reduction=reduction, **kw))
            assert_array_equal(loss, impl.nll_loss(x, y, reduction=reduction, **kw))
            f = lambda z: np.sum(impl.nll_loss(z, y, reduction=reduction, **kw))  # noqa: E731
            assert_allclose(grad, fd_gradient(f, x), rtol=1e-6, atol=1e-8)


def fd_gradient(f, x, h=1e-6):
    """Central finite differences of a scalar function of a float64 array."""
    g = np.empty_like(x)
    for i in np.ndindex(x.shape):
        xp, xm = x.copy(), x.copy()
        xp[i] += h
        xm[i] -= h
        g[i] = (f(xp) - f(xm)) / (2 * h)
    return g


class TestNllLoss:
    """semantics.md §2.7."""

    def test_values(self, impl):
        assert impl.nll_loss([[1.0, 2.0]], [1]) == -2.0
        lp = sp.log_softmax(EX_X, axis=1)
        close(impl.nll_loss(lp, EX_Y, reduction="none"), EX_ROWS)
        close(impl.nll_loss(lp, EX_Y, weight=EX_W), 5.368386128580152 / 6)
        close(impl.nll_loss(lp, EX_Y, ignore_index=0, weight=EX_W), 0.9921560328271543)
        assert_array_equal(impl.nll_loss(EX_X, EX_Y, reduction="none"), [-3.0, -1.0, -0.5])
        # only the target entries are read: NaN / inf elsewhere do not matter
        x = np.array([[nan, inf, 1.0], [-inf, 2.0, nan]])
        assert_array_equal(impl.nll_loss(x, [2, 1], reduction="none"), [-1.0, -2.0])
        assert_array_equal(impl.nll_loss_grad(x, [2, 1], ignore_index=1),
                           [[0.0, 0.0, -1.0], [0.0, 0.0, 0.0]])

    def test_degenerate(self, impl):
        x, y = np.zeros((0, 3)), np.zeros(0, dtype=int)
        assert np.isnan(impl.nll_loss(x, y)) and impl.nll_loss(x, y, reduction="sum") == 0.0
        assert np.isnan(impl.nll_loss(EX_X, [1, 1, 1], ignore_index=1))
        assert_array_equal(impl.nll_loss_grad(EX_X, [1, 1, 1], ignore_index=1), np.zeros((3, 3)))

    def test_gradient(self, impl):
        g = impl.nll_loss_grad(EX_X, EX_Y, weight=EX_W)
        expected = np.zeros((3, 3))
        expected[np.arange(3), EX_Y] = -EX_W[EX_Y] / 6
        close(g, expected)


class TestTensorFlow:
    """tf.nn.softmax_cross_entropy_with_logits (§3.2) and the sparse variant (§3.3)."""

    def test_dense_values(self, impl):
        f = impl.softmax_cross_entropy_with_logits
        close(f(EX_P, EX_X), [0.8323955818399391, 0.832395581839939, 1.3689811354013153])
        close(f(labels=np.eye(3, dtype=int)[EX_Y], logits=EX_X), EX_ROWS)  # int labels cast
        close(f(EX_P.T, EX_X.T, axis=0), f(EX_P, EX_X), rtol=1e-15)
        close(f([2.0, 0, 0], EX_X[0]), 4.815211928888761)
        r = f(EX_P[0], EX_X[0])
        assert type(r) is np.float64          # a 1-D input gives a 0-d output
        x3 = np.random.default_rng(1).normal(size=(2, 3, 4))
        p3 = sp.softmax(x3[::-1], axis=1)
        close(f(p3, x3, axis=1), impl.cross_entropy(x3, p3, reduction="none"), rtol=1e-13)

    def test_dense_broadcasting(self, impl):
        f = impl.softmax_cross_entropy_with_logits
        for labels in (EX_P[:1], EX_P[0]):
            close(f(labels, EX_X), f(np.broadcast_to(EX_P[0], (3, 3)), EX_X))
        with pytest.raises(ValueError, match=r"must be broadcastable: logits_size=\[3,3\] "
                                             r"labels_size=\[3,2\]"):
            f(np.zeros((3, 2)), EX_X)

    def test_dense_edge_cases(self, impl):
        f = impl.softmax_cross_entropy_with_logits
        # deviation from TF (SPEC §2): 0 * log(0) = 0, where TF gives NaN
        assert f([0.0, 1.0], [-inf, 0.0]) == 0.0
        assert f([1.0, 0.0], [-inf, 0.0]) == inf
        assert_array_equal(f([[0.5, 0.5]] * 3, [[-inf, -inf], [inf, 0.0], [nan, 0.0]]),
                           [nan] * 3)
        assert f([0.0, 1.0], [1000.0, 0.0]) == 1000.0
        r = f([[1.0], [0.3]], [[5.0], [-2.0]])
        assert_array_equal(r, [0.0, 0.0])
        assert not np.signbit(r).any()        # TF's +0.0 (torch: -0.0)
        assert f(np.zeros((0, 3)), np.zeros((0, 3))).shape == (0,)
        assert_array_equal(f(np.zeros((2, 0)), np.zeros((2, 0))), [0.0, 0.0])

    def test_sparse_values(self, impl):
        f = impl.sparse_softmax_cross_entropy_with_logits
        close(f(EX_Y, EX_X), EX_ROWS)
        for dtype in (np.int32, np.int64, np.uint8, np.int16):
            assert_array_equal(f(EX_Y.astype(dtype), EX_X), f(EX_Y, EX_X))
        r = f(2, EX_X[0])
        assert type(r) is np.float64
        close(r, EX_ROWS[0])
        x3 = np.random.default_rng(2).normal(size=(2, 3, 4))
        y3 = np.array([[0, 3, 1], [2, 2, 0]])
        close(f(y3, x3), impl.cross_entropy(np.moveaxis(x3, -1, 1), y3, reduction="none"),
              rtol=1e-13)

    def test_sparse_edge_cases(self, impl):
        f = impl.sparse_softmax_cross_entropy_with_logits
        r = f([1, 0, 0, 0, 1], [[-inf, 0.0], [-inf, 0.0], [-inf, -inf], [inf, 0.0], [nan, 0.0]])
        assert_array_equal(r, [0.0, inf, nan, nan, nan])
        assert not np.signbit(r[0])           # TF's +0.0
        r = f([0, 0], [[3.0], [-1.0]])
        assert_array_equal(r, [0.0, 0.0]) and not np.signbit(r).any()
        assert f(np.zeros(0, dtype=int), np.zeros((0, 3))).shape == (0,)

    def test_sparse_errors(self, impl):
        f = impl.sparse_softmax_cross_entropy_with_logits
        for bad in (3, -1):
            with pytest.raises(IndexError, match=rf"^Received a label value of {bad} which is "
                                                 r"outside the valid range of \[0, 3\)\.$"):
                f(np.array([bad, 0, 1]), EX_X)
        with pytest.raises(TypeError, match="integer"):
            f(EX_Y.astype(np.float64), EX_X)
        with pytest.raises(ValueError, match=r"^`labels.shape.rank` must equal "
                           r"`logits.shape.rank - 1`. Received: labels.shape=\(3, 1\) of rank "
                           r"2 and logits.shape=\(3, 3\) of rank 2$"):
            f(EX_Y[:, None], EX_X)
        with pytest.raises(ValueError, match=r"^`labels.shape` must equal `logits.shape` "
                           r"except for the last dimension. Received: labels.shape=\(2,\) and "
                           r"logits.shape=\(3, 3\)$"):
            f(EX_Y[:2], EX_X)
        with pytest.raises(ValueError, match="^`logits` cannot be a scalar"):
            f(np.int64(0), np.float64(1.0))
        with pytest.raises(ValueError, match=r"Must have at least one class, but got logits "
                                             r"shape \[2,0\]"):
            f([0, 0], np.zeros((2, 0)))


class TestLayoutsAndDtypes:
    def test_layouts(self, impl, rng, tmp_path):
        base = 3 * rng.normal(size=(60, 7))
        y = rng.integers(0, 7, 60)
        y[::9] = -100
        p = rng.dirichlet(np.ones(7), 60)
        kw = dict(weight=rng.uniform(0.5, 2, 7), label_smoothing=0.1)
        expected = {r: impl.cross_entropy_and_grad(base, y, reduction=r, **kw)
                    for r in ("none", "mean")}
        expected_p = impl.cross_entropy_and_grad(base, p, reduction="none", **kw)
        for name, x in layouts(base, tmp_path, "x"):
            x0 = x.copy()
            for tname, t in layouts(y, tmp_path, "y"):
                for r in ("none", "mean"):
                    loss, grad = impl.cross_entropy_and_grad(x, t, reduction=r, **kw)
                    close(loss, expected[r][0], rtol=1e-15)
                    close(grad, expected[r][1], rtol=1e-15)
            for tname, t in layouts(p, tmp_path, "p"):
                loss, grad = impl.cross_entropy_and_grad(x, t, reduction="none", **kw)
                close(loss, expected_p[0], rtol=1e-15)
                close(grad, expected_p[1], rtol=1e-15)
            assert_array_equal(x, x0, err_msg=f"{name} input modified")

    def test_kdim_layouts(self, impl, rng):
        base = rng.normal(size=(3, 4, 5, 6))
        y = rng.integers(0, 4, (3, 5, 6))
        expected = impl.cross_entropy_and_grad(base, y, reduction="none")
        for x in (np.asfortranarray(base), base[:, ::-1][:, ::-1],
                  np.ascontiguousarray(np.moveaxis(base, 1, -1)).transpose(0, 3, 1, 2)):
            for t in (np.asfortranarray(y), np.ascontiguousarray(y.T).T):
                loss, grad = impl.cross_entropy_and_grad(x, t, reduction="none")
                close(loss, expected[0], rtol=1e-15)
                close(grad, expected[1], rtol=1e-15)

    def test_inputs_not_modified(self, impl, rng):
        x, y, w = rng.normal(size=(20, 5)), rng.integers(0, 5, 20), rng.uniform(0, 1, 5)
        p = rng.dirichlet(np.ones(5), 20)
        saved = [a.copy() for a in (x, y, w, p)]
        for r in ("none", "mean", "sum"):
            impl.cross_entropy_and_grad(x, y, weight=w, reduction=r, label_smoothing=0.2)
            impl.cross_entropy_and_grad(x, p, weight=w, reduction=r, label_smoothing=0.2)
            impl.nll_loss_and_grad(x, y, weight=w, reduction=r)
        impl.softmax_cross_entropy_with_logits(p, x)
        impl.sparse_softmax_cross_entropy_with_logits(y, x)
        for a, b in zip((x, y, w, p), saved):
            assert_array_equal(a, b)

    @pytest.mark.parametrize("dtype", [np.float16, np.float32, np.float64, np.int64, np.int32,
                                       np.uint8, bool])
    def test_input_dtypes(self, impl, rng, dtype):
        x = (3 * rng.normal(size=(40, 6))).astype(dtype)
        y = rng.integers(0, 6, 40)
        p = rng.dirichlet(np.ones(6), 40)
        # float16 is computed in float32 (SPEC §2), ints and bools in float64
        x_compute = x.astype(np.float32 if dtype == np.float16 else np.float64)
        rtol = {np.float16: 2e-3, np.float32: 1e-5}.get(dtype, 1e-13)
        if impl is reference:
            rtol = 1e-13
        rdt = result_dtype(impl, dtype)
        for t in (y, p):
            for r in ("none", "mean"):
                loss, grad = ce_all(impl, x, t, reduction=r, label_smoothing=0.1)
                assert np.asarray(loss).dtype == rdt and grad.dtype == rdt
                assert grad.shape == x.shape
                eloss, egrad = reference.cross_entropy_and_grad(x_compute, t, reduction=r,
                                                                label_smoothing=0.1)
                assert_allclose(loss, eloss, rtol=rtol, atol=0)
                assert_allclose(grad, egrad, rtol=rtol, atol=rtol * np.abs(egrad).max())
            loss = impl.nll_loss(x, y)
            assert type(loss) is rdt.type
        for f, t in [(impl.softmax_cross_entropy_with_logits, p),
                     (impl.sparse_softmax_cross_entropy_with_logits, y)]:
            assert f(t, x).dtype == rdt


def layouts(base, tmp_path, name):
    """The same values in several memory layouts (C, F, strided, reversed, read-only, memmap)."""
    yield "C", np.ascontiguousarray(base)
    if base.ndim == 2:
        yield "F", np.asfortranarray(base)
        yield "transposed", np.ascontiguousarray(base.T).T
    big = np.zeros(tuple(2 * n for n in base.shape), dtype=base.dtype)
    view = big[(slice(None, None, 2),) * base.ndim]
    view[...] = base
    yield "strided", view
    yield "reversed", np.ascontiguousarray(base[::-1])[::-1]
    ro = np.array(base)
    ro.flags.writeable = False
    yield "read_only", ro
    path = tmp_path / f"{name}.bin"
    base.tofile(path)
    yield "memmap", np.memmap(path, dtype=base.dtype, mode="r", shape=base.shape)


class TestThreads:
    SHAPES = [(5000, 37), (700, 1000), (40000, 2), (40, 37, 50)]

    @pytest.mark.parametrize("dtype", [np.float32, np.float64])
    @pytest.mark.parametrize("shape", SHAPES, ids=str)
    def test_bit_identical_for_every_n_threads(self, rng, shape, dtype):
        C = shape[1]
        x = (4 * rng.normal(size=shape)).astype(dtype)
        tshape = shape[:1] + shape[2:]
        y = rng.integers(0, C, tshape)
        y.reshape(-1)[::11] = -100
        p = np.moveaxis(rng.dirichlet(np.ones(C), tshape), -1, 1).astype(dtype)
        w = rng.uniform(0.5, 2, C)
        calls = [
            lambda **kw: xentc.cross_entropy_and_grad(x, y, reduction="mean", **kw),
            lambda **kw: xentc.cross_entropy_and_grad(x, y, weight=w, label_smoothing=0.1,
                                                      reduction="sum", **kw),
            lambda **kw: xentc.cross_entropy_and_grad(x, p, reduction="mean", **kw),
            lambda **kw: (xentc.cross_entropy(x, y, reduction="none", **kw),
                          xentc.cross_entropy(x, p, weight=w, **kw)),
            lambda **kw: xentc.nll_loss_and_grad(x, y, weight=w, **kw),
        ]
        for call in calls:
            expected = call(n_threads=1)
            for n_threads in N_THREADS[1:]:
                for a, b in zip(call(n_threads=n_threads), expected):
                    assert_array_equal(a, b, strict=True)

    def test_concurrent_calls_agree_with_serial(self, rng):
        cases = []
        for dtype in (np.float32, np.float64):
            x = (3 * rng.normal(size=(20_000, 20))).astype(dtype)
            y = rng.integers(0, 20, 20_000)
            cases.append((x, y))
        expected = [xentc.cross_entropy_and_grad(x, y, label_smoothing=0.1) for x, y in cases]

        def work(i):
            x, y = cases[i % 2]
            return i % 2, xentc.cross_entropy_and_grad(x, y, label_smoothing=0.1, n_threads=2)

        with ThreadPoolExecutor(max_workers=4) as pool:
            for k, (loss, grad) in pool.map(work, range(16)):
                assert_array_equal(loss, expected[k][0])
                assert_array_equal(grad, expected[k][1])

    def test_n_threads_argument(self):
        for func in (xentc.cross_entropy, xentc.cross_entropy_grad, xentc.nll_loss):
            with pytest.raises(ValueError, match="n_threads=0"):
                func(EX_X, EX_Y, n_threads=0)
            with pytest.raises(TypeError, match="n_threads"):
                func(EX_X, EX_Y, n_threads=1.5)


# --- accuracy (xentc only: the reference computes log(sum) and loses confident rows) -------

def ce_rows_exact(x, y):
    """Per-row cross-entropy in long double, (max - x_y) + log1p(rest): both terms are >= 0,
    so nothing cancels and a loss of 1e-10 keeps its precision."""
    x = np.asarray(x, dtype=np.longdouble)
    n = np.arange(len(x))
    m = x.max(axis=1)
    with np.errstate(under="ignore", invalid="ignore"):
        e = np.exp(x - m[:, None])
        e[n, np.argmax(x, axis=1)] = 0
        return (m - x[n, y]) + np.log1p(e.sum(axis=1))


def accuracy_families(rng, n, C):
    y = rng.integers(0, C, n)
    fam = {"randn": 3 * rng.normal(size=(n, C)),
           "offsets": rng.normal(size=(n, C)) * 5 + rng.uniform(-1e4, 1e4, size=(n, 1)),
           "wide": rng.uniform(-700, 700, size=(n, C))}
    conf = rng.normal(size=(n, C))
    conf[np.arange(n), y] = conf.max(axis=1) + 23 + np.log(C) + rng.uniform(0, 3, n)
    fam["confident"] = conf           # loss ~ 1e-10 .. 1e-11
    big = conf + rng.uniform(-1e6, 1e6, size=(n, 1))
    fam["confident_offset"] = big
    masked = rng.normal(size=(n, C))
    masked[rng.random((n, C)) < 0.3] = -inf
    masked[np.arange(n), y] = rng.normal(size=n)
    fam["masked"] = masked
    return fam, y


@pytest.mark.parametrize("C", [2, 3, 10, 1000])
def test_row_losses_float64_within_2_ulp(cpu_level, rng, C):
    n = 300 if C < 1000 else 30
    fam, y = accuracy_families(rng, n, C)
    for name, x in fam.items():
        r = xentc.cross_entropy(x, y, reduction="none")
        err = ulp_error(r, ce_rows_exact(x, y), np.float64)
        assert err.max() <= 2.0, (name, err.max())


@pytest.mark.parametrize("C", [2, 3, 10, 1000])
def test_row_losses_float32_within_2_ulp(cpu_level, rng, C):
    n = 300 if C < 1000 else 30
    fam, y = accuracy_families(rng, n, C)
    for name, x in fam.items():
        x32 = x.astype(np.float32)
        r = xentc.cross_entropy(x32, y, reduction="none")
        assert r.dtype == np.float32
        err = ulp_error(r, ce_rows_exact(x32, y), np.float32)
        assert err.max() <= 2.0, (name, err.max())


@pytest.mark.parametrize("C", [8, 10, 16, 17, 48, 49, 1000])
@pytest.mark.parametrize("weighted", [False, True])
def test_mean_and_sum_against_exact_rows(cpu_level, rng, C, weighted):
    """float64 means and sums over index targets take a faster path than the per-row losses
    at AVX-512 (shifted sums, with an error bound that sends blocks of confident predictions
    to the exact path): within 1e-13 of the exact mean in every family, and ignored rows."""
    n = 2000 if C < 1000 else 40
    fam, y = accuracy_families(rng, n, C)
    y[::7] = -100
    keep = y != -100
    w = rng.uniform(0.5, 2.0, C) if weighted else None
    wy = w[y[keep]] if weighted else np.ones(keep.sum())
    for name, x in fam.items():
        rows = ce_rows_exact(x[keep], y[keep]) * wy          # long double
        exact_sum, exact_mean = float(np.sum(rows)), float(np.sum(rows) / np.sum(wy))
        s = xentc.cross_entropy(x, y, weight=w, reduction="sum")
        m = xentc.cross_entropy(x, y, weight=w)
        assert abs(s - exact_sum) <= 1e-13 * exact_sum, (name, s, exact_sum)
        assert abs(m - exact_mean) <= 1e-13 * exact_mean, (name, m, exact_mean)


@pytest.mark.parametrize("C", [49, 1000, 3000])
@pytest.mark.parametrize("weight", ["none", "positive", "signed"])
def test_float32_long_rows_against_exact_rows(cpu_level, rng, C, weight):
    """float32 rows longer than 48: every row within an ulp, means and sums within 1e-7
    (SPEC 4), for losses from 1e-11 to ~10, weights positive and signed, ignored rows."""
    n = 300 if C < 1000 else 40
    fam, y = accuracy_families(rng, n, C)
    near = 3 * rng.normal(size=(n, C))                    # losses spread over ~[0, 10]
    near[np.arange(n), y] = near.max(axis=1) - rng.uniform(-1, 8, n)
    fam["near_4"] = near
    y[::7] = -100
    keep = y != -100
    w = {"none": None, "positive": rng.uniform(0.5, 2.0, C),
         "signed": rng.uniform(-1.0, 2.0, C)}[weight]
    for name, x64 in fam.items():
        x = x64.astype(np.float32)
        rows = ce_rows_exact(x[keep], y[keep])                 # long double, unweighted
        r = xentc.cross_entropy(x, y, reduction="none")
        assert ulp_error(r[keep], rows, np.float32).max() <= 1.0, name
        wy = w[y[keep]] if w is not None else np.ones(keep.sum())
        exact_sum = float(np.sum(rows * wy))
        s = xentc.cross_entropy(x, y, weight=w, reduction="sum")
        m = xentc.cross_entropy(x, y, weight=w)
        tol = 1e-7 * float(np.sum(np.abs(rows * wy)))       # relative, or of the |terms| if signed
        assert abs(s - exact_sum) <= tol, (name, s, exact_sum)
        assert abs(m - exact_sum / np.sum(wy)) <= tol / abs(np.sum(wy)), (name, m)


EXTREME = [([0.0, -40.0], 0), ([0.0, -40.0], 1), ([0.0, -720.0], 0), ([0.0, -745.0], 0),
           ([1e300, 1e300], 1), ([709.0, 709.0, 708.0], 2), ([-740.0, -740.5, -741.0], 0),
           ([12345.678, 12345.678 - 1e-12, 12345.678 - 36.0], 0), ([1e15, 1e15 - 30, 0.0], 0),
           (list(-np.arange(48.0) * 15), 0), (list(np.linspace(-5, 5, 101)), 100),
           ([5e-324, -5e-324, 0.0], 1)]


@pytest.mark.parametrize("row, y", EXTREME, ids=range(len(EXTREME)))
def test_extreme_rows_against_mpmath(cpu_level, row, y):
    with mpmath.workdps(800):  # enough digits for log(1 + e^-745)
        v = [mpmath.mpf(float(t)) for t in row]
        # through a string: float(mpf) flushes subnormal results (log1p(e^-720)) to zero
        exact = float(mpmath.nstr(mpmath.log(mpmath.fsum(mpmath.exp(t - v[y]) for t in v)),
                                  40))
    x = np.array([row] * 3)
    r = xentc.cross_entropy(x, [y] * 3, reduction="none")
    assert ulp_error(r, exact, np.float64).max() <= 2.0
    with np.errstate(over="ignore"):  # 1e300 overflows float32 (a +inf row: NaN loss)
        x32 = x.astype(np.float32)
    r32 = xentc.cross_entropy(x32, [y] * 3, reduction="none")
    if np.all(np.isfinite(x32)):
        exact32 = ce_rows_exact(x32, [y] * 3)
        assert ulp_error(r32, exact32, np.float32).max() <= 2.0


@pytest.mark.filterwarnings("ignore::RuntimeWarning")   # scipy's warnings for inf/NaN rows
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_pair_rows_do_not_depend_on_their_neighbours(cpu_level, dtype):
    # C = 2 runs 8 rows per vector, with special rows finished apart and subnormal exp lanes
    # fixed up: each row must come out as it does alone (cross_entropy, its gradient,
    # logsumexp, softmax, log_softmax), and the finite rows as the reference says
    rng = np.random.default_rng(8)
    x = rng.normal(size=(53, 2)) * 3
    pick = rng.random((53, 2)) < 0.25
    x[pick] = rng.choice([inf, -inf, nan, 1e308, -1e308, 720.0, -720.0, -745.0], pick.sum())
    with np.errstate(over="ignore"):
        x = x.astype(dtype)
    y = rng.integers(0, 2, 53)
    y[::7] = -100
    for kw in ({}, {"weight": np.array([0.5, 2.0])}):
        loss, grad = xentc.cross_entropy_and_grad(x, y, reduction="none", **kw)
        for i in range(53):
            li, gi = xentc.cross_entropy_and_grad(x[i:i + 1], y[i:i + 1], reduction="none",
                                                  **kw)
            assert_array_equal(loss[i], li[0])
            assert_array_equal(grad[i], gi[0])
        with np.errstate(invalid="ignore"):
            ok = np.abs(x[:, 0].astype(float) - x[:, 1]) < 700       # finite, not subnormal
        with np.errstate(all="ignore"):
            exact = reference.cross_entropy(x.astype(np.float64), y, reduction="none", **kw)
        # (the reference's log_softmax loses digits of small losses to cancellation)
        assert_allclose(loss[ok], exact[ok], rtol=max(4 * np.finfo(dtype).eps, 1e-12))
    for f in (xentc.logsumexp, xentc.softmax, xentc.log_softmax):
        r = f(x, axis=1)
        assert_array_equal(r, np.concatenate([f(x[i:i + 1], axis=1) for i in range(53)]))


@pytest.mark.parametrize("row", [[1e307] + [-1e307] * 19, [1.7e308, -1.7e308, -1.7e308],
                                 [1e308, 1e308, -1e308, 0.0]])
@pytest.mark.parametrize("weighted", [False, True])
def test_label_smoothing_of_huge_logits_against_mpmath(cpu_level, row, weighted):
    """The smoothing term sums C differences that may each exceed the largest double or
    add up beyond it while the loss itself is finite."""
    eps, C = 0.1, len(row)
    w = np.linspace(0.5, 1.5, C) if weighted else np.ones(C)
    with mpmath.workdps(60):
        v = [mpmath.mpf(t) for t in row]
        lse = max(v) + mpmath.log(mpmath.fsum(mpmath.exp(t - max(v)) for t in v))
        exact = float((1 - eps) * w[0] * (lse - v[0])
                      + eps / C * mpmath.fsum(wc * (lse - t) for wc, t in zip(w, v)))
    x = np.array([row] * 2)
    r = xentc.cross_entropy(x, [0, 0], weight=w if weighted else None, reduction="none",
                            label_smoothing=eps)
    assert np.isfinite(exact)
    assert ulp_error(r, exact, np.float64).max() <= 4.0


@pytest.fixture(scope="module")
def large_batch():
    rng = np.random.default_rng(7)
    x = (3 * rng.normal(size=(1_000_000, 3))).astype(np.float32)
    y = rng.integers(0, 3, 1_000_000)
    return x, y, float(np.mean(ce_rows_exact(x, y)))


def test_float32_mean_of_a_million_rows(cpu_level, large_batch):
    x, y, exact = large_batch
    r = xentc.cross_entropy(x, y)
    assert r.dtype == np.float32
    assert abs(float(r) - exact) <= 1e-7 * exact
    r64 = xentc.cross_entropy(x.astype(np.float64), y)
    assert abs(float(r64) - exact) <= 1e-12 * exact


@pytest.mark.parametrize("n_cols", [2, 3, 10, 60])
def test_spread_beyond_the_double_range(cpu_level, n_cols):
    """Finite logits whose difference overflows: the target at the max costs 0, the other
    one inf, and the gradient is the exact softmax - onehot (no NaN)."""
    x = np.zeros((2, n_cols))
    x[0, :2] = [1e308, -1e308]
    x[1, :2] = [-1e308, 1e308]
    loss, grad = xentc.cross_entropy_and_grad(x, np.array([0, 0]), reduction="none")
    assert_array_equal(loss, [0.0, inf])
    expected = np.zeros((2, n_cols))
    expected[1, :2] = [-1.0, 1.0]
    assert_array_equal(grad, expected)
    assert_array_equal(xentc.cross_entropy(x, np.array([1, 1]), reduction="none"), [inf, 0.0])


def test_nll_loss_sum_of_infinities_and_overflow():
    # math.fsum raises on inf + -inf and on an overflowing sum: the loss is nan / inf instead
    y = np.array([0, 0])
    assert np.isnan(xentc.nll_loss(np.array([[inf, -1.0], [-inf, -2.0]]), y, weight=[1.0, 2.0]))
    assert xentc.nll_loss(np.array([[-1e308, -1.0]] * 2), y, reduction="sum") == inf
