/*
 * Multiclass cross-entropy over rows, and its gradient: a template, included by
 * xentc_kernels.h after xentc_softmax_impl.h (same macros: XT, XT_IS_F32, XN, XENTC_ENTRY).
 *
 * Rows are processed in chunks small enough for the chunk's statistics and gradient rows to
 * stay in cache.  For a chunk, the softmax kernels give each row's max m and
 * L = log(sum(exp(x - m))) (NaN for a row that is not finite) and, when a gradient is asked
 * for, write softmax(x) into it; the chunk is then finished:
 *
 *   index targets  nll_i = (m - x_y) + L          both terms >= 0: no cancellation, so a
 *                                                 confident row's loss of 1e-12 keeps its digits
 *                  loss_i = (1 - eps) w_y nll_i + (eps / C) sum_c w_c ((m - x_c) + L)
 *                  grad_i = g (a s - (eps / C) w - (1 - eps) w_y onehot(y)),
 *                           a = (1 - eps) w_y + (eps / C) sum(w)
 *   probabilities  loss_i = sum_c w_c t'_c ((m - x_c) + L),   t' = (1 - eps) t + eps / C
 *                  grad_i = g (s sum_k w_k t'_k - w t')       (exact for unnormalised t)
 *
 * with g the caller's scale (1 / denominator for a mean, 1 otherwise) -- semantics.md 2.3-2.5.
 * A term whose weight is exactly 0 contributes 0 even where its -log p is +inf (SPEC 2).
 * Each entry point returns the sum of its rows' losses, accumulated in double in a fixed
 * order (so the result does not depend on how rows are split between threads).
 */

/* Rows per chunk: a whole transposed block for short rows, ~8192 elements otherwise. */
XM_INLINE ptrdiff_t XN(ce_chunk_rows)(ptrdiff_t C)
{
    if (C <= XENTC_FLAT_MAX)
        return xentc_tb_rows(C < 3 ? 3 : C);
    return C >= 8192 ? 1 : 8192 / C;
}

/* h * sum_c w_c ((m - x_c) + L) over a row: the label-smoothing term (NaN for rows that are
   not finite), h a power of two <= 1 / (2 C).  Scaling each operand by h is exact (short of
   subnormals), so the result is the unscaled sum times h, bit for bit, but neither m - x_c
   (logits spanning more than the largest double) nor the sum of C terms can overflow when
   the loss itself does not. */
XM_INLINE double XN(ce_smooth_row)(const XT *restrict xr, ptrdiff_t C,
                                   const double *restrict w, double m, double L, double h)
{
    double s = 0.0;
    if (L != L)
        return L;
    const double hm = h * m, hL = h * L;
    if (w) {
#pragma omp simd reduction(+:s)
        for (ptrdiff_t c = 0; c < C; c++) {
            double d = (hm - h * (double)xr[c]) + hL;
            s += w[c] == 0.0 ? 0.0 : w[c] * d;
        }
    } else {
#pragma omp simd reduction(+:s)
        for (ptrdiff_t c = 0; c < C; c++)
            s += (hm - h * (double)xr[c]) + hL;
    }
    return s;
}

/*
 * Finish n index-target rows with statistics sm, sl (and their scaled softmax in g, if not
 * NULL): losses into lr[i], the target entries of the gradient corrected.  Vector loops
 * across rows (gathers of x[i, y_i] and w[y_i]); only label smoothing works row by row.
 */
