"""Multiclass cross-entropy losses and their gradients: PyTorch and TensorFlow semantics.

The PyTorch-style functions (:func:`cross_entropy`, :func:`nll_loss` and their ``_grad`` /
``_and_grad`` variants) follow ``torch.nn.functional`` (class axis 1, reductions with
PyTorch's denominators) with the decisions of SPEC §2; the TensorFlow-style functions
return per-example losses as ``tf.nn`` does.  Arguments are validated here, before any
kernel reads memory; the rows are computed by ``_core.ce_rows``.
"""

import math
import numbers
import operator

import numpy as np

from . import _core
from ._threads import effective_n_threads
from ._validation import (as_real_array, check_grad_out, check_reduction, compute_dtype,
                          copied_into, rows_view, shaped_result, writes_directly)

__all__ = [
    "cross_entropy",
    "cross_entropy_grad",
    "cross_entropy_and_grad",
    "nll_loss",
    "nll_loss_grad",
    "nll_loss_and_grad",
    "softmax_cross_entropy_with_logits",
    "sparse_softmax_cross_entropy_with_logits",
]

# "no such argument" for the kernels (empty, never written)
_NO_INDEX = np.empty(0, dtype=np.int64)
_NO_WEIGHT = np.empty(0, dtype=np.float64)
_NO_INDEX.flags.writeable = _NO_WEIGHT.flags.writeable = False


# --------------------------------------------------------------------------------------------
# Argument checks
# --------------------------------------------------------------------------------------------

def _check_label_smoothing(label_smoothing):
    if isinstance(label_smoothing, bool) or not isinstance(label_smoothing, numbers.Real):
        raise TypeError(
            f"label_smoothing must be a float, got {type(label_smoothing).__name__}"
        )
    eps = float(label_smoothing)
    if not 0.0 <= eps <= 1.0:  # PyTorch ignores negative values silently; we do not
        raise ValueError(f"label_smoothing must be between 0.0 and 1.0. Got: {label_smoothing}")
    return eps


def _check_ignore_index(ignore_index):
    if isinstance(ignore_index, bool):
        raise TypeError("ignore_index must be an int, not bool")
    try:
        return operator.index(ignore_index)
    except TypeError:
        raise TypeError(
            f"ignore_index must be an int, got {type(ignore_index).__name__}"
        ) from None


def _class_weights(weight, n_classes):
    """The class weights as a float64 array of length C (None stays None)."""
    if weight is None:
        return None
    w = as_real_array(weight, "weight")
    if w.ndim != 1 or w.shape[0] != n_classes:
        raise ValueError(
            f"weight tensor should be defined either for all {n_classes} classes or no "
            f"classes but got weight tensor of shape: {list(w.shape)}"
        )
    return np.ascontiguousarray(w, dtype=np.float64)


def _integer_targets(target):
    y = np.asarray(target)
    if y.dtype.kind not in "iu":
        raise TypeError(
            f"expected target dtype to be an integer type for class indices, got {y.dtype}"
        )
    return y


def _check_index_target_shape(x_shape, y_shape):
    """PyTorch's shape rules for class-index targets of an input with class axis 1."""
    if len(x_shape) == 1:
        if len(y_shape) == 1 and y_shape[0] != 1:
            raise ValueError(
                "For 1D input, 1D target must have size 1, but got target size: "
                f"{y_shape[0]}"
            )
        if len(y_shape) > 1:
            raise ValueError("0D or 1D target tensor expected, multi-target not supported")
        return
    if len(x_shape) == 2 and len(y_shape) != 1:
        raise ValueError("0D or 1D target tensor expected, multi-target not supported")
    if len(y_shape) >= 1 and y_shape[0] != x_shape[0]:
        raise ValueError(
            f"Expected input batch_size ({x_shape[0]}) to match target batch_size "
            f"({y_shape[0]})."
        )
    expected = (x_shape[0],) + tuple(x_shape[2:])
    if tuple(y_shape) != expected:
        raise ValueError(f"Expected target size {list(expected)}, got {list(y_shape)}")


_INT64_MIN = -(2**63)


