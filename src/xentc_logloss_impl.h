/*
 * scikit-learn's log_loss on predicted probabilities P: a template included by
 * xentc_kernels.h once per element type and ISA level (macros as in xentc_lse_impl.h).
 *
 * One pass over a task's rows does everything the metric needs from P:
 *   - counts the values outside [0, 1] (NaN included), which the caller turns into
 *     scikit-learn's errors;
 *   - counts the rows whose sum (in double) is further than tol from 1 (the UserWarning);
 *   - sums w_i * -log(clip(P[i, y_i], lo, hi)) in double, y_i the class code of row i,
 *     and counts the codes out of range (so that the caller need not check them first).
 * With n_cols == 1 the problem is binary: P holds the probability of the second class and
 * the first class's is 1 - p, formed in double (exact for float32 input); y is then needed
 * even for the checks alone.
 *
 * Rows are processed in blocks of about XENTC_LL_BLOCK_BYTES.  The checks read each value
 * once: row by row when the rows are long and contiguous (XENTC_LL_BY_ROW); for short
 * contiguous rows the range check runs over the block as one flat array and the row sums
 * are then taken from L1 while the next block is prefetched (XENTC_LL_FLAT; with AVX-512,
 * 8 rows at a time summed across by a transposition); otherwise column by column across
 * the block (XENTC_LL_BY_COLUMN).  The range check keeps the maximum of the values' bits
 * (ll_bits) and the codes' maximum, and counts exactly only in a block where one fails.
 * The probabilities of the samples' classes are then gathered and go through one vector
 * loop of clip and log (binary rows: one loop for everything).  With AVX-512, float32 rows
 * of 2 to XENTC_LL_FUSED_MAX contiguous values take one loop for everything too
 * (xm512_ll_pairs_f32; xm512_ll_rows_f32: row sums in float, the rows near the tolerance
 * summed again in double), and float64 rows of 3 to 16 contiguous values take one loop for
 * the checks and the gather (xm512_ll_short_f64), and for an unweighted sum too.  With
 * AVX-512 an unweighted sum is the log of the probabilities' product (xm512_ll_acc).
 * Block sums are added by a binary cascade; the caller adds the task sums in a fixed order.
 */

/* -log(clip(g, lo, hi)), lo > 0 normal: for float64 input the double-double log rounded
   once; for float32 input (a float32 g, a float32-accurate term of a double sum) the
   division-free log of float accuracy. */
XM_INLINE double XN(ll_neglog)(double g, double lo, double hi)
{
    g = g < lo ? lo : g;
    g = g > hi ? hi : g;
#if XT_IS_F32
    return -xm_log_f32acc(g);
#else
    xm_dd r = xm_log_dd(g, 0.0);
    return -(r.hi + r.lo);
#endif
}

/* 1 for a value outside [0, 1] or NaN, else 0 (selects of doubles, which vectorise). */
XM_INLINE double XN(ll_outside)(double v)
{
    double b = v >= 0.0 ? 0.0 : 1.0;
    return v <= 1.0 ? b : 1.0;
}

/* A value's bits as an unsigned integer of its width.  Those of a value in [0, 1] are at
   most XN_LL_ONE's; a NaN, a value above 1 and a negative value (the sign bit) have more,
   and so has -0.0, which is valid.  The fast loops keep the blocks' maximum, one integer
   max per vector; a block whose maximum exceeds XN_LL_ONE is then counted exactly. */
#if XT_IS_F32
#  define XN_LL_UINT uint32_t
#  define XN_LL_ONE 0x3f800000u
#else
#  define XN_LL_UINT uint64_t
#  define XN_LL_ONE 0x3ff0000000000000u
#endif

XM_INLINE XN_LL_UINT XN(ll_bits)(XT v)
{
    XN_LL_UINT u;
    memcpy(&u, &v, sizeof u);
    return u;
}

/* The exact number of values outside [0, 1] (or NaN) in nb rows of n_cols values. */
XM_INLINE double XN(ll_count_outside)(const XT *blk, ptrdiff_t nb, ptrdiff_t n_cols,
                                      ptrdiff_t rs, ptrdiff_t cs)
{
    double bad = 0.0;
    for (ptrdiff_t k = 0; k < nb; k++)
        for (ptrdiff_t j = 0; j < n_cols; j++)
            bad += XN(ll_outside)((double)blk[k * rs + j * cs]);
    return bad;
}

