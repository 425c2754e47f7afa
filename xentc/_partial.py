"""Mergeable partial results of ``log_loss`` and class-index ``cross_entropy``.

A state holds sums over the samples of one part of a problem (a chunk of rows): the
weighted loss and its square, the weights and their squares, the number of samples, and the
weighted loss and weight per true class.  States of the parts add up (``a + b``, or
``sum(states)``) to the state of the whole, which finishes with the mean or summed loss, its
standard error, the mean loss per class and (for ``log_loss``) the D² score.  Totals are
sums, never averages of averages, so the result does not depend on how the rows were split
(up to float rounding; for a fixed split and merge order it is bit-identical).  This is the
reduction that ``xentc.dask`` and the streaming of memory-mapped inputs run.
"""

import math
import warnings

import numpy as np

from . import _core
from ._losses import (_NO_WEIGHT, _check_ignore_index, _check_index_target_shape,
                      _class_weights, _classes_last, _divide, _fsum, _index_targets,
                      _integer_targets, _scalar)
from ._metrics import (UndefinedMetricWarning, _Scored, _sklearn_compatible, null_log_loss,
                       warn_row_sums)
from ._threads import effective_n_threads
from ._validation import as_real_array, check_reduction, compute_dtype

__all__ = ["LogLossState", "CrossEntropyState", "log_loss_partial", "cross_entropy_partial"]


class _LossState:
    """The sums shared by both states; see :class:`LogLossState`."""

    _SUMS = ("n", "sum_weight", "sum_weight_sq", "sum_loss", "sum_loss_sq", "class_weight",
             "class_loss")

    def __init__(self, n, sum_weight, sum_weight_sq, sum_loss, sum_loss_sq, class_weight,
                 class_loss):
        self.n = int(n)
        self.sum_weight = float(sum_weight)
        self.sum_weight_sq = float(sum_weight_sq)
        self.sum_loss = float(sum_loss)
        self.sum_loss_sq = float(sum_loss_sq)
        self.class_weight = np.asarray(class_weight, dtype=np.float64)
        self.class_loss = np.asarray(class_loss, dtype=np.float64)

    def _merged_keys(self, other):
        """The keyword arguments of the merged state (what both must agree on)."""
        return {}

    def __add__(self, other):
        if other.__class__ is not self.__class__:
            return NotImplemented
        keys = self._merged_keys(other)
        sums = [getattr(self, s) + getattr(other, s) for s in self._SUMS]
        return self.__class__(*sums, **keys)

    def __radd__(self, other):
        if isinstance(other, int) and other == 0:  # sum(states) starts from 0
            return self
        return NotImplemented

    def __repr__(self):
        return (f"{self.__class__.__name__}(n={self.n}, sum_weight={self.sum_weight!r}, "
                f"sum_loss={self.sum_loss!r}, n_classes={self.class_weight.shape[0]})")

    def sem(self):
        """Standard error of the weighted mean loss.

        The weights are taken as reliability weights: with V1 = Σ w and V2 = Σ w², the
        unbiased variance of the losses is ``Σ w (loss - mean)² / (V1 - V2 / V1)`` and the
        variance of the weighted mean is that times ``V2 / V1²``.  With unit weights this is
        ``std(losses, ddof=1) / sqrt(n)``.  nan where it is not defined (fewer than two
        samples with weight).
        """
        v1, v2 = self.sum_weight, self.sum_weight_sq
        denominator = v1 * (v1 * v1 - v2)
        if not denominator > 0.0:
            return math.nan
        spread = max(self.sum_loss_sq - self.sum_loss * (self.sum_loss / v1), 0.0)
        return math.sqrt(spread * v2 / denominator)

    def per_class(self):
        """The weighted mean loss of the samples of each true class (nan for a class
        without weight), in the order of the classes."""
        with np.errstate(divide="ignore", invalid="ignore"):
            return self.class_loss / self.class_weight


