"""logsumexp, softmax and log_softmax with scipy.special's semantics."""

import numpy as np

from . import _core
from ._threads import effective_n_threads
from ._validation import (
    as_real_array,
    check_out,
    compute_dtype,
    normalize_axes,
    restore_reduced,
    rows_view,
    scalar_if_0d,
)

__all__ = ["logsumexp", "softmax", "log_softmax"]


def _report_invalid_subtract(scalar):
    """Let NumPy report 'invalid value encountered in subtract' under the current np.errstate,
    as scipy.special does (through NumPy) for rows whose max is infinite.  scipy's
    log_softmax of a 0-d input ends in NumPy scalar arithmetic, whose message says
    'scalar subtract'."""
    if scalar:
        np.float64(np.inf) - np.float64(np.inf)
    else:
        np.subtract(np.full(1, np.inf), np.inf)


def logsumexp(a, axis=None, b=None, keepdims=False, return_sign=False, *, n_threads=None):
    """Compute the log of the sum of exponentials of input elements.

    A drop-in for :func:`scipy.special.logsumexp` (same signature, results and edge cases),
    computed by multithreaded C kernels with double accumulation.

    Parameters
    ----------
    a : array_like
        Input array (bool, integer, float16, float32 or float64).
    axis : None or int or tuple of ints, optional
        Axis or axes over which the sum is taken.  By default all elements are summed.
    b : array_like, optional
        Scaling factors for ``exp(a)``, broadcastable against `a`; may be negative.
    keepdims : bool, optional
        Keep the reduced axes as dimensions of size one.
    return_sign : bool, optional
        Also return the sign of the sum; if False, a negative sum gives NaN.
    n_threads : int or None, optional
        Threads to use: None for OpenMP's default (honours ``OMP_NUM_THREADS`` and
        ``threadpoolctl``), -1 for all cores, or k >= 1.  Results do not depend on it.

    Returns
    -------
    res : ndarray or scalar
        ``log(sum(b * exp(a)))`` along `axis` (``log|...|`` if `return_sign`).  float32
        and float64 input keep their dtype, float16 is computed in float32 and returned as
        float16, integers and bools give float64; with `b` the dtypes are promoted together.
    sgn : ndarray or scalar
        Only if `return_sign`: +1, 0 or -1 (NaN for NaN results).

    Notes
    -----
    The largest element is taken out of the sum, ``m + log1p(sum(exp(a - m)) - 1)``, so a
    result dominated by one term keeps its full relative precision; rows with ``+inf``,
    all ``-inf`` or NaN give ``inf``, ``-inf`` and ``nan`` exactly as SciPy does, and a zero
    weight in `b` hides an infinite or NaN element.

    Examples
    --------
    >>> import numpy as np
    >>> import xentc
    >>> xentc.logsumexp(np.arange(10.0))
    np.float64(9.45862974442671)
    >>> xentc.logsumexp([0.0, -40.0])   # the tail is not lost next to the 1
    np.float64(4.248354255291589e-18)
    >>> xentc.logsumexp([[1.0, 2.0], [3.0, 4.0]], axis=1)
    array([2.31326169, 4.31326169])
    >>> xentc.logsumexp([1.0, 2.0], b=[1.0, -1.0], return_sign=True)
    (np.float64(1.5413248546129181), np.float64(-1.0))
    """
    nt = effective_n_threads(n_threads)
    a = as_real_array(a, "a")
    if b is None:
        compute, result = compute_dtype(a.dtype)
    else:
        b = as_real_array(b, "b")
        compute, result = compute_dtype(a.dtype, b.dtype)
        try:
            a, b = np.broadcast_arrays(a, b)
        except ValueError:
            raise ValueError(
                "Array shapes are incompatible for broadcasting: "
                f"a has shape {a.shape}, b has shape {b.shape}"
            ) from None
        b = np.atleast_1d(b)
    a = np.atleast_1d(a)
    axes = normalize_axes(axis, a.ndim)

    if a.size == 0:
        shape = tuple(1 if i in axes else n for i, n in enumerate(a.shape))
        out = np.full(shape, -np.inf, dtype=result)
        out = out if keepdims else out.squeeze(axis=axes)
        sgn = np.sign(out)
        return (scalar_if_0d(out), scalar_if_0d(sgn)) if return_sign else scalar_if_0d(out)

    a2, _, _ = rows_view(a, axes, compute)
    out = np.empty(a2.shape[0], dtype=compute)
    if b is None:
        _core.lse_rows(a2, out, nt)
        if return_sign:
            sgn = np.where(np.isnan(out), np.nan, np.where(out == -np.inf, 0.0, 1.0))
            sgn = sgn.astype(compute)
    else:
        b2, _, _ = rows_view(b, axes, compute, unit_columns=False)
        sgn = np.empty_like(out)
        _core.lse_b_rows(a2, b2, out, sgn, bool(return_sign), nt)

    out = scalar_if_0d(restore_reduced(out, a.shape, axes, keepdims).astype(result, copy=False))
    if not return_sign:
        return out
    sgn = scalar_if_0d(restore_reduced(sgn, a.shape, axes, keepdims).astype(result, copy=False))
    return out, sgn


