"""xentc.log_loss_partial / xentc.cross_entropy_partial: mergeable states against the one-shot
functions on the concatenated data (1e-12 relative in float64), under random splits with
empty parts and parts missing classes; sem, per_class and d2 against NumPy; merging rules;
warnings raised once, at finish."""

import math
import pickle

import numpy as np
import pytest
from numpy.testing import assert_allclose, assert_array_equal

import xentc
import xentc.reference as reference

from helpers import N_THREADS, assert_unchanged, layouts, outcome, snapshot

ROWSUM = "The y_prob values do not sum to one. Make sure to pass probabilities."


def random_bounds(rng, n, n_parts):
    """Row bounds of n_parts consecutive parts of n rows, some of them empty."""
    cuts = np.sort(rng.integers(0, n + 1, size=n_parts - 1))
    edges = np.concatenate([[0], cuts, [n]])
    return list(zip(edges[:-1], edges[1:]))


def problem(rng, n, k, dtype=np.float64, binary_1d=False):
    p = rng.dirichlet(np.ones(k), size=n).astype(dtype)
    y = rng.integers(0, k, size=n)
    if binary_1d:
        p = p[:, 1]
    return y, p


def log_loss_state(y, p, bounds, labels, w=None, **kw):
    states = [xentc.log_loss_partial(y[a:b], p[a:b], labels=labels,
                                     sample_weight=None if w is None else w[a:b], **kw)
              for a, b in bounds]
    return sum(states)