class LogLossState(_LossState):
    """Mergeable partial result of :func:`xentc.log_loss` (see :func:`log_loss_partial`).

    Attributes
    ----------
    labels : ndarray
        The classes, sorted: the order of :meth:`per_class` and of ``class_loss`` /
        ``class_weight``.
    n : int
        Number of samples.
    sum_weight, sum_weight_sq : float
        Σ w and Σ w² over the samples (w = 1 without sample weights).
    sum_loss, sum_loss_sq : float
        Σ w·loss and Σ w·loss².
    class_loss, class_weight : ndarray of shape (n_classes,)
        Σ w·loss and Σ w over the samples of each true class.
    n_rows_off : int
        Number of rows of ``y_proba`` whose sum is not 1 (within ``1e-8 + sqrt(eps)``): the
        UserWarning is raised once, when the merged state is finished.
    n_nonzero_weight : int
        Number of samples whose weight is not 0.
    eps : float
        The clipping bound, the machine epsilon of ``y_proba``'s dtype.
    """

    _SUMS = _LossState._SUMS + ("n_rows_off", "n_nonzero_weight")

    def __init__(self, n, sum_weight, sum_weight_sq, sum_loss, sum_loss_sq, class_weight,
                 class_loss, n_rows_off=0, n_nonzero_weight=None, *, labels, eps):
        super().__init__(n, sum_weight, sum_weight_sq, sum_loss, sum_loss_sq, class_weight,
                         class_loss)
        self.n_rows_off = int(n_rows_off)
        self.n_nonzero_weight = self.n if n_nonzero_weight is None else int(n_nonzero_weight)
        self.labels = np.asarray(labels)
        self.eps = float(eps)

    def _merged_keys(self, other):
        if not (self.labels.shape == other.labels.shape
                and np.all(self.labels == other.labels)):
            raise ValueError(
                f"cannot merge log loss states of different labels: {self.labels} and "
                f"{other.labels}"
            )
        if self.eps != other.eps:
            raise ValueError(
                "cannot merge log loss states of probabilities of different dtypes (clipped "
                f"at eps={self.eps} and eps={other.eps})"
            )
        return {"labels": self.labels, "eps": self.eps}

    def _check_whole(self, stacklevel):
        """scikit-learn's errors for a whole problem with no samples or no weight, and the
        row-sum warning."""
        if self.n == 0:
            raise ValueError("Found array with 0 sample(s) while a minimum of 1 is required.")
        if self.n_nonzero_weight == 0:
            raise ValueError("Sample weights must contain at least one non-zero number.")
        if self.n_rows_off:
            warn_row_sums(stacklevel + 1)

    def log_loss(self, normalize=True):
        """The log loss of the merged samples, as :func:`xentc.log_loss` gives it.

        Parameters
        ----------
        normalize : bool, default=True
            The weighted mean (else the weighted sum) of the per-sample losses.

        Returns
        -------
        float
        """
        return self._log_loss(normalize, stacklevel=2)

    def _log_loss(self, normalize, stacklevel):
        self._check_whole(stacklevel + 1)
        if not normalize:
            return float(self.sum_loss)
        if self.sum_weight == 0.0:
            raise ZeroDivisionError("Weights sum to zero, can't be normalized")
        return float(self.sum_loss / self.sum_weight)

    def d2(self):
        """The D² score of the merged samples, as :func:`xentc.d2_log_loss_score` gives it:
        ``1 - Σ w·loss / (the null model's Σ w·loss)``, the null model predicting each
        class's weighted frequency (from ``class_weight``)."""
        return self._d2(stacklevel=2)

    def _d2(self, stacklevel):
        if self.n < 2:
            warning = _sklearn_compatible(UndefinedMetricWarning, "sklearn.exceptions")
            warnings.warn("D^2 score is not well-defined with less than two samples.",
                          warning, stacklevel=stacklevel + 1)
            return math.nan
        self._check_whole(stacklevel + 1)
        if self.sum_weight == 0.0:
            raise ZeroDivisionError("Weights sum to zero, can't be normalized")
        return float(1.0 - self.sum_loss / null_log_loss(self.class_weight, self.sum_weight))


