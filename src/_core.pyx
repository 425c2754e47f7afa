# cython: language_level=3
"""xentc._core: the compiled kernels behind xentc's public functions.

Everything here trusts its arguments: shapes, dtypes, strides and thread counts are validated
by the Python layer (xentc/_validation.py) before any of these functions is called.  Arrays
arrive as 2-D (rows, reduced elements) with a unit column stride; row strides may be anything
(including 0 and negative).  The loops release the GIL and split the rows into fixed blocks
(``prange``, static schedule, one contiguous range of blocks per thread); a row's result never
depends on how many threads ran, so results are bit-identical for every ``n_threads``.
"""

from cython.parallel cimport prange, threadid
from libc.stdlib cimport malloc, free
from libc.string cimport memcmp, memcpy, memset
from libc.math cimport fabs
from libc.stdint cimport int32_t, int64_t, uint64_t

import math

import numpy as np

cdef extern from *:
    """
    #ifdef _OPENMP
    #include <omp.h>
    #define XENTC_OPENMP 1
    #else
    #define XENTC_OPENMP 0
    static int omp_get_max_threads(void) { return 1; }
    #endif
    """
    bint XENTC_OPENMP
    int omp_get_max_threads() nogil


cdef extern from *:
    """
    #if defined(__clang__)
    #define XENTC_COMPILER "clang " __clang_version__
    #elif defined(__GNUC__)
    #define XENTC_COMPILER "gcc " __VERSION__
    #elif defined(_MSC_VER)
    #define XENTC_COMPILER "msvc"
    #else
    #define XENTC_COMPILER "unknown"
    #endif
    """
    const char *XENTC_COMPILER


cdef extern from "xentc_kernels.h" nogil:
    ctypedef struct xentc_lse_state:
        double m
        double st
        double cnt

    ctypedef struct xentc_bin_operand:
        const void *p
        Py_ssize_t rs
        Py_ssize_t cs

    ctypedef struct xentc_bin_args:
        xentc_bin_operand x, t, w, pw
        Py_ssize_t n_cols
        void *loss
        void *grad
        int mode, need_loss
        double lo, hi, gscale

    ctypedef struct xentc_ll_args:
        const void *p
        Py_ssize_t rs, cs, n_cols
        const void *y
        int code32
        const double *w
        double lo, hi, tol
        double *loss
        unsigned char *seen

    ctypedef struct xm_cascade:
        pass
    void xm_cascade_init(xm_cascade *c)
    void xm_cascade_add(xm_cascade *c, double v)
    double xm_cascade_total(const xm_cascade *c)

    ctypedef struct xentc_kernel_table:
        void (*lse_rows_f64)(const double *, Py_ssize_t, Py_ssize_t, Py_ssize_t,
                             double *) noexcept nogil
        void (*lse_rows_f32)(const float *, Py_ssize_t, Py_ssize_t, Py_ssize_t,
                             float *) noexcept nogil
        void (*lse_partial_f64)(const double *, Py_ssize_t, int,
                                xentc_lse_state *) noexcept nogil
        void (*lse_partial_f32)(const float *, Py_ssize_t, int,
                                xentc_lse_state *) noexcept nogil
        double (*lse_row_exact_f64)(const double *, Py_ssize_t) noexcept nogil
        double (*lse_row_exact_f32)(const float *, Py_ssize_t) noexcept nogil
        double (*lse_tiny_result_f64)() noexcept nogil
        double (*lse_tiny_result_f32)() noexcept nogil
        Py_ssize_t (*softmax_rows_f64)(const double *, Py_ssize_t, Py_ssize_t, Py_ssize_t,
                                       double *, Py_ssize_t, int, double *,
                                       double *, const double *) noexcept nogil
        Py_ssize_t (*softmax_rows_f32)(const float *, Py_ssize_t, Py_ssize_t, Py_ssize_t,
                                       float *, Py_ssize_t, int, double *,
                                       double *, const double *) noexcept nogil
        void (*softmax_apply_f64)(const double *, Py_ssize_t, xentc_lse_state, double *,
                                  int) noexcept nogil
        void (*softmax_apply_f32)(const float *, Py_ssize_t, xentc_lse_state, float *,
                                  int) noexcept nogil
        void (*lse_b_rows_f64)(const double *, Py_ssize_t, const double *, Py_ssize_t,
                               Py_ssize_t, Py_ssize_t, Py_ssize_t, int, double *,
                               double *) noexcept nogil
        void (*lse_b_rows_f32)(const float *, Py_ssize_t, const float *, Py_ssize_t,
                               Py_ssize_t, Py_ssize_t, Py_ssize_t, int, float *,
                               float *) noexcept nogil
        double (*ce_index_rows_f64)(const double *, Py_ssize_t, Py_ssize_t, Py_ssize_t,
                                    const int64_t *, int64_t, const double *, double, double,
                                    int, double *, double *, double) noexcept nogil
        double (*ce_index_rows_f32)(const float *, Py_ssize_t, Py_ssize_t, Py_ssize_t,
                                    const int64_t *, int64_t, const double *, double, double,
                                    int, float *, float *, double) noexcept nogil
        double (*ce_prob_rows_f64)(const double *, Py_ssize_t, Py_ssize_t, Py_ssize_t,
                                   const double *, Py_ssize_t, const double *, double, int,
                                   double *, double *, double) noexcept nogil
        double (*ce_prob_rows_f32)(const float *, Py_ssize_t, Py_ssize_t, Py_ssize_t,
                                   const float *, Py_ssize_t, const double *, double, int,
                                   float *, float *, double) noexcept nogil
        void (*check_targets_i64)(const int64_t *, Py_ssize_t, int64_t, int64_t, int64_t,
                                  const double *, Py_ssize_t *, Py_ssize_t *,
                                  double *) noexcept nogil
        double (*read_floor_f64)(const double *, Py_ssize_t) noexcept nogil
        double (*read_floor_f32)(const float *, Py_ssize_t) noexcept nogil
        double (*binary_task_f64)(const xentc_bin_args *, Py_ssize_t, Py_ssize_t, double *,
                                  double *) noexcept nogil
        double (*binary_task_f32)(const xentc_bin_args *, Py_ssize_t, Py_ssize_t, double *,
                                  double *) noexcept nogil
        double (*log_loss_task_f64)(const xentc_ll_args *, Py_ssize_t, Py_ssize_t, double *,
                                    double *, double *) noexcept nogil
        double (*log_loss_task_f32)(const xentc_ll_args *, Py_ssize_t, Py_ssize_t, double *,
                                    double *, double *) noexcept nogil

    const xentc_kernel_table *xentc_kt
    int xentc_level
    int XENTC_N_LEVELS
    int xentc_cpu_max_level()
    int xentc_set_level(int level)

    int XENTC_BIN_LOGITS
    int XENTC_BIN_PROB
    int XENTC_BIN_PROB_EPS
    int XENTC_ROW_POSINF
    int XENTC_ROW_NEGINF
    Py_ssize_t XENTC_SEGMENT
    Py_ssize_t XENTC_SEGMENT_ABOVE
    Py_ssize_t XENTC_FLAT_MAX
    Py_ssize_t xentc_lse_row_quantum(Py_ssize_t n_cols)
    xentc_lse_state xentc_lse_merge(xentc_lse_state a, xentc_lse_state b)
    double xentc_lse_finish(xentc_lse_state s)
    int xentc_softmax_row_kind(xentc_lse_state s)