/* The loss of n gathered probabilities g (weights w[0..n) when weighted); each row's
   unweighted loss is also stored in loss[0..n) if loss is not NULL. */
XM_INLINE double XN(ll_block_loss)(const int weighted, const double *restrict g,
                                   const double *restrict w, double *restrict loss,
                                   ptrdiff_t n, double lo, double hi)
{
#if XENTC_ISA_AVX512
#  if XT_IS_F32
    return xm512_ll_block_loss_f32(g, weighted ? w : NULL, loss, n, lo, hi);
#  else
    if (!weighted && loss == NULL && lo >= 0x1p-511)
        return xm512_ll_prod_loss_f64(g, n, lo, hi);
#  endif
#endif
    double s = 0.0;
#pragma omp simd reduction(+:s)
    for (ptrdiff_t k = 0; k < n; k++) {
        double l = XN(ll_neglog)(g[k], lo, hi);
        if (loss)
            loss[k] = l;
        s += weighted ? w[k] * l : l;
    }
    return s;
}

/* The loss of nb binary rows (p the probability of the second class, stride rs), as
   ll_block_loss: the probability of row k's class is 1 - p, formed in double (exact for
   float32 input), for code 0 and p for any other code.  *vmax and *cmax receive the maxima
   of the values' bits and of the codes.  With g (a constant NULL or not at each call), the
   probabilities are only stored there, and 0 is returned. */
XM_INLINE double XN(ll_binary_pass)(const int weighted, const int code32,
                                    const XT *restrict p, ptrdiff_t rs, const void *y,
                                    const double *restrict w, double *restrict loss,
                                    double *restrict g, ptrdiff_t nb, double lo, double hi,
                                    XN_LL_UINT *vmax, uint64_t *cmax)
{
    const int64_t *y64 = (const int64_t *)y;
    const int32_t *y32 = (const int32_t *)y;
    XN_LL_UINT vm = 0;
    uint64_t cm = 0;
    double s = 0.0;
#pragma omp simd reduction(max:vm, cm) reduction(+:s)
    for (ptrdiff_t k = 0; k < nb; k++) {
        XT v = p[k * rs];
        XN_LL_UINT b = XN(ll_bits)(v);
        vm = b > vm ? b : vm;
        uint64_t c = code32 ? (uint64_t)(int64_t)y32[k] : (uint64_t)y64[k];
        cm = c > cm ? c : cm;
        double gk = c != 0 ? (double)v : 1.0 - (double)v;
        if (g) {
            g[k] = gk;
        } else {
            double l = XN(ll_neglog)(gk, lo, hi);
            if (loss)
                loss[k] = l;
            s += weighted ? w[k] * l : l;
        }
    }
    *vmax = vm;
    *cmax = cm;
    return s;
}

/* ll_binary_pass's loss: in one loop (a second one over the gathered probabilities was 5-8 %
   slower), or with AVX-512 for float32, in its table log. */
XM_INLINE double XN(ll_binary_block)(const int weighted, const int code32,
                                     const XT *restrict p, ptrdiff_t rs, const void *y,
                                     const double *restrict w, double *restrict loss,
                                     ptrdiff_t nb, double lo, double hi, XN_LL_UINT *vmax,
                                     uint64_t *cmax)
{
#if XENTC_ISA_AVX512 && XT_IS_F32
    if (rs == 1)
        return xm512_ll_binary_f32(p, y, code32, weighted ? w : NULL, loss, nb, lo, hi, vmax,
                                   cmax);
    /* strided: the probabilities gathered, then the same loop of logs (the result does not
       depend on the layout) */
    double g[XENTC_LL_ROWS];
    XN(ll_binary_pass)(0, code32, p, rs, y, NULL, NULL, g, nb, lo, hi, vmax, cmax);
    return xm512_ll_block_loss_f32(g, weighted ? w : NULL, loss, nb, lo, hi);
#else
    return XN(ll_binary_pass)(weighted, code32, p, rs, y, w, loss, NULL, nb, lo, hi, vmax,
                              cmax);
#endif
}

