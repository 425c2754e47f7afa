"""Binary cross-entropy on probabilities and on logits, with PyTorch's and TensorFlow's
semantics, their closed-form gradients, and one-pass loss-and-gradient variants."""

import numbers

import numpy as np

from . import _core
from ._threads import effective_n_threads
from ._validation import (as_real_array, check_grad_out, check_reduction, compute_dtype,
                          copied_into, shaped_result, writes_directly)

__all__ = [
    "binary_cross_entropy",
    "binary_cross_entropy_grad",
    "binary_cross_entropy_and_grad",
    "binary_cross_entropy_with_logits",
    "binary_cross_entropy_with_logits_grad",
    "binary_cross_entropy_with_logits_and_grad",
    "sigmoid_cross_entropy_with_logits",
    "weighted_cross_entropy_with_logits",
]

def _rows(a, shape):
    """``a`` (of shape ``shape``, possibly a broadcast view) as a 2-D (rows, last axis) view
    with element-multiple strides; a copy only where no such view exists."""
    n_cols = shape[-1] if shape else 1
    n_rows = int(np.prod(shape[:-1], dtype=np.int64)) if shape else 1
    try:
        a2 = np.reshape(a, (n_rows, n_cols), copy=False)
    except ValueError:  # the pattern has no 2-D strides (e.g. broadcast along a middle axis)
        a2 = np.ascontiguousarray(a).reshape(n_rows, n_cols)
    except TypeError:  # pragma: no cover - NumPy < 2.1 has no copy= in reshape
        a2 = a.reshape(n_rows, n_cols)
    if any(s % a2.itemsize for s in a2.strides):
        a2 = np.ascontiguousarray(a2)
    return a2


def _broadcast_operand(value, name, shape, dtype):
    """A weight (``weight`` or ``pos_weight``) in ``dtype``, broadcast to ``shape`` without
    enlarging it, as a 2-D view for the kernel (strides 0 along broadcast axes)."""
    if value is None:
        return None
    v = as_real_array(value, name)
    try:
        ok = np.broadcast_shapes(v.shape, shape) == shape
    except ValueError:
        ok = False
    if not ok:
        raise ValueError(f"{name} of shape {v.shape} cannot be broadcast to the input's shape "
                         f"{shape}")
    v = v.astype(dtype, copy=False)
    return _rows(np.broadcast_to(v, shape), shape)


class _Problem:
    """Validated operands of one call: x, t, w, pw as 2-D views in the compute dtype."""

    def __init__(self, x, t, weight, pos_weight, n_threads):
        self.n_threads = effective_n_threads(n_threads)
        self.compute, self.result = compute_dtype(x.dtype)
        self.shape = x.shape
        self.n = x.size
        self.x = _rows(x.astype(self.compute, copy=False), x.shape)
        self.t = _rows(t.astype(self.compute, copy=False), x.shape)
        self.w = _broadcast_operand(weight, "weight", x.shape, self.compute)
        self.pw = _broadcast_operand(pos_weight, "pos_weight", x.shape, self.compute)

    def run(self, mode, reduction, want_loss, want_grad, lo=0.0, hi=0.0, grad_out=None):
        """(loss, grad, bad_input, bad_target) as the public functions return them; the
        gradient written into grad_out (validated) if it is given."""
        store = want_loss and reduction == "none"
        loss = np.empty(self.n, dtype=self.compute) if store else None
        direct = writes_directly(grad_out, self.compute)
        if direct:
            grad = grad_out.reshape(-1)
        else:
            grad = np.empty(self.n, dtype=self.compute) if want_grad else None
        total, bad_x, bad_t = 0.0, 0, 0
        if self.n:
            gscale = 1.0 / self.n if reduction == "mean" else 1.0
            total, bad_x, bad_t = _core.binary_loss(
                mode, self.x, self.t, self.w, self.pw, loss, grad, want_loss, lo, hi,
                gscale, self.n_threads)
        if store:
            out = shaped_result(loss, self.shape, self.result)
        elif reduction == "mean":
            out = self.result.type(total / self.n if self.n else np.nan)
        else:
            out = self.result.type(total)
        if direct:
            grad = grad_out
        elif want_grad:
            grad = copied_into(grad_out, shaped_result(grad, self.shape, self.result))
        return out, grad, bad_x, bad_t