class CrossEntropyState(_LossState):
    """Mergeable partial result of class-index :func:`xentc.cross_entropy` (see
    :func:`cross_entropy_partial`).

    The attributes are those of :class:`LogLossState` (without ``labels``, ``n_rows_off``,
    ``n_nonzero_weight`` and ``eps``), over the targets that are not ``ignore_index``, with
    w the class weight of each target's class; ``dtype`` is the result dtype.
    """

    def __init__(self, n, sum_weight, sum_weight_sq, sum_loss, sum_loss_sq, class_weight,
                 class_loss, *, dtype):
        super().__init__(n, sum_weight, sum_weight_sq, sum_loss, sum_loss_sq, class_weight,
                         class_loss)
        self.dtype = np.dtype(dtype)

    def _merged_keys(self, other):
        if self.class_weight.shape != other.class_weight.shape:
            raise ValueError(
                "cannot merge cross-entropy states of different numbers of classes: "
                f"{self.class_weight.shape[0]} and {other.class_weight.shape[0]}"
            )
        return {"dtype": np.result_type(self.dtype, other.dtype)}

    def cross_entropy(self, reduction="mean"):
        """The loss of the merged targets, as :func:`xentc.cross_entropy` gives it.

        Parameters
        ----------
        reduction : {"mean", "sum"}, default="mean"
            PyTorch's: Σ w·loss / Σ w over the targets not ignored (nan if there are
            none), or Σ w·loss.

        Returns
        -------
        NumPy scalar of the input's floating dtype
        """
        check_reduction(reduction)
        if reduction == "none":
            raise ValueError("a merged state has no per-sample losses: reduction='none' "
                             "is not available")
        value = self.sum_loss if reduction == "sum" else _divide(self.sum_loss,
                                                                 self.sum_weight)
        return _scalar(value, self.dtype)


def log_loss_partial(y_true, y_proba, *, labels, sample_weight=None, n_threads=None):
    """The mergeable partial result of :func:`xentc.log_loss` for one part of a problem.

    Validates and scores the rows as :func:`xentc.log_loss` does (the same errors), but
    the part may have no rows or weigh nothing, and the row-sum warning is deferred to the
    finish of the merged state.  ``labels`` is required: the classes of a part are never
    inferred from its own labels, which may miss some.

    Parameters
    ----------
    y_true : array-like of shape (n_samples,)
        True labels of the part.
    y_proba : array-like of shape (n_samples, n_classes) or (n_samples,)
        Predicted probabilities, columns in the sorted order of ``labels``.
    labels : array-like
        All the classes of the whole problem.
    sample_weight : array-like of shape (n_samples,), default=None
    n_threads : int, default=None

    Returns
    -------
    LogLossState
        Add states of disjoint parts with ``+`` (or ``sum``); finish with ``.log_loss()``,
        ``.sem()``, ``.per_class()`` or ``.d2()``.

    Examples
    --------
    >>> import numpy as np, xentc
    >>> y, p = np.array([0, 2, 1, 2]), np.array([[.7, .2, .1], [.1, .1, .8],
    ...                                          [.2, .5, .3], [.3, .3, .4]])
    >>> state = (xentc.log_loss_partial(y[:1], p[:1], labels=[0, 1, 2])
    ...          + xentc.log_loss_partial(y[1:], p[1:], labels=[0, 1, 2]))
    >>> print(round(state.log_loss(), 12), round(xentc.log_loss(y, p), 12))
    0.547314101922 0.547314101922
    >>> state.per_class().round(4)
    array([0.3567, 0.6931, 0.5697])
    """
    if labels is None:
        raise ValueError("labels is required: the classes of a part are not inferred from "
                         "its labels")
    scored = _Scored(y_true, y_proba, sample_weight, labels, n_threads, stacklevel=2,
                     part=True)
    return _log_loss_state(scored)


def _log_loss_state(scored):
    """The state of a scored part (``_Scored(..., part=True)``).  Where the part's losses
    were not kept (``keep_losses=False``: ``log_loss`` and ``d2_log_loss_score`` reading
    blocks, which need the totals alone), Σ w·loss² and the classes' Σ w·loss are nan."""
    losses, w, codes = scored.losses, scored.weights, scored.target.codes
    k = scored.target.classes.shape[0]
    codes = np.ascontiguousarray(codes)
    sum_w = scored.weight_sum
    if losses.shape[0] == scored.n:
        class_loss, class_weight, sum_w2, loss_sq, n_nonzero = _core.class_sums(
            codes, losses, _NO_WEIGHT if w is None else w, k)
    else:
        class_loss, loss_sq = np.full(k, math.nan), math.nan
        if w is None:
            sum_w2, n_nonzero = float(scored.n), scored.n
            class_weight = np.bincount(codes, minlength=k).astype(np.float64)
        else:
            sum_w2, n_nonzero = float(np.sum(w * w)), int(np.count_nonzero(w))
            class_weight = np.bincount(codes, weights=w, minlength=k)
    return LogLossState(scored.n, sum_w, sum_w2, scored.total, loss_sq, class_weight,
                        class_loss, scored.n_rows_off, n_nonzero,
                        labels=scored.target.classes, eps=scored.eps)


