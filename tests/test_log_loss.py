"""xentc.log_loss and xentc.d2_log_loss_score: scikit-learn 1.9.1's semantics (SPEC §3;
docs/semantics.md §6.1-6.3, checklist items 60-75), our deviations from it, layouts, threads
and memory.

Every semantic test runs against xentc and against xentc.reference (the ``impl`` fixture;
for the reference, which computes values only, just the returned values are checked); the
values are the ones semantics.md records from scikit-learn 1.9.1.  Where xentc departs
from scikit-learn (float32/float16 are clipped in their own dtype but summed in float64: SPEC
§3), the test says "xentc deviation" and asserts both our value and that scikit-learn's is
within the agreed tolerance.  Side-by-side comparisons with scikit-learn itself are in
test_log_loss_sklearn.py; this file does not need scikit-learn.
"""

import math
import subprocess
import sys
import tracemalloc
import warnings

import numpy as np
import pytest
from numpy.testing import assert_allclose

import xentc
import xentc.reference as reference

from helpers import N_THREADS, Outcome, assert_unchanged, layouts, outcome, snapshot

F16, F32, F64 = np.float16, np.float32, np.float64
# result tolerances against scikit-learn's own float computation (SPEC §3)
SKLEARN_RTOL = {F64: 1e-12, F32: 1e-6, F16: 2e-3}
# against the float64 computation on float32 / float16 values: xentc takes their logs to
# float accuracy (relative error < 2^-32), far below the values' own rounding
F32_RTOL = 1e-9

ROWSUM = "The y_prob values do not sum to one. Make sure to pass probabilities."
YPRED = ("`y_pred` was renamed to `y_proba` in version 1.9 and will be removed in 1.11. "
         "Use `y_proba` instead.")
BOTH = ("Cannot use both `y_pred` and `y_proba`. `y_pred` is deprecated, use `y_proba` "
        "instead.")
D2_ONE = "D^2 score is not well-defined with less than two samples."
NAN = "Input contains NaN."


def unsorted_labels(passed, ordered):
    return (f"Labels passed were {passed}. But this function assumes labels are ordered "
            f"lexicographically. Pass the ordered labels={ordered} and ensure that the "
            "columns of y_prob correspond to this ordering.")


@pytest.fixture(params=[pytest.param(xentc, id="xentc"),
                        pytest.param(reference, id="reference")])
def impl(request):
    return request.param


# --- expected values computed here (our definition, SPEC §3) --------------------------------

def clipped_f64(p):
    """y_proba as xentc reads it: 1-D and (N, 1) binary probabilities expanded to [1-p, p]
    (1 - p in float64), clipped to [eps, 1 - eps] of y_proba's own float dtype (eps rounded
    to that dtype; int/bool/... count as float64), as float64."""
    p = np.asarray(p)
    dtype = p.dtype.type if p.dtype.type in (F16, F32, F64) else F64
    p = p.astype(F64)
    if p.ndim == 1:
        p = p[:, None]
    if p.shape[1] == 1:
        p = np.hstack([1.0 - p, p])
    eps = np.finfo(dtype).eps
    return np.clip(p, float(eps), float(dtype(1) - eps))


def onehot(idx, n_classes):
    t = np.zeros((len(idx), n_classes))
    t[np.arange(len(idx)), idx] = 1.0
    return t


def expected_log_loss(t, p, sample_weight=None, normalize=True):
    """-Σ_c t_ic log p_ic per row (t one-hot or indicator), averaged or summed, in float64."""
    loss = -(np.asarray(t, dtype=F64) * np.log(clipped_f64(p))).sum(axis=1)
    if normalize:
        return float(np.average(loss, weights=sample_weight))
    return float(loss.sum() if sample_weight is None else loss @ np.asarray(sample_weight))


def expected_d2(t, p, sample_weight=None):
    t = np.asarray(t, dtype=F64)
    null = np.tile(np.average(t, axis=0, weights=sample_weight), (len(t), 1))
    return 1.0 - (expected_log_loss(t, p, sample_weight, normalize=False)
                  / expected_log_loss(t, null, sample_weight, normalize=False))


def random_proba(rng, n, c, dtype=F64):
    a = rng.exponential(size=(n, c)) ** 2
    return (a / a.sum(axis=1, keepdims=True)).astype(dtype)


# --- checking one call -----------------------------------------------------------------------

def assert_warned(out, expected):
    """out's warnings are exactly ``expected``: (category, message) pairs, in order; a category
    given as a string is compared by name and must be a UserWarning subclass."""
    assert len(out.warnings) == len(expected), out.describe()
    for (cat, msg), (ecat, emsg) in zip(out.warnings, expected, strict=True):
        if isinstance(ecat, str):
            assert cat.__name__ == ecat and issubclass(cat, UserWarning), out.describe()
        else:
            assert issubclass(cat, ecat), out.describe()
        assert msg == emsg, out.describe()


def returns(out, value, rtol=1e-12, warns=()):
    """The call returned a Python float within rtol of value (NaN: NaN) with these warnings."""
    if out.error is not None:
        raise AssertionError(out.describe()) from out.error
    assert type(out.value) is float, out.describe()
    if isinstance(value, float) and math.isnan(value):
        assert math.isnan(out.value), out.describe()
    else:
        assert_allclose(out.value, value, rtol=rtol, atol=0)
    assert_warned(out, warns)
    return out.value


def raises(out, cls, message, warns=()):
    assert out.error is not None, out.describe()
    assert isinstance(out.error, cls), out.describe()
    assert str(out.error) == message, out.describe()
    assert_warned(out, warns)


def check(impl, *args, value=None, error=None, warns=(), rtol=1e-12, func="log_loss", **kw):
    """Run impl.<func>(*args, **kw) and check it returned ``value`` or raised ``error`` =
    (class, message), with exactly ``warns``.  xentc.reference computes values only (no
    validation, warnings or errors): for it only returned values are checked."""
    if impl is reference:
        if error is not None or "y_pred" in kw:
            return None
        out = outcome(getattr(impl, func), *args, **kw)
        return returns(Outcome(out.value, out.error, []), value, rtol)
    out = outcome(getattr(impl, func), *args, **kw)
    if error is not None:
        raises(out, error[0], error[1], warns)
        return None
    return returns(out, value, rtol, warns)


# --- checklist items 60-75 (semantics.md §9, values from scikit-learn 1.9.1) ----------------

Y3, P3 = [0, 1, 1], [0.1, 0.8, 0.6]


def test_item60_string_labels(impl):
    r = impl.log_loss(["spam", "ham", "ham", "spam"],
                      [[.1, .9], [.9, .1], [.8, .2], [.35, .65]])
    assert type(r) is float
    assert_allclose(r, 0.21616187468057912, rtol=1e-12)


def test_item61_binary_forms_and_normalize(impl):
    for p in (P3, np.array(P3)[:, None], np.column_stack([1 - np.array(P3), P3])):
        check(impl, Y3, p, value=0.2797765635793423)
        check(impl, Y3, p, normalize=False, value=0.8393296907380268)


def test_item62_sample_weight(impl):
    check(impl, Y3, P3, sample_weight=[1, 2, 3], value=0.34735408159736963)
    check(impl, Y3, P3, sample_weight=[1, 2, 3], normalize=False, value=2.0841244895842177)
    check(impl, Y3, P3, sample_weight=[1, -2, 3], value=0.5957751421636895)


def test_item63_zero_weights(impl):
    check(impl, Y3, P3, sample_weight=[0, 0, 0],
          error=(ValueError, "Sample weights must contain at least one non-zero number."))
    check(impl, Y3, P3, sample_weight=[1, -1, 0],
          error=(ZeroDivisionError, "Weights sum to zero, can't be normalized"))
    # normalize=False does not divide: Σ w·loss
    check(impl, Y3, P3, sample_weight=[1, -1, 0], normalize=False,
          value=-math.log(0.9) + math.log(0.8))


def test_item64_clipping_float64(impl):
    check(impl, [1, 0], [0.0, 0.0], value=18.021826694558577)
    # a perfect prediction is clipped to 1 - eps: never exactly 0
    check(impl, [1, 0], [1.0, 0.0], value=2.220446049250313e-16)
    check(impl, [1, 0], np.array([1.0, 0.0]), normalize=False,
          value=2 * 2.220446049250313e-16)


