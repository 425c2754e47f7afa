"""Binary cross-entropy (probabilities and logits), its gradients, and TensorFlow's two:
checklist items 44-53 of docs/semantics.md, PyTorch sweeps, accuracy, threads, layouts."""

import tracemalloc

import mpmath
import numpy as np
import pytest
from numpy.testing import assert_allclose, assert_array_equal

import xentc
from xentc import reference as ref

from helpers import N_THREADS, layouts, ulp_error

BCE = xentc.binary_cross_entropy
BCEL = xentc.binary_cross_entropy_with_logits

P = np.array([0.9, 0.2, 0.5, 1.0, 0.0])
T = np.array([1.0, 0.0, 1.0, 1.0, 1.0])
Z = np.array([[1.0, -2.0, 0.5], [0.0, 3.0, -1.0]])
Y = np.array([[1.0, 0.0, 1.0], [0.0, 1.0, 1.0]])


def close(a, b):
    """Within ~2 ulp (the checklist allows 4): kernels of different ISA levels may differ."""
    assert_allclose(a, b, rtol=4.5e-16, atol=0)


def same_bits(a, b):
    return np.array_equal(np.asarray(a), np.asarray(b), equal_nan=True)


# --------------------------------------------------------------------------------------------
# Checklist items 44-53
# --------------------------------------------------------------------------------------------

def test_item44_bce_values_and_clamp(cpu_level):
    r = BCE(P, T, reduction="none")
    assert_array_equal(r, [0.10536051565782628, 0.22314355131420976, 0.6931471805599453,
                           -0.0, 100.0])
    assert np.signbit(r[3])
    assert BCE(P, T) == 20.204330249506395
    assert_array_equal(BCE([0.0, 1.0], [0.0, 0.0], reduction="none"), [0.0, 100.0])
    assert BCE(0.0, 0.3) == 30.0
    assert BCE(np.float32(1e-50), np.float32(1.0)) == np.float32(100.0)


@pytest.mark.parametrize("func", [BCE, xentc.binary_cross_entropy_grad,
                                  xentc.binary_cross_entropy_and_grad])
def test_item45_range_errors(func):
    with pytest.raises(ValueError, match="^all elements of input should be between 0 and 1$"):
        func([0.5, 1.5], [1.0, 0.0])
    with pytest.raises(ValueError, match="^all elements of target should be between 0 and 1$"):
        func([0.5, 0.5], [2.0, 0.0])
    for bad in (np.nan, -0.1):
        with pytest.raises(ValueError, match="of input"):
            func(np.array([0.5, bad]), [1.0, 0.0])
        with pytest.raises(ValueError, match="of target"):
            func([0.5, 0.5], np.array([bad, 0.0]))
    # the input is checked first
    with pytest.raises(ValueError, match="of input"):
        func([np.nan], [np.nan])


def test_item46_bce_gradient(cpu_level):
    g = xentc.binary_cross_entropy_grad([0.0, 0.3, 0.9], [1.0, 1.0, 0.2], reduction="none")
    assert g[0] == -1000000003995.8029
    assert_allclose(g[1:], [-10 / 3, 0.7 / 0.09], rtol=1e-15)
    w = np.array([2.0, 0.5, 3.0])
    gw = xentc.binary_cross_entropy_grad([0.0, 0.3, 0.9], [1.0, 1.0, 0.2], w, reduction="sum")
    assert_allclose(gw, w * g, rtol=1e-15)


def test_item47_logits_values_and_gradient(cpu_level):
    x = np.array([2.0, -1.0, 0.0, 100.0, -100.0])
    t = np.array([1.0, 0.0, 1.0, 0.0, 1.0])
    close(BCEL(x, t, reduction="none"),
          [0.1269280110429725, 0.3132616875182228, 0.6931471805599453, 100.0, 100.0])
    g = xentc.binary_cross_entropy_with_logits_grad(x, t, reduction="none")
    assert_allclose(g, 1 / (1 + np.exp(-x)) - t, rtol=1e-12, atol=1e-300)   # checklist rtol
    close(g, [mp_logits_grad(a, b) for a, b in zip(x, t)])
    r32 = BCEL(np.float32([100, -100, 20]), np.float32([0, 1, 1]), reduction="none")
    assert r32.dtype == np.float32
    assert_allclose(r32, [100.0, 100.0, 2.06115369216775e-09], rtol=1e-7)
    assert_array_equal(xentc.sigmoid_cross_entropy_with_logits(t, x), BCEL(x, t, reduction="none"))