def _torch_operands(input, target, reduction):
    check_reduction(reduction)
    x = as_real_array(input, "input")
    t = as_real_array(target, "target")
    if t.shape != x.shape:
        raise ValueError(f"Target size {t.shape} must be the same as input size {x.shape}")
    return x, t


def _clip_bounds(eps, x_dtype):
    """[eps, 1 - eps] rounded to the input's dtype, as np.clip with Python-float bounds does
    (float32: 1 - 1e-15 is 1.0, so nothing is clipped at the top)."""
    if isinstance(eps, bool) or not isinstance(eps, numbers.Real) or not 0.0 <= eps <= 0.5:
        raise ValueError(f"eps must be None or a real number in [0, 0.5], got {eps!r}")
    bound = x_dtype if x_dtype.kind == "f" else np.dtype(np.float64)
    return float(bound.type(eps)), float(bound.type(1.0 - float(eps)))


def _bce(input, target, weight, reduction, eps, n_threads, want_loss, want_grad,
         grad_out=None):
    x, t = _torch_operands(input, target, reduction)
    if eps is None:
        mode, lo, hi = _core.BIN_PROB, 0.0, 0.0
    else:
        mode = _core.BIN_PROB_EPS
        lo, hi = _clip_bounds(eps, x.dtype)
    problem = _Problem(x, t, weight, None, n_threads)
    if want_grad:
        grad_out = check_grad_out(grad_out, x.shape, problem.result, x, t, weight)
    loss, grad, bad_x, bad_t = problem.run(mode, reduction, want_loss, want_grad, lo, hi,
                                           grad_out)
    if bad_x:
        raise ValueError("all elements of input should be between 0 and 1")
    if bad_t:
        raise ValueError("all elements of target should be between 0 and 1")
    return loss, grad


def _bce_logits(input, target, weight, reduction, pos_weight, n_threads, want_loss, want_grad,
                grad_out=None):
    x, t = _torch_operands(input, target, reduction)
    problem = _Problem(x, t, weight, pos_weight, n_threads)
    if want_grad:
        grad_out = check_grad_out(grad_out, x.shape, problem.result, x, t, weight, pos_weight)
    loss, grad, _, _ = problem.run(_core.BIN_LOGITS, reduction, want_loss, want_grad,
                                   grad_out=grad_out)
    return loss, grad


def binary_cross_entropy(input, target, weight=None, reduction="mean", *, eps=None,
                         n_threads=None):
    r"""Binary cross-entropy between probabilities and targets.

    ``loss_i = -w_i [t_i log p_i + (1 - t_i) log(1 - p_i)]``, as
    :func:`torch.nn.functional.binary_cross_entropy` (``eps=None``) or as the common NumPy
    formula with ``p`` clipped to ``[eps, 1 - eps]`` (``eps`` given).

    Parameters
    ----------
    input : array_like
        Probabilities ``p``, any shape (bool, integer, float16, float32 or float64).
    target : array_like
        Targets ``t``, exactly the shape of `input` (converted to its computing dtype).
    weight : array_like, optional
        Rescaling weights, broadcastable to `input`'s shape (not enlarging it).
    reduction : {'mean', 'sum', 'none'}, optional
        ``'mean'`` divides the sum by the number of elements (not by the sum of weights),
        as PyTorch does.
    eps : float or None, optional
        None: PyTorch's semantics, each log clamped at -100, and both `input` and `target`
        must lie in ``[0, 1]``.  A float in ``[0, 0.5]``: ``p`` is clipped to
        ``[eps, 1 - eps]``, the bounds rounded to `input`'s dtype as ``np.clip`` does
        (in float32 ``1 - 1e-15`` is 1, so nothing is clipped at the top), and nothing is
        validated.
    n_threads : int or None, optional
        Threads to use (see :func:`xentc.logsumexp`); results do not depend on it.

    Returns
    -------
    loss : ndarray or scalar
        The per-element losses (``'none'``, `input`'s shape) or their mean or sum, of
        `input`'s dtype (float16 is computed in float32; integers and bools give float64).
        The mean of no elements is NaN, the sum 0.

    Raises
    ------
    ValueError
        For a bad `reduction`, a `target` or `weight` of the wrong shape, an `eps` outside
        ``[0, 0.5]``, or (``eps=None``) ``"all elements of input should be between 0 and
        1"`` / ``"... of target ..."`` (NaN is out of range); PyTorch raises RuntimeError
        for the last two.

    Notes
    -----
    ``log(1 - p)`` is computed without rounding ``1 - p``, and everything in double.  With
    `eps`, a zero factor times an infinite log is 0 (``t = 1`` at ``p = 1`` when nothing is
    clipped at the top gives 0, where the NumPy formula gives NaN).

    Examples
    --------
    >>> import numpy as np
    >>> import xentc
    >>> p = np.array([0.9, 0.2, 0.5, 1.0, 0.0])
    >>> t = np.array([1.0, 0.0, 1.0, 1.0, 1.0])
    >>> xentc.binary_cross_entropy(p, t, reduction="none")
    array([ 0.10536052,  0.22314355,  0.69314718, -0.        , 100.        ])
    >>> xentc.binary_cross_entropy(p, t)
    np.float64(20.204330249506395)
    >>> xentc.binary_cross_entropy(p, t, eps=1e-15, reduction="sum")
    np.float64(35.56042764244267)
    """
    return _bce(input, target, weight, reduction, eps, n_threads, True, False)[0]


