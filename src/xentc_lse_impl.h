/*
 * Row log-sum-exp kernels: a template, included by xentc_kernels.h once per element type and
 * per ISA level.  Before inclusion the includer defines
 *   XT            element type (float or double)
 *   XT_IS_F32     1 for float data (computed in double with float-accuracy polynomials)
 *   XN(name)      the instantiated name of `name`
 *   XENTC_ENTRY   storage class and target attributes of the dispatched entry points
 * Only the XENTC_ENTRY functions are real calls; every helper is always-inline, so that it is
 * compiled for the entry point's ISA level (the entry points are also `flatten`).
 *
 * Numerics (see xentc_math.h): the result of a row is m + log1p(v), where m is the row max and
 * v the sum of exp(x - m) over all elements but one maximal one, accumulated in double.  Keeping
 * the dominant 1 out of the sum keeps full relative precision of results near zero
 * (logsumexp([0, -40]) = 4.25e-18, scipy gh-18295).
 */

/* Results below this in magnitude are redone exactly by the fast paths: float data use
   float-accuracy exponentials (x - m is exact enough in double), double data a shared shift;
   near zero the chunk-flat shift would cancel and the tail's precision matters. */
#if XT_IS_F32
#  define XN_TINY_RESULT 0.125
#else
#  define XN_TINY_RESULT 2.0
#endif
/* float data at AVX-512: float-native exponentials, whose results below XM512_NATIVE_TINY
   (long rows) or XM512_NATIVE_FLAT_TINY (chunk-flat rows) are redone */
#define XN_NATIVE (XENTC_ISA_AVX512 && XT_IS_F32)

/* The max of n contiguous elements (NaN ignored; -inf for n == 0). */
XM_INLINE double XN(row_max)(const XT *restrict x, ptrdiff_t n)
{
#if XENTC_ISA_AVX512
    if (n >= 64)
        return XT_IS_F32 ? xm512_max_f32((const float *)x, n) : xm512_max_f64((const double *)x, n);
#endif
    XT m = -XM_INF;                /* in the element type: twice the lanes for float */
#pragma omp simd reduction(max:m)
    for (ptrdiff_t j = 0; j < n; j++) {
        XT v = x[j];
        m = v > m ? v : m;
    }
    return (double)m;
}

/* exp(v - m) for v <= m from the data: float-accuracy for float data; for double data the
   shift is exact (TwoSum) if exact_shift, and subnormal results are kept if full (flushed
   below exp(-708) otherwise).  exact_shift and full are constants at each call site. */
XM_INLINE double XN(exp_below)(double v, double m, int exact_shift, int full)
{
#if XT_IS_F32
    (void)exact_shift;
    (void)full;
    return xm_exp_f32acc(v - m);
#else
    if (!exact_shift)
        return xm_exp_ftz(v - m, 0.0);
    xm_dd t = xm_two_sum(v, -m);
    double e = full ? xm_exp_full(t.hi, t.lo) : xm_exp_ftz(t.hi, t.lo);
    return t.hi == -XM_INF ? 0.0 : e;          /* TwoSum of -inf has a NaN low part */
#endif
}

/*
 * Sum of exp(x[j] - m) over the n elements below m (NaN poisons it), and in *cnt the number
 * equal to m.  XENTC_LANES independent partial sums (a few vectors' worth) are kept, each
 * collecting every XENTC_LANES-th term, and added as a tree at the end: short dependency
 * chains, and a rounding error growing with n / XENTC_LANES rather than n.  The maxima are
 * counted apart: added to a partial sum, their 1.0 would absorb tail terms below half its ulp.
 * exact_shift (a constant at each call site) forms x - m exactly for double data (TwoSum),
 * needed where the tail itself is an output (the largest log_softmax of a row is
 * -log1p(tail)).  If y is not NULL the exponentials are also stored there, subnormal-correct
 * (softmax).
 */