def test_item48_pos_weight(cpu_level):
    r = BCEL(Z, Y, reduction="none", pos_weight=[2.0, 3.0, 0.5])
    assert_allclose(r, [[0.6265233750364457, 0.1269280110429727, 0.23703849209005334],
                        [0.6931471805599453, 0.1457620547212262, 0.6566308437591114]],
                    rtol=1e-12)
    close(r.ravel(), [mp_logits_loss(a, b, c) for a, b, c in zip(Z.ravel(), Y.ravel(),
                                                                 [2.0, 3.0, 0.5] * 2)])


def test_item49_shapes():
    with pytest.raises(ValueError, match=r"^pos_weight of shape \(2,\) cannot be broadcast"):
        BCEL(Z, Y, pos_weight=[1.0, 2.0])
    msg = r"^Target size \(1, 3\) must be the same as input size \(2, 3\)$"
    for func in (BCEL, BCE, xentc.binary_cross_entropy_with_logits_grad,
                 xentc.binary_cross_entropy_and_grad):
        with pytest.raises(ValueError, match=msg):
            func(np.full((2, 3), 0.5), np.ones((1, 3)))
    # pos_weight broadcasts like torch: (C,), (1,), 0-d, (N, C), (N, 1)
    expected = BCEL(Z, Y, reduction="none", pos_weight=np.tile([2.0, 3.0, 0.5], (2, 1)))
    assert_array_equal(BCEL(Z, Y, reduction="none", pos_weight=[2.0, 3.0, 0.5]), expected)
    for pw in (2.0, [2.0], np.full((2, 1), 2.0)):
        assert_array_equal(BCEL(Z, Y, reduction="none", pos_weight=pw),
                           BCEL(Z, Y, reduction="none", pos_weight=np.full((2, 3), 2.0)))


def test_item50_gradient_with_pos_weight(cpu_level):
    g = xentc.binary_cross_entropy_with_logits_grad([2.0, -1.0, 0.0], [1.0, 0.0, 0.3],
                                                    reduction="none", pos_weight=2.0)
    assert_allclose(g, [-0.23840584404423537, 0.2689414213699951, 0.050000000000000044],
                    rtol=1e-12)
    # PyTorch's own values are 1e-15 off; ours are within 2 ulp of the larger term
    x, t = [2.0, -1.0, 0.0], [1.0, 0.0, 0.3]
    exact = [mp_logits_grad(a, b, 2.0) for a, b in zip(x, t)]
    assert ulp_error(g, exact, np.float64, scale=grad_scale(x, t, 2.0)).max() <= 2.0


def test_item51_weighted_mean_divides_by_numel(cpu_level):
    assert_allclose(BCEL(Z, Y, weight=[1.0, 2.0, 3.0]), 1.1199092680677645, rtol=1e-15)
    assert_allclose(BCE(np.full((2, 3), 0.25), Y, weight=[1.0, 2.0, 3.0]),
                    np.mean(BCE(np.full((2, 3), 0.25), Y, reduction="none") * [1, 2, 3]),
                    rtol=1e-15)


def test_item52_tf_weighted():
    r = xentc.weighted_cross_entropy_with_logits(labels=[1.0, 0.0, 0.3], logits=[2.0, -1.0, 0.0],
                                                 pos_weight=2)
    assert_allclose(r, [0.253856022085945, 0.3132616875182228, 0.9010913347279289], rtol=1e-15)
    q1 = xentc.weighted_cross_entropy_with_logits([1.0, 0.0, 0.3], [2.0, -1.0, 0.0], 1.0)
    assert_array_equal(q1, xentc.sigmoid_cross_entropy_with_logits([1.0, 0.0, 0.3],
                                                                    [2.0, -1.0, 0.0]))