def binary_cross_entropy_grad(input, target, weight=None, reduction="mean", *, eps=None,
                              grad_out=None, n_threads=None):
    r"""Gradient of :func:`binary_cross_entropy` with respect to `input`.

    ``w (p - t) / max(p (1 - p), 1e-12)`` with PyTorch's floor (1e-12 as a float32) for
    ``eps=None``; with `eps`, the derivative of the clipped formula,
    ``w [(1 - t) / (1 - p) - t / p]``, and 0 where `p` lies outside ``[lo, hi]``.  Divided
    by the number of elements for ``reduction='mean'``; for ``'none'`` element i is
    ``d loss_i / d p_i``.

    Parameters
    ----------
    input, target, weight, reduction, eps, n_threads
        As for :func:`binary_cross_entropy`.
    grad_out : ndarray, optional
        An array of `input`'s shape and result dtype, sharing no memory with the inputs,
        that receives the gradient (and is returned); saves allocating one per call.

    Returns
    -------
    grad : ndarray or scalar
        `input`'s shape and (result) dtype.

    Examples
    --------
    >>> import numpy as np
    >>> import xentc
    >>> xentc.binary_cross_entropy_grad([0.3, 0.9, 0.0], [1.0, 0.2, 1.0], reduction="none")
    array([-3.33333333e+00,  7.77777778e+00, -1.00000000e+12])
    """
    return _bce(input, target, weight, reduction, eps, n_threads, False, True, grad_out)[1]


def binary_cross_entropy_and_grad(input, target, weight=None, reduction="mean", *, eps=None,
                                  grad_out=None, n_threads=None):
    r""":func:`binary_cross_entropy` and :func:`binary_cross_entropy_grad` from one pass.

    Parameters
    ----------
    input, target, weight, reduction, eps, n_threads
        As for :func:`binary_cross_entropy`.
    grad_out : ndarray, optional
        An array of `input`'s shape and result dtype, sharing no memory with the inputs,
        that receives the gradient (and is returned); saves allocating one per call.

    Returns
    -------
    loss : ndarray or scalar
    grad : ndarray or scalar

    Examples
    --------
    >>> import xentc
    >>> loss, grad = xentc.binary_cross_entropy_and_grad([0.25, 0.5], [1.0, 0.0])
    >>> loss, grad
    (np.float64(1.0397207708399179), array([-2.,  1.]))
    """
    return _bce(input, target, weight, reduction, eps, n_threads, True, True, grad_out)