def _index_targets(y, ignore_index, n_classes, w, n_threads, message=None):
    """Check class-index targets and prepare them for the kernels, in one pass.

    Every entry that is not ``ignore_index`` must lie in ``[0, C)``.  Returns the targets
    flattened as int64 (a view when they already are), the value that marks an ignored entry
    for the kernels, and the mean's denominator (the count, or the summed class weights, of
    the entries not ignored).
    """
    flat = y.reshape(-1)
    # int64 for the kernels (a copy for other integer dtypes): values of uint64 beyond
    # int64 wrap to negatives, which are out of bounds all the same and cannot equal a
    # non-negative ignore index; an unsigned dtype cannot hold a negative one
    has_ignore = ignore_index is not None and _INT64_MIN <= ignore_index < 2**63 and not (
        flat.dtype.kind == "u" and ignore_index < 0)
    y64 = np.ascontiguousarray(flat, dtype=np.int64)
    bad, denominator = _core.check_targets(
        y64, has_ignore, ignore_index if has_ignore else 0, n_classes,
        _NO_WEIGHT if w is None else w, n_threads)
    if bad >= 0:
        value = flat[bad]
        if message is None:
            raise IndexError(f"Target {value} is out of bounds.")
        raise IndexError(message.format(value=value))
    # a target equal to _INT64_MIN would have been out of bounds: it marks "nothing ignored"
    return y64, ignore_index if has_ignore else _INT64_MIN, denominator


def _scalar(value, dtype):
    """A NumPy scalar of the result dtype (0-d results follow SciPy's convention)."""
    return dtype.type(value)


def _fsum(values):
    """math.fsum, but inf / NaN where it raises (an infinity of each sign: NaN; an overflow of
    the sum: inf), as a float64 sum would give and as torch does."""
    try:
        return math.fsum(values)
    except (OverflowError, ValueError):
        with np.errstate(over="ignore", invalid="ignore"):
            return float(np.sum(values, dtype=np.float64))


def _divide(num, den):
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.float64(num) / np.float64(den)


# --------------------------------------------------------------------------------------------
# cross_entropy
# --------------------------------------------------------------------------------------------

def _classes_last(x, class_axis, dtype):
    """``x`` as (rows, C) with the class axis last, and what is needed to undo it."""
    x2, moved_shape, _ = rows_view(x, (class_axis,), dtype)
    return x2, moved_shape


def _grad_like_input(g2, moved_shape, class_axis, result_dtype):
    g = g2.reshape(moved_shape)
    if g.ndim > 1:
        g = np.moveaxis(g, -1, class_axis)
    return g.astype(result_dtype, copy=False)


def _cross_entropy(input, target, weight, ignore_index, reduction, label_smoothing,
                   n_threads, want_loss, want_grad, grad_out=None):
    x = as_real_array(input, "input")
    t = np.asarray(target)
    check_reduction(reduction)
    eps = _check_label_smoothing(label_smoothing)
    ignore_index = _check_ignore_index(ignore_index)
    n_threads = effective_n_threads(n_threads)
    if x.ndim == 0:
        raise ValueError("Expected 1 or more dimensions (got 0)")
    by_probability = t.shape == x.shape
    if by_probability:
        if t.dtype.kind != "f":
            raise TypeError(
                "Expected floating point type for target with class probabilities, "
                f"got {t.dtype}"
            )
        if ignore_index >= 0:
            raise ValueError("ignore_index is not supported for floating point target")
    class_axis = 0 if x.ndim == 1 else 1
    n_classes = x.shape[class_axis]
    w = _class_weights(weight, n_classes)
    compute, result = compute_dtype(x.dtype)
    if by_probability:
        out_shape = x.shape[:class_axis] + x.shape[class_axis + 1:]
    else:
        y = _integer_targets(t)
        _check_index_target_shape(x.shape, y.shape)
        out_shape = y.shape if x.ndim > 1 else ()  # 1-D input: a 0-d result, as torch
        y, ignore, denominator = _index_targets(y, ignore_index, n_classes, w, n_threads)

    x2, moved_shape = _classes_last(x, class_axis, compute)
    n_rows = x2.shape[0]
    if by_probability:
        t2 = _classes_last(t, class_axis, compute)[0]
        y, ignore, denominator = _NO_INDEX, 0, n_rows
    else:
        t2 = np.empty((0, 1), dtype=compute)

    if reduction == "mean":
        gscale = _divide(1.0, denominator)
    else:
        gscale = 1.0
    loss_rows = np.empty(n_rows if (want_loss and reduction == "none") else 0, dtype=compute)
    grad_out = check_grad_out(grad_out, x.shape, result, x, t, w) if want_grad else None
    direct = x.ndim <= 2 and writes_directly(grad_out, compute)
    if direct:
        grad = grad_out.reshape(n_rows, n_classes)
    else:
        grad = np.empty((n_rows, n_classes) if want_grad else (0, max(n_classes, 1)),
                        dtype=compute)

    if n_classes == 0:
        # only reachable with probability targets (every index would be out of bounds) or
        # with every target ignored: no class, no loss
        partial = np.zeros(1)
        loss_rows[:] = 0.0
    else:
        partial = _core.ce_rows(
            x2, y, ignore, t2,
            _NO_WEIGHT if w is None else w, float(n_classes) if w is None else math.fsum(w),
            eps, True, loss_rows, grad, float(gscale), n_threads)

    loss = None
    if want_loss:
        if reduction == "none":
            loss = shaped_result(loss_rows, out_shape, result)
        else:
            total = _fsum(partial)
            if by_probability and n_rows == 0 and reduction == "sum":
                total = -0.0  # PyTorch's sum over no rows of probability targets
            value = total if reduction == "sum" else _divide(total, denominator)
            loss = _scalar(value, result)
    if not want_grad:
        return loss
    g = grad_out if direct else copied_into(
        grad_out, _grad_like_input(grad, moved_shape, class_axis, result))
    return (loss, g) if want_loss else g