XM_INLINE double XN(sum_exp_below)(const XT *restrict b, ptrdiff_t n, double m, int exact_shift,
                                   XT *restrict y, double *cnt)
{
    double acc[XENTC_LANES], tops[XENTC_LANES];
    for (int l = 0; l < XENTC_LANES; l++)
        acc[l] = tops[l] = 0.0;
#define XN_LANE_STEP                                                                        \
    {                                                                                       \
        double v = (double)b[j0 + l];                                                       \
        double e = XN(exp_below)(v, m, exact_shift, y != NULL);                             \
        if (y)                                                                              \
            y[j0 + l] = (XT)e;                                                              \
        int top = v == m;                                                                   \
        acc[l] += top ? 0.0 : e;                                                            \
        tops[l] += top ? 1.0 : 0.0;                                                         \
    }
    ptrdiff_t j0 = 0;
    for (; j0 + XENTC_LANES <= n; j0 += XENTC_LANES) {     /* full width: vectorises best */
#pragma omp simd
        for (int l = 0; l < XENTC_LANES; l++)
            XN_LANE_STEP
    }
    for (int l = 0; j0 + l < n; l++)                      /* the remaining < XENTC_LANES */
        XN_LANE_STEP
#undef XN_LANE_STEP
    for (int w = XENTC_LANES / 2; w > 0; w /= 2)
        for (int l = 0; l < w; l++) {
            acc[l] += acc[l + w];
            tops[l] += tops[l + w];
        }
    *cnt = tops[0];
    return acc[0];
}

/*
 * Scan n contiguous elements into a partial state (m, st, cnt): blocked one-pass ("online")
 * algorithm, one max and at most one rescale per block of XENTC_ROW_BLOCK elements, so that
 * the second read of each block comes from L1.  NaN is not seen by the max but poisons st;
 * +inf and all--inf rows come out right without special cases (see xentc_lse_finish).
 */
XM_INLINE xentc_lse_state XN(lse_scan)(const XT *restrict x, ptrdiff_t n, int exact_shift)
{
    double m = -XM_INF, st = 0.0, cnt = 0.0;
    for (ptrdiff_t j0 = 0; j0 < n; j0 += XENTC_ROW_BLOCK) {
        const ptrdiff_t nb = n - j0 < XENTC_ROW_BLOCK ? n - j0 : XENTC_ROW_BLOCK;
        const XT *restrict b = x + j0;
        const double bm = XN(row_max)(b, nb);
        if (bm > m) {
            /* exact shift: the rescaled partial sum may be the whole tail of the result */
            xm_dd d = xm_two_sum(m, -bm);
            double scale = m == -XM_INF ? 0.0 : xm_exp_full(d.hi, d.lo);
            st = (st + cnt) * scale;
            cnt = 0.0;
            m = bm;
        }
#if XENTC_SCAN_PREFETCH
        for (ptrdiff_t q = nb; q < 2 * nb && j0 + q < n; q += XENTC_LINE(XT))
            XM_PREFETCH(b + q);
#endif
        const double mm = m;
        double bcnt = 0.0;
        double bst = XN(sum_exp_below)(b, nb, mm, exact_shift, NULL, &bcnt);
        st += bst;
        cnt += bcnt;
    }
    xentc_lse_state s = {m, st, cnt};
    return s;
}

/*
 * The log-sum-exp of one row with a per-row max and double-accuracy exp for both element
 * types (subnormal terms included: a result may be one), its shifts exact (TwoSum), and the
 * tail summed pairwise: vectorised blocks of
 * XENTC_PAIRWISE_BLOCK terms, the block sums combined by a binary cascade (O(log n) error
 * growth, as NumPy's pairwise sum).  Used to redo the rows that a fast path flags: those whose
 * result is near zero, where the sum's relative error is all that is left.
 */
XM_INLINE double XN(lse_exact)(const XT *restrict x, ptrdiff_t n)
{
    const double m = XN(row_max)(x, n);
    const double nm = -m;
    xm_cascade tail;
    xm_cascade_init(&tail);
    double cnt = 0.0;
    for (ptrdiff_t j0 = 0; j0 < n; j0 += XENTC_PAIRWISE_BLOCK) {
        const ptrdiff_t nb = n - j0 < XENTC_PAIRWISE_BLOCK ? n - j0 : XENTC_PAIRWISE_BLOCK;
        const XT *restrict b = x + j0;
        double bst = 0.0, bcnt = 0.0;
#pragma omp simd reduction(+:bst,bcnt)
        for (ptrdiff_t j = 0; j < nb; j++) {
            double v = (double)b[j];
            xm_dd t = xm_two_sum(v, nm);
            double e = xm_exp_full(t.hi, t.lo);
            e = t.hi == -XM_INF ? 0.0 : e;        /* TwoSum of -inf has a NaN low part */
            int top = v == m;
            bst += top ? 0.0 : e;
            bcnt += top ? 1.0 : 0.0;
        }
        cnt += bcnt;
        xm_cascade_add(&tail, bst);
    }
    double st = xm_cascade_total(&tail);
    xentc_lse_state s = {m, st, cnt};
    return xentc_lse_finish(s);
}

