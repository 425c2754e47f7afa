"""Reference implementations of xentc's functions on plain NumPy / scipy.special, in float64.

They are what xentc's test-suite checks against, and they are here for users to do the same:
slow, simple, and independent of xentc's kernels.  Inputs are converted to float64 (the
results are float64); semantics are those of the functions they mirror.  SciPy is imported
when a function is first called.

Examples
--------
>>> import numpy as np
>>> import xentc, xentc.reference
>>> x = np.random.default_rng(0).normal(size=(4, 5))
>>> np.allclose(xentc.logsumexp(x, axis=1), xentc.reference.logsumexp(x, axis=1))
True
"""

import operator

import numpy as np

__all__ = [
    "logsumexp",
    "softmax",
    "log_softmax",
    "cross_entropy",
    "cross_entropy_grad",
    "cross_entropy_and_grad",
    "nll_loss",
    "nll_loss_grad",
    "nll_loss_and_grad",
    "softmax_cross_entropy_with_logits",
    "sparse_softmax_cross_entropy_with_logits",
    "binary_cross_entropy",
    "binary_cross_entropy_grad",
    "binary_cross_entropy_and_grad",
    "binary_cross_entropy_with_logits",
    "binary_cross_entropy_with_logits_grad",
    "binary_cross_entropy_with_logits_and_grad",
    "sigmoid_cross_entropy_with_logits",
    "weighted_cross_entropy_with_logits",
    "log_loss",
    "d2_log_loss_score",
    "log_loss_partial",
    "cross_entropy_partial",
]


def _special():
    try:
        import scipy.special
    except ImportError as exc:  # pragma: no cover - scipy is a test dependency
        raise ImportError("xentc.reference needs SciPy: pip install scipy") from exc
    return scipy.special


def _f64(x):
    return None if x is None else np.asarray(x, dtype=np.float64)


def logsumexp(a, axis=None, b=None, keepdims=False, return_sign=False):
    """:func:`scipy.special.logsumexp` on float64 copies of the inputs."""
    return _special().logsumexp(_f64(a), axis=axis, b=_f64(b), keepdims=keepdims,
                                return_sign=return_sign)


def softmax(x, axis=None):
    """:func:`scipy.special.softmax` on a float64 copy of the input."""
    return _special().softmax(_f64(x), axis=axis)


def log_softmax(x, axis=None):
    """:func:`scipy.special.log_softmax` on a float64 copy of the input."""
    return _special().log_softmax(_f64(x), axis=axis)


# --- multiclass losses ---------------------------------------------------------------------
# torch.nn.functional.cross_entropy / nll_loss and tf.nn's softmax cross-entropies, with
# xentc's decisions where SPEC §2 departs from the peer: any integer target dtype; a
# label_smoothing outside [0, 1] is an error; a term whose target weight is exactly 0 is 0
# even where the log-probability is -inf (xlogy's 0*log(0) = 0); errors are Python's
# ValueError / TypeError / IndexError with the peer's wording.  The formulas and the mean
# denominators are those of docs/semantics.md §2.3-2.7 and §8.1.


def _real_f64(x, name):
    """A float64 copy of x, which must hold real numbers (bool, int or float)."""
    a = np.asarray(x)
    if a.dtype.kind not in "biuf":
        raise TypeError(f"{name} must hold real numbers, got an array of dtype {a.dtype}")
    return a.astype(np.float64)


def _check_reduction(reduction):
    if not (isinstance(reduction, str) and reduction in ("none", "mean", "sum")):
        raise ValueError(f"{reduction} is not a valid value for reduction")


def _check_input(input):
    x = _real_f64(input, "input")
    if x.ndim == 0:
        raise ValueError("Expected 1 or more dimensions (got 0)")
    return x


def _class_rows(x):
    """x of shape (C,) or (N, C, d1, ...) as (M, C) rows (the class axis moved last)."""
    x = x[None, :] if x.ndim == 1 else np.moveaxis(x, 1, -1)
    return _last_axis_rows(x)


def _last_axis_rows(x):
    """x as (M, C) rows of its last axis (also for C = 0)."""
    return x.reshape(int(np.prod(x.shape[:-1])), x.shape[-1])


