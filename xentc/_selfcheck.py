"""``python -m xentc check``: every public function against independent references.

Values are compared with long-double computations made here from the same inputs (no SciPy,
no mpmath): row results in ulps of the result's dtype, means and sums as relative errors, the
SPEC §4 targets as bounds (or the README's documented bound where it is looser).  Where
results are ±inf or NaN they must be so at exactly the positions where :mod:`xentc.reference`
(NumPy / SciPy in float64) has them; without SciPy the inputs holding ±inf or NaN are skipped.
``log_loss`` and ``d2_log_loss_score`` are compared with ``xentc.reference`` directly (plain
NumPy in float64: one log per sample, accurate to an ulp).  The partial functions are checked
through their finished states (``.log_loss()``, ``.cross_entropy(reduction)``).
"""

import dataclasses
import importlib.util
import warnings

import numpy as np

import xentc

from . import _core
from . import reference as _ref

__all__ = ["run_checks", "supported_levels", "Result", "ROW_ULP", "MEAN_REL", "DOCUMENTED"]

LD = np.longdouble

# SPEC §4: row results <= 2 ulp (float64) / 2 ulp of float32; means <= 1e-12 / 1e-7 relative
ROW_ULP = {"float64": 2.0, "float32": 2.0}
MEAN_REL = {"float64": 1e-12, "float32": 1e-7}
# Where the README documents a looser bound than SPEC §4: (function, dtype, what) -> (bound,
# where it is documented).  Gradients have no SPEC target: they are checked in ulps of the
# larger of the two terms of their closed form (where the terms cancel no formula does better).
DOCUMENTED = {
    ("softmax", "float64", "rows"): (4.5, "README: softmax float64 <= 4.5 ulp (e / sum(e))"),
    ("log_softmax", "float64", "rows"): (3.5, "README: log_softmax float64 <= 3.3 ulp "
                                              "measured, 3.5 asserted by the tests"),
    ("binary_cross_entropy", "float64", "rows"): (4.0, "tests/test_binary.py: float64 "
                                                       "within 4.5e-16 relative (~2-4 ulp)"),
}
_CE_ROWS = (2.5, "README: class-index cross-entropy float64 rows <= 2.5 ulp (SPEC: 2)")
DOCUMENTED.update({(name, "float64", "rows"): _CE_ROWS for name in (
    "cross_entropy", "cross_entropy_and_grad", "sparse_softmax_cross_entropy_with_logits")})
# Gradients have no SPEC or README target: ulps of the larger term of the closed form (where
# the terms cancel no formula does better), float64 to the tests' 1e-13 relative (450 ulp).
GRAD_ULP = {"float64": 450.0, "float32": 2.0}
GRAD_NOTE = ("gradients: no SPEC target; ulps of the larger term of the closed form, float64 "
             "<= 450 ulp (1e-13 relative, what the tests assert), float32 <= 2 ulp")
PROB_NOTE = ("README: probability-target rows (a C-term dot product) within about "
             "2 + sqrt(C) ulp")
NOTES = [note for _, note in DOCUMENTED.values()] + [GRAD_NOTE, PROB_NOTE]

DTYPES = ("float64", "float32")


def supported_levels():
    """The kernel code paths this build has and this CPU can run, best last."""
    best = _core.LEVEL_NAMES.index(_core.cpu_max_level())
    return [name for name in _core.compiled_levels() if _core.LEVEL_NAMES.index(name) <= best]


def scipy_available():
    return importlib.util.find_spec("scipy") is not None


@dataclasses.dataclass
class Result:
    """The outcome of one function on one input at one code path."""

    level: str
    function: str
    dtype: str
    case: str
    metric: str            # "rows" (ulp), "grad" (ulp), "reduction" (relative), "values"
    error: float           # the worst error (0 where nothing finite was compared)
    bound: float
    passed: bool
    detail: str = ""


# --------------------------------------------------------------------------------------------
# long-double references (the tail below the row max kept apart, as in tests/helpers.py)
# --------------------------------------------------------------------------------------------

