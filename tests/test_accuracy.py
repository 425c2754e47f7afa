"""Accuracy in ulps against extended-precision references (SPEC §4), on every code path.

Error scale.  A log-sum-exp r = m + L (m the row max, L = log1p(tail) >= 0) is computed as a
sum of two numbers; its error is measured in ulps of max(|r|, |L|), the larger of the result
and of the term added to the max.  For rows with m >= 0 that is ulp(r); it differs only where
r cancels against a negative max, where no double-precision algorithm can do better than the
size of L allows (SciPy's error there is several ulps of L too).

Measured maxima (this test's data, all three code paths): float64 <= 1.7 ulp (<= 4.0 ulp for
rows that are already normalised log-probabilities, whose result is ~0 by cancellation;
SciPy: up to 7.8 on the same rows), float32 <= 0.7 ulp; softmax / log_softmax element-wise
float64 <= 2.7 / 3.3 ulp (4.4 ulp for softmax with 3 <= C <= 48; SciPy: 31 ulp / 1e16 ulp),
float32 <= 0.6 ulp.
"""

import mpmath
import numpy as np
import pytest

import xentc

from helpers import lse_exact, ulp_error

sp = pytest.importorskip("scipy.special")


def families(rng, n, C):
    """Row families that exercise every branch of the kernels (float64 values)."""
    x = {}
    x["randn"] = 3 * rng.normal(size=(n, C))
    x["row_offsets"] = rng.normal(size=(n, C)) + rng.uniform(-2000, 150, size=(n, 1))
    d = rng.normal(size=(n, C)) - 40
    d[np.arange(n), rng.integers(0, C, n)] = rng.normal(size=n) * 0.01
    x["dominant"] = d
    x["wide"] = rng.uniform(-700, 700, size=(n, C))
    w = rng.normal(size=(n, C))
    w[rng.random((n, C)) < 0.3] = -np.inf
    w[0] = -np.inf
    x["masked"] = w
    x["near_ties"] = 1.0 + rng.integers(-1, 2, size=(n, C)) * 1e-15
    x["cancelling"] = rng.normal(size=(n, C)) * 1e-3 - np.log(C)
    x["log_probabilities"] = sp.log_softmax(2 * rng.normal(size=(n, C)), axis=1)
    # results spread over [-10, 10]: both sides of the magnitude below which float data's
    # results from float-native exponentials are redone (4, xentc_avx512.h)
    t = rng.normal(size=(n, C)) * rng.uniform(0.1, 3, size=(n, 1))
    x["results_to_10"] = t + (rng.uniform(-10, 10, size=(n, 1)) - sp.logsumexp(t, axis=1)[:, None])
    return x


LSE_BOUND = {np.float64: 2.0, np.float32: 1.0}
# already-normalised log-probabilities (r ~ 0) and rows shifted to small results: r cancels
# against a negative max, bound in ulps of L
LSE_BOUND_LOGPROB = {np.float64: 4.5, np.float32: 1.0}


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("C", [1, 2, 3, 4, 5, 7, 10, 16, 33, 48, 49, 64, 100, 1000, 5000])
def test_logsumexp_ulps(cpu_level, rng, dtype, C):
    n = 600 if C <= 100 else (60 if C <= 1000 else 12)
    for name, x64 in families(rng, n, C).items():
        x = x64.astype(dtype)
        r = xentc.logsumexp(x, axis=1)
        exact, m = lse_exact(x)
        mf = np.where(np.isfinite(m), m, 0)
        err = ulp_error(r, exact, dtype, scale=np.maximum(np.abs(exact), np.abs(exact - mf)))
        cancels = name in ("log_probabilities", "results_to_10")
        bound = (LSE_BOUND_LOGPROB if cancels else LSE_BOUND)[dtype]
        assert err.max() <= bound, (name, C, err.max())


def test_logsumexp_ulps_segmented_rows(rng):
    # rows longer than the segment threshold are scanned in parallel segments and merged
    for dtype in (np.float64, np.float32):
        x = (3 * rng.normal(size=(2, 300_000))).astype(dtype)
        x[1] -= 1e4
        r = xentc.logsumexp(x, axis=1, n_threads=2)
        exact, _ = lse_exact(x)
        assert ulp_error(r, exact, dtype).max() <= LSE_BOUND[dtype]
        y = np.concatenate([[0.0], np.full(400_000, -50.0)]).astype(dtype)
        ref = 400_000 * mpmath.exp(-50) if dtype is np.float64 else 400_000 * np.exp(-50.0)
        assert ulp_error(xentc.logsumexp(y), float(mpmath.log1p(ref)), dtype).max() <= 1.0


