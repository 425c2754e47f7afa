"""xentc.log_loss and xentc.d2_log_loss_score side by side with scikit-learn 1.9.1 (SPEC §3).

Each case calls scikit-learn and xentc (and xentc.reference) on the same arguments and checks
they did the same thing (helpers.assert_same_outcome): the same value, or the same exception
class and message; the same warnings, in order; and no argument modified.  Values agree to
1e-12 relative for float64 y_proba (the summation order differs), and within our documented
deviation for float32 (1e-6) and float16 (2e-3), whose logs and sums xentc takes in float64
(SPEC §3; the exact float64 values are asserted in test_log_loss.py).

The hand-written cases cover label kinds, y_proba forms and dtypes, sample weights, every
error and warning and the order scikit-learn checks them in; the random cases cover C in
(2, 3, 10, 57), N in (1, 2, 7, 1000), every kind of label, dtypes, layouts, weights and
orderings of ``labels``.
"""

import numpy as np
import pytest

import xentc
import xentc.reference as reference

from helpers import Outcome, assert_same_outcome, assert_unchanged, outcome, snapshot

pytest.importorskip("sklearn")
from sklearn import metrics as skm  # noqa: E402

F16, F32, F64 = np.float16, np.float32, np.float64
SKLEARN_RTOL = {F64: 1e-12, F32: 1e-6, F16: 2e-3}
FUNCS = ("log_loss", "d2_log_loss_score")


def proba_rtol(args, kwargs):
    """The tolerance for y_proba's dtype as scikit-learn reads it (float16/32 kept,
    anything else float64)."""
    p = args[1] if len(args) > 1 else kwargs.get("y_proba", kwargs.get("y_pred"))
    try:
        dtype = np.asarray(p).dtype.type
    except Exception:  # noqa: BLE001 - ragged or odd inputs: the call will raise anyway
        return SKLEARN_RTOL[F64]
    return SKLEARN_RTOL.get(dtype, SKLEARN_RTOL[F64])


def binary_low_precision_atol(args, kwargs):
    """The absolute tolerance for a 1-D or (N, 1) float32/float16 y_proba, 0 otherwise.

    scikit-learn computes 1 - p in y_proba's dtype and xentc in float64 (SPEC §3 decision 2):
    a row's -log(1 - p) may differ by up to eps/2 of the dtype absolutely, which is more than
    1e-6 (2e-3) relative where the loss is small (p = 0.001: 1.3e-5 in float32, 2.3e-2 in
    float16).  Bound: eps/2 per row, times Σ|w|/|Σw| for a mean, Σ|w| (or N) for a sum.
    """
    p = args[1] if len(args) > 1 else kwargs.get("y_proba", kwargs.get("y_pred"))
    try:
        p = np.asarray(p)
    except Exception:  # noqa: BLE001
        return 0.0
    if p.dtype.type not in (F32, F16) or not (p.ndim == 1 or p.shape[1:] == (1,)):
        return 0.0
    sw = kwargs.get("sample_weight")
    try:
        w = np.ones(len(p)) if sw is None else np.asarray(sw, dtype=F64).ravel()
    except Exception:  # noqa: BLE001 - bad weights: the call raises
        return 0.0
    if not kwargs.get("normalize", True):
        rows = np.abs(w).sum()
    else:
        rows = np.abs(w).sum() / abs(w.sum()) if w.sum() != 0 else 0.0
    return float(np.finfo(p.dtype).eps) / 2 * rows


def compare(func, impl, args, kwargs, *, theirs=None, rtol=None, scale=None, messages=True,
            ignore=(), n_threads=None):
    """Call scikit-learn's and impl's ``func`` on the same arguments; they must agree.
    ``theirs``: scikit-learn's outcome when already computed."""
    if theirs is None:
        theirs = outcome(getattr(skm, func), *args, **kwargs)
    if impl is reference:
        # the reference computes values only (no validation, warnings or errors, no y_pred)
        if theirs.error is not None or "y_pred" in kwargs:
            return theirs
        theirs = Outcome(theirs.value, theirs.error, [])
    before = ([snapshot(a) for a in args], {k: snapshot(v) for k, v in kwargs.items()})
    ours_kw = dict(kwargs) if n_threads is None else dict(kwargs, n_threads=n_threads)
    ours = outcome(getattr(impl, func), *args, **ours_kw)
    for b, a in zip(before[0], args, strict=True):
        assert_unchanged(b, a)
    for k, v in kwargs.items():
        assert_unchanged(before[1][k], v)
    # (for a D² score the 1 - p difference is not bounded this way: the random D² cases
    # use the 2-D form for float32/float16)
    atol = binary_low_precision_atol(args, kwargs) if func == "log_loss" else 0.0
    assert_same_outcome(ours, theirs, rtol=rtol or proba_rtol(args, kwargs), atol=atol,
                        scale=scale, d2=func == "d2_log_loss_score", messages=messages,
                        ignore=ignore)
    return theirs