def _unrows(g, shape):
    """The inverse of _class_rows: (M, C) rows back to an array of the input's shape."""
    if len(shape) == 1:
        return g[0]
    return np.moveaxis(g.reshape(shape[:1] + shape[2:] + shape[1:2]), -1, 1)


def _index_target(x, target, weight, ignore_index):
    """Check class indices against x (torch's messages); return the rows' classes (0 where
    ignored), the not-ignored mask and the class weights."""
    t = np.asarray(target)
    if t.dtype.kind not in "iu":
        raise TypeError("expected target dtype to be an integer type for class indices, "
                        f"got {t.dtype}")
    if x.ndim == 1:
        if t.ndim == 1 and t.size != 1:
            raise ValueError("For 1D input, 1D target must have size 1, but got target size: "
                             f"{t.size}")
    elif t.ndim == 0 or t.shape[0] != x.shape[0]:
        raise ValueError(f"Expected input batch_size ({x.shape[0]}) to match target "
                         f"batch_size ({t.shape[0] if t.ndim else 0}).")
    C = x.shape[0] if x.ndim == 1 else x.shape[1]
    if x.ndim <= 2 and t.ndim > 1:
        raise ValueError("0D or 1D target tensor expected, multi-target not supported")
    if x.ndim > 2 and t.shape != x.shape[:1] + x.shape[2:]:
        raise ValueError(f"Expected target size {list(x.shape[:1] + x.shape[2:])}, "
                         f"got {list(t.shape)}")
    w = _weight(weight, C)
    t = t.reshape(-1)
    keep = t != ignore_index
    bad = keep & ((t < 0) | (t >= C))
    if bad.any():
        raise IndexError(f"Target {t[bad][0]} is out of bounds.")
    return np.where(keep, t, 0).astype(np.intp), keep, w


def _weight(weight, C):
    if weight is None:
        return np.ones(C)
    w = _real_f64(weight, "weight")
    if w.shape != (C,):
        raise ValueError(f"weight tensor should be defined either for all {C} classes or no "
                         f"classes but got weight tensor of shape: {list(w.shape)}")
    return w


def _xlp(a, lp):
    """a * lp with the xlogy convention: 0 where a == 0, even where lp is -inf (not NaN)."""
    with np.errstate(invalid="ignore"):
        return np.where((a == 0) & ~np.isnan(lp), 0.0, a * lp)


def _log_softmax_rows(rows):
    """log_softmax along axis 1: NaN for rows with +inf or NaN and for all -inf rows."""
    if rows.shape[1] == 0:
        return rows.copy()
    with np.errstate(all="ignore"):
        lp = log_softmax(rows, axis=1)
    lp[np.isnan(lp).any(axis=1)] = np.nan     # the whole row, as torch (scipy: [inf, 0] ->
    return lp                                  # [nan, -inf])


def _reduce(row_loss, coef, divisor, reduction, shape):
    """(loss, the gradient factor of each row) for the reduction; divisor: the mean's."""
    if reduction == "none":
        return row_loss.reshape(shape)[()], coef
    total = row_loss.sum()
    if reduction == "sum":
        return total, coef
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.float64(total / divisor), np.where(coef != 0, coef / divisor, 0.0)


def _cross_entropy(input, target, weight, ignore_index, reduction, label_smoothing):
    """cross_entropy's loss and its gradient (float64)."""
    _check_reduction(reduction)
    if not 0.0 <= label_smoothing <= 1.0:
        raise ValueError(
            f"label_smoothing must be between 0.0 and 1.0. Got: {label_smoothing}")
    ignore_index = operator.index(ignore_index)
    eps = float(label_smoothing)
    x = _check_input(input)
    C = x.shape[0] if x.ndim == 1 else x.shape[1]
    rows = _class_rows(x)
    probabilities = np.shape(target) == x.shape
    if probabilities:
        t = np.asarray(target)
        if t.dtype.kind != "f":
            raise TypeError("Expected floating point type for target with class "
                            f"probabilities, got {t.dtype}")
        if ignore_index >= 0:
            raise ValueError("ignore_index is not supported for floating point target")
        w = _weight(weight, C)
        t = _class_rows(t.astype(np.float64))
        if eps > 0:
            t = (1 - eps) * t + eps / C
        a = w * t                      # a[i, c]: the weight of -lp[i, c] in loss_i
        keep = np.ones(len(rows), dtype=bool)
        divisor = len(rows) if C else np.nan      # numel / C: torch's mean
    else:
        y, keep, w = _index_target(x, target, weight, ignore_index)
        wy = np.where(keep, w[y], 0.0)
        a = np.zeros_like(rows)
        a[np.arange(len(rows)), y] = (1 - eps) * wy
        if eps > 0:
            a += keep[:, None] * (eps / C) * w
        divisor = wy.sum()
    lp = _log_softmax_rows(rows)
    row_sum = _xlp(a, lp).sum(axis=1)
    row_loss = np.where(keep, -row_sum, 0.0)
    shape = x.shape[:1] + x.shape[2:] if x.ndim > 1 else ()
    loss, coef = _reduce(row_loss, keep.astype(np.float64), divisor, reduction, shape)
    if probabilities and reduction == "sum":
        loss = -row_sum.sum()          # torch's -(sum of t*lp): -0.0 for N=0
    with np.errstate(invalid="ignore"):
        s = np.exp(lp)
        grad = coef[:, None] * (s * a.sum(axis=1, keepdims=True) - a)
    return loss, _unrows(grad, x.shape)