def test_item64_clipping_float32(impl):
    # xentc deviation (SPEC §3, decision 1): clipped to [eps, 1 - eps] of float32, as
    # scikit-learn does, but the logs and the mean are taken in float64:
    # (-log(eps32) - log(float32(1 - eps32))) / 2.  scikit-learn 1.9.1 computes in float32
    # and returns 7.971192359924316 (semantics.md item 64); ≤1.8 returned our value.
    eps = F32(np.finfo(F32).eps)
    # (float32 logs are of float accuracy, relative error < 2^-32: F32_RTOL)
    ours = (-math.log(eps) - math.log(F32(1) - eps)) / 2
    assert_allclose(ours, 7.9711926360440195, rtol=1e-15)
    r = check(impl, [1, 0], np.array([0.0, 0.0], dtype=F32), value=ours, rtol=F32_RTOL)
    assert abs(7.971192359924316 - r) <= 1e-6 * r
    # perfect float32 prediction: -log(float32(1 - eps32)) in float64
    ours = -math.log(F32(1) - eps)
    r = check(impl, [1, 0], np.array([1.0, 0.0], dtype=F32), value=ours, rtol=F32_RTOL)
    assert abs(1.1920930376163597e-07 - r) <= 1e-6 * r


def test_item64_clipping_float16(impl):
    # xentc deviation (SPEC §3, decision 1): float16's eps = 2**-10, and 1 - eps16 =
    # 0.9990234375, logs in float64.  scikit-learn 1.9.1 computes in float16: 3.46484375.
    eps = F16(np.finfo(F16).eps)
    ours = (-math.log(eps) - math.log(F16(1) - eps)) / 2
    r = check(impl, [1, 0], np.array([0.0, 0.0], dtype=F16), value=ours)
    assert abs(3.46484375 - r) <= 2e-3 * r


def test_item64_int_and_bool_proba(impl):
    # int and bool probabilities are read as float64
    for p in ([[1, 0], [0, 1]], np.array([[True, False], [False, True]])):
        check(impl, [0, 1], p, value=2.220446049250313e-16)
    check(impl, [0, 1], [[1, 0], [1, 0]], value=18.021826694558577)


def test_item65_range_errors(impl):
    check(impl, Y3, [0.1, 1.5, 0.6],
          error=(ValueError, "y_prob contains values greater than 1: 1.5"))
    check(impl, Y3, [0.1, -0.1, 0.6],
          error=(ValueError, "y_prob contains values lower than 0: -0.1"))
    # the maximum is checked first
    check(impl, [0, 1], [[-0.1, 1.1], [0.5, 0.5]],
          error=(ValueError, "y_prob contains values greater than 1: 1.1"))
    check(impl, Y3, [0.1, np.nan, 0.6], error=(ValueError, NAN))
    check(impl, Y3, [0.1, np.inf, 0.6], error=(
        ValueError, "Input contains infinity or a value too large for dtype('float64')."))
    check(impl, Y3, [0.1, -np.inf, 0.6], error=(
        ValueError, "Input contains infinity or a value too large for dtype('float64')."))


def test_item66_row_sum_warning_float64(impl):
    # tolerance 1e-8 + sqrt(eps) = 2.49e-8; rows are not renormalised
    for delta, warns in ((2.45e-8, ()), (-2.45e-8, ()),
                         (2.50e-8, ((UserWarning, ROWSUM),)),
                         (-2.55e-8, ((UserWarning, ROWSUM),))):
        p = np.array([[0.5, 0.5 + delta], [0.3, 0.7]])
        check(impl, [0, 1], p, warns=warns,
              value=expected_log_loss(onehot([0, 1], 2), p))
    check(impl, [0, 1], [[.5, .4], [.4, .5]], value=0.6931471805599453,
          warns=((UserWarning, ROWSUM),))


@pytest.mark.parametrize("dtype, silent, loud", [(F32, 3.3e-4, 3.6e-4), (F16, 0.025, 0.04)])
def test_item66_row_sum_tolerance_of_the_dtype(impl, dtype, silent, loud):
    # 1e-8 + sqrt(eps) of y_proba's dtype: 3.45e-4 for float32, 0.03125 for float16
    for delta, warns in ((silent, ()), (-silent, ()), (loud, ((UserWarning, ROWSUM),)),
                         (-loud, ((UserWarning, ROWSUM),))):
        p = np.array([[0.5, 0.5 + delta], [0.3, 0.7]], dtype=dtype)
        check(impl, [0, 1], p, warns=warns, rtol=SKLEARN_RTOL[dtype],
              value=expected_log_loss(onehot([0, 1], 2), p))


def test_item67_one_label(impl):
    check(impl, [1, 1], [[.2, .8], [.1, .9]], error=(ValueError, (
        "y_true contains only one label (1). Please provide the list of all expected class "
        "labels explicitly through the labels argument.")))
    check(impl, [1, 1], [[.2, .8], [.1, .9]], labels=[0, 1], value=0.164252033486018)
    check(impl, [1, 1], [[.2, .8], [.1, .9]], labels=[1], error=(
        ValueError, "The labels array needs to contain at least two labels, got [1]."))
    check(impl, ["x", "x"], [.2, .1], error=(ValueError, (
        "y_true contains only one label (x). Please provide the list of all expected class "
        "labels explicitly through the labels argument.")))


def test_item68_class_count_mismatch(impl):
    check(impl, [0, 1, 2], [[.4, .6], [.5, .5], [.5, .5]], error=(ValueError, (
        "y_true and y_prob contain different number of classes: 3 vs 2. Please provide the "
        "true labels explicitly through the labels argument. Classes found in y_true: "
        "[0 1 2]")))
    check(impl, [0, 1, 1], [[.4, .6], [.5, .5], [.5, .5]], labels=[0, 1, 2], error=(
        ValueError, "The number of classes in labels is different from that in y_prob. "
                    "Classes found in labels: [0 1 2]"))


def test_item69_label_ordering(impl):
    # columns are the sorted classes: a, b, c
    check(impl, ["b", "a", "c"], [[.1, .8, .1], [.7, .2, .1], [.1, .1, .8]],
          value=0.26765401552238394)
    # unsorted labels warn and are still read in sorted order: the true classes 0 and 2
    # get 0.4 from columns 0 and 2 (in the order [2, 0, 1] they would get 0.5 and 0.2)
    p = [[.4, .5, .1], [.2, .4, .4]]
    check(impl, [0, 2], p, labels=[2, 0, 1], value=0.916290731874155,
          warns=((UserWarning, unsorted_labels("[2, 0, 1]", "[0, 1, 2]")),))
    check(impl, [0, 2], p, labels=[0, 1, 2], value=0.916290731874155)


def test_item70_value_missing_from_labels(impl):
    check(impl, [0, 1, 3], [[.2, .3, .5]] * 3, labels=[0, 1, 2], error=(
        ValueError, "y_true contains values {3} not belonging to the passed labels [0, 1, 2]."))


def test_item71_multilabel_indicator(impl):
    check(impl, [[1, 1, 0], [0, 1, 1]], [[.4, .4, .2], [.1, .5, .4]],
          value=1.7210096880912051)
    # an all-zero indicator row contributes 0 (but counts in the mean)
    check(impl, [[0, 0], [0, 1]], [[.9, .1], [.2, .8]], value=0.11157177565710485)
    check(impl, [[0, 0], [0, 0]], [[.9, .1], [.2, .8]], value=0.0)


def test_item72_y_pred_and_eps(impl):
    check(impl, Y3, y_pred=P3, value=0.2797765635793423, warns=((FutureWarning, YPRED),))
    check(impl, Y3, y_proba=P3, value=0.2797765635793423)
    check(impl, Y3, P3, y_pred=P3, error=(ValueError, BOTH))
    check(impl, Y3, y_proba=P3, y_pred=P3, error=(ValueError, BOTH))
    out = outcome(impl.log_loss, Y3, P3, eps=1e-15)
    assert isinstance(out.error, TypeError) and "eps" in str(out.error), out.describe()


def test_item73_empty_and_length_mismatch(impl):
    check(impl, [], [], error=(ValueError, (
        "Found array with 0 sample(s) (shape=(0,)) while a minimum of 1 is required.")))
    check(impl, [0, 1, 1], [0.2, 0.7], error=(
        ValueError, "Found input variables with inconsistent numbers of samples: [2, 3]"))


