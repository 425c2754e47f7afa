"""``log_loss`` and ``cross_entropy`` over inputs read in row blocks: memory-mapped arrays
(``np.memmap``, ``np.load(..., mmap_mode="r")``) and other row-sliceable array-likes
(h5py datasets, zarr arrays), or any array when ``chunk_rows`` is given.

Each block is scored into a partial state (``_partial``) and the states are added, so the
anonymous memory used is O(chunk_rows), whatever the size of the file.  The classes of
``log_loss`` are found first, by a pass over the labels alone.
"""

import math
import sys

import numpy as np

from ._labels import _fit_classes, as_array, num_samples
from ._metrics import _Scored, _check_probability_values, class_count_error
from ._partial import _log_loss_state, cross_entropy_partial

__all__ = ["streams", "stream_log_loss", "stream_cross_entropy"]

# Bytes of the probabilities / logits read per block when chunk_rows is None.
_BLOCK_BYTES = 1 << 24
# Progress is shown only for inputs of at least this many bytes (a few seconds or more to
# read from disk).
_PROGRESS_MIN_BYTES = 1 << 28


def streams(a, chunk_rows):
    """Whether ``a`` is read in row blocks: memory-mapped arrays and array-likes that are not
    NumPy arrays but have a shape, a NumPy dtype and row slicing (h5py, zarr; not pandas or
    dask objects, nor tensors of other libraries), or any array when ``chunk_rows`` is
    given."""
    if chunk_rows is not None or isinstance(a, np.memmap):
        return True
    if isinstance(a, np.ndarray) or not (hasattr(a, "shape") and hasattr(a, "__getitem__")
                                         and isinstance(getattr(a, "dtype", None), np.dtype)):
        return False
    module = type(a).__module__.split(".")[0]
    return module not in ("pandas", "dask", "xarray") and len(a.shape) >= 1


def _check_chunk_rows(chunk_rows):
    if chunk_rows is None:
        return None
    if isinstance(chunk_rows, bool) or not isinstance(chunk_rows, (int, np.integer)):
        raise TypeError(f"chunk_rows must be an int or None, got {type(chunk_rows).__name__}")
    if chunk_rows < 1:
        raise ValueError(f"chunk_rows must be >= 1, got {chunk_rows}")
    return int(chunk_rows)