@pytest.fixture(params=[pytest.param(xentc, id="xentc"),
                        pytest.param(reference, id="reference")])
def impl(request):
    return request.param


# --- hand-written cases ----------------------------------------------------------------------

def case(id, *args, _funcs=FUNCS, _messages=True, _ignore=(), **kwargs):
    """One call: positional args and keywords; _funcs which functions to call (d2 has no
    ``normalize``); _messages=False compares exception classes only (NumPy's own messages);
    _ignore: warning categories left out of the comparison."""
    if "normalize" in kwargs and _funcs == FUNCS:
        _funcs = ("log_loss",)
    return [pytest.param(f, args, kwargs, _messages, _ignore, id=f"{f}-{id}")
            for f in _funcs]


Y3, P3 = [0, 1, 1], [0.1, 0.8, 0.6]
P32 = [[.9, .1], [.2, .8], [.4, .6]]
P3C = [[.2, .3, .5], [.6, .3, .1], [.1, .1, .8]]
MULTI = [[1, 1, 0], [0, 1, 1]]
MULTI_P = [[.4, .4, .2], [.1, .5, .4]]
RTE = (RuntimeWarning,)


def _rows(delta, dtype=F64):
    return np.array([[0.5, 0.5 + delta], [0.3, 0.7]], dtype=dtype)


