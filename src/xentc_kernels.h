/*
 * xentc's C kernels: instantiation per element type and ISA level, and run-time dispatch.
 *
 * The kernel sources (xentc_*_impl.h) are written once in portable C with `#pragma omp simd`
 * loops.  On x86-64 with gcc or clang they are compiled three times through function target
 * attributes -- baseline (SSE2), AVX2+FMA (x86-64-v3) and AVX-512 (x86-64-v4) -- and a table
 * of function pointers for the best level the CPU supports is chosen when the module is
 * imported (xentc_init_dispatch).  Elsewhere only the portable baseline is built.
 *
 * At the AVX-512 level a few float64 hot loops use the intrinsics of xentc_avx512.h instead
 * (XENTC_ISA_AVX512 is 1 in those instantiations).
 *
 * Entry points are called by src/_core.pyx from `prange` loops over blocks of rows, without
 * the GIL: they take raw pointers, trust their arguments (the Python layer validates) and
 * never allocate.
 */
#ifndef XENTC_KERNELS_H
#define XENTC_KERNELS_H

#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <math.h>
#include "xentc_math.h"

#if defined(_MSC_VER) && !defined(__clang__)
#  define restrict __restrict
#endif

/* Elements of type T in one cache line (for prefetching). */
#define XENTC_LINE(T) ((ptrdiff_t)(64 / sizeof(T)))
/* Elements per block of the one-pass row scan (the block is read twice: second time from L1). */
#ifndef XENTC_ROW_BLOCK
#define XENTC_ROW_BLOCK 512
#endif
/* Elements per block of the chunk-flat small-C kernels (e[] scratch of this many doubles). */
#define XENTC_FLAT_BLOCK 2048
/* Longest float32 softmax row whose exponentials the AVX-512 path keeps in a buffer on the
   stack (longer rows: on the heap). */
#define XENTC_TWO_PASS_MAX 4096
/* Bytes per block of the row kernels that read each block twice (its max, then its
   exponentials, the second read from L1), for rows longer than one block.  Small blocks keep
   the second read overlapped with the prefetcher's stream of the next block: against 32 KiB
   blocks (C harness, one thread, rows from memory) the log-sum-exp of rows of 32000 went
   from 0.94 to 0.58 ns an element (float64) and from 0.67 to 0.48 (float32). */
#ifndef XENTC_PASS_BLOCK_BYTES
#define XENTC_PASS_BLOCK_BYTES 4096
#endif
#define XENTC_PASS_BLOCK(T) ((ptrdiff_t)(XENTC_PASS_BLOCK_BYTES / sizeof(T)))
/* softmax rows longer than this (bytes) prefetch the next row during their exponentials: its
   max pass then reads from cache instead of waiting on memory (C harness, one thread, rows
   from memory, C = 1000: float64 softmax 3.4 -> 2.6 x floor, float32 softmax gradient
   4.8 -> 4.0); at C = 100 the prefetches measured a small loss. */
#define XENTC_PREFETCH_ROW_BYTES 2048
/* Independent partial sums of the row scan (a power of two: 4 AVX-512 vectors of doubles). */
#define XENTC_LANES 32
/* Terms per vectorised block of the pairwise (exact) summation. */
#define XENTC_PAIRWISE_BLOCK 128
/* Row lengths handled by the small-row kernels: log-sum-exp is chunk-flat for
   XENTC_FLAT_MIN_C <= C <= XENTC_FLAT_MAX and transposed-block below; softmax is
   transposed-block for 3 <= C <= XENTC_FLAT_MAX.  Longer rows are scanned one by one. */
#define XENTC_FLAT_MIN_C 8
#define XENTC_FLAT_MAX 48
/* Largest |block max| for which the AVX-512 chunk-flat exp reduces each element on its own
   (2^15: then the multiples of ln2 / 16 it subtracts are exact). */
#define XENTC_OFFSET_MAX 32768.0
/* Most rows in one transposed block (XENTC_FLAT_BLOCK / 3, a multiple of 8). */
#define XENTC_TB_ROWS 680
/* Rows longer than this are split in segments of XENTC_SEGMENT elements, processed in
   parallel and merged in a fixed order (so that one long row still uses every thread). */
#define XENTC_SEGMENT_ABOVE 262144
#define XENTC_SEGMENT 65536