def test_item74_pandas(impl):
    pd = pytest.importorskip("pandas")
    p = pd.DataFrame({"a": [.2, .7, .1], "b": [.8, .3, .9]})
    check(impl, pd.Series(["b", "a", "b"]), p, value=0.22839300363692283)
    # column names are ignored: the columns are positional
    check(impl, pd.Series(["b", "a", "b"]), p[["b", "a"]].set_axis(["a", "b"], axis=1),
          value=expected_log_loss(onehot([1, 0, 1], 2), [[.8, .2], [.3, .7], [.9, .1]]))
    check(impl, pd.Series([1, 0, 1], dtype="Int64"), p.astype("Float64"),
          value=0.22839300363692283)


def test_item75_d2_log_loss_score(impl):
    check(impl, [0, 1, 1, 0], [.1, .8, .6, .3], func="d2_log_loss_score",
          value=0.5686325111679058)
    check(impl, [0, 1, 1, 0], [.1, .8, .6, .3], sample_weight=[1, 2, 1, 1],
          func="d2_log_loss_score", value=0.5782693657310847)
    # the null model (the class frequencies) scores 0
    check(impl, [0, 1, 1, 1], [.75] * 4, func="d2_log_loss_score", value=0.0)
    check(impl, [0], [.3], func="d2_log_loss_score", value=math.nan,
          warns=(("UndefinedMetricWarning", D2_ONE),))


# --- d2_log_loss_score beyond item 75 ------------------------------------------------------

def test_d2_multiclass(impl):
    y = [0, 1, 2, 2]
    p = [[.6, .2, .2], [.1, .7, .2], [.1, .1, .8], [.2, .2, .6]]
    # scikit-learn 1.9.1 gives 0.6149279239917445 for these probabilities (semantics.md
    # §6.2's 0.6187146034084251 is for probabilities it does not list)
    check(impl, y, p, func="d2_log_loss_score", value=0.6149279239917445)
    check(impl, y, p, func="d2_log_loss_score", value=expected_d2(onehot(y, 3), p))


def test_d2_one_sample_returns_nan_before_validating(impl):
    # n_samples < 2 returns nan before y_proba is checked (as scikit-learn)
    for p in ([.3], [[.3, .1]], [[np.nan, .1]]):
        check(impl, [0], p, func="d2_log_loss_score", value=math.nan,
              warns=(("UndefinedMetricWarning", D2_ONE),))


def test_d2_undefined_metric_warning_is_a_user_warning():
    with pytest.warns(UserWarning, match=r"D\^2 score is not well-defined"):
        r = xentc.d2_log_loss_score([1], [[.2, .8]])
    assert type(r) is float and math.isnan(r)


def test_d2_one_class_with_labels(impl):
    # the null model's loss is Σ -log(1 - eps): a huge negative score
    check(impl, [1, 1], [.8, .9], labels=[0, 1], func="d2_log_loss_score",
          value=-739725396802475.9)
    check(impl, [1, 1], [.8, .9], func="d2_log_loss_score", error=(ValueError, (
        "y_true contains only one label (1). Please provide the list of all expected class "
        "labels explicitly through the labels argument.")))


def test_d2_errors_and_y_pred(impl):
    d2 = "d2_log_loss_score"
    check(impl, [0, 1], [.8, .9], func=d2, sample_weight=[0, 0],
          error=(ValueError, "Sample weights must contain at least one non-zero number."))
    check(impl, [0, 1], [.8, .9], func=d2, sample_weight=[1, -1],
          error=(ZeroDivisionError, "Weights sum to zero, can't be normalized"))
    check(impl, [0, 1, 1], [.8, .9], func=d2, error=(
        ValueError, "Found input variables with inconsistent numbers of samples: [2, 3]"))
    check(impl, [0, 1], y_pred=[.8, .9], func=d2, value=-0.23696559416620633,
          warns=((FutureWarning, YPRED),))
    check(impl, [0, 1], [.8, .9], y_pred=[.8, .9], func=d2, error=(ValueError, BOTH))
    out = outcome(impl.d2_log_loss_score, [0, 1], [.8, .9], normalize=True)
    assert isinstance(out.error, TypeError), out.describe()


@pytest.mark.parametrize("seed", range(4))
def test_d2_random(impl, seed):
    rng = np.random.default_rng(seed)
    n, c = 40, 5
    y = rng.integers(0, c, n)
    y[:c] = np.arange(c)
    p = random_proba(rng, n, c)
    w = rng.uniform(0.1, 2.0, n)
    check(impl, y, p, func="d2_log_loss_score", value=expected_d2(onehot(y, c), p))
    check(impl, y, p, sample_weight=w, func="d2_log_loss_score",
          value=expected_d2(onehot(y, c), p, w))


# --- parameter validation (scikit-learn's validate_params) ----------------------------------

def test_invalid_parameter_error_class():
    assert issubclass(xentc.InvalidParameterError, ValueError)
    assert issubclass(xentc.InvalidParameterError, TypeError)


@pytest.mark.parametrize("func", ["log_loss", "d2_log_loss_score"])
@pytest.mark.parametrize("args, kw, message", [
    (([0, 1], 0.5), {}, "The 'y_proba' parameter of {} must be an array-like. Got 0.5 instead."),
    (([0, 1], "ab"), {},
     "The 'y_proba' parameter of {} must be an array-like. Got 'ab' instead."),
    ((0, [0.5]), {}, "The 'y_true' parameter of {} must be an array-like. Got 0 instead."),
    (([0, 1], [.5, .5]), {"sample_weight": 2.0},
     "The 'sample_weight' parameter of {} must be an array-like or None. Got 2.0 instead."),
    (([0, 1], [.5, .5]), {"labels": 1},
     "The 'labels' parameter of {} must be an array-like or None. Got 1 instead."),
    (([0, 1],), {"y_pred": None},
     "The 'y_pred' parameter of {} must be an array-like or an instance of 'str'. "
     "Got None instead."),
])
def test_invalid_parameters(impl, func, args, kw, message):
    check(impl, *args, func=func, **kw,
          error=(xentc.InvalidParameterError, message.format(func)))


@pytest.mark.parametrize("normalize, shown", [(1, "1"), (None, "None"), ("yes", "'yes'")])
def test_normalize_must_be_bool(impl, normalize, shown):
    check(impl, [0, 1], [.5, .5], normalize=normalize, error=(
        xentc.InvalidParameterError,
        "The 'normalize' parameter of log_loss must be an instance of 'bool' or an instance "
        f"of 'numpy.bool'. Got {shown} instead."))
    check(impl, [0, 1], [.2, .5], normalize=np.False_, value=-math.log(.8) - math.log(.5))


@pytest.mark.parametrize("func", ["log_loss", "d2_log_loss_score"])
def test_keyword_only_and_no_eps(func):
    f = getattr(xentc, func)
    out = outcome(f, [0, 1], [.5, .5], None)
    assert isinstance(out.error, TypeError), out.describe()
    assert str(out.error) == "too many positional arguments", out.describe()
    out = outcome(f, [0, 1], [.5, .5], eps="auto")
    assert isinstance(out.error, TypeError), out.describe()
    assert str(out.error) == "got an unexpected keyword argument 'eps'", out.describe()


def test_neither_y_proba_nor_y_pred(impl):
    # scikit-learn's misleading message (semantics.md §6.1)
    check(impl, [0, 1], error=(ValueError, NAN))
    check(impl, [0, 1], func="d2_log_loss_score", error=(
        TypeError, "Expected sequence or array-like, got <class 'NoneType'>"))


def test_y_pred_is_deprecated_keyword_only(impl):
    # y_pred="deprecated" (the default) passed explicitly is "not given"
    check(impl, Y3, P3, y_pred="deprecated", value=0.2797765635793423)
    check(impl, Y3, P3, y_pred="something", error=(ValueError, BOTH))


# --- label kinds -----------------------------------------------------------------------------

@pytest.mark.parametrize("y", [
    [0, 1, 1], [-1, 1, 1], [-7, -2, -2], [2, 5, 5], [False, True, True], [0.0, 1.0, 1.0],
    [3.0, 7.0, 7.0], ["no", "yes", "yes"], ["0", "a", "a"],
    np.array(["no", "yes", "yes"]), np.array(["no", "yes", "yes"], dtype=object),
    np.array([[0], [1], [1]]), np.array([False, True, True]),
    *[np.array([3, 9, 9], dtype=dt) for dt in
      (np.int8, np.int16, np.int32, np.int64, np.uint8, np.uint16, np.uint32, np.uint64)],
    np.array([-128, 127, 127], dtype=np.int8), np.array([0, 2**64 - 1, 2**64 - 1], np.uint64),
], ids=repr)
def test_binary_label_kinds(impl, y):
    # the larger (sorted) class is the positive one of a 1-D y_proba
    check(impl, y, P3, value=0.2797765635793423)
    check(impl, y, np.column_stack([1 - np.array(P3), P3]), value=0.2797765635793423)