CASES = [
    # values (semantics.md §6.1-6.2)
    *case("spam_ham", ["spam", "ham", "ham", "spam"], [[.1, .9], [.9, .1], [.8, .2], [.35, .65]]),
    *case("binary_1d", Y3, P3),
    *case("binary_1d_array", np.array(Y3), np.array(P3)),
    *case("binary_column", Y3, np.array(P3)[:, None]),
    *case("binary_2d", Y3, P32),
    *case("normalize_false", Y3, P3, normalize=False),
    *case("normalize_np_true", Y3, P3, normalize=np.True_),
    *case("normalize_np_false", Y3, P3, normalize=np.False_),
    *case("weights", Y3, P3, sample_weight=[1, 2, 3]),
    *case("weights_sum", Y3, P3, sample_weight=[1, 2, 3], normalize=False),
    *case("weights_negative", Y3, P3, sample_weight=[1, -2, 3]),
    *case("weights_negative_sum", Y3, P3, sample_weight=[1, -2, 3], normalize=False),
    *case("weights_zero_sum_unnormalized", Y3, P3, sample_weight=[1, -1, 0], normalize=False),
    *case("weights_with_zero", Y3, [0.0, 0.0, 0.6], sample_weight=[1, 0, 1]),
    *case("weights_int8", Y3, P3, sample_weight=np.array([1, 2, 3], dtype=np.int8)),
    *case("weights_float32", Y3, P3, sample_weight=np.array([.1, .2, .3], dtype=F32)),
    *case("weights_bool", Y3, P3, sample_weight=[True, False, True]),
    *case("weights_tuple", Y3, P3, sample_weight=(1, 2, 3)),
    *case("multiclass", [0, 1, 2], P3C),
    *case("multiclass_weighted", [0, 1, 2], P3C, sample_weight=[.5, 1, 2]),
    *case("d2_value", [0, 1, 1, 0], [.1, .8, .6, .3]),
    *case("d2_weighted", [0, 1, 1, 0], [.1, .8, .6, .3], sample_weight=[1, 2, 1, 1]),
    *case("d2_null_model", [0, 1, 1, 1], [.75] * 4),
    *case("d2_multiclass", [0, 1, 2, 2], [[.6, .2, .2], [.1, .7, .2], [.1, .1, .8],
                                           [.2, .2, .6]]),
    # clipping
    *case("clip_f64", [1, 0], [0.0, 0.0]),
    *case("clip_f32", [1, 0], np.array([0.0, 0.0], dtype=F32)),    # xentc deviation (1e-6)
    *case("clip_f16", [1, 0], np.array([0.0, 0.0], dtype=F16)),    # xentc deviation (2e-3)
    *case("perfect_f64", [1, 0], [1.0, 0.0]),
    *case("perfect_f32", [1, 0], np.array([1.0, 0.0], dtype=F32)),  # xentc deviation
    *case("perfect_f16", [1, 0, 1], np.array([1.0, 0.0, 1.0], dtype=F16)),
    *case("int_proba", [0, 1], [[1, 0], [0, 1]]),
    *case("int_proba_wrong", [0, 1], [[1, 0], [1, 0]]),
    *case("bool_proba", [0, 1], np.array([[True, False], [False, True]])),
    *case("bool_proba_1d", Y3, [True, False, True]),
    *case("uint8_proba", Y3, np.array([1, 0, 1], dtype=np.uint8)),
    *case("tiny_f32", Y3, np.array([1e-30, 1 - 1e-9, 1e-38], dtype=F32)),
    *case("subnormal_f64", Y3, [5e-324, 1.0, 1e-310]),
    # y_proba dtypes and forms
    *case("object_proba", Y3, np.array(P3, dtype=object)),
    *case("numeric_strings", Y3, ["0.1", "0.8", "0.6"]),
    *case("numeric_strings_U", Y3, np.array(["0.1", "0.8", "0.6"])),
    *case("longdouble", Y3, np.array(P3, dtype=np.longdouble)),
    *case("f32_2d", Y3, np.array(P32, dtype=F32)),
    *case("f16_2d", Y3, np.array(P32, dtype=F16)),
    *case("f32_column", Y3, np.array(P3, dtype=F32)[:, None]),
    *case("f_order", [0, 1, 2], np.asfortranarray(P3C)),
    *case("strided_rows", [0, 1, 2], np.repeat(np.array(P3C), 2, axis=0)[::2]),
    *case("reversed_rows", [2, 1, 0], np.array(P3C)[::-1]),
    *case("column_slice", [0, 1], np.array([[9, .3, .7, 9], [9, .6, .4, 9]])[:, 1:3]),
    *case("non_string_strings", Y3, ["a", "b", "c"]),
    *case("complex", Y3, [.1 + 0j, .8, .6], _messages=False),
    *case("none_in_proba", Y3, [None, .8, .6]),
    *case("dict_proba", [0, 1], {"a": [.5, .5]}, _messages=False),
    *case("ragged", [0, 1], [[.5, .5], [.5]], _messages=False),
    *case("dim3", Y3, [[[.1]], [[.8]], [[.6]]]),
    *case("empty", [], []),
    *case("empty_2d", [], np.zeros((0, 2))),
    *case("no_columns", Y3, np.zeros((3, 0))),
    *case("proba_0d", [0, 1], np.array(0.5)),
    *case("proba_np_scalar", [0, 1], np.float64(0.5)),
    *case("proba_scalar", [0, 1], 0.5),
    *case("proba_str", [0, 1], "ab"),
    # range and finiteness
    *case("gt1", Y3, [.1, 1.5, .6]),
    *case("lt0", Y3, [.1, -.1, .6]),
    *case("gt1_before_lt0", [0, 1], [[-.1, 1.1], [.5, .5]]),
    *case("gt1_tiny", [0, 1], [.5, 1.0000001]),
    *case("gt1_int", [0, 1], [0, 2]),
    *case("lt0_int", [0, 1], [-1, 1]),
    *case("gt1_f32", [0, 1], np.array([.5, 1.1], dtype=F32)),
    *case("lt0_f32", [0, 1], np.array([.5, -.1], dtype=F32)),
    *case("gt1_f16", [0, 1], np.array([.5, 1.1], dtype=F16)),
    *case("nan", Y3, [.1, np.nan, .6]),
    *case("nan_f32", Y3, np.array([.1, np.nan, .6], dtype=F32)),
    *case("inf", Y3, [.1, np.inf, .6]),
    *case("minus_inf", Y3, [.1, -np.inf, .6]),
    *case("inf_f32", Y3, np.array([.1, np.inf, .6], dtype=F32)),
    *case("inf_f16", Y3, np.array([.1, np.inf, .6], dtype=F16)),
    *case("nan_and_gt1", Y3, [np.nan, 1.5, .6]),
    # row sums: 1e-8 + sqrt(eps) of the dtype, no renormalisation
    *case("rowsum_f64_silent", [0, 1], _rows(2.45e-8)),
    *case("rowsum_f64_silent_below", [0, 1], _rows(-2.45e-8)),
    *case("rowsum_f64_warns", [0, 1], _rows(2.50e-8)),
    *case("rowsum_f64_warns_below", [0, 1], _rows(-2.55e-8)),
    *case("rowsum_f32_silent", [0, 1], _rows(3.3e-4, F32)),
    *case("rowsum_f32_warns", [0, 1], _rows(3.6e-4, F32)),
    *case("rowsum_f32_warns_below", [0, 1], _rows(-3.6e-4, F32)),
    *case("rowsum_f16_silent", [0, 1], _rows(0.025, F16)),
    *case("rowsum_f16_warns", [0, 1], _rows(0.04, F16)),
    *case("rowsum_f16_warns_below", [0, 1], _rows(-0.04, F16)),
    *case("rowsum_not_renormalised", [0, 1], [[.5, .4], [.4, .5]]),
    *case("rowsum_all_zero_row", [0, 1], [[0.0, 0.0], [.4, .6]]),
    *case("rowsum_multiclass", [0, 1, 2], [[.2, .3, .4], [.6, .3, .1], [.1, .1, .8]]),
    # label kinds
    *case("neg_int", [-1, 1, 1], P3),
    *case("bool_labels", [False, True, True], P3),
    *case("float_labels", [0.0, 1.0, 1.0], P3),
    *case("float_labels_3", [3.0, 7.0, 7.0], P3),
    *case("str_labels", ["no", "yes", "yes"], P3),
    *case("str_U", np.array(["no", "yes", "yes"]), P3),
    *case("str_object", np.array(["no", "yes", "yes"], dtype=object), P3),
    *case("str_digits_lexicographic", ["10", "9", "100"], P3C),
    *case("int_numeric_order", [10, 9, 100], P3C),
    *case("str_b_a_c", ["b", "a", "c"], [[.1, .8, .1], [.7, .2, .1], [.1, .1, .8]]),
    *case("uint8", np.array([0, 1, 1], dtype=np.uint8), P3),
    *case("int8_extremes", np.array([-128, 127, 127], dtype=np.int8), P3),
    *case("uint64_big", np.array([0, 2**64 - 1, 2**64 - 1], dtype=np.uint64), P3),
    *case("column_vector", np.array([[0], [1], [1]]), P3),
    *case("str_column_vector", np.array([["a"], ["b"], ["b"]]), P3),
    *case("y_true_0d", np.array(1), [0.5]),
    *case("y_true_scalar", 0, [0.5]),
    *case("y_true_str", "ab", [0.5, 0.5]),
    *case("one_label", [1, 1], [[.2, .8], [.1, .9]]),
    *case("one_label_str", ["x", "x"], [.2, .1]),
    *case("one_label_with_labels", [1, 1], [[.2, .8], [.1, .9]], labels=[0, 1]),
    *case("one_label_with_labels_f32", [1, 1], np.array([.8, .9], dtype=F32), labels=[0, 1]),
    *case("labels_one", [1, 1], [[.2, .8], [.1, .9]], labels=[1]),
    *case("three_vs_two", [0, 1, 2], [[.4, .6], [.5, .5], [.5, .5]]),
    *case("three_vs_two_labels", [0, 1, 1], [[.4, .6], [.5, .5], [.5, .5]], labels=[0, 1, 2]),
    *case("two_vs_three_cols", [0, 1, 1], P3C),
    *case("continuous", [0.5, 1.0, 1.0], P3),
    *case("continuous_mixed", [1, 2, 2.5], P3),
    *case("mixed_str_int", [0, "a", "a"], P3),
    *case("str_digits_and_letters", ["0", "a", "a"], P3),
    *case("nan_labels", [0, np.nan, 1], P3, _ignore=RTE),
    *case("nan_labels_float", [0.0, 1.0, np.nan], P3, _ignore=RTE),
    *case("bytes_labels", [b"a", b"b", b"b"], P3),
    *case("none_label", [None, "a", "a"], P3),
    # labels=
    *case("labels_sorted", [0, 2], [[.4, .5, .1], [.2, .4, .4]], labels=[0, 1, 2]),
    *case("labels_unsorted", [0, 2], [[.4, .5, .1], [.2, .4, .4]], labels=[2, 0, 1]),
    *case("labels_unsorted_array", [0, 1, 2], P3C, labels=np.array([2, 0, 1])),
    *case("labels_unsorted_tuple", [0, 1, 1], P32, labels=(1, 0)),
    *case("labels_unsorted_str", ["a", "b"], [[.2, .8]] * 2, labels=["b", "a"]),
    *case("labels_unsorted_str_array", ["a", "b"], [[.2, .8]] * 2, labels=np.array(["b", "a"])),
    *case("labels_superset_str", ["b", "d", "b"], [[.1, .2, .3, .4]] * 3,
          labels=["a", "b", "c", "d"]),
    *case("labels_missing_value", [0, 1, 3], [[.2, .3, .5]] * 3, labels=[0, 1, 2]),
    *case("labels_missing_value_array", np.array([0, 1, 3]), [[.2, .3, .5]] * 3,
          labels=np.array([0, 1, 2])),
    *case("labels_missing_after_warning", ["b", "a", "c"], [[.2, .8]] * 3, labels=["b", "a"]),
    *case("labels_str_vs_int", [0, 1], [.5, .5], labels=["0", "1"]),
    # one missing string: the order of several in the message is that of a Python set
    *case("labels_int_vs_str", ["0", "0"], [.5, .5], labels=[0, 1]),
    *case("labels_float_vs_int", [1, 2], [.4, .5], labels=[1.0, 2.0]),
    *case("labels_float_array_missing", np.array([1, 3]), [.5, .5],
          labels=np.array([1.0, 2.0])),
    *case("labels_bool_as_int", [True, False], [.3, .5], labels=[0, 1]),
    *case("labels_uint_vs_negative", np.array([0, 1], dtype=np.uint64), [.5, .5],
          labels=[-1, 0, 1]),
    *case("labels_2d", [0, 1], [.3, .5], labels=[[0, 1]]),
    *case("labels_empty", [0, 1], [.5, .5], labels=[]),
    *case("labels_set", [0, 1], [.5, .5], labels={0, 1}),
    *case("labels_duplicates", [0, 1], [.5, .5], labels=[0, 1, 1]),
    *case("labels_scalar", [0, 1], [.5, .5], labels=1),
    # multilabel-indicator y_true
    *case("multilabel", MULTI, MULTI_P),
    *case("multilabel_zero_row", [[0, 0], [0, 1]], [[.9, .1], [.2, .8]]),
    *case("multilabel_all_zero", [[0, 0], [0, 0]], [[.9, .1], [.2, .8]]),
    *case("multilabel_1d_proba", [[1, 0], [0, 1]], [.9, .2]),
    *case("multilabel_bool", np.array([[True, False], [False, True]]), [[.9, .1], [.2, .8]]),
    *case("multilabel_with_labels", MULTI, MULTI_P, labels=[0, 1, 2]),
    *case("multilabel_3_vs_2", [[1, 0, 0], [0, 1, 0]], [[.9, .1], [.2, .8]]),
    *case("multilabel_not_binary", [[2, 0], [0, 1]], [[.9, .1], [.2, .8]]),
    *case("soft_labels", [[.5, .5], [0, 1], [0, 1]], P32),
    *case("multilabel_weighted", MULTI, MULTI_P, sample_weight=[2, 1]),
    *case("multilabel_length", MULTI, [[.4, .4, .2]] * 3),
    # sample_weight errors
    *case("weights_all_zero", Y3, P3, sample_weight=[0, 0, 0]),
    *case("weights_zero_sum", Y3, P3, sample_weight=[1, -1, 0]),
    *case("weights_row", Y3, P3, sample_weight=[[1, -1, 0]]),
    *case("weights_column", Y3, P3, sample_weight=[[1], [1], [0]]),
    *case("weights_nan", Y3, P3, sample_weight=[1, np.nan, 0]),
    *case("weights_inf", Y3, P3, sample_weight=[1, np.inf, 0]),
    *case("weights_short", Y3, P3, sample_weight=[1, 2]),
    *case("weights_scalar", Y3, P3, sample_weight=2.0),
    *case("weights_0d", Y3, P3, sample_weight=np.array(2.0)),
    *case("weights_strings", Y3, P3, sample_weight=["1", "2", "3"], _messages=False),
    *case("weights_complex", Y3, P3, sample_weight=[1j, 2, 3], _messages=False),
    # lengths
    *case("proba_short", [0, 1, 1], [0.2, 0.7]),
    *case("proba_long", [0, 1], [[.1, .9], [.5, .5], [.5, .5]]),
    *case("all_three_lengths", [0, 1, 1], [.5, .5], sample_weight=[1, 2, 1, 1]),
    # y_pred, eps and the signature
    *case("y_pred", Y3, y_pred=P3),
    *case("y_pred_and_proba", Y3, P3, y_pred=P3),
    *case("y_pred_and_proba_kw", Y3, y_proba=P3, y_pred=P3),
    *case("y_proba_kw", Y3, y_proba=P3),
    *case("y_pred_deprecated_string", Y3, P3, y_pred="deprecated"),
    *case("y_pred_other_string", Y3, P3, y_pred="abc"),
    *case("y_pred_string_alone", Y3, y_pred="abc"),
    *case("y_pred_none", Y3, y_pred=None),
    *case("neither", Y3),
    *case("y_pred_bad_values", Y3, y_pred=[.1, 1.5, .6]),
    *case("eps", Y3, P3, eps=1e-15),
    *case("eps_auto", Y3, P3, eps="auto"),
    *case("positional", Y3, P3, True),
    *case("unknown_keyword", Y3, P3, foo=1),
    *case("normalize_int", Y3, P3, normalize=1),
    *case("normalize_none", Y3, P3, normalize=None),
    *case("normalize_str", Y3, P3, normalize="yes"),
    *case("d2_normalize", Y3, P3, normalize=True, _funcs=("d2_log_loss_score",)),
    # error precedence
    *case("nan_proba_before_bad_y", [0, 1, 2.5], [[np.nan, .4], [.5, .5], [.5, .5]]),
    *case("range_before_bad_y", [0, 1, 2.5], [[1.4, .6], [.5, .5], [.5, .5]]),
    *case("range_before_length", [0, 1], [[1.4, .6], [.5, .5], [.5, .5]]),
    *case("range_before_weights", [0, "a"], [[1.4, .6], [.5, .5]], sample_weight=[np.nan, 1]),
    *case("length_before_weights", [0, 1, 1], [[.5, .5], [.5, .5]], sample_weight=[np.nan, 1]),
    *case("weights_before_labels", [0, "a"], [[.5, .5], [.5, .5]], sample_weight=[np.nan, 1]),
    *case("weights_before_labels_check", [0, 3], [.5, .5], sample_weight=[0, 0], labels=[0, 1]),
    *case("one_label_before_rowsum", [1, 1], [[.2, .7], [.1, .9]]),
    *case("rowsum_before_class_count", [0, 1, 2], [[.4, .4], [.5, .5], [.5, .5]]),
    *case("rowsum_before_class_count_labels", [0, 1, 2], [[.4, .4], [.5, .5], [.5, .5]],
          labels=[2, 1, 0]),
    *case("validation_before_y_pred", [0, 1], y_pred=[np.nan, .5], normalize=1),
    *case("y_true_param_first", 0, 0.5),
    *case("both_before_reading", [0, 1], [np.nan, 2], y_pred=[.5, .5]),
    *case("eps_before_everything", 0, 0.5, eps=1),
    *case("multilabel_labels_before_rowsum", MULTI, [[.4, .4, .4], [.1, .5, .4]],
          labels=[0, 1, 2]),
    # d2: fewer than two samples returns nan before y_proba is validated
    *case("one_sample", [0], [.3], _funcs=("d2_log_loss_score",)),
    *case("one_sample_2d", [0], [[.3, .1]], _funcs=("d2_log_loss_score",)),
    *case("one_sample_nan", [0], [[np.nan, .1]], _funcs=("d2_log_loss_score",)),
    *case("one_sample_gt1", [0], [[1.5, .1]], _funcs=("d2_log_loss_score",)),
    *case("one_sample_log_loss", [0], [[.3, .7]], labels=[0, 1], _funcs=("log_loss",)),
    *case("one_sample_length_mismatch", [0, 1], [.3], _funcs=("d2_log_loss_score",)),
    *case("d2_one_class_labels", [1, 1], [.8, .9], labels=[0, 1]),
    *case("d2_weights_zero_sum", [0, 1], [.8, .9], sample_weight=[1, -1]),
    # d2: the null model's loss is 0 (Python's ZeroDivisionError) or ~N·eps (huge scores)
    *case("d2_multilabel_all_zero", [[0, 0], [0, 0]], [[.9, .1], [.2, .8]],
          _funcs=("d2_log_loss_score",)),
    *case("d2_multilabel_zero_column", [[0, 0], [0, 1]], [[.9, .1], [.2, .8]],
          _funcs=("d2_log_loss_score",)),
    *case("d2_multilabel_constant", [[1, 1], [1, 1]], [[.9, .1], [.2, .8]],
          _funcs=("d2_log_loss_score",)),
    *case("d2_zero_weight_class", [0, 1, 1], [.9, .2, .5], sample_weight=[0, 1, 1]),
    *case("d2_zero_weight_class_f16", [0, 1, 1], np.array([.9, .2, .5], dtype=F16),
          sample_weight=[0, 1, 1]),
]


