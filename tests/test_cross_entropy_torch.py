"""cross_entropy / nll_loss against torch.nn.functional (2.13) on random sweeps, loss and
autograd gradient, for xentc and xentc.reference; and the deviations SPEC §2 decides."""

import itertools

import numpy as np
import pytest
from numpy.testing import assert_allclose

import xentc
import xentc.reference as reference

torch = pytest.importorskip("torch")
F = torch.nn.functional

inf, nan = np.inf, np.nan


@pytest.fixture(scope="module", autouse=True)
def torch_single_thread():
    """Tiny problems: torch's intra-op threads only add barrier waits (seconds, on a busy
    2-core machine)."""
    previous = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(previous)


@pytest.fixture(params=[pytest.param(xentc, id="xentc"),
                        pytest.param(reference, id="reference")])
def impl(request):
    return request.param


SHAPES = [(7, 5), (5,), (3, 5, 4), (2, 5, 3, 2)]
TOL = {np.float64: 1e-12, np.float32: 1e-5}


def torch_loss_and_grad(func, x, t, **kw):
    """torch's loss and d(sum of the output)/dx: upstream ones for 'none'."""
    xt = torch.tensor(x, requires_grad=True)
    if kw.get("weight") is not None:
        kw["weight"] = torch.tensor(kw["weight"], dtype=xt.dtype)
    out = func(xt, torch.tensor(t), **kw)
    out.backward(torch.ones_like(out))
    return out.detach().numpy(), xt.grad.numpy()


def assert_matches(result, expected, dtype, what):
    """rtol, and an atol relative to the scale of the expected values."""
    rtol = TOL[dtype]
    scale = np.max(np.abs(expected), initial=0.0, where=np.isfinite(expected))
    assert_allclose(np.asarray(result, dtype=np.float64), expected, rtol=rtol,
                    atol=(0.1 if dtype is np.float64 else 1.0) * rtol * scale, err_msg=what)


def random_problem(rng, shape, dtype, kind):
    C = shape[0] if len(shape) == 1 else shape[1]
    tshape = shape[:1] + shape[2:] if len(shape) > 1 else ()
    x = (2 * rng.normal(size=shape)).astype(dtype)
    if kind == "index":
        t = rng.integers(0, C, size=tshape)
        t.reshape(-1)[:1] = 2        # a class with nonzero weight: mean denominators > 0
    else:
        t = rng.dirichlet(np.ones(C), size=tshape)
        if kind == "prob_unnormalised":
            t *= rng.uniform(-0.5, 3, size=t.shape)
        t = (np.moveaxis(t, -1, 1) if len(shape) > 1 else t).astype(dtype)
    weights = [None, rng.uniform(0.2, 3, C), np.where(np.arange(C) == 0, 0.0, 1.7)]
    return x, t, weights


@pytest.mark.parametrize("kind", ["index", "prob", "prob_unnormalised"])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("shape", SHAPES, ids=str)
def test_cross_entropy_sweep(impl, shape, dtype, kind):
    rng = np.random.default_rng(sum(shape) + 100 * len(kind))
    x, t, weights = random_problem(rng, shape, dtype, kind)
    ignores = (-100, 1) if kind == "index" else (-100,)
    for reduction, weight, ignore_index, ls in itertools.product(
            ("none", "mean", "sum"), weights, ignores, (0.0, 0.1, 1.0)):
        kw = dict(weight=weight, ignore_index=ignore_index, reduction=reduction,
                  label_smoothing=ls)
        eloss, egrad = torch_loss_and_grad(F.cross_entropy, x, t, **kw)
        loss, grad = impl.cross_entropy_and_grad(x, t, **kw)
        assert np.shape(loss) == eloss.shape and grad.shape == x.shape
        assert_matches(loss, eloss, dtype, f"loss {kw}")
        assert_matches(grad, egrad, dtype, f"grad {kw}")
        assert_matches(impl.cross_entropy(x, t, **kw), eloss, dtype, f"loss {kw}")


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("shape", SHAPES, ids=str)
def test_nll_loss_sweep(impl, shape, dtype):
    rng = np.random.default_rng(sum(shape))
    x, t, weights = random_problem(rng, shape, dtype, "index")
    x = x - 3                        # any values: nll_loss reads them as log-probabilities
    for reduction, weight, ignore_index in itertools.product(
            ("none", "mean", "sum"), weights, (-100, 1)):
        kw = dict(weight=weight, ignore_index=ignore_index, reduction=reduction)
        eloss, egrad = torch_loss_and_grad(F.nll_loss, x, t, **kw)
        loss, grad = impl.nll_loss_and_grad(x, t, **kw)
        assert_matches(loss, eloss, dtype, f"loss {kw}")
        assert_matches(grad, egrad, dtype, f"grad {kw}")


def test_non_finite_rows_as_torch(impl):
    # rows torch and SPEC agree on (index targets: no 0 * inf question arises)
    x = np.array([[-inf, 0.0], [-inf, 0.0], [inf, 0.0], [nan, 1.0], [1000.0, 0.0], [2.0, 1.0]])
    y = np.array([1, 0, 1, 0, 1, 0])
    for ls, reduction in itertools.product((0.0, 0.1), ("none", "sum")):
        kw = dict(label_smoothing=ls, reduction=reduction)
        eloss, egrad = torch_loss_and_grad(F.cross_entropy, x, y, **kw)
        loss, grad = impl.cross_entropy_and_grad(x, y, **kw)
        assert_allclose(loss, eloss, rtol=1e-15)
        assert_allclose(grad, egrad, rtol=1e-15)
    # an ignored all -inf row: skipped by the loss, NaN in the gradient
    x = np.array([[-inf, -inf], [0.0, 1.0]])
    eloss, egrad = torch_loss_and_grad(F.cross_entropy, x, np.array([-100, 1]))
    loss, grad = impl.cross_entropy_and_grad(x, [-100, 1])
    assert_allclose(loss, eloss, rtol=1e-15)
    assert_allclose(grad, egrad, rtol=1e-15)


