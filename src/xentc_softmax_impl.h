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
            /* y = x - c with c = m + L as a double-double (chi + clo): one TwoSum per element */
            xm_dd c = xm_two_sum(st.m, lhi);
            const double nchi = -c.hi, clo = c.lo + llo;
#pragma omp simd
            for (ptrdiff_t j = 0; j < n; j++) {
                double v = (double)x[j];
#if XT_IS_F32
                double r = (v + nchi) - clo;
#else
                xm_dd t = xm_two_sum(v, nchi);
                double r = t.hi + (t.lo - clo);
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
 * softmax of one row (any length, contiguous output) with one exp per element: the row max m,
 * then e = exp(x - m) (exact shift) written to y while summing S = sum(e) (XENTC_LANES
 * partial sums), then y = e / S, formed as q = e * (1/S) plus one Newton correction
 * (q + (e - q S) / S, two FMAs) so that it is e / S to half an ulp.  For rows whose max is
 * not finite the statistics path writes scipy's values; returns 1 for the rows NumPy warns on.
 */
XM_INLINE ptrdiff_t XN(softmax_row)(const XT *restrict x, ptrdiff_t n, XT *restrict y)
{
    double m = -XM_INF;
#pragma omp simd reduction(max:m)
    for (ptrdiff_t j = 0; j < n; j++) {
        double v = (double)x[j];
        m = v > m ? v : m;
    }
    if (!(__builtin_fabs(m) < XM_INF)) {
        XN(softmax_stats) st = XN(softmax_stats_of)(XN(lse_row_state)(x, n));
        XN(softmax_apply_row)(x, n, st, y, 0);
        return st.kind == XENTC_ROW_POSINF || st.kind == XENTC_ROW_NEGINF;
    }
    /* the maxima (e = 1) are counted apart from the tail: added to a partial sum, 1.0 would
       absorb tail terms below half its ulp.  The tail is summed by XENTC_LANES partial sums
       per block of XENTC_ROW_BLOCK elements, the block sums combined pairwise. */
    const double nm = -m;
    xm_cascade tail;
    xm_cascade_init(&tail);
    double cnt = 0.0;
    for (ptrdiff_t b0 = 0; b0 < n; b0 += XENTC_ROW_BLOCK) {
        const ptrdiff_t nb = n - b0 < XENTC_ROW_BLOCK ? n - b0 : XENTC_ROW_BLOCK;
        const XT *restrict xb = x + b0;
        XT *restrict yb = y + b0;
        double acc[XENTC_LANES], tops[XENTC_LANES];
        for (int l = 0; l < XENTC_LANES; l++)
            acc[l] = tops[l] = 0.0;
        for (ptrdiff_t j0 = 0; j0 < nb; j0 += XENTC_LANES) {
            const int w = nb - j0 < XENTC_LANES ? (int)(nb - j0) : XENTC_LANES;
#pragma omp simd
            for (int l = 0; l < w; l++) {
                double v = (double)xb[j0 + l];
#if XT_IS_F32
                double e = xm_exp_f32acc(v + nm);
                yb[j0 + l] = (XT)e;
#else
                xm_dd t = xm_two_sum(v, nm);
                double e = xm_exp_full(t.hi, t.lo);
                e = v == -XM_INF ? 0.0 : e;
                yb[j0 + l] = e;
#endif
                int top = v == m;
                acc[l] += top ? 0.0 : e;
                tops[l] += top ? 1.0 : 0.0;
            }
        }
        for (int w = XENTC_LANES / 2; w > 0; w /= 2)
            for (int l = 0; l < w; l++) {
                acc[l] += acc[l + w];
                tops[l] += tops[l + w];
            }
        xm_cascade_add(&tail, acc[0]);
        cnt += tops[0];
    }
    const double S = cnt + xm_cascade_total(&tail), inv = 1.0 / S;
#if XT_IS_F32
    /* float outputs: the float-rounded e times 1/S in double is within 2^-24 relative of
       exp(x - m) / S, i.e. an ulp of float; recompute the float from double for 1/2 ulp */
#pragma omp simd
    for (ptrdiff_t j = 0; j < n; j++) {
        double v = (double)x[j];
        y[j] = (XT)(xm_exp_f32acc(v + nm) * inv);
    }
#else
#pragma omp simd
    for (ptrdiff_t j = 0; j < n; j++) {
        double e = y[j];
        double q = e * inv;
        y[j] = q + (e - q * S) * inv;
    }
#endif
    return 0;
}

/*
 * For each of nb rows of C values (and their stored e = exp(x - M)): m[i] the row max,
 * cnt[i] the number of maxima, st[i] the sum of e below the max (8-way tree), em[i] the e of
 * the first maximum.  Unrolled per small C.
 */
XM_INLINE void XN(row_max_tail_c)(const XT *restrict x, const double *restrict e, ptrdiff_t nb,
                                  ptrdiff_t C, double *restrict m, double *restrict st,
                                  double *restrict em, double *restrict cnt)
{
    for (ptrdiff_t i = 0; i < nb; i++) {
        const XT *row = x + i * C;
        const double *er = e + i * C;
        double mm = (double)row[0], emax = er[0];
        for (ptrdiff_t j = 1; j < C; j++) {
            double v = (double)row[j];
            emax = v > mm ? er[j] : emax;
            mm = v > mm ? v : mm;
        }
        double a[8] = {0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0}, c = 0.0;
        for (ptrdiff_t j = 0; j < C; j++) {
            int top = (double)row[j] == mm;
            a[j & 7] += top ? 0.0 : er[j];
            c += top ? 1.0 : 0.0;
        }
        m[i] = mm;
        st[i] = ((a[0] + a[1]) + (a[2] + a[3])) + ((a[4] + a[5]) + (a[6] + a[7]));
        em[i] = emax;
        cnt[i] = c;
    }
}

#define XN_ROW_MAX_TAIL_CASE(CC)                                                            \
    case CC:                                                                                \
        XN(row_max_tail_c)(x, e, nb, CC, m, st, em, cnt);                                   \
        break;

XM_INLINE void XN(row_max_tail)(const XT *restrict x, const double *restrict e, ptrdiff_t nb,
                                ptrdiff_t C, double *restrict m, double *restrict st,
                                double *restrict em, double *restrict cnt)
{
    switch (C) {
    XN_ROW_MAX_TAIL_CASE(3) XN_ROW_MAX_TAIL_CASE(4) XN_ROW_MAX_TAIL_CASE(5)
    XN_ROW_MAX_TAIL_CASE(6) XN_ROW_MAX_TAIL_CASE(7) XN_ROW_MAX_TAIL_CASE(8)
    XN_ROW_MAX_TAIL_CASE(9) XN_ROW_MAX_TAIL_CASE(10) XN_ROW_MAX_TAIL_CASE(12)
    XN_ROW_MAX_TAIL_CASE(16)
    default:
        XN(row_max_tail_c)(x, e, nb, C, m, st, em, cnt);
    }
}
#undef XN_ROW_MAX_TAIL_CASE

/*
 * C == 2, contiguous rows: with e = exp(-|a - b|) (a - b exact),
 *   softmax = (1 / (1 + e), e / (1 + e)),  log_softmax = (-log1p(e), -|a - b| - log1p(e))
 * for (larger, smaller), vectorised across rows.  Rows with a NaN or an infinite max are
 * rewritten afterwards by the scalar rules.
 */
XM_INLINE ptrdiff_t XN(softmax_pair)(const XT *restrict x, ptrdiff_t n_rows, XT *restrict y,
                                     int log_out)
{
    int any_special = 0;
#pragma omp simd reduction(|:any_special)
    for (ptrdiff_t i = 0; i < n_rows; i++) {
        double a = (double)x[2 * i], b = (double)x[2 * i + 1];
        int a_big = a >= b;
        xm_dd d = xm_two_sum(a, -b);                /* |d| = (larger - smaller) */
        double dh = __builtin_fabs(d.hi), dl = d.hi >= 0.0 ? d.lo : -d.lo;
#if XT_IS_F32
        double e = xm_exp_f32acc(-(dh + dl));
        double big, small;
        if (log_out) {
            double L = xm_log1p01_f32acc(e);
            big = -L;
            small = -(dh + dl) - L;
        } else {
            big = 1.0 / (1.0 + e);
            small = e * big;
        }
#else
        double e = xm_exp_full(-dh, -dl);
        double big, small;
        if (log_out) {
            xm_dd L = xm_log1p01_dd(e);
            big = -L.hi - L.lo;
            xm_dd t = xm_two_sum(-dh, -L.hi);
            small = t.hi + ((t.lo - dl) - L.lo);
        } else {
            xm_dd L = xm_log1p01_dd(e);             /* small = exp(-|d| - log1p(e)) */
            xm_dd t = xm_two_sum(-dh, -L.hi);
            big = 1.0 / (1.0 + e);
            small = xm_exp_full(t.hi, (t.lo - dl) - L.lo);
        }
#endif
        y[2 * i] = (XT)(a_big ? big : small);
        y[2 * i + 1] = (XT)(a_big ? small : big);
        any_special |= !((__builtin_fabs(a) < XM_INF) & (__builtin_fabs(b) < XM_INF));
    }
    ptrdiff_t n_invalid = 0;
    if (any_special) {
        for (ptrdiff_t i = 0; i < n_rows; i++) {
            const XT *r = x + 2 * i;
            if (__builtin_fabs((double)r[0]) < XM_INF && __builtin_fabs((double)r[1]) < XM_INF)
                continue;
            /* a finite value next to a -inf is an ordinary row: redo it exactly */
            xentc_lse_state s = XN(lse_row_state)(r, 2);
            XN(softmax_stats) st = XN(softmax_stats_of)(s);
            n_invalid += st.kind == XENTC_ROW_POSINF || st.kind == XENTC_ROW_NEGINF;
            XN(softmax_apply_row)(r, 2, st, y + 2 * i, log_out);
        }
    }
    return n_invalid;
}

/*
 * 3 <= C <= XENTC_FLAT_MAX, contiguous rows (chunk-flat, as XN(lse_flat)): one shift M per
 * block of rows, e = exp(x - M) for the whole block in one vector loop (exact shifts,
 * subnormal-correct), then per row:
 *   softmax      y = e / s                                  (s = the row's sum of e)
 *   log_softmax  y = (x - m) - log1p(v)  with the row's own max m and v = its tail relative
 *                to m, sum(e below the max) / e[argmax]: the largest output keeps its
 *                relative precision.
 * Blocks whose max is not finite, or whose finite values span more than 700 (where e could
 * lose precision to underflow), and rows whose sum is tiny go to the per-row routine.
 */
XM_INLINE ptrdiff_t XN(softmax_flat)(const XT *restrict x, ptrdiff_t n_rows, ptrdiff_t C,
                                     XT *restrict y, int log_out)
{
    enum { RMAX = XENTC_FLAT_BLOCK / 3 + 1 };
    double e[XENTC_FLAT_BLOCK];
    double s[RMAX], lh[RMAX], ll[RMAX], mr[RMAX];
    const ptrdiff_t rb = XENTC_FLAT_BLOCK / C;
    ptrdiff_t n_invalid = 0;

    for (ptrdiff_t i0 = 0; i0 < n_rows; i0 += rb) {
        const ptrdiff_t nb = n_rows - i0 < rb ? n_rows - i0 : rb;
        const ptrdiff_t L = nb * C;
        const XT *restrict xb = x + i0 * C;
        XT *restrict yb = y + i0 * C;

        double M = -XM_INF, lo = XM_INF;
#pragma omp simd reduction(max:M) reduction(min:lo)
        for (ptrdiff_t k = 0; k < L; k++) {
            double v = (double)xb[k];
            M = v > M ? v : M;
            double f = v > -XM_INF ? v : XM_INF;     /* ignore -inf (masked classes) */
            lo = f < lo ? f : lo;
        }
        if (!(__builtin_fabs(M) < XM_INF) || M - lo > 700.0) {
            for (ptrdiff_t i = 0; i < nb; i++) {
                XN(softmax_stats) st = XN(softmax_stats_of)(XN(lse_row_state)(xb + i * C, C));
                n_invalid += st.kind == XENTC_ROW_POSINF || st.kind == XENTC_ROW_NEGINF;
                XN(softmax_apply_row)(xb + i * C, C, st, yb + i * C, log_out);
            }
            continue;
        }

        const ptrdiff_t rest = (n_rows - i0 - nb) * C;
        const ptrdiff_t next = rest < L ? rest : L;
        const double nM = -M;
        for (ptrdiff_t k0 = 0; k0 < L; k0 += 64) {
            for (ptrdiff_t q = k0; q < k0 + 64 && q < next; q += XENTC_LINE(XT))
                XM_PREFETCH(xb + L + q);
            const ptrdiff_t k1 = k0 + 64 < L ? k0 + 64 : L;
#pragma omp simd
            for (ptrdiff_t k = k0; k < k1; k++) {
                double v = (double)xb[k];
#if XT_IS_F32
                e[k] = xm_exp_f32acc(v + nM);
#else
                xm_dd t = xm_two_sum(v, nM);
                double ek = xm_exp_full(t.hi, t.lo);
                e[k] = v == -XM_INF ? 0.0 : ek;
#endif
            }
        }
        if (!log_out) {
            XN(row_sums)(e, nb, C, 1, s);
            for (ptrdiff_t i = 0; i < nb; i++) {
                const double si = s[i];
                if (!(si >= 0x1p-900)) {             /* tiny, 0 (all -inf) or NaN */
                    XN(softmax_stats) st =
                        XN(softmax_stats_of)(XN(lse_row_state)(xb + i * C, C));
                    n_invalid += st.kind == XENTC_ROW_POSINF || st.kind == XENTC_ROW_NEGINF;
                    XN(softmax_apply_row)(xb + i * C, C, st, yb + i * C, 0);
                    continue;
                }
                for (ptrdiff_t j = 0; j < C; j++)
                    yb[i * C + j] = (XT)(e[i * C + j] / si);
            }
            continue;
        }

        /* log_softmax: each row's max m, count of maxima, and tail sum below m relative to
           e[argmax] (unrolled per C); then, vectorised over the rows, c = m + log1p(v) as a
           double-double; then y = x - c */
        XN(row_max_tail)(xb, e, nb, C, mr, lh, ll, s);
#pragma omp simd
        for (ptrdiff_t i = 0; i < nb; i++) {
            double v = (s[i] - 1.0) + lh[i] / ll[i];          /* (cnt - 1) + st / e[argmax] */
            xm_dd Lr = xm_log1p_dd(v < 0x1p1000 ? v : 0.0);
            xm_dd c = xm_two_sum(mr[i], Lr.hi);
            lh[i] = c.hi;
            ll[i] = c.lo + Lr.lo;
            s[i] = v;                                          /* NaN rows keep NaN here */
        }
        for (ptrdiff_t i = 0; i < nb; i++) {
            const XT *row = xb + i * C;
            XT *yr = yb + i * C;
            if (!(s[i] < 0x1p1000) || !(ll[i] == ll[i]) || !(lh[i] == lh[i])) {
                /* NaN, all -inf (e[argmax] = 0) or a tiny row: the statistics path */
                XN(softmax_stats) st = XN(softmax_stats_of)(XN(lse_row_state)(row, C));
                n_invalid += st.kind == XENTC_ROW_POSINF || st.kind == XENTC_ROW_NEGINF;
                XN(softmax_apply_row)(row, C, st, yr, 1);
                continue;
            }
            const double nchi = -lh[i], clo = ll[i];
            for (ptrdiff_t j = 0; j < C; j++) {
                double v = (double)row[j];
#if XT_IS_F32
                double r = (v + nchi) - clo;
#else
                xm_dd t = xm_two_sum(v, nchi);
                double r = t.hi + (t.lo - clo);
#endif
                yr[j] = (XT)(v == -XM_INF ? v : r);
            }
        }
    }
    return n_invalid;
}

/*
 * Entry point: softmax (log_out = 0) or log_softmax (log_out = 1) of the n_rows rows at
 * x + i * ldx into y + i * ldy.  Returns the number of rows for which NumPy would report
 * "invalid value encountered in subtract" (scipy computes inf - inf there).
 */
XENTC_ENTRY ptrdiff_t XN(softmax_rows)(const XT *x, ptrdiff_t ldx, ptrdiff_t n_rows,
                                      ptrdiff_t n_cols, XT *y, ptrdiff_t ldy, int log_out)
{
    if (n_cols == 2 && ldx == 2 && ldy == 2)
        return XN(softmax_pair)(x, n_rows, y, log_out);
    if (n_cols >= 3 && n_cols <= XENTC_FLAT_MAX && ldx == n_cols && ldy == n_cols)
        return XN(softmax_flat)(x, n_rows, n_cols, y, log_out);
    ptrdiff_t n_invalid = 0;
    for (ptrdiff_t i = 0; i < n_rows; i++) {
        const XT *row = x + i * ldx;
        if (!log_out) {
            n_invalid += XN(softmax_row)(row, n_cols, y + i * ldy);
            continue;
        }
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