def _block_rows(chunk_rows, row_bytes):
    return chunk_rows if chunk_rows is not None else max(1024, _BLOCK_BYTES // max(row_bytes, 1))


def _blockwise(a):
    """Whether ``a`` can be read in row blocks: a NumPy array or a row-sliceable array-like
    (lists and pandas objects are scored in one piece: they are in memory already)."""
    return isinstance(a, np.ndarray) or streams(a, None)


def _sliceable(a):
    """``a`` if its row slices are cheap (arrays and array-likes), else as one NumPy array
    (lists, pandas objects: O(N) labels or weights)."""
    return a if a is None or _blockwise(a) else as_array(a)


def _blocks(n, rows, progress, row_bytes, what):
    """The (start, stop) of the row blocks, with a progress bar where asked for and the
    input is large enough to take a while."""
    bounds = [(r0, min(r0 + rows, n)) for r0 in range(0, n, rows)]
    if not progress or n * row_bytes < _PROGRESS_MIN_BYTES:
        return bounds
    try:
        from tqdm.auto import tqdm
    except ImportError:
        return _text_progress(bounds, n, what)
    return tqdm(bounds, desc=what, unit="block", total=len(bounds))


def _text_progress(bounds, n, what):
    """A progress line on stderr, for want of tqdm."""
    for k, (r0, r1) in enumerate(bounds):
        yield r0, r1
        sys.stderr.write(f"\r{what}: {100 * r1 // max(n, 1):3d}% ({r1}/{n} rows)")
        if k == len(bounds) - 1:
            sys.stderr.write("\n")
        sys.stderr.flush()


def _rows(a, r0, r1):
    return None if a is None else a[r0:r1]


# --------------------------------------------------------------------------------------------
# log_loss
# --------------------------------------------------------------------------------------------

def _check_values(p, rows):
    """scikit-learn's error for the probabilities' values (NaN, infinity, > 1, < 0), if
    any, found over all the blocks of ``p``."""
    has_nan = has_inf = False
    hi, lo = -math.inf, math.inf
    for r0 in range(0, p.shape[0], rows):
        blk = np.asarray(p[r0:r0 + rows])
        if blk.dtype.kind != "f":
            blk = blk.astype(np.float64)
        finite = np.isfinite(blk)
        if not finite.all():
            has_nan |= bool(np.isnan(blk).any())
            has_inf |= bool(np.isinf(blk).any())
        elif blk.size:
            hi, lo = max(hi, blk.max()), min(lo, blk.min())
    dtype = p.dtype if p.dtype.kind == "f" else np.float64
    if has_nan or has_inf:
        _check_probability_values(np.array([np.nan if has_nan else np.inf], dtype))
    if hi > -math.inf:
        _check_probability_values(np.array([hi, lo], dtype))


def block_classes(y):
    """The sorted classes of a block of labels (``unique_labels``' checks and errors), None
    for an empty block."""
    return _fit_classes(y)[0] if num_samples(y) else None


def union_classes(parts):
    """The sorted union of the classes of blocks (``block_classes``), with ``unique_labels``'
    error for strings mixed with numbers; None if every block was empty."""
    classes = None
    for part in parts:
        if part is None or classes is None:
            classes = part if classes is None else classes
            continue
        if (classes.dtype.kind in "USO") != (part.dtype.kind in "USO"):
            mixed = np.concatenate([classes.astype(object), part.astype(object)])
            raise ValueError(
                "Mix of label input types (string and number); Got "
                f"{np.array(sorted(mixed, key=str), dtype=object)}."
            )
        classes = np.union1d(classes, part)
    return classes


def inferred_classes(parts):
    """The classes of all the blocks, with the error for a single class."""
    classes = union_classes(parts)
    if classes.shape[0] == 1:
        raise ValueError(
            f"y_true contains only one label ({classes[0]}). Please provide the list of all "
            "expected class labels explicitly through the labels argument."
        )
    return classes


def stream_log_loss(finish, y_true, y_proba, normalize, sample_weight, labels, n_threads,
                    chunk_rows, progress, stacklevel):
    """``log_loss`` (``finish="log_loss"``) or ``d2_log_loss_score`` (``"d2"``) of a problem
    read in row blocks; ``None`` where the problem is not (the caller then scores it in one
    piece): probabilities that are not an array (a list, a DataFrame), a multilabel-indicator
    ``y_true``, or shapes the one-piece path rejects with its own error."""
    chunk_rows = _check_chunk_rows(chunk_rows)
    if not _blockwise(y_proba):
        return None
    shape = tuple(y_proba.shape)
    y = _sliceable(y_true)
    if len(shape) not in (1, 2) or 0 in shape or (
            getattr(y, "ndim", 1) == 2 and y.shape[1] != 1) or getattr(y, "ndim", 1) > 2:
        return None
    n = shape[0]
    w = _sliceable(sample_weight)
    lengths = [n, num_samples(y)] + ([] if w is None else [num_samples(w)])
    if len(set(lengths)) > 1:
        raise ValueError(f"Found input variables with inconsistent numbers of samples: {lengths}")
    dtype = np.dtype(y_proba.dtype)
    itemsize = dtype.itemsize if dtype.kind == "f" and dtype.itemsize <= 8 else 8
    row_bytes = itemsize * (shape[1] if len(shape) == 2 else 1)
    rows = _block_rows(chunk_rows, row_bytes)
    n_cols = 2 if len(shape) == 1 or shape[1] == 1 else shape[1]

    if labels is None:
        classes = inferred_classes(block_classes(y[r0:r0 + rows]) for r0 in range(0, n, rows))
        if classes.shape[0] != n_cols:
            _check_values(y_proba, rows)
            raise class_count_error(classes, n_cols)
        block_labels = classes
    else:
        block_labels = labels  # each block's errors name the labels as given

    state = None
    first = True
    for r0, r1 in _blocks(n, rows, progress, row_bytes, "xentc.log_loss"):
        try:
            scored = _Scored(y[r0:r1], y_proba[r0:r1], _rows(w, r0, r1), block_labels,
                             n_threads, stacklevel=None, part=True, keep_losses=False)
        except ValueError as exc:
            if str(exc).startswith(("Input contains", "y_prob contains")):
                _check_values(y_proba, rows)
            raise
        if first:  # the unsorted-labels warning, once
            scored.target.emit_pending(stacklevel + 1)
            first = False
        part = _log_loss_state(scored)
        state = part if state is None else state + part
    if finish == "d2":
        return state._d2(stacklevel + 1)
    return state._log_loss(normalize, stacklevel + 1)


# --------------------------------------------------------------------------------------------
# cross_entropy
# --------------------------------------------------------------------------------------------

def stream_cross_entropy(input, target, weight, ignore_index, reduction, n_threads,
                         chunk_rows, progress):
    """Class-index ``cross_entropy`` with reduction "mean" or "sum" of an input read in row
    blocks (axis 0); ``None`` where it is not (an input that is not an array, probability
    targets, or shapes the one-piece path rejects with its own error)."""
    chunk_rows = _check_chunk_rows(chunk_rows)
    if not _blockwise(input):
        return None
    shape = tuple(input.shape)
    t = _sliceable(target)
    t_shape = tuple(getattr(t, "shape", ()))
    if len(shape) < 2 or shape[0] == 0 or t_shape == shape or len(t_shape) != len(shape) - 1 or (
            t_shape[0] != shape[0]):
        return None
    dtype = np.dtype(input.dtype)
    row_bytes = (dtype.itemsize if dtype.kind == "f" else 8) * math.prod(shape[1:])
    rows = _block_rows(chunk_rows, row_bytes)
    state = None
    for r0, r1 in _blocks(shape[0], rows, progress, row_bytes, "xentc.cross_entropy"):
        part = cross_entropy_partial(input[r0:r1], t[r0:r1], weight, ignore_index,
                                     n_threads=n_threads)
        state = part if state is None else state + part
    return state.cross_entropy(reduction)