def test_classes_are_sorted_numerically_or_lexicographically(impl):
    p = np.array([[.1, .2, .7], [.5, .3, .2], [.3, .6, .1], [.2, .2, .6]])
    # numbers: 9 < 10 < 100; strings: "10" < "100" < "9"
    for y, order in (([10, 9, 100, 9], [1, 0, 2, 0]), (["10", "9", "100", "9"], [0, 2, 1, 2]),
                     (np.array([10, 9, 100, 9], dtype=np.int16), [1, 0, 2, 0]),
                     (np.array(["10", "9", "100", "9"], dtype=object), [0, 2, 1, 2]),
                     ([-10, -9, 100, -9], [0, 1, 2, 1])):
        check(impl, y, p, value=expected_log_loss(onehot(order, 3), p))


def test_labels_absent_from_y_true(impl):
    p = random_proba(np.random.default_rng(1), 5, 4)
    y = ["b", "d", "b", "b", "d"]
    labels = ["a", "b", "c", "d"]
    check(impl, y, p, labels=labels, value=expected_log_loss(onehot([1, 3, 1, 1, 3], 4), p))
    check(impl, y, p, labels=np.array(labels), value=expected_log_loss(
        onehot([1, 3, 1, 1, 3], 4), p))
    # a label set whose sorted order differs from the order given: the sorted order counts
    shuffled = ["d", "a", "c", "b"]
    check(impl, y, p, labels=shuffled, value=expected_log_loss(onehot([1, 3, 1, 1, 3], 4), p),
          warns=((UserWarning, unsorted_labels(
              "['d', 'a', 'c', 'b']", "['a', 'b', 'c', 'd']")),))
    check(impl, y, p, labels=np.array(shuffled),
          value=expected_log_loss(onehot([1, 3, 1, 1, 3], 4), p),
          warns=((UserWarning, unsorted_labels(
              "['d' 'a' 'c' 'b']", "['a', 'b', 'c', 'd']")),))


def test_labels_errors_and_messages(impl):
    p3 = [[.2, .3, .5]] * 3
    # the message shows the labels as passed and the set of missing values (np.int64 reprs
    # when y_true is an array)
    check(impl, np.array([0, 1, 3]), p3, labels=np.array([0, 1, 2]), error=(
        ValueError, "y_true contains values {np.int64(3)} not belonging to the passed labels "
                    "[0 1 2]."))
    # (one missing string: the order of several follows Python's per-process string hash)
    check(impl, ["0", "0"], [.5, .5], labels=[0, 1], error=(
        ValueError, "y_true contains values {'0'} not belonging to the passed labels [0, 1]."))
    # the unsorted-labels warning comes first
    check(impl, ["b", "a", "c"], p3, labels=["b", "a"], error=(
        ValueError, "y_true contains values {'c'} not belonging to the passed labels "
                    "['b', 'a']."),
          warns=((UserWarning, unsorted_labels("['b', 'a']", "['a', 'b']")),))
    check(impl, [0, 1], [.5, .5], labels=[], error=(ValueError, "y has 0 samples: []"))
    check(impl, [0, 1], [.5, .5], labels=(0, 1), value=math.log(2))
    check(impl, [0, 1], [.5, .5], labels=(1, 0), value=math.log(2),
          warns=((UserWarning, unsorted_labels("(1, 0)", "[0, 1]")),))


def test_one_label_with_three_columns(impl):
    p = [[.2, .3, .5], [.1, .1, .8]]
    check(impl, [2, 2], p, labels=[0, 1, 2], value=expected_log_loss(onehot([2, 2], 3), p))


def test_multilabel_indicator_forms(impl):
    # a binary indicator with a 1-D y_proba: columns [1 - p, p]
    check(impl, [[1, 0], [0, 1]], [.9, .2], value=1.9560115027140732)
    # bool indicators
    check(impl, np.array([[True, False], [False, True]]), [[.9, .1], [.2, .8]],
          value=0.164252033486018)
    check(impl, [[1, 1, 0], [0, 1, 1]], [[.4, .4, .2], [.1, .5, .4]], labels=[0, 1, 2],
          error=(ValueError, "The object was not fitted with multilabel input."))
    check(impl, [[1, 0, 0], [0, 1, 0]], [[.9, .1], [.2, .8]], error=(ValueError, (
        "y_true and y_prob contain different number of classes: 3 vs 2. Please provide the "
        "true labels explicitly through the labels argument. Classes found in y_true: "
        "[0 1 2]")))


@pytest.mark.parametrize("y, message", [
    ([[.5, .5], [0, 1], [0, 1]], "Multioutput target data is not supported with label "
                                  "binarization"),
    ([[2, 0], [0, 1], [0, 1]], "Multioutput target data is not supported with label "
                                "binarization"),
    ([0.5, 1.0, 1.0], "Unknown label type: ([0.5, 1.0, 1.0],)"),
    ([1, 2, 2.5], "Unknown label type: ([1, 2, 2.5],)"),
    ([0, "a", "a"], "Mix of label input types (string and number); Got ['0' 'a']."),
])
def test_bad_y_true(impl, y, message):
    check(impl, y, [[.2, .8]] * 3, error=(ValueError, message))


def test_nan_in_y_true():
    # scikit-learn also emits NumPy's RuntimeWarning "invalid value encountered in cast"
    # on the way; a RuntimeWarning is allowed, not required
    for y in ([0, np.nan, 1], [0.0, 1.0, np.nan]):
        out = outcome(xentc.log_loss, y, [.2, .8, .5])
        out.warnings = [w for w in out.warnings if not issubclass(w[0], RuntimeWarning)]
        raises(out, ValueError, "Input y contains NaN.")


def test_pandas_label_kinds(impl):
    pd = pytest.importorskip("pandas")
    p = pd.DataFrame({"a": [.2, .7, .1], "b": [.8, .3, .9]})
    for y in (pd.Series(["b", "a", "b"], dtype=object), pd.Series(["b", "a", "b"]),
              pd.Series(["b", "a", "b"], dtype="string"),
              pd.Series(["b", "a", "b"], dtype="category"),
              pd.Series(pd.Categorical(["b", "a", "b"], categories=["b", "a", "z"])),
              pd.Series([1, 0, 1], dtype="Int64"), pd.Series([1, 0, 1], dtype="boolean"),
              pd.Series([1.0, 0.0, 1.0], dtype="Float64"), pd.Series([True, False, True]),
              pd.DataFrame({"y": ["b", "a", "b"]})):
        check(impl, y, p, value=0.22839300363692283)
        check(impl, y, p.astype("Float64"), value=0.22839300363692283)
        check(impl, y, p.astype(F32), rtol=SKLEARN_RTOL[F32],
              value=expected_log_loss(onehot([1, 0, 1], 2), p.to_numpy(F32)))
    # sample_weight and labels as Series; indexes are ignored
    y = pd.Series(["b", "a", "b"], index=[5, 6, 7])
    w = pd.Series([1.0, 2.0, 3.0], index=[1, 2, 3])
    check(impl, y, p, sample_weight=w, value=0.20876249769419222)
    check(impl, y, p, labels=pd.Series(["a", "b"]), value=0.22839300363692283)
    check(impl, pd.Series([1, 0, 1], dtype="Int64"), pd.Series([.8, .3, .9], dtype="Float64"),
          value=0.22839300363692283)
    check(impl, pd.Series([0.0, 1.0, 1.0]), pd.Series([.1, .8, .6], dtype="Float64"),
          value=0.2797765635793423)
    check(impl, [0, 1, 1], pd.Series([.1, .8, None], dtype="Float64"), error=(ValueError, NAN))


# --- y_proba forms, dtypes and layouts ------------------------------------------------------