ctypedef fused floating:
    float
    double

ctypedef fused class_code:
    int32_t
    int64_t

# Work per task (elements) and below which a call stays on one thread.
cdef Py_ssize_t TASK_ELEMENTS = 1 << 15
cdef Py_ssize_t PARALLEL_MIN_ELEMENTS = 1 << 16

LEVEL_NAMES = ("baseline", "avx2", "avx512")
# Rows of at most this many elements must be packed (row stride == row length): the small-row
# kernels process blocks of rows as one array.
SMALL_ROW_MAX = XENTC_FLAT_MAX


# --------------------------------------------------------------------------------------------
# Build and run-time configuration
# --------------------------------------------------------------------------------------------

def openmp_enabled():
    """True when the extension was compiled with OpenMP."""
    return bool(XENTC_OPENMP)


def omp_max_threads():
    """OpenMP's current default team size (honours OMP_NUM_THREADS and threadpoolctl)."""
    return omp_get_max_threads()


def compiled_levels():
    """Names of the kernel code paths compiled into this build."""
    return LEVEL_NAMES[:XENTC_N_LEVELS]


def compiler_version():
    """The compiler that built the kernels."""
    return XENTC_COMPILER.decode()


def cpu_level():
    """Name of the kernel code path in use: 'baseline', 'avx2' or 'avx512'."""
    return LEVEL_NAMES[xentc_level]


def cpu_max_level():
    """Name of the best code path this CPU supports."""
    return LEVEL_NAMES[xentc_cpu_max_level()]


def set_cpu_level(name):
    """Select a code path ('baseline', 'avx2', 'avx512' or 'auto'); returns the one in use.

    Levels the CPU does not support fall back to the best supported one.  Not thread-safe:
    meant for tests and benchmarks, before any concurrent call.
    """
    level = -1 if name == "auto" else LEVEL_NAMES.index(name)
    return LEVEL_NAMES[xentc_set_level(level)]


def _select_level_from_environment():
    import os
    name = os.environ.get("XENTC_CPU_LEVEL", "auto").strip().lower() or "auto"
    if name not in LEVEL_NAMES + ("auto",):
        import warnings
        warnings.warn(f"XENTC_CPU_LEVEL={name!r} is not one of baseline, avx2, avx512, auto; "
                      "using auto", RuntimeWarning)
        name = "auto"
    set_cpu_level(name)


_select_level_from_environment()


# --------------------------------------------------------------------------------------------
# Helpers
# --------------------------------------------------------------------------------------------

cdef inline Py_ssize_t _rows_per_task(Py_ssize_t n_cols) noexcept nogil:
    """Rows per prange task: a multiple of the kernel's row quantum, ~TASK_ELEMENTS elements."""
    cdef Py_ssize_t q = xentc_lse_row_quantum(n_cols)
    cdef Py_ssize_t per = TASK_ELEMENTS // (q * (n_cols if n_cols > 0 else 1))
    return q * (per if per > 1 else 1)


cdef inline bint _use_threads(Py_ssize_t n_tasks, Py_ssize_t n_elements,
                              int n_threads) noexcept nogil:
    return n_threads > 1 and n_tasks > 1 and n_elements >= PARALLEL_MIN_ELEMENTS


# --------------------------------------------------------------------------------------------
# log-sum-exp
# --------------------------------------------------------------------------------------------

