# Tables and polynomials of xm512_log1p01 / xm512_log1p01_f32acc and xm512_log_dd
# (src/xentc_avx512.h).
#
# log1p(e) for e in [0, 1]: u = 1 + e in [1, 2], i = round(31 (u - 1)), c_i = 1 + i / 31,
# log(u) = log(1 / inv_i) + log1p(r), r = u inv_i - 1, |r| <= 1/62 (+ 2^-23).
# log(u) for any u: u = 2^k m, m in [0.75, 1.5), i = round(31 (m - 1)) + 8 in [0, 23],
# c_i = 1 + (i - 8) / 31, so |r| <= (1/62) / c_0 = 0.02173 (entries 24..31 repeat 23).
# inv = 1 where c = 1; the other inv_i are 1 / c_i perturbed at random by up to 2^-23 until
# log(1 / inv_i) is within 2^-66 relative of a double (so the tables need no low part).
# Q(r) with log1p(r) = r + r^2 Q(r): Lawson-reweighted least squares on Chebyshev nodes of
# [-R, R] for minimal error of log1p relative to |r| (the result's size near 0).
# The float-accuracy log1p of e in [0, 1] needs no table: G(e) = log1p(e) / e, fitted the
# same way on [0, 1] for minimal relative error.
# Usage: python fit_log1p_coefficients.py   (prints the tables, then Q of degree 6 on
# |r| <= 1/62 and of degree 7 on |r| <= 0.0218, and G of degree 12)
import random

import mpmath as mp

mp.mp.dps = 50
random.seed(2026)


def tables(first, count):
    inv, logc = [], []
    for i in range(first, first + count):
        c = 1 + mp.mpf(i) / 31
        if i == 0:
            inv.append(1.0)
            logc.append(0.0)
            continue
        while True:
            v = float((1 / c) * (1 + (random.random() - 0.5) * 2 ** -22))
            L = -mp.log(mp.mpf(v))
            if abs((L - float(L)) / L) < mp.mpf(2) ** -66:
                break
        inv.append(v)
        logc.append(float(L))
    return inv, logc


def q_exact(r):
    return mp.mpf(-1) / 2 if r == 0 else (mp.log1p(r) - r) / r ** 2


def g_exact(e):
    return mp.mpf(1) if e == 0 else mp.log1p(e) / e


def fit(deg, R, npts=300, iters=25, func=q_exact, weight=abs, lo=None):
    """Coefficients (lowest first) of func on [lo, R] (lo = -R by default), the error
    weighted by weight(x): |r| for Q (error relative to log1p(r)), 1 / G for G."""
    lo = -R if lo is None else lo
    xs = [(lo + R) / 2 + (R - lo) / 2 * mp.cos(mp.pi * (k + 0.5) / npts) for k in range(npts)]
    w = [mp.mpf(1)] * npts
    for _ in range(iters):
        A = mp.matrix(npts, deg + 1)
        y = mp.matrix(npts, 1)
        for i, x in enumerate(xs):
            sw = mp.sqrt(w[i]) * weight(x)
            for j in range(deg + 1):
                A[i, j] = sw * x ** j
            y[i] = sw * func(x)
        c = [mp.mpf(float(ci)) for ci in mp.lu_solve(A.T * A, A.T * y)]
        errs = [abs(sum(c[j] * x ** j for j in range(deg + 1)) - func(x)) * weight(x)
                for x in xs]
        s = sum(w[i] * errs[i] for i in range(npts))
        w = [w[i] * errs[i] / s for i in range(npts)]
    return c, max(errs)


inv, logc = tables(0, 32)
print("log1p01 inv:", ", ".join(v.hex() for v in inv))
print("log1p01 log(1/inv):", ", ".join(v.hex() for v in logc))
inv, logc = tables(-8, 24)
inv, logc = inv + inv[-1:] * 8, logc + logc[-1:] * 8
print("log inv:", ", ".join(v.hex() for v in inv))
print("log log(1/inv):", ", ".join(v.hex() for v in logc))
for deg, R in ((6, mp.mpf(1) / 62), (7, mp.mpf("0.0218"))):
    c, err = fit(deg, R)
    print(f"Q degree {deg} on |r| <= {float(R):.4f}, error relative to |r|: "
          f"2^{float(mp.log(err, 2)):.1f}")
    print("  (highest first)", ", ".join(float(ci).hex() for ci in reversed(c)))
c, err = fit(12, mp.mpf(1), npts=200, iters=20, func=g_exact, weight=lambda e: 1 / g_exact(e),
             lo=mp.mpf(0))
print(f"G degree 12 on [0, 1], relative error: 2^{float(mp.log(err, 2)):.1f}")
print("  (highest first)", ", ".join(float(ci).hex() for ci in reversed(c)))
