/*
 * AVX-512 intrinsics for the hottest loops: for float64 log-sum-exp, the sum of exp(x - m)
 * over the elements below a row's finite max m and the exponentials of a chunk-flat block;
 * for short rows (3 <= C <= 48) their statistics and softmax 8 rows at a time, transposed in
 * registers; for the log_loss of float32 probabilities, a table log, products instead of
 * sums of logs, and one loop over rows of up to 1024 values that does all the work; the
 * binary cross-entropy on logits and rows of two values (C = 2), with a table exponential and
 * a division-free table log1p; and a division-free log that finishes the log-sum-exp of rows
 * of 8 to 48 values.  Included
 * by xentc_kernels.h on x86-64 only; the portable loops of the kernel templates are used at
 * the other ISA levels and for the other cases.
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

/* 2^(n / 16) for integer lanes n (only their low 16 bits are read: the exponent field wraps
   modulo 2^12), the result normal: 2^(i/16) for i = the low 4 bits of n from a 16-entry
   table (one two-register permute), its exponent raised by k = n >> 4. */
XM512_INLINE __m512d xm512_exp2_16(__m512i n)
{
    const __m512d tab_lo = _mm512_setr_pd(
        0x1.0000000000000p+0, 0x1.0b5586cf9890fp+0, 0x1.172b83c7d517bp+0, 0x1.2387a6e756238p+0,
        0x1.306fe0a31b715p+0, 0x1.3dea64c123422p+0, 0x1.4bfdad5362a27p+0, 0x1.5ab07dd485429p+0);
    const __m512d tab_hi = _mm512_setr_pd(
        0x1.6a09e667f3bcdp+0, 0x1.7a11473eb0187p+0, 0x1.8ace5422aa0dbp+0, 0x1.9c49182a3f090p+0,
        0x1.ae89f995ad3adp+0, 0x1.c199bdd85529cp+0, 0x1.d5818dcfba487p+0, 0x1.ea4afa2a490dap+0);
    __m512d tab = _mm512_permutex2var_pd(tab_lo, n, tab_hi);
    __m512i k52 = _mm512_slli_epi64(_mm512_srli_epi64(n, 4), 52);
    return _mm512_castsi512_pd(_mm512_add_epi64(_mm512_castpd_si512(tab), k52));
}

/* exp(r) - 1 = r + r^2 g(r) for |r| <= ln2 / 32 (g fitted: see the top of the file). */
XM512_INLINE __m512d xm512_expm1_32(__m512d r)
{
    __m512d g = _mm512_set1_pd(0x1.6c14bc9df1556p-10);
    g = _mm512_fmadd_pd(g, r, _mm512_set1_pd(0x1.111240ad89593p-7));
    g = _mm512_fmadd_pd(g, r, _mm512_set1_pd(0x1.5555555922d3fp-5));
    g = _mm512_fmadd_pd(g, r, _mm512_set1_pd(0x1.55555554877a7p-3));
    g = _mm512_fmadd_pd(g, r, _mm512_set1_pd(0x1.fffffffffffb4p-2));
    return _mm512_fmadd_pd(_mm512_mul_pd(r, r), g, r);
}

/* 2^(n / 16) exp(r) for |r| <= ln2 / 32 and integer lanes n (only their low 16 bits are
   read: the scale's exponent field wraps modulo 2^12), the result normal. */
XM512_INLINE __m512d xm512_exp_core(__m512d r, __m512i n)
{
    __m512d scale = xm512_exp2_16(n);
    return _mm512_fmadd_pd(scale, xm512_expm1_32(r), scale);
}

/* The relative rounding error of xm512_exp2_16's table entry for n: (2^(i/16) - tab_i) / tab_i
   with i the low 4 bits of n. */
XM512_INLINE __m512d xm512_exp2_16_err(__m512i n)
{
    const __m512d err_lo = _mm512_setr_pd(
        0x0.0p+0, 0x1.79aa65d837b6dp-54, -0x1.01b15eaa59348p-55, 0x1.68efde3a8a894p-54,
        0x1.34d754db0abb6p-55, 0x1.59f48a72a4c6dp-55, 0x1.690cebb7aafb0p-56,
        0x1.063e1e21c5409p-54);
    const __m512d err_hi = _mm512_setr_pd(
        -0x1.3b3efbf5e2228p-54, -0x1.b32dcb94da51dp-56, 0x1.db72fc1f0eab4p-55,
        0x1.1affc2b91ce27p-56, 0x1.c1a7792cb3387p-55, 0x1.36eae30af0cb3p-56,
        0x1.4a385a63d07a7p-56, -0x1.ff7128fd391f0p-55);
    return _mm512_permutex2var_pd(err_lo, n, err_hi);
}

/* 2^(n / 16) exp(r) for |r| <= ln2 / 16 (a difference of two reduced arguments): as
   xm512_exp_core with the Taylor polynomial to degree 8 (truncation 1.4e-18 relative), and
   the table entries' rounding corrected: within about 0.6 ulp rather than 1.1, for the
   tails of cross-entropy losses near 0. */
XM512_INLINE __m512d xm512_exp_core16(__m512d r, __m512i n)
{
    __m512d scale = xm512_exp2_16(n);
    __m512d g = _mm512_set1_pd(1.0 / 40320.0);
    g = _mm512_fmadd_pd(g, r, _mm512_set1_pd(1.0 / 5040.0));
    g = _mm512_fmadd_pd(g, r, _mm512_set1_pd(1.0 / 720.0));
    g = _mm512_fmadd_pd(g, r, _mm512_set1_pd(1.0 / 120.0));
    g = _mm512_fmadd_pd(g, r, _mm512_set1_pd(1.0 / 24.0));
    g = _mm512_fmadd_pd(g, r, _mm512_set1_pd(1.0 / 6.0));
    g = _mm512_fmadd_pd(g, r, _mm512_set1_pd(0.5));
    __m512d q = _mm512_fmadd_pd(_mm512_mul_pd(r, r), g, r);
    /* tab (1 + err) (1 + q) = tab (1 + (q + err (1 + q))), err (1 + q) ~ err */
    q = _mm512_add_pd(q, xm512_exp2_16_err(n));
    return _mm512_fmadd_pd(scale, q, scale);
}

/* xm512_exp_core16 to float32 accuracy (the results of float32 inputs): exp(r) - 1 of
   degree 4 fitted for minimal relative error on |r| <= ln2 / 16 as in
   src/fit_exp_coefficients.py (1.7e-10 relative), the table entries as they are. */
XM512_INLINE __m512d xm512_exp_core16_f32acc(__m512d r, __m512i n)
{
    __m512d scale = xm512_exp2_16(n);
    __m512d g = _mm512_set1_pd(0x1.554841febee94p-5);
    g = _mm512_fmadd_pd(g, r, _mm512_set1_pd(0x1.555c75aa77e3cp-3));
    g = _mm512_fmadd_pd(g, r, _mm512_set1_pd(0x1.0000006d89947p-1));
    __m512d q = _mm512_fmadd_pd(_mm512_mul_pd(r, r), g, r);
    return _mm512_fmadd_pd(scale, q, scale);
}

/* exp(t + tl), tl the low part of an exact difference (|tl| <= ulp(t) / 2; ignored where
   t < -708, where it may be NaN: the TwoSum of -inf). */
XM512_INLINE __m512d xm512_exp_sum2(__m512d t, __m512d tl)
{
    const __m512d lo = _mm512_set1_pd(-708.0);
    const __m512d shift = _mm512_set1_pd(XM_SHIFT);
    /* t < lo ? lo : t, NaN kept */
    __mmask8 below = _mm512_cmp_pd_mask(t, lo, _CMP_LT_OQ);
    __m512d tc = _mm512_mask_blend_pd(below, t, lo);
    tl = _mm512_mask_blend_pd(below, tl, _mm512_setzero_pd());
    __m512d kd = _mm512_fmadd_pd(tc, _mm512_set1_pd(16.0 * XM_LOG2E), shift);
    __m512d n = _mm512_sub_pd(kd, shift);
    __m512d r = _mm512_fnmadd_pd(n, _mm512_set1_pd(XM512_LN2_16_HI), tc);
    r = _mm512_add_pd(_mm512_fnmadd_pd(n, _mm512_set1_pd(XM512_LN2_16_LO), r), tl);
    /* kd's low bits hold n (the shift's are zero) */
    __m512d v = xm512_exp_core(r, _mm512_castpd_si512(kd));
    return _mm512_maskz_mov_pd((__mmask8)~below, v);
}

XM512_INLINE __m512d xm512_exp_sum(__m512d t)
{
    return xm512_exp_sum2(t, _mm512_setzero_pd());
}

/* The lanes of a vector at j that are below n (all 8, the row's last few, or none). */
XM512_INLINE __mmask8 xm512_lanes_left(ptrdiff_t j, ptrdiff_t n)
{
    ptrdiff_t left = n - j;
    return left >= 8 ? (__mmask8)0xff : left <= 0 ? 0 : (__mmask8)((1u << left) - 1u);
}

/* The same for a vector of 16 floats. */
XM512_INLINE __mmask16 xm512_lanes_left16(ptrdiff_t j, ptrdiff_t n)
{
    ptrdiff_t left = n - j;
    return left >= 16 ? (__mmask16)0xffff : left <= 0 ? 0 : (__mmask16)((1u << left) - 1u);
}

/* The class codes y[i .. i + 8) in the lanes k as int64 (y: int32 if code32, else int64),
   the others 0. */
XM512_INLINE __m512i xm512_load_codes8(const void *y, int code32, ptrdiff_t i, __mmask8 k)
{
    return code32 ? _mm512_cvtepi32_epi64(_mm256_maskz_loadu_epi32(k, (const int32_t *)y + i))
                  : _mm512_maskz_loadu_epi64(k, (const int64_t *)y + i);
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

/* The max of x[0..n) (NaN ignored; -inf for n == 0), in four independent chains: one chain
   is bound by the max's latency on blocks that are in L1. */
#define XM512_MAX(NAME, T, VT, SET1, LOADU, MASKLOAD, MAXV, REDUCE, LANES, MASKT)           \
    XM512_FUNC double NAME(const T *x, ptrdiff_t n)                                         \
    {                                                                                       \
        const VT lo = SET1(-XM_INF);                                                        \
        VT m0 = lo, m1 = lo, m2 = lo, m3 = lo;                                              \
        ptrdiff_t j = 0;                                                                    \
        for (; j + 4 * LANES <= n; j += 4 * LANES) {                                        \
            m0 = MAXV(LOADU(x + j), m0);                                                    \
            m1 = MAXV(LOADU(x + j + LANES), m1);                                            \
            m2 = MAXV(LOADU(x + j + 2 * LANES), m2);                                        \
            m3 = MAXV(LOADU(x + j + 3 * LANES), m3);                                        \
        }                                                                                   \
        for (; j < n; j += LANES) {                                                         \
            ptrdiff_t left = n - j;                                                         \
            MASKT k = left >= LANES ? (MASKT)~(MASKT)0 : (MASKT)((1u << left) - 1u);         \
            m0 = MAXV(MASKLOAD(lo, k, x + j), m0);                                          \
        }                                                                                   \
        return (double)REDUCE(MAXV(MAXV(m0, m1), MAXV(m2, m3)));                            \
    }
/* vmaxpd(a, b) returns b where a is NaN: the element comes first */
XM512_MAX(xm512_max_f64, double, __m512d, _mm512_set1_pd, _mm512_loadu_pd,
          _mm512_mask_loadu_pd, _mm512_max_pd, _mm512_reduce_max_pd, 8, __mmask8)
XM512_MAX(xm512_max_f32, float, __m512, _mm512_set1_ps, _mm512_loadu_ps,
          _mm512_mask_loadu_ps, _mm512_max_ps, _mm512_reduce_max_ps, 16, __mmask16)
#undef XM512_MAX

/* The indices i < n with flag[i] != 0, in increasing order, into idx (room for n + 16);
   returns their number.  16 flags per compress instead of a branch per flag; the compress
   is into a register, then a full store (compress-store to memory is microcoded on AMD). */
XM512_FUNC ptrdiff_t xm512_flagged_indices(const int *flag, ptrdiff_t n, int *idx)
{
    const __m512i step = _mm512_set1_epi32(16);
    __m512i iota = _mm512_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15);
    ptrdiff_t nr = 0;
    for (ptrdiff_t i = 0; i < n; i += 16) {
        ptrdiff_t left = n - i;
        __mmask16 k = left >= 16 ? (__mmask16)0xffff : (__mmask16)((1u << left) - 1u);
        __m512i f = _mm512_maskz_loadu_epi32(k, flag + i);
        __mmask16 b = _mm512_mask_test_epi32_mask(k, f, f);
        _mm512_storeu_si512(idx + nr, _mm512_maskz_compress_epi32(b, iota));
        nr += __builtin_popcount((unsigned)b);
        iota = _mm512_add_epi32(iota, step);
    }
    return nr;
}

/* The reduction of the offset exponentials: v = (n + r / (ln2 / 16)) ln2 / 16 (Cody-Waite,
   exact for |v| <= 2^15 + 708), r returned and n - nM in *idx, kiM the bits of nM + XM_SHIFT. */
XM512_INLINE __m512d xm512_reduce_offset(__m512d v, __m512i kiM, __m512i *idx)
{
    const __m512d shift = _mm512_set1_pd(XM_SHIFT);
    __m512d kd = _mm512_fmadd_pd(v, _mm512_set1_pd(16.0 * XM_LOG2E), shift);
    __m512d nd = _mm512_sub_pd(kd, shift);
    __m512d r = _mm512_fnmadd_pd(nd, _mm512_set1_pd(XM512_LN2_16_HI), v);
    *idx = _mm512_sub_epi64(_mm512_castpd_si512(kd), kiM);
    return _mm512_fnmadd_pd(nd, _mm512_set1_pd(XM512_LN2_16_LO), r);
}

/* exp(v - nM ln2 / 16), 0 for v < lo (-inf included), NaN for NaN */
XM512_INLINE __m512d xm512_exp_offset(__m512d v, __m512i kiM, __m512d lo)
{
    __m512i idx;
    __m512d r = xm512_reduce_offset(v, kiM, &idx);
    __mmask8 keep = _mm512_cmp_pd_mask(v, lo, _CMP_NLT_UQ);          /* NaN kept */
    return _mm512_maskz_mov_pd(keep, xm512_exp_core(r, idx));
}

/*
 * e[k] = exp(x[k] - nM ln2 / 16) for k < n, where kdM = nM + XM_SHIFT (the shift of a
 * chunk-flat block: nM = round(16 M / ln2) for the block's max M, |M| <= XENTC_OFFSET_MAX):
 * each x is reduced on its own, x = (n + nM) ln2 / 16 + r, so no difference x - M is formed
 * (exact for any x, with no TwoSum) and the table index is an integer subtraction.  Terms
 * with x < M - 708 are flushed to 0 (and -inf gives 0, NaN gives NaN): the others are normal.
 * Prefetches the npf elements at pf, one line per vector.
 */
XM512_FUNC void xm512_exp_offset_f64(const double *x, ptrdiff_t n, double kdM, double M,
                                     double *e, const double *pf, ptrdiff_t npf)
{
    const __m512d lo = _mm512_set1_pd(M - 708.0);
    const __m512i kiM = _mm512_castpd_si512(_mm512_set1_pd(kdM));
    for (ptrdiff_t j = 0; j < n; j += 8) {
        if (j < npf)
            _mm_prefetch((const char *)(pf + j), _MM_HINT_T0);
        __mmask8 k = xm512_lanes_left(j, n);
        __m512d v = _mm512_maskz_loadu_pd(k, x + j);
        _mm512_mask_storeu_pd(e + j, k, xm512_exp_offset(v, kiM, lo));
    }
}

/* xm512_exp_offset with the table entries' rounding corrected (as xm512_exp_core16): within
   about 0.6 ulp, for softmax outputs. */
XM512_INLINE __m512d xm512_exp_offset_acc(__m512d v, __m512i kiM, __m512d lo)
{
    __m512i idx;
    __m512d r = xm512_reduce_offset(v, kiM, &idx);
    __mmask8 keep = _mm512_cmp_pd_mask(v, lo, _CMP_NLT_UQ);          /* NaN kept */
    __m512d scale = xm512_exp2_16(idx);
    __m512d q = _mm512_add_pd(xm512_expm1_32(r), xm512_exp2_16_err(idx));
    return _mm512_maskz_fmadd_pd(keep, scale, q, scale);
}

/* The same for float data, to float accuracy (relative error 4e-11: the double sum of such
   terms is for a float result): one-step reduction, a degree-2 g. */
XM512_INLINE __m512d xm512_exp_offset_f32acc(__m512d v, __m512i kiM, __m512d lo)
{
    const __m512d shift = _mm512_set1_pd(XM_SHIFT);
    __m512d kd = _mm512_fmadd_pd(v, _mm512_set1_pd(16.0 * XM_LOG2E), shift);
    __m512d nd = _mm512_sub_pd(kd, shift);
    __m512d r = _mm512_fnmadd_pd(nd, _mm512_set1_pd(XM_LN2 / 16.0), v);
    __m512i idx = _mm512_sub_epi64(_mm512_castpd_si512(kd), kiM);
    __m512d scale = xm512_exp2_16(idx);
    __m512d g = _mm512_fmadd_pd(_mm512_set1_pd(1.0 / 24.0), r, _mm512_set1_pd(1.0 / 6.0));
    g = _mm512_fmadd_pd(g, r, _mm512_set1_pd(0.5));
    __m512d q = _mm512_fmadd_pd(_mm512_mul_pd(r, r), g, r);
    __mmask8 keep = _mm512_cmp_pd_mask(v, lo, _CMP_NLT_UQ);          /* NaN kept */
    return _mm512_maskz_fmadd_pd(keep, scale, q, scale);
}