/* Partial log-sum-exp of some elements: max m (NaN ignored), st = sum of exp(x - m) over the
   elements below m (NaN if a NaN was seen), cnt = number of elements equal to m. */
typedef struct {
    double m, st, cnt;
} xentc_lse_state;

/* Log-sum-exp of a finished state.  m = +inf gives +inf, all -inf (or no element) gives
   -inf, NaN gives NaN: scipy's results for such rows.  Branch-free (vector loops use it). */
static inline double xentc_lse_finish(xentc_lse_state s)
{
    double r = xm_m_plus_log1p(s.m, s.st + (s.cnt - 1.0));   /* m +-inf: m + v */
    r = s.m == -XM_INF ? s.m : r;
    return s.st != s.st ? s.st : r;
}

/* exp(a - b) for a < b (b finite, a may be -inf), with a - b formed exactly. */
static inline double xentc_exp_diff(double a, double b)
{
    if (a == -XM_INF)
        return 0.0;
    xm_dd d = xm_two_sum(a, -b);
    return xm_exp_full(d.hi, d.lo);
}

/* Combine the states of two disjoint parts of a row (a before b, order fixed by callers). */
static inline xentc_lse_state xentc_lse_merge(xentc_lse_state a, xentc_lse_state b)
{
    xentc_lse_state r;
    r.m = a.m > b.m ? a.m : b.m;
    if (r.m == -XM_INF) {
        r.st = a.st + b.st;
        r.cnt = a.cnt + b.cnt;
        return r;
    }
    r.st = 0.0;
    r.cnt = 0.0;
    if (a.m == r.m) {
        r.st += a.st;
        r.cnt += a.cnt;
    } else {
        r.st += (a.st + a.cnt) * xentc_exp_diff(a.m, r.m);
    }
    if (b.m == r.m) {
        r.st += b.st;
        r.cnt += b.cnt;
    } else {
        r.st += (b.st + b.cnt) * xentc_exp_diff(b.m, r.m);
    }
    return r;
}

/* What a row is, for softmax: finite, or one of scipy's non-finite cases. */
enum { XENTC_ROW_FINITE = 0, XENTC_ROW_NAN = 1, XENTC_ROW_POSINF = 2, XENTC_ROW_NEGINF = 3 };

static inline int xentc_softmax_row_kind(xentc_lse_state s)
{
    if (s.st != s.st)
        return XENTC_ROW_NAN;
    if (s.m == XM_INF)
        return XENTC_ROW_POSINF;
    if (s.m == -XM_INF)
        return XENTC_ROW_NEGINF;
    return XENTC_ROW_FINITE;
}

/* The statistics of a row for the losses: its max m and L = log(sum(exp(x - m))), so that
   log_softmax(x) = (x - m) - L.  L is NaN for a row that is not finite (a NaN, a +inf max or
   all -inf): every loss of such a row is NaN. */
static inline void xentc_put_stats(xentc_lse_state s, double *m, double *l)
{
    *m = s.m;
    if (xentc_softmax_row_kind(s) == XENTC_ROW_FINITE) {
        xm_dd L = xm_log1p_dd(s.st + (s.cnt - 1.0));
        *l = L.hi + L.lo;
    } else {
        *l = __builtin_nan("");
    }
}

/* w * v for a loss term (or its gradient) v with weight w, where a zero weight makes the term
   0 even if v is infinite (the xlogy convention, SPEC 2); NaN stays NaN.  Branch-free: it is
   called in vector loops. */
static inline double xentc_weighted(double w, double v)
{
    return (w == 0.0) & (__builtin_fabs(v) == XM_INF) ? 0.0 : w * v;
}

/* Rows per transposed block for rows of C values: ~XENTC_FLAT_BLOCK elements, a multiple
   of 8 rows. */
static inline ptrdiff_t xentc_tb_rows(ptrdiff_t C)
{
    ptrdiff_t r = (XENTC_FLAT_BLOCK / C) & ~(ptrdiff_t)7;
    return r < 8 ? 8 : r;
}

/* Rows of a chunk-flat block: thread splits on multiples of this keep results bit-identical
   (the other kernels compute every row on its own). */
