"""Numerical helpers for xentc's tests (importable as `helpers`: pyproject sets pythonpath)."""

import copy
import dataclasses
import math
import warnings

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


# --- log_loss: running a metric and comparing what happened (test_log_loss*.py) ------------

# the exception classes an error is checked against (besides its class name and message)
_ERROR_BASES = (ValueError, TypeError, IndexError, ZeroDivisionError, KeyError, RuntimeError)


@dataclasses.dataclass
class Outcome:
    """What one call did: its return value or the exception it raised, and every warning it
    emitted, in order, as (category, message)."""

    value: object
    error: BaseException | None
    warnings: list

    def describe(self):
        what = (f"raised {type(self.error).__name__}({str(self.error)!r})" if self.error
                else f"returned {self.value!r}")
        return f"{what}, warned {[(c.__name__, m) for c, m in self.warnings]}"


def outcome(func, *args, **kwargs):
    """Call func recording every warning (all shown, none turned into errors) and any
    exception (Exception subclasses only: a KeyboardInterrupt still stops the run)."""
    with warnings.catch_warnings(record=True) as record:
        warnings.simplefilter("always")
        try:
            value, error = func(*args, **kwargs), None
        except Exception as exc:  # noqa: BLE001 - the exception is the outcome
            value, error = None, exc
    return Outcome(value, error, [(w.category, str(w.message)) for w in record])


def snapshot(obj):
    """A deep copy of a call argument, to check later that the call did not modify it."""
    if isinstance(obj, np.memmap):
        return np.array(obj)
    return copy.deepcopy(obj)


def assert_unchanged(before, after):
    """An argument equals its snapshot: same type, dtype, shape and values (NaN == NaN)."""
    if type(after).__module__.startswith("pandas"):     # Series, DataFrame, Index, Categorical
        assert after.equals(before), "a pandas argument was modified"
        return
    if isinstance(after, np.ndarray):
        assert after.dtype == before.dtype and after.shape == before.shape
        if after.dtype.kind in "fc":
            np.testing.assert_array_equal(after, before)
        else:
            assert np.array_equal(after, before), "an array argument was modified"
        return
    if isinstance(after, (list, tuple)):
        assert type(after) is type(before) and len(after) == len(before)
        for a, b in zip(after, before, strict=True):
            assert_unchanged(b, a)
        return
    if isinstance(after, float) and math.isnan(after):
        assert isinstance(before, float) and math.isnan(before)
        return
    assert after == before


def assert_same_outcome(ours, theirs, *, rtol, atol=0.0, scale=None, d2=False,
                        messages=True, ignore=()):
    """ours (xentc) did exactly what theirs (scikit-learn) did.

    - Both returned: ours is a Python float within ``rtol`` of theirs, relative to
      ``max(|theirs|, scale)`` (``scale`` covers sums that cancel, e.g. negative weights),
      plus ``atol``;
      for a D² score (``d2=True``) the error of ``1 - a/b`` is relative to ``|1 - theirs|``.
      NaN matches NaN.
    - Both raised: the same exception class name, the same membership of the built-in
      exception classes (xentc.InvalidParameterError is a ValueError and a TypeError, as
      scikit-learn's), and, unless ``messages=False``, the same message.
    - The same warnings in the same order: category names and messages equal, and ours a
      subclass of every built-in Warning class theirs is (UndefinedMetricWarning ⊂ UserWarning).
      Categories in ``ignore`` are dropped from both lists first.
    """
    def kept(ws):
        return [(c, m) for c, m in ws if not issubclass(c, tuple(ignore))] if ignore else ws

    ow, tw = kept(ours.warnings), kept(theirs.warnings)
    context = f"\n  xentc   {ours.describe()}\n  sklearn {theirs.describe()}"
    assert [(c.__name__, m) for c, m in ow] == [(c.__name__, m) for c, m in tw], \
        "warnings differ" + context
    for (oc, _), (tc, _) in zip(ow, tw, strict=True):
        for base in (UserWarning, FutureWarning, DeprecationWarning, RuntimeWarning):
            assert issubclass(oc, base) == issubclass(tc, base), context
    if theirs.error is not None:
        assert ours.error is not None, "sklearn raised, xentc did not" + context
        assert type(ours.error).__name__ == type(theirs.error).__name__, context
        for base in _ERROR_BASES:
            assert isinstance(ours.error, base) == isinstance(theirs.error, base), context
        if messages:
            assert str(ours.error) == str(theirs.error), "messages differ" + context
        return
    if ours.error is not None:
        raise AssertionError("xentc raised, sklearn did not" + context) from ours.error
    assert type(ours.value) is float, f"xentc returned a {type(ours.value).__name__}" + context
    a, b = ours.value, float(theirs.value)
    if math.isnan(b):
        assert math.isnan(a), context
        return
    ref = abs(1.0 - b) if d2 else abs(b)
    ref = max(ref, scale or 0.0)
    assert abs(a - b) <= rtol * ref + atol, \
        f"|diff| = {abs(a - b):.3g} > {rtol:g}·{ref:.6g} + {atol:.3g}" + context


def bad_log_loss_problems(rng):
    """(name, y, p, kwargs): log_loss problems of 4000 rows that it rejects or warns about,
    the problem in a late block (tests of the inputs read in blocks)."""
    n = 4000
    p = rng.dirichlet(np.ones(3), size=n)
    y = rng.integers(0, 3, size=n)
    cases = []
    for name, value in [("nan", np.nan), ("inf", np.inf), ("above", 1.25), ("below", -0.5)]:
        q = p.copy()
        q[3500, 1] = value
        q[100, 2] = 1.01 if name == "above" else q[100, 2]  # an earlier, smaller excess
        cases.append((name, y, q, {}))
    q = p.copy()
    q[[10, 3990]] *= 1.2
    cases.append(("row sums", y, q, {}))
    cases.append(("one label", np.zeros(n, np.int64), p[:, :2], {}))
    cases.append(("class count", y, np.hstack([p, np.zeros((n, 1))]), {}))
    q = np.hstack([p, np.zeros((n, 1))])
    q[3000, 3] = 1.5
    cases.append(("class count and values", y, q, {}))
    z = y.copy()
    z[3999] = 7
    cases.append(("undeclared", z, p, {"labels": [0, 1, 2]}))
    cases.append(("unsorted and undeclared", z, p, {"labels": [2, 1, 0]}))
    cases.append(("zero weights", y, p, {"sample_weight": np.zeros(n)}))
    cases.append(("cancelling weights", y, p,
                  {"sample_weight": np.tile([1.0, -1.0], n // 2)}))
    cases.append(("lengths", y[:-1], p, {}))
    nan_w = np.ones(n)
    nan_w[3333] = np.nan
    cases.append(("nan weight", y, p, {"sample_weight": nan_w}))
    return cases
