"""Input validation and shape handling shared by xentc's public functions.

Everything that can go wrong with an argument is detected here, before a kernel runs: the
kernels do no bounds checking.
"""

import operator

import numpy as np

from . import _core

try:  # NumPy >= 2.0
    from numpy.lib.array_utils import normalize_axis_tuple
except ImportError:  # pragma: no cover - NumPy 1.x
    from numpy.core.numeric import normalize_axis_tuple

__all__ = [
    "as_real_array",
    "compute_dtype",
    "normalize_axes",
    "rows_view",
    "restore_reduced",
    "check_reduction",
    "scalar_if_0d",
    "shaped_result",
]

def as_real_array(x, name):
    """``np.asarray(x)``, checked to hold real numbers (bool, int, float16/32/64)."""
    arr = np.asarray(x)
    kind = arr.dtype.kind
    if kind == "c":
        raise TypeError(
            f"{name} is complex ({arr.dtype}); xentc supports real input only"
        )
    if kind not in "biuf":
        raise TypeError(
            f"{name} must hold real numbers, got an array of dtype {arr.dtype}"
        )
    if kind == "f" and arr.dtype.itemsize > 8:
        raise TypeError(
            f"{name} has dtype {arr.dtype}; xentc computes in float32/float64 "
            "(cast explicitly if float64 precision is enough)"
        )
    return arr


def compute_dtype(*dtypes):
    """(dtype the kernels compute in, dtype of the result) for these input dtypes.

    The result dtype follows NumPy's promotion, made floating (integers and bools give
    float64, as in SciPy); float16 is computed in float32 and returned as float16.
    """
    result = np.result_type(*dtypes)
    if result.kind != "f":
        result = np.dtype(np.float64)
    compute = np.dtype(np.float32) if result.itemsize <= 4 else np.dtype(np.float64)
    return compute, result


def normalize_axes(axis, ndim):
    """``axis`` (None, int or tuple of ints) as a sorted tuple of non-negative axes."""
    if axis is None:
        return tuple(range(ndim))
    if isinstance(axis, (tuple, list)):
        axes = tuple(operator.index(a) for a in axis)
    else:
        if isinstance(axis, bool):
            raise TypeError("axis must be None, an int or a tuple of ints, not bool")
        axes = (operator.index(axis),)
    axes = normalize_axis_tuple(axes, ndim, argname="axis", allow_duplicate=True)
    if len(set(axes)) != len(axes):
        raise ValueError("duplicate value in 'axis'")  # NumPy reductions' wording
    return tuple(sorted(axes))


def rows_view(x, axes, dtype, unit_columns=True):
    """``x`` as a 2-D array (kept elements, reduced elements) for the kernels.

    The reduced axes are moved last (in increasing order) and flattened.  The result's strides
    are multiples of the item size, its column stride is 1 element (unless ``unit_columns`` is
    False: the weights ``b`` may have any column stride, 0 for a broadcast), and short rows are
    packed (the small-row kernels treat a block of rows as one array).  It is a view of ``x``
    whenever that is possible, a copy otherwise (or when ``dtype`` differs).
    Returns ``(x2, moved_shape, perm)``: the shape before flattening and the transposition.
    """
    kept = [i for i in range(x.ndim) if i not in axes]
    perm = kept + list(axes)
    xt = x.transpose(perm)
    moved_shape = xt.shape
    n_cols = int(np.prod([x.shape[i] for i in axes], dtype=np.int64))
    n_rows = int(np.prod([x.shape[i] for i in kept], dtype=np.int64))
    if xt.dtype != dtype:
        xt = np.ascontiguousarray(xt, dtype=dtype)  # one copy, already in row order
    x2 = xt.reshape(n_rows, n_cols)
    item = x2.itemsize
    s0, s1 = x2.strides
    if unit_columns:
        bad = (n_cols > 1 and s1 != item) or (
            n_cols <= _core.SMALL_ROW_MAX and n_rows > 1 and s0 != n_cols * item)
    else:
        bad = n_cols > 1 and s1 % item != 0
    if bad or (n_rows > 1 and s0 % item != 0):
        x2 = np.ascontiguousarray(x2)
    return x2, moved_shape, perm


def restore_reduced(out, x_shape, axes, keepdims):
    """Shape a (kept elements,) result like a NumPy reduction over ``axes``."""
    kept_shape = tuple(n for i, n in enumerate(x_shape) if i not in axes)
    out = out.reshape(kept_shape)
    if keepdims:
        out = np.expand_dims(out, axes)
    return out


def check_reduction(reduction):
    """``reduction`` of the torch-style losses: "none", "mean" or "sum" (torch's message)."""
    if not isinstance(reduction, str) or reduction not in ("none", "mean", "sum"):
        raise ValueError(f"{reduction} is not a valid value for reduction")


def scalar_if_0d(arr):
    """A 0-d result as a NumPy scalar of its dtype (SciPy's convention), others unchanged."""
    return arr[()] if arr.ndim == 0 else arr


def shaped_result(flat, shape, dtype):
    """``flat`` reshaped to ``shape`` in ``dtype``, through :func:`scalar_if_0d`."""
    return scalar_if_0d(flat.reshape(shape).astype(dtype, copy=False))


def check_out(out, shape, dtype, name="out"):
    """A caller's output array: an ndarray of exactly ``shape`` and ``dtype``, writeable."""
    if not isinstance(out, np.ndarray):
        raise TypeError(f"{name} must be a numpy array, got {type(out).__name__}")
    if out.shape != shape:
        raise ValueError(f"{name} has shape {out.shape}, expected {shape}")
    if out.dtype != dtype:
        raise TypeError(f"{name} has dtype {out.dtype}, expected {dtype} (the result dtype)")
    if not out.flags.writeable:
        raise ValueError(f"{name} is read-only")
    return out


def check_grad_out(grad_out, shape, dtype, *operands):
    """``grad_out`` of the ``_grad`` / ``_and_grad`` losses (None: allocate): as
    :func:`check_out`, and sharing no memory with the operands (the kernels read the input
    after writing parts of the gradient)."""
    if grad_out is None:
        return None
    check_out(grad_out, shape, dtype, "grad_out")
    for a in operands:
        if isinstance(a, np.ndarray) and np.may_share_memory(grad_out, a):
            raise ValueError("grad_out must not share memory with the inputs")
    return grad_out


def writes_directly(out, dtype):
    """Whether a kernel can write its C-ordered result of ``dtype`` straight into ``out``."""
    return out is not None and out.dtype == dtype and out.flags.c_contiguous


def copied_into(out, result):
    """``result`` copied into ``out`` and ``out`` returned, or ``result`` if ``out`` is None
    (for a result computed apart because ``out`` could not be written directly)."""
    if out is None:
        return result
    np.copyto(out, result)
    return out