def cross_entropy(input, target, weight=None, ignore_index=-100, reduction="mean",
                  label_smoothing=0.0, *, n_threads=None, chunk_rows=None, progress=False):
    """Cross-entropy between logits and class-index or probability targets (PyTorch).

    Same semantics as :func:`torch.nn.functional.cross_entropy`: the class axis is axis 1
    (axis 0 of a 1-D input), inputs may be ``(C,)``, ``(N, C)`` or ``(N, C, d1, ..., dk)``;
    a ``target`` with the input's shape holds class probabilities, otherwise class indices.

    Parameters
    ----------
    input : array_like
        Unnormalised logits.  float32 and float64 are computed natively (accumulating in
        double), float16 in float32, integers and bools as float64.
    target : array_like
        Class indices (any integer dtype) of shape ``(N, d1, ..., dk)``, or floating-point
        class probabilities of the input's shape (not validated: rows need not sum to 1).
    weight : array_like of shape (C,), optional
        A weight per class.
    ignore_index : int, default -100
        Index targets equal to it contribute nothing (not to the mean's denominator
        either).  Must be negative with probability targets.
    reduction : {"mean", "sum", "none"}, default "mean"
        ``"mean"`` divides by the sum of the target classes' weights over non-ignored
        entries (index targets) or by the number of rows (probability targets).
    label_smoothing : float in [0, 1], default 0.0
        Mix of the target with the uniform distribution.
    n_threads : int, optional
        Threads to use: None for OpenMP's default, -1 for all cores, k >= 1 exactly k.
    chunk_rows : int, optional
        Rows (along axis 0) per block when the input is read in blocks: with class-index
        targets, reduction "mean" or "sum" and no label smoothing, a memory-mapped input
        (``np.memmap``, ``np.load(..., mmap_mode="r")``) or another row-sliceable
        array-like (h5py, zarr) always is, with blocks of about 16 MiB when None; any array
        is when ``chunk_rows`` is given.  Anonymous memory is then O(chunk_rows); the
        result may differ from the one-piece result in the last bits.
    progress : bool, default False
        Show a progress bar (tqdm if installed) while reading blocks of a large input.

    Returns
    -------
    loss : numpy scalar or ndarray
        The reduced loss (a NumPy scalar of the input's floating dtype), or the per-entry
        losses for ``reduction="none"`` (the target's shape, input without its class axis).

    Notes
    -----
    Deliberate differences from PyTorch (SPEC §2): any integer dtype is accepted for
    indices; ``label_smoothing < 0`` raises; a term whose target weight is exactly 0
    contributes 0 even where the logit is ``-inf`` (PyTorch gives NaN for probability
    targets there); errors are ``ValueError``/``TypeError``/``IndexError``.  A row with a
    ``+inf`` or NaN logit, or with every logit ``-inf``, has a NaN loss.

    Examples
    --------
    >>> import numpy as np, xentc
    >>> x = np.array([[1.0, 2.0, 3.0], [1.0, 0.0, -1.0], [0.5, 0.5, 2.0]])
    >>> y = np.array([2, 0, 1])
    >>> float(xentc.cross_entropy(x, y))
    0.8947310214300254
    >>> xentc.cross_entropy(x, y, reduction="none")
    array([0.40760596, 0.40760596, 1.86898114])
    """
    from . import _stream  # (it builds on this module)

    if _stream.streams(input, chunk_rows):
        check_reduction(reduction)
        smoothing = _check_label_smoothing(label_smoothing)
        if reduction != "none" and smoothing == 0.0:
            loss = _stream.stream_cross_entropy(input, target, weight, ignore_index,
                                                reduction, n_threads, chunk_rows, progress)
            if loss is not None:
                return loss
    return _cross_entropy(input, target, weight, ignore_index, reduction, label_smoothing,
                          n_threads, True, False)


