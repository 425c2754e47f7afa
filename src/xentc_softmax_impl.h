/*
 * softmax / log_softmax over rows: a template, included by xentc_kernels.h after
 * xentc_lse_impl.h (same macros: XT, XT_IS_F32, XN, XENTC_ENTRY).
 *
 * Per row: m = max, S = (number of maxima) + tail, the tail being the sum of exp(x - m) over
 * the elements below m (shifts exact by TwoSum), L = log1p(S - 1) as a double-double:
 *   log_softmax(x)_j = x_j - (m + L)     (m + L a double-double: the largest output of a row
 *                                          keeps full relative precision, even -1e-18)
 *   softmax(x)_j     = exp(x_j - m) / S  (one exp per element; 1/S and a Newton step)
 * Kernels: a pair formula for C = 2, a transposed block (vectorised across rows) for
 * 3 <= C <= XENTC_FLAT_MAX, one row at a time above, and for segments of very long rows
 * exp((x_j - m) - L) from the merged statistics.  Rows that are not finite follow
 * scipy.special exactly (xentc_softmax_row_kind).
 *
 * For the losses the kernels also return each row's statistics (xentc_put_stats: the max m and
 * L = log(sum exp(x - m))), and with no output array they compute only those.
 */

/*
 * The state of a row, with a tail that is tiny enough for flushed terms to matter (below
 * 2^-960; the scan flushes terms below exp(-708)) summed again exactly: the largest
 * log_softmax output of such a row is minus that tail.
 */
