"""Class labels as scikit-learn 1.9's ``LabelBinarizer`` reads them for ``log_loss``, without
its one-hot matrix: the sorted classes and one integer code per sample.

The checks, their order and their messages follow ``sklearn.utils.multiclass.type_of_target``,
``unique_labels`` and ``sklearn.metrics._classification._one_hot_encoding_multiclass_target``;
scikit-learn itself is not imported.  Labels are encoded in O(N) without a sort of the
samples: integers and booleans from their range and the values present (when the range is
small), strings and other objects with a hash table; only the distinct values are sorted.
"""

import numbers
import warnings
from collections.abc import Sequence

import numpy as np

from . import _core

__all__ = ["Target", "encode_target", "num_samples", "assert_all_finite"]

# A dense value -> code table is used for integer labels spanning at most this many values
# (or twice the number of samples, if larger).
_DENSE_SPAN = 1 << 20


def code_dtype(n):
    """The integer type of the class codes of n samples (4 bytes per sample where it fits)."""
    return np.int32 if n < 2**31 else np.int64


class Target:
    """Encoded ``y_true``: ``classes`` (sorted), and either ``codes`` (int32 or int64 per
    sample, in ``[0, len(classes))``) or ``indicator`` (a multilabel-indicator matrix used as is).
    ``pending`` holds the UserWarning messages to emit once the probabilities have passed
    their checks (scikit-learn checks the probabilities first)."""

    def __init__(self, classes, codes=None, indicator=None, pending=(), unchecked=None,
                 error=None):
        self.classes = classes
        self.codes = codes
        self.indicator = indicator
        self.pending = list(pending)
        # (y_true, labels) when the codes are the labels themselves, not yet checked against
        # [0, len(classes)): the kernel counts those out of range
        self.unchecked = unchecked
        # an error scikit-learn raises after the pending warnings (the caller raises it once
        # the probabilities are checked and the warnings emitted)
        self.error = error

    def raise_if_undeclared(self):
        """The error for labels of y_true that are not classes, if the codes were unchecked
        and some are out of range."""
        if self.unchecked is not None and not _in_range(self.codes, self.classes.size):
            _raise_undeclared(*self.unchecked)

    def emit_pending(self, stacklevel):
        """Emit the pending warnings (``stacklevel`` None: leave them to the caller)."""
        if stacklevel is None:
            return
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


class _Labels:
    """A label array with its sorted distinct values and, for 1-D (or one-column) arrays, the
    index of each element among them, computed once: integers and booleans from their range
    and the values present (when the range is small), strings and objects with a hash
    table, other dtypes by ``np.unique``."""

    def __init__(self, a, n_threads=1):
        self.a = a
        self.n_threads = n_threads
        self._unique = self._inverse = None

    def unique(self):
        if self._unique is None:
            self._factorize()
        return self._unique

    def inverse(self):
        if self._inverse is None:
            self._factorize()
        return self._inverse

    def _factorize(self):
        a = self.a
        if a.ndim == 2 and a.shape[1] == 1:
            a = a.reshape(-1)
        if a.ndim != 1:
            self._unique = np.unique(a)
            return
        ints = _IntLabels.of(a, n_threads=self.n_threads)
        if ints is not None:
            present = np.flatnonzero(ints.presence())
            v = ints.v
            values = present.astype(v.dtype) + v.dtype.type(ints.lo)  # lo is a value of v
            self._unique = values.view(np.bool_) if a.dtype == np.bool_ else values
            if ints.lo == 0 and present.size == ints.hi + 1:
                self._inverse = ints.shifted()  # the values are their own indices
            else:
                table = np.full(ints.hi - ints.lo + 1, -1, code_dtype(present.size))
                table[present] = np.arange(present.size)
                self._inverse = table[ints.shifted()]
            return
        codes = np.empty(a.size, code_dtype(a.size))
        if a.dtype.kind in "US" and a.size and a.itemsize:
            records = np.ascontiguousarray(a).view(np.uint8).reshape(a.size, a.itemsize)
            first = _core.factorize_records(records, codes)
        elif a.dtype == object:
            first = _core.factorize_objects(a, codes)
        else:
            self._unique, self._inverse = np.unique(a, return_inverse=True)
            return
        distinct = a[first]
        order = np.argsort(distinct, kind="stable")
        rank = np.empty(order.size, codes.dtype)
        rank[order] = np.arange(order.size)
        _core.remap_codes(codes, rank, 1)  # first-appearance codes -> sorted codes, in place
        self._unique, self._inverse = distinct[order], codes