def _ld_rows(x):
    """For (M, C) rows: the max m, L = log1p(sum of exp(x - m) over all but one maximal
    element), and -log_softmax = (m - x) + L (two non-negative terms), in long double."""
    x = np.asarray(x, dtype=LD)
    m = x.max(axis=1, keepdims=True) if x.shape[1] else np.full((len(x), 1), -np.inf, LD)
    mf = np.where(np.isfinite(m), m, 0)
    e = np.exp(x - mf)
    if x.shape[1]:
        e[np.arange(len(x)), np.argmax(x, axis=1)] = 0
    L = np.log1p(e.sum(axis=1, keepdims=True))
    return m, L, (mf - x) + L


def _ld_lse(x):
    m, L, _ = _ld_rows(x)
    r = (np.where(np.isfinite(m), m, 0) + L)[:, 0]
    return r, np.maximum(np.abs(r), np.abs(L[:, 0]))


def _ld_class_loss(x, a, coef):
    """Rows' -sum(a * log_softmax(x)) (0 where a == 0) and the gradient coef (s sum(a) - a),
    with the gradient's error scale (the larger of its two terms)."""
    _, _, nlp = _ld_rows(x)
    a = np.asarray(a, dtype=LD)
    row = np.where(a == 0, 0, a * nlp).sum(axis=1)
    s = np.exp(-nlp)
    sa = s * a.sum(axis=1, keepdims=True)
    c = np.asarray(coef, dtype=LD)[:, None]
    return row, c * (sa - a), np.abs(c) * np.maximum(np.abs(sa), np.abs(a))


def _softplus(z):
    return np.maximum(z, 0) + np.log1p(np.exp(-np.abs(z)))


def _ld_bce_logits(x, t, w, pw):
    x, t, w, pw = (np.asarray(v, dtype=LD) for v in (x, t, w, pw))
    pwt = pw * t
    loss = np.where(pwt == 0, 0, pwt * _softplus(-x)) + np.where(t == 1, 0, (1 - t) * _softplus(x))
    sig, sign = 1 / (1 + np.exp(-x)), 1 / (1 + np.exp(x))
    g1, g2 = (1 - t) * sig, pwt * sign
    return (np.where(w == 0, 0, w * loss), np.where(w == 0, 0, w * (g1 - g2)),
            np.abs(w) * np.maximum(np.abs(g1), np.abs(g2)))


def _ld_bce(p, t, w, eps, dtype):
    p, t, w = (np.asarray(v, dtype=LD) for v in (p, t, w))
    if eps is None:
        lp = np.maximum(np.log(p), -100)
        lq = np.maximum(np.log1p(-p), -100)
        loss = -(np.where(t == 0, 0, t * lp) + np.where(t == 1, 0, (1 - t) * lq))
        den = np.maximum(p * (1 - p), LD(float(np.float32(1e-12))))
        g = (p - t) / den
        scale = np.abs(p - t) / den
    else:
        lo, hi = LD(float(dtype.type(eps))), LD(float(dtype.type(1.0 - eps)))
        pc = np.clip(p, lo, hi)
        loss = -(np.where(t == 0, 0, t * np.log(pc)) + np.where(t == 1, 0, (1 - t) * np.log1p(-pc)))
        g1 = np.where(t == 0, 0, t / pc)
        g2 = np.where(t == 1, 0, (1 - t) / (1 - pc))
        out = (p < lo) | (p > hi)
        g = np.where(out, 0, g2 - g1)
        scale = np.where(out, 0, np.maximum(g1, g2))
    return (np.where(w == 0, 0, w * loss), np.where(w == 0, 0, w * g), np.abs(w) * scale)


# --------------------------------------------------------------------------------------------
# inputs
# --------------------------------------------------------------------------------------------

def _logit_families(rng, n, C, dtype, edge):
    """Rows of logits that exercise the kernels' branches (finite unless ``edge``)."""
    fi = np.finfo(dtype)
    fam = {
        "randn": 3 * rng.standard_normal((n, C)),
        "offsets": rng.standard_normal((n, C)) + rng.uniform(-2000, 150, (n, 1)),
        "wide": rng.uniform(-700, 700, (n, C)),
        "huge": float(fi.max) * rng.uniform(0.25, 0.5, (n, C)),
        "tiny": float(fi.smallest_subnormal) * rng.integers(-50, 51, (n, C)),
    }
    d = rng.standard_normal((n, C)) - 40
    d[np.arange(n), rng.integers(0, C, n)] = 0.01 * rng.standard_normal(n)
    fam["dominant"] = d
    masked = rng.standard_normal((n, C))
    masked[rng.random((n, C)) < 0.3] = -np.inf
    masked[np.arange(n), rng.integers(0, C, n)] = rng.standard_normal(n)
    fam["masked_-inf"] = masked
    if edge and n >= 6:
        z = 3 * rng.standard_normal((n, C))
        z[0, -1] = np.inf
        z[1, 0] = np.nan
        z[2] = -np.inf
        z[3, 0], z[3, -1] = np.inf, -np.inf
        z[4, :] = np.inf
        z[5, -1] = -np.inf
        fam["inf_nan"] = z
    return {k: v.astype(dtype) for k, v in fam.items()}


