/*
 * AVX-512 intrinsics for the hottest float64 loops of the log-sum-exp kernels: the sum of
 * exp(x - m) over the elements below a row's finite max m, and the exponentials of a
 * chunk-flat block.  Included by xentc_kernels.h on x86-64 only; the portable loops of the
 * kernel templates are used at the other ISA levels and for float32 data.
 *
 * Why intrinsics: the 512-bit multiply-add unit is the bottleneck of the polynomial exp of
 * xentc_math.h (14 multiply-adds per vector), and a 16-entry table of 2^(i/16) cuts the
 * polynomial to degree 6 (10 multiply-adds).  The table lookup is one two-register permute
 * (vpermt2pd), which a compiler does not generate from C: a C table lookup becomes a gather.
 *
 * exp(t) = 2^k * 2^(i/16) * exp(r), with t = (16k + i) ln2/16 + r, |r| <= ln2/32;
 * exp(r) = 1 + q, q = r + r^2 g(r), g of degree 4 fitted as in src/fit_exp_coefficients.py
 * (relative error of 1 + q: 1.3e-17).  The rounding of the table entry (half an ulp) and of
 * the final multiply-add bound the error by about 1.1 ulp.  The result is for sums: arguments
 * below -708 (and -inf) give 0 rather than a subnormal, as xm_exp_ftz; NaN gives NaN.
 */
#ifndef XENTC_AVX512_H
#define XENTC_AVX512_H

#include <immintrin.h>

#define XM512_INLINE static inline __attribute__((always_inline, target(XENTC_TARGET_AVX512)))
/* A real call: an always-inline function with a target attribute cannot be inlined into the
   target-less always-inline helpers of the kernel templates, even when those end up inside
   an AVX-512 entry point. */
#define XM512_FUNC static __attribute__((noinline, target(XENTC_TARGET_AVX512)))

#define XM512_LN2_16_HI (XM_LN2_HI / 16.0)     /* 32 significant bits: n * hi is exact */
#define XM512_LN2_16_LO (XM_LN2_LO / 16.0)

/* exp(t + tl), tl the low part of an exact difference (|tl| <= ulp(t) / 2; ignored where
   t < -708, where it may be NaN: the TwoSum of -inf). */
XM512_INLINE __m512d xm512_exp_sum2(__m512d t, __m512d tl)
{
    const __m512d tab_lo = _mm512_setr_pd(
        0x1.0000000000000p+0, 0x1.0b5586cf9890fp+0, 0x1.172b83c7d517bp+0, 0x1.2387a6e756238p+0,
        0x1.306fe0a31b715p+0, 0x1.3dea64c123422p+0, 0x1.4bfdad5362a27p+0, 0x1.5ab07dd485429p+0);
    const __m512d tab_hi = _mm512_setr_pd(
        0x1.6a09e667f3bcdp+0, 0x1.7a11473eb0187p+0, 0x1.8ace5422aa0dbp+0, 0x1.9c49182a3f090p+0,
        0x1.ae89f995ad3adp+0, 0x1.c199bdd85529cp+0, 0x1.d5818dcfba487p+0, 0x1.ea4afa2a490dap+0);
    const __m512d lo = _mm512_set1_pd(-708.0);
    const __m512d shift = _mm512_set1_pd(XM_SHIFT);
    /* t < lo ? lo : t, NaN kept */
    __mmask8 below = _mm512_cmp_pd_mask(t, lo, _CMP_LT_OQ);
    __m512d tc = _mm512_mask_blend_pd(below, t, lo);
    tl = _mm512_mask_blend_pd(below, tl, _mm512_setzero_pd());
    __m512d kd = _mm512_fmadd_pd(tc, _mm512_set1_pd(16.0 * XM_LOG2E), shift);
    __m512i ki = _mm512_castpd_si512(kd);
    __m512d n = _mm512_sub_pd(kd, shift);
    __m512d r = _mm512_fnmadd_pd(n, _mm512_set1_pd(XM512_LN2_16_HI), tc);
    r = _mm512_add_pd(_mm512_fnmadd_pd(n, _mm512_set1_pd(XM512_LN2_16_LO), r), tl);
    /* 2^(i/16) for i = the low 4 bits of n, its exponent raised by k = n >> 4 */
    __m512d tab = _mm512_permutex2var_pd(tab_lo, ki, tab_hi);
    __m512i k52 = _mm512_slli_epi64(_mm512_srli_epi64(ki, 4), 52);
    __m512d scale = _mm512_castsi512_pd(_mm512_add_epi64(_mm512_castpd_si512(tab), k52));
    __m512d g = _mm512_set1_pd(0x1.6c14bc9df1556p-10);
    g = _mm512_fmadd_pd(g, r, _mm512_set1_pd(0x1.111240ad89593p-7));
    g = _mm512_fmadd_pd(g, r, _mm512_set1_pd(0x1.5555555922d3fp-5));
    g = _mm512_fmadd_pd(g, r, _mm512_set1_pd(0x1.55555554877a7p-3));
    g = _mm512_fmadd_pd(g, r, _mm512_set1_pd(0x1.fffffffffffb4p-2));
    __m512d q = _mm512_fmadd_pd(_mm512_mul_pd(r, r), g, r);
    return _mm512_maskz_mov_pd((__mmask8)~below, _mm512_fmadd_pd(scale, q, scale));
}