static inline ptrdiff_t xentc_lse_row_quantum(ptrdiff_t n_cols)
{
    return (n_cols >= XENTC_FLAT_MIN_C && n_cols <= XENTC_FLAT_MAX) ? XENTC_FLAT_BLOCK / n_cols
                                                                   : 1;
}


/* Binary cross-entropy (xentc_binary_impl.h): elements per vector block, the modes, and
   PyTorch's gradient floor 1e-12 as a float32. */
#define XENTC_BIN_BLOCK 512
enum { XENTC_BIN_LOGITS = 0, XENTC_BIN_PROB = 1, XENTC_BIN_PROB_EPS = 2 };
#define XENTC_BCE_GRAD_EPS ((double)1e-12f)

/* Element (i, j) of a 2-D (rows x last axis) operand is p[i * rs + j * cs] (element strides;
   0 for a broadcast dimension).  p == NULL: absent (a weight of 1). */
typedef struct {
    const void *p;
    ptrdiff_t rs, cs;
} xentc_bin_operand;

/* One binary cross-entropy problem: n_cols is the length of the last axis; loss (per-element
   losses) and grad are C-contiguous outputs or NULL; lo, hi the clip bounds of
   XENTC_BIN_PROB_EPS; gscale multiplies the gradient (1/n for a mean). */
typedef struct {
    xentc_bin_operand x, t, w, pw;
    ptrdiff_t n_cols;
    void *loss, *grad;
    int mode, need_loss;
    double lo, hi, gscale;
} xentc_bin_args;

typedef struct {
    double loss, grad;
} xentc_bin_lg;


/* log_loss on probabilities (xentc_logloss_impl.h): the most rows per block and the bytes
   of P a block aims at, the row length from which contiguous rows are checked one at a
   time, and the three ways a block is read. */
#define XENTC_LL_ROWS 256
#define XENTC_LL_BLOCK_BYTES 5120
#define XENTC_LL_ROW_WISE_MIN 16
/* With AVX-512, float32 rows of 3 .. XENTC_LL_FUSED_MAX values, contiguous, are checked and
   scored in one loop (xm512_ll_rows_f32; its gather's indices are int32) where the row-sum
   tolerance is well above its float sums' error (float32's tol is 3.5e-4; the error is at
   most 67 * 2^-24 (s + 1) at 1024 values).  Elsewhere they go as the other types. */
#define XENTC_LL_FUSED_MAX 1024
#define XENTC_LL_FUSED_MAX_STRIDE ((ptrdiff_t)1 << 26)
#define XENTC_LL_FUSED_MIN_TOL 0x1p-13
enum { XENTC_LL_BY_ROW = 0, XENTC_LL_FLAT = 1, XENTC_LL_BY_COLUMN = 2 };

/* Element (i, j) of P is p[i * rs + j * cs]; n_cols == 1: binary, p = P(second class).
   y: class codes (int64, or int32 if code32) in [0, n_cols) ({0, 1} when binary), NULL for
   the checks alone (not when binary); w: sample weights or NULL; lo, hi: the clip bounds;
   tol: the row-sum tolerance; loss: NULL, or where the unweighted loss of each row goes
   (indexed by row, like y); seen: NULL, or n_cols flags (2 when binary) set to 1 for each
   code in range that occurs (shared by the tasks: relaxed atomic bytes). */
typedef struct {
    const void *p;
    ptrdiff_t rs, cs, n_cols;
    const void *y;
    int code32;
    const double *w;
    double lo, hi, tol;
    double *loss;
    unsigned char *seen;
} xentc_ll_args;


/* ---------------------------------------------------------------------------------------- */
/* Instantiations                                                                           */
/* ---------------------------------------------------------------------------------------- */

#if (defined(__GNUC__) || defined(__clang__)) && (defined(__x86_64__) || defined(_M_X64))
#  define XENTC_X86_DISPATCH 1
#  define XENTC_TARGET_AVX2 "avx2,fma,bmi,bmi2,lzcnt,popcnt,f16c,movbe"
#  define XENTC_TARGET_AVX512 XENTC_TARGET_AVX2 ",avx512f,avx512bw,avx512cd,avx512dq,avx512vl"
#else
#  define XENTC_X86_DISPATCH 0
#endif
#if XENTC_X86_DISPATCH
#  include "xentc_avx512.h"
#endif
/* 1 in the AVX-512 instantiations (where xentc_avx512.h's intrinsics may be used). */
#define XENTC_ISA_AVX512 0
/* xm512_<name>_f64 or _f32: xentc_avx512.h's function for the instantiation's XT */
#define XM512_XT(name) XM512_XT_SEL(name, XT_IS_F32)
#define XM512_XT_SEL(name, f32) XM512_XT_CAT(name, f32)
#define XM512_XT_CAT(name, f32) XM512_XT_##f32(name)
#define XM512_XT_0(name) xm512_##name##_f64
#define XM512_XT_1(name) xm512_##name##_f32


