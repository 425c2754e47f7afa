"""xentc's ``log_loss``, ``d2_log_loss_score`` and ``cross_entropy`` on Dask arrays.

Each block of rows is scored into a mergeable partial state (:func:`xentc.log_loss_partial`,
:func:`xentc.cross_entropy_partial`) and the states are added by ``dask.array.reduction``'s
tree (chunk → state, combine → ``+``, aggregate → ``+``); the merged state is finished in
the calling process, so its warnings reach the caller.  Totals are sums, never averages of
per-block means, so the result is right for any chunking; column chunks are first joined
into whole rows.  The classes of ``log_loss`` are found once, over all of ``y_true``, unless
``labels`` is given.

NumPy inputs (no Dask collection among the arguments) are passed to the in-memory
functions.  Requires dask (``pip install xentc[dask]``); ``import xentc`` does not.

Examples
--------
>>> import dask.array as da, numpy as np, xentc, xentc.dask
>>> rng = np.random.default_rng(0)
>>> p = rng.dirichlet(np.ones(3), size=1000)
>>> y = rng.integers(0, 3, size=1000)
>>> dp, dy = da.from_array(p, chunks=(300, 3)), da.from_array(y, chunks=300)
>>> bool(abs(xentc.dask.log_loss(dy, dp) - xentc.log_loss(y, p)) < 1e-12)
True
"""

import warnings

import numpy as np

try:
    import dask
    import dask.array as da
except ImportError as exc:  # pragma: no cover - depends on the environment
    raise ImportError(
        "xentc.dask needs dask: pip install 'xentc[dask]' (or pip install 'dask[array]')"
    ) from exc

from . import _losses, _metrics
from ._labels import num_samples, sorted_labels
from ._metrics import _Scored, _check_probability_values, class_count_error
from ._partial import _log_loss_state, cross_entropy_partial
from ._stream import block_classes, inferred_classes, union_classes

__all__ = ["log_loss", "d2_log_loss_score", "log_loss_state", "cross_entropy",
           "cross_entropy_state", "from_npy"]

# Bytes per block of from_npy when chunk_rows is None.
_NPY_BLOCK_BYTES = 64 << 20


def _is_dask(*args):
    return any(dask.is_dask_collection(a) for a in args if a is not None)


def _as_dask_rows(a, row_chunks):
    """``a`` as a Dask array with these row chunks and every other axis in one chunk."""
    if a is None:
        return None
    if not dask.is_dask_collection(a):
        a = np.asarray(a)
    a = da.asarray(a)
    return a.rechunk((row_chunks,) + tuple(-1 for _ in a.shape[1:]))


def _merge(states, axis=None, keepdims=False):
    """``dask.array.reduction``'s combine / aggregate: the sum of the states of a list
    (nested lists for a multi-axis reduction; here one axis)."""
    total = None
    for item in states if isinstance(states, list) else [states]:
        state = _merge(item) if isinstance(item, list) else item
        total = state if total is None else total + state
    return total


def _first(block, axis=None, keepdims=False):
    """``dask.array.reduction``'s chunk: the state held by a block of states."""
    return _merge(list(block.ravel()))


def _reduce(states, split_every):
    """The merged state of a Dask array of states, computed."""
    reduced = da.reduction(states, chunk=_first, combine=_merge, aggregate=_merge, axis=0,
                           dtype=object, concatenate=False, split_every=split_every,
                           meta=np.empty((), dtype=object))
    result = reduced.compute()
    return result[()] if isinstance(result, np.ndarray) else result


def _npy_rows(path, r0, r1):
    return np.load(path, mmap_mode="r")[r0:r1]