XM_INLINE void XN(ce_index_finish)(const XT *restrict x, ptrdiff_t ldx, ptrdiff_t n,
                                   ptrdiff_t C, const int64_t *restrict y, int64_t ignore,
                                   const double *restrict w, double eps, int neg_zero,
                                   const double *restrict sm, const double *restrict sl,
                                   double *restrict lr, XT *restrict g, double gscale)
{
    const double keep = 1.0 - eps, spread = eps / (double)C;
#pragma omp simd
    for (ptrdiff_t i = 0; i < n; i++) {
        const int64_t yi = y[i];
        const int ign = yi == ignore;
        const ptrdiff_t yc = ign ? 0 : (ptrdiff_t)yi;
        const double wy = w ? w[yc] : 1.0;
        const double xy = (double)x[i * ldx + yc], m = sm[i], L = sl[i];
        xm_dd d = xm_two_sum(m, -xy);
        double nll = d.hi + (d.lo + L);
        nll = (xy == -XM_INF) | (d.hi == XM_INF) ? XM_INF : nll;   /* or m - x_y overflowed */
        nll = L != L ? L : nll;                    /* NaN, +inf max or all -inf */
        double li = xentc_weighted(keep * wy, nll);
        lr[i] = ign ? 0.0 : li;
    }
    if (spread > 0.0) {
        int k = 1;
        while (k < 62 && ((ptrdiff_t)1 << (k - 1)) < C)
            k++;
        const double h = __builtin_ldexp(1.0, -k), spread_h = spread * __builtin_ldexp(1.0, k);
        for (ptrdiff_t i = 0; i < n; i++) {
            if (y[i] == ignore)
                continue;
            const XT *restrict xr = x + i * ldx;
            lr[i] += spread_h * XN(ce_smooth_row)(xr, C, w, sm[i], sl[i], h);
            if (g) {
                XT *restrict gr = g + i * C;
                const double b = gscale * spread;
                if (w) {
#pragma omp simd
                    for (ptrdiff_t c = 0; c < C; c++)
                        gr[c] = (XT)((double)gr[c] - b * w[c]);
                } else {
#pragma omp simd
                    for (ptrdiff_t c = 0; c < C; c++)
                        gr[c] = (XT)((double)gr[c] - b);
                }
            }
        }
    }
    if (neg_zero) {
#pragma omp simd
        for (ptrdiff_t i = 0; i < n; i++)
            lr[i] = lr[i] == 0.0 && y[i] != ignore ? -0.0 : lr[i];   /* torch's -(log 1) */
    }
    if (g) {
        const double c = gscale * keep;
#pragma omp simd
        for (ptrdiff_t i = 0; i < n; i++) {
            const int64_t yi = y[i];
            const ptrdiff_t yc = yi == ignore ? 0 : (ptrdiff_t)yi;
            const double d = yi == ignore ? 0.0 : c * (w ? w[yc] : 1.0);
            XT *gy = g + i * C + yc;
            *gy = (XT)((double)*gy - d);
        }
    }
}

/* Finish n probability-target rows (targets t + i * ldt, unit column stride). */
XM_INLINE double XN(ce_prob_finish)(const XT *restrict x, ptrdiff_t ldx, ptrdiff_t n,
                                    ptrdiff_t C, const XT *restrict t, ptrdiff_t ldt,
                                    const double *restrict w, double eps, int neg_zero,
                                    const double *restrict sm, const double *restrict sl,
                                    XT *restrict loss, XT *restrict g, double gscale)
{
    const double keep = 1.0 - eps, spread = eps / (double)C;
    double total = 0.0;
    for (ptrdiff_t i = 0; i < n; i++) {
        const XT *restrict xr = x + i * ldx;
        const XT *restrict tr = t + i * ldt;
        const double m = sm[i], L = sl[i];
        double li = 0.0, tw = 0.0;
#pragma omp simd reduction(+:li, tw)
        for (ptrdiff_t c = 0; c < C; c++) {
            double wt = keep * (double)tr[c] + spread;
            wt = w ? w[c] * wt : wt;
            double d = (m - (double)xr[c]) + L;
            li += wt == 0.0 ? 0.0 : wt * d;
            tw += wt;
        }
        li = L == L ? li : L;
        li = neg_zero && li == 0.0 ? -0.0 : li;       /* torch's -sum(t log p) of p = 1 */
        if (loss)
            loss[i] = (XT)li;
        total += li;
        if (g) {
            XT *restrict gr = g + i * C;
            const double a = gscale * tw;
#pragma omp simd
            for (ptrdiff_t c = 0; c < C; c++) {
                double wt = keep * (double)tr[c] + spread;
                wt = w ? w[c] * wt : wt;
                gr[c] = (XT)(a * (double)gr[c] - gscale * wt);
            }
        }
    }
    return total;
}

/*
 * C == 2, index targets, no label smoothing: one vector loop across rows, the loss being
 * softplus(d) with d = x_other - x_y formed exactly,
 *   loss = max(d, 0) + log1p(exp(-|d|)),
 * and the gradient (if g is not NULL) +-gscale w_y sigmoid(d) -- no 1 - p cancellation.
 * Rows with a non-finite value (or a difference that overflows) are finished afterwards by
 * the general path.  At the AVX-512 level xm512_ce_pair_* does the same with intrinsics.
 */