def _as(v, dtype):
    """float64 values that ``dtype`` represents exactly (xentc computes weights in the
    input's dtype)."""
    return v.astype(dtype).astype(np.float64)


def _confident(rng, n, C, y):
    """Rows whose target logit dominates: losses ~1e-10 (a subtraction would lose them)."""
    x = rng.standard_normal((n, C))
    x[np.arange(n), y] = x.max(axis=1) + 23 + np.log(C) + rng.uniform(0, 3, n)
    return x


def _shapes(quick):
    if quick:
        return [(64, 1), (256, 2), (128, 10), (8, 1000)]
    return [(64, 1), (256, 2), (256, 3), (128, 10), (64, 33), (16, 1000), (4, 5000)]


# --------------------------------------------------------------------------------------------
# checks: one per (function, input); each knows how to call xentc and what to expect
# --------------------------------------------------------------------------------------------

@dataclasses.dataclass
class _Check:
    function: str
    dtype: str
    case: str
    args: tuple
    kwargs: dict
    # one per output: (metric, exact long-double values or None, error scale or None)
    expected: list
    edge: bool = False           # holds inf / NaN: compared with xentc.reference's positions
    pattern: list = None         # reference's outputs (filled when SciPy is there)
    row_bound: float = None      # overrides the bound of "rows"
    finish: tuple = None         # (method, args): what is compared is result.method(*args)

    def call(self, module):
        kw = {k: v for k, v in self.kwargs.items()}
        out = getattr(module, self.function)(*self.args, **kw)
        if self.finish is not None:  # a partial state, finished
            out = getattr(out, self.finish[0])(*self.finish[1])
        return out if isinstance(out, tuple) else (out,)


def _add_loss(checks, name, dtype, case, args, kwargs, loss, grad, edge, reduced,
              row_bound=None):
    """The three variants of a torch-style loss: f, f_grad, f_and_grad."""
    lm = ("reduction", loss[0], None) if reduced else ("rows", loss[0], loss[1])
    gm = ("grad", grad[0], grad[1])
    checks.append(_Check(name, dtype, case, args, kwargs, [lm], edge, row_bound=row_bound))
    checks.append(_Check(name + "_grad", dtype, case, args, kwargs, [gm], edge))
    checks.append(_Check(name + "_and_grad", dtype, case, args, kwargs, [lm, gm], edge,
                         row_bound=row_bound))


def _reduce(rows, reduction, divisor):
    if reduction == "sum":
        return rows.sum()
    return rows.sum() / LD(divisor)