#define XENTC_ENTRY static
#define XT double
#define XT_IS_F32 0
#define XN(name) xentc_##name##_f64_base
#include "xentc_lse_impl.h"
#include "xentc_softmax_impl.h"
#include "xentc_lse_b_impl.h"
#include "xentc_ce_impl.h"
#include "xentc_binary_impl.h"
#include "xentc_logloss_impl.h"
#undef XT
#undef XT_IS_F32
#undef XN
#define XT float
#define XT_IS_F32 1
#define XN(name) xentc_##name##_f32_base
#include "xentc_lse_impl.h"
#include "xentc_softmax_impl.h"
#include "xentc_lse_b_impl.h"
#include "xentc_ce_impl.h"
#include "xentc_binary_impl.h"
#include "xentc_logloss_impl.h"
#undef XT
#undef XT_IS_F32
#undef XN
#undef XENTC_ENTRY

#if XENTC_X86_DISPATCH
#define XENTC_ENTRY static __attribute__((target(XENTC_TARGET_AVX2), flatten))
#define XT double
#define XT_IS_F32 0
#define XN(name) xentc_##name##_f64_avx2
#include "xentc_lse_impl.h"
#include "xentc_softmax_impl.h"
#include "xentc_lse_b_impl.h"
#include "xentc_ce_impl.h"
#include "xentc_binary_impl.h"
#include "xentc_logloss_impl.h"
#undef XT
#undef XT_IS_F32
#undef XN
#define XT float
#define XT_IS_F32 1
#define XN(name) xentc_##name##_f32_avx2
#include "xentc_lse_impl.h"
#include "xentc_softmax_impl.h"
#include "xentc_lse_b_impl.h"
#include "xentc_ce_impl.h"
#include "xentc_binary_impl.h"
#include "xentc_logloss_impl.h"
#undef XT
#undef XT_IS_F32
#undef XN
#undef XENTC_ENTRY

#define XENTC_ENTRY static __attribute__((target(XENTC_TARGET_AVX512), flatten))
#undef XENTC_ISA_AVX512
#define XENTC_ISA_AVX512 1
#define XT double
#define XT_IS_F32 0
#define XN(name) xentc_##name##_f64_avx512
#include "xentc_lse_impl.h"
#include "xentc_softmax_impl.h"
#include "xentc_lse_b_impl.h"
#include "xentc_ce_impl.h"
#include "xentc_binary_impl.h"
#include "xentc_logloss_impl.h"
#undef XT
#undef XT_IS_F32
#undef XN
#define XT float
#define XT_IS_F32 1
#define XN(name) xentc_##name##_f32_avx512
#include "xentc_lse_impl.h"
#include "xentc_softmax_impl.h"
#include "xentc_lse_b_impl.h"
#include "xentc_ce_impl.h"
#include "xentc_binary_impl.h"
#include "xentc_logloss_impl.h"
#undef XT
#undef XT_IS_F32
#undef XN
#undef XENTC_ENTRY
#undef XENTC_ISA_AVX512
#define XENTC_ISA_AVX512 0
#endif

/* Class-index targets y[0..n) (int64): the number outside [0, C) that are not the ignore
   index (if has_ignore), the number in range and not ignored, and (w not NULL) the sum of
   w[y] over those.  One unsigned compare tests both bounds; compiled per ISA level (64-bit
   compares vectorise from AVX2 on). */