INF_X = np.array([np.inf, np.inf, -np.inf, -np.inf])
INF_T = np.array([1.0, 0.0, 0.0, 1.0])


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_item53_infinite_logits_are_the_mathematical_limits(cpu_level, dtype):
    # SPEC §2 (zero weight times infinity is zero): 0, inf, 0, inf.  PyTorch gives
    # nan, inf, nan, nan; TensorFlow nan, nan, nan, inf; optax nan, inf, nan, inf.
    x, t = INF_X.astype(dtype), INF_T.astype(dtype)
    expected = np.array([0.0, np.inf, 0.0, np.inf], dtype=dtype)
    assert_array_equal(BCEL(x, t, reduction="none"), expected)
    assert_array_equal(xentc.sigmoid_cross_entropy_with_logits(t, x), expected)
    assert_array_equal(xentc.weighted_cross_entropy_with_logits(t, x, 3.0), expected)
    assert_array_equal(BCEL(x, t, reduction="none", pos_weight=0.0), [0, np.inf, 0, 0])
    # gradients are finite: (1 - t) sigma(x) - pw t sigma(-x)
    assert_array_equal(xentc.binary_cross_entropy_with_logits_grad(x, t, reduction="none"),
                       np.array([0.0, 1.0, 0.0, -1.0], dtype=dtype))
    # a zero weight hides an infinite loss; NaN still propagates
    assert_array_equal(BCEL(x, t, weight=[1.0, 0.0, 1.0, 0.0], reduction="none"), [0, 0, 0, 0])
    assert np.isnan(BCEL(np.array([np.nan], dtype), np.array([0.0], dtype), weight=0.0))
    assert np.isnan(BCEL(np.array([np.nan], dtype), np.array([0.0], dtype)))
    assert_array_equal(ref.binary_cross_entropy_with_logits(x, t, reduction="none"), expected)


def test_item53_torch_still_differs():
    torch = pytest.importorskip("torch")
    r = torch.nn.functional.binary_cross_entropy_with_logits(
        torch.from_numpy(INF_X), torch.from_numpy(INF_T), reduction="none").numpy()
    assert_array_equal(r, [np.nan, np.inf, np.nan, np.nan])


# --------------------------------------------------------------------------------------------
# eps (the NumPy tutorial formula)
# --------------------------------------------------------------------------------------------

def tutorial(p, y, eps):
    p = np.clip(p, eps, 1 - eps)
    with np.errstate(divide="ignore", invalid="ignore"):
        return -(y * np.log(p) + (1 - y) * np.log(1 - p))


def test_eps_matches_the_tutorial_formula(cpu_level):
    y, p = np.array([1.0, 0.0, 1.0]), np.array([0.9, 0.2, 0.6])
    assert BCE(p, y, eps=1e-15, reduction="sum") == 0.8393296907380268
    assert BCE(p, y, eps=1e-15) == 0.2797765635793423
    r = BCE([0.0, 1.0, 1.0, 1.5], [1.0, 0.0, 1.0, 1.0], eps=1e-15, reduction="none")
    assert_allclose(r, [34.538776394910684, 34.53957599234088, 9.992007221626415e-16,
                        9.992007221626415e-16], rtol=1e-15)
    rng = np.random.default_rng(5)
    p = rng.uniform(-0.1, 1.1, 1000)
    y = rng.uniform(-0.5, 1.5, 1000)
    for eps in (1e-15, 1e-7, 0.1, 0.5):
        assert_allclose(BCE(p, y, eps=eps, reduction="none"), tutorial(p, y, eps), rtol=1e-13)


def test_eps_float32_bounds_are_rounded_like_numpy():
    # 1 - 1e-15 is 1.0 in float32: nothing is clipped at the top
    r = BCE(np.float32([1.0, 1.0]), np.float32([1.0, 0.0]), eps=1e-15, reduction="none")
    assert r.dtype == np.float32
    assert_array_equal(r, [0.0, np.inf])   # the tutorial gives nan for the first (0 * -inf)
    r = BCE(np.float32([0.0, 1.0]), np.float32([1.0, 0.0]), eps=1e-7, reduction="none")
    assert_allclose(r, [16.118095, 15.942385], rtol=1e-7)
    # the gradient of the clipped formula: 0 outside [eps, 1 - eps]
    g = xentc.binary_cross_entropy_grad([0.0, 0.5, 1.0], [1.0, 1.0, 0.0], eps=1e-7,
                                        reduction="none")
    assert_array_equal(g, [0.0, -2.0, 0.0])
    g = xentc.binary_cross_entropy_grad([0.0, 0.0], [1.0, 0.0], eps=0.0, reduction="none")
    assert_array_equal(g, [-np.inf, 1.0])


@pytest.mark.parametrize("eps", [-1e-3, 0.6, np.nan, "1e-7", True])
def test_eps_validation(eps):
    with pytest.raises(ValueError, match="eps must be None or a real number in"):
        BCE([0.5], [1.0], eps=eps)


def test_eps_no_validation_of_values():
    assert np.isnan(BCE([np.nan], [1.0], eps=1e-7))
    assert_allclose(BCE([0.5], [2.0], eps=1e-7), np.log(2), rtol=1e-15)


# --------------------------------------------------------------------------------------------
# Reductions, dtypes, 0-d and empty, errors
# --------------------------------------------------------------------------------------------