def test_proba_dtypes_converted_to_float64(impl):
    for p in (np.array(P3, dtype=object), ["0.1", "0.8", "0.6"], np.array(["0.1", "0.8", "0.6"]),
              np.array(P3, dtype=np.longdouble), [np.float64(0.1), 0.8, 0.6]):
        check(impl, Y3, p, value=0.2797765635793423)
    check(impl, Y3, [True, False, True], value=24.029102259411435)
    check(impl, Y3, np.array([1, 0, 1], dtype=np.uint8), value=24.029102259411435)
    check(impl, Y3, [0, 1, 1], value=2.220446049250313e-16)
    check(impl, Y3, ["a", "b", "c"], error=(ValueError, "could not convert string to float: 'a'"))


@pytest.mark.parametrize("dtype", [F16, F32, F64])
@pytest.mark.parametrize("form", ["1d", "column", "2d"])
def test_binary_forms_dtypes(impl, dtype, form):
    rng = np.random.default_rng(3)
    n = 200
    y = rng.integers(0, 2, n)
    pos = rng.random(n)
    pos[:4] = [0.0, 1.0, 1e-9, 1 - 1e-9]                 # clipped at both ends
    p = {"1d": pos, "column": pos[:, None], "2d": np.column_stack([1 - pos, pos])}[form]
    p = p.astype(dtype)
    w = rng.uniform(0, 2, n)
    # xentc deviation (SPEC §3, decisions 1-2) for float16/float32: clipped in the dtype,
    # 1 - p and the sums in float64, the logs to float accuracy, so our value is the float64
    # one within 1e-12 (float64) or F32_RTOL
    exp = expected_log_loss(onehot(y, 2), p, w)
    check(impl, y, p, sample_weight=w, value=exp, rtol=1e-12 if dtype == F64 else F32_RTOL)


@pytest.mark.parametrize("dtype", [F16, F32, F64])
def test_multiclass_dtypes(impl, dtype):
    rng = np.random.default_rng(4)
    n, c = 300, 7
    y = rng.integers(0, c, n)
    y[:c] = np.arange(c)
    p = random_proba(rng, n, c, dtype)
    p[0] = 0
    p[0, 3] = 1                                                  # exact 0 and 1 clipped
    # xentc deviation for float16/float32 (SPEC §3 decision 1): sums in float64, logs to
    # float accuracy
    rtol = 1e-12 if dtype == F64 else F32_RTOL
    check(impl, y, p, value=expected_log_loss(onehot(y, c), p), rtol=rtol)
    check(impl, y, p, normalize=False, value=expected_log_loss(onehot(y, c), p,
                                                               normalize=False), rtol=rtol)


def test_low_precision_results_are_close_to_float64(impl):
    # our float32/float16 results are the float64 results on the rounded probabilities:
    # within scikit-learn's tolerances of the float64 value of the unrounded ones
    rng = np.random.default_rng(5)
    y = rng.integers(0, 5, 1000)
    p = rng.uniform(0.1, 1.0, (1000, 5))            # none clipped, even in float16
    p /= p.sum(axis=1, keepdims=True)
    r64 = impl.log_loss(y, p)
    for dtype in (F32, F16):
        r = impl.log_loss(y, p.astype(dtype))
        assert type(r) is float
        assert abs(r - r64) <= SKLEARN_RTOL[dtype] * r64


def strided_layouts(base):
    yield from layouts(base)
    big = np.zeros((2 * base.shape[0], base.shape[1]), dtype=base.dtype)
    big[::2] = base
    yield "every_other_row", big[::2]
    wide = np.zeros((base.shape[0], base.shape[1] + 3), dtype=base.dtype)
    wide[:, 1:-2] = base
    yield "column_slice", wide[:, 1:-2]
    yield "negative_strides", np.ascontiguousarray(base[::-1, ::-1])[::-1, ::-1]
    yield "F_read_only", np.asfortranarray(base).copy(order="F")


@pytest.mark.parametrize("dtype", [F32, F64])
def test_layouts(impl, dtype):
    rng = np.random.default_rng(6)
    n, c = 60, 4
    y = rng.integers(0, c, n)
    y[:c] = np.arange(c)
    base = random_proba(rng, n, c, dtype)
    exp = expected_log_loss(onehot(y, c), base)
    rtol = SKLEARN_RTOL[dtype]      # float32 to F32_RTOL: test_multiclass_dtypes
    for name, p in strided_layouts(base):
        if name == "F_read_only":
            p.flags.writeable = False
        check(impl, y, p, value=exp, rtol=rtol)
    # 1-D binary probabilities with strides
    pos = rng.random(2 * n).astype(dtype)
    yb = rng.integers(0, 2, n)
    check(impl, yb, pos[::2], value=expected_log_loss(onehot(yb, 2), pos[::2]), rtol=rtol)
    check(impl, yb, pos[::-2], value=expected_log_loss(onehot(yb, 2), pos[::-2]), rtol=rtol)


def test_reversed_columns_renormalised(impl):
    rng = np.random.default_rng(7)
    p = random_proba(rng, 20, 3)[:, ::-1]
    p = p / p.sum(axis=1, keepdims=True)           # a new C-array; now a view of it:
    view = np.ascontiguousarray(p[:, ::-1])[:, ::-1]
    y = rng.integers(0, 3, 20)
    y[:3] = [0, 1, 2]
    check(impl, y, view, value=expected_log_loss(onehot(y, 3), p))


def test_memmap(impl, tmp_path):
    rng = np.random.default_rng(8)
    n, c = 500, 6
    y = rng.integers(0, c, n)
    y[:c] = np.arange(c)
    p = random_proba(rng, n, c)
    mm = np.memmap(tmp_path / "p.dat", dtype=F64, mode="w+", shape=(n, c))
    mm[:] = p
    mm.flush()
    ro = np.memmap(tmp_path / "p.dat", dtype=F64, mode="r", shape=(n, c))
    check(impl, y, ro, value=expected_log_loss(onehot(y, c), p))
    ym = np.memmap(tmp_path / "y.dat", dtype=np.int32, mode="w+", shape=(n,))
    ym[:] = y
    check(impl, ym, ro, sample_weight=ro[:, 0], value=expected_log_loss(
        onehot(y, c), p, p[:, 0]))


@pytest.mark.parametrize("p, message", [
    ([[[.1]], [[.8]], [[.6]]], "Found array with dim 3, while dim <= 2 is required."),
    (np.zeros((3, 0)), "Found array with 0 feature(s) (shape=(3, 0)) while a minimum of 1 is "
                       "required."),
    (np.zeros((0, 2)), "Found array with 0 sample(s) (shape=(0, 2)) while a minimum of 1 is "
                       "required."),
    (np.array([.5, 1.1], dtype=F32), "y_prob contains values greater than 1: "
                                     "1.100000023841858"),
    (np.array([.5, -.1], dtype=F32), "y_prob contains values lower than 0: "
                                     "-0.10000000149011612"),
    (np.array([.5, 1.1], dtype=F16), "y_prob contains values greater than 1: 1.099609375"),
    ([.5, 1.0000001], "y_prob contains values greater than 1: 1.0000001"),
    ([0, 2], "y_prob contains values greater than 1: 2.0"),
    ([-1, 1], "y_prob contains values lower than 0: -1.0"),
    ([None, .5], NAN),
])
def test_bad_proba(impl, p, message):
    y = [0, 1, 1] if len(p) in (0, 3) else [0, 1]
    check(impl, y, p, error=(ValueError, message))


# --- sample_weight and normalize ------------------------------------------------------------

def test_sample_weight_kinds(impl):
    exp = expected_log_loss(onehot(Y3, 2), P3, [1, 2, 3])
    for w in ([1, 2, 3], (1, 2, 3), np.array([1, 2, 3], dtype=np.int8),
              np.array([1, 2, 3], dtype=F32), np.array([0.5, 1, 1.5]), [1.0, 2.0, 3.0]):
        check(impl, Y3, P3, sample_weight=w, value=exp)
    check(impl, Y3, P3, sample_weight=np.ones(3), value=0.2797765635793423)
    check(impl, Y3, P3, sample_weight=[True, False, True],
          value=expected_log_loss(onehot(Y3, 2), P3, [1, 0, 1]))
    # zero weights drop rows, even clipped ones
    check(impl, Y3, [0.0, 0.0, 0.6], sample_weight=[1, 0, 1],
          value=expected_log_loss(onehot(Y3, 2), [0.0, 0.0, 0.6], [1, 0, 1]))
    pd = pytest.importorskip("pandas")
    check(impl, Y3, P3, sample_weight=pd.Series([1, 2, 3]), value=exp)