#define XENTC_DEFINE_CHECK_TARGETS(sfx, attrs)                                              \
    attrs void xentc_check_targets_i64_##sfx(const int64_t *restrict y, ptrdiff_t n,      \
                                             int64_t has_ignore, int64_t ignore,          \
                                             int64_t C, const double *restrict w,         \
                                             ptrdiff_t *n_bad, ptrdiff_t *n_valid,        \
                                             double *wsum)                                \
    {                                                                                       \
        int64_t bad = 0, valid = 0;                                                         \
        double ws = 0.0;                                                                    \
        _Pragma("omp simd reduction(+:bad, valid)")                                         \
        for (ptrdiff_t i = 0; i < n; i++) {                                                 \
            int64_t v = y[i];                                                               \
            int64_t ign = has_ignore & (int64_t)(v == ignore);                              \
            int64_t ok = (int64_t)((uint64_t)v < (uint64_t)C);                              \
            bad += 1 - (ok | ign);                                                          \
            valid += ok & (1 - ign);                                                        \
        }                                                                                   \
        if (w && bad == 0) {                                                                \
            _Pragma("omp simd reduction(+:ws)")                                             \
            for (ptrdiff_t i = 0; i < n; i++) {                                             \
                int64_t v = y[i];                                                           \
                int use = !(has_ignore & (v == ignore));                                    \
                ws += use ? w[use ? v : 0] : 0.0;                                           \
            }                                                                               \
        }                                                                                   \
        *n_bad = (ptrdiff_t)bad;                                                            \
        *n_valid = (ptrdiff_t)valid;                                                        \
        *wsum = ws;                                                                         \
    }
XENTC_DEFINE_CHECK_TARGETS(base, static)
#if XENTC_X86_DISPATCH
XENTC_DEFINE_CHECK_TARGETS(avx2, static __attribute__((target(XENTC_TARGET_AVX2))))
XENTC_DEFINE_CHECK_TARGETS(avx512, static __attribute__((target(XENTC_TARGET_AVX512))))
#endif
#undef XENTC_DEFINE_CHECK_TARGETS

/* ---------------------------------------------------------------------------------------- */
/* Dispatch                                                                                 */
/* ---------------------------------------------------------------------------------------- */

typedef struct {
    void (*lse_rows_f64)(const double *, ptrdiff_t, ptrdiff_t, ptrdiff_t, double *);
    void (*lse_rows_f32)(const float *, ptrdiff_t, ptrdiff_t, ptrdiff_t, float *);
    void (*lse_partial_f64)(const double *, ptrdiff_t, int, xentc_lse_state *);
    void (*lse_partial_f32)(const float *, ptrdiff_t, int, xentc_lse_state *);
    double (*lse_row_exact_f64)(const double *, ptrdiff_t);
    double (*lse_row_exact_f32)(const float *, ptrdiff_t);
    double (*lse_tiny_result_f64)(void);
    double (*lse_tiny_result_f32)(void);
    ptrdiff_t (*softmax_rows_f64)(const double *, ptrdiff_t, ptrdiff_t, ptrdiff_t, double *,
                                  ptrdiff_t, int, double *, double *, const double *);
    ptrdiff_t (*softmax_rows_f32)(const float *, ptrdiff_t, ptrdiff_t, ptrdiff_t, float *,
                                  ptrdiff_t, int, double *, double *, const double *);
    void (*softmax_apply_f64)(const double *, ptrdiff_t, xentc_lse_state, double *, int);
    void (*softmax_apply_f32)(const float *, ptrdiff_t, xentc_lse_state, float *, int);
    void (*lse_b_rows_f64)(const double *, ptrdiff_t, const double *, ptrdiff_t, ptrdiff_t,
                           ptrdiff_t, ptrdiff_t, int, double *, double *);
    void (*lse_b_rows_f32)(const float *, ptrdiff_t, const float *, ptrdiff_t, ptrdiff_t,
                           ptrdiff_t, ptrdiff_t, int, float *, float *);
    double (*ce_index_rows_f64)(const double *, ptrdiff_t, ptrdiff_t, ptrdiff_t,
                                const int64_t *, int64_t, const double *, double, double,
                                int, double *, double *, double);
    double (*ce_index_rows_f32)(const float *, ptrdiff_t, ptrdiff_t, ptrdiff_t,
                                const int64_t *, int64_t, const double *, double, double,
                                int, float *, float *, double);
    double (*ce_prob_rows_f64)(const double *, ptrdiff_t, ptrdiff_t, ptrdiff_t,
                               const double *, ptrdiff_t, const double *, double, int,
                               double *, double *, double);
    double (*ce_prob_rows_f32)(const float *, ptrdiff_t, ptrdiff_t, ptrdiff_t,
                               const float *, ptrdiff_t, const double *, double, int,
                               float *, float *, double);
    double (*read_floor_f64)(const double *, ptrdiff_t);
    double (*read_floor_f32)(const float *, ptrdiff_t);
    double (*binary_task_f64)(const xentc_bin_args *, ptrdiff_t, ptrdiff_t, double *, double *);
    double (*binary_task_f32)(const xentc_bin_args *, ptrdiff_t, ptrdiff_t, double *, double *);
    void (*check_targets_i64)(const int64_t *, ptrdiff_t, int64_t, int64_t, int64_t,
                              const double *, ptrdiff_t *, ptrdiff_t *, double *);
    double (*log_loss_task_f64)(const xentc_ll_args *, ptrdiff_t, ptrdiff_t, double *, double *,
                                double *);
    double (*log_loss_task_f32)(const xentc_ll_args *, ptrdiff_t, ptrdiff_t, double *, double *,
                                double *);
} xentc_kernel_table;