@pytest.mark.parametrize("func, args, kwargs, messages, ignore", CASES)
def test_case(impl, func, args, kwargs, messages, ignore):
    compare(func, impl, args, kwargs, messages=messages, ignore=ignore)


# --- pandas ----------------------------------------------------------------------------------

def pandas_cases():
    """(id, args, kwargs, ignore) built when pandas is importable."""
    pd = pytest.importorskip("pandas")
    p = pd.DataFrame({"a": [.2, .7, .1], "b": [.8, .3, .9]})
    y = ["b", "a", "b"]
    cases = {
        "series_str": (pd.Series(y), p),
        "series_object": (pd.Series(y, dtype=object), p),
        "series_string": (pd.Series(y, dtype="string"), p),
        "series_string_python": (pd.Series(y, dtype="string[python]"), p),
        "series_category": (pd.Series(y, dtype="category"), p),
        "series_category_unused": (pd.Series(pd.Categorical(y, categories=["b", "a", "z"])), p),
        "series_int_category": (pd.Series(pd.Categorical([1, 0, 1])), p),
        "series_Int64": (pd.Series([1, 0, 1], dtype="Int64"), p),
        "series_Int64_na": (pd.Series([1, 0, None], dtype="Int64"), p),
        "series_boolean": (pd.Series([True, False, True], dtype="boolean"), p),
        "series_Float64": (pd.Series([1.0, 0.0, 1.0], dtype="Float64"), p),
        "series_bool": (pd.Series([True, False, True]), p),
        "series_str_none": (pd.Series(["b", "a", None]), p),
        "frame_y": (pd.DataFrame({"y": y}), p),
        "frame_Float64": (y, p.astype("Float64")),
        "frame_float32": (y, p.astype(F32)),
        "frame_Float64_na": (y, pd.DataFrame({"a": [.2, None, .1], "b": [.8, .3, .9]},
                                             dtype="Float64")),
        "frame_columns_ignored": (y, p[["b", "a"]]),
        "frame_int": (y, pd.DataFrame({"a": [0, 1, 0], "b": [1, 0, 1]})),
        "series_proba": (pd.Series([1, 0, 1], dtype="Int64"),
                         pd.Series([.8, .3, .9], dtype="Float64")),
        "series_proba_float32": ([1, 0, 1], pd.Series([.8, .3, .9], dtype=F32)),
        "series_proba_na": ([1, 0, 1], pd.Series([.8, .3, None], dtype="Float64")),
        "frame_gt1": (y, pd.DataFrame({"a": [.2, .7, .1], "b": [.8, 1.3, .9]})),
        "frame_multilabel": (pd.DataFrame({"a": [1, 0, 1], "b": [1, 1, 0]}), p),
    }
    with_kw = {
        "weights_series": ((pd.Series(y, index=[5, 6, 7]), p),
                           {"sample_weight": pd.Series([1.0, 2.0, 3.0], index=[1, 2, 3])}),
        "weights_series_Float64": ((y, p), {"sample_weight": pd.Series([1, 2, 3],
                                                                       dtype="Float64")}),
        "weights_series_na": ((y, p), {"sample_weight": pd.Series([1, 2, None],
                                                                  dtype="Float64")}),
        "labels_series": ((pd.Series(y), p), {"labels": pd.Series(["a", "b"])}),
        "labels_series_unsorted": ((pd.Series(y), p), {"labels": pd.Series(["b", "a"])}),
        "labels_index_unsorted": ((pd.Series(y), p), {"labels": pd.Index(["b", "a"])}),
        "labels_categorical": ((y, p), {"labels": pd.Categorical(["a", "b"])}),
    }
    out = [(k, args, {}) for k, args in cases.items()]
    out += [(k, args, kw) for k, (args, kw) in with_kw.items()]
    return out


