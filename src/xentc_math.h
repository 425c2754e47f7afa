/*
 * Vectorisable exp / log primitives for xentc's kernels.
 *
 * Every function here is branch-free straight-line code (selects, not branches), so that
 * gcc/clang vectorise the `#pragma omp simd` loops that call them at whatever ISA level the
 * calling entry point is compiled for.  All arithmetic is IEEE double: float32 data are widened
 * on load and use the shorter "float-accuracy" polynomials, which is both simpler and more
 * accurate than float arithmetic (no catastrophic rounding of x - max in float).
 *
 * Strict IEEE semantics are assumed: this file must never be compiled with -ffast-math,
 * -ffinite-math-only or -fassociative-math (the round-to-integer trick `x + 0x1.8p52 - 0x1.8p52`
 * and every NaN/inf select depend on it).
 *
 * Accuracy, measured against long double on 4M random points per range when these were
 * written (the kernels built on them are tested end to end in tests/test_accuracy.py):
 *   xm_exp_ftz, xm_exp_full   <= 1.04 ulp for arguments in [-745.2, 0] (1.18 with a low part)
 *   xm_exp_f32acc             relative error <= 4e-9 (only where results are rounded to float)
 *   xm_log1p01_dd             hi + lo within 0.33 ulp; xm_log_dd within 0.6 ulp
 *   xm_log_any_dd, xm_log1m_dd  the core of xm_log_dd on an exact reduction; measured end to
 *                             end in tests/test_binary.py (the rounded log of p and the
 *                             binary cross-entropy on probabilities within 1 ulp of mpmath)
 *
 * Polynomial coefficients: exp(r) = 1 + r + r^2 g(r) on |r| <= ln2/2, g fitted by iteratively
 * reweighted least squares for minimal relative error of exp (src/fit_exp_coefficients.py);
 * the log polynomial is fdlibm's (Lg1..Lg7).
 */
#ifndef XENTC_MATH_H
#define XENTC_MATH_H

#include <stdint.h>
#include <string.h>
#include <stddef.h>

#if defined(__GNUC__) || defined(__clang__)
#  define XM_INLINE static inline __attribute__((always_inline))
#  define XM_PREFETCH(p) __builtin_prefetch((p), 0, 3)
#elif defined(_MSC_VER)
#  define XM_INLINE static __forceinline
#  define XM_PREFETCH(p) ((void)(p))
#else
#  define XM_INLINE static inline
#  define XM_PREFETCH(p) ((void)(p))
#endif

#define XM_INF (__builtin_inf())

XM_INLINE double xm_asdouble(uint64_t u) { double d; memcpy(&d, &u, sizeof d); return d; }
XM_INLINE uint64_t xm_asu64(double d) { uint64_t u; memcpy(&u, &d, sizeof u); return u; }
XM_INLINE uint32_t xm_asu32(float f) { uint32_t u; memcpy(&u, &f, sizeof u); return u; }

/* A double-double: the unevaluated sum hi + lo. */
typedef struct { double hi, lo; } xm_dd;

/* Knuth's TwoSum: s + e == a + b exactly, whatever the magnitudes. */
XM_INLINE xm_dd xm_two_sum(double a, double b)
{
    xm_dd r;
    double s = a + b;
    double ap = s - b;
    double bp = s - ap;
    r.hi = s;
    r.lo = (a - ap) + (b - bp);
    return r;
}

/* ---------------------------------------------------------------------------------------- */
/* exp                                                                                       */
/* ---------------------------------------------------------------------------------------- */

#define XM_LOG2E   0x1.71547652b82fep0
#define XM_SHIFT   0x1.8p52            /* adding it rounds to an integer held in the low bits */
#define XM_LN2_HI  0x1.62e42feep-1     /* 32 significant bits: n * XM_LN2_HI is exact */
#define XM_LN2_LO  0x1.a39ef35793c76p-33
#define XM_LN2     0x1.62e42fefa39efp-1