XM_INLINE int XN(ce_pair_loop)(const XT *restrict x, ptrdiff_t n, const int64_t *restrict y,
                               int64_t ignore, const double *restrict w, double *restrict lr,
                               XT *restrict g, double gscale, const int with_grad)
{
    /* selects between doubles only: gcc does not vectorise this loop otherwise */
    const double w0 = w ? w[0] : 1.0, w1 = w ? w[1] : 1.0;
    int any_special = 0;
#pragma omp simd reduction(|:any_special)
    for (ptrdiff_t i = 0; i < n; i++) {
        const int64_t yi = y[i];
        const double ign = yi == ignore ? 1.0 : 0.0, second = yi == 1 ? 1.0 : 0.0;
        const double a = (double)x[2 * i], b = (double)x[2 * i + 1];
        const double xy = second != 0.0 ? b : a, xo = second != 0.0 ? a : b;
        xm_dd d = xm_two_sum(xo, -xy);
        const double dh = __builtin_fabs(d.hi), dl = d.hi >= 0.0 ? d.lo : -d.lo;
#if XT_IS_F32
        const double e = xm_exp_f32acc(-(dh + dl));
        const double L = xm_log1p01_f32acc(e);
        const double loss = d.hi > 0.0 ? (dh + dl) + L : L;
#else
        const double e = xm_exp_full(-dh, -dl);
        const xm_dd L = xm_log1p01_dd(e);
        const double loss = d.hi > 0.0 ? dh + (dl + (L.hi + L.lo)) : L.hi + L.lo;
#endif
        const double wy = second != 0.0 ? w1 : w0;
        if (with_grad) {
            const double r = 1.0 / (1.0 + e);
            const double so = d.hi > 0.0 ? r : e * r;          /* sigmoid(d): p(other) */
            const double go = (ign != 0.0 ? 0.0 : gscale * wy) * so;
            g[2 * i] = (XT)(second != 0.0 ? go : -go);
            g[2 * i + 1] = (XT)(second != 0.0 ? -go : go);
        }
        const double li = xentc_weighted(wy, loss);   /* rows that are not finite: below */
        lr[i] = ign != 0.0 ? 0.0 : li;
        any_special |= !((__builtin_fabs(a) < XM_INF) & (__builtin_fabs(b) < XM_INF) &
                         (dh < XM_INF));
    }
    return any_special;
}

XM_INLINE void XN(ce_pair_index)(const XT *restrict x, ptrdiff_t n, const int64_t *restrict y,
                                 int64_t ignore, const double *restrict w, int neg_zero,
                                 double *restrict lr, XT *restrict g, double gscale)
{
#if XENTC_ISA_AVX512
    const int any_special = XM512_XT(ce_pair)(x, n, y, ignore, w, lr, g, gscale);
#else
    /* two instances of the loop (a branch inside it would stop its vectorisation) */
    const int any_special = g ? XN(ce_pair_loop)(x, n, y, ignore, w, lr, g, gscale, 1)
                              : XN(ce_pair_loop)(x, n, y, ignore, w, lr, NULL, 0.0, 0);
#endif
    if (neg_zero) {
#pragma omp simd
        for (ptrdiff_t i = 0; i < n; i++)
            lr[i] = lr[i] == 0.0 && y[i] != ignore ? -0.0 : lr[i];   /* torch's -(log 1) */
    }
    if (!any_special)
        return;
    for (ptrdiff_t i = 0; i < n; i++) {
        const XT *r = x + 2 * i;
        if (XN(pair_is_ordinary)(r))
            continue;
        double m, L, a = 0.0;
        if (g && y[i] != ignore)
            a = gscale * (w ? w[y[i]] : 1.0);
        XN(softmax_rows)(r, 2, 1, 2, g ? g + 2 * i : NULL, 2, 0, &m, &L, &a);
        XN(ce_index_finish)(r, 2, 1, 2, y + i, ignore, w, 0.0, neg_zero, &m, &L, lr + i,
                            g ? g + 2 * i : NULL, gscale);
    }
}