class _IntLabels:
    """A non-empty 1-D integer or boolean label array ``v`` (booleans viewed as uint8) whose
    values, together with the integers ``extra``, span ``lo .. hi``, a range small enough
    for a table indexed by ``value - lo``.  int32 / int64 labels are read by one-pass
    parallel kernels; other integer types through NumPy."""

    def __init__(self, v, lo, hi, n_threads):
        self.v, self.lo, self.hi, self.n_threads = v, lo, hi, n_threads
        self.native = v.dtype in (np.int32, np.int64)

    @classmethod
    def of(cls, a, extra=None, n_threads=1):
        """The labels ``a`` (1-D) as _IntLabels, or None if they are not integers or
        booleans or their span is too large for a table."""
        if a.dtype.kind not in "biu" or a.size == 0:
            return None
        v = a.view(np.uint8) if a.dtype == np.bool_ else a
        if v.dtype in (np.int32, np.int64):
            lo, hi = _core.label_range(v, n_threads)
        else:
            lo, hi = int(v.min()), int(v.max())
        if extra is not None and extra.size:
            lo, hi = min(lo, int(extra.min())), max(hi, int(extra.max()))
        if hi - lo > max(_DENSE_SPAN, 2 * a.size):
            return None
        return cls(v, lo, hi, n_threads)

    def presence(self):
        """Which of the values lo .. hi occur (a bool array)."""
        span = self.hi - self.lo + 1
        if self.native:
            return _core.label_presence(self.v, self.lo, span, self.n_threads)
        return np.bincount(self.shifted(), minlength=span) > 0

    def shifted(self):
        """``v - lo`` as int32 or int64 (``v`` itself when it is one of them and ``lo`` is
        0)."""
        if self.lo == 0 and self.native:
            return self.v
        shifted = np.empty(self.v.size, code_dtype(self.hi - self.lo + 1))
        # v - lo in the codes' type, modulo 2^bits where v or lo do not fit it: the
        # difference itself, in [0, hi - lo], always does
        bits = 8 * shifted.itemsize
        lo_wrapped = np.array(self.lo % 2**bits, np.uint64).astype(shifted.dtype)
        np.copyto(shifted, self.v, casting="unsafe")
        shifted -= lo_wrapped
        return shifted


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


def target_type(y_raw, labels=None, input_name=""):
    """``sklearn.utils.multiclass.type_of_target`` for NumPy-convertible inputs, except that
    "binary" targets are reported as "multiclass".  ``labels`` is
    ``_Labels(as_array(y_raw))``, if at hand."""
    if not ((isinstance(y_raw, Sequence) or hasattr(y_raw, "__array__"))
            and not isinstance(y_raw, str)):
        raise ValueError(f"Expected array-like (array or non-string sequence), got {y_raw!r}")
    if type(y_raw).__name__ in ("SparseSeries", "SparseArray"):
        raise ValueError("y cannot be class 'SparseSeries' or 'SparseArray'")
    if labels is None:
        labels = _Labels(as_array(y_raw))
    y = labels.a
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
    # scikit-learn tells "binary" from "multiclass" by the number of distinct values; nothing
    # here depends on the difference, so both are "multiclass" (and y is not read again)
    return "multiclass" + suffix


def _unique_labels(y_raw, labels, kind):
    """``sklearn.utils.multiclass.unique_labels`` of one target of type ``kind``."""
    if kind == "multilabel-indicator":
        return np.arange(labels.a.shape[1])
    if kind not in ("binary", "multiclass"):
        raise ValueError(f"Unknown label type: {(y_raw,)!r}")
    if hasattr(y_raw, "__array__"):
        classes = labels.unique()
        if classes.dtype != object:
            return classes  # sorted, of the labels' dtype, as np.asarray(sorted(set(...)))
        values = set(classes)
    else:
        values = set(y_raw)
    if len({isinstance(v, str) for v in values}) > 1:
        raise ValueError(
            f"Mix of label input types (string and number); Got {np.unique(y_raw)}."
        )
    return np.asarray(sorted(values))


def _fit_classes(y_raw, n_threads=1):
    """``LabelBinarizer().fit(y_raw).classes_``, the target type and the labels."""
    labels = _Labels(as_array(y_raw), n_threads)
    kind = target_type(y_raw, labels, input_name="y")
    if "multioutput" in kind:
        raise ValueError("Multioutput target data is not supported with label binarization")
    if num_samples(y_raw) == 0:
        raise ValueError(f"y has 0 samples: {y_raw!r}")
    return _unique_labels(y_raw, labels, kind), kind, labels