def softmax_exact(x):
    """Row softmax and log_softmax in long double, the tail kept apart from the max."""
    xl = np.asarray(x, dtype=np.longdouble)
    m = xl.max(axis=1, keepdims=True)
    with np.errstate(under="ignore"):
        e = np.exp(xl - m)
    e[np.arange(len(xl)), np.argmax(xl, axis=1)] = 0
    L = np.log1p(e.sum(axis=1, keepdims=True))
    with np.errstate(under="ignore"):
        return np.exp((xl - m) - L), (xl - m) - L


# float64 softmax rows of 3 <= C <= 48 are e / sum(e) from one shared exp pass (chunk-flat),
# a little less accurate than exp(x - m - L) of the other paths
SOFTMAX_BOUND = {np.float64: 4.5, np.float32: 1.0}
SOFTMAX_BOUND_FLAT = {np.float64: 4.5, np.float32: 1.0}
LOG_SOFTMAX_BOUND = {np.float64: 3.5, np.float32: 1.0}


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("C", [1, 2, 3, 5, 10, 16, 48, 49, 100, 1000, 5000])
def test_softmax_log_softmax_ulps(cpu_level, rng, dtype, C):
    n = 400 if C <= 100 else 40
    data = families(rng, n, C)
    data.pop("masked")  # -inf rows: exact zeros / -inf, checked in test_softmax.py
    data["wide"] = rng.uniform(-740, 0, size=(n, C))
    for name, x64 in data.items():
        x = x64.astype(dtype)
        s_exact, l_exact = softmax_exact(x)
        s, ls = xentc.softmax(x, axis=1), xentc.log_softmax(x, axis=1)
        bound = (SOFTMAX_BOUND_FLAT if 3 <= C <= 48 else SOFTMAX_BOUND)[dtype]
        assert ulp_error(s, s_exact, dtype).max() <= bound, name
        assert ulp_error(ls, l_exact, dtype).max() <= LOG_SOFTMAX_BOUND[dtype], name


def mp_lse(row):
    """m + log1p(sum of exp(x - m) over all but one maximal element), at 60 digits."""
    with mpmath.workdps(60):
        v = sorted(mpmath.mpf(float(t)) for t in row)
        m = v[-1]
        return m + mpmath.log1p(mpmath.fsum(mpmath.exp(t - m) for t in v[:-1]))


EXTREME_ROWS = [
    [0.0, -40.0],                        # scipy gh-18295
    [0.0, -720.0],                       # subnormal tail: the result itself is subnormal
    [0.0, -745.0],
    [0.0, -746.0],                       # tail below the smallest subnormal
    [1e308, 1e308],
    [1.7e308, -1.7e308],
    [-1e308, -1e308, -1e308],
    [709.0, 709.0, 708.0],
    [-740.0, -740.5, -741.0, -800.0],
    [5e-324, -5e-324, 0.0],
    [2.2250738585072014e-308] * 7,
    [1e-300, 3e-300, -1e-300, 2e-300],
    [12345.678, 12345.678 - 1e-12, 12345.678 - 36.0],
    list(-np.arange(48.0) * 15),         # 48 terms spanning 700 below the max
    list(np.linspace(-5, 5, 101)),
]


@pytest.mark.parametrize("row", EXTREME_ROWS, ids=range(len(EXTREME_ROWS)))
def test_logsumexp_extreme_rows_against_mpmath(cpu_level, row):
    exact = mp_lse(row)
    r = xentc.logsumexp(np.array(row))
    assert ulp_error(r, float(exact), np.float64).max() <= 1.0
    # the same row inside a block of other rows (chunk-flat path, other block maxima)
    block = np.tile(np.array(row), (300, 1))
    block[::2] -= 3.0 if np.all(np.abs(row) < 1e300) else 0.0
    rr = xentc.logsumexp(block, axis=1)
    assert ulp_error(rr[1::2], float(exact), np.float64).max() <= 1.0


F32_EXTREME_ROWS = [
    [0.0, -20.0],                        # semantics.md item 2
    [0.0, -104.0],
    [88.0, 88.0],
    [3.0e38, 3.0e38],
    [-3.0e38, 0.0],
    [1e-45, 0.0, -1e-45],
    list(-np.arange(16.0) * 7),
]


@pytest.mark.parametrize("row", F32_EXTREME_ROWS, ids=range(len(F32_EXTREME_ROWS)))
def test_logsumexp_float32_extreme_rows(cpu_level, row):
    x = np.array(row, dtype=np.float32)
    exact = mp_lse(x)
    r = xentc.logsumexp(x)
    assert r.dtype == np.float32
    assert ulp_error(r, float(exact), np.float32).max() <= 0.51