@pytest.mark.parametrize("w, error", [
    ([[1, -1, 0]], (ValueError,
                    "Found input variables with inconsistent numbers of samples: [3, 3, 1]")),
    ([[1], [1], [0]], (ValueError, "Sample weights must be 1D array or scalar, got 2D array. "
                                   "Expected either a scalar value or a 1D array of length 3.")),
    ([1, np.nan, 0], (ValueError, "Input sample_weight contains NaN.")),
    ([1, np.inf, 0], (ValueError, "Input sample_weight contains infinity or a value too large "
                                  "for dtype('float64').")),
    ([1, 2], (ValueError, "Found input variables with inconsistent numbers of samples: "
                          "[3, 3, 2]")),
    ([0, 0, 0], (ValueError, "Sample weights must contain at least one non-zero number.")),
    ([1, -1, 0], (ZeroDivisionError, "Weights sum to zero, can't be normalized")),
])
def test_bad_sample_weight(impl, w, error):
    check(impl, Y3, P3, sample_weight=w, error=error)


def test_negative_weights_and_normalize_false(impl):
    w = [2.0, -0.5, 1.0]
    check(impl, Y3, P3, sample_weight=w, value=expected_log_loss(onehot(Y3, 2), P3, w))
    check(impl, Y3, P3, sample_weight=w, normalize=False,
          value=expected_log_loss(onehot(Y3, 2), P3, w, normalize=False))
    check(impl, Y3, P3, normalize=True, value=0.2797765635793423)


# --- error precedence (scikit-learn's order of checks) --------------------------------------

def test_error_precedence(impl):
    # y_proba is checked (NaN, then range) before y_true, lengths and weights
    check(impl, [0, 1, 2.5], [[np.nan, .4], [.5, .5], [.5, .5]], error=(ValueError, NAN))
    check(impl, [0, 1], [[1.4, .6], [.5, .5], [.5, .5]],
          error=(ValueError, "y_prob contains values greater than 1: 1.4"))
    check(impl, [0, "a"], [[1.4, .6], [.5, .5]], sample_weight=[np.nan, 1],
          error=(ValueError, "y_prob contains values greater than 1: 1.4"))
    # lengths before the weights' values
    check(impl, [0, 1, 1], [[.5, .5], [.5, .5]], sample_weight=[np.nan, 1], error=(
        ValueError, "Found input variables with inconsistent numbers of samples: [2, 3, 2]"))
    # weights before the labels
    check(impl, [0, "a"], [[.5, .5], [.5, .5]], sample_weight=[np.nan, 1],
          error=(ValueError, "Input sample_weight contains NaN."))
    # the row-sum warning comes before the class-count error
    check(impl, [0, 1, 2], [[.4, .4], [.5, .5], [.5, .5]], warns=((UserWarning, ROWSUM),),
          error=(ValueError, (
              "y_true and y_prob contain different number of classes: 3 vs 2. Please provide "
              "the true labels explicitly through the labels argument. Classes found in "
              "y_true: [0 1 2]")))
    check(impl, [0, 1, 2], [[.4, .4], [.5, .5], [.5, .5]], labels=[2, 1, 0],
          warns=((UserWarning, unsorted_labels("[2, 1, 0]", "[0, 1, 2]")),
                 (UserWarning, ROWSUM)),
          error=(ValueError, "The number of classes in labels is different from that in "
                             "y_prob. Classes found in labels: [0 1 2]"))
    # parameter validation before anything else, and before the y_pred warning
    check(impl, [0, 1], y_pred=[np.nan, .5], normalize=1, error=(
        xentc.InvalidParameterError,
        "The 'normalize' parameter of log_loss must be an instance of 'bool' or an instance "
        "of 'numpy.bool'. Got 1 instead."))
    check(impl, 0, 0.5, error=(xentc.InvalidParameterError,
                               "The 'y_true' parameter of log_loss must be an array-like. "
                               "Got 0 instead."))
    # y_pred with y_proba: before y_proba is read
    check(impl, [0, 1], [np.nan, 2], y_pred=[.5, .5], error=(ValueError, BOTH))


# --- inputs, return type ----------------------------------------------------------------------

def test_inputs_not_modified(impl):
    rng = np.random.default_rng(9)
    n, c = 50, 3
    y = rng.integers(0, c, n)
    y[:c] = np.arange(c)
    p = random_proba(rng, n, c)
    p[:5] = [0.0, 0.0, 1.0]                      # to be clipped
    w = rng.uniform(-0.5, 2, n)
    labels = [2, 0, 1]
    for func, kw in (("log_loss", {"normalize": False}), ("d2_log_loss_score", {})):
        args = dict(y_true=y, y_proba=p, sample_weight=w, labels=labels, **kw)
        before = {k: snapshot(v) for k, v in args.items()}
        out = outcome(getattr(impl, func), **args)
        assert out.error is None, out.describe()
        for k, v in args.items():
            assert_unchanged(before[k], v)
    # float32, F-ordered, 1-D: converted inputs are copies, never the caller's array
    for p2 in (np.asfortranarray(p.astype(F32)), p[:, 1].copy()):
        y2 = y if p2.ndim == 2 else (y > 0).astype(int)
        before = snapshot(p2)
        impl.log_loss(y2, p2)
        assert_unchanged(before, p2)


@pytest.mark.parametrize("dtype", [F16, F32, F64])
def test_returns_python_float(impl, dtype):
    assert type(impl.log_loss([0, 1], np.array([.2, .7], dtype=dtype))) is float
    assert type(impl.log_loss([0, 1], np.array([.2, .7], dtype=dtype), normalize=False)) \
        is float
    assert type(impl.log_loss([0, 1], np.array([.2, .7], dtype=dtype),
                              sample_weight=np.array([1, 2], dtype=F32))) is float
    assert type(impl.d2_log_loss_score([0, 1], np.array([.2, .7], dtype=dtype))) is float


# --- threads (xentc only) ---------------------------------------------------------------------

@pytest.mark.parametrize("n, c, dtype", [(300_000, 3, F64), (300_000, 3, F32),
                                         (100_000, 10, F64), (500_000, 1, F64)])
def test_bit_identical_for_every_n_threads(n, c, dtype):
    rng = np.random.default_rng(10)
    if c == 1:                                               # 1-D binary probabilities
        y = rng.integers(0, 2, n)
        p = rng.random(n).astype(dtype)
    else:
        y = rng.integers(0, c, n)
        y[:c] = np.arange(c)
        p = random_proba(rng, n, c, dtype)
    w = rng.uniform(0, 2, n)
    calls = [dict(), dict(normalize=False), dict(sample_weight=w)]
    for kw in calls:
        results = [xentc.log_loss(y, p, n_threads=k, **kw) for k in N_THREADS + [-1, None]]
        assert all(type(r) is float for r in results)
        assert len({r.hex() for r in results}) == 1, (kw, results)
    results = [xentc.d2_log_loss_score(y, p, n_threads=k) for k in N_THREADS]
    assert len({r.hex() for r in results}) == 1, results
    exp = expected_log_loss(onehot(y, max(c, 2)), p)
    assert_allclose(xentc.log_loss(y, p, n_threads=2), exp, rtol=SKLEARN_RTOL[dtype])


@pytest.mark.parametrize("name", ["log_loss", "d2_log_loss_score"])
def test_n_threads_argument(name):
    func = getattr(xentc, name)
    with pytest.raises(ValueError, match="n_threads=0"):
        func([0, 1], [.2, .7], n_threads=0)
    for bad in (1.5, "2", True, np.float64(2.0), [2]):
        with pytest.raises(TypeError, match="n_threads"):
            func([0, 1], [.2, .7], n_threads=bad)
    r = func([0, 1, 1], [.2, .7, .6])
    for k in (1, np.int32(2), np.int64(3), -1, None):
        assert func([0, 1, 1], [.2, .7, .6], n_threads=k) == r


def test_reference_has_no_n_threads():
    with pytest.raises(TypeError):
        reference.log_loss([0, 1], [.2, .7], n_threads=1)


# --- memory: no N×C temporary (SPEC §2-3) ----------------------------------------------------