/* g(r) for exp(r) = 1 + r + r^2 g(r), |r| <= ln2/2: relative error of exp 3.6e-18 (double). */
XM_INLINE double xm_exp_g64(double r)
{
    double g = 0x1.ad7f8cf85a2c1p-26;
    g = g * r + 0x1.28ad6a136b536p-22;
    g = g * r + 0x1.71df253149b6bp-19;
    g = g * r + 0x1.a0199a1528e47p-16;
    g = g * r + 0x1.a01a012a6c1f5p-13;
    g = g * r + 0x1.6c16c18427236p-10;
    g = g * r + 0x1.1111111127b9bp-7;
    g = g * r + 0x1.5555555550888p-5;
    g = g * r + 0x1.55555555554fap-3;
    g = g * r + 0x1.000000000000ap-1;
    return g;
}

/* The same for float accuracy: relative error of exp 3.1e-9. */
XM_INLINE double xm_exp_g32(double r)
{
    double g = 0x1.6a243ep-10;
    g = g * r + 0x1.1239d6p-7;
    g = g * r + 0x1.5558f2p-5;
    g = g * r + 0x1.555492p-3;
    g = g * r + 0x1.fffffcp-2;
    return g;
}

/*
 * exp(th + tl) for th <= 0, -inf or NaN, and |tl| <= ulp(th) (the low part of an exact
 * difference, 0 if there is none).  Results below exp(-708) are flushed to +0: this variant is
 * for sums and normalised outputs whose other terms make such values irrelevant.
 * NaN propagates; -inf gives 0.
 */
XM_INLINE double xm_exp_ftz(double th, double tl)
{
    const double lo = -708.0;
    double tc = th < lo ? lo : th;
    double kd = tc * XM_LOG2E + XM_SHIFT;
    uint64_t ki = xm_asu64(kd);
    double n = kd - XM_SHIFT;
    double r = tc - n * XM_LN2_HI;
    r = (r - n * XM_LN2_LO) + tl;
    double p = 1.0 + (r + (r * r) * xm_exp_g64(r));
    /* n >= -1022 here, so adding n to the exponent field of p (in [0.7, 1.5]) stays normal */
    double v = xm_asdouble(xm_asu64(p) + (ki << 52));
    v = th < lo ? 0.0 : v;
    return th != th ? th : v;
}

/*
 * exp(th + tl) for th <= 0, -inf or NaN, with correctly scaled subnormal results: for outputs
 * that are returned to the user (softmax).
 */
XM_INLINE double xm_exp_full(double th, double tl)
{
    const double lo = -745.2;              /* exp(lo) < 2^-1075: rounds to +0 */
    double tc = th < lo ? lo : th;
    double kd = tc * XM_LOG2E + XM_SHIFT;
    uint64_t ki = xm_asu64(kd);
    double n = kd - XM_SHIFT;
    double r = tc - n * XM_LN2_HI;
    r = (r - n * XM_LN2_LO) + tl;
    double p = 1.0 + (r + (r * r) * xm_exp_g64(r));
    /* 2^n for n >= -1020; below that scale by 2^(n+200) and round once with 2^-200 */
    int sub = tc < -700.0;
    uint64_t bias = sub ? (uint64_t)(1023 + 200) : (uint64_t)1023;
    double scale = xm_asdouble((ki + bias) << 52);
    double fix = sub ? 0x1p-200 : 1.0;
    double v = (p * scale) * fix;
    return th < lo ? 0.0 : v;      /* the clamp must not meet a low part tl (x - m = -1e308 + 1) */
}

/*
 * exp(t) for t <= 0, -inf or NaN, accurate to 4e-9 relative: for float32 data, whose results
 * are rounded to float.  Flushes below exp(-708), far under float's smallest subnormal.
 */
