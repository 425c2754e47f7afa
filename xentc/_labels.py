"""Class labels as scikit-learn 1.9's ``LabelBinarizer`` reads them for ``log_loss``, without
its one-hot matrix: the sorted classes and one integer code per sample.

The checks, their order and their messages follow ``sklearn.utils.multiclass.type_of_target``,
``unique_labels`` and ``sklearn.metrics._classification._one_hot_encoding_multiclass_target``;
scikit-learn itself is not imported.  Integer and boolean labels are encoded in O(N) with a
count of the values (no sort) when their range is small, everything else through a sort.
"""

import numbers
import warnings
from collections.abc import Sequence

import numpy as np

__all__ = ["Target", "encode_target", "num_samples", "assert_all_finite"]

# A dense value -> code table is used for integer labels spanning at most this many values
# (or twice the number of samples, if larger).
_DENSE_SPAN = 1 << 20


class Target:
    """Encoded ``y_true``: ``classes`` (sorted), and either ``codes`` (int64 per sample, in
    ``[0, len(classes))``) or ``indicator`` (a multilabel-indicator matrix used as is).
    ``pending`` holds the UserWarning messages to emit once the probabilities have passed
    their checks (scikit-learn checks the probabilities first)."""

    def __init__(self, classes, codes=None, indicator=None, pending=()):
        self.classes = classes
        self.codes = codes
        self.indicator = indicator
        self.pending = list(pending)

    def emit_pending(self, stacklevel):
        for message in self.pending:
            warnings.warn(message, UserWarning, stacklevel=stacklevel + 1)


def num_samples(x):
    """The number of samples of an array-like, with ``sklearn.utils.validation._num_samples``'s
    errors."""
    message = f"Expected sequence or array-like, got {type(x)}"
    if hasattr(x, "fit") and callable(x.fit):
        raise TypeError(message)
    if not hasattr(x, "__len__") and not hasattr(x, "shape"):
        if hasattr(x, "__array__"):
            x = np.asarray(x)
        else:
            raise TypeError(message)
    if hasattr(x, "shape") and x.shape is not None:
        if len(x.shape) == 0:
            raise TypeError(
                "Input should have at least 1 dimension i.e. satisfy `len(x.shape) > 0`, "
                f"got scalar `{x!r}` instead."
            )
        if isinstance(x.shape[0], numbers.Integral):
            return int(x.shape[0])
    try:
        return len(x)
    except TypeError as error:
        raise TypeError(message) from error


def assert_all_finite(a, input_name=""):
    """scikit-learn's NaN / infinity errors for a float array."""
    if a.dtype.kind not in "fc" or a.size == 0:
        return
    if np.isfinite(a).all():
        return
    name = f"{input_name} " if input_name else ""
    if np.isnan(a).any():
        raise ValueError(f"Input {name}contains NaN.")
    raise ValueError(f"Input {name}contains infinity or a value too large for {a.dtype!r}.")


def as_array(y, dtype=None):
    """``np.asarray`` with the conversions scikit-learn's ``check_array`` makes: pandas
    extension columns become NumPy (NA as NaN), ragged sequences object arrays, complex data
    an error."""
    try:
        a = np.asarray(y, dtype=dtype)
    except ValueError:
        if dtype is not None:
            raise
        a = np.asarray(y, dtype=object)  # ragged: NEP 34
    except TypeError:
        if not hasattr(y, "to_numpy"):
            raise
        a = y.to_numpy(dtype=dtype, na_value=np.nan)
    if a.dtype == object and hasattr(y, "to_numpy") and _all_numeric_columns(y):
        a = y.to_numpy(dtype=np.float64, na_value=np.nan)
    if a.dtype.kind == "c":
        raise ValueError(f"Complex data not supported\n{a}\n")
    return a


def _all_numeric_columns(frame):
    dtypes = getattr(frame, "dtypes", None)
    if dtypes is None:
        dtypes = [frame.dtype]
    try:
        return all(getattr(d, "kind", "O") in "biuf" for d in dtypes)
    except TypeError:
        return False