ALL_LOSSES = [
    ("bce", BCE, dict()),
    ("bce_eps", BCE, dict(eps=1e-7)),
    ("bcel", BCEL, dict()),
]


@pytest.mark.parametrize("name, func, kw", ALL_LOSSES)
def test_reduction_validation(name, func, kw):
    for bad in ("avg", "elementwise_mean", None, 1):
        with pytest.raises(ValueError, match=f"^{bad} is not a valid value for reduction$"):
            func([0.5], [1.0], reduction=bad, **kw)


@pytest.mark.parametrize("name, func, kw", ALL_LOSSES)
def test_empty_and_zero_d(name, func, kw):
    e = np.zeros((0, 3))
    r = func(e, e, reduction="mean", **kw)
    assert np.isnan(r) and type(r) is np.float64
    assert func(e, e, reduction="sum", **kw) == 0.0
    assert func(e, e, reduction="none", **kw).shape == (0, 3)
    grad_f = getattr(xentc, func.__name__ + "_grad")
    assert grad_f(e, e, **kw).shape == (0, 3)
    loss, grad = getattr(xentc, func.__name__ + "_and_grad")(e, e, **kw)
    assert np.isnan(loss) and grad.shape == (0, 3)
    r0 = func(np.float32(0.25), np.float32(1.0), reduction="none", **kw)
    assert type(r0) is np.float32
    assert type(grad_f(np.float32(0.25), np.float32(1.0), reduction="none", **kw)) is np.float32
    assert type(func(np.float32(0.25), np.float32(1.0), **kw)) is np.float32


@pytest.mark.parametrize("name, func, kw", ALL_LOSSES)
def test_dtypes(name, func, kw):
    rng = np.random.default_rng(1)
    p64 = rng.uniform(0.05, 0.95, (6, 4))
    t64 = rng.integers(0, 2, (6, 4)).astype(np.float64)
    for dt in (np.float16, np.float32, np.float64):
        r = func(p64.astype(dt), t64, reduction="none", **kw)
        assert r.dtype == dt
        # float16 computed in float32 (not in float16)
        expected = func(p64.astype(dt).astype(np.float32 if dt == np.float16 else dt),
                        t64, reduction="none", **kw).astype(dt)
        assert_array_equal(r, expected)
        assert func(p64.astype(dt), t64, **kw).dtype == dt
    # integer / bool inputs are computed as float64; integer targets are accepted
    ints = np.array([[0, 1], [1, 0]])
    assert func(ints, ints, reduction="none", **kw).dtype == np.float64
    assert func(ints.astype(bool), ints, reduction="sum", **kw).dtype == np.float64
    assert_array_equal(func(p64, t64.astype(np.int8), reduction="none", **kw),
                       func(p64, t64, reduction="none", **kw))
    # the target is converted to the input's dtype (torch would raise)
    assert func(p64.astype(np.float32), t64, **kw).dtype == np.float32


def test_type_errors_and_threads():
    with pytest.raises(TypeError, match="input is complex"):
        BCEL(np.array([1j]), [1.0])
    with pytest.raises(TypeError, match="target must hold real numbers"):
        BCEL([1.0], ["a"])
    with pytest.raises(ValueError, match="n_threads=0"):
        BCEL([1.0], [1.0], n_threads=0)
    with pytest.raises(ValueError, match=r"^weight of shape \(2, 2\) cannot be broadcast to "
                                         r"the input's shape \(2,\)$"):
        BCE([0.5, 0.5], [1.0, 0.0], weight=np.ones((2, 2)))
    with pytest.raises(ValueError, match="weight of shape"):
        BCEL(Z, Y, weight=[1.0, 2.0])


def test_tf_functions_shapes_and_dtypes():
    with pytest.raises(ValueError, match=r"^`logits` and `labels` must have the same shape, "
                                         r"received \(\(3,\) vs \(2,\)\)\.$"):
        xentc.sigmoid_cross_entropy_with_logits(labels=[1.0, 0.0], logits=[1.0, 2.0, 3.0])
    with pytest.raises(ValueError, match="must have the same shape"):
        xentc.weighted_cross_entropy_with_logits([1.0, 0.0], [1.0, 2.0, 3.0], 2.0)
    with pytest.raises(ValueError, match="pos_weight of shape"):
        xentc.weighted_cross_entropy_with_logits(Y, Z, [1.0, 2.0])
    assert xentc.sigmoid_cross_entropy_with_logits([], []).shape == (0,)
    r = xentc.sigmoid_cross_entropy_with_logits(np.float64(1.0), np.float16(2.0))
    assert type(r) is np.float16
    # no range check on labels (TF): z=2, x=1 and z=-1, x=1
    assert_allclose(xentc.sigmoid_cross_entropy_with_logits([2.0, -1.0], [1.0, 1.0]),
                    [-0.6867383124817772, 2.313261687518223], rtol=1e-15)
    assert_allclose(xentc.weighted_cross_entropy_with_logits(Y, Z, [2.0, 3.0, 0.5]),
                    BCEL(Z, Y, reduction="none", pos_weight=[2.0, 3.0, 0.5]), rtol=0)