def _class_checks(checks, rng, dtype, n, C, fams):
    dn = np.dtype(dtype).name
    for fname, x in fams.items():
        edge = fname == "inf_nan"
        case = f"{fname} {n}x{C}"
        with np.errstate(all="ignore"):
            _, _, nlp = _ld_rows(x)
        y = rng.integers(0, C, n)
        if fname == "masked_-inf":    # targets on finite logits (a masked target: inf loss)
            y = np.argmax(x, axis=1)
        onehot = np.zeros((n, C))
        onehot[np.arange(n), y] = 1.0
        ones = np.ones(n)
        with np.errstate(all="ignore"):
            ex = _ld_class_loss(x, onehot, ones)
        row_scale = None
        # per-row losses, class-index targets (torch and tf.nn.sparse_*)
        _add_loss(checks, "cross_entropy", dn, case + " index none", (x, y),
                  {"reduction": "none"}, (ex[0], row_scale), (ex[1], ex[2]), edge, False)
        checks.append(_Check("sparse_softmax_cross_entropy_with_logits", dn, case, (),
                             {"labels": y, "logits": x}, [("rows", ex[0], None)], edge))
        # probability targets (torch and tf.nn.softmax_*)
        p = rng.dirichlet(np.ones(C), n).astype(dtype)
        with np.errstate(all="ignore"):
            exp_ = _ld_class_loss(x, p, ones)
        prob_bound = 2.0 + np.sqrt(C)
        _add_loss(checks, "cross_entropy", dn, case + " probabilities none", (x, p),
                  {"reduction": "none"}, (exp_[0], None), (exp_[1], exp_[2]), edge, False,
                  prob_bound)
        checks.append(_Check("softmax_cross_entropy_with_logits", dn, case, (),
                             {"labels": p, "logits": x}, [("rows", exp_[0], None)], edge,
                             row_bound=prob_bound))
        if fname == "huge":     # losses ~1e307: their sums overflow (as in any float sum)
            continue
        # means and sums: class weights, ignore_index, label smoothing
        w = _as(rng.uniform(0.5, 2.0, C), dtype)
        yi = np.where(rng.random(n) < 0.1, -100, y)
        keep = yi != -100
        for reduction in ("mean", "sum"):
            for eps in (0.0, 0.1):
                a = np.zeros((n, C))
                a[np.flatnonzero(keep), yi[keep]] = (1 - eps) * w[yi[keep]]
                a += keep[:, None] * (eps / C) * w
                divisor = w[yi[keep]].sum()
                coef = keep / divisor if reduction == "mean" else keep.astype(float)
                with np.errstate(all="ignore"):
                    rows, g, gs = _ld_class_loss(x, a, coef)
                    loss = _reduce(rows, reduction, divisor)
                _add_loss(checks, "cross_entropy", dn,
                          f"{case} index {reduction} weight ignore_index smoothing={eps}",
                          (x, yi), {"weight": w, "reduction": reduction,
                                    "label_smoothing": eps},
                          (loss, None), (g, gs), edge, True)
                if eps == 0.0:
                    checks.append(_Check("cross_entropy_partial", dn,
                                         f"{case} index {reduction} weight ignore_index",
                                         (x, yi), {"weight": w}, [("reduction", loss, None)],
                                         edge, finish=("cross_entropy", (reduction,))))
        with np.errstate(all="ignore"):
            rows, g, gs = _ld_class_loss(x, p, ones / n)
            loss = rows.sum() / LD(n)
        _add_loss(checks, "cross_entropy", dn, case + " probabilities mean", (x, p), {},
                  (loss, None), (g, gs), edge, True)
        if not edge:    # a confident family: losses ~1e-10 keep their precision
            xc = _confident(rng, n, C, y).astype(dtype)
            with np.errstate(all="ignore"):
                exc = _ld_class_loss(xc, onehot, ones)
            _add_loss(checks, "cross_entropy", dn, f"confident {n}x{C} index none", (xc, y),
                      {"reduction": "none"}, (exc[0], None), (exc[1], exc[2]), False, False)
        # nll_loss on log-probabilities (finite: -nlp of the rows, clipped where masked)
        lp = np.asarray(-nlp, dtype=np.float64).astype(dtype)
        if not edge:
            lp = np.maximum(lp, np.finfo(dtype).min)
        with np.errstate(all="ignore"):
            lpl = np.asarray(lp, dtype=LD)
            picked = lpl[np.arange(n), y]
            g = np.zeros((n, C), dtype=LD)
            g[np.arange(n), y] = -1
        _add_loss(checks, "nll_loss", dn, case + " none", (lp, y), {"reduction": "none"},
                  (-picked, None), (g, np.abs(g)), edge, False)
        with np.errstate(all="ignore"):
            wy = np.where(keep, w[np.where(keep, yi, 0)], 0)
            s = -(np.asarray(wy, LD) * np.where(keep, lpl[np.arange(n), np.where(keep, yi, 0)],
                                                  0)).sum()
            gm = np.zeros((n, C), dtype=LD)
            gm[np.flatnonzero(keep), yi[keep]] = -LD(1) * wy[keep] / LD(wy.sum())
        _add_loss(checks, "nll_loss", dn, case + " mean weight ignore_index", (lp, yi),
                  {"weight": w}, (s / LD(wy.sum()), None), (gm, np.abs(gm)), edge, True)