PANDAS_IDS = ["series_str", "series_object", "series_string", "series_string_python",
              "series_category", "series_category_unused", "series_int_category",
              "series_Int64", "series_Int64_na", "series_boolean", "series_Float64",
              "series_bool", "series_str_none", "frame_y", "frame_Float64", "frame_float32",
              "frame_Float64_na", "frame_columns_ignored", "frame_int", "series_proba",
              "series_proba_float32", "series_proba_na", "frame_gt1", "frame_multilabel",
              "weights_series", "weights_series_Float64", "weights_series_na",
              "labels_series", "labels_series_unsorted", "labels_index_unsorted",
              "labels_categorical"]


@pytest.mark.parametrize("func", FUNCS)
@pytest.mark.parametrize("name", PANDAS_IDS)
def test_pandas_case(impl, func, name):
    cases = {k: (args, kw) for k, args, kw in pandas_cases()}
    args, kwargs = cases[name]
    # NumPy's "invalid value encountered in cast" on the way to a NaN error is not compared
    compare(func, impl, args, kwargs, ignore=RTE)


def test_pandas_case_list_complete():
    pytest.importorskip("pandas")
    assert [k for k, _, _ in pandas_cases()] == PANDAS_IDS


# --- random cases ----------------------------------------------------------------------------