def lse_rows(const floating[:, :] x, floating[::1] out, int n_threads):
    """out[i] = log(sum(exp(x[i, :]))) for a 2-D x with unit column stride, n_cols >= 1."""
    cdef Py_ssize_t n_rows = x.shape[0], n_cols = x.shape[1]
    if n_rows == 0:
        return
    cdef Py_ssize_t ld = x.strides[0] // <Py_ssize_t>sizeof(floating)
    cdef const floating *xp = &x[0, 0]
    cdef floating *op = &out[0]
    cdef Py_ssize_t rows = _rows_per_task(n_cols)
    cdef Py_ssize_t n_tasks = (n_rows + rows - 1) // rows
    cdef Py_ssize_t t, r0, r1

    if n_cols > XENTC_SEGMENT_ABOVE:
        _lse_rows_segmented(xp, ld, n_rows, n_cols, op, n_threads)
        return
    with nogil:
        for t in prange(n_tasks, schedule="static", num_threads=n_threads,
                        use_threads_if=_use_threads(n_tasks, n_rows * n_cols, n_threads)):
            r0 = t * rows
            r1 = r0 + rows if r0 + rows < n_rows else n_rows
            if floating is double:
                xentc_kt.lse_rows_f64(xp + r0 * ld, ld, r1 - r0, n_cols, op + r0)
            else:
                xentc_kt.lse_rows_f32(xp + r0 * ld, ld, r1 - r0, n_cols, op + r0)


cdef xentc_lse_state *_row_states(const floating *xp, Py_ssize_t ld, Py_ssize_t n_rows,
                                  Py_ssize_t n_cols, int exact_shift,
                                  int n_threads) except NULL:
    """Merged states of long rows, their segments scanned in parallel (caller frees)."""
    cdef Py_ssize_t n_seg = (n_cols + XENTC_SEGMENT - 1) // XENTC_SEGMENT
    cdef Py_ssize_t n_tasks = n_rows * n_seg
    cdef xentc_lse_state *seg = <xentc_lse_state *>malloc(n_tasks * sizeof(xentc_lse_state))
    cdef xentc_lse_state *rows = <xentc_lse_state *>malloc(n_rows * sizeof(xentc_lse_state))
    cdef Py_ssize_t t, i, k, j0, nj
    if seg == NULL or rows == NULL:
        free(seg)
        free(rows)
        raise MemoryError()
    with nogil:
        for t in prange(n_tasks, schedule="static", num_threads=n_threads,
                        use_threads_if=n_threads > 1):
            i = t // n_seg
            j0 = (t % n_seg) * XENTC_SEGMENT
            nj = n_cols - j0 if n_cols - j0 < XENTC_SEGMENT else XENTC_SEGMENT
            if floating is double:
                xentc_kt.lse_partial_f64(xp + i * ld + j0, nj, exact_shift, &seg[t])
            else:
                xentc_kt.lse_partial_f32(xp + i * ld + j0, nj, exact_shift, &seg[t])
        for i in range(n_rows):
            rows[i] = seg[i * n_seg]
            for k in range(1, n_seg):
                rows[i] = xentc_lse_merge(rows[i], seg[i * n_seg + k])
    free(seg)
    return rows


cdef int _lse_rows_segmented(const floating *xp, Py_ssize_t ld, Py_ssize_t n_rows,
                             Py_ssize_t n_cols, floating *op, int n_threads) except -1:
    cdef xentc_lse_state *rows = _row_states(xp, ld, n_rows, n_cols, 0, n_threads)
    cdef Py_ssize_t i
    cdef double r, tiny
    with nogil:
        if floating is double:
            tiny = xentc_kt.lse_tiny_result_f64()
        else:
            tiny = xentc_kt.lse_tiny_result_f32()
        for i in range(n_rows):
            r = xentc_lse_finish(rows[i])
            if fabs(r) < tiny:
                # same rule as the per-row kernel: a result near zero is redone exactly
                if floating is double:
                    r = xentc_kt.lse_row_exact_f64(xp + i * ld, n_cols)
                else:
                    r = xentc_kt.lse_row_exact_f32(xp + i * ld, n_cols)
            op[i] = <floating>r
    free(rows)
    return 0


def lse_b_rows(const floating[:, :] a, const floating[:, :] b, floating[::1] out,
               floating[::1] sign, bint return_sign, int n_threads):
    """Weighted log-sum-exp (scipy's b=) of the rows of a, weights b of the same 2-D shape."""
    cdef Py_ssize_t n_rows = a.shape[0], n_cols = a.shape[1]
    if n_rows == 0:
        return
    cdef Py_ssize_t lda = a.strides[0] // <Py_ssize_t>sizeof(floating)
    cdef Py_ssize_t ldb = b.strides[0] // <Py_ssize_t>sizeof(floating)
    cdef Py_ssize_t sb = b.strides[1] // <Py_ssize_t>sizeof(floating)
    cdef const floating *ap = &a[0, 0]
    cdef const floating *bp = &b[0, 0]
    cdef floating *op = &out[0]
    cdef floating *sp = &sign[0]
    cdef Py_ssize_t rows = _rows_per_task(n_cols)
    cdef Py_ssize_t n_tasks = (n_rows + rows - 1) // rows
    cdef Py_ssize_t t, r0, r1
    with nogil:
        for t in prange(n_tasks, schedule="static", num_threads=n_threads,
                        use_threads_if=_use_threads(n_tasks, n_rows * n_cols, n_threads)):
            r0 = t * rows
            r1 = r0 + rows if r0 + rows < n_rows else n_rows
            if floating is double:
                xentc_kt.lse_b_rows_f64(ap + r0 * lda, lda, bp + r0 * ldb, ldb, sb, r1 - r0,
                                        n_cols, return_sign, op + r0, sp + r0)
            else:
                xentc_kt.lse_b_rows_f32(ap + r0 * lda, lda, bp + r0 * ldb, ldb, sb, r1 - r0,
                                        n_cols, return_sign, op + r0, sp + r0)


# --------------------------------------------------------------------------------------------
# softmax / log_softmax
# --------------------------------------------------------------------------------------------