def _special_checks(checks, dtype, n, C, fams):
    dn = np.dtype(dtype).name
    for fname, x in fams.items():
        edge = fname == "inf_nan"
        case = f"{fname} {n}x{C}"
        with np.errstate(all="ignore"):
            r, scale = _ld_lse(x)
            _, _, nlp = _ld_rows(x)
        checks.append(_Check("logsumexp", dn, case, (x,), {"axis": 1},
                             [("rows", r, scale)], edge))
        checks.append(_Check("softmax", dn, case, (x,), {"axis": 1},
                             [("rows", np.exp(-nlp), None)], edge))
        checks.append(_Check("log_softmax", dn, case, (x,), {"axis": 1},
                             [("rows", -nlp, None)], edge))
    x = fams["randn"]
    with np.errstate(all="ignore"):
        r, scale = _ld_lse(x.reshape(1, -1))
    checks.append(_Check("logsumexp", dn, f"randn {n}x{C} axis=None", (x,), {},
                         [("rows", r[0], scale[0])], False))


def _binary_checks(checks, rng, dtype, n, edge):
    dn = np.dtype(dtype).name
    dt = np.dtype(dtype)
    x = np.concatenate([6 * rng.standard_normal(n - 40), rng.uniform(-100, 100, 20),
                        rng.uniform(-1e4, 1e4, 20)]).astype(dtype)
    p = np.concatenate([rng.uniform(0, 1, n - 40), np.exp(rng.uniform(-80, 0, 20)),
                        1 - np.exp(rng.uniform(-15, 0, 20)), ]).astype(dtype)
    t = rng.choice([0.0, 1.0, 0.3], n).astype(dtype)
    w = _as(rng.uniform(0.5, 2, n), dtype)
    pw = _as(rng.uniform(0.5, 3, n), dtype)
    if edge:
        x[:6] = [np.inf, -np.inf, np.inf, -np.inf, np.nan, 0.0]
        t[:6] = [1.0, 0.0, 0.0, 1.0, 1.0, 0.3]
        p[:6] = [0.0, 1.0, 0.0, 1.0, 0.5, np.nan]
        t[5] = 0.5
    case = ("inf_nan " if edge else "") + f"{n}"
    with np.errstate(all="ignore"):
        lo = _ld_bce_logits(x, t, 1.0, 1.0)
        lw = _ld_bce_logits(x, t, w, pw)
    _add_loss(checks, "binary_cross_entropy_with_logits", dn, case + " none", (x, t),
              {"reduction": "none"}, (lo[0], None), (lo[1], lo[2]), edge, False)
    _add_loss(checks, "binary_cross_entropy_with_logits", dn, case + " mean weight pos_weight",
              (x, t), {"weight": w, "pos_weight": pw}, (lw[0].sum() / LD(n), None),
              (lw[1] / n, lw[2] / n), edge, True)
    checks.append(_Check("sigmoid_cross_entropy_with_logits", dn, case, (),
                         {"labels": t, "logits": x}, [("rows", lo[0], None)], edge))
    with np.errstate(all="ignore"):
        lpw = _ld_bce_logits(x, t, 1.0, pw)
    checks.append(_Check("weighted_cross_entropy_with_logits", dn, case, (),
                         {"labels": t, "logits": x, "pos_weight": pw},
                         [("rows", lpw[0], None)], edge))
    if edge:   # p must be in [0, 1] without eps (torch raises): the NaN is only for eps=
        pe = p.copy()
        pe[5] = 0.5
    else:
        pe = p
    for eps in (None, 1e-7):
        pp = pe if eps is None else p
        with np.errstate(all="ignore"):
            b = _ld_bce(pp, t, 1.0, eps, dt)
            bw = _ld_bce(pp, t, w, eps, dt)
        kw = {} if eps is None else {"eps": eps}
        _add_loss(checks, "binary_cross_entropy", dn, f"{case} eps={eps} none", (pp, t),
                  {"reduction": "none", **kw}, (b[0], None), (b[1], b[2]), edge, False)
        _add_loss(checks, "binary_cross_entropy", dn, f"{case} eps={eps} sum weight",
                  (pp, t), {"reduction": "sum", "weight": w, **kw}, (bw[0].sum(), None),
                  (bw[1], bw[2]), edge, True)