/*
 * Sum of exp(x[j] - m) over the x[j] < m (m finite, >= every x[j]; NaN poisons the sum), the
 * number of x[j] == m in *cnt: for double data the maximal terms are counted apart, since a 1
 * added to a partial sum would round away the low bits of every later term (float data: all
 * terms summed, *cnt = 0).
 */
XM_INLINE double XN(sum_exp_below_max)(const XT *restrict x, ptrdiff_t n, double m,
                                       double *cnt)
{
#if XENTC_ISA_AVX512 && !XT_IS_F32
    return xm512_sum_exp_below_f64(x, n, m, cnt);
#elif XT_IS_F32
    /* float results: the maxima's rounding effect (~1e-16 relative) is far below their ulp */
    double s = 0.0;
#pragma omp simd reduction(+:s)
    for (ptrdiff_t j = 0; j < n; j++)
        s += xm_exp_f32acc((double)x[j] - m);
    *cnt = 0.0;
    return s;
#else
    return XN(sum_exp_below)(x, n, m, 0, NULL, cnt);
#endif
}

/* m + log1p(v), v >= 0 (or NaN): the result of a row from its max and the rest of its sum */
XM_INLINE double XN(m_plus_log1p)(double m, double v)
{
#if XT_IS_F32
    /* float results: 1 + v rounds harmlessly; the log's reduction needs a finite argument */
    return v == v ? m + xm_log_f32acc(1.0 + v) : v;
#else
    return xm_m_plus_log1p(m, v);
#endif
}

#if XENTC_ISA_AVX512
/* The shift nM ln2 / 16 nearest a max m (|m| <= XENTC_OFFSET_MAX) as hi + lo, nM + XM_SHIFT
   in kd: for the AVX-512 exponentials that reduce each element on its own. */
typedef struct {
    double kd, hi, lo;
} XN(offset);

XM_INLINE XN(offset) XN(offset_of)(double m)
{
    XN(offset) o;
    o.kd = m * (16.0 * XM_LOG2E) + XM_SHIFT;
    const double nM = o.kd - XM_SHIFT;
    o.hi = nM * XM512_LN2_16_HI;                       /* exact: nM has < 20 bits */
    o.lo = nM * XM512_LN2_16_LO;
    return o;
}

/* The sum of exp(x[j] - (o.hi + o.lo)), terms below m - 708 flushed (m the row's max);
   native: float data's float-native exponentials (see xm512_sum_exp_offset_f32n) */
XM_INLINE double XN(sum_exp_offset)(const XT *x, ptrdiff_t n, XN(offset) o, double m,
                                    int native)
{
#  if XT_IS_F32
    return native ? xm512_sum_exp_offset_f32n(x, n, o.kd, m)
                  : xm512_sum_exp_offset_f32(x, n, o.kd, m);
#  else
    (void)native;
    return xm512_sum_exp_offset_f64(x, n, o.kd, m);
#  endif
}
#endif

/*
 * The log-sum-exp of a short row (n <= XENTC_PASS_BLOCK(XT)), in two passes: its max
 * m, then m + log1p(sum of the other terms) -- at AVX-512, (shift near m) + log(sum of all
 * terms).  Returns NaN for a row whose max is not finite (+inf, all -inf, or no element): the
 * caller redoes it exactly, as it redoes results near zero, whose last bits depend on the
 * tail's.  A NaN element makes the result NaN.
 */
XM_INLINE double XN(lse_two_pass)(const XT *restrict x, ptrdiff_t n, int native)
{
    (void)native;                                      /* unused below AVX-512 */
    double m = XN(row_max)(x, n);
    if (!(__builtin_fabs(m) < XM_INF))
        return __builtin_nan("");
#if XENTC_ISA_AVX512
    if (__builtin_fabs(m) <= XENTC_OFFSET_MAX) {
        const XN(offset) o = XN(offset_of)(m);
        return xm_m_plus_log(o.hi, o.lo, XN(sum_exp_offset)(x, n, o, m, native));
    }
#endif
    double cnt;
    double st = XN(sum_exp_below_max)(x, n, m, &cnt);
    return XN(m_plus_log1p)(m, st + (cnt - 1.0));
}

/*
 * The same for a longer row, by blocks of XENTC_PASS_BLOCK(XT) elements: each block's max,
 * the running sums rescaled when it rises, then the block's exponentials read from L1.
 */