/* The sum of exp(x[j] - nM ln2 / 16) over j < n, reduced as xm512_exp_offset_f64 (terms
   with x < M - 708 flushed; NaN poisons the sum): one long row's shifted sum. */
XM512_FUNC double xm512_sum_exp_offset_f64(const double *x, ptrdiff_t n, double kdM, double M)
{
    const __m512d lo = _mm512_set1_pd(M - 708.0);
    const __m512i kiM = _mm512_castpd_si512(_mm512_set1_pd(kdM));
    __m512d acc[2] = {_mm512_setzero_pd(), _mm512_setzero_pd()};
    for (ptrdiff_t j = 0; j < n; j += 8) {
        /* masked-off lanes load -inf, which the exponential flushes to 0 */
        __m512d v = _mm512_mask_loadu_pd(_mm512_set1_pd(-XM_INF), xm512_lanes_left(j, n), x + j);
        __m512d *a = &acc[(j >> 3) & 1];
        *a = _mm512_add_pd(*a, xm512_exp_offset(v, kiM, lo));
    }
    return _mm512_reduce_add_pd(_mm512_add_pd(acc[0], acc[1]));
}

/* The same for float data, to float accuracy. */
XM512_FUNC double xm512_sum_exp_offset_f32(const float *x, ptrdiff_t n, double kdM, double M)
{
    const __m512d lo = _mm512_set1_pd(M - 708.0);
    const __m512i kiM = _mm512_castpd_si512(_mm512_set1_pd(kdM));
    __m512d a0 = _mm512_setzero_pd(), a1 = _mm512_setzero_pd();
    for (ptrdiff_t j = 0; j < n; j += 16) {
        ptrdiff_t left = n - j;
        __mmask16 k = left >= 16 ? (__mmask16)0xffff : (__mmask16)((1u << left) - 1u);
        /* masked-off lanes load -inf, which the exponential flushes to 0 */
        __m512 v = _mm512_mask_loadu_ps(_mm512_set1_ps(-XM_INF), k, x + j);
        a0 = _mm512_add_pd(a0, xm512_exp_offset_f32acc(
                                   _mm512_cvtps_pd(_mm512_castps512_ps256(v)), kiM, lo));
        a1 = _mm512_add_pd(a1, xm512_exp_offset_f32acc(
                                   _mm512_cvtps_pd(_mm512_extractf32x8_ps(v, 1)), kiM, lo));
    }
    return _mm512_reduce_add_pd(_mm512_add_pd(a0, a1));
}

/*
 * The same sum with float-native exponentials, 16 lanes (half the operations of the double
 * lanes above), for the long rows of float32 log-sum-exp, whose results are redone with
 * xm512_sum_exp_offset_f32 below XM512_NATIVE_TINY in magnitude.  exp(v - nM ln2 / 16) =
 * 2^((n - nM) / 16) exp(r): n = round(16 v / ln2) from the float shift 1.5 * 2^23 (|n| <
 * 2^22 for |v| <= 2^15 + 87; the bits of the shifted n, less kiM, the bits of the shifted nM,
 * are n - nM), r = v - n ln2 / 16 in two steps (|r| <= 0.0232: the float constant 16 / ln2
 * adds up to 1.4e-3 at |v| = 2^15), exp(r) - 1 = r + r^2 (c2 + c3 r) (relative error
 * 0.04 * 2^-24, fitted as in src/fit_exp_coefficients.py), the table of 2^(i / 16) rounded
 * to float (0.8 * 2^-24): with the last multiply-add's rounding, each term is within
 * 1.9 * 2^-24 relative.  Terms below lo = M - 87 (-inf included) are 0, the others at
 * least 2^-127 (a term of a sum that is near 1, or redone if the sum is small).
 */
XM512_INLINE __m512 xm512_exp_offset_ps(__m512 v, __m512i kiM, __m512 lo, const int corrected)
{
    const __m512 tab = _mm512_setr_ps(
        0x1.000000p+0f, 0x1.0b5586p+0f, 0x1.172b84p+0f, 0x1.2387a6p+0f, 0x1.306fe0p+0f,
        0x1.3dea64p+0f, 0x1.4bfdaep+0f, 0x1.5ab07ep+0f, 0x1.6a09e6p+0f, 0x1.7a1148p+0f,
        0x1.8ace54p+0f, 0x1.9c4918p+0f, 0x1.ae89fap+0f, 0x1.c199bep+0f, 0x1.d5818ep+0f,
        0x1.ea4afap+0f);
    const __m512 shift = _mm512_set1_ps(0x1.8p23f);
    __m512 kd = _mm512_fmadd_ps(v, _mm512_set1_ps(0x1.715476p+4f), shift);
    __m512 nd = _mm512_sub_ps(kd, shift);
    __m512 r = _mm512_fnmadd_ps(nd, _mm512_set1_ps(0x1.62e430p-5f), v);
    r = _mm512_fnmadd_ps(nd, _mm512_set1_ps(-0x1.05c610p-33f), r);
    __m512i idx = _mm512_sub_epi32(_mm512_castps_si512(kd), kiM);
    __m512i k23 = _mm512_slli_epi32(_mm512_srai_epi32(idx, 4), 23);
    __m512 scale = _mm512_castsi512_ps(
        _mm512_add_epi32(_mm512_castps_si512(_mm512_permutexvar_ps(idx, tab)), k23));
    __m512 g = _mm512_fmadd_ps(r, _mm512_set1_ps(0x1.555664p-3f), _mm512_set1_ps(0x1.000270p-1f));
    __m512 q = _mm512_fmadd_ps(_mm512_mul_ps(r, r), g, r);
    if (corrected) {
        /* tab (1 + err) (1 + q) = tab (1 + (q + err (1 + q))), err (1 + q) ~ err */
        const __m512 err = _mm512_setr_ps(
            0.0f, 0x1.8d96d4p-25f, -0x1.9c0c22p-27f, 0x1.964904p-25f, 0x1.125002p-25f,
            0x1.370be4p-25f, -0x1.0a3550p-25f, -0x1.00d8acp-27f, 0x1.26055cp-26f,
            -0x1.05cb44p-25f, 0x1.67a1cap-28f, 0x1.a3b5e4p-28f, -0x1.f9c304p-27f,
            -0x1.6961b4p-28f, -0x1.a5217cp-28f, 0x1.61428ep-28f);
        q = _mm512_add_ps(q, _mm512_permutexvar_ps(idx, err));
    }
    __mmask16 keep = _mm512_cmp_ps_mask(v, lo, _CMP_NLT_UQ);          /* NaN kept */
    return _mm512_maskz_fmadd_ps(keep, scale, q, scale);
}

/* Results of xm512_sum_exp_offset_f32n's sums smaller than this in magnitude are redone: its
   terms and their pairwise float sums are within 2.9 * 2^-24 relative, so a result of
   magnitude >= 4 is within half a float ulp (4 * 2^-24) before its rounding to float. */
#define XM512_NATIVE_TINY 4.0

XM512_FUNC double xm512_sum_exp_offset_f32n(const float *x, ptrdiff_t n, double kdM, double M)
{
    const __m512 lo = _mm512_set1_ps((float)(M - 87.0));
    const __m512i kiM = _mm512_set1_epi32(
        (int)xm_asu32(0x1.8p23f + (float)(kdM - XM_SHIFT)));
    const __m512 ninf = _mm512_set1_ps(-XM_INF);
    __m512d a0 = _mm512_setzero_pd(), a1 = _mm512_setzero_pd();
    for (ptrdiff_t j = 0; j < n; j += 32) {
        /* masked-off lanes load -inf, which the exponential flushes to 0 */
        __m512 v0 = _mm512_mask_loadu_ps(ninf, xm512_lanes_left16(j, n), x + j);
        __m512 v1 = _mm512_mask_loadu_ps(ninf, xm512_lanes_left16(j + 16, n), x + j + 16);
        __m512 e = _mm512_add_ps(xm512_exp_offset_ps(v0, kiM, lo, 0),
                                 xm512_exp_offset_ps(v1, kiM, lo, 0));
        a0 = _mm512_add_pd(a0, _mm512_cvtps_pd(_mm512_castps512_ps256(e)));
        a1 = _mm512_add_pd(a1, _mm512_cvtps_pd(_mm512_extractf32x8_ps(e, 1)));
    }
    return _mm512_reduce_add_pd(_mm512_add_pd(a0, a1));
}

/*
 * e[k] = exp(x[k] - nM ln2 / 16) for k < n as floats, for the chunk-flat blocks of float32
 * log-sum-exp: xm512_exp_offset_ps with the table's rounding corrected, each term within
 * 1.12 * 2^-24 relative; terms below M - 87 are 0 (a row whose sum is below 2^-90 is
 * redone: flushed terms could matter).  Prefetches the npf elements at pf.
 */
/* Results from xm512_exp_offset_f32n's terms smaller than this in magnitude are redone: the
   terms (1.12 * 2^-24), their double row sums and the float-accuracy log (0.1 * 2^-24) put a
   result of magnitude >= 2 within half a float ulp (2 * 2^-24) before its rounding. */
#define XM512_NATIVE_FLAT_TINY 2.0

XM512_FUNC void xm512_exp_offset_f32n(const float *x, ptrdiff_t n, double kdM, double M,
                                      float *e, const float *pf, ptrdiff_t npf)
{
    const __m512 lo = _mm512_set1_ps((float)(M - 87.0));
    const __m512i kiM = _mm512_set1_epi32(
        (int)xm_asu32(0x1.8p23f + (float)(kdM - XM_SHIFT)));
    for (ptrdiff_t j = 0; j < n; j += 16) {
        if (j < npf)
            _mm_prefetch((const char *)(pf + j), _MM_HINT_T0);
        __mmask16 k = xm512_lanes_left16(j, n);
        __m512 v = _mm512_maskz_loadu_ps(k, x + j);
        _mm512_mask_storeu_ps(e + j, k, xm512_exp_offset_ps(v, kiM, lo, 1));
    }
}

/* exp(t) for -708 <= t <= 0 or NaN, to float accuracy (the reduction of
   xm512_exp_offset_f32acc, the polynomial of xm512_exp_core16_f32acc); other lanes are
   garbage. */
XM512_INLINE __m512d xm512_exp_f32acc_raw(__m512d t)
{
    const __m512d shift = _mm512_set1_pd(XM_SHIFT);
    __m512d kd = _mm512_fmadd_pd(t, _mm512_set1_pd(16.0 * XM_LOG2E), shift);
    __m512d r = _mm512_fnmadd_pd(_mm512_sub_pd(kd, shift), _mm512_set1_pd(XM_LN2 / 16.0), t);
    return xm512_exp_core16_f32acc(r, _mm512_castpd_si512(kd));
}

/* The same for t <= 0, -inf or NaN: 0 below -708. */
XM512_INLINE __m512d xm512_exp_f32acc(__m512d t)
{
    __mmask8 keep = _mm512_cmp_pd_mask(t, _mm512_set1_pd(-708.0), _CMP_NLT_UQ);   /* NaN kept */
    return _mm512_maskz_mov_pd(keep, xm512_exp_f32acc_raw(t));
}

/*
 * xm512_sum_exp_below for float data, m finite and >= every x[j]: the terms exp(x - m) to
 * float accuracy (x - m is exact in double), the maxima counted apart in *cnt -- the tail is
 * the output of a row dominated by its max (log_softmax's largest value, a confident row's
 * cross-entropy), so the 1s must not round its low bits away.
 */
XM512_FUNC double xm512_sum_exp_below_f32(const float *x, ptrdiff_t n, double m, double *cnt)
{
    const __m512d nm = _mm512_set1_pd(-m);
    const __m512 vm = _mm512_set1_ps((float)m);
    __m512d a0 = _mm512_setzero_pd(), a1 = _mm512_setzero_pd();
    ptrdiff_t tops = 0;
    for (ptrdiff_t j = 0; j < n; j += 16) {
        __mmask16 k = xm512_lanes_left16(j, n);
        __m512 v = _mm512_maskz_loadu_ps(k, x + j);
        __mmask16 b = _mm512_mask_cmp_ps_mask(k, v, vm, _CMP_NEQ_UQ);
        __m512d lo = _mm512_add_pd(_mm512_cvtps_pd(_mm512_castps512_ps256(v)), nm);
        __m512d hi = _mm512_add_pd(_mm512_cvtps_pd(_mm512_extractf32x8_ps(v, 1)), nm);
        a0 = _mm512_mask_add_pd(a0, (__mmask8)b, a0, xm512_exp_f32acc(lo));
        a1 = _mm512_mask_add_pd(a1, (__mmask8)(b >> 8), a1, xm512_exp_f32acc(hi));
        tops += __builtin_popcount((unsigned)k) - __builtin_popcount((unsigned)b);
    }
    *cnt = (double)tops;
    return _mm512_reduce_add_pd(_mm512_add_pd(a0, a1));
}

/*
 * log(u) for u positive, normal and finite, to float accuracy (relative error < 2^-33.8
 * measured against logl on 16M points): for the log_loss of float32 probabilities, the
 * AVX-512 form of xm_log_f32acc (13 vector operations instead of 22).  u = 2^e m with m in
 * [0.75, 1.5) (vgetmantpd, vgetexppd), and m = c (1 + r) with 1 / c and log(c) looked up in
 * 16-entry tables (vpermt2pd) by the top 4 bits of m's fraction: slices of [1, 1.5) of width
 * 1/16 (indices 0-7) and of [0.75, 1) of width 1/32 (8-15), c their midpoints except c = 1
 * on the two slices around 1 (no cancellation in log(c) + log1p(r) as u -> 1).  So
 * |r| <= 1/32, and r < 1/16 where c = 1; log1p(r) = r Q(r), Q of degree 5 interpolating
 * log1p(r) / r at the Chebyshev nodes of [-1/32, 1/16] (relative error 6.4e-11).  The
 * entries of [0.75, 1) hold log(c) + ln2: for m < 1, u = 2^(e + 1) m.
 */
XM512_INLINE __m512d xm512_log_f32acc(__m512d u)
{
    const __m512d inv_a = _mm512_setr_pd(
        0x1.0000000000000p+0, 0x1.d41d41d41d41dp-1, 0x1.bacf914c1bad0p-1, 0x1.a41a41a41a41ap-1,
        0x1.8f9c18f9c18fap-1, 0x1.7d05f417d05f4p-1, 0x1.6c16c16c16c17p-1, 0x1.5c9882b931057p-1);
    const __m512d inv_b = _mm512_setr_pd(
        0x1.4e5e0a72f0539p+0, 0x1.4141414141414p+0, 0x1.3521cfb2b78c1p+0, 0x1.29e4129e4129ep+0,
        0x1.1f7047dc11f70p+0, 0x1.15b1e5f75270dp+0, 0x1.0c9714fbcda3bp+0, 0x1.0000000000000p+0);
    const __m512d log_a = _mm512_setr_pd(
        0x0.0p+0, 0x1.6f0d28ae56b4ep-4, 0x1.29552f81ff521p-3, 0x1.9525a9cf456b6p-3,
        0x1.fb9186d5e3e29p-3, 0x1.2e8e2bae11d31p-2, 0x1.5d1bdbf5809cap-2, 0x1.89a3386c1425bp-2);
    const __m512d log_b = _mm512_setr_pd(
        0x1.b44f77bcc8f64p-2, 0x1.dd46a04c1c4a1p-2, 0x1.02552a5a5d0ffp-1, 0x1.154c3d2f4d5eap-1,
        0x1.2795e1289b11bp-1, 0x1.393e0d3562a1ap-1, 0x1.4a4f85db03ebbp-1, 0x1.62e42fefa39efp-1);
    __m512d e = _mm512_getexp_pd(u);
    __m512d m = _mm512_getmant_pd(u, _MM_MANT_NORM_p75_1p5, _MM_MANT_SIGN_src);
    /* the table index: bits 51..48 of m (vpermt2pd reads the low 4 bits of each lane) */
    __m512i i = _mm512_srli_epi64(_mm512_castpd_si512(m), 48);
    __m512d inv = _mm512_permutex2var_pd(inv_a, i, inv_b);
    __m512d lc = _mm512_permutex2var_pd(log_a, i, log_b);
    __m512d r = _mm512_fmsub_pd(m, inv, _mm512_set1_pd(1.0));
    __m512d q = _mm512_set1_pd(-0x1.3bed60f2074f7p-3);
    q = _mm512_fmadd_pd(q, r, _mm512_set1_pd(0x1.9988296cfb4b1p-3));
    q = _mm512_fmadd_pd(q, r, _mm512_set1_pd(-0x1.00048637bd834p-2));
    q = _mm512_fmadd_pd(q, r, _mm512_set1_pd(0x1.55555fd048b6bp-2));
    q = _mm512_fmadd_pd(q, r, _mm512_set1_pd(-0x1.ffffffa49cdcep-2));
    q = _mm512_fmadd_pd(q, r, _mm512_set1_pd(1.0));
    return _mm512_fmadd_pd(r, q, _mm512_fmadd_pd(e, _mm512_set1_pd(XM_LN2), lc));
}

/* The log_loss terms of float32 probabilities g (lanes k): -log(clip(g, lo, hi)), added
   to *s (times w where w is not NULL) and stored at loss where it is not NULL. */
XM512_INLINE void xm512_ll_terms_f32(__m512d g, __mmask8 k, const double *w, double *loss,
                                     __m512d lo, __m512d hi, __m512d *s)
{
    __m512d l = xm512_log_f32acc(_mm512_min_pd(_mm512_max_pd(g, lo), hi));
    if (loss)
        _mm512_mask_storeu_pd(loss, k, _mm512_sub_pd(_mm512_setzero_pd(), l));
    if (w)
        *s = _mm512_fnmadd_pd(_mm512_maskz_loadu_pd(k, w), l, *s);
    else
        *s = _mm512_mask_sub_pd(*s, k, *s, l);
}