def from_npy(path, chunk_rows=None):
    """A Dask array of a ``.npy`` file, each block of rows read by its own task through a
    memory map.

    ``da.from_array(np.load(path, mmap_mode="r"))`` would read the whole file into the
    calling process and ship it in the task graph (dask/dask#11850); here the graph holds
    only the path, so workers read their rows from the file (which they must be able to
    open).

    Parameters
    ----------
    path : str or path-like
        A ``.npy`` file (``np.save``, ``np.lib.format.open_memmap``).
    chunk_rows : int, default=None
        Rows per block (about 64 MiB per block when None); other axes are one chunk.

    Returns
    -------
    dask.array.Array
    """
    path = str(path)
    head = np.load(path, mmap_mode="r")
    shape, dtype = head.shape, head.dtype
    del head
    if not shape:
        raise ValueError(f"{path} holds a 0-d array: there are no rows to read in blocks")
    if chunk_rows is None:
        row_bytes = dtype.itemsize * int(np.prod(shape[1:]))
        chunk_rows = max(1, _NPY_BLOCK_BYTES // max(row_bytes, 1))
    read = dask.delayed(_npy_rows, pure=True)
    blocks = [da.from_delayed(read(path, r0, min(r0 + chunk_rows, shape[0])),
                              shape=(min(r0 + chunk_rows, shape[0]) - r0,) + shape[1:],
                              dtype=dtype, meta=np.empty((0,) * len(shape), dtype))
              for r0 in range(0, shape[0], chunk_rows)]
    if not blocks:
        return da.zeros(shape, dtype=dtype)
    return da.concatenate(blocks, axis=0)


# --------------------------------------------------------------------------------------------
# log_loss
# --------------------------------------------------------------------------------------------

def _whole_rows(blocks):
    """A block of rows from ``blockwise(concatenate=False)``: the list of its column blocks
    (one, after the rechunk: taken as is, not copied)."""
    while isinstance(blocks, list):
        blocks = blocks[0] if len(blocks) == 1 else np.concatenate(blocks, axis=1)
    return blocks


def _log_loss_block(y, p, w=None, *, labels, n_threads, keep_losses):
    """The state of one block of rows, in a one-element object array."""
    scored = _Scored(y, _whole_rows(p), w, labels, n_threads, stacklevel=None, part=True,
                     keep_losses=keep_losses)
    out = np.empty(1, dtype=object)
    out[0] = _log_loss_state(scored)
    return out


def _classes_chunk(y, axis=None, keepdims=False):
    return block_classes(y)


def _classes_union(parts, axis=None, keepdims=False):
    return union_classes(_classes_union(part) if isinstance(part, list) else part
                         for part in parts)


def _check_values(p):
    """scikit-learn's error for the values of the probabilities, if any, over all of them
    (the blocks' own errors name their own extremes)."""
    has_nan, has_inf, hi, lo = dask.compute(da.isnan(p).any(), da.isinf(p).any(),
                                            p.max(), p.min())
    dtype = p.dtype if p.dtype.kind == "f" else np.float64
    if has_nan or has_inf:
        _check_probability_values(np.array([np.nan if has_nan else np.inf], dtype))
    _check_probability_values(np.array([hi, lo], dtype))


def log_loss_state(y_true, y_proba, *, sample_weight=None, labels=None, n_threads=1,
                   split_every=None):
    """The merged :class:`xentc.LogLossState` of Dask (or NumPy) arrays, computed: finish
    it with ``.log_loss()``, ``.sem()``, ``.per_class()`` or ``.d2()``.

    Parameters
    ----------
    y_true : dask or NumPy array of shape (n_samples,)
        True labels.
    y_proba : dask or NumPy array of shape (n_samples, n_classes) or (n_samples,)
        Predicted probabilities, any chunking (columns are joined into whole rows).
    sample_weight : dask or NumPy array of shape (n_samples,), default=None
    labels : array-like, default=None
        All the classes; found over all of ``y_true`` when None (each block's classes,
        united up a reduction tree: ``da.unique`` without its sort of the labels).
    n_threads : int, default=1
        Threads of each block's kernel (Dask runs blocks in parallel already).
    split_every : int, default=None
        Fan-in of the reduction tree (``dask.array.reduction``'s).

    Returns
    -------
    LogLossState
    """
    return _log_loss_state_of(y_true, y_proba, sample_weight, labels, n_threads, split_every,
                              stacklevel=2, keep_losses=True)


def _log_loss_state_of(y_true, y_proba, sample_weight, labels, n_threads, split_every,
                       stacklevel, keep_losses=False):
    """The merged state; without ``keep_losses``, only the totals that ``log_loss`` and
    ``d2`` need (Σ w·loss², the classes' Σ w·loss: nan)."""
    p = y_proba if dask.is_dask_collection(y_proba) else np.asarray(y_proba)
    if p.ndim not in (1, 2):
        raise ValueError(f"Found array with dim {p.ndim}, while dim <= 2 is required.")
    lengths = [num_samples(x) for x in (p, y_true, sample_weight) if x is not None]
    if len(set(lengths)) > 1:
        raise ValueError(f"Found input variables with inconsistent numbers of samples: {lengths}")
    if lengths[0] == 0:
        raise ValueError(f"Found array with 0 sample(s) (shape={p.shape}) while a minimum of "
                         "1 is required.")
    y = y_true if dask.is_dask_collection(y_true) else np.asarray(y_true)
    if y.ndim == 2 and y.shape[1] == 1:
        y = y.reshape(-1)
    if y.ndim != 1:
        raise ValueError("xentc.dask.log_loss needs one label per sample (y_true of shape "
                         f"(n_samples,)); got shape {y.shape}")
    row_chunks = (p.chunks[0] if dask.is_dask_collection(p)
                  else y.chunks[0] if dask.is_dask_collection(y)
                  else sample_weight.chunks[0])
    p, y = _as_dask_rows(p, row_chunks), _as_dask_rows(y, row_chunks)
    w = _as_dask_rows(sample_weight, row_chunks)
    n_cols = 2 if p.ndim == 1 or p.shape[1] == 1 else p.shape[1]

    if labels is None:
        # each block's classes by xentc's class finder (no sort of the labels), their union
        # up the reduction tree
        classes = inferred_classes([da.reduction(
            y, chunk=_classes_chunk, combine=_classes_union, aggregate=_classes_union,
            axis=0, dtype=y.dtype, concatenate=False, split_every=split_every,
            meta=np.empty(0, dtype=y.dtype)).compute()])
        if classes.shape[0] != n_cols:
            _check_values(p)  # scikit-learn checks the probabilities first
            raise class_count_error(classes, n_cols)
        block_labels = classes
    else:
        _, pending = sorted_labels(labels)
        for message in pending:
            warnings.warn(message, UserWarning, stacklevel=stacklevel + 1)
        block_labels = labels

    p_index = "ij" if p.ndim == 2 else "i"
    args = [y, "i", p, p_index] + ([] if w is None else [w, "i"])
    states = da.blockwise(_log_loss_block, "i", *args, labels=block_labels,
                          n_threads=n_threads, keep_losses=keep_losses, dtype=object,
                          adjust_chunks={"i": 1}, concatenate=False,
                          meta=np.empty(0, dtype=object))
    try:
        return _reduce(states, split_every)
    except ValueError as exc:
        if str(exc).startswith(("Input contains", "y_prob contains")):
            _check_values(p)
        raise


def log_loss(y_true, y_proba, *, normalize=True, sample_weight=None, labels=None,
             n_threads=1, split_every=None):
    """:func:`xentc.log_loss` of Dask arrays: the same result (within float rounding of the
    blocks' sums), warnings and errors.

    Parameters
    ----------
    y_true, y_proba, sample_weight, labels, n_threads, split_every
        As in :func:`log_loss_state`.
    normalize : bool, default=True
        The weighted mean (else the weighted sum) of the per-sample losses.

    Returns
    -------
    float
    """
    if not _is_dask(y_true, y_proba, sample_weight):
        return _metrics.log_loss(y_true, y_proba, normalize=normalize,
                                 sample_weight=sample_weight, labels=labels,
                                 n_threads=n_threads)
    state = _log_loss_state_of(y_true, y_proba, sample_weight, labels, n_threads,
                               split_every, stacklevel=2)
    return state._log_loss(normalize, stacklevel=2)


def d2_log_loss_score(y_true, y_proba, *, sample_weight=None, labels=None, n_threads=1,
                      split_every=None):
    """:func:`xentc.d2_log_loss_score` of Dask arrays (arguments as in
    :func:`log_loss_state`).

    Returns
    -------
    float
    """
    if not _is_dask(y_true, y_proba, sample_weight):
        return _metrics.d2_log_loss_score(y_true, y_proba, sample_weight=sample_weight,
                                          labels=labels, n_threads=n_threads)
    state = _log_loss_state_of(y_true, y_proba, sample_weight, labels, n_threads,
                               split_every, stacklevel=2)
    return state._d2(stacklevel=2)


# --------------------------------------------------------------------------------------------
# cross_entropy
# --------------------------------------------------------------------------------------------

def _cross_entropy_block(x, t, *, weight, ignore_index, n_threads):
    out = np.empty(1, dtype=object)
    out[0] = cross_entropy_partial(_whole_rows(x), _whole_rows(t), weight, ignore_index,
                                   n_threads=n_threads)
    return out


def cross_entropy_state(input, target, weight=None, ignore_index=-100, *, n_threads=1,
                        split_every=None):
    """The merged :class:`xentc.CrossEntropyState` of class-index cross-entropy over Dask
    (or NumPy) arrays, computed: finish it with ``.cross_entropy(reduction)``, ``.sem()``
    or ``.per_class()``.

    Parameters
    ----------
    input : dask or NumPy array of shape (N, C) or (N, C, d1, ...)
        Logits, class axis 1; any chunking (joined into whole rows of axis 0).
    target : dask or NumPy array of integers, shape (N,) or (N, d1, ...)
        Class indices.
    weight : array_like of shape (C,), default=None
        Class weights (a NumPy array: it goes to every block).
    ignore_index : int, default=-100
    n_threads : int, default=1
        Threads of each block's kernel.
    split_every : int, default=None
        Fan-in of the reduction tree.

    Returns
    -------
    CrossEntropyState
    """
    x = input if dask.is_dask_collection(input) else np.asarray(input)
    t = target if dask.is_dask_collection(target) else np.asarray(target)
    if x.ndim < 2 or t.ndim != x.ndim - 1:
        raise ValueError(
            "xentc.dask.cross_entropy takes class-index targets of shape (N, d1, ...) for "
            f"input of shape (N, C, d1, ...); got input {x.shape} and target {t.shape}"
        )
    if x.shape[0] != t.shape[0]:
        raise ValueError(f"Expected input batch_size ({x.shape[0]}) to match target "
                         f"batch_size ({t.shape[0]}).")
    row_chunks = x.chunks[0] if dask.is_dask_collection(x) else t.chunks[0]
    x, t = _as_dask_rows(x, row_chunks), _as_dask_rows(t, row_chunks)
    if weight is not None:
        weight = np.asarray(weight)
    x_index = "i" + "".join(chr(ord("j") + k) for k in range(x.ndim - 1))
    t_index = "i" + x_index[2:]
    states = da.blockwise(_cross_entropy_block, "i", x, x_index, t, t_index, weight=weight,
                          ignore_index=ignore_index, n_threads=n_threads, dtype=object,
                          adjust_chunks={"i": 1}, concatenate=False,
                          meta=np.empty(0, dtype=object))
    return _reduce(states, split_every)


def cross_entropy(input, target, weight=None, ignore_index=-100, reduction="mean", *,
                  n_threads=1, split_every=None):
    """Class-index :func:`xentc.cross_entropy` of Dask arrays, reduction "mean" or "sum"
    (PyTorch's denominators); arguments as in :func:`cross_entropy_state`.

    Returns
    -------
    NumPy scalar of the input's floating dtype
    """
    if not _is_dask(input, target):
        return _losses.cross_entropy(input, target, weight, ignore_index, reduction,
                                     n_threads=n_threads)
    _losses.check_reduction(reduction)
    if reduction == "none":
        raise ValueError("xentc.dask.cross_entropy reduces: reduction must be 'mean' or "
                         "'sum'")
    return cross_entropy_state(input, target, weight, ignore_index, n_threads=n_threads,
                               split_every=split_every).cross_entropy(reduction)