# --------------------------------------------------------------------------------------------
# Against PyTorch (values and autograd)
# --------------------------------------------------------------------------------------------

SHAPES = [(7,), (5, 3), (4, 3, 6), (2, 1, 5)]


def weight_shapes(shape):
    yield None
    yield ()
    yield shape[-1:]
    yield (1,) * (len(shape) - 1) + shape[-1:]
    yield shape[:-1] + (1,)
    yield shape
    if len(shape) == 3:
        yield (shape[0], 1, shape[2])        # not a (rows x last axis) pattern: materialised


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("shape", SHAPES, ids=str)
@pytest.mark.parametrize("kind", ["logits", "probs"])
def test_against_torch(kind, shape, dtype):
    torch = pytest.importorskip("torch")
    F = torch.nn.functional
    rng = np.random.default_rng(abs(hash((kind, shape))) % 2**32)
    if kind == "logits":
        x = (4 * rng.standard_normal(shape)).astype(dtype)
        tf, ours = F.binary_cross_entropy_with_logits, BCEL
    else:
        x = rng.uniform(0, 1, shape).astype(dtype)
        x.flat[0] = 0.0
        tf, ours = F.binary_cross_entropy, BCE
    t = rng.uniform(0, 1, shape).astype(dtype)
    t.flat[1::3] = 1.0
    # checklist tolerances; PyTorch's float32 gradients with pos_weight are off by up to 3e-4
    # relative (float32 cancellation), ours by 1e-7 (test_float32_ulps_and_mean)
    rtol = 1e-5 if dtype == np.float32 else 1e-13
    for wshape in weight_shapes(shape):
        w = None if wshape is None else rng.uniform(0, 2, wshape).astype(dtype)
        pws = [None] if kind == "probs" else [None, rng.uniform(0.2, 3, shape[-1]).astype(dtype)]
        for pw in pws:
            for reduction in ("none", "mean", "sum"):
                kw = dict(weight=w, reduction=reduction)
                tkw = dict(weight=None if w is None else torch.from_numpy(w),
                           reduction=reduction)
                if kind == "logits":
                    kw["pos_weight"] = pw
                    tkw["pos_weight"] = None if pw is None else torch.from_numpy(pw)
                xt = torch.from_numpy(x.copy()).requires_grad_(True)
                lt = tf(xt, torch.from_numpy(t), **tkw)
                lt.sum().backward()
                loss, grad = getattr(xentc, ours.__name__ + "_and_grad")(x, t, **kw)
                assert loss.dtype == dtype and grad.dtype == dtype and grad.shape == shape
                assert_allclose(loss, lt.detach().numpy(), rtol=rtol, atol=rtol)
                tg = xt.grad.numpy()
                assert_allclose(grad, tg, rtol=rtol, atol=rtol * np.abs(tg).max())
                assert_array_equal(ours(x, t, **kw), loss)
                assert_array_equal(getattr(xentc, ours.__name__ + "_grad")(x, t, **kw), grad)


@pytest.mark.parametrize("kind", ["logits", "probs", "probs_eps"])
def test_gradient_central_differences(kind):
    rng = np.random.default_rng(11)
    shape = (6, 5)
    t = rng.uniform(0, 1, shape)
    w = rng.uniform(0.5, 2, shape[-1])
    if kind == "logits":
        x = 3 * rng.standard_normal(shape)
        kw = dict(weight=w, pos_weight=rng.uniform(0.5, 2, shape[-1]))
        f, g = BCEL, xentc.binary_cross_entropy_with_logits_grad
    else:
        x = rng.uniform(0.05, 0.95, shape)
        kw = dict(weight=w) if kind == "probs" else dict(weight=w, eps=1e-3)
        f, g = BCE, xentc.binary_cross_entropy_grad
    for reduction in ("mean", "sum"):
        grad = g(x, t, reduction=reduction, **kw)
        h = 1e-6
        num = np.empty_like(x)
        for i in np.ndindex(shape):
            xp, xm = x.copy(), x.copy()
            xp[i] += h
            xm[i] -= h
            num[i] = (f(xp, t, reduction=reduction, **kw) - f(xm, t, reduction=reduction, **kw))
            num[i] /= 2 * h
        assert_allclose(grad, num, rtol=1e-6, atol=1e-9)
        none = g(x, t, reduction="none", **kw)
        assert_allclose(none, grad * (x.size if reduction == "mean" else 1), rtol=1e-14)