def softmax_rows(const floating[:, :] x, floating[:, ::1] y, bint log_out, int n_threads):
    """softmax (or log_softmax) of each row of x into the C-contiguous y; n_cols >= 1.

    Returns the number of rows where NumPy would warn "invalid value encountered in
    subtract" (rows whose max is infinite and that hold no NaN).
    """
    cdef Py_ssize_t n_rows = x.shape[0], n_cols = x.shape[1]
    if n_rows == 0:
        return 0
    cdef Py_ssize_t ld = x.strides[0] // <Py_ssize_t>sizeof(floating)
    cdef const floating *xp = &x[0, 0]
    cdef floating *yp = &y[0, 0]
    cdef Py_ssize_t rows = _rows_per_task(n_cols)
    cdef Py_ssize_t n_tasks = (n_rows + rows - 1) // rows
    cdef Py_ssize_t t, r0, r1, n_invalid = 0

    if n_cols > XENTC_SEGMENT_ABOVE:
        return _softmax_rows_segmented(xp, ld, n_rows, n_cols, yp, log_out, n_threads)
    with nogil:
        for t in prange(n_tasks, schedule="static", num_threads=n_threads,
                        use_threads_if=_use_threads(n_tasks, n_rows * n_cols, n_threads)):
            r0 = t * rows
            r1 = r0 + rows if r0 + rows < n_rows else n_rows
            if floating is double:
                n_invalid += xentc_kt.softmax_rows_f64(xp + r0 * ld, ld, r1 - r0, n_cols,
                                                       yp + r0 * n_cols, n_cols, log_out,
                                                       NULL, NULL, NULL)
            else:
                n_invalid += xentc_kt.softmax_rows_f32(xp + r0 * ld, ld, r1 - r0, n_cols,
                                                       yp + r0 * n_cols, n_cols, log_out,
                                                       NULL, NULL, NULL)
    return n_invalid


cdef Py_ssize_t _softmax_rows_segmented(const floating *xp, Py_ssize_t ld, Py_ssize_t n_rows,
                                        Py_ssize_t n_cols, floating *yp, bint log_out,
                                        int n_threads) except -1:
    cdef xentc_lse_state *rows = _row_states(xp, ld, n_rows, n_cols, 1, n_threads)
    cdef Py_ssize_t n_seg = (n_cols + XENTC_SEGMENT - 1) // XENTC_SEGMENT
    cdef Py_ssize_t n_tasks = n_rows * n_seg
    cdef Py_ssize_t t, i, j0, nj, n_invalid = 0
    cdef int kind
    for i in range(n_rows):
        kind = xentc_softmax_row_kind(rows[i])
        n_invalid += kind == XENTC_ROW_POSINF or kind == XENTC_ROW_NEGINF
    with nogil:
        for t in prange(n_tasks, schedule="static", num_threads=n_threads,
                        use_threads_if=n_threads > 1):
            i = t // n_seg
            j0 = (t % n_seg) * XENTC_SEGMENT
            nj = n_cols - j0 if n_cols - j0 < XENTC_SEGMENT else XENTC_SEGMENT
            if floating is double:
                xentc_kt.softmax_apply_f64(xp + i * ld + j0, nj, rows[i], yp + i * n_cols + j0,
                                           log_out)
            else:
                xentc_kt.softmax_apply_f32(xp + i * ld + j0, nj, rows[i], yp + i * n_cols + j0,
                                           log_out)
    free(rows)
    return n_invalid


# --------------------------------------------------------------------------------------------
# Multiclass cross-entropy
# --------------------------------------------------------------------------------------------

def ce_rows(const floating[:, :] x, const int64_t[::1] y, int64_t ignore,
            const floating[:, :] t, const double[::1] w, double wsum, double eps,
            bint neg_zero, floating[::1] loss, floating[:, ::1] grad, double gscale,
            int n_threads):
    """Cross-entropy of the rows of x (unit column stride, n_cols >= 1).

    Index targets ``y`` (``ignore``: ignored row; every other one validated to lie in
    [0, n_cols)) or, when ``y`` is empty, probability targets
    ``t`` (rows of x's length, unit column stride; a row stride of 0 broadcasts one row).
    ``w`` holds class weights (empty: none) summing to ``wsum``, ``eps`` is the label
    smoothing.  Per-row losses go to ``loss`` and the gradient, scaled by ``gscale``, to
    ``grad``, each unless empty.  Returns the per-task sums of the losses (in double, tasks
    fixed by the shape alone: sum them in order for a result independent of n_threads).
    """
    cdef Py_ssize_t n_rows = x.shape[0], n_cols = x.shape[1]
    cdef Py_ssize_t rows = _rows_per_task(n_cols)
    cdef Py_ssize_t n_tasks = (n_rows + rows - 1) // rows
    partial = np.zeros(n_tasks, dtype=np.float64)
    if n_rows == 0:
        return partial
    cdef double[::1] part = partial
    cdef Py_ssize_t ld = x.strides[0] // <Py_ssize_t>sizeof(floating)
    cdef const floating *xp = &x[0, 0]
    cdef bint by_index = y.shape[0] > 0
    cdef const int64_t *yp = &y[0] if by_index else NULL
    cdef const floating *tp = NULL if by_index else &t[0, 0]
    cdef Py_ssize_t ldt = 0 if by_index else t.strides[0] // <Py_ssize_t>sizeof(floating)
    cdef const double *wp = &w[0] if w.shape[0] > 0 else NULL
    cdef floating *lp = &loss[0] if loss.shape[0] > 0 else NULL
    cdef floating *gp = &grad[0, 0] if grad.shape[0] > 0 else NULL
    cdef Py_ssize_t t_i, r0, r1
    with nogil:
        for t_i in prange(n_tasks, schedule="static", num_threads=n_threads,
                          use_threads_if=_use_threads(n_tasks, n_rows * n_cols, n_threads)):
            r0 = t_i * rows
            r1 = r0 + rows if r0 + rows < n_rows else n_rows
            if by_index:
                if floating is double:
                    part[t_i] = xentc_kt.ce_index_rows_f64(
                        xp + r0 * ld, ld, r1 - r0, n_cols, yp + r0, ignore, wp, wsum, eps, neg_zero,
                        lp + r0 if lp != NULL else NULL,
                        gp + r0 * n_cols if gp != NULL else NULL, gscale)
                else:
                    part[t_i] = xentc_kt.ce_index_rows_f32(
                        xp + r0 * ld, ld, r1 - r0, n_cols, yp + r0, ignore, wp, wsum, eps, neg_zero,
                        lp + r0 if lp != NULL else NULL,
                        gp + r0 * n_cols if gp != NULL else NULL, gscale)
            else:
                if floating is double:
                    part[t_i] = xentc_kt.ce_prob_rows_f64(
                        xp + r0 * ld, ld, r1 - r0, n_cols, tp + r0 * ldt, ldt, wp, eps, neg_zero,
                        lp + r0 if lp != NULL else NULL,
                        gp + r0 * n_cols if gp != NULL else NULL, gscale)
                else:
                    part[t_i] = xentc_kt.ce_prob_rows_f32(
                        xp + r0 * ld, ld, r1 - r0, n_cols, tp + r0 * ldt, ldt, wp, eps, neg_zero,
                        lp + r0 if lp != NULL else NULL,
                        gp + r0 * n_cols if gp != NULL else NULL, gscale)
    return partial


