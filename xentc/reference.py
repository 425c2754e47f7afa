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

import numpy as np

__all__ = [
    "logsumexp",
    "softmax",
    "log_softmax",
    "binary_cross_entropy",
    "binary_cross_entropy_grad",
    "binary_cross_entropy_and_grad",
    "binary_cross_entropy_with_logits",
    "binary_cross_entropy_with_logits_grad",
    "binary_cross_entropy_with_logits_and_grad",
    "sigmoid_cross_entropy_with_logits",
    "weighted_cross_entropy_with_logits",
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


# --------------------------------------------------------------------------------------------
# Binary cross-entropy
# --------------------------------------------------------------------------------------------

_BCE_GRAD_EPS = float(np.float32(1e-12))   # PyTorch's floor of p (1 - p), a float32


def _reduce(loss, reduction):
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
    return _reduce(loss, reduction)


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
    return _reduce(loss, reduction)


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