def cross_entropy_grad(input, target, weight=None, ignore_index=-100, reduction="mean",
                       label_smoothing=0.0, *, grad_out=None, n_threads=None):
    """Gradient of :func:`cross_entropy` with respect to ``input`` (same arguments).

    Returns an array of the input's shape and dtype.  With ``reduction="none"`` row ``i`` is
    the gradient of loss ``i`` (rows are independent).  The closed forms are exact, including
    for probability targets that do not sum to 1.  ``grad_out`` (not in PyTorch, like
    scikit-learn's ``gradient_out``): an array of that shape and dtype, sharing no memory
    with the inputs, to write the gradient into and return; in a training loop it saves
    allocating (and the OS zeroing) a fresh array per call.

    Examples
    --------
    >>> import numpy as np, xentc
    >>> x = np.array([[1.0, 2.0, 3.0], [1.0, 0.0, -1.0]])
    >>> xentc.cross_entropy_grad(x, np.array([2, 0]), reduction="sum")
    array([[ 0.09003057,  0.24472847, -0.33475904],
           [-0.33475904,  0.24472847,  0.09003057]])
    """
    return _cross_entropy(input, target, weight, ignore_index, reduction, label_smoothing,
                          n_threads, False, True, grad_out)


def cross_entropy_and_grad(input, target, weight=None, ignore_index=-100, reduction="mean",
                           label_smoothing=0.0, *, grad_out=None, n_threads=None):
    """:func:`cross_entropy` and its gradient together, from one pass over the data.

    Returns ``(loss, grad)``; see :func:`cross_entropy` and :func:`cross_entropy_grad`
    (also for ``grad_out``).

    Examples
    --------
    >>> import numpy as np, xentc
    >>> loss, grad = xentc.cross_entropy_and_grad(np.array([[0.0, 0.0]]), np.array([1]))
    >>> float(loss), grad
    (0.6931471805599453, array([[ 0.5, -0.5]]))
    """
    return _cross_entropy(input, target, weight, ignore_index, reduction, label_smoothing,
                          n_threads, True, True, grad_out)


# --------------------------------------------------------------------------------------------
# nll_loss
# --------------------------------------------------------------------------------------------

def _nll_loss(input, target, weight, ignore_index, reduction, n_threads, want_loss,
              want_grad, grad_out=None):
    x = as_real_array(input, "input")
    check_reduction(reduction)
    ignore_index = _check_ignore_index(ignore_index)
    effective_n_threads(n_threads)  # validated; the gather is O(N) and runs serially
    if x.ndim == 0:
        raise ValueError("Expected 1 or more dimensions (got 0)")
    y = np.asarray(target)
    _check_index_target_shape(x.shape, y.shape)
    y = _integer_targets(y)
    target_shape = y.shape
    class_axis = 0 if x.ndim == 1 else 1
    n_classes = x.shape[class_axis]
    w = _class_weights(weight, n_classes)
    compute, result = compute_dtype(x.dtype)
    grad_out = check_grad_out(grad_out, x.shape, result, x, y, w) if want_grad else None
    y, ignore, denominator = _index_targets(y, ignore_index, n_classes, w, 1)
    # gather from a view with the class axis last: no copy of the input, whatever its layout
    xm = np.moveaxis(x, class_axis, -1)
    rows = np.flatnonzero(y != ignore)
    cls = y[rows]
    at = (np.unravel_index(rows, xm.shape[:-1]) if xm.ndim > 1 else ()) + (cls,)
    wy = np.ones(len(rows)) if w is None else w[cls]
    picked = xm[at].astype(np.float64)
    with np.errstate(invalid="ignore"):
        terms = np.where((wy == 0) & ~np.isnan(picked), 0.0, -(wy * picked))

    loss = None
    if want_loss:
        if reduction == "none":
            rows_loss = np.zeros(y.shape[0], dtype=np.float64)
            rows_loss[rows] = terms
            loss = shaped_result(rows_loss, target_shape, result)
        else:
            total = _fsum(terms)
            value = total if reduction == "sum" else _divide(total, denominator)
            loss = _scalar(value, result)
    if not want_grad:
        return loss
    scale = _divide(1.0, denominator) if reduction == "mean" else 1.0
    with np.errstate(invalid="ignore"):
        picked_grad = (-(wy * scale)).astype(compute)
    if grad_out is None:
        gm = np.zeros(xm.shape, dtype=compute)
        gm[at] = picked_grad
        g = _grad_like_input(gm, xm.shape, class_axis, result)
    else:
        g = grad_out
        gm = np.moveaxis(g, class_axis, -1)
        gm[...] = 0
        gm[at] = picked_grad
    return (loss, g) if want_loss else g