@pytest.mark.parametrize("k, binary_1d", [(2, True), (2, False), (3, False), (12, False)])
@pytest.mark.parametrize("weighted", [False, True])
@pytest.mark.parametrize("seed", range(3))
def test_log_loss_state_equals_one_shot(k, binary_1d, weighted, seed):
    rng = np.random.default_rng(seed)
    n = 500
    y, p = problem(rng, n, k, binary_1d=binary_1d)
    w = rng.random(n) if weighted else None
    y[: n // 2][y[: n // 2] == 0] = 1  # the first half misses class 0
    state = log_loss_state(y, p, random_bounds(rng, n, 7), range(k), w)
    for normalize in (True, False):
        assert_allclose(state.log_loss(normalize=normalize),
                        xentc.log_loss(y, p, sample_weight=w, normalize=normalize), rtol=1e-12)
    assert_allclose(state.d2(), xentc.d2_log_loss_score(y, p, sample_weight=w), rtol=1e-12)
    assert state.n == n
    assert type(state.log_loss()) is float and type(state.d2()) is float


def test_log_loss_state_sums_per_class_and_sem():
    rng = np.random.default_rng(1)
    n, k = 400, 4
    y, p = problem(rng, n, k)
    w = rng.random(n) * 3
    loss = -np.log(p[np.arange(n), y])
    for weights in (None, w):
        state = log_loss_state(y, p, random_bounds(rng, n, 5), [0, 1, 2, 3], weights)
        v = np.ones(n) if weights is None else weights
        assert_allclose(state.sum_weight, v.sum(), rtol=1e-13)
        assert_allclose(state.sum_weight_sq, (v * v).sum(), rtol=1e-13)
        assert_allclose(state.sum_loss, (v * loss).sum(), rtol=1e-13)
        assert_allclose(state.sum_loss_sq, (v * loss * loss).sum(), rtol=1e-13)
        per_class = [(v * loss)[y == c].sum() / v[y == c].sum() for c in range(k)]
        assert_allclose(state.per_class(), per_class, rtol=1e-12)
        assert_array_equal(state.labels, [0, 1, 2, 3])
        # the standard error of the weighted mean, with reliability weights
        mean = (v * loss).sum() / v.sum()
        v1, v2 = v.sum(), (v * v).sum()
        s2 = (v * (loss - mean) ** 2).sum() / (v1 - v2 / v1)
        assert_allclose(state.sem(), math.sqrt(s2 * v2 / v1**2), rtol=1e-9)
    unweighted = log_loss_state(y, p, [(0, n)], [0, 1, 2, 3])
    assert_allclose(unweighted.sem(), loss.std(ddof=1) / math.sqrt(n), rtol=1e-9)
    # scaling the weights changes neither the mean nor its standard error
    scaled = log_loss_state(y, p, [(0, n)], [0, 1, 2, 3], w * 1e3)
    weighted = log_loss_state(y, p, [(0, n)], [0, 1, 2, 3], w)
    assert_allclose(scaled.sem(), weighted.sem(), rtol=1e-9)


def test_log_loss_state_per_class_absent_class_and_string_labels():
    y = np.array(["b", "c", "b", "c"])
    p = np.array([[.2, .7, .1], [.1, .1, .8], [.3, .6, .1], [.2, .2, .6]])
    state = xentc.log_loss_partial(y, p, labels=["a", "b", "c"])
    assert_array_equal(state.labels, ["a", "b", "c"])
    per_class = state.per_class()
    assert math.isnan(per_class[0])
    assert_allclose(per_class[1:], [-(np.log(.7) + np.log(.6)) / 2,
                                    -(np.log(.8) + np.log(.6)) / 2], rtol=1e-14)
    assert_allclose(state.log_loss(), xentc.log_loss(y, p, labels=["a", "b", "c"]),
                    rtol=1e-15)


@pytest.mark.parametrize("dtype", [np.float16, np.float32, np.float64])
def test_log_loss_state_dtypes_and_eps(dtype):
    rng = np.random.default_rng(2)
    y, p = problem(rng, 300, 3, dtype=dtype)
    state = log_loss_state(y, p, random_bounds(rng, 300, 4), [0, 1, 2])
    assert state.eps == float(np.finfo(dtype).eps)
    assert_allclose(state.log_loss(), xentc.log_loss(y, p), rtol=1e-12)
    other = xentc.log_loss_partial(y, p.astype(np.float64 if dtype != np.float64
                                                else np.float32), labels=[0, 1, 2])
    with pytest.raises(ValueError, match="different dtypes"):
        state + other


def test_log_loss_state_bit_identical_for_a_fixed_split_and_any_n_threads():
    rng = np.random.default_rng(3)
    y, p = problem(rng, 20000, 7)
    w = rng.random(20000)
    bounds = random_bounds(rng, 20000, 6)
    results = {n_threads: log_loss_state(y, p, bounds, range(7), w, n_threads=n_threads)
               for n_threads in N_THREADS}
    first = results[N_THREADS[0]]
    for state in results.values():
        assert state.log_loss() == first.log_loss()
        assert state.sem() == first.sem()
        assert_array_equal(state.per_class(), first.per_class())
    # addition is commutative exactly, associative up to rounding
    a, b, c = (xentc.log_loss_partial(y[s], p[s], labels=range(7))
               for s in (slice(0, 5000), slice(5000, 12000), slice(12000, None)))
    assert (a + b).sum_loss == (b + a).sum_loss
    assert_allclose(((a + b) + c).sum_loss, (a + (b + c)).sum_loss, rtol=1e-15)


def test_log_loss_state_row_sum_warning_once_at_finish():
    rng = np.random.default_rng(4)
    y, p = problem(rng, 100, 3)
    p[[3, 60, 61]] *= 1.1
    parts = [outcome(xentc.log_loss_partial, y[a:b], p[a:b], labels=[0, 1, 2])
             for a, b in [(0, 50), (50, 100)]]
    assert all(part.error is None and part.warnings == [] for part in parts)
    state = parts[0].value + parts[1].value
    assert state.n_rows_off == 3
    finished = outcome(state.log_loss)
    assert finished.warnings == [(UserWarning, ROWSUM)]
    assert_allclose(finished.value, outcome(xentc.log_loss, y, p).value, rtol=1e-12)


def test_log_loss_state_whole_problem_errors():
    y, p = np.array([0, 1]), np.array([[.4, .6], [.3, .7]])
    empty = xentc.log_loss_partial(y[:0], p[:0], labels=[0, 1])
    assert empty.n == 0 and empty.sum_loss == 0.0
    with pytest.raises(ValueError, match="0 sample"):
        empty.log_loss()
    zero = xentc.log_loss_partial(y, p, labels=[0, 1], sample_weight=[0.0, 0.0])
    with pytest.raises(ValueError, match="at least one non-zero"):
        zero.log_loss()
    with pytest.raises(ValueError, match="at least one non-zero"):
        xentc.log_loss(y, p, sample_weight=[0.0, 0.0])
    cancel = xentc.log_loss_partial(y, p, labels=[0, 1], sample_weight=[1.0, -1.0])
    with pytest.raises(ZeroDivisionError, match="Weights sum to zero"):
        cancel.log_loss()
    assert_allclose(cancel.log_loss(normalize=False),
                    xentc.log_loss(y, p, sample_weight=[1.0, -1.0], normalize=False))
    one = xentc.log_loss_partial(y[:1], p[:1], labels=[0, 1])
    d2 = outcome(one.d2)
    assert math.isnan(d2.value) and "less than two samples" in d2.warnings[0][1]
    assert math.isnan(one.sem())


def test_log_loss_partial_validates_as_log_loss():
    y, p = np.array([0, 1, 2]), np.array([[.2, .3, .5], [.3, .3, .4], [.1, .1, .8]])
    with pytest.raises(TypeError, match="labels"):
        xentc.log_loss_partial(y, p)  # labels is required
    bad = p.copy()
    bad[1, 1] = 1.5
    with pytest.raises(ValueError, match="greater than 1: 1.5"):
        xentc.log_loss_partial(y, bad, labels=[0, 1, 2])
    with pytest.raises(ValueError, match=r"not belonging to the passed labels \[0, 1\]"):
        xentc.log_loss_partial(y, p[:, :2], labels=[0, 1])
    with pytest.raises(ValueError, match="number of classes in labels"):
        xentc.log_loss_partial(y, p, labels=[0, 1, 2, 3])
    indicator = np.array([[0, 1], [1, 0]])
    with pytest.raises(ValueError, match="not fitted with multilabel"):  # as log_loss
        xentc.log_loss_partial(indicator, p[:2, :2], labels=[0, 1])
    with pytest.raises(ValueError, match="labels is required"):
        xentc.log_loss_partial(y, p, labels=None)
    with pytest.raises(ValueError, match="inconsistent numbers of samples"):
        xentc.log_loss_partial(y[:2], p, labels=[0, 1, 2])
    a = xentc.log_loss_partial(y, p, labels=[0, 1, 2])
    b = xentc.log_loss_partial(y[:1], p[:1, :], labels=[0, 1, 2, 5][:3])
    a + b  # same labels
    c = xentc.log_loss_partial(np.array(["a"]), np.array([[.2, .3, .5]]),
                               labels=["a", "b", "c"])
    with pytest.raises(ValueError, match="different labels"):
        a + c
    with pytest.raises(TypeError):
        a + xentc.cross_entropy_partial(np.zeros((1, 3)), np.array([0]))


def test_log_loss_partial_does_not_modify_inputs():
    rng = np.random.default_rng(5)
    y, p = problem(rng, 50, 3)
    w = rng.random(50)
    p.flags.writeable = False
    before = [snapshot(a) for a in (y, p, w)]
    xentc.log_loss_partial(y, p, labels=[0, 1, 2], sample_weight=w)
    for b, a in zip(before, (y, p, w)):
        assert_unchanged(b, a)


def test_states_pickle_and_sum_from_zero():
    rng = np.random.default_rng(6)
    y, p = problem(rng, 60, 3)
    state = xentc.log_loss_partial(y, p, labels=[0, 1, 2])
    copy = pickle.loads(pickle.dumps(state))
    assert copy.log_loss() == state.log_loss()
    assert_array_equal(copy.class_loss, state.class_loss)
    assert sum([state]) is state
    x = rng.normal(size=(60, 3))
    ce = xentc.cross_entropy_partial(x, y)
    assert pickle.loads(pickle.dumps(ce)).cross_entropy() == ce.cross_entropy()
    assert "n=60" in repr(state) and "CrossEntropyState" in repr(ce)


# --- cross_entropy_partial -----------------------------------------------------------------

@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("weighted", [False, True])
@pytest.mark.parametrize("kdim", [False, True])
def test_cross_entropy_state_equals_one_shot(dtype, weighted, kdim):
    rng = np.random.default_rng(7)
    n, c = 300, 6
    shape = (n, c, 3) if kdim else (n, c)
    x = rng.normal(size=shape).astype(dtype)
    t = rng.integers(0, c, size=(n, 3) if kdim else n)
    t[rng.random(t.shape) < 0.2] = -100
    t[: n // 3][t[: n // 3] == 2] = 3  # the first third misses class 2
    w = rng.random(c) if weighted else None
    bounds = random_bounds(rng, n, 6)
    state = sum(xentc.cross_entropy_partial(x[a:b], t[a:b], w) for a, b in bounds)
    rtol = 1e-12 if dtype == np.float64 else 1e-6
    for reduction in ("mean", "sum"):
        ours = state.cross_entropy(reduction)
        expected = xentc.cross_entropy(x, t, w, reduction=reduction)
        assert ours.dtype == expected.dtype == dtype
        assert_allclose(ours, expected, rtol=rtol)
    rows = xentc.cross_entropy(x, t, reduction="none").astype(np.float64).ravel()
    flat = t.ravel()
    kept = flat != -100
    v = np.ones(c) if w is None else w
    per_class = [rows[flat == k].sum() / (flat == k).sum() for k in range(c)]
    assert_allclose(state.per_class(), per_class, rtol=1e-6)  # class weights cancel
    assert state.n == kept.sum()
    wi = v[flat[kept]]
    li = rows[kept]
    mean = (wi * li).sum() / wi.sum()
    v1, v2 = wi.sum(), (wi * wi).sum()
    s2 = (wi * (li - mean) ** 2).sum() / (v1 - v2 / v1)
    assert_allclose(state.sem(), math.sqrt(s2 * v2 / v1**2), rtol=1e-5)


def test_cross_entropy_state_all_ignored_and_errors():
    x = np.zeros((4, 3))
    t = np.full(4, -100)
    state = xentc.cross_entropy_partial(x, t)
    assert math.isnan(state.cross_entropy()) and state.cross_entropy("sum") == 0.0
    assert math.isnan(float(xentc.cross_entropy(x, t)))
    with pytest.raises(IndexError, match="Target 3 is out of bounds"):
        xentc.cross_entropy_partial(x, np.array([0, 1, 3, 0]))
    with pytest.raises(ValueError, match="weight tensor"):
        xentc.cross_entropy_partial(x, np.array([0, 1, 2, 0]), weight=[1.0, 2.0])
    with pytest.raises(TypeError, match="class-index"):
        xentc.cross_entropy_partial(x, np.full((4, 3), 1 / 3))
    with pytest.raises(TypeError, match="integer"):
        xentc.cross_entropy_partial(x, np.zeros(4))
    with pytest.raises(ValueError, match="batch axis"):
        xentc.cross_entropy_partial(np.zeros(3), np.array(1))
    with pytest.raises(ValueError, match="reduction"):
        state.cross_entropy("none")
    with pytest.raises(ValueError, match="numbers of classes"):
        state + xentc.cross_entropy_partial(np.zeros((1, 2)), np.array([0]))
    empty = xentc.cross_entropy_partial(np.zeros((0, 3)), np.zeros(0, np.int64))
    assert (empty + state).n == 0


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_layouts_and_threads(dtype):
    rng = np.random.default_rng(8)
    y, p = problem(rng, 3000, 6, dtype=dtype)
    x = rng.normal(size=(3000, 6)).astype(dtype)
    expected = xentc.log_loss_partial(y, p, labels=range(6), n_threads=1)
    expected_ce = xentc.cross_entropy_partial(x, y, n_threads=1)
    for name, q in layouts(p):
        for n_threads in N_THREADS:
            state = xentc.log_loss_partial(y, q, labels=range(6), n_threads=n_threads)
            assert state.sum_loss == expected.sum_loss, (name, n_threads)
            assert_array_equal(state.class_loss, expected.class_loss)
    for name, z in layouts(x):
        for n_threads in N_THREADS:
            state = xentc.cross_entropy_partial(z, y, n_threads=n_threads)
            assert state.sum_loss == expected_ce.sum_loss, (name, n_threads)
            assert_array_equal(state.class_loss, expected_ce.class_loss)


def assert_states_close(ours, ref, rtol):
    assert type(ours) is type(ref) and ours.n == ref.n
    for name in ("sum_weight", "sum_weight_sq", "sum_loss", "sum_loss_sq"):
        assert_allclose(getattr(ours, name), getattr(ref, name), rtol=rtol, err_msg=name)
    assert_allclose(ours.class_weight, ref.class_weight, rtol=rtol)
    assert_allclose(ours.class_loss, ref.class_loss, rtol=rtol)


@pytest.mark.parametrize("weighted", [False, True])
@pytest.mark.parametrize("k, binary_1d", [(2, True), (5, False)])
def test_log_loss_partial_against_reference(weighted, k, binary_1d):
    rng = np.random.default_rng(9)
    y, p = problem(rng, 400, k, binary_1d=binary_1d)
    if not binary_1d:
        p[[3, 30]] *= 1.1
    w = rng.random(400) if weighted else None
    names = np.array([f"c{i}" for i in range(k)])
    ours = xentc.log_loss_partial(names[y], p, labels=names, sample_weight=w)
    ref = reference.log_loss_partial(names[y], p, labels=names, sample_weight=w)
    assert_states_close(ours, ref, 1e-12)
    assert ours.n_rows_off == ref.n_rows_off == (0 if binary_1d else 2)
    assert ours.n_nonzero_weight == ref.n_nonzero_weight and ours.eps == ref.eps
    assert_array_equal(ours.labels, ref.labels)


@pytest.mark.parametrize("weighted", [False, True])
@pytest.mark.parametrize("shape", [(300, 7), (100, 4, 3)])
def test_cross_entropy_partial_against_reference(weighted, shape):
    rng = np.random.default_rng(10)
    x = rng.normal(size=shape)
    t = rng.integers(0, shape[1], size=shape[:1] + shape[2:])
    t[rng.random(t.shape) < 0.2] = -100
    w = rng.random(shape[1]) if weighted else None
    assert_states_close(xentc.cross_entropy_partial(x, t, w),
                        reference.cross_entropy_partial(x, t, w), 1e-12)
