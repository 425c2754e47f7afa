/*
 * Binary cross-entropy kernels (on logits and on probabilities): a template included by
 * xentc_kernels.h once per element type and ISA level (macros as in xentc_lse_impl.h).
 *
 * The data are n elements in logical (C) order, each operand a 2-D (rows x last axis) view
 * with its own element strides (xentc_bin_operand): a flat contiguous operand is read in
 * place, a constant one (strides 0) is expanded once per call, any other pattern (F order,
 * slices, a weight broadcast along some axis) is gathered into an L1 buffer one block of
 * XENTC_BIN_BLOCK elements at a time.  Every block then runs one `omp simd` loop that
 * computes the loss and/or the gradient of each element in double (on logits at the AVX-512
 * level: xm512_bce_logits_*, with a table exponential and a division-free table log1p, the
 * same formulas otherwise); the loss of a block is a vector sum, the blocks of a task are
 * added by a binary cascade.  The caller splits the elements into fixed tasks and adds the
 * task sums in a fixed order, so the result does not depend on the number of threads.
 *
 * Zero weight times infinity is zero: a term whose factor (t, 1 - t, pos_weight * t or the
 * weight) is exactly 0 contributes 0 even where its log is infinite, so the infinite-logit
 * limits are the mathematically correct 0 / inf.
 */

/*
 * Logits: loss = w [pw t softplus(-x) + (1 - t) softplus(x)] and its derivative in x,
 * w [(1 - t) sigma(x) - pw t sigma(-x)].  With a = log1p(exp(-|x|)),
 *   loss / w = (x >= 0 ? (1 - t) x : -pw t x) + l a,   l = 1 + (pw - 1) t,
 * both terms >= 0 for t in [0, 1] and pw >= 0 (no cancellation).  No explicit fma: the
 * builtin stays a call in the always-inline helpers (compiled for the baseline ISA before
 * they are inlined) and blocks vectorisation; contraction forms the fmas where they exist.
 */
XM_INLINE xentc_bin_lg XN(bin_logits)(double x, double t, double pw)
{
    double ax = __builtin_fabs(x);
    int pos = x >= 0.0;
    double pwt = pw * t;
    /* a zero factor gives 0 even at x = +-inf (selects of doubles only: a select of
       comparison results makes gcc vectorise with byte-sized lanes, and fail) */
    double bpos = t == 1.0 ? 0.0 : (1.0 - t) * x;
    double bneg = pwt == 0.0 ? 0.0 : -pwt * x;
    double base = pos ? bpos : bneg;
    double l = (pw - 1.0) * t + 1.0;
#if XT_IS_F32
    double e = xm_exp_f32acc(-ax);
    double loss = l * xm_log1p01_f32acc(e) + base;
#else
    double e = xm_exp_full(-ax, 0.0);
    xm_dd a = xm_log1p01_dd(e);
    double loss = l * a.hi + (l * a.lo + base);
#endif
    /* sigma(x) and sigma(-x) from e = exp(-|x|): 1 / (1 + e) and e / (1 + e) */
    double s = 1.0 / (1.0 + e);
    double es = e * s;
    double sp = pos ? s : es, sn = pos ? es : s;
    xentc_bin_lg r;
    r.loss = loss;
    r.grad = (1.0 - t) * sp - pwt * sn;
    return r;
}

/*
 * Probabilities: loss = -[t log p + (1 - t) log(1 - p)], the logs as double-doubles
 * (log(1 - p) without rounding 1 - p).  clamp: PyTorch's max(log, -100) and gradient
 * (p - t) / max(p (1 - p), float32(1e-12)); otherwise p is clipped to [lo, hi] first and the
 * gradient is that of the clipped formula (0 outside [lo, hi]).
 */
XM_INLINE xentc_bin_lg XN(bin_prob)(double p, double t, int clamp, double lo, double hi)
{
    double pc = p;
    if (!clamp) {
        pc = pc < lo ? lo : pc;
        pc = pc > hi ? hi : pc;
    }
    xm_dd lp = xm_log_any_dd(pc);
    xm_dd lq = xm_log1m_dd(pc);
    if (clamp) {
        int cp = lp.hi < -100.0, cq = lq.hi < -100.0;
        lp.hi = cp ? -100.0 : lp.hi;
        lp.lo = cp ? 0.0 : lp.lo;
        lq.hi = cq ? -100.0 : lq.hi;
        lq.lo = cq ? 0.0 : lq.lo;
    }
    /* -(t lp + (1 - t) lq): both terms <= 0 for t in [0, 1] */
    const double omt = 1.0 - t;
    double q = t == 1.0 ? 0.0 : omt * lq.hi;                 /* 0 * -inf */
    double c = t == 1.0 ? 0.0 : omt * lq.lo;
    double tl = t == 0.0 ? 0.0 : t * lp.lo;
    double loss = t * lp.hi + (q + (c + tl));
    loss = t == 0.0 ? q + c : loss;
    xentc_bin_lg r;
    r.loss = -loss;
    if (clamp) {
        double d = (1.0 - p) * p;
        d = d > XENTC_BCE_GRAD_EPS ? d : XENTC_BCE_GRAD_EPS;
        r.grad = (p - t) / d;
    } else {
        double g = (t == 0.0 ? 0.0 : -t / pc) + (t == 1.0 ? 0.0 : omt / (1.0 - pc));
        r.grad = (p < lo) | (p > hi) ? 0.0 : g;
    }
    return r;
}