#define XENTC_TABLE(sfx) {                                                                  \
    xentc_lse_rows_f64_##sfx, xentc_lse_rows_f32_##sfx,                                     \
    xentc_lse_partial_f64_##sfx, xentc_lse_partial_f32_##sfx,                               \
    xentc_lse_row_exact_f64_##sfx, xentc_lse_row_exact_f32_##sfx,                           \
    xentc_lse_tiny_result_f64_##sfx, xentc_lse_tiny_result_f32_##sfx,                       \
    xentc_softmax_rows_f64_##sfx, xentc_softmax_rows_f32_##sfx,                             \
    xentc_softmax_apply_f64_##sfx, xentc_softmax_apply_f32_##sfx,                           \
    xentc_lse_b_rows_f64_##sfx, xentc_lse_b_rows_f32_##sfx,                                 \
    xentc_ce_index_rows_f64_##sfx, xentc_ce_index_rows_f32_##sfx,                           \
    xentc_ce_prob_rows_f64_##sfx, xentc_ce_prob_rows_f32_##sfx,                             \
    xentc_read_floor_f64_##sfx, xentc_read_floor_f32_##sfx,                                 \
    xentc_binary_task_f64_##sfx, xentc_binary_task_f32_##sfx,                               \
    xentc_check_targets_i64_##sfx,                                                          \
    xentc_log_loss_task_f64_##sfx, xentc_log_loss_task_f32_##sfx }

enum { XENTC_LEVEL_BASELINE = 0, XENTC_LEVEL_AVX2 = 1, XENTC_LEVEL_AVX512 = 2 };

static const xentc_kernel_table xentc_tables[] = {
    XENTC_TABLE(base),
#if XENTC_X86_DISPATCH
    XENTC_TABLE(avx2),
    XENTC_TABLE(avx512),
#endif
};

#define XENTC_N_LEVELS ((int)(sizeof xentc_tables / sizeof xentc_tables[0]))

/* The table in use; read-only after import except through xentc_set_level (tests). */
static const xentc_kernel_table *xentc_kt = &xentc_tables[0];
static int xentc_level = XENTC_LEVEL_BASELINE;

/* Best level this CPU (and OS: the checks include XSAVE state support) can run. */
static int xentc_cpu_max_level(void)
{
#if XENTC_X86_DISPATCH
    __builtin_cpu_init();
    if (__builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
        __builtin_cpu_supports("avx512cd") && __builtin_cpu_supports("avx512dq") &&
        __builtin_cpu_supports("avx512vl") && __builtin_cpu_supports("avx2") &&
        __builtin_cpu_supports("fma") && __builtin_cpu_supports("bmi2"))
        return XENTC_LEVEL_AVX512;
    if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma") &&
        __builtin_cpu_supports("bmi2"))
        return XENTC_LEVEL_AVX2;
#endif
    return XENTC_LEVEL_BASELINE;
}

/* Select a level (clamped to what the CPU supports); returns the level now in use. */
static int xentc_set_level(int level)
{
    int max_level = xentc_cpu_max_level();
    if (level < 0 || level > max_level)
        level = max_level;
    xentc_level = level;
    xentc_kt = &xentc_tables[level];
    return level;
}

#endif /* XENTC_KERNELS_H */
