"""scikit-learn's ``log_loss`` and ``d2_log_loss_score`` (1.9.1 semantics), without the one-hot
matrix: labels are encoded once, then one kernel pass over the probabilities checks their
range and row sums and sums the clipped log-likelihood of each sample's class."""

import functools
import inspect
import math
import sys
import warnings

import numpy as np

from . import _core
from ._labels import Target, as_array, assert_all_finite, encode_target, num_samples
from ._threads import effective_n_threads

__all__ = ["log_loss", "d2_log_loss_score", "InvalidParameterError", "UndefinedMetricWarning"]

# Rows of a multilabel-indicator target handled per NumPy block (bounds the temporaries).
_INDICATOR_BLOCK_ROWS = 1 << 14


class InvalidParameterError(ValueError, TypeError):
    """A parameter of the wrong type or value (scikit-learn's ``InvalidParameterError``:
    both a ValueError and a TypeError)."""


class UndefinedMetricWarning(UserWarning):
    """A metric that is not defined for the input (scikit-learn's warning of that name)."""


_COMPATIBLE = {}


def _sklearn_compatible(ours, module):
    """``ours`` or, where scikit-learn is already imported, a subclass of both ``ours`` and
    scikit-learn's class of the same name, so that code catching either keeps working.
    Never imports scikit-learn."""
    theirs = getattr(sys.modules.get(module), ours.__name__, None)
    if theirs is None:
        return ours
    if theirs not in _COMPATIBLE:
        _COMPATIBLE[theirs] = type(ours.__name__, (ours, theirs),
                                   {"__module__": __name__, "__doc__": ours.__doc__})
    return _COMPATIBLE[theirs]


def _sklearn_signature(func):
    """Bind the arguments of a call as scikit-learn's ``validate_params`` does first, so that
    positional or unknown arguments fail with its messages (``too many positional arguments``,
    ``got an unexpected keyword argument 'eps'``)."""
    signature = inspect.signature(func)
    known = set(signature.parameters)

    @functools.wraps(func)
    def wrapper(*args, **kwargs):
        if len(args) > 2 or not known.issuperset(kwargs):
            try:
                signature.bind(*args, **kwargs)
            except TypeError as exc:
                raise TypeError(str(exc)) from None
        return func(*args, **kwargs)

    return wrapper


_DEPRECATED = "deprecated"


def _is_array_like(x):
    return (hasattr(x, "__len__") or hasattr(x, "shape") or hasattr(x, "__array__")) \
        and not np.isscalar(x)


def _check_params(func, y_true, y_proba, sample_weight, labels, y_pred, normalize=True):
    """The parameter constraints of scikit-learn's ``@validate_params``, in its order."""
    def fail(name, expected, value):
        error = _sklearn_compatible(InvalidParameterError, "sklearn.utils._param_validation")
        raise error(
            f"The '{name}' parameter of {func} must be {expected}. Got {value!r} instead."
        )
    if not _is_array_like(y_true):
        fail("y_true", "an array-like", y_true)
    if y_proba is not None and not _is_array_like(y_proba):
        fail("y_proba", "an array-like", y_proba)
    if not isinstance(normalize, (bool, np.bool_)):
        fail("normalize", "an instance of 'bool' or an instance of 'numpy.bool'", normalize)
    if sample_weight is not None and not _is_array_like(sample_weight):
        fail("sample_weight", "an array-like or None", sample_weight)
    if labels is not None and not _is_array_like(labels):
        fail("labels", "an array-like or None", labels)
    if not (_is_array_like(y_pred) or isinstance(y_pred, str)):
        fail("y_pred", "an array-like or an instance of 'str'", y_pred)


def _resolve_y_pred(y_proba, y_pred):
    if isinstance(y_pred, str) and y_pred == _DEPRECATED:
        return y_proba
    if y_proba is not None:
        raise ValueError(
            "Cannot use both `y_pred` and `y_proba`. `y_pred` is deprecated, use `y_proba` "
            "instead."
        )
    warnings.warn(
        "`y_pred` was renamed to `y_proba` in version 1.9 and will be removed in 1.11. Use "
        "`y_proba` instead.",
        FutureWarning,
        stacklevel=3,
    )
    return y_pred