def binary_cross_entropy_with_logits(input, target, weight=None, reduction="mean",
                                     pos_weight=None, *, n_threads=None):
    r"""Binary cross-entropy on logits (sigmoid and cross-entropy in one stable step).

    ``loss_i = -w_i [pw t_i log sigma(x_i) + (1 - t_i) log sigma(-x_i)]``, as
    :func:`torch.nn.functional.binary_cross_entropy_with_logits`, computed in double as
    ``(x >= 0 ? (1 - t) x : -pw t x) + (1 + (pw - 1) t) log1p(exp(-|x|))``.

    Parameters
    ----------
    input : array_like
        Logits ``x``, any shape (bool, integer, float16, float32 or float64).
    target : array_like
        Targets ``t``, exactly the shape of `input` (not range-checked, as in PyTorch).
    weight : array_like, optional
        Rescaling weights, broadcastable to `input`'s shape (not enlarging it).
    reduction : {'mean', 'sum', 'none'}, optional
        ``'mean'`` divides by the number of elements.
    pos_weight : array_like, optional
        Weight of the positive term, broadcastable to `input` (typically ``(C,)`` along
        the last axis).
    n_threads : int or None, optional
        Threads to use (see :func:`xentc.logsumexp`); results do not depend on it.

    Returns
    -------
    loss : ndarray or scalar
        dtype as for :func:`binary_cross_entropy` (it follows `input`, where PyTorch follows
        the target).

    Notes
    -----
    A term whose factor is exactly 0 contributes 0 even where its log is infinite (SPEC:
    zero weight times infinity is zero), so infinite logits give the mathematically
    correct limits: ``(x, t) = (+inf, 1), (+inf, 0), (-inf, 0), (-inf, 1)`` give
    ``0, inf, 0, inf``.  This deliberately differs from PyTorch (``nan, inf, nan, nan``),
    TensorFlow (``nan, nan, nan, inf``) and optax (``nan, inf, nan, inf``).  A zero
    `weight` also zeroes an infinite loss.

    Examples
    --------
    >>> import numpy as np
    >>> import xentc
    >>> x = np.array([2.0, -1.0, 0.0, 100.0, -100.0])
    >>> t = np.array([1.0, 0.0, 1.0, 0.0, 1.0])
    >>> xentc.binary_cross_entropy_with_logits(x, t, reduction="none")
    array([  0.12692801,   0.31326169,   0.69314718, 100.        , 100.        ])
    >>> xentc.binary_cross_entropy_with_logits([np.inf, np.inf, -np.inf, -np.inf],
    ...                                        [1.0, 0.0, 0.0, 1.0], reduction="none")
    array([ 0., inf,  0., inf])
    """
    return _bce_logits(input, target, weight, reduction, pos_weight, n_threads, True, False)[0]


def binary_cross_entropy_with_logits_grad(input, target, weight=None, reduction="mean",
                                          pos_weight=None, *, grad_out=None, n_threads=None):
    r"""Gradient of :func:`binary_cross_entropy_with_logits` with respect to `input`.

    ``w [(1 + (pw - 1) t) sigma(x) - pw t]``, computed as
    ``w [(1 - t) sigma(x) - pw t sigma(-x)]``: finite at ``x = +-inf`` (``w (1 - t)`` and
    ``-w pw t``).  Divided by the number of elements for ``reduction='mean'``.

    Parameters
    ----------
    input, target, weight, reduction, pos_weight, n_threads
        As for :func:`binary_cross_entropy_with_logits`.
    grad_out : ndarray, optional
        An array of `input`'s shape and result dtype, sharing no memory with the inputs,
        that receives the gradient (and is returned); saves allocating one per call.

    Returns
    -------
    grad : ndarray or scalar
        `input`'s shape and (result) dtype.

    Examples
    --------
    >>> import xentc
    >>> xentc.binary_cross_entropy_with_logits_grad([2.0, -1.0, 0.0], [1.0, 0.0, 0.3],
    ...                                             reduction="none", pos_weight=2.0)
    array([-0.23840584,  0.26894142,  0.05      ])
    """
    return _bce_logits(input, target, weight, reduction, pos_weight, n_threads, False, True,
                       grad_out)[1]