def nll_loss(input, target, weight=None, ignore_index=-100, reduction="mean", *,
             n_threads=None):
    """Negative log-likelihood of log-probabilities and class indices (PyTorch).

    ``loss_i = -weight[y_i] * input[i, y_i]``, reduced as :func:`cross_entropy` with class
    indices (``"mean"`` divides by the summed weights of the non-ignored targets).  Same
    shapes, targets and errors as :func:`cross_entropy` with class indices.

    Examples
    --------
    >>> import numpy as np, xentc
    >>> float(xentc.nll_loss(np.array([[1.0, 2.0]]), np.array([1])))
    -2.0
    """
    return _nll_loss(input, target, weight, ignore_index, reduction, n_threads, True, False)


def nll_loss_grad(input, target, weight=None, ignore_index=-100, reduction="mean", *,
                  grad_out=None, n_threads=None):
    """Gradient of :func:`nll_loss` with respect to ``input`` (same arguments; ``grad_out``
    as for :func:`cross_entropy_grad`).

    Examples
    --------
    >>> import numpy as np, xentc
    >>> xentc.nll_loss_grad(np.zeros((2, 3)), np.array([0, 2]))
    array([[-0.5,  0. ,  0. ],
           [ 0. ,  0. , -0.5]])
    """
    return _nll_loss(input, target, weight, ignore_index, reduction, n_threads, False, True,
                     grad_out)


def nll_loss_and_grad(input, target, weight=None, ignore_index=-100, reduction="mean", *,
                      grad_out=None, n_threads=None):
    """:func:`nll_loss` and its gradient together; returns ``(loss, grad)`` (``grad_out`` as
    for :func:`cross_entropy_grad`).

    Examples
    --------
    >>> import numpy as np, xentc
    >>> loss, grad = xentc.nll_loss_and_grad(np.array([[-1.0, -2.0]]), np.array([0]))
    >>> float(loss), grad
    (1.0, array([[-1.,  0.]]))
    """
    return _nll_loss(input, target, weight, ignore_index, reduction, n_threads, True, True,
                     grad_out)


# --------------------------------------------------------------------------------------------
# TensorFlow: tf.nn.softmax_cross_entropy_with_logits, sparse_softmax_cross_entropy_with_logits
# --------------------------------------------------------------------------------------------