#if XENTC_ISA_AVX512 && !XT_IS_F32
/*
 * The sum of the losses of nb rows with index targets, for a mean or a sum without label
 * smoothing or gradient, by the chunk-flat log-sum-exp kernel's shifted sums rather than the
 * exact statistics (8 <= C <= XENTC_FLAT_MAX, contiguous rows): each row's
 * s = sum_j exp(x[i, j] - (Mh + Ml)), the shift near the block's max, then
 * loss = (Mh - x_y) + Ml + log(s), the difference exact and the log a double-double.  A loss
 * is then within 2^-53 (|loss| + K) of the exact one, K = 8 + C / 4 bounding the relative
 * error of s in units of 2^-53 (the exponentials' 1.1 ulp and the row sums' rounding, with a
 * margin of two), so the block's sum is within 2^-53 ((2 + nb / 8) sum |w loss| + K sum |w|)
 * of exact.  Returns 0 (the caller's exact path does the block) unless that bound is within
 * 2^-43 of the sum -- blocks of confident predictions, with a mean loss below about
 * K / 1000, fail it -- or if the block has a negative weight, a value the shifted kernel does
 * not take (infinite, or a max beyond 2^15), a row whose terms the shift could flush, or a
 * sum that is not finite.  (Rows longer than XENTC_FLAT_MAX: the per-row shifted sums measured
 * 14 % faster on random logits, but a block of confident predictions then costs both paths.)
 */
XM_INLINE int XN(ce_index_sum_fast)(const XT *restrict x, ptrdiff_t ldx, ptrdiff_t nb,
                                    ptrdiff_t C, const int64_t *restrict y, int64_t ignore,
                                    const double *restrict w, ptrdiff_t next_avail, double *sum)
{
    if (!(C >= XENTC_FLAT_MIN_C && C <= XENTC_FLAT_MAX && ldx == C))
        return 0;
    double e[XENTC_FLAT_BLOCK], s[XENTC_TB_ROWS];
    const ptrdiff_t L = nb * C;
    const double M = XN(row_max)(x, L);
    if (!(__builtin_fabs(M) <= XENTC_OFFSET_MAX))
        return 0;
    const XN(offset) o = XN(offset_of)(M);
    xm512_exp_offset_f64(x, L, o.kd, M, e, x + L, next_avail < L ? next_avail : L);
    XN(row_sums)(e, nb, C, s);
    double xy[XENTC_TB_ROWS], wy[XENTC_TB_ROWS], S, A, W;
#pragma omp simd
    for (ptrdiff_t i = 0; i < nb; i++) {
        const int ign = y[i] == ignore;
        const ptrdiff_t yc = ign ? 0 : (ptrdiff_t)y[i];
        xy[i] = (double)x[i * ldx + yc];
        wy[i] = ign ? 0.0 : (w ? w[yc] : 1.0);
    }
    const int bad = xm512_ce_fast_losses(o.hi, o.lo, s, xy, wy, nb, &S, &A, &W);
    const double bound = 0x1p-53 * ((2.0 + (double)nb / 8.0) * A + (8.0 + C / 4.0) * W);
    if (bad || !(__builtin_fabs(S) < XM_INF) || !(bound <= 0x1p-43 * S))
        return 0;
    *sum = S;
    return 1;
}
#endif

/*
 * Entry point, index targets: rows x + i * ldx (unit column stride), targets y[i] in [0, C)
 * or equal to ignore (validated by the caller), class weights w (NULL: all 1) of sum wsum,
 * label smoothing eps.  Writes the per-row losses to loss and the gradient (times gscale) to
 * the C-contiguous g when they are not NULL; returns the sum of the losses.
 */