XM_INLINE double xm_exp_f32acc(double t)
{
    const double lo = -708.0;
    double tc = t < lo ? lo : t;
    double kd = tc * XM_LOG2E + XM_SHIFT;
    uint64_t ki = xm_asu64(kd);
    double n = kd - XM_SHIFT;
    double r = tc - n * XM_LN2;
    double p = 1.0 + (r + (r * r) * xm_exp_g32(r));
    double v = xm_asdouble(xm_asu64(p) + (ki << 52));
    v = t < lo ? 0.0 : v;
    return t != t ? t : v;
}

/* ---------------------------------------------------------------------------------------- */
/* log                                                                                       */
/* ---------------------------------------------------------------------------------------- */

#define XM_LG1 6.666666666666735130e-01
#define XM_LG2 3.999999999940941908e-01
#define XM_LG3 2.857142874366239149e-01
#define XM_LG4 2.222219843214978396e-01
#define XM_LG5 1.818357216161805012e-01
#define XM_LG6 1.531383769920937332e-01
#define XM_LG7 1.479819860511658591e-01
#define XM_LN2_HI_LOG 6.93147180369123816490e-01   /* fdlibm split: 32 significant bits */
#define XM_LN2_LO_LOG 1.90821492927058770002e-10

/*
 * dk ln2 + log1p(f) + c as a double-double, for f in [sqrt(1/2) - 1, sqrt(2) - 1] exact, dk
 * an integer and a small correction c (|c| <= 2^-52 |result|-ish):
 * log1p(f) = f + [-f^2/2 + s (f^2/2 + R(s^2))], s = f / (2 + f), R fdlibm's Lg1..Lg7.
 * dk ln2_hi and f are exact doubles, so the result keeps ~0.5 ulp of relative accuracy even
 * when it is later added to a value of the opposite sign.  The result is normalised
 * (|lo| <= ulp(hi) / 2), so hi + lo can feed xm_exp_full's two-part argument.  One division.
 */
XM_INLINE xm_dd xm_log_core(double dk, double f, double c)
{
    double hfsq = 0.5 * f * f;
    double s = f / (2.0 + f);
    double z = s * s;
    double w = z * z;
    double t1 = w * (XM_LG2 + w * (XM_LG4 + w * XM_LG6));
    double t2 = z * (XM_LG1 + w * (XM_LG3 + w * (XM_LG5 + w * XM_LG7)));
    double small = (s * (hfsq + (t2 + t1)) + (dk * XM_LN2_LO_LOG + c)) - hfsq;
    xm_dd r = xm_two_sum(dk * XM_LN2_HI_LOG, f);
    return xm_two_sum(r.hi, r.lo + small);
}

/* The reduction u = 2^k (1 + f), 1 + f in [sqrt(1/2), sqrt(2)), of a positive normal finite u:
   sets *dk = k and returns f (exact). */
XM_INLINE double xm_log_reduce(double u, double *dk)
{
    uint64_t iu = xm_asu64(u) + (0x3ff0000000000000ULL - 0x3fe6a09e00000000ULL);
    /* the biased exponent (< 2^11) converted exactly through the mantissa of 2^52: an
       int64 -> double conversion would keep the loop from vectorising before AVX-512 */
    *dk = (xm_asdouble(0x4330000000000000ULL | (iu >> 52)) - 0x1p52) - 1023.0;
    iu = (iu & 0x000fffffffffffffULL) + 0x3fe6a09e00000000ULL;
    return xm_asdouble(iu) - 1.0;
}

/* log(u) + c as a double-double, for u positive, normal and finite, and a small correction c. */
XM_INLINE xm_dd xm_log_dd(double u, double c)
{
    double dk;
    double f = xm_log_reduce(u, &dk);
    return xm_log_core(dk, f, c);
}

/*
 * log(u) as a double-double for any u >= 0, +inf or NaN: subnormal u is scaled by 2^200 first,
 * 0 gives (-inf, 0), +inf (inf, 0), NaN (NaN, NaN).  Within 0.6 ulp, as xm_log_dd.
 */