# --------------------------------------------------------------------------------------------
# Accuracy (ulps) against mpmath / float64 references
# --------------------------------------------------------------------------------------------

def mp_logits_loss(x, t, pw=1.0):
    with mpmath.workdps(50):
        x, t, pw = mpmath.mpf(float(x)), mpmath.mpf(float(t)), mpmath.mpf(float(pw))
        sp_pos = mpmath.log1p(mpmath.exp(-abs(x))) + max(x, 0)      # softplus(x)
        sp_neg = mpmath.log1p(mpmath.exp(-abs(x))) + max(-x, 0)     # softplus(-x)
        return float(pw * t * sp_neg + (1 - t) * sp_pos)


def grad_scale(x, t, pw=1.0):
    """The larger of the gradient's two terms (1 - t) sigma(x) and pw t sigma(-x): where they
    cancel (soft targets), no formula does better than ulps of it."""
    x, t, pw = (np.asarray(v, dtype=np.float64) for v in (x, t, pw))
    with np.errstate(over="ignore"):
        return np.maximum(np.abs((1 - t) / (1 + np.exp(-x))), np.abs(pw * t / (1 + np.exp(x))))


def mp_logits_grad(x, t, pw=1.0):
    with mpmath.workdps(50):
        x, t, pw = mpmath.mpf(float(x)), mpmath.mpf(float(t)), mpmath.mpf(float(pw))
        s, sn = 1 / (1 + mpmath.exp(-x)), 1 / (1 + mpmath.exp(x))
        return float((1 - t) * s - pw * t * sn)


def mp_prob_loss(p, t):
    with mpmath.workdps(50):
        p, t = mpmath.mpf(float(p)), mpmath.mpf(float(t))
        lp = max(mpmath.log(p), -100) if p > 0 else mpmath.mpf(-100)
        lq = max(mpmath.log1p(-p), -100) if p < 1 else mpmath.mpf(-100)
        return float(-(t * lp + (1 - t) * lq))