def _metric_checks(checks, rng, dtype, quick):
    dn = np.dtype(dtype).name
    for n, C in ([(500, 2), (300, 10)] if quick else [(500, 2), (300, 10), (600, 300)]):
        y = rng.integers(0, C, n)
        y[:C] = np.arange(C)
        p = rng.dirichlet(np.ones(C), n).astype(dtype)
        p /= p.sum(axis=1, keepdims=True)
        sw = rng.uniform(0.5, 2, n)
        for case, args, kw in [(f"{n}x{C}", (y, p), {}),
                               (f"{n}x{C} strings sample_weight",
                                (np.array([f"c{v:03d}" for v in y]), p),
                                {"sample_weight": sw}),
                               (f"{n}x{C} normalize=False", (y, p), {"normalize": False})]:
            if C == 2 and not kw:
                args = (y, p[:, 1].copy())
                case += " 1-D"
            for f in ("log_loss", "d2_log_loss_score"):
                if f == "d2_log_loss_score" and "normalize" in kw:
                    continue
                exact = getattr(_ref, f)(*args, **kw)
                metric = "reduction_d2" if f == "d2_log_loss_score" else "reduction"
                checks.append(_Check(f, dn, case, args, kw, [(metric, exact, None)], False))
            # the same, as a partial state finished
            pkw = {k: v for k, v in kw.items() if k != "normalize"}
            pkw["labels"] = np.unique(args[0])
            checks.append(_Check("log_loss_partial", dn, case, args, pkw,
                                 [("reduction", _ref.log_loss(*args, **kw), None)], False,
                                 finish=("log_loss", (kw.get("normalize", True),))))


def build_checks(seed, quick):
    """Every check, with its inputs and long-double expectations (independent of the level)."""
    rng = np.random.default_rng(seed)
    checks = []
    for dtype in (np.float64, np.float32):
        for n, C in _shapes(quick):
            fams = _logit_families(rng, n, C, dtype, edge=True)
            if quick:
                fams = {k: fams[k] for k in ("randn", "dominant", "masked_-inf", "inf_nan")
                        if k in fams}
            _special_checks(checks, dtype, n, C, fams)
            _class_checks(checks, rng, dtype, n, C, fams)
        # empty batches: N = 0
        e = np.zeros((0, 5), dtype=dtype)
        dn = np.dtype(dtype).name
        for f in ("logsumexp", "softmax", "log_softmax"):
            checks.append(_Check(f, dn, "empty 0x5", (e,), {"axis": 1}, [("values", None, None)],
                                 True))
        for red in ("none", "mean", "sum"):
            checks.append(_Check("cross_entropy", dn, f"empty 0x5 {red}",
                                 (e, np.zeros(0, dtype=np.int64)), {"reduction": red},
                                 [("values", None, None)], True))
        for edge in (False, True):
            _binary_checks(checks, rng, dtype, 400 if quick else 2000, edge)
        _metric_checks(checks, rng, dtype, quick)
    return checks


# --------------------------------------------------------------------------------------------
# comparing
# --------------------------------------------------------------------------------------------

def _kind(a):
    """0 finite, 1 +inf, 2 -inf, 3 NaN (elementwise)."""
    a = np.asarray(a, dtype=np.float64)
    return np.select([np.isnan(a), a == np.inf, a == -np.inf], [3, 1, 2], 0)


def _ulps(got, exact, dtype, scale):
    got = np.asarray(got, dtype=LD)
    exact = np.asarray(exact, dtype=LD)
    scale = np.abs(exact) if scale is None else np.abs(np.asarray(scale, dtype=LD))
    with np.errstate(all="ignore"):
        sp = np.spacing(np.minimum(scale, LD(np.finfo(dtype).max)).astype(dtype))
        err = np.abs(got - exact) / np.asarray(sp, dtype=LD)
    return np.where(got == exact, 0, err).astype(np.float64)


def _bound(check, metric):
    if metric in ("reduction", "reduction_d2"):
        return MEAN_REL[check.dtype], ""
    if metric == "grad":
        return GRAD_ULP[check.dtype], ""
    if metric == "values":
        return 0.0, ""
    if check.row_bound is not None and metric == "rows":
        return max(check.row_bound, ROW_ULP[check.dtype]), PROB_NOTE
    doc = DOCUMENTED.get((check.function.removesuffix("_and_grad"), check.dtype, metric))
    return (doc[0], doc[1]) if doc else (ROW_ULP[check.dtype], "")