KINDS = ["int64", "int8", "uint16", "int_list", "bool", "float", "str_U", "str_object",
         "str_list", "multilabel"]
ALPHABET = np.array(list("abcXYZ09_ é"))


def random_classes(rng, kind, c):
    """c distinct class values of this kind, sorted as np.unique sorts them."""
    if kind == "bool":
        return np.array([False, True])
    if kind.startswith("str"):
        words = set()
        while len(words) < c:
            words.add("".join(rng.choice(ALPHABET, rng.integers(1, 5))))
        return np.unique(np.array(sorted(words)))
    low, high, dtype = {"int8": (-128, 128, np.int8), "uint16": (0, 65536, np.uint16),
                        "float": (-50, 50, F64)}.get(kind, (-1000, 1000, np.int64))
    return np.sort(rng.choice(np.arange(low, high), c, replace=False)).astype(dtype)


def as_kind(values, kind):
    if kind in ("int_list", "str_list"):
        return values.tolist()
    if kind == "str_object":
        return values.astype(object)
    return values


def random_proba_for(rng, n, c, dtype):
    p = rng.exponential(size=(n, c)) ** rng.choice([1, 3])
    p /= p.sum(axis=1, keepdims=True)
    if n > 1 and rng.random() < 0.3:                  # exact 0 and 1: clipped
        p[rng.integers(0, n)] = np.eye(c)[rng.integers(0, c)]
    if rng.random() < 0.15:                           # a row that does not sum to 1
        p[rng.integers(0, n)] *= 0.9
    return p.astype(dtype)