XM_INLINE double XN(ll_task)(const int weighted, const int layout, const int code32,
                             const xentc_ll_args *A,
                             ptrdiff_t r0, ptrdiff_t r1, double *n_bad, double *n_off,
                             double *n_bad_code)
{
    const XT *P = (const XT *)A->p;
    const ptrdiff_t rs = A->rs, cs = A->cs, C = A->n_cols;
    /* the codes as int64 or int32 (code32 is a constant in each instance) */
    const int64_t *y64 = code32 ? NULL : (const int64_t *)A->y;
    const int32_t *y32 = code32 ? (const int32_t *)A->y : NULL;
    const int has_y = A->y != NULL;
    const uint64_t n_codes = C == 1 ? 2 : (uint64_t)C;
#define XN_LL_CODE(i) (code32 ? (int64_t)y32[i] : y64[i])
    double g[XENTC_LL_ROWS], s[XENTC_LL_ROWS];
    double bad = 0.0, off = 0.0, bad_code = 0.0;
    int all_seen = 0;
    xm_cascade sum;
    xm_cascade_init(&sum);
    /* rows per block: about XENTC_LL_BLOCK_BYTES of P, so that a block and the next one
       (prefetched while this one is computed) stay in L1 with the block's arrays (at C = 10,
       float64: 5.2 ns a row in blocks of 64, 6.4 in blocks of 128, 7.0 in blocks of 256) */
    ptrdiff_t rows = XENTC_LL_BLOCK_BYTES / (C * (ptrdiff_t)sizeof(XT)) / 8 * 8;
    rows = rows < 8 ? 8 : rows > XENTC_LL_ROWS ? XENTC_LL_ROWS : rows;
    for (ptrdiff_t b0 = r0; b0 < r1; b0 += rows) {
        const ptrdiff_t nb = r1 - b0 < rows ? r1 - b0 : rows;
        const XT *blk = P + b0 * rs;
        const void *yb = code32 ? (const void *)(y32 + b0) : (const void *)(y64 + b0);
        XN_LL_UINT vmax = 0;
        uint64_t cmax = 0;
        int summed = 0;   /* the block's loss is in sum already */
#if XENTC_ISA_AVX512 && !XT_IS_F32
        if (layout != XENTC_LL_BY_COLUMN && C > 2 && C <= 16) {
            /* the checks and the gather in one loop, and an unweighted sum by the product
               (else ll_block_loss below sums the gathered probabilities' terms) */
            const int prod = has_y && !weighted && A->loss == NULL && A->lo >= 0x1p-511;
            double ob;
            const double ls = xm512_ll_short_f64(blk, rs, C, nb, has_y ? yb : NULL, code32,
                                                 prod ? NULL : g, A->lo, A->hi, A->tol,
                                                 rs == C && b0 + nb < r1 ? blk + nb * C : NULL,
                                                 &vmax, &cmax, &ob);
            off += ob;
            if (prod)
                xm_cascade_add(&sum, ls);
            summed = prod;
        } else
#endif
#if XENTC_ISA_AVX512 && XT_IS_F32
        const int pairs = layout == XENTC_LL_FLAT && C == 2;
        if (pairs || (layout != XENTC_LL_BY_COLUMN && C > 2 && C <= XENTC_LL_FUSED_MAX &&
                      rs < XENTC_LL_FUSED_MAX_STRIDE && A->tol >= XENTC_LL_FUSED_MIN_TOL)) {
            /* everything in one loop (the loss included) */
            const void *codes = has_y ? yb : NULL;
            const double *wb = weighted ? A->w + b0 : NULL;
            double *lb = A->loss ? A->loss + b0 : NULL;
            double ob;
            const double ls =
                pairs ? xm512_ll_pairs_f32(blk, nb, codes, code32, wb, lb, A->lo, A->hi, A->tol,
                                           &vmax, &cmax, &ob)
                      : (C <= 16 ? xm512_ll_short_f32 : xm512_ll_medium_f32)(
                            blk, rs, C, nb, codes, code32, wb, lb, A->lo, A->hi, A->tol,
                            rs == C && b0 + nb < r1 ? blk + nb * C : NULL, &vmax, &cmax, &ob);
            off += ob;
            if (has_y)
                xm_cascade_add(&sum, ls);
            summed = 1;
        } else
#endif
        if (C == 1) {
            /* binary: the row sum (1 - p) + p is 1 to within an ulp, never off */
            const double *wb = weighted ? A->w + b0 : NULL;
            double *lb = A->loss ? A->loss + b0 : NULL;
            xm_cascade_add(&sum, rs == 1 ? XN(ll_binary_block)(weighted, code32, blk, 1, yb, wb,
                                                              lb, nb, A->lo, A->hi, &vmax,
                                                              &cmax)
                                         : XN(ll_binary_block)(weighted, code32, blk, rs, yb, wb,
                                                              lb, nb, A->lo, A->hi, &vmax,
                                                              &cmax));
        } else {
            if (layout == XENTC_LL_BY_ROW) {
                for (ptrdiff_t k = 0; k < nb; k++) {
                    const XT *row = blk + k * rs;
                    double rsum = 0.0;
                    XN_LL_UINT vm = 0;
#pragma omp simd reduction(+:rsum) reduction(max:vm)
                    for (ptrdiff_t j = 0; j < C; j++) {
                        XN_LL_UINT b = XN(ll_bits)(row[j]);
                        vm = b > vm ? b : vm;
                        rsum += (double)row[j];
                    }
                    vmax = vm > vmax ? vm : vmax;
                    s[k] = rsum;
                }
            } else if (layout == XENTC_LL_FLAT) {
                /* short contiguous rows: the range check runs over the block as one flat
                   array, the row sums (from L1) pairwise at C = 2, else row by row */
                XN_LL_UINT vm = 0;
#pragma omp simd reduction(max:vm)
                for (ptrdiff_t e = 0; e < nb * C; e++) {
                    XN_LL_UINT b = XN(ll_bits)(blk[e]);
                    vm = b > vm ? b : vm;
                }
                vmax = vm;
                if (C == 2) {
#pragma omp simd
                    for (ptrdiff_t k = 0; k < nb; k++)
                        s[k] = (double)blk[2 * k] + (double)blk[2 * k + 1];
                } else {
#if XENTC_ISA_AVX512
#  if XT_IS_F32
                    xm512_row_sums_f32(blk, C, C, nb, s, b0 + nb < r1 ? blk + nb * C : NULL);
#  else
                    xm512_row_sums_f64(blk, C, C, nb, s, b0 + nb < r1 ? blk + nb * C : NULL);
#  endif
#else
                    /* one scalar sum per row, in four chains: the rows are independent
                       chains the CPU overlaps, faster than vectors assembled from strided
                       loads (3x at C = 10 in isolation); four accumulators shorten each
                       row's chain (5 % at C = 10) */
                    const int more = b0 + nb < r1;
                    for (ptrdiff_t k = 0; k < nb; k++) {
                        const XT *row = blk + k * C;
                        if (more) {
                            /* the two lines of the next block's row k (C < 16), fetched
                               while this loop computes (the hardware prefetcher leaves
                               the memory idle here): 9-25 % at C = 10 */
                            XM_PREFETCH(row + nb * C);
                            XM_PREFETCH(row + nb * C + C - 1);
                        }
                        double s0 = 0.0, s1 = 0.0, s2 = 0.0, s3 = 0.0;
                        ptrdiff_t j = 0;
                        for (; j + 4 <= C; j += 4) {
                            s0 += (double)row[j];
                            s1 += (double)row[j + 1];
                            s2 += (double)row[j + 2];
                            s3 += (double)row[j + 3];
                        }
                        for (; j < C; j++)
                            s0 += (double)row[j];
                        s[k] = (s0 + s1) + (s2 + s3);
                    }
#endif
                }
            } else {
                XN_LL_UINT vm = 0;
                for (ptrdiff_t k = 0; k < nb; k++)
                    s[k] = 0.0;
                for (ptrdiff_t j = 0; j < C; j++) {
                    const XT *col = blk + j * cs;
#pragma omp simd reduction(max:vm)
                    for (ptrdiff_t k = 0; k < nb; k++) {
                        XN_LL_UINT b = XN(ll_bits)(col[k * rs]);
                        vm = b > vm ? b : vm;
                        s[k] += (double)col[k * rs];
                    }
                }
                vmax = vm;
            }
            double ob = 0.0;
#pragma omp simd reduction(+:ob)
            for (ptrdiff_t k = 0; k < nb; k++)
                ob += __builtin_fabs(s[k] - 1.0) <= A->tol ? 0.0 : 1.0;
            off += ob;
            if (has_y) {
#pragma omp simd reduction(max:cmax)
                for (ptrdiff_t k = 0; k < nb; k++) {
                    uint64_t c = (uint64_t)XN_LL_CODE(b0 + k);
                    cmax = c > cmax ? c : cmax;
                }
                if (cmax < n_codes) {
                    for (ptrdiff_t k = 0; k < nb; k++)
                        g[k] = (double)blk[k * rs + (ptrdiff_t)XN_LL_CODE(b0 + k) * cs];
                } else {
                    /* a code outside [0, C) reads column 0 instead */
                    for (ptrdiff_t k = 0; k < nb; k++) {
                        uint64_t c = (uint64_t)XN_LL_CODE(b0 + k);
                        g[k] = (double)blk[k * rs + (ptrdiff_t)(c < n_codes ? c : 0) * cs];
                    }
                }
            }
        }
        if (vmax > XN_LL_ONE)
            bad += XN(ll_count_outside)(blk, nb, C, rs, cs);
        if (has_y && cmax >= n_codes) {
            for (ptrdiff_t k = 0; k < nb; k++)
                bad_code += (uint64_t)XN_LL_CODE(b0 + k) < n_codes ? 0.0 : 1.0;
        }
        if (A->seen != NULL && !all_seen) {
            /* a flag is read before it is written, so that the tasks stop writing to the
               shared line once a class has been seen, and stop looking once all have */
            for (ptrdiff_t k = 0; k < nb; k++) {
                uint64_t c = (uint64_t)XN_LL_CODE(b0 + k);
                if (c < n_codes && !__atomic_load_n(A->seen + c, __ATOMIC_RELAXED))
                    __atomic_store_n(A->seen + c, (unsigned char)1, __ATOMIC_RELAXED);
            }
            all_seen = 1;
            for (uint64_t c = 0; c < n_codes && all_seen; c++)
                all_seen = __atomic_load_n(A->seen + c, __ATOMIC_RELAXED);
        }
        if (has_y && C != 1 && !summed)
            xm_cascade_add(&sum, XN(ll_block_loss)(weighted, g, weighted ? A->w + b0 : NULL,
                                                   A->loss ? A->loss + b0 : NULL, nb, A->lo,
                                                   A->hi));
    }
    *n_bad = bad;
    *n_off = off;
    *n_bad_code = bad_code;
    return xm_cascade_total(&sum);
#undef XN_LL_CODE
}