def _codes(labels, classes):
    """The index of each label (a 1-D or one-column array) in the sorted ``classes``; -1
    where a label is not a class."""
    a = labels.a.reshape(-1)
    if labels._inverse is None and classes.dtype.kind in "biu":
        ints = _IntLabels.of(a, classes.astype(np.int64), labels.n_threads)
        if ints is not None:  # one table lookup, no pass to find the labels' own values
            k = classes.size
            if ints.lo == 0 and ints.hi < k and classes[0] == 0 and classes[-1] == k - 1:
                return ints.shifted()  # the labels are their own codes
            table = np.full(ints.hi - ints.lo + 1, -1, code_dtype(k))
            table[classes.astype(np.int64) - ints.lo] = np.arange(k)
            return table[ints.shifted()]
    distinct = labels.unique()
    if distinct is classes:
        return labels.inverse()
    try:
        pos = np.searchsorted(classes, distinct)
        found = np.take(classes, np.minimum(pos, classes.size - 1)) == distinct
    except TypeError:  # labels of another kind (strings against numbers)
        return np.full(a.shape[0], -1, np.int32)
    inverse = labels.inverse()
    mapping = np.where(found, pos, -1).astype(inverse.dtype)
    if np.shares_memory(inverse, labels.a):  # the labels themselves: not to be modified
        return mapping[inverse]
    if not (inverse.flags.c_contiguous and inverse.flags.writeable):
        return mapping[inverse]
    _core.remap_codes(inverse, mapping, 1)
    return inverse


def _in_range(codes, k):
    return codes.size == 0 or (int(codes.min()) >= 0 and int(codes.max()) < k)


def _raise_undeclared(y_true, labels):
    undeclared = set(y_true) - set(labels)
    raise ValueError(
        f"y_true contains values {undeclared} not belonging to the passed labels {labels}."
    )


def encode_target(y_true, labels, n_threads=1):
    """``y_true`` encoded against the classes of ``labels`` (or of ``y_true``), with the
    checks of scikit-learn's ``_one_hot_encoding_multiclass_target``.  An error that
    scikit-learn raises after its unsorted-labels warning is returned in ``Target.error``."""
    pending = []
    if labels is None:
        return _encode(y_true, None, pending, n_threads=n_threads)
    classes, pending = sorted_labels(labels)
    try:
        return _encode(y_true, labels, pending, classes, n_threads)
    except Exception as exc:
        if not pending:
            raise
        return Target(classes, pending=pending, error=exc)


def sorted_labels(labels):
    """The classes of ``labels``, sorted, and scikit-learn's warning (a list of at most one
    message) if ``labels`` was not sorted."""
    classes, _, _ = _fit_classes(labels)
    if np.all(classes == as_array(labels)):
        return classes, []
    return classes, [
        f"Labels passed were {labels}. But this function assumes labels are ordered "
        f"lexicographically. Pass the ordered labels={classes.tolist()} and ensure that the "
        "columns of y_prob correspond to this ordering."
    ]


def _encode(y_true, labels, pending, classes=None, n_threads=1):
    if labels is not None:
        y = _Labels(as_array(y_true), n_threads)
        codes = unchecked = None
        one_column = y.a.ndim == 1 or (y.a.ndim == 2 and y.a.shape[1] == 1)
        k = classes.size
        if (one_column and k >= 2 and y.a.dtype.kind in "iu" and classes.dtype.kind in "iu"
                and classes[0] == 0 and classes[-1] == k - 1):
            # integer labels against the classes 0..k-1 are their own codes: no pass here,
            # the kernel counts those out of range (other integer types are converted to
            # int64, which keeps values out of range out of range)
            codes = y.a.reshape(-1)
            if codes.dtype not in (np.int32, np.int64):
                codes = codes.astype(np.int64)
            unchecked = (y_true, labels)
        elif one_column:
            codes = _codes(y, classes)
            if not _in_range(codes, k):
                _raise_undeclared(y_true, labels)
        elif not np.all(np.isin(y.a, as_array(labels))):
            _raise_undeclared(y_true, labels)
        kind = "multiclass"
    else:
        classes, kind, y = _fit_classes(y_true, n_threads)
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
        return Target(classes, indicator=y.a, pending=pending)
    if not isinstance(y_true, list) and y.a.dtype.kind == "f":
        assert_all_finite(y.a, "y")
    if "multioutput" in y_kind:
        raise ValueError("Multioutput target data is not supported with label binarization")
    if y_kind == "unknown":
        raise ValueError("The type of target data is not known")
    if codes is None:
        codes = _codes(y, classes)
    return Target(classes, codes=codes, pending=pending,
                  unchecked=unchecked if labels is not None else None)