XM512_INLINE __m512d xm512_log_dd(__m512d u, __m512d d, __m512d *lo);   /* defined below */

/*
 * The sum of log_loss terms, taken 16 at a time.  Unweighted and without the rows' losses
 * (prod), the terms are not needed one by one: their sum is -log of the product of the
 * clipped probabilities, kept per lane as 2^pe pr with pr in [1, 2) (pr times two
 * probabilities, at least lo^2, stays normal), and one log per lane is taken at the end
 * instead of one per row (of pr in [0.75, 1.5), so that a product near 1 has pe = 0).  For
 * float32 probabilities the logs are to float accuracy, and the products' relative
 * rounding error, 2^-53 a factor, adds at most about 2^-53 to the sum per row: far below
 * float32's resolution.  For float64 ones (dd: product form only)
 * that would be a relative error of 2^-53 / (the mean term), large when the probabilities
 * are near 1: there the products' rounding errors, exact by FMA, are kept apart (c, as
 * their ratio to the product, log(t + e) = log(t) + e / t to 2^-105), and the lanes' logs
 * are double-double; the sum is then as accurate as one of per-row logs.  (The weighted
 * sums and the rows' losses of float64 input are left to the per-row loop of
 * xentc_logloss_impl.h.)
 */
typedef struct {
    __m512d s, pr, pe, c;
    int prod, dd;
} xm512_ll_acc;

XM512_INLINE xm512_ll_acc xm512_ll_acc_init(const double *w, const double *loss, double lo,
                                            int dd)
{
    xm512_ll_acc a;
    a.s = _mm512_setzero_pd();
    a.pr = _mm512_set1_pd(1.0);
    a.pe = _mm512_setzero_pd();
    a.c = _mm512_setzero_pd();
    a.prod = w == NULL && loss == NULL && lo >= 0x1p-511;
    a.dd = dd;
    return a;
}

/* Rows 0-7 (lanes k_lo of g_lo) and 8-15 (k_hi of g_hi), in that order; w and loss as in
   xm512_ll_terms_f32 (16 rows). */
XM512_INLINE void xm512_ll_acc_add16(xm512_ll_acc *a, __m512d g_lo, __mmask8 k_lo,
                                     __m512d g_hi, __mmask8 k_hi, const double *w,
                                     double *loss, __m512d lo, __m512d hi)
{
    if (a->prod) {
        const __m512d one = _mm512_set1_pd(1.0);
        __m512d q_lo = _mm512_min_pd(_mm512_max_pd(g_lo, lo), hi);
        __m512d q_hi = _mm512_min_pd(_mm512_max_pd(g_hi, lo), hi);
        q_lo = _mm512_mask_blend_pd(k_lo, one, q_lo);
        q_hi = _mm512_mask_blend_pd(k_hi, one, q_hi);
        __m512d u = _mm512_mul_pd(q_lo, q_hi);
        __m512d t = _mm512_mul_pd(a->pr, u);
        if (a->dd) {   /* pr q_lo q_hi = t + e: e = (pr u - t) + pr (q_lo q_hi - u) */
            __m512d e = _mm512_fmadd_pd(a->pr, _mm512_fmsub_pd(q_lo, q_hi, u),
                                        _mm512_fmsub_pd(a->pr, u, t));
            a->c = _mm512_fmadd_pd(e, _mm512_rcp14_pd(t), a->c);
        }
        a->pe = _mm512_add_pd(a->pe, _mm512_getexp_pd(t));
        a->pr = _mm512_getmant_pd(t, _MM_MANT_NORM_1_2, _MM_MANT_SIGN_src);
        return;
    }
    xm512_ll_terms_f32(g_lo, k_lo, w, loss, lo, hi, &a->s);
    if (k_hi)
        xm512_ll_terms_f32(g_hi, k_hi, w ? w + 8 : NULL, loss ? loss + 8 : NULL, lo, hi, &a->s);
}

XM512_INLINE double xm512_ll_acc_total(const xm512_ll_acc *a)
{
    if (!a->prod)
        return _mm512_reduce_add_pd(a->s);
    /* pr in [0.75, 1.5): a product near 1 (probabilities near 1) keeps pe = 0, and so the
       relative accuracy of its log; elsewhere |pe ln2| > |log pr| */
    const __mmask8 big = _mm512_cmp_pd_mask(a->pr, _mm512_set1_pd(1.5), _CMP_GE_OQ);
    const __m512d pr = _mm512_mask_mul_pd(a->pr, big, a->pr, _mm512_set1_pd(0.5));
    const __m512d pe = _mm512_mask_add_pd(a->pe, big, a->pe, _mm512_set1_pd(1.0));
    __m512d l;
    if (a->dd) {
        __m512d l_lo;
        __m512d l_hi = xm512_log_dd(pr, _mm512_setzero_pd(), &l_lo);
        l = _mm512_add_pd(l_hi, _mm512_add_pd(l_lo, a->c));
    } else {
        l = xm512_log_f32acc(pr);
    }
    return -_mm512_reduce_add_pd(_mm512_fmadd_pd(pe, _mm512_set1_pd(XM_LN2), l));
}

/* xentc_logloss_impl.h's ll_block_loss for the gathered probabilities g[0 .. n) of float32
   input (w, loss: NULL or n), and (dd) the unweighted sum alone of float64 input. */
XM512_INLINE double xm512_ll_block_loss(const double *g, const double *w, double *loss,
                                        ptrdiff_t n, double lo, double hi, int dd)
{
    const __m512d vlo = _mm512_set1_pd(lo), vhi = _mm512_set1_pd(hi);
    xm512_ll_acc a = xm512_ll_acc_init(w, loss, lo, dd);
    for (ptrdiff_t j = 0; j < n; j += 16) {
        __mmask8 k_lo = xm512_lanes_left(j, n), k_hi = xm512_lanes_left(j + 8, n);
        xm512_ll_acc_add16(&a, _mm512_maskz_loadu_pd(k_lo, g + j), k_lo,
                           _mm512_maskz_loadu_pd(k_hi, g + j + 8), k_hi, w ? w + j : NULL,
                           loss ? loss + j : NULL, vlo, vhi);
    }
    return xm512_ll_acc_total(&a);
}

XM512_FUNC double xm512_ll_block_loss_f32(const double *g, const double *w, double *loss,
                                          ptrdiff_t n, double lo, double hi)
{
    return xm512_ll_block_loss(g, w, loss, n, lo, hi, 0);
}

/* (lo >= 2^-511) */
XM512_FUNC double xm512_ll_prod_loss_f64(const double *g, ptrdiff_t n, double lo, double hi)
{
    return xm512_ll_block_loss(g, NULL, NULL, n, lo, hi, 1);
}

/* xentc_logloss_impl.h's ll_binary_block for contiguous float32 probabilities p[0..n) of
   the second class and codes y (int32 if code32, else int64). */
XM512_FUNC double xm512_ll_binary_f32(const float *p, const void *y, int code32,
                                      const double *w, double *loss, ptrdiff_t n, double lo,
                                      double hi, uint32_t *vmax, uint64_t *cmax)
{
    const __m512d vlo = _mm512_set1_pd(lo), vhi = _mm512_set1_pd(hi);
    const __m512d one = _mm512_set1_pd(1.0);
    xm512_ll_acc a = xm512_ll_acc_init(w, loss, lo, 0);
    __m256i vm = _mm256_setzero_si256();
    __m512i cm = _mm512_setzero_si512();
    for (ptrdiff_t j = 0; j < n; j += 16) {
        __m512d g[2];
        __mmask8 k[2];
        for (int h = 0; h < 2; h++) {
            const ptrdiff_t i = j + 8 * h;
            k[h] = xm512_lanes_left(i, n);
            __m256 pf = _mm256_maskz_loadu_ps(k[h], p + i);
            vm = _mm256_max_epu32(vm, _mm256_castps_si256(pf));
            __m512i c = xm512_load_codes8(y, code32, i, k[h]);
            cm = _mm512_max_epu64(cm, c);
            __m512d v = _mm512_cvtps_pd(pf);
            /* 1 - v (exact) for code 0 */
            g[h] = _mm512_mask_sub_pd(v, _mm512_testn_epi64_mask(c, c), one, v);
        }
        xm512_ll_acc_add16(&a, g[0], k[0], g[1], k[1], w ? w + j : NULL,
                           loss ? loss + j : NULL, vlo, vhi);
    }
    *vmax = _mm512_reduce_max_epu32(_mm512_zextsi256_si512(vm));
    *cmax = _mm512_reduce_max_epu64(cm);
    return xm512_ll_acc_total(&a);
}

/* The float sums of 16 vectors' lanes: lane r of the result is the sum of v[r]'s lanes
   (a tree of 45 operations: pairs of rows, then quadruples, within 128-bit lanes, then
   across them). */
XM512_INLINE __m512 xm512_transpose_sums_ps(const __m512 *v)
{
    __m512 t[8], u[4], x[2];
    for (int i = 0; i < 8; i++)
        t[i] = _mm512_add_ps(_mm512_unpacklo_ps(v[2 * i], v[2 * i + 1]),
                             _mm512_unpackhi_ps(v[2 * i], v[2 * i + 1]));
    /* t[i]: each 128-bit lane holds two partial sums of row 2i and two of row 2i + 1 */
    for (int i = 0; i < 4; i++) {
        __m512d a = _mm512_castps_pd(t[2 * i]), b = _mm512_castps_pd(t[2 * i + 1]);
        u[i] = _mm512_add_ps(_mm512_castpd_ps(_mm512_unpacklo_pd(a, b)),
                             _mm512_castpd_ps(_mm512_unpackhi_pd(a, b)));
    }
    /* u[i]: each 128-bit lane q holds rows 4i .. 4i + 3 summed over the lane's columns */
    for (int i = 0; i < 2; i++)
        x[i] = _mm512_add_ps(_mm512_shuffle_f32x4(u[2 * i], u[2 * i + 1], 0x88),
                             _mm512_shuffle_f32x4(u[2 * i], u[2 * i + 1], 0xdd));
    /* x[i]: 128-bit lanes (rows 8i .. 8i + 3: q0 + q1, q2 + q3), (8i + 4 .. 8i + 7: same) */
    return _mm512_add_ps(_mm512_shuffle_f32x4(x[0], x[1], 0x88),
                         _mm512_shuffle_f32x4(x[0], x[1], 0xdd));
}

/*
 * log_loss's one pass over m <= 16 rows of n float32 probabilities (2 < n, row r at
 * p + r rs, contiguous; full = (n - 1) / 16), what xentc_logloss_impl.h does with a block
 * in one loop: each row is read once, in vectors of 16 (the last one masked) whose bits go
 * into *vm (the range check) and which are added lane-wise; xm512_transpose_sums_ps adds
 * each row's lanes.
 * Such a float sum goes through at most ceil(n / 16) + 3 rounded additions, so a row whose
 * distance d = |s - 1| is further than band (s + 1) from tol, band twice that many float
 * roundings, gets the same verdict as from a sum in double; the others (rare) are summed
 * again in double.  Rows off are added to *off.  With y (codes: int32 if code32, else
 * int64), the codes' maximum goes into *cm, the probabilities of the rows' classes are
 * gathered (column 0 for a code outside [0, n)) and their terms added to *a (as
 * xm512_ll_block_loss_f32 would add them).
 */
XM512_INLINE void xm512_ll_short_group_f32(const float *p, ptrdiff_t rs, ptrdiff_t n, int m,
                                           const void *y, int code32, const double *w,
                                           double *loss, __m512d lo, __m512d hi, double tol,
                                           double band_rel, ptrdiff_t full, __m512i *vm,
                                           __m512i *cm, double *off, xm512_ll_acc *a)
{
    const __mmask16 last = (__mmask16)((1u << (n - 16 * full)) - 1u);
    const __mmask16 rows = (__mmask16)((1u << m) - 1u);
    __m512 v[16];
    for (int r = 0; r < 16; r++) {
        const float *row = p + (r < m ? r : 0) * rs;
        /* in memory order (the last vector masked), which the prefetchers follow */
        __m512 x = r >= m ? _mm512_setzero_ps()
                   : full ? _mm512_loadu_ps(row) : _mm512_maskz_loadu_ps(last, row);
        *vm = _mm512_max_epu32(*vm, _mm512_castps_si512(x));
        if (full && r < m) {
            for (ptrdiff_t c = 1; c < full; c++) {
                __m512 z = _mm512_loadu_ps(row + 16 * c);
                *vm = _mm512_max_epu32(*vm, _mm512_castps_si512(z));
                x = _mm512_add_ps(x, z);
            }
            __m512 z = _mm512_maskz_loadu_ps(last, row + 16 * full);
            *vm = _mm512_max_epu32(*vm, _mm512_castps_si512(z));
            x = _mm512_add_ps(x, z);
        }
        v[r] = x;
    }
    __m512 sf = xm512_transpose_sums_ps(v);
    const __m512d one = _mm512_set1_pd(1.0), vtol = _mm512_set1_pd(tol);
    const __m512d band = _mm512_set1_pd(band_rel);
    unsigned off_rows = 0, unsure = 0;
    for (int h = 0; h < 2; h++) {
        __m512d sd = _mm512_cvtps_pd(h ? _mm512_extractf32x8_ps(sf, 1)
                                       : _mm512_castps512_ps256(sf));
        __m512d d = _mm512_abs_pd(_mm512_sub_pd(sd, one));
        /* not d <= tol, as in C (NaN: off) */
        off_rows |= (unsigned)_mm512_cmp_pd_mask(d, vtol, _CMP_NLE_UQ) << (8 * h);
        unsure |= (unsigned)_mm512_cmp_pd_mask(_mm512_abs_pd(_mm512_sub_pd(d, vtol)),
                                               _mm512_fmadd_pd(sd, band, band), _CMP_LE_OQ)
                  << (8 * h);
    }
    off_rows &= rows;
    unsure &= rows;
    while (unsure) {
        int r = __builtin_ctz(unsure);
        unsure &= unsure - 1;
        double t = 0.0;
        for (ptrdiff_t j = 0; j < n; j++)
            t += (double)p[r * rs + j];
        off_rows = __builtin_fabs(t - 1.0) <= tol ? off_rows & ~(1u << r) : off_rows | 1u << r;
    }
    *off += (double)__builtin_popcount(off_rows);
    if (y == NULL)
        return;
    __m512i c32;
    if (code32) {
        c32 = _mm512_maskz_loadu_epi32(rows, (const int32_t *)y);
        *cm = _mm512_max_epu32(*cm, c32);
        c32 = _mm512_maskz_mov_epi32(_mm512_cmplt_epu32_mask(c32, _mm512_set1_epi32((int)n)),
                                     c32);
    } else {
        __m512i c_lo = _mm512_maskz_loadu_epi64((__mmask8)rows, (const int64_t *)y);
        __m512i c_hi = _mm512_maskz_loadu_epi64((__mmask8)(rows >> 8), (const int64_t *)y + 8);
        *cm = _mm512_max_epu64(*cm, _mm512_max_epu64(c_lo, c_hi));
        const __m512i vn = _mm512_set1_epi64(n);
        c_lo = _mm512_maskz_mov_epi64(_mm512_cmplt_epu64_mask(c_lo, vn), c_lo);
        c_hi = _mm512_maskz_mov_epi64(_mm512_cmplt_epu64_mask(c_hi, vn), c_hi);
        c32 = _mm512_inserti64x4(_mm512_castsi256_si512(_mm512_cvtepi64_epi32(c_lo)),
                                 _mm512_cvtepi64_epi32(c_hi), 1);
    }
    const __m512i start = _mm512_mullo_epi32(
        _mm512_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15),
        _mm512_set1_epi32((int)rs));
    __m512 g = _mm512_mask_i32gather_ps(_mm512_set1_ps(1.0f), rows,
                                        _mm512_add_epi32(start, c32), p, 4);
    xm512_ll_acc_add16(a, _mm512_cvtps_pd(_mm512_castps512_ps256(g)), (__mmask8)rows,
                       _mm512_cvtps_pd(_mm512_extractf32x8_ps(g, 1)), (__mmask8)(rows >> 8),
                       w, loss, lo, hi);
}

/* log_loss's pass over nb rows of n float32 probabilities (2 < n <= XENTC_LL_FUSED_MAX,
   row k at p + k rs, contiguous; 15 rs + n < 2^31; full = (n - 1) / 16), 16 rows at a time
   (xm512_ll_short_group_f32), prefetching the lines of the rows at pf (the next block's,
   contiguous) unless pf is NULL.  Returns the loss sum (0 without y); *vmax, *cmax and *n_off
   receive the maxima of the values' bits and of the codes, and the number of rows off. */
XM512_INLINE double xm512_ll_rows_f32(const float *p, ptrdiff_t rs, ptrdiff_t n, ptrdiff_t full,
                                      ptrdiff_t nb, const void *y, int code32, const double *w,
                                      double *loss, double lo, double hi, double tol,
                                      const float *pf, uint32_t *vmax, uint64_t *cmax,
                                      double *n_off)
{
    const __m512d vlo = _mm512_set1_pd(lo), vhi = _mm512_set1_pd(hi);
    const double band_rel = (double)(full + 4) * 0x1p-23;
    __m512i vm = _mm512_setzero_si512(), cm = _mm512_setzero_si512();
    double off = 0.0;
    const ptrdiff_t esz = code32 ? 4 : 8;
    xm512_ll_acc a = xm512_ll_acc_init(w, loss, lo, 0);
    ptrdiff_t k = 0;
    for (; k + 16 <= nb; k += 16) {
        if (pf) {
            const char *next = (const char *)(pf + k * n);
            for (ptrdiff_t q = 0; q < 16 * n * 4; q += 64)
                _mm_prefetch(next + q, _MM_HINT_T0);
        }
        xm512_ll_short_group_f32(p + k * rs, rs, n, 16, y ? (const char *)y + k * esz : NULL,
                                 code32, w ? w + k : NULL, loss ? loss + k : NULL, vlo, vhi,
                                 tol, band_rel, full, &vm, &cm, &off, &a);
    }
    if (k < nb)
        xm512_ll_short_group_f32(p + k * rs, rs, n, (int)(nb - k),
                                 y ? (const char *)y + k * esz : NULL, code32,
                                 w ? w + k : NULL, loss ? loss + k : NULL, vlo, vhi, tol,
                                 band_rel, full, &vm, &cm, &off, &a);
    *vmax = _mm512_reduce_max_epu32(vm);
    if (code32) {
        uint32_t c = _mm512_reduce_max_epu32(cm);
        *cmax = (uint64_t)(int64_t)(int32_t)c;
    } else {
        *cmax = _mm512_reduce_max_epu64(cm);
    }
    *n_off = off;
    return xm512_ll_acc_total(&a);
}