def _as_probabilities(y_proba, allow_empty=False):
    """``check_array(y_proba, ensure_2d=False, dtype=<float dtypes>)`` without its value scan
    (the kernel does that): float16/32/64 kept, anything else converted to float64.  A part
    of a larger problem (``allow_empty``) may have no rows."""
    if y_proba is None:  # what check_array makes of None
        raise ValueError("Input contains NaN.")
    try:
        p = as_array(y_proba)
    except ValueError:  # complex data: an array's error is as_array's, a list's NumPy's
        if not isinstance(y_proba, np.ndarray):
            np.asarray(y_proba, dtype=np.float64)  # TypeError, as scikit-learn's
        raise
    if p.dtype.kind not in "f" or p.dtype.itemsize > 8:
        p = as_array(y_proba, dtype=np.float64)
    elif not p.dtype.isnative:  # e.g. a big-endian file: the kernels read native floats
        p = p.astype(p.dtype.newbyteorder("="))
    if p.ndim > 2:
        raise ValueError(f"Found array with dim {p.ndim}, while dim <= 2 is required.")
    num_samples(p)  # a 0-d array: scikit-learn's TypeError
    if p.shape[0] == 0 and not allow_empty:
        raise ValueError(
            f"Found array with 0 sample(s) (shape={p.shape}) while a minimum of 1 is required."
        )
    if p.ndim == 2 and p.shape[1] == 0:
        raise ValueError(
            f"Found array with 0 feature(s) (shape={p.shape}) while a minimum of 1 is "
            "required."
        )
    return p


def _check_probability_values(p):
    """scikit-learn's errors for non-finite values and values outside [0, 1], in its order
    (the slow path, taken only where the kernel or another check found a problem)."""
    assert_all_finite(p)
    if p.max() > 1:
        raise ValueError(f"y_prob contains values greater than 1: {p.max()}")
    if p.min() < 0:
        raise ValueError(f"y_prob contains values lower than 0: {p.min()}")


def _as_sample_weight(sample_weight, n, n_threads, allow_all_zero=False):
    """``_check_sample_weight(sample_weight, y_prob, force_float_dtype=False)``'s checks; the
    weights as float64 and their sum (one pass over them).  A part of a larger problem
    (``allow_all_zero``) may weigh nothing."""
    w = as_array(sample_weight)
    if w.dtype.kind not in "biuf":
        raise TypeError(f"sample_weight must be numeric, got an array of dtype {w.dtype}")
    if w.ndim > 2:
        raise ValueError(f"Found array with dim {w.ndim}. None expected <= 2.")
    w64 = np.ascontiguousarray(w, dtype=np.float64)
    total, n_not_finite, n_nonzero = _core.checked_sum(w64.reshape(-1), n_threads)
    if n_not_finite:
        assert_all_finite(w, "sample_weight")
    if w.ndim != 1:
        raise ValueError(
            f"Sample weights must be 1D array or scalar, got {w.ndim}D array. Expected either "
            f"a scalar value or a 1D array of length {n}."
        )
    if w.shape != (n,):
        raise ValueError(f"sample_weight.shape == {w.shape}, expected {(n,)}!")
    if not allow_all_zero and n_nonzero == 0:
        raise ValueError("Sample weights must contain at least one non-zero number.")
    return w64, total


def _labels_as_codes(y_true, n_cols):
    """``y_true`` as class codes, where it may be its own codes: a 1-D int32 / int64 array
    whose first values lie in [0, n_cols) (the kernel checks the others); else None."""
    if not (isinstance(y_true, np.ndarray) and y_true.ndim == 1
            and y_true.dtype in (np.int32, np.int64)):
        return None
    head = y_true[:64]
    if head.size and (head.min() < 0 or head.max() >= n_cols):
        return None
    return np.ascontiguousarray(y_true)


def _rows_off(P, tol):
    """Whether some row of P (2-D, or 1-D binary) does not sum to 1 within tol (slow path)."""
    if P.ndim == 1 or P.shape[1] == 1:
        return False
    return bool(np.any(np.abs(P.sum(axis=1, dtype=np.float64) - 1.0) > tol))