def _compare(check, got, level):
    """Results of one check at one level: one per output (loss, gradient)."""
    if len(got) != len(check.expected):
        return [Result(level, check.function, check.dtype, check.case, "values", 0.0, 0.0,
                       False, f"returned {len(got)} values, expected {len(check.expected)}")]
    return [_compare_output(check, i, g, level) for i, g in enumerate(got)]


def _compare_output(check, i, g, level):
    metric, exact, scale = check.expected[i]
    bound, _ = _bound(check, metric)
    problems, err = [], 0.0
    ref = check.pattern[i] if check.pattern is not None else exact
    g_arr, r_arr = np.asarray(g), np.asarray(ref)
    if check.function in ("log_loss", "d2_log_loss_score", "log_loss_partial"):
        if type(g) is not float:
            problems.append(f"returned a {type(g).__name__}, not a float")
    elif g_arr.dtype != np.dtype(check.dtype):
        problems.append(f"dtype {g_arr.dtype}, expected {check.dtype}")
    if g_arr.shape != r_arr.shape:
        problems.append(f"shape {g_arr.shape}, expected {r_arr.shape}")
    else:
        gk, rk = _kind(g_arr), _kind(r_arr)
        bad = gk != rk
        if bad.any():
            pos = tuple(int(v) for v in np.argwhere(bad)[0]) if g_arr.ndim else ()
            problems.append(f"inf/NaN differ from xentc.reference at {int(bad.sum())} "
                            f"position(s), first {pos}: {g_arr[pos]!r} vs {r_arr[pos]!r}")
        if exact is not None:
            ek = _kind(np.asarray(exact, dtype=np.float64))
            both = (gk == 0) & (ek == 0) & (rk == 0)
            if both.any():
                err = _error(metric, g_arr, exact, scale, both, np.dtype(check.dtype))
                if not err <= bound:
                    problems.append(f"{_fmt_err(metric, err)} > {_fmt_err(metric, bound)}")
    return Result(level, check.function, check.dtype, check.case, metric, err, bound,
                  not problems, "; ".join(problems))


def _error(metric, g, exact, scale, mask, dtype):
    if metric in ("reduction", "reduction_d2"):
        e = float(exact)
        den = abs(1.0 - e) if metric == "reduction_d2" else abs(e)
        return abs(float(g) - e) / (den or 1.0)
    if g.ndim == 0:
        return float(_ulps(g, exact, dtype, scale))
    exact = np.asarray(exact, dtype=LD)[mask]
    scale = None if scale is None else np.asarray(scale, dtype=LD)[mask]
    return float(_ulps(g[mask], exact, dtype, scale).max())


def _fmt_err(metric, e):
    if metric in ("reduction", "reduction_d2"):
        return f"{e:.2g} rel"
    return f"{e:.2f} ulp"


def run_checks(levels, seed=0, quick=False, progress=None):
    """Run every check at each level; returns (results, notes)."""
    have_scipy = scipy_available()
    notes = []
    with warnings.catch_warnings(), np.errstate(all="ignore"):
        warnings.simplefilter("ignore")
        checks = build_checks(seed, quick)
        if have_scipy:
            for c in checks:
                if c.edge or any(m == "values" for m, _, _ in c.expected):
                    c.pattern = list(c.call(_ref))
        else:
            notes.append("SciPy is not installed: xentc.reference needs it, so the inputs "
                         "holding ±inf or NaN and the empty ones were skipped (pip install "
                         "scipy to check them)")
            checks = [c for c in checks if not c.edge]
        results = []
        previous = _core.cpu_level()
        try:
            for level in levels:
                _core.set_cpu_level(level)
                if progress:
                    progress(level)
                for c in checks:
                    try:
                        got = c.call(xentc)
                    except Exception as exc:  # noqa: BLE001 - reported as a failure
                        results.append(Result(level, c.function, c.dtype, c.case, "error",
                                              float("nan"), 0.0, False,
                                              f"raised {type(exc).__name__}: {exc}"))
                        continue
                    results.extend(_compare(c, got, level))
        finally:
            _core.set_cpu_level(previous)
    return results, notes