def softmax_cross_entropy_with_logits(labels, logits, axis=-1, *, n_threads=None):
    """Per-example cross-entropy of logits and label distributions (``tf.nn``).

    ``-sum(labels * log_softmax(logits, axis), axis)``.  ``labels`` broadcast against
    ``logits`` and are computed in the logits' dtype (integer one-hot labels work); they are
    not validated.  Unlike TensorFlow, a zero label times a ``-inf`` logit contributes 0,
    not NaN (SPEC §2).

    Returns
    -------
    ndarray or numpy scalar
        The losses, of the logits' shape without ``axis``.

    Examples
    --------
    >>> import numpy as np, xentc
    >>> xentc.softmax_cross_entropy_with_logits(labels=[[0.0, 1.0]], logits=[[0.0, 0.0]])
    array([0.69314718])
    """
    z = as_real_array(logits, "logits")
    if z.ndim == 0:
        raise ValueError(f"`logits` cannot be a scalar. Received logits={z[()]!r}`")
    lab = as_real_array(labels, "labels")
    try:
        shape = np.broadcast_shapes(lab.shape, z.shape)
    except ValueError:
        shape = None
    if shape != z.shape:
        raise ValueError(
            "logits and labels must be broadcastable: "
            f"logits_size={_tf_shape(z.shape)} labels_size={_tf_shape(lab.shape)}"
        )
    n_threads = effective_n_threads(n_threads)
    axis = operator.index(axis)
    if not -z.ndim <= axis < z.ndim:
        raise np.exceptions.AxisError(axis, z.ndim)
    axis %= z.ndim
    compute, result = compute_dtype(z.dtype)
    n_classes = z.shape[axis]
    out_shape = z.shape[:axis] + z.shape[axis + 1:]
    x2, _, _ = rows_view(z, (axis,), compute)
    if n_classes == 0:
        return shaped_result(np.zeros(x2.shape[0]), out_shape, result)
    lab = np.broadcast_to(lab, z.shape)
    if lab.strides[axis] != 0 and all(
            lab.strides[i] == 0 for i in range(z.ndim) if i != axis):
        # one label row for every example: pass it with a row stride of 0, uncopied
        t2 = np.ascontiguousarray(np.moveaxis(lab, axis, -1).reshape(-1, n_classes)[:1],
                                  dtype=compute)
        t2 = np.lib.stride_tricks.as_strided(t2, (x2.shape[0], n_classes),
                                             (0, t2.strides[1]), writeable=False)
    else:
        t2 = rows_view(lab, (axis,), compute)[0]
    loss = np.empty(x2.shape[0], dtype=compute)
    _core.ce_rows(x2, _NO_INDEX, 0, t2, _NO_WEIGHT, 0.0, 0.0, False, loss,
                  np.empty((0, 1), dtype=compute), 1.0, n_threads)
    return shaped_result(loss, out_shape, result)


def sparse_softmax_cross_entropy_with_logits(labels, logits, *, n_threads=None):
    """Per-example cross-entropy of logits and class indices (``tf.nn``).

    The class axis is the last one; ``labels`` (any integer dtype) have the logits' shape
    without it, and every label must lie in ``[0, C)``.

    Examples
    --------
    >>> import numpy as np, xentc
    >>> x = np.array([[1.0, 2.0, 3.0], [1.0, 0.0, -1.0]])
    >>> xentc.sparse_softmax_cross_entropy_with_logits(labels=[2, 0], logits=x)
    array([0.40760596, 0.40760596])
    """
    z = as_real_array(logits, "logits")
    if z.ndim == 0:
        raise ValueError(f"`logits` cannot be a scalar. Received logits={z[()]!r}`")
    y = np.asarray(labels)
    if y.dtype.kind not in "iu":
        raise TypeError(f"labels must hold integer class indices, got dtype {y.dtype}")
    if y.ndim != z.ndim - 1:
        raise ValueError(
            "`labels.shape.rank` must equal `logits.shape.rank - 1`. Received: "
            f"labels.shape={y.shape} of rank {y.ndim} and logits.shape={z.shape} of rank "
            f"{z.ndim}"
        )
    if y.shape != z.shape[:-1]:
        raise ValueError(
            "`labels.shape` must equal `logits.shape` except for the last dimension. "
            f"Received: labels.shape={y.shape} and logits.shape={z.shape}"
        )
    n_classes = z.shape[-1]
    if n_classes == 0:
        raise ValueError(
            f"Must have at least one class, but got logits shape {_tf_shape(z.shape)}"
        )
    n_threads = effective_n_threads(n_threads)
    y, ignore, _ = _index_targets(
        y, None, n_classes, None, n_threads,
        "Received a label value of {value} which is outside the valid range of "
        f"[0, {n_classes}).")
    compute, result = compute_dtype(z.dtype)
    x2, _, _ = rows_view(z, (z.ndim - 1,), compute)
    loss = np.empty(x2.shape[0], dtype=compute)
    _core.ce_rows(x2, y, ignore, np.empty((0, 1), dtype=compute), _NO_WEIGHT, 0.0, 0.0, False,
                  loss, np.empty((0, 1), dtype=compute), 1.0, n_threads)
    return shaped_result(loss, z.shape[:-1], result)


def _tf_shape(shape):
    return "[" + ",".join(str(n) for n in shape) + "]"