def random_layout(rng, p):
    layout = rng.choice(["C", "F", "strided", "reversed"])
    if layout == "F":
        return np.asfortranarray(p)
    if layout == "strided":
        big = np.zeros((2 * p.shape[0],) + p.shape[1:], dtype=p.dtype)
        big[::2] = p
        return big[::2]
    if layout == "reversed":
        return np.ascontiguousarray(p[::-1])[::-1]
    return p


def random_call(rng, kind, c, n, func):
    """One random call: (args, kwargs, scale, sklearn-comparable tolerance)."""
    dtype = rng.choice([F64, F64, F32, F16])
    kwargs = {}
    if kind == "multilabel":
        y = rng.integers(0, 2, (n, c))
        if rng.random() < 0.3:
            y = y.astype(bool)
        p = random_proba_for(rng, n, c, dtype)
    else:
        classes = random_classes(rng, kind, c)
        idx = rng.integers(0, c, n)
        mode = rng.choice(["none", "sorted_list", "sorted_array", "shuffled"])
        if mode == "none":
            idx[:min(n, c)] = rng.permutation(c)[:min(n, c)]
        else:
            labels = classes if mode != "shuffled" else rng.permutation(classes)
            kwargs["labels"] = labels.tolist() if mode != "sorted_array" else labels
        y = as_kind(classes[idx], kind)
        p = random_proba_for(rng, n, c, dtype)
        if c == 2 and (func == "log_loss" or dtype == F64):
            form = rng.choice(["2d", "1d", "column"])
            p = p[:, 1] if form == "1d" else p[:, 1:] if form == "column" else p
    if p.ndim == 2:
        p = random_layout(rng, p)
    weights = rng.choice(["none", "positive", "zeros", "negative", "list", "int"])
    scale = None
    if weights == "positive":
        kwargs["sample_weight"] = rng.uniform(0.1, 3.0, n)
    elif weights == "zeros":
        w = rng.uniform(0.1, 3.0, n)
        w[rng.random(n) < 0.3] = 0.0
        kwargs["sample_weight"] = w
    elif weights == "negative" and func == "log_loss" and dtype == F64:
        w = rng.uniform(-1.0, 3.0, n)
        kwargs["sample_weight"] = w
        scale = "abs"
    elif weights == "list":
        kwargs["sample_weight"] = rng.uniform(0.1, 3.0, n).tolist()
    elif weights == "int":
        kwargs["sample_weight"] = rng.integers(1, 4, n)
    if func == "log_loss" and rng.random() < 0.4:
        kwargs["normalize"] = False
    return (y, p), kwargs, scale