def cross_entropy(input, target, weight=None, ignore_index=-100, reduction="mean",
                  label_smoothing=0.0):
    """:func:`torch.nn.functional.cross_entropy` (class axis 1; index or probability targets),
    with xentc's decisions (SPEC §2); float64."""
    return _cross_entropy(input, target, weight, ignore_index, reduction, label_smoothing)[0]


def cross_entropy_grad(input, target, weight=None, ignore_index=-100, reduction="mean",
                       label_smoothing=0.0):
    """d cross_entropy / d input (closed form, semantics.md §2.5); per row for 'none'."""
    return _cross_entropy(input, target, weight, ignore_index, reduction, label_smoothing)[1]


def cross_entropy_and_grad(input, target, weight=None, ignore_index=-100, reduction="mean",
                           label_smoothing=0.0):
    """(cross_entropy(...), cross_entropy_grad(...))."""
    return _cross_entropy(input, target, weight, ignore_index, reduction, label_smoothing)


def _nll_loss(input, target, weight, ignore_index, reduction):
    _check_reduction(reduction)
    ignore_index = operator.index(ignore_index)
    x = _check_input(input)
    rows = _class_rows(x)
    y, keep, w = _index_target(x, target, weight, ignore_index)
    wy = np.where(keep, w[y], 0.0)
    picked = rows[np.arange(len(rows)), y]
    row_loss = np.where(keep, -_xlp(wy, picked), 0.0)
    shape = x.shape[:1] + x.shape[2:] if x.ndim > 1 else ()
    loss, coef = _reduce(row_loss, keep.astype(np.float64), wy.sum(), reduction, shape)
    grad = np.zeros_like(rows)
    with np.errstate(invalid="ignore"):
        grad[np.flatnonzero(keep), y[keep]] = -(coef * wy)[keep]
    return loss, _unrows(grad, x.shape)


def nll_loss(input, target, weight=None, ignore_index=-100, reduction="mean"):
    """:func:`torch.nn.functional.nll_loss` (input: log-probabilities, class axis 1)."""
    return _nll_loss(input, target, weight, ignore_index, reduction)[0]


def nll_loss_grad(input, target, weight=None, ignore_index=-100, reduction="mean"):
    """d nll_loss / d input; per row for 'none'."""
    return _nll_loss(input, target, weight, ignore_index, reduction)[1]


def nll_loss_and_grad(input, target, weight=None, ignore_index=-100, reduction="mean"):
    """(nll_loss(...), nll_loss_grad(...))."""
    return _nll_loss(input, target, weight, ignore_index, reduction)


def softmax_cross_entropy_with_logits(labels, logits, axis=-1):
    """:func:`tf.nn.softmax_cross_entropy_with_logits`: -sum(labels * log_softmax(logits))
    along ``axis``, per example; labels broadcast against logits; 0*(-inf) = 0 (SPEC)."""
    x = _real_f64(logits, "logits")
    t = _real_f64(labels, "labels")
    try:
        t, x = np.broadcast_arrays(t, x)
    except ValueError:
        raise ValueError("logits and labels must be broadcastable: logits_size="
                         f"[{','.join(map(str, x.shape))}] labels_size="
                         f"[{','.join(map(str, t.shape))}]") from None
    x, t = np.moveaxis(x, axis, -1), np.moveaxis(t, axis, -1)
    loss = -_xlp(_last_axis_rows(t), _log_softmax_rows(_last_axis_rows(x))).sum(axis=1)
    return (loss + 0.0).reshape(x.shape[:-1])[()]     # + 0.0: TF's zero losses are +0