class _Scored:
    """A validated ``log_loss`` problem: the per-sample losses' (weighted) sum, the weights,
    the encoded target and the clipping bounds.

    With ``part=True`` the problem is one part of a larger one (``log_loss_partial``): it may
    have no rows or weigh nothing, the losses of the samples are kept (``losses``, unless
    ``keep_losses`` is False), and the rows that fail the row-sum check are counted
    (``n_rows_off``), not warned about.
    """

    def __init__(self, y_true, y_proba, sample_weight, labels, n_threads, stacklevel,
                 part=False, keep_losses=True):
        n_threads = effective_n_threads(n_threads)
        p = _as_probabilities(y_proba, allow_empty=part)
        P = p.reshape(-1, 1) if p.ndim == 1 else p
        n_cols = 2 if P.shape[1] == 1 else P.shape[1]
        if any(s % P.itemsize for s in P.strides):
            P = np.ascontiguousarray(P)
        kernel_p = P.astype(np.float32) if P.dtype == np.float16 else P

        eps = float(np.finfo(p.dtype).eps)
        self.eps, self.lo, self.hi = eps, eps, float(p.dtype.type(1) - p.dtype.type(eps))
        tol = 1e-8 + math.sqrt(eps)
        empty_w = np.empty(0, np.float64)
        self.losses = np.empty(num_samples(p) if part and keep_losses else 0, np.float64)

        scored = None  # the kernel's results, where it already ran
        try:
            n = num_samples(p)
            lengths = [n, num_samples(y_true)]
            if sample_weight is not None:
                lengths.append(num_samples(sample_weight))
            if len(set(lengths)) > 1:
                raise ValueError(
                    f"Found input variables with inconsistent numbers of samples: {lengths}"
                )
            w, self.weight_sum = None, float(n)
            if sample_weight is not None:
                w, self.weight_sum = _as_sample_weight(sample_weight, n, n_threads, part)
            codes = _labels_as_codes(y_true, n_cols) if labels is None else None
            if codes is not None:
                # integer labels that may be the classes 0..C-1 themselves: one kernel pass
                # checks that they are (each in range, each class present) while it scores
                seen = np.zeros(n_cols, np.uint8)
                scored = _core.log_loss_rows(
                    kernel_p, codes, empty_w if w is None else w, self.lo, self.hi, tol,
                    n_threads, self.losses if self.losses.size else None, seen)
                if scored[1] or scored[3] or not seen.all():
                    scored = None  # or not: the labels are encoded and the rows scored again
            if scored is not None:
                target = Target(np.arange(n_cols, dtype=codes.dtype), codes=codes)
            else:
                target = encode_target(y_true, labels, n_threads)
        except Exception:
            _check_probability_values(p)  # scikit-learn checks the probabilities first
            raise
        if target.error is not None:  # raised by scikit-learn after the labels warning
            _check_probability_values(p)
            target.emit_pending(stacklevel)
            raise target.error

        n_classes = target.classes.shape[0]
        if n_classes != n_cols:
            _check_probability_values(p)
            target.emit_pending(stacklevel)
            target.raise_if_undeclared()
            if stacklevel is not None and _rows_off(P, tol):
                warn_row_sums(stacklevel)
            if labels is None:
                raise class_count_error(target.classes, n_cols)
            raise ValueError(
                "The number of classes in labels is different from that in y_prob. Classes "
                f"found in labels: {target.classes}"
            )

        if part and target.codes is None:
            raise ValueError(
                "log_loss_partial needs one label per sample; a multilabel-indicator y_true "
                "is not supported"
            )
        if scored is not None:
            total, n_bad, n_off, n_bad_code = scored
        elif target.codes is not None:
            codes = np.ascontiguousarray(target.codes)  # labels may be a strided view
            total, n_bad, n_off, n_bad_code = _core.log_loss_rows(
                kernel_p, codes, empty_w if w is None else w, self.lo, self.hi, tol, n_threads,
                self.losses if self.losses.size else None)
        else:  # multilabel indicator: the kernel checks P, the loss is summed here by blocks
            checks_codes = np.zeros(n, np.int32) if P.shape[1] == 1 else np.empty(0, np.int32)
            _, n_bad, n_off, n_bad_code = _core.log_loss_rows(
                kernel_p, checks_codes, empty_w, self.lo, self.hi, tol, n_threads)
            total = 0.0 if n_bad else self._indicator_sum(P, target.indicator, w)
        if n_bad:
            _check_probability_values(p)
        target.emit_pending(stacklevel)
        if n_bad_code:
            target.raise_if_undeclared()
        if n_off and not part:
            warn_row_sums(stacklevel)
        self.total, self.weights, self.target, self.n = total, w, target, n
        self.n_rows_off = n_off

    def _indicator_sum(self, P, T, w):
        """Σ_i w_i Σ_c -T_ic log(clip(P_ic)) over row blocks, in float64."""
        parts = []
        for r0 in range(0, P.shape[0], _INDICATOR_BLOCK_ROWS):
            blk = P[r0:r0 + _INDICATOR_BLOCK_ROWS].astype(np.float64)
            if blk.shape[1] == 1:
                blk = np.concatenate([1.0 - blk, blk], axis=1)
            t = T[r0:r0 + _INDICATOR_BLOCK_ROWS].astype(np.float64)
            nll = -np.log(np.clip(blk, self.lo, self.hi))
            row = np.where(t == 0, 0.0, t * nll).sum(axis=1)
            parts.append(row if w is None else row * w[r0:r0 + _INDICATOR_BLOCK_ROWS])
        return _core.checked_sum(np.concatenate(parts), 1)[0] if parts else 0.0

    def average(self, normalize):
        """``np.average(loss, weights=sample_weight)`` (normalize) or the (weighted) sum."""
        if not normalize:
            return float(self.total)
        if self.weights is None:
            return float(self.total / self.n)
        scale = self.weight_sum
        if scale == 0.0:
            raise ZeroDivisionError("Weights sum to zero, can't be normalized")
        return float(self.total / scale)