XM_INLINE double XN(lse_blocked)(const XT *restrict x, ptrdiff_t n, int native)
{
    (void)native;                                      /* unused below AVX-512 */
    const ptrdiff_t block = XENTC_PASS_BLOCK(XT);
#if XENTC_ISA_AVX512
    {
        double m = -XM_INF, st = 0.0;
        XN(offset) o = {0.0, 0.0, 0.0};
        ptrdiff_t j0 = 0;
        for (; j0 < n; j0 += block) {
            const ptrdiff_t nb = n - j0 < block ? n - j0 : block;
            const double bm = XN(row_max)(x + j0, nb);
            if (bm > m) {
                if (!(__builtin_fabs(bm) <= XENTC_OFFSET_MAX))
                    break;                             /* the portable loop below */
                const XN(offset) on = XN(offset_of)(bm);
                /* hi - on.hi is exact (multiples of the same 32-bit constant) */
                st = m == -XM_INF ? 0.0 : st * xm_exp_ftz(o.hi - on.hi, o.lo - on.lo);
                o = on;
                m = bm;
            }
            if (m == -XM_INF)
                continue;                              /* all -inf so far */
            st += XN(sum_exp_offset)(x + j0, nb, o, m, native);
        }
        if (j0 >= n)
            return m == -XM_INF ? __builtin_nan("") : xm_m_plus_log(o.hi, o.lo, st);
    }
#endif
    double m = -XM_INF, st = 0.0, cnt = 0.0;
    for (ptrdiff_t j0 = 0; j0 < n; j0 += block) {
        const ptrdiff_t nb = n - j0 < block ? n - j0 : block;
        const double bm = XN(row_max)(x + j0, nb);
        if (bm > m) {
            st = m == -XM_INF ? 0.0 : (st + cnt) * xm_exp_ftz(m - bm, 0.0);
            cnt = 0.0;
            m = bm;
        }
        if (!(__builtin_fabs(m) < XM_INF))
            return __builtin_nan("");
        double bcnt;
        st += XN(sum_exp_below_max)(x + j0, nb, m, &bcnt);
        cnt += bcnt;
    }
    return XN(m_plus_log1p)(m, st + (cnt - 1.0));
}

/* Per-row kernel for any row length and row stride. */
XM_INLINE void XN(lse_by_row)(const XT *x, ptrdiff_t ld, ptrdiff_t n_rows, ptrdiff_t n_cols,
                              XT *out)
{
    const int short_row = n_cols <= XENTC_PASS_BLOCK(XT);
    for (ptrdiff_t i = 0; i < n_rows; i++) {
        const XT *row = x + i * ld;
        double r = short_row ? XN(lse_two_pass)(row, n_cols, XN_NATIVE)
                             : XN(lse_blocked)(row, n_cols, XN_NATIVE);
#if XN_NATIVE
        /* float-native exponentials: a result they do not give to half an ulp is redone (NaN
           goes straight to the exact redo below) */
        if (__builtin_fabs(r) < XM512_NATIVE_TINY)
            r = short_row ? XN(lse_two_pass)(row, n_cols, 0) : XN(lse_blocked)(row, n_cols, 0);
#endif
        /* a non-finite max or a NaN element (r is NaN), or a result near zero: redone with
           exact shifts and double-accuracy exp */
        if (!(__builtin_fabs(r) >= XN_TINY_RESULT))
            r = XN(lse_exact)(row, n_cols);
        out[i] = (XT)r;
    }
}

/*
 * C == 2, contiguous rows: lse(a, b) = max + log1p(exp(-|a - b|)), vectorised across rows
 * (at the AVX-512 level xm512_lse_pair_*: the same formula with intrinsics).
 * Equal infinities give a - b = NaN: they are the only select needed.
 */
XM_INLINE void XN(lse_pair)(const XT *restrict x, ptrdiff_t n_rows, XT *restrict out)
{
#if XENTC_ISA_AVX512
    XM512_XT(lse_pair)(x, n_rows, out);
#else
#pragma omp simd
    for (ptrdiff_t i = 0; i < n_rows; i++) {
        double a = (double)x[2 * i], b = (double)x[2 * i + 1];
        double m = a > b ? a : b;
#if XT_IS_F32
        double e = xm_exp_f32acc(-__builtin_fabs(a - b));
        double r = m + xm_log1p01_f32acc(e);
#else
        xm_dd d = xm_two_sum(a, -b);
        double e = xm_exp_full(-__builtin_fabs(d.hi), d.hi > 0.0 ? -d.lo : d.lo);
        e = d.hi == d.hi ? e : d.hi;               /* NaN in, NaN out */
        e = __builtin_fabs(d.hi) == XM_INF ? 0.0 : e;
        double r = xm_add_dd(m, xm_log1p01_dd(e));
        r = __builtin_fabs(m) < XM_INF ? r : m + e;   /* m = +-inf: e is 0 or NaN */
#endif
        int same_inf = (a == b) & (__builtin_fabs(a) == XM_INF);
        out[i] = (XT)(same_inf ? a : r);
    }
#endif
}