XM_INLINE xentc_lse_state XN(lse_row_state)(const XT *x, ptrdiff_t n)
{
    xentc_lse_state s;
#if XENTC_ISA_AVX512
    /* by blocks of XENTC_PASS_BLOCK_BYTES, two passes over each (the second from L1): the
       block's max, the running sums rescaled exactly when it rises, then the block's tail
       below the running max; a block with an infinite max sends the row to the scan */
    const ptrdiff_t block = XENTC_PASS_BLOCK(XT);
    double m = -XM_INF, st = 0.0, cnt = 0.0;
    ptrdiff_t j0 = 0;
    for (; j0 < n; j0 += block) {
        const ptrdiff_t nb = n - j0 < block ? n - j0 : block;
        const double bm = XN(row_max)(x + j0, nb);
        if (bm == XM_INF)
            break;
        if (bm > m) {
            xm_dd d = xm_two_sum(m, -bm);
            st = m == -XM_INF ? 0.0 : (st + cnt) * xm_exp_full(d.hi, d.lo);
            cnt = 0.0;
            m = bm;
        }
        if (m == -XM_INF)
            continue;                                  /* all -inf so far */
        double bcnt;
#  if XT_IS_F32
        st += xm512_sum_exp_below_f32(x + j0, nb, m, &bcnt);
#  else
        st += xm512_sum_exp_below_exact_f64(x + j0, nb, m, &bcnt);
#  endif
        cnt += bcnt;
    }
    if (j0 >= n && m > -XM_INF) {
        s.m = m;
        s.st = st;
        s.cnt = cnt;
    } else {
        s = XN(lse_scan)(x, n, 1);
    }
#else
    s = XN(lse_scan)(x, n, 1);
#endif
    if (s.cnt == 1.0 && s.st < 0x1p-960 && __builtin_fabs(s.m) < XM_INF) {
        const double nm = -s.m;
        double st = 0.0;
        for (ptrdiff_t j = 0; j < n; j++) {
            double v = (double)x[j];
            xm_dd t = xm_two_sum(v, nm);
            double e = xm_exp_full(t.hi, t.lo);
            st += (v == s.m) | (t.hi == -XM_INF) ? 0.0 : e;   /* -inf, or x - m overflowed */
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
                /* the low part of an infinite TwoSum is NaN: x = -inf, or x - c overflowed */
                xm_dd t = xm_two_sum(v, nchi);
                double r = t.hi == -XM_INF ? t.hi : t.hi + (t.lo - clo);
#endif
                y[j] = (XT)r;
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
                r = t.hi == -XM_INF ? 0.0 : r;      /* x = -inf, or x - m overflowed */
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

/* y *= r for a row written by the statistics path (gradients scale softmax per row). */
XM_INLINE void XN(scale_row)(XT *restrict y, ptrdiff_t n, double r)
{
#pragma omp simd
    for (ptrdiff_t j = 0; j < n; j++)
        y[j] = (XT)(r * (double)y[j]);
}

/*
 * softmax of one row (any length, contiguous output) with one exp per element (double data):
 * the row max m, then e = exp(x - m) (exact shift) written to y while summing S = sum(e)
 * (XN(sum_exp_below)), then y = e / S, formed as q = e * (1/S) plus one Newton correction
 * (q + (e - q S) / S, two FMAs) so that it is e / S to half an ulp.  Float data recompute
 * the exponential in the last pass instead of storing it; the AVX-512 path keeps e in eb
 * (n doubles, 64-byte aligned) where it is not NULL (xm512_softmax_row_f64), and
 * prefetches the n values at next (the next row, or x) during its exponentials.  For rows
 * whose max is not finite the statistics path writes scipy's values; returns 1 for the rows
 * NumPy warns on.
 */
XM_INLINE ptrdiff_t XN(softmax_row)(const XT *restrict x, ptrdiff_t n, XT *restrict y,
                                     double *eb, double *sm, double *sl, double scale,
                                     const XT *next)
{
    const double m = XN(row_max)(x, n);
    if (!(__builtin_fabs(m) < XM_INF)) {
        xentc_lse_state s = XN(lse_row_state)(x, n);
        if (sm)
            xentc_put_stats(s, sm, sl);
        XN(softmax_stats) st = XN(softmax_stats_of)(s);
        XN(softmax_apply_row)(x, n, st, y, 0);
        XN(scale_row)(y, n, scale);
        return st.kind == XENTC_ROW_POSINF || st.kind == XENTC_ROW_NEGINF;
    }
#if XENTC_ISA_AVX512
    if (__builtin_fabs(m) <= XENTC_OFFSET_MAX) {
        double st, cnt;
        if (XM512_XT(softmax_row)(x, n, m, XN(offset_of)(m).kd, y, eb, scale,
                                  sm ? &st : NULL, &cnt, next)) {
            if (sm) {
                xentc_lse_state s = {m, st, cnt};
                xentc_put_stats(s, sm, sl);
            }
            return 0;
        }
    }
#else
    (void)eb;
    (void)next;
#endif
    /* per block of XENTC_ROW_BLOCK elements: exponentials (stored in y for double data),
       the tail sum apart from the maxima; the block sums combined pairwise */
    xm_cascade tail;
    xm_cascade_init(&tail);
    double cnt = 0.0;
    for (ptrdiff_t b0 = 0; b0 < n; b0 += XENTC_ROW_BLOCK) {
        const ptrdiff_t nb = n - b0 < XENTC_ROW_BLOCK ? n - b0 : XENTC_ROW_BLOCK;
        double bcnt;
        xm_cascade_add(&tail, XN(sum_exp_below)(x + b0, nb, m, 1, XT_IS_F32 ? NULL : y + b0,
                                                &bcnt));
        cnt += bcnt;
    }
    const double tail_sum = xm_cascade_total(&tail);
    const double S = cnt + tail_sum, inv = 1.0 / S, r = scale;
    if (sm) {
        xentc_lse_state s = {m, tail_sum, cnt};
        xentc_put_stats(s, sm, sl);
    }
#if XT_IS_F32
    /* float outputs: exp(x - m) / S in double, rounded once (a float-rounded e stored by the
       first pass would add half an ulp) */
    const double nm = -m;
#pragma omp simd
    for (ptrdiff_t j = 0; j < n; j++)
        y[j] = (XT)(xm_exp_f32acc((double)x[j] + nm) * inv * r);
#else
#pragma omp simd
    for (ptrdiff_t j = 0; j < n; j++) {
        double e = y[j];
        double q = e * inv;
        y[j] = (q + (e - q * S) * inv) * r;
    }
#endif
    return 0;
}

/* Whether a row of 2 is handled by the vectorised pair formulas: both values finite and
   their difference too (not so for 1e308, -1e308, whose row goes to the per-row path). */
XM_INLINE int XN(pair_is_ordinary)(const XT *r)
{
    double a = (double)r[0], b = (double)r[1];
    return __builtin_fabs(a) < XM_INF && __builtin_fabs(b) < XM_INF &&
           __builtin_fabs(a - b) < XM_INF;
}

/*
 * C == 2, contiguous rows: with e = exp(-|a - b|) (a - b exact),
 *   softmax = (1 / (1 + e), e / (1 + e)),  log_softmax = (-log1p(e), -|a - b| - log1p(e))
 * for (larger, smaller), vectorised across rows (at the AVX-512 level xm512_softmax_pair_*:
 * the same with intrinsics).  Rows with a NaN or an infinite max are rewritten afterwards by
 * the scalar rules.
 */
XM_INLINE int XN(softmax_pair_loop)(const XT *restrict x, ptrdiff_t n_rows, XT *restrict y,
                                    double *restrict sm, double *restrict sl,
                                    const double *restrict rs, const int log_out,
                                    const int stats, const int scaled)
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
        if (stats) {
            sm[i] = a_big ? a : b;
            sl[i] = xm_log1p01_f32acc(e);
        }
        if (log_out) {
            double L = xm_log1p01_f32acc(e);
            big = 0.0 - L;                           /* +0 when L == 0, as scipy */
            small = -(dh + dl) - L;
        } else {
            big = 1.0 / (1.0 + e);
            small = e * big;
            if (scaled) {
                big *= rs[i];
                small *= rs[i];
            }
        }
#else
        double e = xm_exp_full(-dh, -dl);
        double big, small;
        xm_dd L = xm_log1p01_dd(e);
        if (stats) {
            sm[i] = a_big ? a : b;
            sl[i] = L.hi + L.lo;
        }
        if (log_out) {
            big = 0.0 - (L.hi + L.lo);               /* +0 when L == 0, as scipy */
            xm_dd t = xm_two_sum(-dh, -L.hi);
            small = t.hi + ((t.lo - dl) - L.lo);
        } else {
            /* small = exp(-|d| - log1p(e)) */
            xm_dd t = xm_two_sum(-dh, -L.hi);
            big = 1.0 / (1.0 + e);
            small = xm_exp_full(t.hi, (t.lo - dl) - L.lo);
            if (scaled) {
                big *= rs[i];
                small *= rs[i];
            }
        }
#endif
        y[2 * i] = (XT)(a_big ? big : small);
        y[2 * i + 1] = (XT)(a_big ? small : big);
        /* a NaN, an infinity, or finite values whose difference overflows (1e308, -1e308) */
        any_special |= !((__builtin_fabs(a) < XM_INF) & (__builtin_fabs(b) < XM_INF) &
                         (dh < XM_INF));
    }
    return any_special;
}

XM_INLINE ptrdiff_t XN(softmax_pair)(const XT *restrict x, ptrdiff_t n_rows, XT *restrict y,
                                     int log_out, double *restrict sm, double *restrict sl,
                                     const double *restrict rs)
{
    int any_special;
#if XENTC_ISA_AVX512
    any_special = XM512_XT(softmax_pair)(x, n_rows, y, log_out, sm, sl, rs);
#else
    /* one instance of the loop per combination in use: a run-time branch inside it stops
       its vectorisation */
    if (log_out)
        any_special = XN(softmax_pair_loop)(x, n_rows, y, NULL, NULL, NULL, 1, 0, 0);
    else if (!sm)
        any_special = XN(softmax_pair_loop)(x, n_rows, y, NULL, NULL, NULL, 0, 0, 0);
    else if (!rs)
        any_special = XN(softmax_pair_loop)(x, n_rows, y, sm, sl, NULL, 0, 1, 0);
    else
        any_special = XN(softmax_pair_loop)(x, n_rows, y, sm, sl, rs, 0, 1, 1);
#endif
    ptrdiff_t n_invalid = 0;
    if (any_special) {
        for (ptrdiff_t i = 0; i < n_rows; i++) {
            const XT *r = x + 2 * i;
            if (XN(pair_is_ordinary)(r))
                continue;
            /* a finite value next to a -inf is an ordinary row: redo it exactly */
            xentc_lse_state s = XN(lse_row_state)(r, 2);
            if (sm)
                xentc_put_stats(s, sm + i, sl + i);
            XN(softmax_stats) st = XN(softmax_stats_of)(s);
            n_invalid += st.kind == XENTC_ROW_POSINF || st.kind == XENTC_ROW_NEGINF;
            XN(softmax_apply_row)(r, 2, st, y + 2 * i, log_out);
            if (rs && !log_out)
                XN(scale_row)(y + 2 * i, 2, rs[i]);
        }
    }
    return n_invalid;
}

/*
 * 3 <= C <= XENTC_FLAT_MAX, contiguous rows, vectorised across rows: each block of rows is
 * transposed into L1 scratch (xt[j * R + i] = x[i, j], which also yields each row's max), so
 * that every later step is a unit-stride vector loop over the rows: e = exp(x - m) with the
 * row's own max (exact shift) and the sum of the tail below the max, then per row
 *   softmax      y = e / S          (S = count of maxima + tail; 1/S and a Newton step)
 *   log_softmax  y = x - (m + L)    (L = log1p(S - 1), m + L as a double-double)
 * written back through the transpose.  Every row is computed on its own: results do not
 * depend on the other rows.  Rows with a NaN or an infinite max go to the per-row routine.
 * With AVX-512, xm512_tb_rows does the same 8 rows at a time (the transposition in registers,
 * x - m never formed: see xm512_tail8) for blocks whose maxima are within 2^15, and
 * log_softmax's output is written from the rows as they lie (xm512_rows_shift).
 */
XM_INLINE ptrdiff_t XN(softmax_tb)(const XT *restrict x, ptrdiff_t n_rows, ptrdiff_t C,
                                   XT *restrict y, int log_out, double *restrict sm,
                                   double *restrict sl, const double *restrict rs)
{
    double xt[XENTC_FLAT_BLOCK], et[XENTC_FLAT_BLOCK];
    double m[XENTC_TB_ROWS], st[XENTC_TB_ROWS], cnt[XENTC_TB_ROWS], c1[XENTC_TB_ROWS],
        c2[XENTC_TB_ROWS], c3[XENTC_TB_ROWS], st4[4 * XENTC_TB_ROWS];
    const ptrdiff_t R = xentc_tb_rows(C);
    ptrdiff_t n_invalid = 0;

    for (ptrdiff_t i0 = 0; i0 < n_rows; i0 += R) {
        const ptrdiff_t nb = n_rows - i0 < R ? n_rows - i0 : R;
        const XT *restrict xb = x + i0 * C;
        XT *restrict yb = y ? y + i0 * C : NULL;
        XN(prefetch_next_block)(xb + nb * C, nb * C, (n_rows - i0 - nb) * C);

        /* the row maxima, the tail of each row and its count of maxima */
        int tail_in_registers = 0;
#if XENTC_ISA_AVX512
        /* straight from the rows, 8 at a time: the tail's exponentials flushed below
           exp(-708) (rows where that could matter redone below); a block with a max beyond
           xm512_tail8's range, or infinite, takes the C loop, and so does softmax's with a
           term between 0 and exp(-708) */
        tail_in_registers = XM512_XT(tb_rows)(xb, nb, C, y && !log_out ? yb : NULL,
                                              rs ? rs + i0 : NULL, m, st, cnt);
#endif
        if (!tail_in_registers) {
            XN(transpose_max)(xb, nb, C, R, xt, m);
#pragma omp simd
            for (ptrdiff_t i = 0; i < nb; i++) {
                st4[i] = st4[R + i] = st4[2 * R + i] = st4[3 * R + i] = 0.0;
                cnt[i] = 0.0;
            }
            /* in 4 interleaved partial sums (st4[j % 4]) */
            for (ptrdiff_t j = 0; j < C; j++) {
                const double *restrict xj = xt + j * R;
                double *restrict ej = et + j * R;
                double *restrict sj = st4 + (j & 3) * R;
#pragma omp simd
                for (ptrdiff_t i = 0; i < nb; i++) {
                    double v = xj[i], mm = m[i];
#if XT_IS_F32
                    double e = xm_exp_f32acc(v - mm);
#else
                    xm_dd t = xm_two_sum(v, -mm);
                    double e = xm_exp_full(t.hi, t.lo);
                    e = t.hi == -XM_INF ? 0.0 : e;
#endif
                    int top = v == mm;
                    if (y)                              /* statistics alone: nothing to store */
                        ej[i] = e;
                    sj[i] += top ? 0.0 : e;
                    cnt[i] += top ? 1.0 : 0.0;
                }
            }
#pragma omp simd
            for (ptrdiff_t i = 0; i < nb; i++)
                st[i] = (st4[i] + st4[R + i]) + (st4[2 * R + i] + st4[3 * R + i]);
        }
        int any_special = 0;
#pragma omp simd reduction(|:any_special)
        for (ptrdiff_t i = 0; i < nb; i++) {
            const double s = st[i];
            /* (or flushed terms could matter: a tail below 2^-1000 beside a single max) */
            const int flushed = tail_in_registers & (s < 0x1p-1000) & (cnt[i] == 1.0);
            any_special |= (!((__builtin_fabs(m[i]) < XM_INF) & (s == s))) | flushed;
        }
        if (sm) {
#pragma omp simd
            for (ptrdiff_t i = 0; i < nb; i++) {
                double v = st[i] + (cnt[i] - 1.0);
                xm_dd Lr = xm_log1p_dd(v < 0x1p1000 ? v : 0.0);
                sm[i0 + i] = m[i];
                sl[i0 + i] = Lr.hi + Lr.lo;   /* rows that are not finite: fixed up below */
            }
        }

        if (!y || (tail_in_registers && !log_out)) {
            /* statistics only, or softmax written */
        } else if (!log_out) {
#pragma omp simd
            for (ptrdiff_t i = 0; i < nb; i++) {
                double S = cnt[i] + st[i];
                c1[i] = S;
                c2[i] = 1.0 / S;
                c3[i] = rs ? rs[i0 + i] : 1.0;
            }
            for (ptrdiff_t j = 0; j < C; j++) {
                double *restrict ej = et + j * R;
#pragma omp simd
                for (ptrdiff_t i = 0; i < nb; i++) {
                    double e = ej[i], q = e * c2[i];
#if XT_IS_F32
                    ej[i] = q * c3[i];
#else
                    ej[i] = (q + (e - q * c1[i]) * c2[i]) * c3[i];
#endif
                }
            }
        } else {
#pragma omp simd
            for (ptrdiff_t i = 0; i < nb; i++) {
                double v = st[i] + (cnt[i] - 1.0);
                xm_dd Lr = xm_log1p_dd(v < 0x1p1000 ? v : 0.0);
                xm_dd c = xm_two_sum(__builtin_fabs(m[i]) < XM_INF ? m[i] : 0.0, Lr.hi);
                c1[i] = -c.hi;
                c2[i] = c.lo + Lr.lo;
            }
#if XENTC_ISA_AVX512
            if (tail_in_registers)
                XM512_XT(rows_shift)(xb, nb, C, c1, c2, yb);
#endif
            for (ptrdiff_t j = 0; !tail_in_registers && j < C; j++) {
                const double *restrict xj = xt + j * R;
                double *restrict ej = et + j * R;
#pragma omp simd
                for (ptrdiff_t i = 0; i < nb; i++) {
                    double v = xj[i];
#if XT_IS_F32
                    double r = (v + c1[i]) - c2[i];
#else
                    /* x = -inf, or x - c overflowed: TwoSum's low part is NaN */
                    xm_dd t = xm_two_sum(v, c1[i]);
                    double r = t.hi == -XM_INF ? t.hi : t.hi + (t.lo - c2[i]);
#endif
                    ej[i] = r;
                }
            }
        }
        if (y && !tail_in_registers)
            XN(transpose_store)(et, nb, C, R, yb);

        /* rows with a NaN (the max ignores it: st is NaN) or an infinite max: scipy's values */
        for (ptrdiff_t i = 0; any_special && i < nb; i++) {
            if (__builtin_fabs(m[i]) < XM_INF && st[i] == st[i] &&
                !(tail_in_registers && st[i] < 0x1p-1000 && cnt[i] == 1.0))
                continue;
            xentc_lse_state s = XN(lse_row_state)(xb + i * C, C);
            if (sm)
                xentc_put_stats(s, sm + i0 + i, sl + i0 + i);
            XN(softmax_stats) sts = XN(softmax_stats_of)(s);
            n_invalid += sts.kind == XENTC_ROW_POSINF || sts.kind == XENTC_ROW_NEGINF;
            if (y)
                XN(softmax_apply_row)(xb + i * C, C, sts, yb + i * C, log_out);
            if (y && rs && !log_out)
                XN(scale_row)(yb + i * C, C, rs[i0 + i]);
        }
    }
    return n_invalid;
}

/* The statistics (xentc_put_stats) of contiguous rows of 2, vectorised across rows. */
XM_INLINE void XN(pair_stats)(const XT *restrict x, ptrdiff_t n_rows, double *restrict sm,
                              double *restrict sl)
{
    int any_special = 0;
#pragma omp simd reduction(|:any_special)
    for (ptrdiff_t i = 0; i < n_rows; i++) {
        double a = (double)x[2 * i], b = (double)x[2 * i + 1];
        xm_dd d = xm_two_sum(a, -b);
        double dh = __builtin_fabs(d.hi), dl = d.hi >= 0.0 ? d.lo : -d.lo;
#if XT_IS_F32
        sl[i] = xm_log1p01_f32acc(xm_exp_f32acc(-(dh + dl)));
#else
        xm_dd L = xm_log1p01_dd(xm_exp_full(-dh, -dl));
        sl[i] = L.hi + L.lo;
#endif
        sm[i] = a >= b ? a : b;
        any_special |= !((__builtin_fabs(a) < XM_INF) & (__builtin_fabs(b) < XM_INF) &
                         (dh < XM_INF));
    }
    if (any_special)
        for (ptrdiff_t i = 0; i < n_rows; i++)
            if (!XN(pair_is_ordinary)(x + 2 * i))
                xentc_put_stats(XN(lse_row_state)(x + 2 * i, 2), sm + i, sl + i);
}

/*
 * Entry point: softmax (log_out = 0) or log_softmax (log_out = 1) of the n_rows rows at
 * x + i * ldx into y + i * ldy.  Returns the number of rows for which NumPy would report
 * "invalid value encountered in subtract" (scipy computes inf - inf there).  If sm is not
 * NULL each row's statistics go to sm[i], sl[i] (xentc_put_stats); y may then be NULL, for
 * the statistics alone.  If rs is not NULL, softmax row i is multiplied by rs[i].  Statistics
 * and scaling are for softmax only (log_out = 0): the losses never ask for them with log_out.
 */
XENTC_ENTRY ptrdiff_t XN(softmax_rows)(const XT *x, ptrdiff_t ldx, ptrdiff_t n_rows,
                                      ptrdiff_t n_cols, XT *y, ptrdiff_t ldy, int log_out,
                                      double *sm, double *sl, const double *rs)
{
    if (n_cols == 2 && ldx == 2 && (!y || ldy == 2)) {
        if (!y) {
            XN(pair_stats)(x, n_rows, sm, sl);
            return 0;
        }
        return XN(softmax_pair)(x, n_rows, y, log_out, sm, sl, rs);
    }
    if (n_cols >= 3 && n_cols <= XENTC_FLAT_MAX && ldx == n_cols && (!y || ldy == n_cols))
        return XN(softmax_tb)(x, n_rows, n_cols, y, log_out, sm, sl, rs);
    /* AVX-512 softmax of float rows: the exponentials kept in double, on the stack or the
       heap, rather than computed twice.  (For double rows y holds them: a separate buffer
       measured slower, three rows' worth of cache instead of two.) */
    double *eb = NULL;
    void *eb_heap = NULL;
#if XENTC_ISA_AVX512 && XT_IS_F32
    double eb_stack[XENTC_TWO_PASS_MAX] __attribute__((aligned(64)));
    if (y && !log_out) {
        if (n_cols <= XENTC_TWO_PASS_MAX)
            eb = eb_stack;
        else if ((eb_heap = malloc((size_t)n_cols * sizeof(double) + 64)) != NULL)
            eb = (double *)(((uintptr_t)eb_heap + 63) & ~(uintptr_t)63);
    }
#endif
    ptrdiff_t n_invalid = 0;
    for (ptrdiff_t i = 0; i < n_rows; i++) {
        const XT *row = x + i * ldx;
        double *rm = sm ? sm + i : NULL, *rl = sm ? sl + i : NULL;
        if (y && !log_out) {
            const int pf = i + 1 < n_rows &&
                           n_cols * (ptrdiff_t)sizeof(XT) > XENTC_PREFETCH_ROW_BYTES;
            n_invalid += XN(softmax_row)(row, n_cols, y + i * ldy, eb, rm, rl,
                                         rs ? rs[i] : 1.0, pf ? row + ldx : row);
            continue;
        }
        xentc_lse_state s = XN(lse_row_state)(row, n_cols);
        if (sm)
            xentc_put_stats(s, rm, rl);
        if (!y)
            continue;
        XN(softmax_stats) st = XN(softmax_stats_of)(s);
        n_invalid += st.kind == XENTC_ROW_POSINF || st.kind == XENTC_ROW_NEGINF;
        XN(softmax_apply_row)(row, n_cols, st, y + i * ldy, log_out);
    }
    free(eb_heap);
    return n_invalid;
}

/* Entry point: write a segment of a long row from the row's merged state. */
XENTC_ENTRY void XN(softmax_apply)(const XT *x, ptrdiff_t n, xentc_lse_state row_state, XT *y,
                                  int log_out)
{
    XN(softmax_apply_row)(x, n, XN(softmax_stats_of)(row_state), y, log_out);
}