def class_count_error(classes, n_cols):
    """scikit-learn's error for classes inferred from y_true that are not as many as the
    columns of y_prob."""
    return ValueError(
        f"y_true and y_prob contain different number of classes: {classes.shape[0]} vs "
        f"{n_cols}. Please provide the true labels explicitly through the labels argument. "
        f"Classes found in y_true: {classes}"
    )


def warn_row_sums(stacklevel):
    warnings.warn(
        "The y_prob values do not sum to one. Make sure to pass probabilities.",
        UserWarning,
        stacklevel=stacklevel + 1,
    )


@_sklearn_signature
def log_loss(y_true, y_proba=None, *, normalize=True, sample_weight=None, labels=None,
             y_pred=_DEPRECATED, n_threads=None, chunk_rows=None, progress=False):
    r"""Log loss (logistic loss, cross-entropy) of predicted probabilities: a drop-in for
    ``sklearn.metrics.log_loss`` (scikit-learn 1.9.1).

    The same results, warnings and errors as scikit-learn for everything it accepts, without
    its dense one-hot matrix: extra memory is O(N), and the probabilities are read once, in
    parallel.  The loss of sample i is ``-log(clip(y_proba[i, k_i], eps, 1 - eps))``, k_i the
    column of its class and eps the machine epsilon of ``y_proba``'s dtype.

    Parameters
    ----------
    y_true : array-like of shape (n_samples,) or label indicator matrix
        True labels (ints, bools, strings, ...), or a multilabel-indicator matrix.
    y_proba : array-like of shape (n_samples, n_classes) or (n_samples,)
        Predicted probabilities, columns in the sorted order of the classes; a 1-D array
        (or one column) is the probability of the second class.
    normalize : bool, default=True
        Return the mean loss (weighted by ``sample_weight``) rather than the sum.
    sample_weight : array-like of shape (n_samples,), default=None
        Sample weights (may be negative; not all zero).
    labels : array-like, default=None
        All the classes; inferred from ``y_true`` if not given.  They are sorted, whatever
        their order (with a UserWarning if they were not).
    y_pred : array-like, deprecated
        Old name of ``y_proba`` (FutureWarning), as in scikit-learn 1.9.
    n_threads : int, default=None
        Threads of the kernel: None (OpenMP's default), -1 (all cores) or k >= 1.  The
        result does not depend on it.
    chunk_rows : int, default=None
        Rows per block when the problem is read in blocks: memory-mapped ``y_proba``
        (``np.memmap``, ``np.load(..., mmap_mode="r")``) and other row-sliceable
        array-likes (h5py, zarr) always are, with blocks of about 16 MiB when None; any
        array is when ``chunk_rows`` is given.  The anonymous memory used is then
        O(chunk_rows), and the result may differ from the one-piece result in the last
        bits (the blocks' sums are added in another order).
    progress : bool, default=False
        Show a progress bar (tqdm if installed, else a line on stderr) while reading
        blocks, for inputs of 256 MiB or more.

    Returns
    -------
    float
        The mean (or summed) log loss.

    Notes
    -----
    float32 and float16 probabilities are clipped at their own dtype's epsilon, as in
    scikit-learn 1.9, but the sums are computed in float64 and the logs to a relative error
    below 2^-32 (scikit-learn computes both in the input's dtype), so float32 results are
    more accurate and differ from scikit-learn's by at most ~1e-7 relative (float16:
    ~1e-3).

    Examples
    --------
    >>> import xentc
    >>> xentc.log_loss(["spam", "ham", "ham", "spam"],
    ...                [[.1, .9], [.9, .1], [.8, .2], [.35, .65]])
    0.21616187468057912
    >>> xentc.log_loss([0, 1, 1], [0.1, 0.8, 0.6], sample_weight=[1, 2, 3])
    0.34735408159736963
    """
    _check_params("log_loss", y_true, y_proba, sample_weight, labels, y_pred, normalize)
    y_proba = _resolve_y_pred(y_proba, y_pred)
    from . import _stream  # (it builds on this module)

    if _stream.streams(y_proba, chunk_rows):
        result = _stream.stream_log_loss("log_loss", y_true, y_proba, normalize,
                                         sample_weight, labels, n_threads, chunk_rows,
                                         progress, stacklevel=3)
        if result is not None:
            return result
    scored = _Scored(y_true, y_proba, sample_weight, labels, n_threads, stacklevel=3)
    return scored.average(normalize)