cdef Py_ssize_t TARGET_BLOCK = 1 << 16


def check_targets(const int64_t[::1] y, bint has_ignore, int64_t ignore,
                  Py_ssize_t n_classes, const double[::1] w, int n_threads):
    """One pass over class-index targets: the position of the first value outside
    [0, n_classes) that is not ``ignore`` (-1 if there is none), and the mean's denominator:
    the number of targets not ignored, or the sum of their class weights ``w`` when ``w`` is
    not empty (summed per fixed block, the blocks in order: independent of n_threads).
    ``has_ignore`` is False where no target can equal the ignore index."""
    cdef Py_ssize_t n = y.shape[0]
    cdef Py_ssize_t n_blocks = (n + TARGET_BLOCK - 1) // TARGET_BLOCK
    cdef const double *wp = &w[0] if w.shape[0] > 0 else NULL
    block_bad = np.zeros(n_blocks, dtype=np.intp)
    block_count = np.zeros(n_blocks, dtype=np.intp)
    block_wsum = np.zeros(n_blocks, dtype=np.float64)
    cdef Py_ssize_t[::1] bad_v = block_bad
    cdef Py_ssize_t[::1] count_v = block_count
    cdef double[::1] wsum_v = block_wsum
    cdef Py_ssize_t b, i, i0, i1
    with nogil:
        for b in prange(n_blocks, schedule="static", num_threads=n_threads,
                        use_threads_if=n_threads > 1 and n_blocks > 1):
            i0 = b * TARGET_BLOCK
            i1 = i0 + TARGET_BLOCK if i0 + TARGET_BLOCK < n else n
            xentc_kt.check_targets_i64(&y[i0], i1 - i0, has_ignore, ignore, n_classes, wp,
                                       &bad_v[b], &count_v[b], &wsum_v[b])
    if block_bad.any():
        for i in range(int(np.argmax(block_bad > 0)) * TARGET_BLOCK, n):
            if not (has_ignore and y[i] == ignore) and not 0 <= y[i] < n_classes:
                return i, 0.0
    if wp != NULL:
        return -1, math.fsum(block_wsum)
    return -1, float(block_count.sum())


# --------------------------------------------------------------------------------------------
# binary losses
# --------------------------------------------------------------------------------------------

BIN_LOGITS = XENTC_BIN_LOGITS
BIN_PROB = XENTC_BIN_PROB
BIN_PROB_EPS = XENTC_BIN_PROB_EPS


cdef int _bin_operand(xentc_bin_operand *op, const floating[:, :] a) except -1:
    """Fill op from a (rows, n_cols) view; strides of a single row or column normalised so
    that a contiguous operand is recognised as flat by the kernel."""
    cdef Py_ssize_t item = sizeof(floating)
    op.p = &a[0, 0]
    op.rs = a.strides[0] // item
    op.cs = a.strides[1] // item
    if a.shape[1] == 1:
        op.cs = op.rs if a.shape[0] > 1 else 1
    if a.shape[0] == 1:
        op.rs = a.shape[1] * op.cs
    return 0


