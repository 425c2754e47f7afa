/*
 * Weighted log-sum-exp, log|sum_j b_j exp(a_j)| with its sign, over rows: a template included
 * by xentc_kernels.h (same macros as xentc_lse_impl.h).  It follows scipy.special.logsumexp's
 * algorithm step by step, in double for both element types:
 *   1. a_j is masked to -inf where b_j == 0 (a zero weight hides inf and NaN);
 *   2. m = max of the masked row (NaN if it holds a NaN), mb = sum of b_j over the maximal
 *      elements, s = sum of b_j exp(a_j - m) over the others;
 *   3. s = s / mb (unless s == 0), sign = sign(s + 1) * sign(mb), s = -s - 2 if s < -1,
 *      out = log1p(s) + log|mb| + m, and NaN where sign < 0 unless the sign is returned;
 *   4. where out is not finite, the direct log|sum_j b_j exp(a_j)| (and its sign) replaces it.
 * This is not a hot path: a and b may have any row strides, b any column stride.
 */

XM_INLINE void XN(lse_b_row)(const XT *restrict a, const XT *restrict b, ptrdiff_t sb,
                             ptrdiff_t n, int return_sign, double *out, double *sgn)
{
    double m = -XM_INF;
    int has_nan = 0;
    for (ptrdiff_t j = 0; j < n; j++) {
        double w = (double)b[j * sb], v = (double)a[j];
        v = w == 0.0 ? -XM_INF : v;
        has_nan |= v != v;
        m = v > m ? v : m;
    }
    double r = __builtin_nan(""), sg = __builtin_nan("");
    if (!has_nan && __builtin_fabs(m) < XM_INF) {
        double mb = 0.0, s = 0.0;
        for (ptrdiff_t j = 0; j < n; j++) {
            double w = (double)b[j * sb], v = (double)a[j];
            v = w == 0.0 ? -XM_INF : v;
            int top = v == m;
            mb += top ? w : 0.0;
            s += top ? 0.0 : w * xm_exp_ftz(v - m, 0.0);
        }
        s = s == 0.0 ? s : s / mb;
        double t = s + 1.0;
        sg = (double)((t > 0.0) - (t < 0.0)) * (double)((mb > 0.0) - (mb < 0.0));
        if (t != t || mb != mb)
            sg = __builtin_nan("");
        s = s < -1.0 ? -s - 2.0 : s;
        r = log1p(s) + log(__builtin_fabs(mb)) + m;
        if (!return_sign && sg < 0.0)
            r = __builtin_nan("");
    }
    if (!(__builtin_fabs(r) < XM_INF)) {
        double S = 0.0;
        for (ptrdiff_t j = 0; j < n; j++)
            S += (double)b[j * sb] * exp((double)a[j]);
        sg = S != S ? S : (double)((S > 0.0) - (S < 0.0));
        r = log(return_sign ? __builtin_fabs(S) : S);
    }
    *out = r;
    *sgn = sg;
}

/* Entry point: out[i] (and sgn[i]) for the rows a + i * lda, b + i * ldb (b column stride sb). */
XENTC_ENTRY void XN(lse_b_rows)(const XT *a, ptrdiff_t lda, const XT *b, ptrdiff_t ldb,
                               ptrdiff_t sb, ptrdiff_t n_rows, ptrdiff_t n_cols, int return_sign,
                               XT *out, XT *sgn)
{
    for (ptrdiff_t i = 0; i < n_rows; i++) {
        double r, sg;
        XN(lse_b_row)(a + i * lda, b + i * ldb, sb, n_cols, return_sign, &r, &sg);
        out[i] = (XT)r;
        sgn[i] = (XT)sg;
    }
}