/* xm512_ll_rows_f32 for rows of 3 .. 16 values (one vector each) and of 17 or more: separate
   functions (in one, both loops were 12 % slower at n = 10). */
XM512_FUNC double xm512_ll_short_f32(const float *p, ptrdiff_t rs, ptrdiff_t n, ptrdiff_t nb,
                                     const void *y, int code32, const double *w, double *loss,
                                     double lo, double hi, double tol, const float *pf,
                                     uint32_t *vmax, uint64_t *cmax, double *n_off)
{
    return xm512_ll_rows_f32(p, rs, n, 0, nb, y, code32, w, loss, lo, hi, tol, pf, vmax, cmax,
                             n_off);
}

XM512_FUNC double xm512_ll_medium_f32(const float *p, ptrdiff_t rs, ptrdiff_t n, ptrdiff_t nb,
                                      const void *y, int code32, const double *w, double *loss,
                                      double lo, double hi, double tol, const float *pf,
                                      uint32_t *vmax, uint64_t *cmax, double *n_off)
{
    return xm512_ll_rows_f32(p, rs, n, (n - 1) / 16, nb, y, code32, w, loss, lo, hi, tol, pf,
                             vmax, cmax, n_off);
}

/* log_loss's pass over nb rows of 2 float32 probabilities (row k at p + 2k), as
   xm512_ll_rows_f32: 8 rows a vector, converted to double and their columns separated by
   two permutes; the row sums are exact in double. */
XM512_FUNC double xm512_ll_pairs_f32(const float *p, ptrdiff_t nb, const void *y, int code32,
                                     const double *w, double *loss, double lo, double hi,
                                     double tol, uint32_t *vmax, uint64_t *cmax, double *n_off)
{
    const __m512d vlo = _mm512_set1_pd(lo), vhi = _mm512_set1_pd(hi);
    const __m512d one = _mm512_set1_pd(1.0), vtol = _mm512_set1_pd(tol);
    const __m512i first = _mm512_setr_epi64(0, 2, 4, 6, 8, 10, 12, 14);
    const __m512i second = _mm512_setr_epi64(1, 3, 5, 7, 9, 11, 13, 15);
    xm512_ll_acc a = xm512_ll_acc_init(w, loss, lo, 0);
    __m512i vm = _mm512_setzero_si512(), cm = _mm512_setzero_si512();
    unsigned off = 0;
    for (ptrdiff_t j = 0; j < nb; j += 16) {
        __m512d g[2];
        __mmask8 k[2];
        for (int h = 0; h < 2; h++) {
            const ptrdiff_t i = j + 8 * h;
            k[h] = xm512_lanes_left(i, nb);
            __m512 z = _mm512_maskz_loadu_ps(xm512_lanes_left16(2 * i, 2 * nb), p + 2 * i);
            vm = _mm512_max_epu32(vm, _mm512_castps_si512(z));
            __m512d lo8 = _mm512_cvtps_pd(_mm512_castps512_ps256(z));
            __m512d hi8 = _mm512_cvtps_pd(_mm512_extractf32x8_ps(z, 1));
            __m512d c0 = _mm512_permutex2var_pd(lo8, first, hi8);
            __m512d c1 = _mm512_permutex2var_pd(lo8, second, hi8);
            /* not |s - 1| <= tol, as in C (NaN: off) */
            off += (unsigned)__builtin_popcount(_mm512_mask_cmp_pd_mask(
                k[h], _mm512_abs_pd(_mm512_sub_pd(_mm512_add_pd(c0, c1), one)), vtol,
                _CMP_NLE_UQ));
            if (y == NULL)
                continue;
            __m512i c = xm512_load_codes8(y, code32, i, k[h]);
            cm = _mm512_max_epu64(cm, c);
            /* the second column for code 1, the first for 0 (and for a code out of range) */
            g[h] = _mm512_mask_blend_pd(_mm512_cmpeq_epi64_mask(c, _mm512_set1_epi64(1)), c0,
                                        c1);
        }
        if (y != NULL)
            xm512_ll_acc_add16(&a, g[0], k[0], g[1], k[1], w ? w + j : NULL,
                               loss ? loss + j : NULL, vlo, vhi);
    }
    *vmax = _mm512_reduce_max_epu32(vm);
    *cmax = _mm512_reduce_max_epu64(cm);
    *n_off = (double)off;
    return xm512_ll_acc_total(&a);
}

/* The sums of 8 vectors' lanes: lane r of the result is the sum of v[r]'s lanes. */
XM512_INLINE __m512d xm512_transpose_sums(const __m512d *v)
{
    __m512d t[4], u[2];
    for (int i = 0; i < 4; i++)
        t[i] = _mm512_add_pd(_mm512_unpacklo_pd(v[2 * i], v[2 * i + 1]),
                             _mm512_unpackhi_pd(v[2 * i], v[2 * i + 1]));
    /* t[i]: each 128-bit lane holds a partial sum of rows 2i, 2i + 1 */
    for (int i = 0; i < 2; i++)
        u[i] = _mm512_add_pd(_mm512_shuffle_f64x2(t[2 * i], t[2 * i + 1], 0x88),
                             _mm512_shuffle_f64x2(t[2 * i], t[2 * i + 1], 0xdd));
    /* u[i]: 128-bit lanes (4i, 4i + 1) x 2, (4i + 2, 4i + 3) x 2 */
    __m512d a = _mm512_shuffle_f64x2(u[0], u[1], 0x88), b = _mm512_shuffle_f64x2(u[0], u[1], 0xdd);
    return _mm512_add_pd(a, b);
}

/*
 * Row sums in double of nb rows of n contiguous values (2 < n <= 16; row k at p + k rs):
 * each row is one or two masked loads added lane-wise, and 8 rows' vectors are summed
 * across by a transposition (21 operations), instead of n scalar additions per row.  Where
 * pf is not NULL, the rows at pf + k rs (the next block's) are prefetched.
 */
#define XM512_ROW_SUMS(NAME, T, LOAD_ROW)                                                   \
    XM512_FUNC void NAME(const T *p, ptrdiff_t rs, ptrdiff_t n, ptrdiff_t nb, double *s,     \
                         const T *pf)                                                       \
    {                                                                                       \
        const __mmask16 m16 = (__mmask16)((1u << (n < 16 ? n : 16)) - 1u);                  \
        const __mmask8 m_lo = (__mmask8)m16, m_hi = (__mmask8)(m16 >> 8);                   \
        (void)m_lo;                                                                         \
        (void)m_hi;                                                                         \
        ptrdiff_t k = 0;                                                                    \
        for (; k + 8 <= nb; k += 8) {                                                       \
            __m512d v[8];                                                                   \
            for (int r = 0; r < 8; r++) {                                                   \
                const T *row = p + (k + r) * rs;                                            \
                if (pf) {                                                                   \
                    _mm_prefetch((const char *)(pf + (k + r) * rs), _MM_HINT_T0);           \
                    _mm_prefetch((const char *)(pf + (k + r) * rs + n - 1), _MM_HINT_T0);   \
                }                                                                           \
                LOAD_ROW;                                                                   \
            }                                                                               \
            _mm512_storeu_pd(s + k, xm512_transpose_sums(v));                               \
        }                                                                                   \
        for (; k < nb; k++) {                                                               \
            double t = 0.0;                                                                 \
            for (ptrdiff_t j = 0; j < n; j++)                                               \
                t += (double)p[k * rs + j];                                                 \
            s[k] = t;                                                                       \
        }                                                                                   \
    }

XM512_ROW_SUMS(xm512_row_sums_f64, double,
               v[r] = _mm512_add_pd(_mm512_maskz_loadu_pd(m_lo, row),
                                    _mm512_maskz_loadu_pd(m_hi, row + 8)))
XM512_ROW_SUMS(xm512_row_sums_f32, float,
               __m512 x = _mm512_maskz_loadu_ps(m16, row);
               v[r] = _mm512_add_pd(_mm512_cvtps_pd(_mm512_castps512_ps256(x)),
                                    _mm512_cvtps_pd(_mm512_extractf32x8_ps(x, 1))))

/*
 * log_loss's one pass over m <= 8 rows of n float64 probabilities (2 < n <= 16, row r at
 * p + r rs, contiguous), as xm512_ll_short_group_f32 with the sums in double: each row is
 * read once, as one or two vectors (the second masked) whose bits go into *vm (the range
 * check) and which are added lane-wise; xm512_transpose_sums adds each row's lanes (the sums
 * of xm512_row_sums_f64).  Rows whose sum is off are added to *off.  With y (codes: int32 if
 * code32, else int64), the codes' maximum goes into *cm and the probabilities of the rows'
 * classes are returned (column 0's for a code outside [0, n); 1 in lanes m .. 7), gathered
 * at the offsets start + code.
 */
XM512_INLINE __m512d xm512_ll_short_group_f64(const double *p, ptrdiff_t rs, ptrdiff_t n,
                                              int m, const void *y, int code32,
                                              __m512i start, __m512d tol, __m512i *vm,
                                              __m512i *cm, double *off)
{
    const __mmask8 first = n >= 8 ? (__mmask8)0xff : (__mmask8)((1u << n) - 1u);
    const __mmask8 second = n > 8 ? (__mmask8)((1u << (n - 8)) - 1u) : 0;
    const __mmask8 rows = (__mmask8)((1u << m) - 1u);
    const __m512d one = _mm512_set1_pd(1.0);
    __m512d v[8];
    for (int r = 0; r < 8; r++) {
        if (r >= m) {
            v[r] = _mm512_setzero_pd();
            continue;
        }
        const double *row = p + r * rs;
        __m512d x = _mm512_maskz_loadu_pd(first, row);
        *vm = _mm512_max_epu64(*vm, _mm512_castpd_si512(x));
        if (second) {
            __m512d z = _mm512_maskz_loadu_pd(second, row + 8);
            *vm = _mm512_max_epu64(*vm, _mm512_castpd_si512(z));
            x = _mm512_add_pd(x, z);
        }
        v[r] = x;
    }
    __m512d d = _mm512_abs_pd(_mm512_sub_pd(xm512_transpose_sums(v), one));
    /* not d <= tol, as in C (NaN: off) */
    *off += (double)__builtin_popcount(_mm512_mask_cmp_pd_mask(rows, d, tol, _CMP_NLE_UQ));
    if (y == NULL)
        return one;
    __m512i c = xm512_load_codes8(y, code32, 0, rows);
    *cm = _mm512_max_epu64(*cm, c);
    c = _mm512_maskz_mov_epi64(_mm512_cmplt_epu64_mask(c, _mm512_set1_epi64(n)), c);
    return _mm512_mask_i64gather_pd(one, rows, _mm512_add_epi64(start, c), p, 8);
}

/* log_loss's pass over nb rows of n float64 probabilities (2 < n <= 16, row k at p + k rs,
   contiguous), 16 rows at a time (two xm512_ll_short_group_f64), prefetching the lines of
   the rows at pf (the next block's, contiguous) unless pf is NULL.  With y and g NULL,
   returns the unweighted loss sum, by the product (as xm512_ll_prod_loss_f64; lo >=
   2^-511); with y and g, stores the probabilities of the rows' classes at g[0 .. nb) and
   returns 0.  *vmax, *cmax and *n_off receive the maxima of the values' bits and of the
   codes, and the number of rows off. */
XM512_FUNC double xm512_ll_short_f64(const double *p, ptrdiff_t rs, ptrdiff_t n, ptrdiff_t nb,
                                     const void *y, int code32, double *g, double lo,
                                     double hi, double tol, const double *pf, uint64_t *vmax,
                                     uint64_t *cmax, double *n_off)
{
    const __m512d vlo = _mm512_set1_pd(lo), vhi = _mm512_set1_pd(hi);
    const __m512d vtol = _mm512_set1_pd(tol);
    const __m512i start = _mm512_mullo_epi64(_mm512_setr_epi64(0, 1, 2, 3, 4, 5, 6, 7),
                                             _mm512_set1_epi64(rs));
    const ptrdiff_t esz = code32 ? 4 : 8;
    __m512i vm = _mm512_setzero_si512(), cm = _mm512_setzero_si512();
    double off = 0.0;
    xm512_ll_acc a = xm512_ll_acc_init(NULL, NULL, lo, 1);
    for (ptrdiff_t k = 0; k < nb; k += 16) {
        const ptrdiff_t left = nb - k;
        const int m0 = left >= 8 ? 8 : (int)left, m1 = left >= 16 ? 8 : (int)(left - m0);
        if (pf && left >= 16) {
            const char *next = (const char *)(pf + k * n);
            for (ptrdiff_t q = 0; q < 16 * n * 8; q += 64)
                _mm_prefetch(next + q, _MM_HINT_T0);
        }
        const char *yk = y ? (const char *)y + k * esz : NULL, *yk8 = yk ? yk + 8 * esz : NULL;
        __m512d g0, g1 = _mm512_set1_pd(1.0);
        if (left >= 16) {   /* whole groups (m a constant) */
            g0 = xm512_ll_short_group_f64(p + k * rs, rs, n, 8, yk, code32, start, vtol, &vm,
                                          &cm, &off);
            g1 = xm512_ll_short_group_f64(p + (k + 8) * rs, rs, n, 8, yk8, code32, start,
                                          vtol, &vm, &cm, &off);
        } else {
            g0 = xm512_ll_short_group_f64(p + k * rs, rs, n, m0, yk, code32, start, vtol, &vm,
                                          &cm, &off);
            if (m1)
                g1 = xm512_ll_short_group_f64(p + (k + 8) * rs, rs, n, m1, yk8, code32, start,
                                              vtol, &vm, &cm, &off);
        }
        const __mmask8 k0 = (__mmask8)((1u << m0) - 1u), k1 = (__mmask8)((1u << m1) - 1u);
        if (y && g) {
            _mm512_mask_storeu_pd(g + k, k0, g0);
            _mm512_mask_storeu_pd(g + k + 8, k1, g1);
        } else if (y) {
            xm512_ll_acc_add16(&a, g0, k0, g1, k1, NULL, NULL, vlo, vhi);
        }
    }
    *vmax = _mm512_reduce_max_epu64(vm);
    *cmax = _mm512_reduce_max_epu64(cm);
    *n_off = off;
    return y && !g ? xm512_ll_acc_total(&a) : 0.0;
}

/* In-register transposition of 8 x 8 doubles: lane c of v[r] goes to lane r of v[c]. */
XM512_INLINE void xm512_transpose8(__m512d *v)
{
    __m512d t[8], u[8];
    for (int i = 0; i < 4; i++) {
        t[2 * i] = _mm512_unpacklo_pd(v[2 * i], v[2 * i + 1]);      /* (2i, 2i+1) x even */
        t[2 * i + 1] = _mm512_unpackhi_pd(v[2 * i], v[2 * i + 1]);  /* (2i, 2i+1) x odd */
    }
    /* 128-bit lanes: u[0..3] take lanes (0, 2) of t[q], t[q + 2], u[4..7] lanes (1, 3) */
    for (int i = 0; i < 2; i++)
        for (int q = 0; q < 2; q++) {
            u[4 * i + q] = _mm512_shuffle_f64x2(t[4 * i + q], t[4 * i + 2 + q], 0x88);
            u[4 * i + 2 + q] = _mm512_shuffle_f64x2(t[4 * i + q], t[4 * i + 2 + q], 0xdd);
        }
    for (int q = 0; q < 4; q++) {
        v[q] = _mm512_shuffle_f64x2(u[q], u[4 + q], 0x88);
        v[4 + q] = _mm512_shuffle_f64x2(u[q], u[4 + q], 0xdd);
    }
}

/* One column of xm512_tail8: a + its tail terms, its maxima counted into *cnt; with store,
   its exponentials written over it and the lanes flushed to 0 (other than -inf) marked in
   *deep. */
XM512_INLINE __m512d xm512_tail_term(double *col, __m512d vm, __m512i kiM, __m512d rM,
                                      __m512d lo, __m512d a, __m512d *cnt, __mmask8 *deep,
                                      int store, int f32acc)
{
    __m512d v = _mm512_load_pd(col);
    __mmask8 top = _mm512_cmp_pd_mask(v, vm, _CMP_EQ_OQ);
    __m512i idx;
    __m512d r = _mm512_sub_pd(xm512_reduce_offset(v, kiM, &idx), rM);
    __m512d e = f32acc ? xm512_exp_core16_f32acc(r, idx) : xm512_exp_core16(r, idx);
    *cnt = _mm512_mask_add_pd(*cnt, top, *cnt, _mm512_set1_pd(1.0));
    if (!store) {
        /* kept: the lanes below the max and not below it by more than 708 (NaN kept) */
        __mmask8 keep = _mm512_mask_cmp_pd_mask((__mmask8)~top, v, lo, _CMP_NLT_UQ);
        return _mm512_add_pd(a, _mm512_maskz_mov_pd(keep, e));
    }
    /* the max's own lanes hold exp(0) = 1 exactly (r = 0, idx = 0) */
    __mmask8 in = _mm512_cmp_pd_mask(v, lo, _CMP_NLT_UQ);
    e = _mm512_maskz_mov_pd(in, e);
    *deep |= (__mmask8)~in & _mm512_cmp_pd_mask(v, _mm512_set1_pd(-XM_INF), _CMP_NEQ_OQ);
    _mm512_store_pd(col, e);
    return _mm512_mask_add_pd(a, (__mmask8)~top, a, e);
}