def logits_sample(rng, n):
    x = np.concatenate([4 * rng.standard_normal(n // 2), rng.uniform(-750, 750, n // 4),
                        np.exp(rng.uniform(-700, 3, n // 4)) * rng.choice([-1, 1], n // 4)])
    t = rng.choice([0.0, 1.0, 0.5], len(x))
    t[::3] = rng.uniform(0, 1, len(x[::3]))
    return x, t


def test_logits_float64_ulps(cpu_level):
    rng = np.random.default_rng(2)
    x, t = logits_sample(rng, 1200)
    pw = rng.uniform(0.5, 3, len(x))
    exact = np.array([mp_logits_loss(a, b) for a, b in zip(x, t)])
    assert ulp_error(BCEL(x, t, reduction="none"), exact, np.float64).max() <= 2.0
    exact = np.array([mp_logits_loss(a, b, c) for a, b, c in zip(x, t, pw)])
    r = BCEL(x, t, reduction="none", pos_weight=pw)
    assert ulp_error(r, exact, np.float64).max() <= 2.0
    # the mean, against the exact terms summed exactly
    mean = BCEL(x, t, pos_weight=pw)
    assert abs(mean - mpmath.fsum(exact) / len(x)) <= 1e-12 * abs(mean)


def test_logits_gradient_float64(cpu_level):
    rng = np.random.default_rng(3)
    x, t = logits_sample(rng, 600)
    g = xentc.binary_cross_entropy_with_logits_grad(x, t, reduction="none")
    exact = np.array([mp_logits_grad(a, b) for a, b in zip(x, t)])
    assert ulp_error(g, exact, np.float64, scale=grad_scale(x, t)).max() <= 2.0
    hard = (t == 0) | (t == 1)          # no cancellation: relative accuracy
    assert ulp_error(g[hard], exact[hard], np.float64).max() <= 2.0


def test_probs_float64_ulps(cpu_level):
    rng = np.random.default_rng(4)
    p = np.concatenate([rng.uniform(0, 1, 400), np.exp(rng.uniform(-100, 0, 200)),
                        1 - np.exp(rng.uniform(-36, 0, 200)), [0.0, 1.0, 5e-324, 0.5]])
    t = rng.choice([0.0, 1.0], len(p))
    t[::3] = rng.uniform(0, 1, len(p[::3]))
    exact = np.array([mp_prob_loss(a, b) for a, b in zip(p, t)])
    assert ulp_error(BCE(p, t, reduction="none"), exact, np.float64).max() <= 2.0


@pytest.mark.parametrize("x", [30.0, -30.0, 700.0, -700.0, 745.0, 1e-300, -1e-300, 0.0,
                               5e-324, 36.0, 37.5, 709.7])
@pytest.mark.parametrize("t", [0.0, 1.0, 0.25])
def test_extreme_logits_against_mpmath(cpu_level, x, t):
    r = BCEL(np.array([x]), np.array([t]), reduction="none")
    assert ulp_error(r, mp_logits_loss(x, t), np.float64).max() <= 1.0
    g = xentc.binary_cross_entropy_with_logits_grad(np.array([x]), np.array([t]),
                                                    reduction="none")
    assert ulp_error(g, mp_logits_grad(x, t), np.float64, scale=grad_scale(x, t)).max() <= 2.0


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_logits_lanes_do_not_depend_on_their_neighbours(cpu_level, dtype):
    # the vector kernels fix up whole groups of lanes where one holds |x| > 700 or inf: every
    # element must come out as it does alone, wherever it sits among such values
    rng = np.random.default_rng(7)
    special = [np.inf, -np.inf, np.nan, 745.0, -745.0, 720.0, -709.5, 1e30, -1e30]
    x = rng.standard_normal(101) * 4
    x[rng.choice(101, 30, replace=False)] = rng.choice(special, 30)
    x = x.astype(dtype)
    t = rng.choice([0.0, 1.0, 0.5, 0.2], 101).astype(dtype)
    pw = rng.uniform(0, 2, 101).astype(dtype)
    for kw in ({}, {"pos_weight": pw}):
        loss = BCEL(x, t, reduction="none", **kw)
        grad = xentc.binary_cross_entropy_with_logits_grad(x, t, reduction="none", **kw)
        alone = [BCEL(x[i:i + 1], t[i:i + 1], reduction="none",
                      **{k: v[i:i + 1] for k, v in kw.items()})[0] for i in range(101)]
        galone = [xentc.binary_cross_entropy_with_logits_grad(
            x[i:i + 1], t[i:i + 1], reduction="none",
            **{k: v[i:i + 1] for k, v in kw.items()})[0] for i in range(101)]
        assert_array_equal(loss, np.array(alone, dtype=dtype))
        assert_array_equal(grad, np.array(galone, dtype=dtype))
        finite = np.isfinite(x)
        exact = ref.binary_cross_entropy_with_logits(x.astype(np.float64), t, reduction="none",
                                                     **kw)
        assert_allclose(loss[finite], exact[finite], rtol=4 * np.finfo(dtype).eps,
                        atol=np.finfo(dtype).smallest_subnormal)


@pytest.mark.parametrize("kind", ["logits", "probs", "probs_eps"])
def test_float32_ulps_and_mean(cpu_level, kind):
    rng = np.random.default_rng(6)
    n = 20_000
    if kind == "logits":
        x = (6 * rng.standard_normal(n)).astype(np.float32)
        x[:100] = rng.uniform(-100, 100, 100)
        f, kw, r64 = BCEL, {}, ref.binary_cross_entropy_with_logits
    else:
        x = rng.uniform(0, 1, n).astype(np.float32)
        x[:100] = np.exp(rng.uniform(-80, 0, 100))
        kw = {} if kind == "probs" else dict(eps=1e-7)
        f, r64 = BCE, ref.binary_cross_entropy
    t = rng.choice([0.0, 1.0, 0.3], n).astype(np.float32)
    exact = r64(x, t, reduction="none", **kw)          # float64 on the same float32 values
    assert ulp_error(f(x, t, reduction="none", **kw), exact, np.float32).max() <= 1.0
    mean = f(x, t, **kw)
    assert mean.dtype == np.float32
    assert abs(float(mean) - exact.mean()) <= 1e-7 * exact.mean()


# --------------------------------------------------------------------------------------------
# Threads, layouts, memory
# --------------------------------------------------------------------------------------------

THREAD_CALLS = [
    lambda x, p, t, w, pw, **kw: BCEL(x, t, **kw),
    lambda x, p, t, w, pw, **kw: BCEL(x, t, w, "sum", pw, **kw),
    lambda x, p, t, w, pw, **kw: xentc.binary_cross_entropy_with_logits_and_grad(
        x, t, w, "mean", pw, **kw),
    lambda x, p, t, w, pw, **kw: BCE(p, t, w, **kw),
    lambda x, p, t, w, pw, **kw: xentc.binary_cross_entropy_and_grad(p, t, eps=1e-7, **kw),
    lambda x, p, t, w, pw, **kw: BCE(p, t, reduction="none", **kw),
]


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_bit_identical_for_every_n_threads(cpu_level, dtype):
    rng = np.random.default_rng(7)
    shape = (1000, 300)
    x = (3 * rng.standard_normal(shape)).astype(dtype)
    p = rng.uniform(0, 1, shape).astype(dtype)
    t = rng.uniform(0, 1, shape).astype(dtype)
    w = rng.uniform(0, 2, shape[:1] + (1,)).astype(dtype)
    pw = rng.uniform(0, 2, shape[-1]).astype(dtype)
    for call in THREAD_CALLS:
        expected = call(x, p, t, w, pw, n_threads=1)
        for n_threads in N_THREADS[1:] + [-1]:
            r = call(x, p, t, w, pw, n_threads=n_threads)
            for a, b in zip(np.atleast_1d(r) if not isinstance(r, tuple) else r,
                            np.atleast_1d(expected) if not isinstance(r, tuple) else expected):
                assert same_bits(a, b)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("C", [1, 3, 700])
def test_layouts_identical_and_inputs_not_modified(dtype, C):
    rng = np.random.default_rng(8)
    x = (3 * rng.standard_normal((1500, C))).astype(dtype)
    p = rng.uniform(0, 1, (1500, C)).astype(dtype)
    t = rng.uniform(0, 1, (1500, C)).astype(dtype)
    w = rng.uniform(0, 2, (1500, C)).astype(dtype)
    pw = rng.uniform(0, 2, C).astype(dtype)
    calls = [
        lambda a, b, c: xentc.binary_cross_entropy_with_logits_and_grad(a, b, c, "sum", pw),
        lambda a, b, c: xentc.binary_cross_entropy_and_grad(a.clip(0, 1), b, c, "none"),
    ]
    for call, xx in zip(calls, (x, p)):
        expected = call(xx, t, w)
        for (name, xl), (_, tl), (_, wl) in zip(layouts(xx), layouts(t), layouts(w)):
            before = [xl.copy(), tl.copy(), wl.copy()]
            r = call(xl, tl, wl)
            for a, b in zip(r, expected):
                assert same_bits(a, b), name
            for arr, b in zip((xl, tl, wl), before):
                assert_array_equal(arr, b, err_msg=name)


def test_memmap_and_broadcast_inputs(tmp_path):
    rng = np.random.default_rng(9)
    x = (3 * rng.standard_normal((400, 30))).astype(np.float32)
    t = rng.uniform(0, 1, (400, 30)).astype(np.float32)
    path = tmp_path / "x.f32"
    x.tofile(path)
    mm = np.memmap(path, dtype=np.float32, mode="r", shape=x.shape)
    assert same_bits(BCEL(mm, t, reduction="none"), BCEL(x, t, reduction="none"))
    # a broadcast (stride-0) input and target
    xb = np.broadcast_to(x[:1], x.shape)
    assert same_bits(BCEL(xb, t, reduction="none"), BCEL(np.ascontiguousarray(xb), t,
                                                          reduction="none"))
    tb = np.broadcast_to(np.float32(0.5), x.shape)
    assert same_bits(BCEL(x, tb), BCEL(x, np.full(x.shape, 0.5, np.float32)))


def test_weights_are_not_materialised_and_mean_allocates_little():
    rng = np.random.default_rng(10)
    x = rng.standard_normal((20_000, 50))
    t = rng.uniform(0, 1, x.shape)
    w = rng.uniform(0, 2, (20_000, 1))
    pw = rng.uniform(0, 2, 50)
    expected = ref.binary_cross_entropy_with_logits(x, t, w, "mean", pw)
    tracemalloc.start()
    r = BCEL(x, t, w, "mean", pw)
    r2 = BCE(rng.uniform(0, 1, (100, 100)), np.ones((100, 100)))   # small warm-up of the path
    tracemalloc.reset_peak()
    r2 = BCE(np.broadcast_to(0.5, x.shape), t, weight=w)
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    assert_allclose(r, expected, rtol=1e-13)
    assert_allclose(r2, ref.binary_cross_entropy(np.full(x.shape, 0.5), t, w), rtol=1e-13)
    assert peak < x.nbytes / 20