ERROR_CASES = [
    # (input, target, kwargs): torch raises with the same wording (not the same type)
    (np.zeros((3, 3)), np.array([0, 3, 1]), {}),
    (np.zeros((3, 3)), np.array([0, -1, 1]), {"reduction": "sum"}),
    (np.zeros((1, 3, 3)), np.array([[0, 1, 3]]), {}),
    (np.zeros((3, 3)), np.array([0, 1]), {}),
    (np.zeros((3, 3)), np.zeros((3, 1), dtype=np.int64), {}),
    (np.zeros((1, 3, 2)), np.zeros((1, 3), dtype=np.int64), {}),
    (np.zeros(3), np.array([0, 1]), {}),
    (np.zeros((3, 3)), np.array([0, 1, 2]), {"weight": np.ones(2)}),
    (np.zeros((3, 3)), np.array([0, 1, 2]), {"label_smoothing": 1.1}),
    (np.zeros((3, 3)), np.full((3, 3), 1 / 3), {"ignore_index": 0}),
    (np.zeros((3, 3)), np.array([0, 1, 2]), {"reduction": "avg"}),
]


@pytest.mark.parametrize("x, t, kw", ERROR_CASES, ids=range(len(ERROR_CASES)))
def test_error_messages_are_torchs(impl, x, t, kw):
    tkw = dict(kw)
    if "weight" in tkw:
        tkw["weight"] = torch.tensor(tkw["weight"])
    with pytest.raises((RuntimeError, ValueError, IndexError)) as expected:
        F.cross_entropy(torch.tensor(x), torch.tensor(t), **tkw)
    with pytest.raises((ValueError, IndexError)) as got:
        impl.cross_entropy(x, t, **kw)
    assert str(got.value) == str(expected.value)
    if isinstance(expected.value, (ValueError, IndexError)):
        assert type(got.value) is type(expected.value)


def test_nll_error_messages_are_torchs(impl):
    for x, t in [(np.float64(1.0), np.int64(0)), (np.zeros((2, 3, 4)), np.zeros((2, 5), int))]:
        with pytest.raises((RuntimeError, ValueError)) as expected:
            F.nll_loss(torch.tensor(x), torch.tensor(t))
        with pytest.raises(ValueError) as got:
            impl.nll_loss(x, t)
        assert str(got.value) == str(expected.value)


class TestDeviationsFromTorch:
    """SPEC §2 decides differently from torch here; torch's behaviour is asserted as well,
    so that a torch release that changes it shows up."""

    def test_int32_targets_accepted(self, impl):
        x = np.random.default_rng(3).normal(size=(4, 3))
        y = np.array([0, 2, 1, 2])
        with pytest.raises(RuntimeError, match="expected target dtype to be Long or Byte"):
            F.cross_entropy(torch.tensor(x), torch.tensor(y.astype(np.int32)))
        expected = F.cross_entropy(torch.tensor(x), torch.tensor(y)).item()
        assert_allclose(impl.cross_entropy(x, y.astype(np.int32)), expected, rtol=1e-14)

    def test_negative_label_smoothing_is_an_error(self, impl):
        x, y = np.zeros((2, 3)), np.array([0, 1])
        assert F.cross_entropy(torch.tensor(x), torch.tensor(y), label_smoothing=-0.1).item() \
            == F.cross_entropy(torch.tensor(x), torch.tensor(y)).item()
        with pytest.raises(ValueError, match="Got: -0.1"):
            impl.cross_entropy(x, y, label_smoothing=-0.1)

    def test_zero_target_weight_times_masked_logit(self, impl):
        x = np.array([[-inf, 0.0, 1.0]])
        t = np.array([[0.0, 0.3, 0.7]])
        assert torch.isnan(F.cross_entropy(torch.tensor(x), torch.tensor(t))).item()
        finite = F.cross_entropy(torch.tensor(x[:, 1:]), torch.tensor(t[:, 1:])).item()
        assert_allclose(impl.cross_entropy(x, t), finite, rtol=1e-14)
        w = np.array([0.0, 1.0, 2.0])
        tw = torch.tensor(w)
        assert torch.isnan(F.cross_entropy(torch.tensor(x), torch.tensor([2]), weight=tw,
                                           label_smoothing=0.2)).item()
        lp = F.log_softmax(torch.tensor(x[0, 1:]), dim=0).numpy()     # classes 1 and 2
        expected = -(0.8 * 2.0 * lp[1] + 0.2 / 3 * (1.0 * lp[0] + 2.0 * lp[1])) / 2.0
        assert_allclose(impl.cross_entropy(x, [2], weight=w, label_smoothing=0.2), expected,
                        rtol=1e-14)
        # the gradients are finite in torch too, and agree
        _, egrad = torch_loss_and_grad(F.cross_entropy, x, t)
        assert_allclose(impl.cross_entropy_grad(x, t), egrad, rtol=1e-14)

    def test_error_types(self, impl):
        # torch raises RuntimeError for most argument errors; xentc raises ValueError
        with pytest.raises(RuntimeError):
            F.cross_entropy(torch.zeros(3, 3), torch.zeros(3, 1, dtype=torch.long))
        with pytest.raises(ValueError):
            impl.cross_entropy(np.zeros((3, 3)), np.zeros((3, 1), dtype=np.int64))