/*
 * The tail statistics of 8 rows from their transposed values (xt[8 j + lane], 64-byte
 * aligned) and maxima vm: *st = the sum of exp(x[j] - m) over the x[j] != m (terms below
 * exp(-708) flushed, NaN poisons the sum; NaN where |m| > XENTC_OFFSET_MAX), *cnt = the
 * number of x[j] == m.  With store, every exp(x[j] - m) is written over xt, and the lanes
 * of terms flushed to 0 from a finite x returned; with f32acc, to float32 accuracy.
 */
XM512_INLINE __mmask8 xm512_tail8(double *xt, ptrdiff_t C, __m512d vm, __m512d *st,
                                  __m512d *cnt, int store, int f32acc)
{
    /* m = (nM + rM / (ln2 / 16)) ln2 / 16 (Cody-Waite, exact for |m| <= 2^15; other rows
       are NaN here and redone by the caller), and each x = (n + r / (ln2 / 16)) ln2 / 16
       the same way: exp(x - m) = 2^((n - nM) / 16) exp(r - rM), no difference x - m
       formed, |r - rM| <= ln2 / 16 */
    __m512i kiM;                                       /* the bits of nM + XM_SHIFT */
    __m512d rM = xm512_reduce_offset(vm, _mm512_setzero_si512(), &kiM);
    rM = _mm512_mask_blend_pd(
        _mm512_cmp_pd_mask(_mm512_abs_pd(vm), _mm512_set1_pd(XENTC_OFFSET_MAX), _CMP_LE_OQ),
        _mm512_set1_pd(__builtin_nan("")), rM);
    const __m512d lo = _mm512_sub_pd(vm, _mm512_set1_pd(708.0));
    /* 4 partial sums, column j into a[j % 4], as the C loop */
    __m512d a0 = _mm512_setzero_pd(), a1 = a0, a2 = a0, a3 = a0, c = a0;
    __mmask8 deep = 0;
#define XM512_TERM(a, q)                                                                    \
    a = xm512_tail_term(xt + 8 * (j + (q)), vm, kiM, rM, lo, a, &c, &deep, store, f32acc)
    ptrdiff_t j = 0;
    for (; j + 4 <= C; j += 4) {
        XM512_TERM(a0, 0);
        XM512_TERM(a1, 1);
        XM512_TERM(a2, 2);
        XM512_TERM(a3, 3);
    }
    if (j < C)
        XM512_TERM(a0, 0);
    if (j + 1 < C)
        XM512_TERM(a1, 1);
    if (j + 2 < C)
        XM512_TERM(a2, 2);
#undef XM512_TERM
    *st = _mm512_add_pd(_mm512_add_pd(a0, a1), _mm512_add_pd(a2, a3));
    *cnt = c;
    return deep;
}

/*
 * The statistics of nb contiguous rows of C values (3 <= C <= XENTC_FLAT_MAX), and their
 * softmax into the rows of y unless y is NULL, without a transposed block in memory: each
 * 8 rows are loaded a tile of 8 columns at a time, transposed in registers into a small
 * buffer that stays in L1, and finished there by xm512_tail8: m[i] the row max (NaN
 * ignored), st[i] and cnt[i] as xm512_tail8's; the softmax e / S (S = cnt + st; for float64
 * with a correction of the quotient, as the C loop) times rs[i] where rs is not NULL,
 * transposed back.  (Measured on rows from memory: transposing into a block of 2048 doubles
 * ran at a third of the speed of a plain read, into 8 rows' buffer near it.)  Returns 0 at
 * the first 8 rows with a max not within XENTC_OFFSET_MAX (infinite, or all -inf or NaN) or,
 * for softmax, with a term below exp(-708) that the C loop gives as a subnormal; the rows
 * before are done.
 */
#define XM512_TB_ROWS(NAME, T, F32ACC, LOAD_TILE, STORE_TILE)                               \
    XM512_FUNC int NAME(const T *x, ptrdiff_t nb, ptrdiff_t C, T *y, const double *rs,      \
                        double *m, double *st, double *cnt)                                 \
    {                                                                                       \
        double xt[8 * XENTC_FLAT_MAX] __attribute__((aligned(64)));                         \
        for (ptrdiff_t i = 0; i < nb; i += 8) {                                             \
            const __mmask8 k = xm512_lanes_left(i, nb);                                     \
            __m512d vm = _mm512_set1_pd(-XM_INF);                                           \
            for (ptrdiff_t j = 0; j < C; j += 8) {                                          \
                const __mmask8 kc = xm512_lanes_left(j, C);                                 \
                __m512d v[8];                                                               \
                for (int r = 0; r < 8; r++) {             /* rows past nb: row i again */   \
                    const T *row = x + (i + r < nb ? i + r : i) * C + j;                    \
                    LOAD_TILE;                                                              \
                }                                                                           \
                xm512_transpose8(v);                                                        \
                for (ptrdiff_t q = 0; q < 8 && j + q < C; q++) {                            \
                    _mm512_store_pd(xt + (j + q) * 8, v[q]);                                \
                    vm = _mm512_max_pd(v[q], vm);              /* NaN: vm kept */           \
                }                                                                           \
            }                                                                               \
            _mm512_mask_storeu_pd(m + i, k, vm);                                            \
            if (_mm512_mask_cmp_pd_mask(k, _mm512_abs_pd(vm),                               \
                                        _mm512_set1_pd(XENTC_OFFSET_MAX), _CMP_NLE_UQ))     \
                return 0;                                                                   \
            __m512d vs, vc;                                                                 \
            if (!y) {                                                                       \
                xm512_tail8(xt, C, vm, &vs, &vc, 0, F32ACC);                                \
            } else if (xm512_tail8(xt, C, vm, &vs, &vc, 1, F32ACC) & k) {                   \
                return 0;                                                                   \
            }                                                                               \
            _mm512_mask_storeu_pd(st + i, k, vs);                                           \
            _mm512_mask_storeu_pd(cnt + i, k, vc);                                          \
            if (!y)                                                                         \
                continue;                                                                   \
            const __m512d S = _mm512_add_pd(vc, vs);                                        \
            const __m512d inv = _mm512_div_pd(_mm512_set1_pd(1.0), S);                      \
            const __m512d scale = rs ? _mm512_mask_loadu_pd(_mm512_set1_pd(1.0), k, rs + i) \
                                     : _mm512_set1_pd(1.0);                                 \
            for (ptrdiff_t j = 0; j < C; j++) {                                             \
                __m512d e = _mm512_load_pd(xt + 8 * j), q = _mm512_mul_pd(e, inv);          \
                if (!F32ACC)                                  /* q + (e - q S) / S */       \
                    q = _mm512_fmadd_pd(_mm512_fnmadd_pd(q, S, e), inv, q);                 \
                _mm512_store_pd(xt + 8 * j, _mm512_mul_pd(q, scale));                       \
            }                                                                               \
            for (ptrdiff_t j = 0; j < C; j += 8) {                                          \
                const __mmask8 kc = xm512_lanes_left(j, C);                                 \
                __m512d v[8];                                                               \
                for (int q = 0; q < 8; q++)                                                 \
                    v[q] = j + q < C ? _mm512_load_pd(xt + 8 * (j + q)) : _mm512_setzero_pd(); \
                xm512_transpose8(v);                                                        \
                for (int r = 0; r < 8 && i + r < nb; r++) {                                 \
                    T *row = y + (i + r) * C + j;                                           \
                    STORE_TILE;                                                             \
                }                                                                           \
            }                                                                               \
        }                                                                                   \
        return 1;                                                                           \
    }

XM512_TB_ROWS(xm512_tb_rows_f64, double, 0, v[r] = _mm512_maskz_loadu_pd(kc, row),
              _mm512_mask_storeu_pd(row, kc, v[r]))
XM512_TB_ROWS(xm512_tb_rows_f32, float, 1,
              v[r] = _mm512_cvtps_pd(_mm256_maskz_loadu_ps(kc, row)),
              _mm256_mask_storeu_ps(row, kc, _mm512_cvtpd_ps(v[r])))

/*
 * Softmax of one row of n values with a finite max m, |m| <= XENTC_OFFSET_MAX (kdM = nM +
 * XM_SHIFT its offset, as the chunk-flat exponentials): e = exp(x - s) with s = nM ln2 / 16
 * (within ln2 / 32 of m: no overflow, and no difference x - m formed), y = scale e / sum(e),
 * for float64 the quotient corrected as the C loop (q + (e - q S) / S).  e is kept in eb
 * (n doubles, 64-byte aligned) where eb is not NULL; otherwise float64 keeps it in y and
 * float32 recomputes it in the last pass (a stored float e would add a rounding).  Where st
 * is not NULL, also the row's statistics relative to m: *st = the sum of exp(x - m) over
 * x != m, *cnt = the number of x == m.  Returns 0, y incomplete, if a term lies below
 * exp(-708) relative to m and is not 0 (the C loop gives it as a subnormal).  The n values
 * at next (the caller's next row, or x itself) are prefetched during the exponentials, so
 * that the next row's max pass reads from cache.
 */
#define XM512_SOFTMAX_ROW(NAME, T, F32ACC, LOAD, EXP, STORE_E, E_AGAIN, STORE)              \
    XM512_FUNC int NAME(const T *x, ptrdiff_t n, double m, double kdM, T *y, double *eb,   \
                        double scale, double *st, double *cnt, const T *next)               \
    {                                                                                       \
        const __m512d vm = _mm512_set1_pd(m), lo = _mm512_set1_pd(m - 708.0);               \
        const __m512d ninf = _mm512_set1_pd(-XM_INF);                                       \
        const __m512i kiM = _mm512_castpd_si512(_mm512_set1_pd(kdM));                       \
        __m512d c = _mm512_setzero_pd();                                                    \
        __mmask8 deep = 0;                                                                  \
        xm_cascade tail;                     /* by blocks, as the C loop: O(log n) error */ \
        xm_cascade_init(&tail);                                                             \
        for (ptrdiff_t b0 = 0; b0 < n; b0 += XENTC_ROW_BLOCK) {                             \
            const ptrdiff_t b1 = n - b0 < XENTC_ROW_BLOCK ? n : b0 + XENTC_ROW_BLOCK;       \
            __m512d t[4];                       /* 32 partial sums, as the C loop's lanes */ \
            for (int u = 0; u < 4; u++)                                                     \
                t[u] = _mm512_setzero_pd();                                                 \
            for (ptrdiff_t j0 = b0; j0 < b1; j0 += 32) {                                    \
                for (int u = 0; u < 4; u++) {                                               \
                    const ptrdiff_t j = j0 + 8 * u;                                         \
                    const __mmask8 k = j < b1 ? xm512_lanes_left(j, b1) : 0;                \
                    _mm_prefetch((const char *)(next + j), _MM_HINT_T0);                    \
                    __m512d v = LOAD;                  /* lanes past n: -inf, e = 0 */      \
                    __m512d e = EXP(v, kiM, lo);                 /* 0 below lo */           \
                    deep |= _mm512_cmp_pd_mask(v, lo, _CMP_LT_OQ) &                         \
                            _mm512_cmp_pd_mask(v, ninf, _CMP_NEQ_OQ);                       \
                    if (eb)                                                                 \
                        _mm512_mask_store_pd(eb + j, k, e);                                 \
                    else                                                                    \
                        STORE_E;                                                            \
                    __mmask8 top = _mm512_cmp_pd_mask(v, vm, _CMP_EQ_OQ);                   \
                    c = _mm512_mask_add_pd(c, top, c, _mm512_set1_pd(1.0));                 \
                    t[u] = _mm512_mask_add_pd(t[u], (__mmask8)~top, t[u], e);               \
                }                                                                           \
            }                                                                               \
            xm_cascade_add(&tail, _mm512_reduce_add_pd(_mm512_add_pd(                       \
                _mm512_add_pd(t[0], t[1]), _mm512_add_pd(t[2], t[3]))));                    \
        }                                                                                   \
        if (deep)                                                                           \
            return 0;                                                                       \
        /* the maxima apart (each exp(m - s)): a sum of terms below them loses no digits */ \
        const double em = _mm512_cvtsd_f64(EXP(vm, kiM, lo)), tl = xm_cascade_total(&tail);  \
        const double nm = _mm512_reduce_add_pd(c), S = nm * em + tl, inv = 1.0 / S;         \
        if (st) {                           /* exp(x - m) = exp(x - s) / exp(m - s) */      \
            *st = tl / em;                                                                  \
            *cnt = nm;                                                                      \
        }                                                                                   \
        const __m512d vS = _mm512_set1_pd(S), vinv = _mm512_set1_pd(inv);                   \
        const __m512d vscale = _mm512_set1_pd(scale);                                       \
        for (ptrdiff_t j = 0; j < n; j += 8) {                                              \
            const __mmask8 k = xm512_lanes_left(j, n);                                      \
            __m512d e = eb ? _mm512_maskz_loadu_pd(k, eb + j) : E_AGAIN;                    \
            __m512d q = _mm512_mul_pd(e, vinv);                                             \
            if (!F32ACC)                                                                    \
                q = _mm512_fmadd_pd(_mm512_fnmadd_pd(q, vS, e), vinv, q);                   \
            q = _mm512_mul_pd(q, vscale);                                                   \
            STORE;                                                                          \
        }                                                                                   \
        return 1;                                                                           \
    }

XM512_SOFTMAX_ROW(xm512_softmax_row_f64, double, 0,
                  _mm512_mask_loadu_pd(ninf, k, x + j), xm512_exp_offset_acc,
                  _mm512_mask_storeu_pd(y + j, k, e), _mm512_maskz_loadu_pd(k, y + j),
                  _mm512_mask_storeu_pd(y + j, k, q))
XM512_SOFTMAX_ROW(xm512_softmax_row_f32, float, 1,
                  _mm512_mask_cvtps_pd(ninf, k, _mm256_maskz_loadu_ps(k, x + j)),
                  xm512_exp_offset_f32acc, (void)0,
                  xm512_exp_offset_f32acc(
                      _mm512_mask_cvtps_pd(ninf, k, _mm256_maskz_loadu_ps(k, x + j)), kiM, lo),
                  _mm256_mask_storeu_ps(y + j, k, _mm512_cvtpd_ps(q)))

/*
 * log_softmax's output for nb contiguous rows of C values (C <= XENTC_FLAT_MAX):
 * y[i, j] = (x[i, j] + c1[i]) - c2[i] as the C loop computes it (c1 + c2 = -(m + L) as a
 * double-double; for float64 the first sum exact by TwoSum, -inf kept), over the rows as
 * they lie in memory: the constants of each lane's row permuted from 8 rows' vectors.
 */
#define XM512_ROWS_SHIFT(NAME, T, F32, LOAD, STORE)                                        \
    XM512_FUNC void NAME(const T *x, ptrdiff_t nb, ptrdiff_t C, const double *c1,          \
                         const double *c2, T *y)                                            \
    {                                                                                       \
        int64_t rowof[8 * XENTC_FLAT_MAX];                /* element of 8 rows -> row */    \
        for (ptrdiff_t e = 0; e < 8 * C; e++)                                               \
            rowof[e] = e / C;                                                               \
        for (ptrdiff_t i = 0; i < nb; i += 8) {                                             \
            const __mmask8 k = xm512_lanes_left(i, nb);                                     \
            const __m512d a8 = _mm512_maskz_loadu_pd(k, c1 + i);                            \
            const __m512d b8 = _mm512_maskz_loadu_pd(k, c2 + i);                            \
            const ptrdiff_t n = (nb - i < 8 ? nb - i : 8) * C;                              \
            const T *xg = x + i * C;                                                        \
            T *yg = y + i * C;                                                              \
            for (ptrdiff_t e = 0; e < n; e += 8) {                                          \
                const __mmask8 ke = xm512_lanes_left(e, n);                                 \
                const __m512i idx = _mm512_loadu_si512(rowof + e);                          \
                const __m512d a = _mm512_permutexvar_pd(idx, a8);                           \
                const __m512d b = _mm512_permutexvar_pd(idx, b8);                           \
                __m512d v = LOAD, r;                                                        \
                if (F32) {                                                                  \
                    r = _mm512_sub_pd(_mm512_add_pd(v, a), b);                              \
                } else {                                                                    \
                    __m512d lo, hi = xm512_two_sum(v, a, &lo);                              \
                    r = _mm512_add_pd(hi, _mm512_sub_pd(lo, b));                            \
                    r = _mm512_mask_blend_pd(                                               \
                        _mm512_cmp_pd_mask(hi, _mm512_set1_pd(-XM_INF), _CMP_EQ_OQ), r, hi); \
                }                                                                           \
                STORE;                                                                      \
            }                                                                               \
        }                                                                                   \
    }

XM512_ROWS_SHIFT(xm512_rows_shift_f64, double, 0, _mm512_maskz_loadu_pd(ke, xg + e),
                 _mm512_mask_storeu_pd(yg + e, ke, r))
XM512_ROWS_SHIFT(xm512_rows_shift_f32, float, 1,
                 _mm512_cvtps_pd(_mm256_maskz_loadu_ps(ke, xg + e)),
                 _mm256_mask_storeu_ps(yg + e, ke, _mm512_cvtpd_ps(r)))


/* Row sums of nb rows of n contiguous doubles, 16 < n <= 64 (chunk-flat log-sum-exp): each
   row's vectors added lane-wise (at most 8 terms a lane), then 8 rows summed across by the
   transposition: a rounding error growing with n / 8 + 3 rather than n. */