/*
 * Entry point: rows [r0, r1) of the problem A.  Returns the (weighted) loss sum, 0 when
 * A->y is NULL (checks only), and stores the rows' losses where A->loss is not NULL;
 * *n_bad receives the number of values outside [0, 1], *n_off the number of rows whose sum
 * is off (never in the binary mode) and *n_bad_code the number of codes outside [0, n_cols)
 * ([0, 1] when binary; such rows read column 0).  Where n_bad or n_bad_code is not 0 the
 * sum is meaningless.
 */
XENTC_ENTRY double XN(log_loss_task)(const xentc_ll_args *A, ptrdiff_t r0, ptrdiff_t r1,
                                     double *n_bad, double *n_off, double *n_bad_code)
{
    const int weighted = A->w != NULL;
    const ptrdiff_t C = A->n_cols;
    const int layout = A->cs != 1 ? XENTC_LL_BY_COLUMN
                       : C >= XENTC_LL_ROW_WISE_MIN ? XENTC_LL_BY_ROW
                       : A->rs == C ? XENTC_LL_FLAT : XENTC_LL_BY_COLUMN;
#define XN_LL_CASE(LAYOUT)                                                                  \
    case LAYOUT:                                                                            \
        if (A->code32)                                                                      \
            return weighted ? XN(ll_task)(1, LAYOUT, 1, A, r0, r1, n_bad, n_off, n_bad_code) \
                            : XN(ll_task)(0, LAYOUT, 1, A, r0, r1, n_bad, n_off, n_bad_code);\
        return weighted ? XN(ll_task)(1, LAYOUT, 0, A, r0, r1, n_bad, n_off, n_bad_code)    \
                        : XN(ll_task)(0, LAYOUT, 0, A, r0, r1, n_bad, n_off, n_bad_code);
    switch (layout) {
        XN_LL_CASE(XENTC_LL_BY_ROW)
        XN_LL_CASE(XENTC_LL_FLAT)
        XN_LL_CASE(XENTC_LL_BY_COLUMN)
    }
#undef XN_LL_CASE
    return 0.0;
}

#undef XN_LL_UINT
#undef XN_LL_ONE