def cross_entropy_partial(input, target, weight=None, ignore_index=-100, *, n_threads=None):
    """The mergeable partial result of :func:`xentc.cross_entropy` with class-index targets,
    for one part (a block of rows) of a problem.

    The same checks and errors as :func:`xentc.cross_entropy`; the part may have no rows.
    Label smoothing and probability targets are not supported here.

    Parameters
    ----------
    input : array_like of shape (N, C) or (N, C, d1, ...)
        Logits, class axis 1.
    target : array_like of integers, shape (N,) or (N, d1, ...)
        Class indices (``ignore_index``: ignored).
    weight : array_like of shape (C,), default=None
        Class weights.
    ignore_index : int, default=-100
    n_threads : int, default=None

    Returns
    -------
    CrossEntropyState
        Add states with ``+``; finish with ``.cross_entropy(reduction)``, ``.sem()`` or
        ``.per_class()``.

    Examples
    --------
    >>> import numpy as np, xentc
    >>> x = np.array([[2.0, 0.5, -1.0], [0.1, 0.2, 0.3], [1.0, 1.0, 1.0]])
    >>> y = np.array([0, 2, -100])
    >>> state = xentc.cross_entropy_partial(x[:2], y[:2]) + xentc.cross_entropy_partial(
    ...     x[2:], y[2:])
    >>> print(state.cross_entropy(), xentc.cross_entropy(x, y))
    0.6216270724432006 0.6216270724432006
    """
    x = as_real_array(input, "input")
    t = np.asarray(target)
    ignore_index = _check_ignore_index(ignore_index)
    n_threads = effective_n_threads(n_threads)
    if x.ndim < 2:
        raise ValueError(
            f"cross_entropy_partial needs a batch axis: input of shape (N, C) or "
            f"(N, C, d1, ...), got {x.ndim} dimension(s)"
        )
    if t.shape == x.shape:
        raise TypeError("cross_entropy_partial takes class-index targets, not probabilities")
    n_classes = x.shape[1]
    w = _class_weights(weight, n_classes)
    compute, result = compute_dtype(x.dtype)
    y = _integer_targets(t)
    _check_index_target_shape(x.shape, y.shape)
    y, ignore, denominator = _index_targets(y, ignore_index, n_classes, w, n_threads)
    x2, _ = _classes_last(x, 1, compute)
    n_rows = x2.shape[0]
    loss_rows = np.empty(n_rows, dtype=compute)  # w[y] * loss, 0 where ignored
    if n_classes == 0 or n_rows == 0:
        sums = np.zeros(1)
        loss_rows[:] = 0.0
    else:
        sums = _core.ce_rows(x2, y, ignore, np.empty((0, 1), dtype=compute),
                             _NO_WEIGHT if w is None else w,
                             float(n_classes) if w is None else math.fsum(w), 0.0, True,
                             loss_rows, np.empty((0, max(n_classes, 1)), dtype=compute), 1.0,
                             n_threads)
    kept = y != ignore
    codes = y[kept]
    wl = loss_rows[kept].astype(np.float64)
    counts = np.bincount(codes, minlength=n_classes).astype(np.float64)
    class_w = counts if w is None else counts * w
    if w is None:
        loss_sq = float(np.sum(wl * wl))
    else:
        wy = w[codes]
        with np.errstate(divide="ignore", invalid="ignore"):
            loss_sq = float(np.sum(np.where(wy == 0.0, 0.0, wl * wl / wy)))
    return CrossEntropyState(
        codes.shape[0], denominator, math.fsum(class_w if w is None else counts * w * w),
        _fsum(sums), loss_sq, class_w, np.bincount(codes, weights=wl, minlength=n_classes),
        dtype=result)
