/*
 * softmax / log_softmax over rows: a template, included by xentc_kernels.h after
 * xentc_lse_impl.h (same macros: XT, XT_IS_F32, XN, XENTC_ENTRY).
 *
 * Per row: m = max, L = log1p(v) with v the sum of exp(x - m) over all elements but one
 * maximal one (a double-double), then
 *   log_softmax(x)_j = (x_j - m) - L      (x_j - m exact by TwoSum: the largest output of a
 *                                           row keeps full relative precision, even -1e-18)
 *   softmax(x)_j     = exp((x_j - m) - L)  (argument exact to ~2^-105, subnormal outputs
 *                                           correctly scaled)
 * Rows that are not finite follow scipy.special exactly (xentc_softmax_row_kind).
 */

/*
 * The state of a row, with a tail that is tiny enough for flushed terms to matter (below
 * 2^-960; the scan flushes terms below exp(-708)) summed again exactly: the largest
 * log_softmax output of such a row is minus that tail.
 */
XM_INLINE xentc_lse_state XN(lse_row_state)(const XT *x, ptrdiff_t n)
{
    xentc_lse_state s = XN(lse_scan)(x, n, 1);
    if (s.cnt == 1.0 && s.st < 0x1p-960 && __builtin_fabs(s.m) < XM_INF) {
        const double nm = -s.m;
        double st = 0.0;
        for (ptrdiff_t j = 0; j < n; j++) {
            double v = (double)x[j];
            xm_dd t = xm_two_sum(v, nm);
            double e = xm_exp_full(t.hi, t.lo);
            st += (v == s.m) | (v == -XM_INF) ? 0.0 : e;
        }
        s.st = st;
    }
    return s;
}

/* The statistics of one row for the apply step: kind, max, L = log1p(v) as hi + lo. */
typedef struct {
    int kind;
    double m, lhi, llo;
} XN(softmax_stats);

XM_INLINE XN(softmax_stats) XN(softmax_stats_of)(xentc_lse_state s)
{
    XN(softmax_stats) r;
    r.kind = xentc_softmax_row_kind(s);
    r.m = s.m;
    r.lhi = 0.0;
    r.llo = 0.0;
    if (r.kind == XENTC_ROW_FINITE) {
        xm_dd L = xm_log1p_dd(s.st + (s.cnt - 1.0));
        r.lhi = L.hi;
        r.llo = L.lo;
    }
    return r;
}

/* Write the n outputs of (a segment of) a row from its statistics. */
XM_INLINE void XN(softmax_apply_row)(const XT *restrict x, ptrdiff_t n, XN(softmax_stats) st,
                                     XT *restrict y, int log_out)
{
    if (st.kind == XENTC_ROW_FINITE) {
        const double nm = -st.m, lhi = st.lhi, llo = st.llo;
        if (log_out) {
#pragma omp simd
            for (ptrdiff_t j = 0; j < n; j++) {
                double v = (double)x[j];
#if XT_IS_F32
                double r = (v + nm) - (lhi + llo);
#else
                xm_dd t = xm_two_sum(v, nm);
                xm_dd a = xm_two_sum(t.hi, -lhi);
                double r = a.hi + ((a.lo + t.lo) - llo);
#endif
                y[j] = (XT)(v == -XM_INF ? v : r);   /* TwoSum of -inf has a NaN low part */
            }
        } else {
#pragma omp simd
            for (ptrdiff_t j = 0; j < n; j++) {
                double v = (double)x[j];
#if XT_IS_F32
                double r = xm_exp_f32acc((v + nm) - (lhi + llo));
#else
                xm_dd t = xm_two_sum(v, nm);
                xm_dd a = xm_two_sum(t.hi, -lhi);
                double r = xm_exp_full(a.hi, (a.lo + t.lo) - llo);
#endif
                y[j] = (XT)(v == -XM_INF ? 0.0 : r);
            }
        }
    } else {
        /* scipy: NaN rows and (for softmax) every non-finite row are all NaN; log_softmax of
           a row with +inf is NaN at the +inf entries and -inf elsewhere */
        const double nan = __builtin_nan("");
        for (ptrdiff_t j = 0; j < n; j++) {
            double v = nan;
            if (log_out && st.kind == XENTC_ROW_POSINF && (double)x[j] != XM_INF)
                v = -XM_INF;
            y[j] = (XT)v;
        }
    }
}

/*
 * Entry point: softmax (log_out = 0) or log_softmax (log_out = 1) of the n_rows rows at
 * x + i * ldx into y + i * ldy.  Returns the number of rows for which NumPy would report
 * "invalid value encountered in subtract" (scipy computes inf - inf there).
 */
XENTC_ENTRY ptrdiff_t XN(softmax_rows)(const XT *x, ptrdiff_t ldx, ptrdiff_t n_rows,
                                      ptrdiff_t n_cols, XT *y, ptrdiff_t ldy, int log_out)
{
    ptrdiff_t n_invalid = 0;
    for (ptrdiff_t i = 0; i < n_rows; i++) {
        const XT *row = x + i * ldx;
        XN(softmax_stats) st = XN(softmax_stats_of)(XN(lse_row_state)(row, n_cols));
        n_invalid += st.kind == XENTC_ROW_POSINF || st.kind == XENTC_ROW_NEGINF;
        XN(softmax_apply_row)(row, n_cols, st, y + i * ldy, log_out);
    }
    return n_invalid;
}

/* Entry point: write a segment of a long row from the row's merged state. */
XENTC_ENTRY void XN(softmax_apply)(const XT *x, ptrdiff_t n, xentc_lse_state row_state, XT *y,
                                  int log_out)
{
    XN(softmax_apply_row)(x, n, XN(softmax_stats_of)(row_state), y, log_out);
}