def sparse_softmax_cross_entropy_with_logits(labels, logits):
    """:func:`tf.nn.sparse_softmax_cross_entropy_with_logits`: class axis last, labels of
    shape ``logits.shape[:-1]`` (any integer dtype), per-example losses."""
    x = _real_f64(logits, "logits")
    if x.ndim == 0:
        raise ValueError(f"`logits` cannot be a scalar. Received logits={np.asarray(logits)}`")
    t = np.asarray(labels)
    if t.dtype.kind not in "iu":
        raise TypeError("expected labels dtype to be an integer type for class indices, "
                        f"got {t.dtype}")
    if t.ndim != x.ndim - 1:
        raise ValueError("`labels.shape.rank` must equal `logits.shape.rank - 1`. Received: "
                         f"labels.shape={t.shape} of rank {t.ndim} and logits.shape={x.shape} "
                         f"of rank {x.ndim}")
    if t.shape != x.shape[:-1]:
        raise ValueError("`labels.shape` must equal `logits.shape` except for the last "
                         f"dimension. Received: labels.shape={t.shape} and "
                         f"logits.shape={x.shape}")
    C = x.shape[-1]
    if C == 0:
        raise ValueError("Must have at least one class, but got logits shape "
                         f"[{','.join(map(str, x.shape))}]")
    y = t.reshape(-1)
    bad = (y < 0) | (y >= C)
    if bad.any():
        raise IndexError(f"Received a label value of {y[bad][0]} which is outside the valid "
                         f"range of [0, {C}).")
    one_hot = np.eye(C)[y.astype(np.intp)]
    loss = -_xlp(one_hot, _log_softmax_rows(x.reshape(-1, C))).sum(axis=1)
    return (loss + 0.0).reshape(t.shape)[()]
# --------------------------------------------------------------------------------------------
# Binary cross-entropy
# --------------------------------------------------------------------------------------------

_BCE_GRAD_EPS = float(np.float32(1e-12))   # PyTorch's floor of p (1 - p), a float32


def _reduce_elementwise(loss, reduction):
    if reduction == "none":
        return loss
    if reduction == "sum":
        return np.float64(loss.sum())
    return np.float64(loss.mean()) if loss.size else np.float64(np.nan)


def _zero_times_inf(w, v):
    """w * v, but 0 where w == 0 (also when v is infinite: SPEC's zero weight rule)."""
    with np.errstate(invalid="ignore"):
        return np.where(w == 0, 0.0, w * v)


def _bce_terms(input, target, weight, eps):
    sc = _special()
    p, t = _f64(input), _f64(target)
    w = 1.0 if weight is None else _f64(weight)
    if eps is None:
        if not np.all((p >= 0) & (p <= 1)):
            raise ValueError("all elements of input should be between 0 and 1")
        if not np.all((t >= 0) & (t <= 1)):
            raise ValueError("all elements of target should be between 0 and 1")
        with np.errstate(divide="ignore"):
            lp = np.maximum(np.log(p), -100.0)
            lq = np.maximum(np.log1p(-p), -100.0)
        loss = -(t * lp + (1 - t) * lq)
        grad = (p - t) / np.maximum(p * (1 - p), _BCE_GRAD_EPS)
    else:
        x = np.asarray(input)
        bound = x.dtype if x.dtype.kind == "f" else np.dtype(np.float64)
        lo, hi = float(bound.type(eps)), float(bound.type(1.0 - eps))
        pc = np.clip(p, lo, hi)
        with np.errstate(divide="ignore", invalid="ignore"):
            loss = -(sc.xlogy(t, pc) + sc.xlog1py(1 - t, -pc))
            g = (np.where(t == 0, 0.0, -t / pc) + np.where(t == 1, 0.0, (1 - t) / (1 - pc)))
        grad = np.where((p < lo) | (p > hi), 0.0, g)
    return _zero_times_inf(w, loss), _zero_times_inf(w, grad)