XM_INLINE xm_dd xm_log_any_dd(double u)
{
    int sub = u < 0x1p-1022;
    double us = sub ? u * 0x1p200 : u;
    us = (us > 0.0) & (us < XM_INF) ? us : 1.0;   /* 0, inf, NaN: the core on 1, then selects */
    double dk;
    double f = xm_log_reduce(us, &dk);
    xm_dd r = xm_log_core(sub ? dk - 200.0 : dk, f, 0.0);
    double special = u == 0.0 ? -XM_INF : u;     /* inf or NaN */
    int normal = (u > 0.0) & (u < XM_INF);
    r.hi = normal ? r.hi : special;
    r.lo = normal ? r.lo : 0.0;
    return r;
}

/*
 * log(1 - p) for p in [0, 1] (or NaN) as a double-double, without rounding 1 - p: for
 * p >= 1/2, 1 - p is exact and reduced as usual; below, 1 - p = 2^k (1 + f) with k = 0,
 * f = -p (p <= 1 - sqrt(1/2)) or k = -1, f = 1 - 2p (exact).  p = 1 gives (-inf, 0).
 */
#define XM_1MSQRTH 0x1.2bec333018866p-2        /* 1 - sqrt(1/2) */

XM_INLINE xm_dd xm_log1m_dd(double p)
{
    int big = p >= 0.5;
    double u = 1.0 - p;                        /* exact when big */
    double dkb;
    double fb = xm_log_reduce(big & (u > 0.0) ? u : 1.0, &dkb);
    int mid = p > XM_1MSQRTH;
    double f = big ? fb : (mid ? 1.0 - 2.0 * p : -p);
    double dk = big ? dkb : (mid ? -1.0 : 0.0);
    xm_dd r = xm_log_core(dk, f, 0.0);
    r.hi = p == 1.0 ? -XM_INF : r.hi;
    r.lo = p == 1.0 ? 0.0 : r.lo;
    return r;
}

/* log1p(v) as a double-double for v >= 0 finite (u = 1 + v may round: c restores it). */
XM_INLINE xm_dd xm_log1p_dd(double v)
{
    double u = 1.0 + v;
    /* the rounding error of 1 + v, exact: (u - 1) is exact for u < 2, (u - v) for u >= 2 */
    double c = u < 2.0 ? v - (u - 1.0) : 1.0 - (u - v);
    return xm_log_dd(u, c / u);
}

/*
 * log1p(e) for e in [0, 1] (or NaN) as a double-double, without forming 1 + e: on
 * [0, sqrt2 - 1] f = e exactly; above, log1p(e) = ln2 + log1p(f) with f = (e - 1) / 2, where
 * e - 1 is exact except on (sqrt2 - 1, 1/2) and its rounding error d.lo (Fast2Sum) enters as
 * d.lo / 2 / (1 + f) ~ d.lo / 2 (1 - f), to 2^-58.  One division.
 */
#define XM_SQRT2M1 0x1.a827999fcef32p-2

XM_INLINE xm_dd xm_log1p01_dd(double e)
{
    int up = e > XM_SQRT2M1;
    double dhi = e - 1.0;                    /* Fast2Sum(-1, e): |-1| >= |e| */
    double dlo = e - (dhi + 1.0);
    double f = up ? 0.5 * dhi : e;
    double corr = up ? (0.5 * dlo) * (1.0 - f) : 0.0;
    return xm_log_core(up ? 1.0 : 0.0, f, corr);
}

/*
 * log(u) for u positive, normal and finite, to float accuracy (relative error < 2^-32: for a
 * float32 result, or a double sum of float32-accurate terms; not for a float64 result),
 * without a division: the reduction of xm_log_reduce, then log1p(f) = f Q(f), Q of degree 11
 * fitted at the Chebyshev nodes of [sqrt(1/2) - 1, sqrt(2) - 1] (|Q f / log1p(f) - 1| <=
 * 1.2e-10 there).
 */