def binary_loss(int mode, const floating[:, :] x, const floating[:, :] t, w, pw,
                floating[::1] loss, floating[::1] grad, bint need_loss, double lo, double hi,
                double gscale, int n_threads):
    """Binary cross-entropy of x (logits or probabilities, by mode) against t, both
    (rows, n_cols) views of n >= 1 elements; w and pw None or (rows, n_cols) views (any
    strides, 0 for broadcast dimensions).  Writes per-element losses to loss and gradients
    times gscale to grad where they are not None (C order, n elements).

    Returns (sum of the losses, number of probabilities outside [0, 1], number of targets
    outside [0, 1]); the counts are only taken in the PROB mode.  The sum is formed over
    fixed tasks added in a fixed order: it does not depend on n_threads.
    """
    cdef xentc_bin_args args
    cdef const floating[:, :] wv, pv
    cdef Py_ssize_t n = x.shape[0] * x.shape[1]
    memset(&args, 0, sizeof(args))
    args.mode = mode
    args.n_cols = x.shape[1]
    args.need_loss = need_loss
    args.lo = lo
    args.hi = hi
    args.gscale = gscale
    _bin_operand(&args.x, x)
    _bin_operand(&args.t, t)
    if w is not None:
        wv = w
        _bin_operand(&args.w, wv)
    if pw is not None:
        pv = pw
        _bin_operand(&args.pw, pv)
    if loss is not None:
        args.loss = &loss[0]
    if grad is not None:
        args.grad = &grad[0]

    cdef Py_ssize_t n_tasks = (n + TASK_ELEMENTS - 1) // TASK_ELEMENTS
    cdef double *part = <double *>malloc(3 * n_tasks * sizeof(double))
    if part == NULL:
        raise MemoryError()
    cdef Py_ssize_t k, e0, e1
    cdef xm_cascade total
    cdef double bad_x = 0.0, bad_t = 0.0
    with nogil:
        for k in prange(n_tasks, schedule="static", num_threads=n_threads,
                        use_threads_if=_use_threads(n_tasks, n, n_threads)):
            e0 = k * TASK_ELEMENTS
            e1 = e0 + TASK_ELEMENTS if e0 + TASK_ELEMENTS < n else n
            if floating is double:
                part[k] = xentc_kt.binary_task_f64(&args, e0, e1, &part[n_tasks + k],
                                                   &part[2 * n_tasks + k])
            else:
                part[k] = xentc_kt.binary_task_f32(&args, e0, e1, &part[n_tasks + k],
                                                   &part[2 * n_tasks + k])
        xm_cascade_init(&total)
        for k in range(n_tasks):
            xm_cascade_add(&total, part[k])
            bad_x += part[n_tasks + k]
            bad_t += part[2 * n_tasks + k]
    free(part)
    return xm_cascade_total(&total), int(bad_x), int(bad_t)


# --------------------------------------------------------------------------------------------
# log_loss on probabilities
# --------------------------------------------------------------------------------------------

def log_loss_rows(const floating[:, :] p, const class_code[::1] y, const double[::1] w,
                  double lo, double hi, double tol, int n_threads, double[::1] loss=None,
                  unsigned char[::1] seen=None):
    """One pass over the (N, C) probabilities p (any strides; C == 1: binary, p holds the
    second class's probability): y the class codes, int32 or int64 (in [0, C), or {0, 1}
    when binary; empty
    for the checks alone when C > 1), w the sample weights or empty.  Returns (sum of
    w_i * -log(clip(p[i, y_i], lo, hi)), number of values outside [0, 1] or NaN, number of
    rows whose sum is further than tol from 1, number of codes out of range).  The sum is
    formed over fixed tasks added in a fixed order: it does not depend on n_threads, and is
    meaningless where values or codes are out of range.  loss, if given (length N, with the
    codes), receives each row's unweighted loss; seen, if given (C zeros, 2 when binary), has
    the codes in range that occur set to 1."""
    cdef Py_ssize_t n_rows = p.shape[0], n_cols = p.shape[1]
    cdef xentc_ll_args args
    if n_rows == 0:
        return 0.0, 0, 0, 0
    args.p = &p[0, 0]
    args.rs = p.strides[0] // <Py_ssize_t>sizeof(floating)
    args.cs = p.strides[1] // <Py_ssize_t>sizeof(floating)
    args.n_cols = n_cols
    args.y = &y[0] if y.shape[0] > 0 else NULL
    args.code32 = class_code is int32_t
    args.w = &w[0] if w.shape[0] > 0 else NULL
    args.lo = lo
    args.hi = hi
    args.tol = tol
    args.loss = NULL
    if loss is not None:
        if args.y == NULL or loss.shape[0] != n_rows:
            raise ValueError("log_loss_rows: per-row losses need the codes and N places")
        args.loss = &loss[0]
    args.seen = NULL
    if seen is not None:
        if args.y == NULL or seen.shape[0] != (2 if n_cols == 1 else n_cols):
            raise ValueError("log_loss_rows: the class flags need the codes and C places")
        args.seen = &seen[0]
    if args.y == NULL and n_cols == 1:
        raise ValueError("the binary mode needs the class codes")
    if n_cols == 0 or (args.y != NULL and y.shape[0] != n_rows) or (
            args.w != NULL and w.shape[0] != n_rows):
        raise ValueError("log_loss_rows: no columns, or codes / weights of the wrong length")
    cdef Py_ssize_t rows = TASK_ELEMENTS // n_cols if n_cols < TASK_ELEMENTS else 1
    cdef Py_ssize_t n_tasks = (n_rows + rows - 1) // rows
    cdef double *part = <double *>malloc(4 * n_tasks * sizeof(double))
    if part == NULL:
        raise MemoryError()
    cdef Py_ssize_t k, r0, r1
    cdef xm_cascade total
    cdef double n_bad = 0.0, n_off = 0.0, n_bad_code = 0.0
    with nogil:
        for k in prange(n_tasks, schedule="static", num_threads=n_threads,
                        use_threads_if=_use_threads(n_tasks, n_rows * n_cols, n_threads)):
            r0 = k * rows
            r1 = r0 + rows if r0 + rows < n_rows else n_rows
            if floating is double:
                part[k] = xentc_kt.log_loss_task_f64(&args, r0, r1, &part[n_tasks + k],
                                                     &part[2 * n_tasks + k],
                                                     &part[3 * n_tasks + k])
            else:
                part[k] = xentc_kt.log_loss_task_f32(&args, r0, r1, &part[n_tasks + k],
                                                     &part[2 * n_tasks + k],
                                                     &part[3 * n_tasks + k])
        xm_cascade_init(&total)
        for k in range(n_tasks):
            xm_cascade_add(&total, part[k])
            n_bad += part[n_tasks + k]
            n_off += part[2 * n_tasks + k]
            n_bad_code += part[3 * n_tasks + k]
    free(part)
    return xm_cascade_total(&total), int(n_bad), int(n_off), int(n_bad_code)