def binary_cross_entropy(input, target, weight=None, reduction="mean", *, eps=None):
    """PyTorch's binary cross-entropy on probabilities (log clamped at -100), or with ``eps``
    the NumPy formula on ``p`` clipped to ``[eps, 1 - eps]`` (bounds in the input's dtype)."""
    loss, _ = _bce_terms(input, target, weight, eps)
    return _reduce_elementwise(loss, reduction)


def binary_cross_entropy_grad(input, target, weight=None, reduction="mean", *, eps=None):
    """d binary_cross_entropy / d input: ``w (p - t) / max(p (1 - p), float32(1e-12))``."""
    loss, grad = _bce_terms(input, target, weight, eps)
    return grad / loss.size if reduction == "mean" else grad


def binary_cross_entropy_and_grad(input, target, weight=None, reduction="mean", *, eps=None):
    """(binary_cross_entropy, binary_cross_entropy_grad)."""
    return (binary_cross_entropy(input, target, weight, reduction, eps=eps),
            binary_cross_entropy_grad(input, target, weight, reduction, eps=eps))


def _bce_logits_terms(input, target, weight, pos_weight):
    sc = _special()
    x, t = _f64(input), _f64(target)
    w = 1.0 if weight is None else _f64(weight)
    pw = 1.0 if pos_weight is None else _f64(pos_weight)
    pwt = pw * t
    with np.errstate(invalid="ignore"):
        loss = -(np.where(pwt == 0, 0.0, pwt * sc.log_expit(x))
                 + np.where(t == 1, 0.0, (1 - t) * sc.log_expit(-x)))
    grad = (1 - t) * sc.expit(x) - pwt * sc.expit(-x)
    return _zero_times_inf(w, loss), _zero_times_inf(w, grad)


def binary_cross_entropy_with_logits(input, target, weight=None, reduction="mean",
                                     pos_weight=None):
    """``-w [pw t log_expit(x) + (1 - t) log_expit(-x)]`` (a zero factor times an infinite
    log is 0), reduced as PyTorch does."""
    loss, _ = _bce_logits_terms(input, target, weight, pos_weight)
    return _reduce_elementwise(loss, reduction)


def binary_cross_entropy_with_logits_grad(input, target, weight=None, reduction="mean",
                                          pos_weight=None):
    """``w [(1 - t) expit(x) - pw t expit(-x)]`` (divided by numel for the mean)."""
    loss, grad = _bce_logits_terms(input, target, weight, pos_weight)
    return grad / loss.size if reduction == "mean" else grad


def binary_cross_entropy_with_logits_and_grad(input, target, weight=None, reduction="mean",
                                              pos_weight=None):
    """(binary_cross_entropy_with_logits, binary_cross_entropy_with_logits_grad)."""
    return (binary_cross_entropy_with_logits(input, target, weight, reduction, pos_weight),
            binary_cross_entropy_with_logits_grad(input, target, weight, reduction, pos_weight))


def sigmoid_cross_entropy_with_logits(labels, logits):
    """TensorFlow's per-element sigmoid cross-entropy (SPEC's infinite-logit limits)."""
    return binary_cross_entropy_with_logits(logits, labels, reduction="none")


def weighted_cross_entropy_with_logits(labels, logits, pos_weight):
    """TensorFlow's per-element weighted sigmoid cross-entropy."""
    return binary_cross_entropy_with_logits(logits, labels, reduction="none",
                                            pos_weight=pos_weight)


def _one_hot_and_probabilities(y_true, y_proba, labels):
    """scikit-learn's dense encoding: the (N, K) 0/1 matrix of y_true against the sorted
    classes (a 2-D 0/1 y_true is used as is), and y_proba as float64 (N, K) clipped at the
    epsilon of its own floating dtype (float64 for other dtypes)."""
    p = np.asarray(y_proba)
    if p.dtype.kind != "f" or p.dtype.itemsize > 8:
        p = p.astype(np.float64)
    eps = np.finfo(p.dtype).eps
    hi = float(p.dtype.type(1) - p.dtype.type(eps))
    p = p.astype(np.float64)
    if p.ndim == 1 or p.shape[1] == 1:
        p = p.reshape(-1, 1)
        p = np.concatenate([1.0 - p, p], axis=1)
    y = np.asarray(y_true)
    if y.ndim == 2 and y.shape[1] > 1:
        t = y.astype(np.float64)
    else:
        y = y.reshape(-1)
        classes = np.unique(y if labels is None else np.asarray(labels))
        t = (y[:, None] == classes[None, :]).astype(np.float64)
    return t, np.clip(p, float(eps), hi)