def abs_scale(args, kwargs):
    """|Σ w_i l_i| can cancel with negative weights: compare relative to Σ |w_i| l_i
    (divided by |Σ w_i| under normalize)."""
    w = np.asarray(kwargs["sample_weight"])
    kw = dict(kwargs, sample_weight=np.abs(w), normalize=False)
    total = outcome(skm.log_loss, *args, **kw).value
    if total is None:
        return None
    if kwargs.get("normalize", True):
        return total / abs(w.sum()) if w.sum() != 0 else None
    return total


@pytest.mark.parametrize("c, n, kind", [
    (c, n, kind) for c in (2, 3, 10, 57) for n in (1, 2, 7, 1000) for kind in KINDS
    if kind != "bool" or c == 2])                           # bool labels: two classes
def test_random(c, n, kind):
    seed = [c, n, KINDS.index(kind)]
    rng = np.random.default_rng(seed)
    for _ in range(3):
        for func in FUNCS:
            args, kwargs, scale = random_call(rng, kind, c, n, func)
            theirs = outcome(getattr(skm, func), *args, **kwargs)
            if scale == "abs":
                scale = abs_scale(args, kwargs)
            for impl, n_threads in ((xentc, None), (xentc, 2), (reference, None)):
                try:
                    compare(func, impl, args, kwargs, theirs=theirs, scale=scale,
                            n_threads=n_threads)
                except AssertionError as exc:
                    name = "reference" if impl is reference else f"xentc n_threads={n_threads}"
                    raise AssertionError(f"{name} {func} seed={seed} kwargs="
                                         f"{sorted(kwargs)}: {exc}") from None


def test_random_cases_mostly_return_values():
    """The random calls are not all errors: most return a value in scikit-learn."""
    rng = np.random.default_rng(0)
    returned = 0
    total = 0
    for c in (2, 3, 10):
        for kind in ("int64", "str_U", "multilabel"):
            for _ in range(10):
                args, kwargs, _ = random_call(rng, kind, c, 50, "log_loss")
                returned += outcome(skm.log_loss, *args, **kwargs).error is None
                total += 1
    assert returned >= 0.7 * total