/* Element k of a block: stores its loss to lo[k] (need_loss) and its gradient times gscale
   to go[k] (need_grad); returns the loss. */
XM_INLINE double XN(bin_elem)(const int mode, const int need_loss, const int need_grad,
                              const int weighted, const XT *restrict x, const XT *restrict t,
                              const XT *restrict w, const XT *restrict pw, ptrdiff_t k,
                              double clip_lo, double clip_hi, double gscale, XT *restrict lo,
                              XT *restrict go)
{
    double xv = (double)x[k], tv = (double)t[k];
    double wv = weighted ? (double)w[k] : 1.0;
    xentc_bin_lg r = mode == XENTC_BIN_LOGITS
                         ? XN(bin_logits)(xv, tv, weighted ? (double)pw[k] : 1.0)
                         : XN(bin_prob)(xv, tv, mode == XENTC_BIN_PROB, clip_lo, clip_hi);
    double v = r.loss, g = r.grad;
    if (weighted) {
        v = xentc_weighted(wv, v);
        g = xentc_weighted(wv, g);
    }
    if (need_loss)
        lo[k] = (XT)v;
    if (need_grad)
        go[k] = (XT)(g * gscale);
    return v;
}

/* 1 for a value outside [0, 1] or NaN. */
#define XN_BIN_INVALID(v) (((double)(v) >= 0.0) & ((double)(v) <= 1.0) ? 0.0 : 1.0)

/*
 * One block of n contiguous (or gathered) elements.  mode, need_loss, need_grad and weighted
 * are constants at each call site: the loop is specialised for each combination (and has
 * only the reductions it uses: gcc does not vectorise a loop with an unused one).  Returns
 * the block's loss sum and adds to *bad_x / *bad_t the number of probabilities / targets
 * outside [0, 1] (or NaN) in the clamp mode.
 */
XM_INLINE double XN(bin_run)(const int mode, const int need_loss, const int need_grad,
                             const int weighted, const XT *restrict x, const XT *restrict t,
                             const XT *restrict w, const XT *restrict pw, ptrdiff_t n,
                             double clip_lo, double clip_hi, double gscale, XT *restrict lo,
                             XT *restrict go, double *bad_x, double *bad_t)
{
    double s = 0.0, bx = 0.0, bt = 0.0;
#define XN_BIN_ELEM                                                                         \
    XN(bin_elem)(mode, need_loss, need_grad, weighted, x, t, w, pw, k, clip_lo, clip_hi,     \
                 gscale, lo, go)
    if (mode == XENTC_BIN_PROB && need_loss) {
#pragma omp simd reduction(+:s, bx, bt)
        for (ptrdiff_t k = 0; k < n; k++) {
            s += XN_BIN_ELEM;
            bx += XN_BIN_INVALID(x[k]);
            bt += XN_BIN_INVALID(t[k]);
        }
    } else if (mode == XENTC_BIN_PROB) {
#pragma omp simd reduction(+:bx, bt)
        for (ptrdiff_t k = 0; k < n; k++) {
            XN_BIN_ELEM;
            bx += XN_BIN_INVALID(x[k]);
            bt += XN_BIN_INVALID(t[k]);
        }
    } else if (need_loss) {
#pragma omp simd reduction(+:s)
        for (ptrdiff_t k = 0; k < n; k++)
            s += XN_BIN_ELEM;
    } else {
#pragma omp simd
        for (ptrdiff_t k = 0; k < n; k++)
            XN_BIN_ELEM;
    }
#undef XN_BIN_ELEM
    *bad_x += bx;
    *bad_t += bt;
    return s;
}

/* Elements [b0, b0 + n) of an operand: a pointer into it when it is flat, else gathered
   into buf. */
XM_INLINE const XT *XN(bin_operand)(const xentc_bin_operand *op, ptrdiff_t C, ptrdiff_t b0,
                                    ptrdiff_t n, XT *restrict buf)
{
    const XT *p = (const XT *)op->p;
    const ptrdiff_t rs = op->rs, cs = op->cs;
    if (cs == 1 && rs == C)
        return p + b0;
    ptrdiff_t i = b0 / C, j = b0 % C;
    for (ptrdiff_t k = 0; k < n; i++, j = 0) {
        const ptrdiff_t m = C - j < n - k ? C - j : n - k;
        const XT *row = p + i * rs + j * cs;
        for (ptrdiff_t q = 0; q < m; q++)
            buf[k + q] = row[q * cs];
        k += m;
    }
    return buf;
}