XM512_FUNC void xm512_row_sums_long_f64(const double *e, ptrdiff_t n, ptrdiff_t nb, double *s)
{
    const ptrdiff_t nv = (n + 7) / 8;
    const __mmask8 last = xm512_lanes_left(8 * (nv - 1), n);
    ptrdiff_t k = 0;
    for (; k < nb; k += 8) {
        __m512d v[8];
        for (int r = 0; r < 8; r++) {
            const double *row = e + (k + r < nb ? k + r : k) * n;
            __m512d a = _mm512_loadu_pd(row);
            for (ptrdiff_t q = 1; q < nv - 1; q++)
                a = _mm512_add_pd(a, _mm512_loadu_pd(row + 8 * q));
            v[r] = _mm512_add_pd(a, _mm512_maskz_loadu_pd(last, row + 8 * (nv - 1)));
        }
        __m512d t = xm512_transpose_sums(v);
        _mm512_mask_storeu_pd(s + k, xm512_lanes_left(k, nb), t);
    }
}

/* The same for rows of float values, 16 < n <= 48, summed in double. */
XM512_FUNC void xm512_row_sums_long_f32(const float *e, ptrdiff_t n, ptrdiff_t nb, double *s)
{
    const ptrdiff_t nv = (n + 15) / 16;
    const __mmask16 last = xm512_lanes_left16(16 * (nv - 1), n);
    for (ptrdiff_t k = 0; k < nb; k += 8) {
        __m512d v[8];
        for (int r = 0; r < 8; r++) {
            const float *row = e + (k + r < nb ? k + r : k) * n;
            __m512d a = _mm512_setzero_pd();
            for (ptrdiff_t q = 0; q < nv; q++) {
                __m512 f = _mm512_maskz_loadu_ps(q == nv - 1 ? last : (__mmask16)0xffff,
                                                 row + 16 * q);
                a = _mm512_add_pd(a, _mm512_add_pd(_mm512_cvtps_pd(_mm512_castps512_ps256(f)),
                                                   _mm512_cvtps_pd(_mm512_extractf32x8_ps(f, 1))));
            }
            v[r] = a;
        }
        _mm512_mask_storeu_pd(s + k, xm512_lanes_left(k, nb), xm512_transpose_sums(v));
    }
}

/* ---------------------------------------------------------------------------------------- */
/* exp(-|d|) and log1p of it, without a division (binary loss, rows of two values)          */
/* ---------------------------------------------------------------------------------------- */

/* exp(t + tl) for -700 <= t <= 0 or NaN within about 0.6 ulp (xm512_exp_core with the
   table entry's rounding corrected, as in xm512_exp_core16), tl a low part (|tl| <= ulp(t),
   read where has_lo).  Lanes below -700 (-inf included) come out as garbage: the callers
   recompute them with xm_exp_full (xm512_exp_fix_small), which also keeps subnormal results
   exact; so there is no clamp here. */
XM512_INLINE __m512d xm512_exp_nonpos_lo(__m512d t, __m512d tl, const int has_lo)
{
    const __m512d shift = _mm512_set1_pd(XM_SHIFT);
    __m512d kd = _mm512_fmadd_pd(t, _mm512_set1_pd(16.0 * XM_LOG2E), shift);
    __m512d n = _mm512_sub_pd(kd, shift);
    __m512d r = _mm512_fnmadd_pd(n, _mm512_set1_pd(XM512_LN2_16_HI), t);
    r = _mm512_fnmadd_pd(n, _mm512_set1_pd(XM512_LN2_16_LO), r);
    if (has_lo)
        r = _mm512_add_pd(r, tl);
    __m512i ki = _mm512_castpd_si512(kd);
    __m512d scale = xm512_exp2_16(ki);
    __m512d q = _mm512_add_pd(xm512_expm1_32(r), xm512_exp2_16_err(ki));
    return _mm512_fmadd_pd(scale, q, scale);
}

XM512_INLINE __m512d xm512_exp_nonpos(__m512d t)
{
    return xm512_exp_nonpos_lo(t, t, 0);
}

/* e with its lanes `small' (arguments below -700, whose results may be subnormal) computed
   again by xm_exp_full(t, tl). */
XM512_INLINE __m512d xm512_exp_fix_small(__m512d e, __m512d t, __m512d tl, __mmask8 small)
{
    double ev[8], tv[8], lv[8];
    _mm512_storeu_pd(ev, e);
    _mm512_storeu_pd(tv, t);
    _mm512_storeu_pd(lv, tl);
    for (int l = 0; l < 8; l++)
        if (small >> l & 1)
            ev[l] = xm_exp_full(tv[l], lv[l]);
    return _mm512_loadu_pd(ev);
}

/* Entry i (the low 5 bits of kd's lanes; *up: i >= 16) of a 32-entry table: two
   two-register permutes and a blend. */
XM512_INLINE __m512d xm512_lookup32(__m512d kd, __mmask8 up, const double *tab)
{
    __m512i i = _mm512_castpd_si512(kd);
    return _mm512_mask_blend_pd(
        up, _mm512_permutex2var_pd(_mm512_load_pd(tab), i, _mm512_load_pd(tab + 8)),
        _mm512_permutex2var_pd(_mm512_load_pd(tab + 16), i, _mm512_load_pd(tab + 24)));
}

/* c[0] x^(n-1) + c[1] x^(n-2) + ... + c[n-1] by Horner's rule (n a constant: unrolled). */
XM512_INLINE __m512d xm512_horner(__m512d x, const double *c, const int n)
{
    __m512d p = _mm512_set1_pd(c[0]);
    for (int i = 1; i < n; i++)
        p = _mm512_fmadd_pd(p, x, _mm512_set1_pd(c[i]));
    return p;
}

/* inv_i ~ 1 / c_i, c_i = 1 + i / 31 (inv_0 = 1), each perturbed by up to 2^-23 so that
   log(1 / inv_i), the second table, is within 2^-66 relative of its double: no low part is
   needed (src/fit_log1p_coefficients.py computes both, and Q below). */
static const double xm512_log1p_inv[32] __attribute__((aligned(64))) = {
    0x1.0000000000000p+0, 0x1.f00002e287ccfp-1, 0x1.e0f8414111d03p-1, 0x1.d2d2d13964580p-1,
    0x1.c57c564172473p-1, 0x1.b8e38d5fd0e0fp-1, 0x1.acf913b5e5f53p-1, 0x1.a1af2860f73f1p-1,
    0x1.96f96d8632a6dp-1, 0x1.8ccccddc6f67ap-1, 0x1.831f3aff4c997p-1, 0x1.79e79f1f73a22p-1,
    0x1.711dc4cde5a5bp-1, 0x1.68ba2d09d7960p-1, 0x1.60b60911b8b26p-1, 0x1.590b20528e798p-1,
    0x1.51b3bddb27b48p-1, 0x1.4aaaa88da999dp-1, 0x1.43eb1adf224d5p-1, 0x1.3d70a1a0a8967p-1,
    0x1.373739762a0cdp-1, 0x1.313b14c63f46cp-1, 0x1.2b78c105df2cap-1, 0x1.25ed0b54c6be8p-1,
    0x1.2094f1d90d961p-1, 0x1.1b6db8675bf63p-1, 0x1.1674c79646340p-1, 0x1.11a7b933d9f68p-1,
    0x1.0d0456afe89e7p-1, 0x1.088889db0d4d6p-1, 0x1.04325dde6d9d8p-1, 0x1.000000e4e4e09p-1
};
static const double xm512_log1p_logc[32] __attribute__((aligned(64))) = {
    0x0.0p+0, 0x1.0415a8f8ca47cp-5, 0x1.00153d56b4de8p-4, 0x1.7a5c805833c5cp-4,
    0x1.f11822ae6fe62p-4, 0x1.323db5894b6b1p-3, 0x1.6a5aaaa84a45ep-3, 0x1.a0f87d672873fp-3,
    0x1.d62b2a5bd31aap-3, 0x1.05027693a4e3cp-2, 0x1.1e4b771540353p-2, 0x1.36f8840df4beep-2,
    0x1.4f10e5d1002cfp-2, 0x1.669b7b7cbcddbp-2, 0x1.7d9e9dbd15eb2p-2, 0x1.94203dab9221ap-2,
    0x1.aa25f5df17b4ep-2, 0x1.bfb5006b26365p-2, 0x1.d4d230724c176p-2, 0x1.e9823eb081a69p-2,
    0x1.fdc953fc26af4p-2, 0x1.08d5d6b6b347ep-1, 0x1.1296883511187p-1, 0x1.1c28889363dd0p-1,
    0x1.258d9b0ed2359p-1, 0x1.2ec750a5b08e4p-1, 0x1.37d73b11cfb79p-1, 0x1.40bed11382938p-1,
    0x1.497f6aec5d9f9p-1, 0x1.521a597f1beb9p-1, 0x1.5a90e05ca825ap-1, 0x1.62e42e25d9deap-1
};

/* the polynomials below, highest coefficient first (src/fit_log1p_coefficients.py) */
static const double xm512_log1p_q[7] __attribute__((aligned(64))) = {
    -0x1.00215301638fep-3, 0x1.24af681b63725p-3, -0x1.55555383fc659p-3, 0x1.99999879bd6adp-3,
    -0x1.0000000004ad9p-2, 0x1.5555555556e9dp-2, -0.5
};

/*
 * log1p(e) for e in [0, 1] (or NaN) as hi + *lo, within about 0.52 ulp, without a division:
 * u = 1 + e rounded, d = e - (u - 1) its rounding error (exact), i = round(31 (u - 1)) in
 * [0, 31]; with c_i = 1 + i / 31 and inv = 1 / c_i rounded (xm512_log1p_inv),
 * log1p(e) = -log(inv) + log1p(r), r = (u + d) inv - 1, |r| <= 1/62 (a 32-entry table of c_i
 * spanning [1, 2]: no exponent to extract, and c_0 = 1, so no cancellation as e -> 0).
 * r = rh + rl exactly (rh = u inv - 1 rounded, exact by Sterbenz; rl = the product's
 * rounding error + d inv), log1p(r) = r + r^2 Q(r) with Q of degree 6 (relative error
 * 2^-57.5 on |r| <= 1/62), log(c_i) + rh by Fast2Sum (|log c_i| >= |rh| or log c_i = 0).
 */
XM512_INLINE __m512d xm512_log1p01(__m512d e, __m512d *lo)
{
    const __m512d one = _mm512_set1_pd(1.0);
    __m512d u = _mm512_add_pd(one, e);
    __m512d d = _mm512_sub_pd(e, _mm512_sub_pd(u, one));
    __m512d kd = _mm512_fmadd_pd(u, _mm512_set1_pd(31.0), _mm512_set1_pd(XM_SHIFT - 31.0));
    __mmask8 up = _mm512_test_epi64_mask(_mm512_castpd_si512(kd), _mm512_set1_epi64(16));
    __m512d iv = xm512_lookup32(kd, up, xm512_log1p_inv);
    __m512d c = xm512_lookup32(kd, up, xm512_log1p_logc);
    __m512d p = _mm512_mul_pd(u, iv);
    __m512d rl = _mm512_fmadd_pd(d, iv, _mm512_fmsub_pd(u, iv, p));
    __m512d rh = _mm512_sub_pd(p, one);
    __m512d q = xm512_horner(rh, xm512_log1p_q, 7);
    /* rh^2 Q(rh) + rl (1 - rh) */
    __m512d tail = _mm512_fmadd_pd(_mm512_mul_pd(rh, rh), q, _mm512_fnmadd_pd(rl, rh, rl));
    __m512d hi = _mm512_add_pd(c, rh);
    __m512d lo1 = _mm512_add_pd(_mm512_sub_pd(rh, _mm512_sub_pd(hi, c)), tail);
    /* normalised (Fast2Sum again): a low part of up to r^2 / 2 would add a rounding where
       the caller adds it to another term first */
    __m512d s = _mm512_add_pd(hi, lo1);
    *lo = _mm512_sub_pd(lo1, _mm512_sub_pd(s, hi));
    return s;
}

static const double xm512_log1p_g[13] __attribute__((aligned(64))) = {
    0x1.aa3fd14062aa5p-11, -0x1.93e8c1f364b96p-8, 0x1.66fc55ca2000ep-6, -0x1.95d6703ff73a4p-5,
    0x1.5221b60eaecb2p-4, -0x1.cebb8ca640d73p-4, 0x1.1d1c4a6e6bcc6p-3, -0x1.53c53281d9d18p-3,
    0x1.9962a2716affcp-3, -0x1.fffb7065f1be1p-3, 0x1.55553be3c8ce8p-2, -0x1.ffffff8f8c260p-2,
    0x1.ffffffffd68f6p-1
};

/* log1p(e) for e in [0, 1] (or NaN) to float accuracy: e G(e), G of degree 12 fitted to
   log1p(e) / e on [0, 1] (relative error 2^-35.6; see src/fit_log1p_coefficients.py): no
   table, no reduction. */
XM512_INLINE __m512d xm512_log1p01_f32acc(__m512d e)
{
    __m512d g = xm512_horner(e, xm512_log1p_g, 13);
    return _mm512_mul_pd(e, g);
}

/* ---------------------------------------------------------------------------------------- */
/* Binary cross-entropy on logits                                                           */
/* ---------------------------------------------------------------------------------------- */

/*
 * Binary cross-entropy on logits for n contiguous elements: the AVX-512 form of
 * xentc_binary_impl.h's loop in the logits mode, the same formulas (see bin_logits there)
 * with this section's exponential and division-free log1p (float32: their float-accuracy
 * forms).  Returns the sum of the losses (need_loss); stores them to lo and the gradients
 * times gscale to go where those are not NULL.  w and pw are read where weighted.
 */
#define XM512_BCE_LOGITS(NAME, T, F32, LOAD, STORE)                                        \
    XM512_INLINE double NAME##_run(const int need_loss, const int need_grad,                \
                                   const int weighted, const T *x, const T *t, const T *w,  \
                                   const T *pw, ptrdiff_t n, double gscale, T *lo, T *go)   \
    {                                                                                       \
        const __m512d zero = _mm512_setzero_pd(), one = _mm512_set1_pd(1.0);               \
        const __m512i sign = _mm512_set1_epi64((long long)0x8000000000000000ULL);          \
        __m512d acc = zero;                                                                 \
        for (ptrdiff_t j = 0; j < n; j += 8) {                                              \
            const __mmask8 k = xm512_lanes_left(j, n);                                      \
            const __m512d xv = LOAD(x), tv = LOAD(t);                                       \
            const __m512d wv = weighted ? LOAD(w) : one, pv = weighted ? LOAD(pw) : one;    \
            /* e = exp(-|x|); lanes with |x| > 700 are fixed up (e: float64 recomputed,   \
               subnormal or 0; float32 0; and the base of an infinite x) */                 \
            const __m512d nax = _mm512_castsi512_pd(                                        \
                _mm512_or_si512(_mm512_castpd_si512(xv), sign));                            \
            const __mmask8 big = _mm512_mask_cmp_pd_mask(k, nax, _mm512_set1_pd(-700.0),    \
                                                         _CMP_LT_OQ);                       \
            __m512d e = F32 ? xm512_exp_f32acc_raw(nax) : xm512_exp_nonpos(nax);            \
            if (big) /* float32: e < 1e-304 is 0 to float32 and to the mean */              \
                e = F32 ? _mm512_maskz_mov_pd((__mmask8)~big, e)                            \
                        : xm512_exp_fix_small(e, nax, zero, big);                           \
            const __mmask8 pos = _mm512_cmp_pd_mask(xv, zero, _CMP_GE_OQ);                  \
            const __m512d omt = _mm512_sub_pd(one, tv);                                     \
            const __m512d pwt = weighted ? _mm512_mul_pd(pv, tv) : tv;                      \
            if (need_loss) {                                                                \
                /* (1 - t) x for x >= 0, -pw t x below: max(x, 0) - t' x, rounded once */   \
                const __m512d tx = weighted ? _mm512_mask_blend_pd(pos, pwt, tv) : tv;      \
                __m512d base = _mm512_fnmadd_pd(tx, xv, _mm512_max_pd(xv, zero));           \
                if (big) {                                                                  \
                    /* infinite x: (1 - t) inf or pw t inf, 0 where that factor is 0 */     \
                    __mmask8 inf = _mm512_cmp_pd_mask(nax, _mm512_set1_pd(-XM_INF),         \
                                                      _CMP_EQ_OQ);                          \
                    __m512d f = _mm512_mask_blend_pd(pos, pwt, omt);                        \
                    __mmask8 nz = _mm512_cmp_pd_mask(f, zero, _CMP_NEQ_UQ);                 \
                    base = _mm512_mask_mov_pd(                                              \
                        base, inf, _mm512_maskz_mul_pd(nz, f, _mm512_set1_pd(XM_INF)));     \
                }                                                                           \
                __m512d l = weighted ? _mm512_fmadd_pd(_mm512_sub_pd(pv, one), tv, one)     \
                                     : one;                                                 \
                __m512d v;                                                                  \
                if (F32) {                                                                  \
                    v = _mm512_fmadd_pd(l, xm512_log1p01_f32acc(e), base);                  \
                } else {                                                                    \
                    __m512d al, ah = xm512_log1p01(e, &al);                                 \
                    v = _mm512_fmadd_pd(l, ah, _mm512_fmadd_pd(l, al, base));               \
                }                                                                           \
                if (weighted)                                                               \
                    v = xm512_weighted(wv, v);                                              \
                acc = _mm512_mask_add_pd(acc, k, acc, v);                                   \
                if (lo)                                                                     \
                    STORE(lo, v);                                                           \
            }                                                                               \
            if (need_grad) {                                                                \
                /* sigma(x) and sigma(-x) from e: 1 / (1 + e) and e / (1 + e) */            \
                __m512d s = _mm512_div_pd(one, _mm512_add_pd(one, e));                      \
                __m512d es = _mm512_mul_pd(e, s);                                           \
                __m512d sp = _mm512_mask_blend_pd(pos, es, s);                              \
                __m512d sn = _mm512_mask_blend_pd(pos, s, es);                              \
                __m512d g = _mm512_fmsub_pd(omt, sp, _mm512_mul_pd(pwt, sn));               \
                if (weighted)                                                               \
                    g = xm512_weighted(wv, g);                                              \
                STORE(go, _mm512_mul_pd(g, _mm512_set1_pd(gscale)));                       \
            }                                                                               \
        }                                                                                   \
        return _mm512_reduce_add_pd(acc);                                                   \
    }                                                                                       \
                                                                                            \
    XM512_FUNC double NAME(int need_loss, int need_grad, int weighted, const T *x,          \
                           const T *t, const T *w, const T *pw, ptrdiff_t n, double gscale, \
                           T *lo, T *go)                                                    \
    {                                                                                       \
        if (weighted) {                                                                     \
            if (!need_grad)                                                                 \
                return NAME##_run(1, 0, 1, x, t, w, pw, n, gscale, lo, go);                 \
            if (!need_loss)                                                                 \
                return NAME##_run(0, 1, 1, x, t, w, pw, n, gscale, lo, go);                 \
            return NAME##_run(1, 1, 1, x, t, w, pw, n, gscale, lo, go);                     \
        }                                                                                   \
        if (!need_grad)                                                                     \
            return NAME##_run(1, 0, 0, x, t, w, pw, n, gscale, lo, go);                     \
        if (!need_loss)                                                                     \
            return NAME##_run(0, 1, 0, x, t, w, pw, n, gscale, lo, go);                     \
        return NAME##_run(1, 1, 0, x, t, w, pw, n, gscale, lo, go);                         \
    }