XM_INLINE double xm_log_f32acc(double u)
{
    double dk;
    double f = xm_log_reduce(u, &dk);
    double q = -0x1.dee09c61437f5p-5;
    q = q * f + 0x1.b3ac3a86c4c69p-4;
    q = q * f - 0x1.be62fdf835d17p-4;
    q = q * f + 0x1.c44f7adf5465cp-4;
    q = q * f - 0x1.fc599192e09e7p-4;
    q = q * f + 0x1.24883dae4695ep-3;
    q = q * f - 0x1.5568d22f95563p-3;
    q = q * f + 0x1.999a7d48b042cp-3;
    q = q * f - 0x1.ffffaae30f78ep-3;
    q = q * f + 0x1.555553aa0fc93p-2;
    q = q * f - 0x1.0000001a7efe7p-1;
    q = q * f + 0x1.0000000034ca2p+0;
    return dk * XM_LN2 + f * q;
}

/* The same to float accuracy (relative error < 2^-33), as a double. */
XM_INLINE double xm_log1p01_f32acc(double e)
{
    int up = e > XM_SQRT2M1;
    double f = up ? 0.5 * (e - 1.0) : e;
    double dk = up ? XM_LN2 : 0.0;
    double hfsq = 0.5 * f * f;
    double s = f / (2.0 + f);
    double z = s * s;
    double w = z * z;
    double R = z * (XM_LG1 + w * XM_LG3) + w * (XM_LG2 + w * XM_LG4);
    return dk + (f - (hfsq - s * (hfsq + R)));
}

/* m + L (L a double-double), with one final rounding. */
XM_INLINE double xm_add_dd(double m, xm_dd L)
{
    xm_dd s = xm_two_sum(m, L.hi);
    return s.hi + (s.lo + L.lo);
}

/*
 * m + log1p(v): the log-sum-exp of a row from its max m and the sum v >= 0 of exp(x - m)
 * over all elements but one maximal one.  Non-finite m or v give m + v.
 */
XM_INLINE double xm_m_plus_log1p(double m, double v)
{
    double vc = v < 0x1p1000 ? v : 1.0;      /* keep the core on finite input (NaN -> 1.0) */
    double r = xm_add_dd(m, xm_log1p_dd(vc));
    /* v = inf or NaN, or m = +-inf or NaN: m + v is the answer (and TwoSum would give NaN) */
    return (v < 0x1p1000) & (__builtin_fabs(m) < XM_INF) ? r : m + v;
}

/* (Mh + Ml) + log(s) for s > 0 (finite), Ml a small low part of the shift (0 if none);
   s == 0 gives -inf, NaN gives NaN. */
XM_INLINE double xm_m_plus_log(double Mh, double Ml, double s)
{
    double sc = s > 0x1p-1000 ? s : 1.0;      /* keep the core on normal input */
    xm_dd L = xm_log_dd(sc, 0.0);
    xm_dd t = xm_two_sum(Mh, L.hi);
    double r = t.hi + (t.lo + (L.lo + Ml));
    r = s == 0.0 ? -XM_INF : r;
    return s != s ? s : r;
}

/* ---------------------------------------------------------------------------------------- */
/* Pairwise summation of a stream of partial sums                                          */
/* ---------------------------------------------------------------------------------------- */

/* A binary cascade: partial sums of equal weight are added together (like a binary counter),
   so n values are combined with O(log n) rounding error growth, in O(log n) memory. */
typedef struct {
    double level[64];
    unsigned long long filled;     /* bit k set: level[k] holds a partial sum */
} xm_cascade;

XM_INLINE void xm_cascade_init(xm_cascade *c) { c->filled = 0; }

XM_INLINE void xm_cascade_add(xm_cascade *c, double v)
{
    int k = 0;
    while (c->filled >> k & 1) {
        v += c->level[k];
        c->filled &= ~(1ULL << k);
        k++;
    }
    c->level[k] = v;
    c->filled |= 1ULL << k;
}

XM_INLINE double xm_cascade_total(const xm_cascade *c)
{
    double s = 0.0;
    for (int k = 0; k < 64; k++)
        if (c->filled >> k & 1)
            s += c->level[k];
    return s;
}

#endif /* XENTC_MATH_H */