@pytest.mark.parametrize("kw", [{}, {"normalize": False, "sample_weight": "w"}])
def test_no_n_by_c_temporary(kw):
    rng = np.random.default_rng(11)
    n, c = 200_000, 50
    p = rng.random((n, c))
    p /= p.sum(axis=1, keepdims=True)
    y = rng.integers(0, c, n)
    y[:c] = np.arange(c)
    if "sample_weight" in kw:
        kw = dict(kw, sample_weight=rng.uniform(0, 2, n))
    expected = xentc.log_loss(y, p, **kw)          # warm-up: imports, caches, thread pool
    tracemalloc.start()
    try:
        r = xentc.log_loss(y, p, **kw)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert r == expected
    # scikit-learn's peak is about 5x p.nbytes (one-hot, clipped copy, xlogy)
    assert peak < 0.1 * p.nbytes, f"peak traced memory {peak / 2**20:.1f} MiB"


def test_binary_1d_one_minus_p_in_float64(impl):
    # xentc deviation (SPEC §3, decision 2): for a 1-D (or (N, 1)) float32/float16 y_proba,
    # 1 - p is computed in float64.  scikit-learn rounds 1 - p to the dtype, which moves a
    # small loss by up to eps/2 absolutely: more than the 1e-6 / 2e-3 relative of decision 1
    # (scikit-learn 1.9.1: 0.0010004873620346189 for float32, 0.0009775161743164062 for
    # float16, where the exact values are 0.0010005003811285299 and 0.001000905096338279).
    for dtype, sklearn_value in ((F32, 0.0010004873620346189), (F16, 0.0009775161743164062)):
        p = np.array([0.001], dtype=dtype)
        for form in (p, p[:, None]):
            r = check(impl, [0], form, labels=[0, 1], value=-math.log1p(-float(p[0])),
                      rtol=F32_RTOL)
            assert abs(r - sklearn_value) <= np.finfo(dtype).eps / 2


@pytest.mark.parametrize("dtype, values", [
    (np.int8, [-128, 127]), (np.uint8, [0, 255]), (np.int16, [-32768, 5]),
    (np.uint64, [2**40, 2**40 + 3]), (np.uint64, [2**63 + 5, 2**64 - 1]),
    (np.int64, [-2**63, 2**63 - 1]), (np.int32, [7, 9]), (np.bool_, [False, True])])
def test_integer_labels_at_their_type_limits(dtype, values):
    # the dense value tables shift labels by their minimum in the codes' type: values at the
    # limits of the labels' type (or far apart: then a sort) must encode exactly
    rng = np.random.default_rng(5)
    y = np.array(values, dtype=dtype)[rng.integers(0, 2, 500)]
    p = random_proba(rng, 500, 2)
    t = onehot((y == y.max()).astype(int), 2)
    expected = expected_log_loss(t, p)
    assert_allclose(xentc.log_loss(y, p), expected, rtol=1e-12)
    assert_allclose(xentc.log_loss(y, p, labels=np.unique(y)), expected, rtol=1e-12)
    assert_allclose(xentc.log_loss(y, p[:, 1]), expected, rtol=1e-12)


