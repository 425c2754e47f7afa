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
 * Rows are processed in blocks of XENTC_LL_ROWS.  The checks read each value once: row by
 * row when the rows are long and contiguous (XENTC_LL_BY_ROW); for short contiguous rows
 * the range check runs over the block as one flat array and the row sums are then taken
 * from L1 (XENTC_LL_FLAT); otherwise column by column across the block
 * (XENTC_LL_BY_COLUMN).  The probabilities of the samples' classes are then gathered and go
 * through one vector loop of clip and log.  Block sums are added by a binary cascade; the
 * caller adds the task sums in a fixed order.
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

/* The loss of n gathered probabilities g (weights w[0..n) when weighted); each row's
   unweighted loss is also stored in loss[0..n) if loss is not NULL. */
XM_INLINE double XN(ll_block_loss)(const int weighted, const double *restrict g,
                                   const double *restrict w, double *restrict loss,
                                   ptrdiff_t n, double lo, double hi)
{
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
#define XN_LL_CODE(i) (code32 ? (int64_t)y32[i] : y64[i])
    double g[XENTC_LL_ROWS], s[XENTC_LL_ROWS];
    double bad = 0.0, off = 0.0, bad_code = 0.0;
    int all_seen = 0;
    xm_cascade sum;
    xm_cascade_init(&sum);
    for (ptrdiff_t b0 = r0; b0 < r1; b0 += XENTC_LL_ROWS) {
        const ptrdiff_t nb = r1 - b0 < XENTC_LL_ROWS ? r1 - b0 : XENTC_LL_ROWS;
        const XT *blk = P + b0 * rs;
        if (C == 1) {
            /* binary: the row sum (1 - p) + p is 1 to within an ulp, never off */
            double bb = 0.0, bc = 0.0;
            if (rs == 1) {
#pragma omp simd reduction(+:bb, bc)
                for (ptrdiff_t k = 0; k < nb; k++) {
                    double v = (double)blk[k];
                    bb += XN(ll_outside)(v);
                    int64_t c = XN_LL_CODE(b0 + k);
                    bc += (uint64_t)c > 1 ? 1.0 : 0.0;
                    g[k] = c != 0 ? v : 1.0 - v;
                }
            } else {
#pragma omp simd reduction(+:bb, bc)
                for (ptrdiff_t k = 0; k < nb; k++) {
                    double v = (double)blk[k * rs];
                    bb += XN(ll_outside)(v);
                    int64_t c = XN_LL_CODE(b0 + k);
                    bc += (uint64_t)c > 1 ? 1.0 : 0.0;
                    g[k] = c != 0 ? v : 1.0 - v;
                }
            }
            bad += bb;
            bad_code += bc;
        } else if (layout == XENTC_LL_BY_ROW) {
            for (ptrdiff_t k = 0; k < nb; k++) {
                const XT *row = blk + k * rs;
                double rsum = 0.0, rb = 0.0;
#pragma omp simd reduction(+:rsum, rb)
                for (ptrdiff_t j = 0; j < C; j++) {
                    double v = (double)row[j];
                    rsum += v;
                    rb += XN(ll_outside)(v);
                }
                bad += rb;
                s[k] = rsum;
            }
        } else if (layout == XENTC_LL_FLAT) {
            /* short contiguous rows: the range check runs over the block as one flat array,
               the row sums (from L1) pairwise at C = 2, else row by row */
            double bb = 0.0;
#pragma omp simd reduction(+:bb)
            for (ptrdiff_t e = 0; e < nb * C; e++)
                bb += XN(ll_outside)((double)blk[e]);
            bad += bb;
            if (C == 2) {
#pragma omp simd
                for (ptrdiff_t k = 0; k < nb; k++)
                    s[k] = (double)blk[2 * k] + (double)blk[2 * k + 1];
            } else {
                /* one scalar sum per row, in four chains: the rows are independent chains
                   the CPU overlaps, faster than vectors assembled from strided loads (3x at
                   C = 10 in isolation); four accumulators shorten each row's chain (5 % at
                   C = 10) */
                for (ptrdiff_t k = 0; k < nb; k++) {
                    const XT *row = blk + k * C;
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
            }
        } else {
            double bb = 0.0;
            for (ptrdiff_t k = 0; k < nb; k++)
                s[k] = 0.0;
            for (ptrdiff_t j = 0; j < C; j++) {
                const XT *col = blk + j * cs;
#pragma omp simd reduction(+:bb)
                for (ptrdiff_t k = 0; k < nb; k++) {
                    double v = (double)col[k * rs];
                    s[k] += v;
                    bb += XN(ll_outside)(v);
                }
            }
            bad += bb;
        }
        if (C != 1) {
            double ob = 0.0;
#pragma omp simd reduction(+:ob)
            for (ptrdiff_t k = 0; k < nb; k++)
                ob += __builtin_fabs(s[k] - 1.0) <= A->tol ? 0.0 : 1.0;
            off += ob;
            if (has_y) {
                /* a code outside [0, C) is counted and reads column 0 instead */
                double bc = 0.0;
                for (ptrdiff_t k = 0; k < nb; k++) {
                    uint64_t c = (uint64_t)XN_LL_CODE(b0 + k);
                    int ok = c < (uint64_t)C;
                    bc += ok ? 0.0 : 1.0;
                    g[k] = (double)blk[k * rs + (ptrdiff_t)(ok ? c : 0) * cs];
                }
                bad_code += bc;
            }
        }
        if (A->seen != NULL && !all_seen) {
            /* a flag is read before it is written, so that the tasks stop writing to the
               shared line once a class has been seen, and stop looking once all have */
            const uint64_t n_codes = C == 1 ? 2 : (uint64_t)C;
            for (ptrdiff_t k = 0; k < nb; k++) {
                uint64_t c = (uint64_t)XN_LL_CODE(b0 + k);
                if (c < n_codes && !__atomic_load_n(A->seen + c, __ATOMIC_RELAXED))
                    __atomic_store_n(A->seen + c, (unsigned char)1, __ATOMIC_RELAXED);
            }
            all_seen = 1;
            for (uint64_t c = 0; c < n_codes && all_seen; c++)
                all_seen = __atomic_load_n(A->seen + c, __ATOMIC_RELAXED);
        }
        if (has_y)
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