/* w v, but 0 where w = 0 and v is infinite (xentc_weighted) */
XM512_INLINE __m512d xm512_weighted(__m512d w, __m512d v)
{
    __mmask8 z = _mm512_cmp_pd_mask(w, _mm512_setzero_pd(), _CMP_EQ_OQ);
    z = _mm512_mask_cmp_pd_mask(z, _mm512_abs_pd(v), _mm512_set1_pd(XM_INF), _CMP_EQ_OQ);
    return _mm512_maskz_mul_pd((__mmask8)~z, w, v);
}

/* lanes k of element j on (the loop's k and j) */
#define XM512_BCE_LOAD_F64(p) _mm512_maskz_loadu_pd(k, (p) + j)
#define XM512_BCE_STORE_F64(p, v) _mm512_mask_storeu_pd((p) + j, k, (v))
#define XM512_BCE_LOAD_F32(p) _mm512_cvtps_pd(_mm256_maskz_loadu_ps(k, (p) + j))
#define XM512_BCE_STORE_F32(p, v) _mm256_mask_storeu_ps((p) + j, k, _mm512_cvtpd_ps(v))
XM512_BCE_LOGITS(xm512_bce_logits_f64, double, 0, XM512_BCE_LOAD_F64, XM512_BCE_STORE_F64)
XM512_BCE_LOGITS(xm512_bce_logits_f32, float, 1, XM512_BCE_LOAD_F32, XM512_BCE_STORE_F32)

/* ---------------------------------------------------------------------------------------- */
/* log of any positive value                                                                */
/* ---------------------------------------------------------------------------------------- */

/* inv_i ~ 1 / c_i, c_i = 1 + (i - 8) / 31 for i = 0 .. 23 (inv_8 = 1; 24 .. 31 repeat 23),
   nudged as xm512_log1p_inv so that log(1 / inv_i), the second table, needs no low part. */
static const double xm512_log_inv[32] __attribute__((aligned(64))) = {
    0x1.590b1f5f37924p+0, 0x1.4aaaaae195cadp+0, 0x1.3d70a61a94acap+0, 0x1.313b1293610c1p+0,
    0x1.25ed0b4a13383p+0, 0x1.1b6db5c55f11bp+0, 0x1.11a7b87808a5cp+0, 0x1.0888899a01ef6p+0,
    0x1.0000000000000p+0, 0x1.efffff0ddade1p-1, 0x1.e0f83ca86ac59p-1, 0x1.d2d2d38b8bdedp-1,
    0x1.c57c593461777p-1, 0x1.b8e38fdf27f7fp-1, 0x1.acf9180612f0bp-1, 0x1.a1af285d78e93p-1,
    0x1.96f96e9d3441bp-1, 0x1.8ccccce59e511p-1, 0x1.831f36b1ea688p-1, 0x1.79e7a12bef22cp-1,
    0x1.711dc48e31737p-1, 0x1.68ba2ccbd76bep-1, 0x1.60b6092039162p-1, 0x1.590b21ba4c492p-1,
    0x1.590b21ba4c492p-1, 0x1.590b21ba4c492p-1, 0x1.590b21ba4c492p-1, 0x1.590b21ba4c492p-1,
    0x1.590b21ba4c492p-1, 0x1.590b21ba4c492p-1, 0x1.590b21ba4c492p-1, 0x1.590b21ba4c492p-1
};
static const double xm512_log_logc[32] __attribute__((aligned(64))) = {
    -0x1.31a81f6189e6ap-2, -0x1.061366a991208p-2, -0x1.b88c5f3e97181p-3, -0x1.6839562317904p-3,
    -0x1.1aee9d266ebb4p-3, -0x1.a0e6d443625d0p-4, -0x1.112aebe5d39d6p-4, -0x1.0c9d5f2a34016p-5,
    0x0.0p+0, 0x1.0415e83dc0cb3p-5, 0x1.0015647b3b15dp-4, 0x1.7a5c6bfaf9f8bp-4,
    0x1.f118080bace76p-4, 0x1.323da9ef74d16p-3, 0x1.6a5a9610bde4ep-3, 0x1.a0f87d784994ep-3,
    0x1.d62b24dfcb01cp-3, 0x1.05027910972d9p-2, 0x1.1e4b827696803p-2, 0x1.36f87e80c7269p-2,
    0x1.4f10e681ba44ap-2, 0x1.669b7c2cbd561p-2, 0x1.7d9e9d92fc031p-2, 0x1.9420397ff3764p-2,
    0x1.9420397ff3764p-2, 0x1.9420397ff3764p-2, 0x1.9420397ff3764p-2, 0x1.9420397ff3764p-2,
    0x1.9420397ff3764p-2, 0x1.9420397ff3764p-2, 0x1.9420397ff3764p-2, 0x1.9420397ff3764p-2
};

static const double xm512_log_q[8] __attribute__((aligned(64))) = {
    0x1.c785606f5fc14p-4, -0x1.003cbc07ede1ap-3, 0x1.249244f6268e9p-3, -0x1.55554f617b3aep-3,
    0x1.999999999e25fp-3, -0x1.0000000019b7ep-2, 0x1.5555555555562p-2, -0x1.ffffffffffffep-2
};

/*
 * log(u + d) for u positive, normal and finite and d a low part (|d| <= ulp(u) / 2, or 0),
 * as hi + *lo (normalised), within about 0.52 ulp, without a division: u = 2^k m with m in
 * [0.75, 1.5) (vgetmantpd; k from vgetexppd), i = round(31 (m - 1)) + 8, r = (m + d 2^-k)
 * inv_i - 1 formed exactly as rh + rl, log1p(r) = r + r^2 Q(r) with Q of degree 7 (relative
 * error 2^-59.2 on |r| <= 0.0218), k ln2 + log(c_i) + rh by two Fast2Sums (|k ln2| >= 0.69
 * > |log c_i| unless k = 0; |log c_i| >= 0.031 > |rh| unless c_i = 1, where log c_i = 0).
 * No cancellation near u = 1: there k = 0 and c_i = 1.
 */
XM512_INLINE __m512d xm512_log_dd(__m512d u, __m512d d, __m512d *lo)
{
    const __m512d one = _mm512_set1_pd(1.0);
    __m512d m = _mm512_getmant_pd(u, _MM_MANT_NORM_p75_1p5, _MM_MANT_SIGN_src);
    __m512d k = _mm512_getexp_pd(u);
    k = _mm512_mask_add_pd(k, _mm512_cmp_pd_mask(m, one, _CMP_LT_OQ), k, one);
    __m512d kd = _mm512_fmadd_pd(m, _mm512_set1_pd(31.0), _mm512_set1_pd(XM_SHIFT - 23.0));
    __mmask8 up = _mm512_test_epi64_mask(_mm512_castpd_si512(kd), _mm512_set1_epi64(16));
    __m512d iv = xm512_lookup32(kd, up, xm512_log_inv);
    __m512d c = xm512_lookup32(kd, up, xm512_log_logc);
    __m512d p = _mm512_mul_pd(m, iv);
    __m512d rl = _mm512_fmadd_pd(_mm512_scalef_pd(d, _mm512_sub_pd(_mm512_setzero_pd(), k)),
                                 iv, _mm512_fmsub_pd(m, iv, p));
    __m512d rh = _mm512_sub_pd(p, one);
    __m512d q = xm512_horner(rh, xm512_log_q, 8);
    __m512d tail = _mm512_fmadd_pd(_mm512_mul_pd(rh, rh), q, _mm512_fnmadd_pd(rl, rh, rl));
    __m512d a = _mm512_mul_pd(k, _mm512_set1_pd(XM_LN2_HI_LOG));         /* exact */
    __m512d s1 = _mm512_add_pd(a, c);
    __m512d e1 = _mm512_sub_pd(c, _mm512_sub_pd(s1, a));
    __m512d s2 = _mm512_add_pd(s1, rh);
    __m512d e2 = _mm512_sub_pd(rh, _mm512_sub_pd(s2, s1));
    __m512d l1 = _mm512_add_pd(_mm512_add_pd(e1, e2),
                               _mm512_fmadd_pd(k, _mm512_set1_pd(XM_LN2_LO_LOG), tail));
    __m512d hi = _mm512_add_pd(s2, l1);
    *lo = _mm512_sub_pd(l1, _mm512_sub_pd(hi, s2));
    return hi;
}

/*
 * log-sum-exp of nb rows from their sums s of exp(x - M), M = Mh + Ml a shift shared by the
 * rows: (Mh + Ml) + log(s) as xm_m_plus_log (float32: the log to float accuracy; s = 0:
 * -inf, NaN: NaN) into out, and redo[i] = 1 where the result is below tiny in magnitude (it
 * cancels against the shift) or s < s_min (flushed terms could matter: 2^-900 for terms
 * flushed below 2^-1021, 2^-90 for float terms flushed below 2^-125); returns whether any
 * row is flagged.
 */
#define XM512_LSE_FINISH(NAME, T, F32, STORE)                                               \
    XM512_FUNC int NAME(const double *s, ptrdiff_t nb, double Mh, double Ml, double tiny,    \
                        double s_min, T *out, int *redo)                                    \
    {                                                                                       \
        const __m512d one = _mm512_set1_pd(1.0), vmh = _mm512_set1_pd(Mh);                 \
        __mmask8 any = 0;                                                                   \
        for (ptrdiff_t i = 0; i < nb; i += 8) {                                             \
            const __mmask8 k = xm512_lanes_left(i, nb);                                     \
            const __m512d sv = _mm512_maskz_loadu_pd(k, s + i);                             \
            const __mmask8 normal = _mm512_cmp_pd_mask(sv, _mm512_set1_pd(0x1p-1000),       \
                                                       _CMP_GT_OQ);                         \
            const __m512d sc = _mm512_mask_blend_pd(normal, one, sv);                       \
            __m512d r;                                                                      \
            if (F32) { /* a float result: the log to float accuracy, one rounding */        \
                r = _mm512_add_pd(vmh, _mm512_add_pd(xm512_log_f32acc(sc),                   \
                                                     _mm512_set1_pd(Ml)));                  \
            } else {                                                                        \
                __m512d ll, tl;                                                             \
                __m512d lh = xm512_log_dd(sc, _mm512_setzero_pd(), &ll);                    \
                __m512d th = xm512_two_sum(vmh, lh, &tl);                                   \
                r = _mm512_add_pd(th, _mm512_add_pd(tl, _mm512_add_pd(ll,                   \
                                                                      _mm512_set1_pd(Ml)))); \
            }                                                                               \
            r = _mm512_mask_mov_pd(r, _mm512_cmp_pd_mask(sv, _mm512_setzero_pd(),           \
                                                         _CMP_EQ_OQ),                       \
                                   _mm512_set1_pd(-XM_INF));                                \
            r = _mm512_mask_mov_pd(r, _mm512_cmp_pd_mask(sv, sv, _CMP_UNORD_Q), sv);        \
            const __mmask8 bad =                                                            \
                k & (_mm512_cmp_pd_mask(_mm512_abs_pd(r), _mm512_set1_pd(tiny), _CMP_LT_OQ) \
                     | _mm512_cmp_pd_mask(sv, _mm512_set1_pd(s_min), _CMP_LT_OQ));          \
            STORE;                                                                          \
            _mm256_mask_storeu_epi32(redo + i, k,                                           \
                                     _mm256_maskz_mov_epi32(bad, _mm256_set1_epi32(1)));    \
            any |= bad;                                                                     \
        }                                                                                   \
        return any != 0;                                                                    \
    }

XM512_LSE_FINISH(xm512_lse_finish_f64, double, 0, _mm512_mask_storeu_pd(out + i, k, r))
XM512_LSE_FINISH(xm512_lse_finish_f32, float, 1, _mm256_mask_storeu_ps(out + i, k,
                                                                       _mm512_cvtpd_ps(r)))

/*
 * The float64 cross-entropy fast path's losses (XN(ce_index_sum_fast)): for nb rows with
 * sums s[i] of exp(x - (Mh + Ml)), a shift shared by the rows, target values xy[i] and
 * weights wy[i], loss = (Mh - xy) + Ml + log(s) as xm_m_plus_log (the difference by TwoSum,
 * the log a double-double); *S = sum wy loss, *A = sum |wy loss|, *W = sum wy.  Returns
 * whether a row has wy < 0 or s < 2^-900 (the shift could have flushed terms that matter).
 */
XM512_FUNC int xm512_ce_fast_losses(double Mh, double Ml, const double *s, const double *xy,
                                    const double *wy, ptrdiff_t nb, double *S, double *A,
                                    double *W)
{
    const __m512d one = _mm512_set1_pd(1.0), zero = _mm512_setzero_pd();
    const __m512d vmh = _mm512_set1_pd(Mh), vml = _mm512_set1_pd(Ml);
    __m512d vs = zero, va = zero, vw = zero;
    __mmask8 bad = 0;
    for (ptrdiff_t i = 0; i < nb; i += 8) {
        const __mmask8 k = xm512_lanes_left(i, nb);
        const __m512d sv = _mm512_mask_loadu_pd(one, k, s + i);
        const __m512d w = _mm512_maskz_loadu_pd(k, wy + i);
        const __m512d sc = _mm512_mask_blend_pd(
            _mm512_cmp_pd_mask(sv, _mm512_set1_pd(0x1p-1000), _CMP_GT_OQ), one, sv);
        __m512d ll, dl, tl;
        const __m512d lh = xm512_log_dd(sc, zero, &ll);
        const __m512d dh = xm512_two_sum(
            vmh, _mm512_sub_pd(zero, _mm512_maskz_loadu_pd(k, xy + i)), &dl);
        const __m512d th = xm512_two_sum(dh, lh, &tl);
        const __m512d ml = _mm512_add_pd(dl, vml);
        __m512d r = _mm512_add_pd(th, _mm512_add_pd(tl, _mm512_add_pd(ll, ml)));
        r = _mm512_mask_mov_pd(r, _mm512_cmp_pd_mask(sv, sv, _CMP_UNORD_Q), sv);   /* NaN */
        const __m512d wr = _mm512_mul_pd(w, r);
        vs = _mm512_add_pd(vs, wr);
        va = _mm512_add_pd(va, _mm512_abs_pd(wr));
        vw = _mm512_add_pd(vw, w);
        bad |= k & (_mm512_cmp_pd_mask(w, zero, _CMP_LT_OQ) |
                    _mm512_cmp_pd_mask(sv, _mm512_set1_pd(0x1p-900), _CMP_LT_OQ));
    }
    *S = _mm512_reduce_add_pd(vs);
    *A = _mm512_reduce_add_pd(va);
    *W = _mm512_reduce_add_pd(vw);
    return bad != 0;
}

/* ---------------------------------------------------------------------------------------- */
/* Rows of two values (C = 2)                                                               */
/* ---------------------------------------------------------------------------------------- */

/* Rows i .. i + 7 of contiguous rows of two (k2: their 16 values that exist): the first
   values in *a, the second in *b. */
XM512_INLINE void xm512_load_pairs_f64(const double *x, ptrdiff_t i, __mmask16 k2, __m512d *a,
                                       __m512d *b)
{
    const __m512i first = _mm512_setr_epi64(0, 2, 4, 6, 8, 10, 12, 14);
    const __m512i second = _mm512_setr_epi64(1, 3, 5, 7, 9, 11, 13, 15);
    __m512d v0 = _mm512_maskz_loadu_pd((__mmask8)k2, x + 2 * i);
    __m512d v1 = _mm512_maskz_loadu_pd((__mmask8)(k2 >> 8), x + 2 * i + 8);
    *a = _mm512_permutex2var_pd(v0, first, v1);
    *b = _mm512_permutex2var_pd(v0, second, v1);
}