cdef void _neumaier_block(const double *w, Py_ssize_t n, double *out) noexcept nogil:
    """out[0] + out[1]: the sum of the finite values of w[0..n) (Neumaier's compensated
    sum: within about one rounding of the exact sum); out[2]: the number of values that are
    not finite; out[3]: the number of non-zero values."""
    cdef double s = 0.0, c = 0.0, t, v, bad = 0.0, nonzero = 0.0
    cdef Py_ssize_t i
    for i in range(n):
        v = w[i]
        if not fabs(v) <= 1.7976931348623157e308:   # inf or NaN
            bad += 1.0
            continue
        nonzero += v != 0.0
        t = s + v
        if fabs(s) >= fabs(v):
            c += (s - t) + v
        else:
            c += (v - t) + s
        s = t
    out[0] = s
    out[1] = c
    out[2] = bad
    out[3] = nonzero


def checked_sum(const double[::1] w, int n_threads):
    """(sum of the finite values, number of values not finite, number of non-zero values) of
    w (e.g. sample weights), in one parallel pass without temporaries.  The sum is
    compensated over fixed blocks, whose sums are added (compensated) in order: it does not
    depend on n_threads."""
    cdef Py_ssize_t n = w.shape[0], block = TASK_ELEMENTS
    cdef Py_ssize_t n_blocks = (n + block - 1) // block, b, r0
    part = np.zeros((max(n_blocks, 1), 4), dtype=np.float64)
    cdef double[:, ::1] pv = part
    if n == 0:
        return 0.0, 0, 0
    with nogil:
        for b in prange(n_blocks, schedule="static", num_threads=n_threads,
                        use_threads_if=_use_threads(n_blocks, n, n_threads)):
            r0 = b * block
            _neumaier_block(&w[r0], block if r0 + block <= n else n - r0, &pv[b, 0])
    sums = np.ascontiguousarray(part[:, :2]).reshape(-1)   # each block's sum, correction
    cdef double[::1] sv = sums
    cdef double total[4]
    _neumaier_block(&sv[0], 2 * n_blocks, total)
    return total[0] + total[1], int(part[:, 2].sum()), int(part[:, 3].sum())


def class_sums(const class_code[::1] codes, const double[::1] losses, const double[::1] w,
               Py_ssize_t n_classes):
    """The sums of a mergeable log-loss state, in one serial pass over the samples (codes in
    [0, n_classes), validated by the caller; w empty: all 1).  Returns (Σ w·loss per class,
    Σ w per class, Σ w², Σ w·loss², number of non-zero weights); the per-class sums add in
    sample order, as np.bincount does."""
    cdef Py_ssize_t n = codes.shape[0], i
    if losses.shape[0] != n or (w.shape[0] != 0 and w.shape[0] != n):
        raise ValueError("class_sums: losses / weights of the wrong length")
    class_loss = np.zeros(n_classes, dtype=np.float64)
    class_weight = np.zeros(n_classes, dtype=np.float64)
    cdef double[::1] cl = class_loss, cw = class_weight
    cdef double wi, li, w2 = 0.0, wl2 = 0.0
    cdef Py_ssize_t nonzero = 0
    cdef bint weighted = w.shape[0] != 0
    with nogil:
        for i in range(n):
            wi = w[i] if weighted else 1.0
            li = losses[i]
            cl[codes[i]] += wi * li
            cw[codes[i]] += wi
            w2 += wi * wi
            wl2 += (wi * li) * li
            nonzero += wi != 0.0
    return class_loss, class_weight, w2, wl2, nonzero


# --------------------------------------------------------------------------------------------
# Label factorisation (hash table, order of first appearance)
# --------------------------------------------------------------------------------------------

cdef inline uint64_t _record_hash(const unsigned char *r, Py_ssize_t width) noexcept nogil:
    cdef uint64_t h = <uint64_t>width * 0x9E3779B97F4A7C15ULL, word
    cdef Py_ssize_t k = 0
    while k + 8 <= width:
        memcpy(&word, r + k, 8)
        h = (h ^ word) * 0x9E3779B97F4A7C15ULL
        h ^= h >> 29
        k += 8
    if k < width:
        word = 0
        memcpy(&word, r + k, width - k)
        h = (h ^ word) * 0x9E3779B97F4A7C15ULL
        h ^= h >> 29
    return h ^ (h >> 32)