def _unique(a):
    """Sorted unique values of a label array (integers by counting when their span is small)."""
    span = _int_span(a) if a.ndim == 1 else None
    if span is None:
        return np.unique(a)
    lo, hi, shifted = span
    present = np.flatnonzero(np.bincount(shifted, minlength=hi - lo + 1))
    values = present + lo
    return values.astype(np.uint8).view(np.bool_) if a.dtype == np.bool_ else values.astype(a.dtype)


def _int_span(a, extra=None):
    """For a non-empty 1-D integer or boolean array ``a`` (and the integers ``extra``): ``(lo,
    hi, a - lo)``, the last as int64 (``a`` itself when it is int64 and ``lo`` is 0), or None
    when ``a`` is not of that kind or the span is too large for a dense table."""
    if a.dtype.kind not in "biu" or a.size == 0:
        return None
    v = a.view(np.uint8) if a.dtype == np.bool_ else a
    lo, hi = int(v.min()), int(v.max())
    if extra is not None and extra.size:
        lo, hi = min(lo, int(extra.min())), max(hi, int(extra.max()))
    if hi - lo > max(_DENSE_SPAN, 2 * a.size):
        return None
    shifted = v.astype(np.int64, copy=False)
    return lo, hi, shifted - lo if lo else shifted


def _is_multilabel(y):
    if not (y.ndim == 2 and y.shape[1] > 1):
        return False
    labels = np.unique(y)
    return labels.shape[0] < 3 and (
        y.dtype.kind in "biu" or (y.dtype.kind == "f" and _is_integral(labels))
    )


def _is_integral(values):
    with np.errstate(invalid="ignore"):
        return bool(np.all(values == values.astype(np.int64)))


def target_type(y_raw, y=None, input_name=""):
    """``sklearn.utils.multiclass.type_of_target`` for NumPy-convertible inputs.  ``y`` is
    ``y_raw`` already converted by ``as_array``, if at hand."""
    if not ((isinstance(y_raw, Sequence) or hasattr(y_raw, "__array__"))
            and not isinstance(y_raw, str)):
        raise ValueError(f"Expected array-like (array or non-string sequence), got {y_raw!r}")
    if type(y_raw).__name__ in ("SparseSeries", "SparseArray"):
        raise ValueError("y cannot be class 'SparseSeries' or 'SparseArray'")
    if y is None:
        y = as_array(y_raw)
    if _is_multilabel(y):
        return "multilabel-indicator"
    first = y[0] if y.ndim >= 1 and y.shape[0] else None
    if isinstance(first, bytes):
        raise TypeError(
            "Support for labels represented as bytes is not supported. Convert the labels to "
            "a string or integer format."
        )
    if (first is not None and not hasattr(first, "__array__") and isinstance(first, Sequence)
            and not isinstance(first, str)):
        raise ValueError(
            "You appear to be using a legacy multi-label data representation. Sequence of "
            "sequences are no longer supported; use a binary array or sparse matrix instead "
            "- the MultiLabelBinarizer transformer can convert to this format."
        )
    if y.ndim not in (1, 2):
        return "unknown"
    if not min(y.shape):
        return "binary" if y.ndim == 1 else "unknown"
    if y.dtype == object and not isinstance(y.flat[0], str):
        return "unknown"
    suffix = "-multioutput" if y.ndim == 2 and y.shape[1] > 1 else ""
    if y.dtype.kind == "f" and not _is_integral(y):
        assert_all_finite(y, input_name)
        return "continuous" + suffix
    if _unique(y).shape[0] > 2 or (y.ndim == 2 and len(first) > 1):
        return "multiclass" + suffix
    return "binary"