@_sklearn_signature
def d2_log_loss_score(y_true, y_proba=None, *, sample_weight=None, labels=None,
                      y_pred=_DEPRECATED, n_threads=None, chunk_rows=None, progress=False):
    """D² score of the log loss: the fraction of the null model's log loss explained, a
    drop-in for ``sklearn.metrics.d2_log_loss_score`` (scikit-learn 1.9.1).

    ``1 - LL(y_proba) / LL(null)``, both summed log losses (weighted by ``sample_weight``);
    the null model predicts every class's (weighted) frequency in ``y_true``.

    Parameters
    ----------
    y_true, y_proba, sample_weight, labels, y_pred, n_threads, chunk_rows, progress
        As in :func:`log_loss`.

    Returns
    -------
    float
        The D² score (at most 1; nan with an ``UndefinedMetricWarning`` for fewer than two
        samples).

    Examples
    --------
    >>> import xentc
    >>> xentc.d2_log_loss_score([0, 1, 1, 0], [.1, .8, .6, .3])
    0.5686325111679058
    """
    _check_params("d2_log_loss_score", y_true, y_proba, sample_weight, labels, y_pred)
    y_proba = _resolve_y_pred(y_proba, y_pred)
    lengths = [num_samples(x) for x in (y_proba, y_true, sample_weight) if x is not None]
    if len(set(lengths)) > 1:
        raise ValueError(
            f"Found input variables with inconsistent numbers of samples: {lengths}"
        )
    if num_samples(y_proba) < 2:
        warning = _sklearn_compatible(UndefinedMetricWarning, "sklearn.exceptions")
        warnings.warn("D^2 score is not well-defined with less than two samples.", warning,
                      stacklevel=2)
        return float("nan")
    from . import _stream

    if _stream.streams(y_proba, chunk_rows):
        result = _stream.stream_log_loss("d2", y_true, y_proba, True, sample_weight, labels,
                                         n_threads, chunk_rows, progress, stacklevel=3)
        if result is not None:
            return result
    scored = _Scored(y_true, y_proba, sample_weight, labels, n_threads, stacklevel=3)
    return float(1.0 - scored.total / _null_log_loss(scored))


def _null_log_loss(scored):
    """The summed log loss of the null model of a scored problem."""
    target, w = scored.target, scored.weights
    n_classes = target.classes.shape[0]
    if w is not None and scored.weight_sum == 0.0:
        raise ZeroDivisionError("Weights sum to zero, can't be normalized")
    if target.codes is not None:
        counts = np.bincount(target.codes, weights=w, minlength=n_classes)
    else:
        T = target.indicator.astype(np.float64)
        counts = T.T @ (w if w is not None else np.ones(scored.n))
    return null_log_loss(counts, w.sum() if w is not None else scored.n)


def null_log_loss(counts, total_weight):
    """The summed log loss of the null model, which predicts each class's weighted frequency
    ``counts / total_weight``: in float64 and clipped at float64's epsilon, as scikit-learn
    computes it."""
    freq = counts / total_weight  # the weighted column means of the one-hot matrix
    eps = float(np.finfo(np.float64).eps)
    nll = -np.log(np.clip(freq, eps, 1.0 - eps))
    return math.fsum(np.where(counts == 0, 0.0, counts * nll))