XENTC_ENTRY double XN(ce_index_rows)(const XT *x, ptrdiff_t ldx, ptrdiff_t n_rows, ptrdiff_t C,
                                    const int64_t *y, int64_t ignore, const double *w,
                                    double wsum, double eps, int neg_zero, XT *loss, XT *g,
                                    double gscale)
{
    double sm[XENTC_TB_ROWS], sl[XENTC_TB_ROWS], rs[XENTC_TB_ROWS], lr[XENTC_TB_ROWS];
    const ptrdiff_t chunk = XN(ce_chunk_rows)(C);
    const double a_keep = gscale * (1.0 - eps), a_spread = gscale * (eps / (double)C) * wsum;
#if XENTC_ISA_AVX512 && !XT_IS_F32
    /* the fast sum is tried on a chunk unless skip says otherwise: after a chunk it refused
       (confident predictions, whose neighbours are likely to be refused too) the next
       backoff - 1 chunks go straight to the exact path, backoff doubling up to 64 */
    const int try_fast = !loss && !g && eps == 0.0;
    int skip = 0, backoff = 1;
#endif
    xm_cascade total;
    xm_cascade_init(&total);
    for (ptrdiff_t i0 = 0; i0 < n_rows; i0 += chunk) {
        const ptrdiff_t nb = n_rows - i0 < chunk ? n_rows - i0 : chunk;
        const int64_t *restrict yb = y + i0;
        XT *gb = g ? g + i0 * C : NULL;
#if XENTC_ISA_AVX512 && !XT_IS_F32
        if (try_fast && skip > 0) {
            skip--;
        } else if (try_fast) {
            double fast_sum;
            if (XN(ce_index_sum_fast)(x + i0 * ldx, ldx, nb, C, yb, ignore, w,
                                      (n_rows - i0 - nb) * C, &fast_sum)) {
                xm_cascade_add(&total, fast_sum);
                backoff = 1;
                continue;
            }
            skip = backoff - 1;
            backoff = backoff < 64 ? 2 * backoff : 64;
        }
#endif
        if (g) {
            /* softmax row i is scaled by a_i = g ((1 - eps) w_y + (eps / C) sum(w)), 0 if
               ignored (0 * NaN stays NaN there, as in torch) */
#pragma omp simd
            for (ptrdiff_t i = 0; i < nb; i++) {
                const int ign = yb[i] == ignore;
                const double wy = ign ? 0.0 : (w ? w[ign ? 0 : yb[i]] : 1.0);
                rs[i] = ign ? 0.0 : a_keep * wy + a_spread;
            }
        }
        if (C == 2 && ldx == 2 && eps == 0.0) {
            XN(ce_pair_index)(x + i0 * 2, nb, yb, ignore, w, neg_zero, lr, gb, gscale);
        } else {
            XN(softmax_rows)(x + i0 * ldx, ldx, nb, C, gb, C, 0, sm, sl, g ? rs : NULL);
            XN(ce_index_finish)(x + i0 * ldx, ldx, nb, C, yb, ignore, w, eps, neg_zero, sm,
                                sl, lr, gb, gscale);
        }
        double s = 0.0;
#pragma omp simd reduction(+:s)
        for (ptrdiff_t i = 0; i < nb; i++)
            s += lr[i];
        xm_cascade_add(&total, s);
        if (loss) {
#pragma omp simd
            for (ptrdiff_t i = 0; i < nb; i++)
                loss[i0 + i] = (XT)lr[i];
        }
    }
    return xm_cascade_total(&total);
}

/* Entry point, probability targets t + i * ldt (ldt may be 0: one target row for all). */
XENTC_ENTRY double XN(ce_prob_rows)(const XT *x, ptrdiff_t ldx, ptrdiff_t n_rows, ptrdiff_t C,
                                   const XT *t, ptrdiff_t ldt, const double *w, double eps,
                                   int neg_zero, XT *loss, XT *g, double gscale)
{
    double sm[XENTC_TB_ROWS], sl[XENTC_TB_ROWS];
    const ptrdiff_t chunk = XN(ce_chunk_rows)(C);
    xm_cascade total;
    xm_cascade_init(&total);
    for (ptrdiff_t i0 = 0; i0 < n_rows; i0 += chunk) {
        const ptrdiff_t nb = n_rows - i0 < chunk ? n_rows - i0 : chunk;
        XT *gb = g ? g + i0 * C : NULL;
        XN(softmax_rows)(x + i0 * ldx, ldx, nb, C, gb, C, 0, sm, sl, NULL);
        xm_cascade_add(&total, XN(ce_prob_finish)(x + i0 * ldx, ldx, nb, C, t + i0 * ldt, ldt,
                                                  w, eps, neg_zero, sm, sl,
                                                  loss ? loss + i0 : NULL, gb,
                                                  gscale));
    }
    return xm_cascade_total(&total);
}