def log_loss(y_true, y_proba, *, normalize=True, sample_weight=None, labels=None):
    """``sklearn.metrics.log_loss`` the way scikit-learn computes it (one-hot matrix,
    ``-sum(t log clip(p))`` per row, ``np.average``), in float64; validation, warnings and
    errors are left to xentc.log_loss."""
    t, p = _one_hot_and_probabilities(y_true, y_proba, labels)
    loss = -np.where(t == 0, 0.0, t * np.log(p)).sum(axis=1)
    if not normalize:
        return float(np.dot(loss, sample_weight) if sample_weight is not None else loss.sum())
    return float(np.average(loss, weights=sample_weight))


def d2_log_loss_score(y_true, y_proba, *, sample_weight=None, labels=None):
    """``sklearn.metrics.d2_log_loss_score``: ``1 - LL(y_proba) / LL(null)``, both summed, the
    null model predicting the (weighted) class frequencies of ``y_true`` (float64); nan for
    fewer than two samples."""
    if len(y_true) < 2:  # not defined (scikit-learn warns and returns nan)
        return float("nan")
    t, p = _one_hot_and_probabilities(y_true, y_proba, labels)
    w = np.ones(t.shape[0]) if sample_weight is None else np.asarray(sample_weight, float)
    null = np.clip(np.average(t, axis=0, weights=w), np.finfo(np.float64).eps,
                   1.0 - np.finfo(np.float64).eps)
    ll = -np.where(t == 0, 0.0, t * np.log(p)).sum(axis=1) @ w
    ll_null = -np.where(t == 0, 0.0, t * np.log(null)).sum(axis=1) @ w
    return float(1.0 - ll / ll_null)


def log_loss_partial(y_true, y_proba, *, labels, sample_weight=None):
    """:func:`xentc.log_loss_partial` from the dense one-hot matrix: the
    :class:`xentc.LogLossState` of the samples, its sums formed by NumPy in float64."""
    from ._partial import LogLossState

    p = np.asarray(y_proba)
    dtype = p.dtype if p.dtype.kind == "f" and p.dtype.itemsize <= 8 else np.dtype(np.float64)
    eps = float(np.finfo(dtype).eps)
    rows_off = 0
    if p.ndim == 2 and p.shape[1] > 1:
        rows_off = int(np.sum(np.abs(p.sum(axis=1, dtype=np.float64) - 1) > 1e-8 + eps**0.5))
    t, q = _one_hot_and_probabilities(y_true, y_proba, labels)
    loss = -np.where(t == 0, 0.0, t * np.log(q)).sum(axis=1)
    w = np.ones(t.shape[0]) if sample_weight is None else np.asarray(sample_weight, float)
    return LogLossState(t.shape[0], w.sum(), (w * w).sum(), (w * loss).sum(),
                        (w * loss * loss).sum(), t.T @ w, t.T @ (w * loss), rows_off,
                        np.count_nonzero(w), labels=np.unique(np.asarray(labels)), eps=eps)


def cross_entropy_partial(input, target, weight=None, ignore_index=-100):
    """:func:`xentc.cross_entropy_partial` from :func:`cross_entropy`'s per-row losses: the
    :class:`xentc.CrossEntropyState` of the targets not ignored, in float64."""
    from ._partial import CrossEntropyState

    x = _check_input(input)
    rows = cross_entropy(x, target, None, ignore_index, "none").reshape(-1)
    y, keep, w = _index_target(x, target, weight, ignore_index)
    y, keep = y.reshape(-1)[keep.reshape(-1)], keep.reshape(-1)
    loss, wy = rows[keep], w[y]
    n_classes = x.shape[1]
    return CrossEntropyState(y.shape[0], wy.sum(), (wy * wy).sum(), (wy * loss).sum(),
                             (wy * loss * loss).sum(),
                             np.bincount(y, weights=wy, minlength=n_classes),
                             np.bincount(y, weights=wy * loss, minlength=n_classes),
                             dtype=np.float64)