@pytest.mark.parametrize("dtype", [F64, F32])
def test_every_code_path(cpu_level, dtype):
    # the kernel on each ISA level: every block layout (flat short rows at C = 2 and C = 7,
    # row by row at C = 40 and C = 1500, column by column for F order and strided rows,
    # binary 1-D; with AVX-512, float32 rows of 2, 3 ... 16 and 17 ... 1024 values in one
    # loop: C = 2, 7, 16, 40, 1000), int32 and int64 codes, weights, and the counts of bad
    # values, off rows and bad codes
    rng = np.random.default_rng(11)
    for c, n in ((2, 3000), (7, 3000), (16, 3000), (40, 3000), (1000, 150), (1500, 50)):
        p = random_proba(rng, n, c, dtype)
        y = rng.integers(0, c, n)
        w = rng.random(n)
        t = onehot(y, c)
        rtol = 1e-12 if dtype == F64 else F32_RTOL
        for q in (p, np.asfortranarray(p), np.repeat(p, 2, axis=0)[::2]):
            for yy in (y, y.astype(np.int32), y.astype(np.int8 if c < 128 else np.int16)):
                assert_allclose(xentc.log_loss(yy, q, labels=np.arange(c)),
                                expected_log_loss(t, p), rtol=rtol)
            assert_allclose(xentc.log_loss(y, q, sample_weight=w, labels=np.arange(c)),
                            expected_log_loss(t, p, sample_weight=w), rtol=rtol)
        bad_code = y.copy()
        bad_code[n // 2] = c
        with pytest.raises(ValueError, match="not belonging to the passed labels"):
            xentc.log_loss(bad_code, p, labels=np.arange(c))
        off = p.copy()
        off[n - 1] *= 1.01
        with pytest.warns(UserWarning, match="do not sum to one"):
            xentc.log_loss(y, off, labels=np.arange(c))
        nan = p.copy()
        nan[n // 3, c - 1] = np.nan
        with pytest.raises(ValueError, match="Input contains NaN"):
            xentc.log_loss(y, nan)
        # the kernel checks the range on the values' bits: -0.0 (valid, as in scikit-learn)
        # has the sign bit, and the smallest value above 1 the next bits after 1's
        zeros = p.copy()
        zeros[n // 5] = -0.0
        zeros[n // 5, 1] = 1.0
        for q in (zeros, np.asfortranarray(zeros), np.repeat(zeros, 2, axis=0)[::2]):
            assert_allclose(xentc.log_loss(y, q, labels=np.arange(c)),
                            expected_log_loss(t, zeros), rtol=rtol)
        above = p.copy()
        above[n // 4, 1] = np.nextafter(dtype(1), dtype(2))
        with pytest.raises(ValueError, match="greater than 1"):
            xentc.log_loss(y, above)
    n = 3000
    p1 = rng.random(n).astype(dtype)
    y1 = rng.integers(0, 2, n)
    rtol = 1e-12 if dtype == F64 else F32_RTOL
    assert_allclose(xentc.log_loss(y1, p1), expected_log_loss(onehot(y1, 2), p1), rtol=rtol)
    assert_allclose(xentc.log_loss(y1, p1[::-1].copy()[::-1]),
                    expected_log_loss(onehot(y1, 2), p1), rtol=rtol)
    with pytest.raises(ValueError, match="greater than 1"):
        xentc.log_loss(y1, np.where(np.arange(n) == 7, dtype(1.5), p1))
    with pytest.raises(ValueError, match="lower than 0"):
        xentc.log_loss(y1, np.where(np.arange(n) == n - 1, dtype(-1e-30), p1))
    zeros = np.where(np.arange(n) % 3 == 0, dtype(-0.0), p1)
    assert_allclose(xentc.log_loss(y1, zeros), expected_log_loss(onehot(y1, 2), zeros),
                    rtol=rtol)


@pytest.mark.parametrize("dtype", [F64, F32])
@pytest.mark.parametrize("c", [2, 3, 10, 16, 17, 40])
def test_result_does_not_depend_on_the_layout(cpu_level, dtype, c):
    # Each kernel path (one loop for short contiguous rows, the gathered blocks of F-ordered
    # and strided rows) adds the same terms in the same order: an unweighted sum as the log
    # of the probabilities' product where it is one, so the results are bit-identical.
    # (Another accurate summation often rounds to the same sum: several sizes are checked.)
    rng = np.random.default_rng(c)
    for n in (257, 1000 + c, 4000 + c):              # blocks with partial groups of rows
        p = random_proba(rng, n, c, dtype)
        y = rng.integers(0, c, n)
        wide = np.zeros((n, 2 * c), dtype)
        wide[:, ::2] = p
        for weights in (None, rng.random(n)):
            kw = dict(sample_weight=weights, labels=np.arange(c), normalize=False)
            expected = xentc.log_loss(y, p, **kw)
            for q in (np.asfortranarray(p), wide[:, ::2], np.repeat(p, 2, axis=0)[::2]):
                assert xentc.log_loss(y, q, **kw) == expected
            assert xentc.log_loss(y.astype(np.int32), p, **kw) == expected


@pytest.mark.parametrize("dtype", [F64, F32])
@pytest.mark.parametrize("c", [2, 10, 40])
def test_sum_accuracy_near_certainty(cpu_level, dtype, c):
    # Probabilities of the true class near 1 make every term tiny, and the mean loss with
    # them: it keeps its relative accuracy (SPEC: 1e-12 for float64, 1e-7 for float32
    # against the float64 computation), also where the unweighted sum is taken as the log of
    # the probabilities' product (a product near 1, its rounding errors kept apart).
    mpmath = pytest.importorskip("mpmath")
    mpmath.mp.dps = 40
    rng = np.random.default_rng(c)
    eps = float(np.finfo(dtype).eps)
    n = 1000
    for q in (1e-3, 1e-8, 1e-12, 1e-15):
        p = np.full((n, c), q / (c - 1))
        y = rng.integers(0, c, n)
        p[np.arange(n), y] = 1 - q
        p = p.astype(dtype)
        g = np.clip(p[np.arange(n), y].astype(F64), eps, 1 - eps)
        exact = mpmath.fsum(-mpmath.log(mpmath.mpf(float(v))) for v in g) / n
        got = xentc.log_loss(y, p, labels=np.arange(c))
        assert abs(got - exact) <= (1e-13 if dtype == F64 else 1e-9) * exact


@pytest.mark.parametrize("c", [3, 10, 16, 17, 100, 1024, 1500])
def test_float32_row_sums_at_the_tolerance(cpu_level, c):
    # Row sums that lie at 1 +- tol (float32's tol) give the verdict of a float64 sum, also
    # where the kernel adds float32 rows in float (AVX-512, C <= 1024) and sums again in
    # float64 only the rows near the tolerance.  The values are multiples of 2^-24, so the
    # sums are exact in float64 (not in float32), and the expected count is exact.
    rng = np.random.default_rng(c)
    tol = 1e-8 + math.sqrt(float(np.finfo(F32).eps))
    steps = [0, 1, -1, 2, -2, 3, -3, 8, -8, 16, -16, 64, -64, 256, -256, 1024, -1024]
    totals = np.array([round((1 + sign * tol) * 2**24) + j for sign in (1, -1)
                       for j in steps for _ in range(3)], dtype=np.int64)
    n = totals.size
    parts = rng.random((n, c)) + 0.01
    k = np.floor(parts / parts.sum(axis=1, keepdims=True) * totals[:, None]).astype(np.int64)
    k[:, 0] += totals - k.sum(axis=1)                 # the exact totals, k >= 0
    p = (k * 2.0**-24).astype(F32)
    assert np.array_equal(p.astype(F64).sum(axis=1), totals * 2.0**-24)
    off = np.abs(totals * 2.0**-24 - 1.0) > tol
    assert 0 < off.sum() < n
    y = rng.integers(0, c, n)
    for n_threads in N_THREADS:
        state = xentc.log_loss_partial(y, p, labels=np.arange(c), n_threads=n_threads)
        assert state.n_rows_off == off.sum()
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        xentc.log_loss(y[~off], p[~off], labels=np.arange(c))
    for i in np.flatnonzero(off)[::7]:
        rows = np.flatnonzero(~off)
        rows = np.insert(rows, len(rows) // 2, i)
        with pytest.warns(UserWarning, match="do not sum to one"):
            xentc.log_loss(y[rows], p[rows], labels=np.arange(c))


def test_strided_labels():
    # y_true given as a strided view (a slice, a column of a 2-D array) of any label kind
    rng = np.random.default_rng(12)
    n = 1000
    y = rng.integers(0, 3, 2 * n)
    p = random_proba(rng, n, 3)
    expected = expected_log_loss(onehot(y[::2], 3), p)
    names = np.array(["a", "b", "c"])
    for yy in (y[::2], np.column_stack([y, y])[::2, 1], y.astype(np.int8)[::2],
               names[y][::2], names[y].astype(object)[::2]):
        for labels in (None, np.unique(yy)):
            assert_allclose(xentc.log_loss(yy, p, labels=labels), expected, rtol=1e-12)
    # negative strides: the samples reversed, labels and probabilities alike
    assert_allclose(xentc.log_loss(y[::2][::-1], p[::-1]), expected, rtol=1e-12)


def test_works_without_scikit_learn(tmp_path):
    # scikit-learn made unimportable: log_loss, d2_log_loss_score, their warnings and errors
    # still work, and nothing imports it
    code = """
import sys, warnings
sys.modules["sklearn"] = None
import xentc
assert xentc.log_loss([0, 1, 1], [0.1, 0.8, 0.6]) == 0.2797765635793423
assert xentc.d2_log_loss_score([0, 1, 1, 0], [.1, .8, .6, .3]) == 0.5686325111679058
try:
    xentc.log_loss([0, 1], 0.5)
except xentc.InvalidParameterError as exc:
    assert isinstance(exc, ValueError) and isinstance(exc, TypeError)
else:
    raise AssertionError("no error")
with warnings.catch_warnings(record=True) as record:
    warnings.simplefilter("always")
    xentc.d2_log_loss_score([1], [.2])
assert record[0].category.__name__ == "UndefinedMetricWarning"
assert sys.modules["sklearn"] is None
"""
    subprocess.run([sys.executable, "-c", code], cwd=tmp_path, check=True)


def test_concurrent_calls_from_python_threads():
    # the kernel releases the GIL; concurrent calls (integer and string labels, weights,
    # several threads each) give the single-call results exactly
    from concurrent.futures import ThreadPoolExecutor

    rng = np.random.default_rng(13)
    cases = []
    for c, dtype in ((3, F64), (12, F32), (2, F64)):
        p = random_proba(rng, 40_000, c, dtype)
        y = rng.integers(0, c, 40_000)
        w = rng.random(40_000)
        names = np.array([f"class{k:02d}" for k in range(c)])
        cases += [(y, p, None), (names[y], p, w)]
    expected = [xentc.log_loss(y, p, sample_weight=w) for y, p, w in cases]

    def work(i):
        y, p, w = cases[i % len(cases)]
        return i % len(cases), xentc.log_loss(y, p, sample_weight=w, n_threads=2)

    with ThreadPoolExecutor(max_workers=4) as pool:
        for k, value in pool.map(work, range(36)):
            assert value == expected[k]


def _labels_cases(rng):
    """Integer labels that look like their own class codes at first, and may not be."""
    n, k = 5000, 4
    p = rng.dirichlet(np.ones(k), size=n)
    y = rng.integers(0, k, size=n)
    late = y.copy()
    late[4000] = k  # out of range late
    negative = y.copy()
    negative[4999] = -1
    missing = np.where(y == 2, 1, y)  # a class never seen
    nan_p = p.copy()
    nan_p[4500, 0] = np.nan
    off = p.copy()
    off[[7, 4321]] *= 0.5
    binary = rng.random(n)
    two = np.where(rng.random(n) < 0.5, 0, 2)
    two[:100] = 0
    return [("own codes", y, p), ("late out of range", late, p),
            ("late negative", negative, p), ("class missing", missing, p),
            ("nan probability", y, nan_p), ("rows off", y, off),
            ("binary", y % 2, binary), ("binary 0 / 2", two, binary)]


@pytest.mark.parametrize("case", range(8))
@pytest.mark.parametrize("dtype", [np.int32, np.int64])
def test_integer_labels_scored_as_their_own_codes(case, dtype):
    """int32 / int64 labels are tried as the class codes in the scoring pass itself; whatever
    the labels turn out to be, the outcome is that of the general path (int16 labels)."""
    name, y, p = _labels_cases(np.random.default_rng(11))[case]
    fast = outcome(xentc.log_loss, y.astype(dtype), p)
    general = outcome(xentc.log_loss, y.astype(np.int16), p)
    assert fast.warnings == general.warnings, name
    if general.error is not None:
        assert type(fast.error) is type(general.error)
        assert str(fast.error).replace("int32", "int16") == str(general.error), name
    else:
        assert fast.error is None and fast.value == general.value, name
        d2 = [outcome(xentc.d2_log_loss_score, y.astype(t), p) for t in (dtype, np.int16)]
        assert d2[0].value == d2[1].value and d2[0].warnings == d2[1].warnings


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_non_native_byte_order(dtype):
    """Big-endian arrays (a .npy file written on another machine) are read as their values."""
    rng = np.random.default_rng(12)
    p = rng.dirichlet(np.ones(3), size=200).astype(dtype)
    y = rng.integers(0, 3, size=200)
    w = rng.random(200)
    expected = xentc.log_loss(y, p, sample_weight=w)
    swapped = p.astype(p.dtype.newbyteorder(">"))
    assert not swapped.dtype.isnative
    assert xentc.log_loss(y.astype(">i8"), swapped, sample_weight=w.astype(">f8")) == expected
    binary = p[:, 1].astype(swapped.dtype)
    assert xentc.log_loss(y % 2, binary) == xentc.log_loss(y % 2, p[:, 1])