def _unique_labels(y_raw, y, kind):
    """``sklearn.utils.multiclass.unique_labels`` of one target of type ``kind``."""
    if kind == "multilabel-indicator":
        return np.arange(y.shape[1])
    if kind not in ("binary", "multiclass"):
        raise ValueError(f"Unknown label type: {(y_raw,)!r}")
    values = set(_unique(y)) if hasattr(y_raw, "__array__") else set(y_raw)
    if len({isinstance(v, str) for v in values}) > 1:
        raise ValueError(
            f"Mix of label input types (string and number); Got {np.unique(y_raw)}."
        )
    if hasattr(y_raw, "__array__") and y.dtype.kind in "biuf":
        return _unique(y)  # already sorted and of y's dtype, as np.asarray(sorted(...)) is
    return np.asarray(sorted(values))


def _fit_classes(y_raw):
    """``LabelBinarizer().fit(y_raw).classes_`` and the target type."""
    y = as_array(y_raw)
    kind = target_type(y_raw, y, input_name="y")
    if "multioutput" in kind:
        raise ValueError("Multioutput target data is not supported with label binarization")
    if num_samples(y_raw) == 0:
        raise ValueError(f"y has 0 samples: {y_raw!r}")
    return _unique_labels(y_raw, y, kind), kind, y


def _codes(y, classes):
    """The index of each of ``y``'s values in the sorted ``classes``; -1 where a value is not
    a class."""
    if classes.dtype.kind in "biu":
        span = _int_span(y, classes.astype(np.int64))
        if span is not None:
            lo, hi, shifted = span
            k = classes.size
            if lo == 0 and hi < k and classes[0] == 0 and classes[-1] == k - 1:
                return shifted  # the labels are their own codes (no copy of int64 labels)
            table = np.full(hi - lo + 1, -1, np.int64)
            table[classes.astype(np.int64) - lo] = np.arange(k)
            return table[shifted]
    try:
        idx = np.searchsorted(classes, y)
        found = np.take(classes, np.minimum(idx, classes.size - 1)) == y
    except TypeError:  # labels of another kind (strings against numbers)
        return np.full(y.shape[0], -1, np.int64)
    return np.where(found, idx, -1).astype(np.int64, copy=False)


def encode_target(y_true, labels):
    """``y_true`` encoded against the classes of ``labels`` (or of ``y_true``), with the
    checks of scikit-learn's ``_one_hot_encoding_multiclass_target``."""
    pending = []
    if labels is not None:
        classes, _, _ = _fit_classes(labels)
        if not np.all(classes == as_array(labels)):
            pending.append(
                f"Labels passed were {labels}. But this function assumes labels are ordered "
                f"lexicographically. Pass the ordered labels={classes.tolist()} and ensure "
                "that the columns of y_prob correspond to this ordering."
            )
        y = as_array(y_true)
        codes = None
        if y.ndim == 1 or (y.ndim == 2 and y.shape[1] == 1):
            codes = _codes(y.reshape(-1), classes)
            missing = bool((codes < 0).any())
        else:
            missing = not bool(np.all(np.isin(y, as_array(labels))))
        if missing:
            undeclared = set(y_true) - set(labels)
            raise ValueError(
                f"y_true contains values {undeclared} not belonging to the passed labels "
                f"{labels}."
            )
        kind = "multiclass"
    else:
        classes, kind, y = _fit_classes(y_true)
        codes = None
    if classes.shape[0] == 1:
        if labels is None:
            raise ValueError(
                f"y_true contains only one label ({classes[0]}). Please provide the list of "
                "all expected class labels explicitly through the labels argument."
            )
        raise ValueError(
            f"The labels array needs to contain at least two labels, got {classes}."
        )
    # LabelBinarizer.transform(y_true)
    y_kind = kind if labels is None else target_type(y_true, y)
    if y_kind == "multilabel-indicator":
        if kind != "multilabel-indicator":
            raise ValueError("The object was not fitted with multilabel input.")
        return Target(classes, indicator=y, pending=pending)
    if not isinstance(y_true, list):
        assert_all_finite(y, "y") if y.dtype.kind == "f" else None
    if "multioutput" in y_kind:
        raise ValueError("Multioutput target data is not supported with label binarization")
    if y_kind == "unknown":
        raise ValueError("The type of target data is not known")
    if codes is None:
        codes = _codes(y.reshape(-1), classes)
    return Target(classes, codes=codes, pending=pending)