/*
 * Redo nr rows of a chunk-flat block (indices idx[], row length C) exactly, vectorised over
 * the rows: each row's own max m (TwoSum shift, double-accuracy exp), and the elements below
 * m summed apart from the maximal ones.  The rows' values and per-element shifts are
 * compacted into xc[] / mk[] so that the exp loop runs over full vectors; ec[] receives the
 * exponentials, rm[] / rv[] the per-row (m, v).  All scratch arrays are the caller's.
 */
XM_INLINE void XN(lse_redo_rows)(const XT *restrict xb, ptrdiff_t C, const int *restrict idx,
                                 ptrdiff_t nr, XT *restrict ob, double *restrict xc,
                                 double *restrict mk, double *restrict ec,
                                 double *restrict rm, double *restrict rv)
{
    ptrdiff_t p = 0;
    for (ptrdiff_t k = 0; k < nr; k++) {
        const XT *row = xb + (ptrdiff_t)idx[k] * C;
        double m = -XM_INF;
        for (ptrdiff_t j = 0; j < C; j++) {
            double v = (double)row[j];
            m = v > m ? v : m;
        }
        rm[k] = m;
        for (ptrdiff_t j = 0; j < C; j++) {
            xc[p + j] = (double)row[j];
            mk[p + j] = m;
        }
        p += C;
    }
#pragma omp simd
    for (ptrdiff_t q = 0; q < p; q++) {
        xm_dd t = xm_two_sum(xc[q], -mk[q]);
        double e = xm_exp_full(t.hi, t.lo);
        ec[q] = xc[q] == -XM_INF ? 0.0 : e;
    }
    for (ptrdiff_t k = 0; k < nr; k++) {
        double st = 0.0, cnt = 0.0;
        for (ptrdiff_t j = 0; j < C; j++) {
            int top = xc[k * C + j] == rm[k];
            st += top ? 0.0 : ec[k * C + j];
            cnt += top ? 1.0 : 0.0;
        }
        rv[k] = st + (cnt - 1.0);
    }
#pragma omp simd
    for (ptrdiff_t k = 0; k < nr; k++)
        rv[k] = xm_m_plus_log1p(rm[k], rv[k]);
    for (ptrdiff_t k = 0; k < nr; k++)
        ob[idx[k]] = (XT)rv[k];
}

/* Sum of n <= XENTC_FLAT_MAX values of a short row: in order up to 16 values, beyond in 8
   interleaved partial sums added as a tree (a rounding error growing with n / 8 + 3). */
XM_INLINE double XN(short_sum)(const double *restrict e, ptrdiff_t n)
{
    if (n <= 16) {
        double a = 0.0;
        for (ptrdiff_t j = 0; j < n; j++)
            a += e[j];
        return a;
    }
    double a[8] = {0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0};
    for (ptrdiff_t j = 0; j < n; j++)
        a[j & 7] += e[j];
    return ((a[0] + a[1]) + (a[2] + a[3])) + ((a[4] + a[5]) + (a[6] + a[7]));
}

/* s[i] = sum of row i of e (rows of C values): at AVX-512, 8 rows at a time by a
   transposition; otherwise specialised for each small C. */
#define XN_ROW_SUMS_CASE(CC)                                                                \
    case CC:                                                                                \
        for (ptrdiff_t i = 0; i < nb; i++)                                                  \
            s[i] = XN(short_sum)(e + i * CC, CC);                                           \
        break;

XM_INLINE void XN(row_sums)(const double *restrict e, ptrdiff_t nb, ptrdiff_t C,
                            double *restrict s)
{
#if XENTC_ISA_AVX512
    if (C <= 16)
        xm512_row_sums_f64(e, C, C, nb, s, NULL);
    else
        xm512_row_sums_long_f64(e, C, nb, s);
#else
    switch (C) {
    XN_ROW_SUMS_CASE(3) XN_ROW_SUMS_CASE(4) XN_ROW_SUMS_CASE(5) XN_ROW_SUMS_CASE(6)
    XN_ROW_SUMS_CASE(7) XN_ROW_SUMS_CASE(8) XN_ROW_SUMS_CASE(9) XN_ROW_SUMS_CASE(10)
    XN_ROW_SUMS_CASE(11) XN_ROW_SUMS_CASE(12) XN_ROW_SUMS_CASE(13) XN_ROW_SUMS_CASE(14)
    XN_ROW_SUMS_CASE(15) XN_ROW_SUMS_CASE(16)
    default:
        for (ptrdiff_t i = 0; i < nb; i++)
            s[i] = XN(short_sum)(e + i * C, C);
    }
#endif
}
#undef XN_ROW_SUMS_CASE