XM512_INLINE void xm512_load_pairs_f32(const float *x, ptrdiff_t i, __mmask16 k2, __m512d *a,
                                       __m512d *b)
{
    const __m512i split = _mm512_setr_epi32(0, 2, 4, 6, 8, 10, 12, 14,
                                            1, 3, 5, 7, 9, 11, 13, 15);
    __m512 v = _mm512_permutexvar_ps(split, _mm512_maskz_loadu_ps(k2, x + 2 * i));
    *a = _mm512_cvtps_pd(_mm512_castps512_ps256(v));
    *b = _mm512_cvtps_pd(_mm512_extractf32x8_ps(v, 1));
}

/* The inverse: rows i .. i + 7 of (a, b) stored as contiguous rows of two (lanes k2). */
XM512_INLINE void xm512_store_pairs_f64(double *y, ptrdiff_t i, __mmask16 k2, __m512d a,
                                        __m512d b)
{
    const __m512i lo = _mm512_setr_epi64(0, 8, 1, 9, 2, 10, 3, 11);
    const __m512i hi = _mm512_setr_epi64(4, 12, 5, 13, 6, 14, 7, 15);
    _mm512_mask_storeu_pd(y + 2 * i, (__mmask8)k2, _mm512_permutex2var_pd(a, lo, b));
    _mm512_mask_storeu_pd(y + 2 * i + 8, (__mmask8)(k2 >> 8), _mm512_permutex2var_pd(a, hi, b));
}

XM512_INLINE void xm512_store_pairs_f32(float *y, ptrdiff_t i, __mmask16 k2, __m512d a,
                                        __m512d b)
{
    const __m512i mix = _mm512_setr_epi32(0, 8, 1, 9, 2, 10, 3, 11,
                                          4, 12, 5, 13, 6, 14, 7, 15);
    __m512 v = _mm512_insertf32x8(_mm512_castps256_ps512(_mm512_cvtpd_ps(a)),
                                  _mm512_cvtpd_ps(b), 1);
    _mm512_mask_storeu_ps(y + 2 * i, k2, _mm512_permutexvar_ps(mix, v));
}

/* x - y exactly as hi + *lo (xm512_two_sum of x and -y). */
XM512_INLINE __m512d xm512_two_diff(__m512d x, __m512d y, __m512d *lo)
{
    const __m512i sign = _mm512_set1_epi64((long long)0x8000000000000000ULL);
    return xm512_two_sum(x, _mm512_castsi512_pd(_mm512_xor_si512(_mm512_castpd_si512(y), sign)),
                         lo);
}

/* The lanes whose rows (a, b) are ordinary: both values finite, and their difference d too
   (XN(pair_is_ordinary)). */
XM512_INLINE __mmask8 xm512_pair_ordinary(__m512d a, __m512d b, __m512d d)
{
    const __m512d inf = _mm512_set1_pd(XM_INF);
    return _mm512_cmp_pd_mask(_mm512_abs_pd(a), inf, _CMP_LT_OQ) &
           _mm512_cmp_pd_mask(_mm512_abs_pd(b), inf, _CMP_LT_OQ) &
           _mm512_cmp_pd_mask(_mm512_abs_pd(d), inf, _CMP_LT_OQ);
}

/* -|d| = th + *tl for d = dh + dl (an exact difference). */
XM512_INLINE __m512d xm512_neg_abs2(__m512d dh, __m512d dl, __m512d *tl)
{
    const __m512i sign = _mm512_set1_epi64((long long)0x8000000000000000ULL);
    __mmask8 neg = _mm512_cmp_pd_mask(dh, _mm512_setzero_pd(), _CMP_LT_OQ);
    __m512d ndl = _mm512_castsi512_pd(_mm512_xor_si512(_mm512_castpd_si512(dl), sign));
    *tl = _mm512_mask_blend_pd(neg, ndl, dl);
    return _mm512_castsi512_pd(_mm512_or_si512(_mm512_castpd_si512(dh), sign));
}

/* exp(th + tl) for th <= 0 (or NaN) with a low part, subnormal results kept (lanes k). */
XM512_INLINE __m512d xm512_exp_nonpos_full(__m512d th, __m512d tl, __mmask8 k)
{
    __m512d e = xm512_exp_nonpos_lo(th, tl, 1);
    __mmask8 small = _mm512_mask_cmp_pd_mask(k, th, _mm512_set1_pd(-700.0), _CMP_LT_OQ);
    return small ? xm512_exp_fix_small(e, th, tl, small) : e;
}

/*
 * Log-sum-exp of n contiguous rows of two, the AVX-512 form of XN(lse_pair):
 * max + log1p(exp(-|a - b|)), a - b exact and the sum rounded once for float64; float32 rows
 * with the float-accuracy exp and log1p (a - b is exact in double).
 */
XM512_FUNC void xm512_lse_pair_f64(const double *x, ptrdiff_t n, double *out)
{
    const __m512d inf = _mm512_set1_pd(XM_INF);
    for (ptrdiff_t i = 0; i < n; i += 8) {
        const __mmask8 k = xm512_lanes_left(i, n);
        __m512d a, b, dl, tl, ll;
        xm512_load_pairs_f64(x, i, xm512_lanes_left16(2 * i, 2 * n), &a, &b);
        __m512d m = _mm512_max_pd(a, b);                        /* a > b ? a : b */
        __m512d dh = xm512_two_diff(a, b, &dl);
        __m512d th = xm512_neg_abs2(dh, dl, &tl);
        __m512d e = xm512_exp_nonpos_full(th, tl, k);
        __m512d lh = xm512_log1p01(e, &ll);
        /* m + (lh + ll), one rounding: xm_add_dd */
        __m512d lo, s = xm512_two_sum(m, lh, &lo);
        __m512d r = _mm512_add_pd(s, _mm512_add_pd(lo, ll));
        /* m infinite or NaN: m + e (e is 0 or NaN); equal infinities: themselves */
        __mmask8 fin = _mm512_cmp_pd_mask(_mm512_abs_pd(m), inf, _CMP_LT_OQ);
        r = _mm512_mask_blend_pd(fin, _mm512_add_pd(m, e), r);
        __mmask8 same_inf = _mm512_mask_cmp_pd_mask(
            _mm512_cmp_pd_mask(a, b, _CMP_EQ_OQ), _mm512_abs_pd(a), inf, _CMP_EQ_OQ);
        _mm512_mask_storeu_pd(out + i, k, _mm512_mask_mov_pd(r, same_inf, a));
    }
}

XM512_FUNC void xm512_lse_pair_f32(const float *x, ptrdiff_t n, float *out)
{
    const __m512d inf = _mm512_set1_pd(XM_INF);
    const __m512i sign = _mm512_set1_epi64((long long)0x8000000000000000ULL);
    for (ptrdiff_t i = 0; i < n; i += 8) {
        const __mmask8 k = xm512_lanes_left(i, n);
        __m512d a, b;
        xm512_load_pairs_f32(x, i, xm512_lanes_left16(2 * i, 2 * n), &a, &b);
        __m512d m = _mm512_max_pd(a, b);
        __m512d t = _mm512_castsi512_pd(
            _mm512_or_si512(_mm512_castpd_si512(_mm512_sub_pd(a, b)), sign));
        __m512d r = _mm512_add_pd(m, xm512_log1p01_f32acc(xm512_exp_f32acc(t)));
        __mmask8 same_inf = _mm512_mask_cmp_pd_mask(
            _mm512_cmp_pd_mask(a, b, _CMP_EQ_OQ), _mm512_abs_pd(a), inf, _CMP_EQ_OQ);
        _mm256_mask_storeu_ps(out + i, k, _mm512_cvtpd_ps(_mm512_mask_mov_pd(r, same_inf, a)));
    }
}

/*
 * Cross-entropy of n contiguous rows of two with class-index targets y, the AVX-512 form of
 * XN(ce_pair_loop) (same formulas: softplus of d = x_other - x_y formed exactly, the gradient
 * +-gscale w_y sigmoid(d)).  Writes each row's weighted loss to lr (0 where y is ignore) and
 * the gradient to g where with_grad; returns whether a row has a non-finite value or
 * difference (those rows are finished by the caller's general path).
 */
#define XM512_CE_PAIR(NAME, T, F32, LOAD_PAIRS, STORE_PAIRS)                              \
    XM512_INLINE int NAME##_run(const T *x, ptrdiff_t n, const int64_t *y, int64_t ignore,  \
                                const double *w, double *lr, T *g, double gscale,          \
                                const int with_grad)                                        \
    {                                                                                       \
        const __m512d zero = _mm512_setzero_pd(), one = _mm512_set1_pd(1.0);               \
        const __m512d w0 = _mm512_set1_pd(w ? w[0] : 1.0);                                 \
        const __m512d w1 = _mm512_set1_pd(w ? w[1] : 1.0);                                 \
        __mmask8 special = 0;                                                               \
        for (ptrdiff_t i = 0; i < n; i += 8) {                                              \
            const __mmask8 k = xm512_lanes_left(i, n);                                      \
            const __mmask16 k2 = xm512_lanes_left16(2 * i, 2 * n);                          \
            __m512d a, b, dl, tl;                                                           \
            LOAD_PAIRS(x, i, k2, &a, &b);                                                   \
            const __m512i yi = _mm512_maskz_loadu_epi64(k, y + i);                          \
            const __mmask8 second = _mm512_cmpeq_epi64_mask(yi, _mm512_set1_epi64(1));     \
            const __mmask8 ign = _mm512_cmpeq_epi64_mask(yi, _mm512_set1_epi64(ignore));    \
            const __m512d xy = _mm512_mask_blend_pd(second, a, b);                          \
            const __m512d xo = _mm512_mask_blend_pd(second, b, a);                          \
            const __m512d dh = xm512_two_diff(xo, xy, &dl);                                 \
            const __mmask8 dpos = _mm512_cmp_pd_mask(dh, zero, _CMP_GT_OQ);                 \
            const __m512d th = xm512_neg_abs2(dh, dl, &tl);          /* -|d| = th + tl */   \
            __m512d e, loss;                                                                \
            if (F32) {                                                                      \
                /* th + tl rounded: float accuracy */                                       \
                const __m512d t = _mm512_add_pd(th, tl);                                    \
                e = xm512_exp_f32acc(t);                                                    \
                __m512d L = xm512_log1p01_f32acc(e);                                        \
                loss = _mm512_mask_blend_pd(dpos, L, _mm512_sub_pd(L, t));                  \
            } else {                                                                        \
                e = xm512_exp_nonpos_full(th, tl, k);                                       \
                __m512d ll, lh = xm512_log1p01(e, &ll);                                     \
                __m512d L = _mm512_add_pd(lh, ll);                                          \
                /* d > 0: |d| + (|d|'s low part + L) */                                     \
                __m512d up = _mm512_sub_pd(_mm512_sub_pd(zero, th), _mm512_sub_pd(tl, L));  \
                loss = _mm512_mask_blend_pd(dpos, L, up);                                   \
            }                                                                               \
            const __m512d wy = _mm512_mask_blend_pd(second, w0, w1);                        \
            if (with_grad) {                                                                \
                /* sigmoid(d) = p(other): 1 / (1 + e) for d > 0, else e / (1 + e) */        \
                __m512d r = _mm512_div_pd(one, _mm512_add_pd(one, e));                      \
                __m512d so = _mm512_mask_blend_pd(dpos, _mm512_mul_pd(e, r), r);            \
                __m512d go = _mm512_mul_pd(                                                 \
                    _mm512_maskz_mul_pd((__mmask8)~ign, _mm512_set1_pd(gscale), wy), so);   \
                __m512d ngo = _mm512_sub_pd(zero, go);                                      \
                STORE_PAIRS(g, i, k2, _mm512_mask_blend_pd(second, ngo, go),                \
                            _mm512_mask_blend_pd(second, go, ngo));                         \
            }                                                                               \
            __m512d li = _mm512_maskz_mov_pd((__mmask8)~ign, xm512_weighted(wy, loss));     \
            _mm512_mask_storeu_pd(lr + i, k, li);                                           \
            special |= (__mmask8)(k & ~xm512_pair_ordinary(a, b, dh));                      \
        }                                                                                   \
        return special != 0;                                                                \
    }                                                                                       \
                                                                                            \
    XM512_FUNC int NAME(const T *x, ptrdiff_t n, const int64_t *y, int64_t ignore,          \
                        const double *w, double *lr, T *g, double gscale)                   \
    {                                                                                       \
        return g ? NAME##_run(x, n, y, ignore, w, lr, g, gscale, 1)                         \
                 : NAME##_run(x, n, y, ignore, w, lr, g, gscale, 0);                        \
    }

XM512_CE_PAIR(xm512_ce_pair_f64, double, 0, xm512_load_pairs_f64, xm512_store_pairs_f64)
XM512_CE_PAIR(xm512_ce_pair_f32, float, 1, xm512_load_pairs_f32, xm512_store_pairs_f32)

/*
 * softmax / log_softmax of n contiguous rows of two, the AVX-512 form of
 * XN(softmax_pair_loop) (same formulas and modes: with e = exp(-|a - b|), softmax =
 * (1 / (1 + e), e / (1 + e)) for (larger, smaller), float64's smaller one as
 * exp(-|d| - log1p(e)); log_softmax = (-log1p(e), -|d| - log1p(e)); stats: each row's max
 * to sm and log1p(e) to sl; scaled: softmax times rs).  Returns whether a row has a
 * non-finite value or difference (rewritten by the caller).
 */
#define XM512_SOFTMAX_PAIR(NAME, T, F32, LOAD_PAIRS, STORE_PAIRS)                         \
    XM512_INLINE int NAME##_run(const T *x, ptrdiff_t n, T *y, double *sm, double *sl,      \
                                const double *rs, const int log_out, const int stats,       \
                                const int scaled)                                           \
    {                                                                                       \
        const __m512d zero = _mm512_setzero_pd(), one = _mm512_set1_pd(1.0);               \
        __mmask8 special = 0;                                                               \
        for (ptrdiff_t i = 0; i < n; i += 8) {                                              \
            const __mmask8 k = xm512_lanes_left(i, n);                                      \
            const __mmask16 k2 = xm512_lanes_left16(2 * i, 2 * n);                          \
            __m512d a, b, dl, tl, big, small, L;                                            \
            LOAD_PAIRS(x, i, k2, &a, &b);                                                   \
            const __mmask8 a_big = _mm512_cmp_pd_mask(a, b, _CMP_GE_OQ);                    \
            const __m512d dh = xm512_two_diff(a, b, &dl);                                   \
            const __m512d th = xm512_neg_abs2(dh, dl, &tl);          /* -|d| = th + tl */   \
            if (F32) {                                                                      \
                const __m512d t = _mm512_add_pd(th, tl);                                    \
                const __m512d e = xm512_exp_f32acc(t);                                      \
                if (stats || log_out)                                                       \
                    L = xm512_log1p01_f32acc(e);                                            \
                if (log_out) {                                                              \
                    big = _mm512_sub_pd(zero, L);            /* +0 when L == 0, as scipy */ \
                    small = _mm512_sub_pd(t, L);                                            \
                } else {                                                                    \
                    big = _mm512_div_pd(one, _mm512_add_pd(one, e));                        \
                    small = _mm512_mul_pd(e, big);                                          \
                }                                                                           \
            } else {                                                                        \
                const __m512d e = xm512_exp_nonpos_full(th, tl, k);                         \
                __m512d ll, lh = xm512_log1p01(e, &ll), sl_;                                \
                L = _mm512_add_pd(lh, ll);                                                  \
                /* -|d| - log1p(e) = sh + slo */                                            \
                const __m512d sh = xm512_two_sum(th, _mm512_sub_pd(zero, lh), &sl_);        \
                const __m512d slo = _mm512_sub_pd(_mm512_add_pd(sl_, tl), ll);              \
                if (log_out) {                                                              \
                    big = _mm512_sub_pd(zero, L);                                           \
                    small = _mm512_add_pd(sh, slo);                                         \
                } else {                                                                    \
                    big = _mm512_div_pd(one, _mm512_add_pd(one, e));                        \
                    small = xm512_exp_nonpos_full(sh, slo, k);                              \
                }                                                                           \
            }                                                                               \
            if (scaled) {                                                                   \
                const __m512d r = _mm512_maskz_loadu_pd(k, rs + i);                         \
                big = _mm512_mul_pd(big, r);                                                \
                small = _mm512_mul_pd(small, r);                                            \
            }                                                                               \
            if (stats) {                                                                    \
                _mm512_mask_storeu_pd(sm + i, k, _mm512_mask_blend_pd(a_big, b, a));        \
                _mm512_mask_storeu_pd(sl + i, k, L);                                        \
            }                                                                               \
            STORE_PAIRS(y, i, k2, _mm512_mask_blend_pd(a_big, small, big),                  \
                        _mm512_mask_blend_pd(a_big, big, small));                           \
            special |= (__mmask8)(k & ~xm512_pair_ordinary(a, b, dh));                      \
        }                                                                                   \
        return special != 0;                                                                \
    }                                                                                       \
                                                                                            \
    XM512_FUNC int NAME(const T *x, ptrdiff_t n, T *y, int log_out, double *sm, double *sl, \
                        const double *rs)                                                   \
    {                                                                                       \
        if (log_out)                                                                        \
            return NAME##_run(x, n, y, NULL, NULL, NULL, 1, 0, 0);                          \
        if (!sm)                                                                            \
            return NAME##_run(x, n, y, NULL, NULL, NULL, 0, 0, 0);                          \
        if (!rs)                                                                            \
            return NAME##_run(x, n, y, sm, sl, NULL, 0, 1, 0);                              \
        return NAME##_run(x, n, y, sm, sl, rs, 0, 1, 1);                                    \
    }

XM512_SOFTMAX_PAIR(xm512_softmax_pair_f64, double, 0, xm512_load_pairs_f64,
                   xm512_store_pairs_f64)
XM512_SOFTMAX_PAIR(xm512_softmax_pair_f32, float, 1, xm512_load_pairs_f32,
                   xm512_store_pairs_f32)

#endif /* XENTC_AVX512_H */