XM_INLINE double XN(bin_task)(const int mode, const int need_loss, const int need_grad,
                              const int weighted, const xentc_bin_args *A, ptrdiff_t e0,
                              ptrdiff_t e1, double *bad_x, double *bad_t)
{
    XT xb[XENTC_BIN_BLOCK], tb[XENTC_BIN_BLOCK], lb[XENTC_BIN_BLOCK];
    XT wb[XENTC_BIN_BLOCK], pb[XENTC_BIN_BLOCK];
    const ptrdiff_t C = A->n_cols;
    /* absent weights are the constant 1; constants are expanded once */
    const int w_const = A->w.p == NULL || (A->w.rs == 0 && A->w.cs == 0);
    const int pw_const = A->pw.p == NULL || (A->pw.rs == 0 && A->pw.cs == 0);
    if (weighted) {
        const XT wc = A->w.p ? *(const XT *)A->w.p : (XT)1;
        const XT pc = A->pw.p ? *(const XT *)A->pw.p : (XT)1;
        for (int k = 0; k < XENTC_BIN_BLOCK; k++) {
            wb[k] = w_const ? wc : (XT)0;
            pb[k] = pw_const ? pc : (XT)0;
        }
    }
    xm_cascade sum;
    xm_cascade_init(&sum);
    for (ptrdiff_t b0 = e0; b0 < e1; b0 += XENTC_BIN_BLOCK) {
        const ptrdiff_t n = e1 - b0 < XENTC_BIN_BLOCK ? e1 - b0 : XENTC_BIN_BLOCK;
        const XT *x = XN(bin_operand)(&A->x, C, b0, n, xb);
        const XT *t = XN(bin_operand)(&A->t, C, b0, n, tb);
        const XT *w = !weighted ? NULL : w_const ? wb : XN(bin_operand)(&A->w, C, b0, n, wb);
        const XT *pw = !weighted ? NULL : pw_const ? pb : XN(bin_operand)(&A->pw, C, b0, n, pb);
        XT *lo = A->loss ? (XT *)A->loss + b0 : lb;
        XT *go = need_grad ? (XT *)A->grad + b0 : NULL;
        double s;
#if XENTC_ISA_AVX512
        if (mode == XENTC_BIN_LOGITS)
            s = XM512_XT(bce_logits)(need_loss, need_grad, weighted, x, t, w, pw, n,
                                     A->gscale, A->loss ? lo : NULL, go);
        else
#endif
            s = XN(bin_run)(mode, need_loss, need_grad, weighted, x, t, w, pw, n, A->lo,
                            A->hi, A->gscale, lo, go, bad_x, bad_t);
        if (need_loss)
            xm_cascade_add(&sum, s);
    }
    return xm_cascade_total(&sum);
}

#undef XN_BIN_INVALID

/*
 * Entry point: the elements [e0, e1) of the problem A (the loss sum is returned; per-element
 * losses are written where A->loss is set, gradients where A->grad is).  *bad_x and *bad_t
 * receive the counts of invalid probabilities and targets (clamp mode; 0 otherwise).
 */
XENTC_ENTRY double XN(binary_task)(const xentc_bin_args *A, ptrdiff_t e0, ptrdiff_t e1,
                                   double *bad_x, double *bad_t)
{
    const int weighted = A->w.p != NULL || A->pw.p != NULL;
    const int need_loss = A->need_loss, need_grad = A->grad != NULL;
    *bad_x = *bad_t = 0.0;
#define XN_BIN_CASE(MODE)                                                                   \
    case MODE:                                                                              \
        if (weighted) {                                                                     \
            if (need_loss && need_grad)                                                     \
                return XN(bin_task)(MODE, 1, 1, 1, A, e0, e1, bad_x, bad_t);                \
            if (need_loss)                                                                  \
                return XN(bin_task)(MODE, 1, 0, 1, A, e0, e1, bad_x, bad_t);                \
            return XN(bin_task)(MODE, 0, 1, 1, A, e0, e1, bad_x, bad_t);                    \
        }                                                                                   \
        if (need_loss && need_grad)                                                         \
            return XN(bin_task)(MODE, 1, 1, 0, A, e0, e1, bad_x, bad_t);                    \
        if (need_loss)                                                                      \
            return XN(bin_task)(MODE, 1, 0, 0, A, e0, e1, bad_x, bad_t);                    \
        return XN(bin_task)(MODE, 0, 1, 0, A, e0, e1, bad_x, bad_t);
    switch (A->mode) {
        XN_BIN_CASE(XENTC_BIN_LOGITS)
        XN_BIN_CASE(XENTC_BIN_PROB)
        XN_BIN_CASE(XENTC_BIN_PROB_EPS)
    }
#undef XN_BIN_CASE
    return 0.0;
}