def factorize_records(const unsigned char[:, ::1] records, class_code[::1] codes):
    """Distinct rows of an (N, width) byte matrix (fixed-width strings viewed as bytes), in
    order of first appearance: returns first, first[u] the row where distinct row u first
    occurs, and sets codes[i] (int32 or int64, length N) to the distinct row of row i.
    O(N width), one hash table."""
    cdef Py_ssize_t n = records.shape[0], width = records.shape[1]
    cdef class_code[::1] cv = codes
    cdef Py_ssize_t cap = 64, n_uniq = 0, i, slot, u, k, grown
    cdef int64_t *table = <int64_t *>malloc(cap * sizeof(int64_t))
    cdef int64_t *first = <int64_t *>malloc((cap // 2 + 1) * sizeof(int64_t))
    cdef int64_t *tmp
    cdef const unsigned char *base = &records[0, 0] if n > 0 and width > 0 else NULL
    if table == NULL or first == NULL:
        free(table)
        free(first)
        raise MemoryError()
    memset(table, 0xff, cap * sizeof(int64_t))
    cdef bint failed = False
    with nogil:
        for i in range(n):
            slot = _record_hash(base + i * width, width) & (cap - 1)
            while True:
                u = table[slot]
                if u < 0:
                    table[slot] = n_uniq
                    first[n_uniq] = i
                    cv[i] = <class_code>n_uniq
                    n_uniq += 1
                    break
                if width == 0 or memcmp(base + first[u] * width, base + i * width, width) == 0:
                    cv[i] = <class_code>u
                    break
                slot = (slot + 1) & (cap - 1)
            if 2 * n_uniq > cap:  # keep the load at most 1/2: double and rehash
                free(table)
                cap *= 2
                table = <int64_t *>malloc(cap * sizeof(int64_t))
                tmp = <int64_t *>malloc((cap // 2 + 1) * sizeof(int64_t))
                if table == NULL or tmp == NULL:
                    failed = True
                    free(tmp)
                    break
                memcpy(tmp, first, n_uniq * sizeof(int64_t))
                free(first)
                first = tmp
                memset(table, 0xff, cap * sizeof(int64_t))
                for u in range(n_uniq):
                    slot = _record_hash(base + first[u] * width, width) & (cap - 1)
                    while table[slot] >= 0:
                        slot = (slot + 1) & (cap - 1)
                    table[slot] = u
    free(table)
    if failed:
        free(first)
        raise MemoryError()
    first_rows = np.empty(n_uniq, dtype=np.int64)
    for u in range(n_uniq):
        first_rows[u] = first[u]
    free(first)
    return first_rows


cdef Py_ssize_t LABEL_BLOCK = 1 << 16


def label_range(const class_code[:] y, int n_threads):
    """(min, max) of the non-empty integer labels y (int32 or int64, any stride), one pass."""
    cdef Py_ssize_t n = y.shape[0]
    if n == 0:
        raise ValueError("label_range of no labels")
    cdef Py_ssize_t n_blocks = (n + LABEL_BLOCK - 1) // LABEL_BLOCK
    lows = np.empty(n_blocks, dtype=np.int64)
    highs = np.empty(n_blocks, dtype=np.int64)
    cdef int64_t[::1] lo_v = lows
    cdef int64_t[::1] hi_v = highs
    cdef Py_ssize_t b, i, i0, i1
    cdef int64_t lo, hi, v
    with nogil:
        for b in prange(n_blocks, schedule="static", num_threads=n_threads,
                        use_threads_if=n_threads > 1 and n_blocks > 1):
            i0 = b * LABEL_BLOCK
            i1 = i0 + LABEL_BLOCK if i0 + LABEL_BLOCK < n else n
            lo = y[i0]
            hi = y[i0]
            for i in range(i0, i1):
                v = y[i]
                lo = v if v < lo else lo
                hi = v if v > hi else hi
            lo_v[b] = lo
            hi_v[b] = hi
    return int(lows.min()), int(highs.max())


def label_presence(const class_code[:] y, int64_t lo, Py_ssize_t span, int n_threads):
    """Which of the values lo .. lo + span - 1 occur in y (all of y's values are among
    them): a bool array of length span, from one table per thread (stores only, no counts;
    an OR, so the result does not depend on the schedule)."""
    cdef Py_ssize_t n = y.shape[0]
    cdef Py_ssize_t n_blocks = (n + LABEL_BLOCK - 1) // LABEL_BLOCK
    cdef int team = n_threads if n_threads > 1 and n_blocks > 1 else 1
    if span <= 0:
        raise ValueError("label_presence of an empty range")
    seen = np.zeros((team, span), dtype=np.uint8)
    cdef unsigned char[:, ::1] seen_v = seen
    cdef Py_ssize_t b, i, i0, i1, t
    with nogil:
        for b in prange(n_blocks, schedule="static", num_threads=team,
                        use_threads_if=team > 1):
            t = threadid()
            i0 = b * LABEL_BLOCK
            i1 = i0 + LABEL_BLOCK if i0 + LABEL_BLOCK < n else n
            for i in range(i0, i1):
                seen_v[t, y[i] - lo] = 1
    return seen.any(axis=0)


def remap_codes(class_code[::1] codes, const class_code[::1] table, int n_threads):
    """codes[i] = table[codes[i]] in place (every code a valid index of table)."""
    cdef Py_ssize_t i, n = codes.shape[0]
    with nogil:
        for i in prange(n, schedule="static", num_threads=n_threads,
                        use_threads_if=n_threads > 1 and n > PARALLEL_MIN_ELEMENTS):
            codes[i] = table[codes[i]]


def factorize_objects(objects, class_code[::1] codes):
    """The same for a 1-D object array of hashable values, by a dict."""
    cdef Py_ssize_t n = len(objects), i
    cdef class_code[::1] cv = codes
    cdef dict seen = {}
    first = []
    for i in range(n):
        v = objects[i]
        u = seen.get(v)
        if u is None:
            u = len(first)
            seen[v] = u
            first.append(i)
        cv[i] = u
    return np.asarray(first, dtype=np.int64)


# --------------------------------------------------------------------------------------------
# Benchmark probe
# --------------------------------------------------------------------------------------------

def read_floor(const floating[::1] x):
    """One single-thread streaming read of x (sums it): the benchmarks' memory floor."""
    cdef Py_ssize_t n = x.shape[0]
    cdef double s = 0.0
    if n == 0:
        return s
    with nogil:
        if floating is double:
            s = xentc_kt.read_floor_f64(&x[0], n)
        else:
            s = xentc_kt.read_floor_f32(&x[0], n)
    return s