/* Prefetch the block after the current one (up to len elements of the avail that follow),
   so that its first pass reads from cache while this block is computed. */
XM_INLINE void XN(prefetch_next_block)(const XT *next, ptrdiff_t len, ptrdiff_t avail)
{
    const ptrdiff_t n = avail < len ? avail : len;
    for (ptrdiff_t q = 0; q < n; q += XENTC_LINE(XT))
        XM_PREFETCH(next + q);
}

/* Transpose a block of nb rows of C values into xt (xt[j * R + i] = x[i, j]), as doubles,
   and the max of each row into m[i] (NaN ignored). */
XM_INLINE void XN(transpose_max)(const XT *restrict x, ptrdiff_t nb, ptrdiff_t C, ptrdiff_t R,
                                 double *restrict xt, double *restrict m)
{
#pragma omp simd
    for (ptrdiff_t i = 0; i < nb; i++)
        m[i] = -XM_INF;
    for (ptrdiff_t j = 0; j < C; j++) {
        double *restrict xj = xt + j * R;
#pragma omp simd
        for (ptrdiff_t i = 0; i < nb; i++) {
            double v = (double)x[i * C + j];
            xj[i] = v;
            m[i] = v > m[i] ? v : m[i];
        }
    }
}

/* The inverse: y[i, j] = yt[j * R + i] for nb rows of C values. */
XM_INLINE void XN(transpose_store)(const double *restrict yt, ptrdiff_t nb, ptrdiff_t C,
                                   ptrdiff_t R, XT *restrict y)
{
    for (ptrdiff_t j = 0; j < C; j++) {
        const double *restrict yj = yt + j * R;
#pragma omp simd
        for (ptrdiff_t i = 0; i < nb; i++)
            y[i * C + j] = (XT)yj[i];
    }
}

/*
 * 3 <= C < XENTC_FLAT_MIN_C, contiguous rows: log-sum-exp vectorised across rows through a
 * transposed block (see XN(softmax_tb)): each row's own max, exact shifts, the tail summed
 * apart from the maxima.  Exact per row, no redo needed; faster than chunk-flat for the
 * smallest C, where chunk-flat must redo many rows (results near zero are common).
 */
XM_INLINE void XN(lse_tb)(const XT *restrict x, ptrdiff_t n_rows, ptrdiff_t C,
                          XT *restrict out)
{
    double xt[XENTC_FLAT_BLOCK];
    double m[XENTC_TB_ROWS], st[XENTC_TB_ROWS], cnt[XENTC_TB_ROWS];
    const ptrdiff_t R = xentc_tb_rows(C);
    for (ptrdiff_t i0 = 0; i0 < n_rows; i0 += R) {
        const ptrdiff_t nb = n_rows - i0 < R ? n_rows - i0 : R;
        const XT *restrict xb = x + i0 * C;
        XN(prefetch_next_block)(xb + nb * C, nb * C, (n_rows - i0 - nb) * C);
        XN(transpose_max)(xb, nb, C, R, xt, m);
#pragma omp simd
        for (ptrdiff_t i = 0; i < nb; i++)
            st[i] = cnt[i] = 0.0;
        for (ptrdiff_t j = 0; j < C; j++) {
            const double *restrict xj = xt + j * R;
#pragma omp simd
            for (ptrdiff_t i = 0; i < nb; i++) {
                double v = xj[i], mm = m[i];
                xm_dd t = xm_two_sum(v, -mm);
                double e = xm_exp_full(t.hi, t.lo);
                e = t.hi == -XM_INF ? 0.0 : e;        /* TwoSum of -inf has a NaN low part */
                int top = v == mm;
                st[i] += top ? 0.0 : e;
                cnt[i] += top ? 1.0 : 0.0;
            }
        }
#pragma omp simd
        for (ptrdiff_t i = 0; i < nb; i++) {
            xentc_lse_state s = {m[i], st[i], cnt[i]};
            out[i0 + i] = (XT)xentc_lse_finish(s);
        }
    }
}