def binary_cross_entropy_with_logits_and_grad(input, target, weight=None, reduction="mean",
                                              pos_weight=None, *, grad_out=None,
                                              n_threads=None):
    r""":func:`binary_cross_entropy_with_logits` and its gradient from one pass.

    Parameters
    ----------
    input, target, weight, reduction, pos_weight, n_threads
        As for :func:`binary_cross_entropy_with_logits`.
    grad_out : ndarray, optional
        An array of `input`'s shape and result dtype, sharing no memory with the inputs,
        that receives the gradient (and is returned); saves allocating one per call.

    Returns
    -------
    loss : ndarray or scalar
    grad : ndarray or scalar

    Examples
    --------
    >>> import xentc
    >>> loss, grad = xentc.binary_cross_entropy_with_logits_and_grad([0.0, 0.0], [1.0, 0.0])
    >>> loss, grad
    (np.float64(0.6931471805599453), array([-0.25,  0.25]))
    """
    return _bce_logits(input, target, weight, reduction, pos_weight, n_threads, True, True,
                       grad_out)


def _tf_logits(labels, logits, pos_weight, n_threads):
    x = as_real_array(logits, "logits")
    z = as_real_array(labels, "labels")
    if z.shape != x.shape:
        raise ValueError("`logits` and `labels` must have the same shape, "
                         f"received ({x.shape} vs {z.shape}).")
    problem = _Problem(x, z, None, pos_weight, n_threads)
    return problem.run(_core.BIN_LOGITS, "none", True, False)[0]


def sigmoid_cross_entropy_with_logits(labels, logits, *, n_threads=None):
    r"""Per-element sigmoid cross-entropy, as :func:`tf.nn.sigmoid_cross_entropy_with_logits`.

    ``z * -log(sigmoid(x)) + (1 - z) * -log(1 - sigmoid(x))``, computed stably in double
    (it is :func:`binary_cross_entropy_with_logits` with ``reduction='none'``).

    Parameters
    ----------
    labels : array_like
        ``z``, exactly the shape of `logits` (not range-checked, as in TensorFlow; another
        dtype is converted, where TensorFlow raises).
    logits : array_like
        ``x`` (bool, integer, float16, float32 or float64).
    n_threads : int or None, optional
        Threads to use; results do not depend on it.

    Returns
    -------
    loss : ndarray or scalar
        `logits`' shape; its dtype (float16 computed in float32, integers give float64).

    Notes
    -----
    Infinite logits give the mathematically correct limits ``0, inf, 0, inf`` for
    ``(x, z) = (+inf, 1), (+inf, 0), (-inf, 0), (-inf, 1)``, where TensorFlow gives
    ``nan, nan, nan, inf`` (see :func:`binary_cross_entropy_with_logits`).

    Examples
    --------
    >>> import xentc
    >>> xentc.sigmoid_cross_entropy_with_logits(labels=[1.0, 0.0, 1.0],
    ...                                         logits=[2.0, -1.0, 0.0])
    array([0.12692801, 0.31326169, 0.69314718])
    """
    return _tf_logits(labels, logits, None, n_threads)


def weighted_cross_entropy_with_logits(labels, logits, pos_weight, *, n_threads=None):
    r"""Per-element weighted sigmoid cross-entropy, as
    :func:`tf.nn.weighted_cross_entropy_with_logits`.

    ``q z * -log(sigmoid(x)) + (1 - z) * -log(1 - sigmoid(x))`` with ``q = pos_weight``.

    Parameters
    ----------
    labels : array_like
        ``z``, exactly the shape of `logits`.
    logits : array_like
        ``x``.
    pos_weight : array_like
        ``q``, broadcastable to `logits` (a scalar or per-class along the last axis).
    n_threads : int or None, optional
        Threads to use; results do not depend on it.

    Returns
    -------
    loss : ndarray or scalar
        `logits`' shape and dtype.

    Notes
    -----
    Infinite logits follow :func:`sigmoid_cross_entropy_with_logits` (TensorFlow gives
    ``nan, inf, nan, nan`` here).

    Examples
    --------
    >>> import xentc
    >>> xentc.weighted_cross_entropy_with_logits(labels=[1.0, 0.0, 0.3],
    ...                                          logits=[2.0, -1.0, 0.0], pos_weight=2.0)
    array([0.25385602, 0.31326169, 0.90109133])
    """
    return _tf_logits(labels, logits, pos_weight, n_threads)