XM512_INLINE __m512d xm512_exp_sum(__m512d t)
{
    return xm512_exp_sum2(t, _mm512_setzero_pd());
}

/* The lanes of a vector at j that are below n (all 8, or the row's last few). */
XM512_INLINE __mmask8 xm512_lanes_left(ptrdiff_t j, ptrdiff_t n)
{
    ptrdiff_t left = n - j;
    return left >= 8 ? (__mmask8)0xff : (__mmask8)((1u << left) - 1u);
}

/* TwoSum(v, nm): v + nm == hi + *lo exactly */
XM512_INLINE __m512d xm512_two_sum(__m512d v, __m512d nm, __m512d *lo)
{
    __m512d s = _mm512_add_pd(v, nm);
    __m512d vp = _mm512_sub_pd(s, nm);
    __m512d mp = _mm512_sub_pd(s, vp);
    *lo = _mm512_add_pd(_mm512_sub_pd(v, vp), _mm512_sub_pd(nm, mp));
    return s;
}

/* exp(v - m), the difference rounded, or formed exactly (TwoSum) if exact */
XM512_INLINE __m512d xm512_exp_diff(__m512d v, __m512d nm, int exact)
{
    if (!exact)
        return xm512_exp_sum(_mm512_add_pd(v, nm));
    __m512d lo;
    __m512d hi = xm512_two_sum(v, nm, &lo);
    return xm512_exp_sum2(hi, lo);
}

/*
 * The sum of exp(x[j] - m) over the j < n with x[j] < m (NaN poisons it), m finite and >=
 * every x[j]; *cnt receives the number of x[j] == m.  The maximal terms (1 each) are counted
 * apart: added to a lane sum, their 1 would round away the low bits of every later term.
 * exact (a constant at each call site): x - m formed exactly, for a tail that is itself an
 * output (the largest log_softmax of a row is -log1p(tail)).
 */
XM512_INLINE double xm512_sum_exp_below(const double *x, ptrdiff_t n, double m, double *cnt,
                                        int exact)
{
    const __m512d nm = _mm512_set1_pd(-m), vm = _mm512_set1_pd(m);
    __m512d acc0 = _mm512_setzero_pd(), acc1 = _mm512_setzero_pd();
    ptrdiff_t tops = 0;
    ptrdiff_t j = 0;
    for (; j + 16 <= n; j += 16) {
        __m512d v0 = _mm512_loadu_pd(x + j), v1 = _mm512_loadu_pd(x + j + 8);
        __mmask8 b0 = _mm512_cmp_pd_mask(v0, vm, _CMP_NEQ_UQ);
        __mmask8 b1 = _mm512_cmp_pd_mask(v1, vm, _CMP_NEQ_UQ);
        acc0 = _mm512_mask_add_pd(acc0, b0, acc0, xm512_exp_diff(v0, nm, exact));
        acc1 = _mm512_mask_add_pd(acc1, b1, acc1, xm512_exp_diff(v1, nm, exact));
        tops += 16 - __builtin_popcount((unsigned)b0 | ((unsigned)b1 << 8));
    }
    for (; j < n; j += 8) {
        __mmask8 k = xm512_lanes_left(j, n);
        __m512d v = _mm512_maskz_loadu_pd(k, x + j);
        __mmask8 b = _mm512_mask_cmp_pd_mask(k, v, vm, _CMP_NEQ_UQ);
        acc0 = _mm512_mask_add_pd(acc0, b, acc0, xm512_exp_diff(v, nm, exact));
        tops += __builtin_popcount((unsigned)k) - __builtin_popcount((unsigned)b);
    }
    *cnt = (double)tops;
    return _mm512_reduce_add_pd(_mm512_add_pd(acc0, acc1));
}

XM512_FUNC double xm512_sum_exp_below_f64(const double *x, ptrdiff_t n, double m, double *cnt)
{
    return xm512_sum_exp_below(x, n, m, cnt, 0);
}

XM512_FUNC double xm512_sum_exp_below_exact_f64(const double *x, ptrdiff_t n, double m,
                                                double *cnt)
{
    return xm512_sum_exp_below(x, n, m, cnt, 1);
}

/*
 * e[k] = exp(x[k] - m) for k < n, the difference formed exactly (TwoSum), m finite and >=
 * every x[k] (chunk-flat log-sum-exp: m is the max of a block of short rows, and a row far
 * below it keeps its accuracy).  Prefetches the npf elements at pf, one line per vector.
 */
XM512_FUNC void xm512_exp_shifted_f64(const double *x, ptrdiff_t n, double m, double *e,
                                      const double *pf, ptrdiff_t npf)
{
    const __m512d nm = _mm512_set1_pd(-m);
    for (ptrdiff_t j = 0; j < n; j += 8) {
        if (j < npf)
            _mm_prefetch((const char *)(pf + j), _MM_HINT_T0);
        __mmask8 k = xm512_lanes_left(j, n);
        __m512d v = _mm512_maskz_loadu_pd(k, x + j);
        _mm512_mask_storeu_pd(e + j, k, xm512_exp_diff(v, nm, 1));
    }
}

#endif /* XENTC_AVX512_H */