/*
 * XENTC_FLAT_MIN_C <= C <= XENTC_FLAT_MAX, contiguous rows ("chunk-flat"): per block of rows
 * (~XENTC_FLAT_BLOCK elements, L1-resident) one max M over the block, then exp(x - M) over the
 * block as one flat vector loop (full vectors whatever C is), then short row sums.  For double
 * data x - M is formed exactly (TwoSum) and M + log(s) is added in double-double, so a row
 * whose own max is far below M loses no accuracy.  Two kinds of rows are redone: those whose
 * result is near zero (the dominant term's tail must be kept apart from it) and those whose
 * sum is so small that flushed terms could matter: both by XN(lse_redo_rows).
 */
XM_INLINE void XN(lse_flat)(const XT *restrict x, ptrdiff_t n_rows, ptrdiff_t C,
                            XT *restrict out)
{
    enum { RMAX = XENTC_FLAT_BLOCK / XENTC_FLAT_MIN_C + 1 };
    double e[XENTC_FLAT_BLOCK], xc[XENTC_FLAT_BLOCK], mk[XENTC_FLAT_BLOCK];
#if XN_NATIVE
    float ef[XENTC_FLAT_BLOCK];
#endif
    double s[RMAX], rm[RMAX], rv[RMAX];
    int redo[RMAX], ridx[RMAX + 16];
    const ptrdiff_t rb = XENTC_FLAT_BLOCK / C;

    for (ptrdiff_t i0 = 0; i0 < n_rows; i0 += rb) {
        const ptrdiff_t nb = n_rows - i0 < rb ? n_rows - i0 : rb;
        const ptrdiff_t L = nb * C;
        const XT *restrict xb = x + i0 * C;
        XT *restrict ob = out + i0;

        const double M = XN(row_max)(xb, L);
        if (!(__builtin_fabs(M) < XM_INF)) {
            /* +inf, or no finite value: the per-row kernel handles it exactly */
            XN(lse_by_row)(xb, C, nb, C, ob);
            continue;
        }

        /* exp pass, prefetching the next block so that its max pass reads from cache */
        const ptrdiff_t rest = (n_rows - i0 - nb) * C;
        const ptrdiff_t next = rest < L ? rest : L;
        /* the shift: M, or at AVX-512 (Mh + Ml) = nM ln2 / 16 close to M (x is then reduced
           without forming x - M: see xm512_exp_offset_f64) */
        double Mh = M, Ml = 0.0;
#if XENTC_ISA_AVX512
        int native = 0;                    /* float-native exponentials in ef */
        if (__builtin_fabs(M) <= XENTC_OFFSET_MAX) {
            const XN(offset) o = XN(offset_of)(M);
            Mh = o.hi;
            Ml = o.lo;
#  if XN_NATIVE
            xm512_exp_offset_f32n((const float *)xb, L, o.kd, M, ef, (const float *)xb + L,
                                  next);
            native = 1;
#  else
            xm512_exp_offset_f64(xb, L, o.kd, M, e, xb + L, next);
#  endif
        } else {
#  if XT_IS_F32
            /* |M| > 2^15: the portable loop */
#pragma omp simd
            for (ptrdiff_t k = 0; k < L; k++)
                e[k] = XN(exp_below)((double)xb[k], M, 1, 0);
#  else
            xm512_exp_shifted_f64(xb, L, M, e, xb + L, next);
#  endif
        }
#else
        for (ptrdiff_t k0 = 0; k0 < L; k0 += 64) {
            for (ptrdiff_t q = k0; q < k0 + 64 && q < next; q += XENTC_LINE(XT))
                XM_PREFETCH(xb + L + q);
            const ptrdiff_t k1 = k0 + 64 < L ? k0 + 64 : L;
#pragma omp simd
            for (ptrdiff_t k = k0; k < k1; k++)
                e[k] = XN(exp_below)((double)xb[k], M, 1, 0);
        }
#endif

#if XN_NATIVE
        if (native && C <= 16)
            xm512_row_sums_f32(ef, C, C, nb, s, NULL);
        else if (native)
            xm512_row_sums_long_f32(ef, C, nb, s);
        else
#endif
            XN(row_sums)(e, nb, C, s);

#if XENTC_ISA_AVX512
        /* float-native sums: their results below XM512_NATIVE_FLAT_TINY and their sums below
           2^-90 (terms below 2^-125 are flushed) are redone */
        const int any_redo = XM512_XT(lse_finish)(s, nb, Mh, Ml,
                                                  native ? XM512_NATIVE_FLAT_TINY : XN_TINY_RESULT,
                                                  native ? 0x1p-90 : 0x1p-900, ob, redo);
#else
        int any_redo = 0;
#pragma omp simd reduction(|:any_redo)
        for (ptrdiff_t i = 0; i < nb; i++) {
            double si = s[i];
            double ri = xm_m_plus_log(Mh, Ml, si);
            /* the result cancels against the shift M, or flushed terms could matter (this
               includes s == 0: every term flushed, or a row of -inf) */
            int bad = (__builtin_fabs(ri) < XN_TINY_RESULT) | (si < 0x1p-900);
            ob[i] = (XT)ri;
            redo[i] = bad;
            any_redo |= bad;
        }
#endif
        if (any_redo) {
#if XENTC_ISA_AVX512
            ptrdiff_t nr = xm512_flagged_indices(redo, nb, ridx);
#  if XN_NATIVE
            if (native) {
                /* first the row's own two passes with double-lane exponentials, whose
                   results are good down to XN_TINY_RESULT: cheaper than the exact redo */
                ptrdiff_t nx = 0;
                for (ptrdiff_t k = 0; k < nr; k++) {
                    const double r = XN(lse_two_pass)(xb + ridx[k] * C, C, 0);
                    if (__builtin_fabs(r) >= XN_TINY_RESULT)
                        ob[ridx[k]] = (XT)r;
                    else
                        ridx[nx++] = ridx[k];
                }
                nr = nx;
            }
#  endif
#else
            ptrdiff_t nr = 0;
            for (ptrdiff_t i = 0; i < nb; i++)
                if (redo[i])
                    ridx[nr++] = (int)i;
#endif
            XN(lse_redo_rows)(xb, C, ridx, nr, ob, xc, mk, e, rm, rv);
        }
    }
}