def _softmax_impl(x, axis, out, n_threads, log_out):
    nt = effective_n_threads(n_threads)
    x = as_real_array(x, "x")
    compute, result = compute_dtype(x.dtype)
    axes = normalize_axes(axis, x.ndim)
    n_reduced = int(np.prod([x.shape[i] for i in axes], dtype=np.int64))
    if n_reduced == 0:
        # as np.max (scipy's first step): reducing over an empty axis has no identity
        raise ValueError("zero-size array to reduction operation maximum which has no identity")
    if out is not None:
        out = check_out(out, x.shape, result)

    x2, moved_shape, perm = rows_view(x, axes, compute)
    # write straight into out when it has the kernel's layout (the reduced axes last, C order);
    # in place (out is x) is fine: every row is read before it is written
    direct = (
        out is not None
        and result == compute
        and perm == sorted(perm)
        and out.flags.c_contiguous
        and (not np.may_share_memory(out, x2)
             or (out.__array_interface__["data"][0] == x2.__array_interface__["data"][0]
                 and out.size == x2.size and x2.flags.c_contiguous))
    )
    y2 = out.reshape(x2.shape) if direct else np.empty(x2.shape, dtype=compute)
    if y2.size:
        n_invalid = _core.softmax_rows(x2, y2, bool(log_out), nt)
        if n_invalid:
            _report_invalid_subtract(scalar=log_out and x.ndim == 0)
    if direct:
        return out
    y = y2.reshape(moved_shape).transpose(np.argsort(perm))
    if out is not None:
        np.copyto(out, y, casting="unsafe")
        return out
    return scalar_if_0d(y.astype(result, copy=False))


def softmax(x, axis=None, *, out=None, n_threads=None):
    r"""Compute the softmax function.

    A drop-in for :func:`scipy.special.softmax`:
    ``softmax(x) = exp(x) / sum(exp(x))`` along `axis`, computed without overflow.

    Parameters
    ----------
    x : array_like
        Input array (bool, integer, float16, float32 or float64).
    axis : int or tuple of ints, optional
        Axis or axes to normalise over.  Default None: the whole array (as in SciPy).
    out : ndarray, optional
        Array to write the result into (shape of `x`, the result dtype); may be `x` itself.
        Not in SciPy: it saves allocating (and the OS zeroing) a new array of `x`'s size.
    n_threads : int or None, optional
        Threads to use (see :func:`logsumexp`); results do not depend on it.

    Returns
    -------
    s : ndarray or scalar
        Same shape as `x`; sums to 1 along `axis`.  dtype as for :func:`logsumexp`.

    Notes
    -----
    Computed as ``exp((x - max) - log1p(...))`` with the shift formed exactly, so every
    output, tiny ones included, is accurate to about one ulp.  A row holding NaN, ``+inf``
    or only ``-inf`` gives NaN, with SciPy's RuntimeWarning where NumPy would warn.

    Examples
    --------
    >>> import numpy as np
    >>> import xentc
    >>> xentc.softmax(np.array([[1.0, 2.0], [3.0, 4.0]]), axis=1)
    array([[0.26894142, 0.73105858],
           [0.26894142, 0.73105858]])
    >>> xentc.softmax([1000.0, 1.0])
    array([1., 0.])
    """
    return _softmax_impl(x, axis, out, n_threads, log_out=False)


def log_softmax(x, axis=None, *, out=None, n_threads=None):
    r"""Compute the logarithm of the softmax function.

    A drop-in for :func:`scipy.special.log_softmax`:
    ``log_softmax(x) = x - logsumexp(x)`` along `axis`, more accurately than
    ``log(softmax(x))``.

    Parameters
    ----------
    x : array_like
        Input array (bool, integer, float16, float32 or float64).
    axis : int or tuple of ints, optional
        Axis or axes to normalise over.  Default None: the whole array (as in SciPy).
    out : ndarray, optional
        Array to write the result into (see :func:`softmax`).
    n_threads : int or None, optional
        Threads to use (see :func:`logsumexp`); results do not depend on it.

    Returns
    -------
    s : ndarray or scalar
        Same shape as `x`; ``exp`` of it sums to 1 along `axis`.

    Notes
    -----
    ``(x - max) - log1p(...)`` with the shift formed exactly: the largest output of a row
    keeps its full relative precision even when it is tiny (``log_softmax([0, -40])[0]``
    is ``-4.25e-18``, where SciPy returns 0).  Non-finite rows follow SciPy.

    Examples
    --------
    >>> import numpy as np
    >>> import xentc
    >>> xentc.log_softmax(np.array([1000.0, 1.0]))
    array([   0., -999.])
    >>> xentc.log_softmax(np.array([0.0, -40.0]))
    array([-4.24835426e-18, -4.00000000e+01])
    """
    return _softmax_impl(x, axis, out, n_threads, log_out=True)
