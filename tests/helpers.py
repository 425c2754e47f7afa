"""Numerical helpers for xentc's tests (importable as `helpers`: pyproject sets pythonpath)."""

import numpy as np

DTYPES = [np.float32, np.float64]
N_THREADS = [1, 2, 4]


def ulp(x, dtype):
    """The spacing of dtype at |x| (elementwise), with the smallest subnormal at zero."""
    x = np.abs(np.asarray(x, dtype=dtype))
    return np.spacing(x).astype(np.float64)


def ulp_error(result, exact, dtype, scale=None):
    """|result - exact| in units of ulp(scale) of dtype; scale defaults to |exact|.

    ``exact`` may be longdouble; equal infinities and NaNs count as exact.
    """
    result = np.asarray(result, dtype=np.longdouble)
    exact = np.asarray(exact, dtype=np.longdouble)
    scale = np.abs(exact) if scale is None else np.asarray(scale)
    with np.errstate(invalid="ignore", divide="ignore"):
        same = (result == exact) | (np.isnan(result) & np.isnan(exact))
        err = np.abs(result - exact) / ulp(scale, dtype)
    return np.where(same, 0.0, err).astype(np.float64)


def lse_exact(x):
    """Row log-sum-exp of a 2-D float array in long double (64-bit significand on x86-64),
    and the row max.  One maximal term is kept out of the sum (m + log1p(rest)), so a tail
    far below the dominant term keeps its precision.  Rows must be finite or -inf."""
    x = np.asarray(x, dtype=np.longdouble)
    m = x.max(axis=1)
    with np.errstate(invalid="ignore", over="ignore"):
        e = np.exp(x - m[:, None])
    e[np.arange(x.shape[0]), np.argmax(x, axis=1)] = 0
    with np.errstate(invalid="ignore"):
        r = m + np.log1p(e.sum(axis=1))
    return np.where(m == -np.inf, -np.inf, r), m


def layouts(base):
    """The same values in many memory layouts (all (n, c) views of float arrays)."""
    yield "C", np.ascontiguousarray(base)
    yield "F", np.asfortranarray(base)
    big = np.zeros((base.shape[0] * 2, base.shape[1] * 3), dtype=base.dtype)
    big[::2, ::3] = base
    yield "strided", big[::2, ::3]
    wide = np.zeros((base.shape[0], base.shape[1] + 5), dtype=base.dtype)
    wide[:, 2:-3] = base
    yield "row_padded", wide[:, 2:-3]
    yield "reversed_rows", np.ascontiguousarray(base[::-1])[::-1]
    yield "reversed_cols", np.ascontiguousarray(base[:, ::-1])[:, ::-1]
    yield "transposed_view", np.ascontiguousarray(base.T).T
    ro = np.array(base)
    ro.flags.writeable = False
    yield "read_only", ro