/*
 * Entry point: out[i] = log(sum_j exp(x[i, j])) for the n_rows rows at x + i * ld, each of
 * n_cols contiguous elements.  A row's result depends only on its values and on
 * (n_cols, ld == n_cols) -- except in the chunk-flat kernel, where it also depends on the
 * rows sharing its block -- and never on how the caller splits the rows, as long as splits
 * fall on multiples of xentc_lse_row_quantum(n_cols): that is what makes results
 * bit-identical for every thread count.
 */
XENTC_ENTRY void XN(lse_rows)(const XT *x, ptrdiff_t ld, ptrdiff_t n_rows, ptrdiff_t n_cols,
                             XT *out)
{
    if (n_cols == 1) {
        for (ptrdiff_t i = 0; i < n_rows; i++)
            out[i] = x[i * ld];
    } else if (n_cols == 2 && ld == 2)
        XN(lse_pair)(x, n_rows, out);
    else if (n_cols >= 3 && n_cols < XENTC_FLAT_MIN_C && ld == n_cols)
        XN(lse_tb)(x, n_rows, n_cols, out);
    else if (n_cols >= XENTC_FLAT_MIN_C && n_cols <= XENTC_FLAT_MAX && ld == n_cols)
        XN(lse_flat)(x, n_rows, n_cols, out);
    else
        XN(lse_by_row)(x, ld, n_rows, n_cols, out);
}

/* Entry point: the partial state of n contiguous elements (one segment of a long row);
   exact_shift as in XN(sum_exp_below) (1 for softmax statistics). */
XENTC_ENTRY void XN(lse_partial)(const XT *x, ptrdiff_t n, int exact_shift,
                                xentc_lse_state *state)
{
    if (exact_shift)
        *state = XN(lse_scan)(x, n, 1);
    else
        *state = XN(lse_scan)(x, n, 0);
}

/* Entry point: one row by the exact per-row routine (redo of a long row split in segments). */
XENTC_ENTRY double XN(lse_row_exact)(const XT *x, ptrdiff_t n)
{
    return XN(lse_exact)(x, n);
}

/* Results below this in magnitude are redone exactly (see XN(lse_by_row)). */
XENTC_ENTRY double XN(lse_tiny_result)(void)
{
    return XN_TINY_RESULT;
}

/* Entry point: the read floor, one streaming pass that sums the array (benchmark probe). */
XENTC_ENTRY double XN(read_floor)(const XT *x, ptrdiff_t n)
{
    XT s = 0;
#pragma omp simd reduction(+:s)
    for (ptrdiff_t k = 0; k < n; k++)
        s += x[k];
    return (double)s;
}

#undef XN_TINY_RESULT
#undef XN_NATIVE
