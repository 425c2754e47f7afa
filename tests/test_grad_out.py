"""``grad_out=`` of the ``_grad`` / ``_and_grad`` losses: the gradient written into a given
array is the one the allocating call returns, bit for bit, in every layout."""

import numpy as np
import pytest

import xentc

INDEX_LOSSES = ["cross_entropy", "nll_loss"]
BINARY_LOSSES = ["binary_cross_entropy", "binary_cross_entropy_with_logits"]


def _operands(name, shape, dtype, rng):
    if name in INDEX_LOSSES:
        x = rng.normal(size=shape).astype(dtype)
        c = shape[1] if len(shape) > 1 else shape[0]
        t_shape = shape[:1] + shape[2:] if len(shape) > 1 else ()
        t = rng.integers(0, c, size=t_shape)
        if t.ndim:
            t.flat[::5] = -100                               # some ignored targets
        return x, t
    x = rng.uniform(0.01, 0.99, size=shape).astype(dtype)
    return x, rng.uniform(size=shape).astype(dtype)


def _functions(name):
    return getattr(xentc, name + "_grad"), getattr(xentc, name + "_and_grad")


@pytest.mark.parametrize("name", INDEX_LOSSES + BINARY_LOSSES)
@pytest.mark.parametrize("dtype", [np.float64, np.float32, np.float16])
@pytest.mark.parametrize("shape", [(300, 7), (64, 1000), (40, 2), (5,), (6, 4, 3)])
@pytest.mark.parametrize("order", ["C", "F"])
@pytest.mark.parametrize("reduction", ["mean", "none"])
def test_grad_out_equals_allocated_gradient(name, dtype, shape, order, reduction, rng):
    x, t = _operands(name, shape, dtype, rng)
    grad, and_grad = _functions(name)
    x_before = x.copy()
    expected = grad(x, t, reduction=reduction)
    for n_threads in (1, 2):
        out = np.full(x.shape, np.nan, dtype=expected.dtype, order=order)
        assert grad(x, t, reduction=reduction, grad_out=out, n_threads=n_threads) is out
        np.testing.assert_array_equal(out, expected)
        out[...] = np.nan
        loss, g = and_grad(x, t, reduction=reduction, grad_out=out, n_threads=n_threads)
        assert g is out
        np.testing.assert_array_equal(out, expected)
        np.testing.assert_array_equal(loss, and_grad(x, t, reduction=reduction)[0])
    np.testing.assert_array_equal(x, x_before)


@pytest.mark.parametrize("name", INDEX_LOSSES + BINARY_LOSSES)
def test_grad_out_strided_view(name, rng):
    x, t = _operands(name, (50, 9), np.float64, rng)
    grad = _functions(name)[0]
    base = np.zeros((50, 18))
    out = base[:, ::2]
    grad(x, t, grad_out=out)
    np.testing.assert_array_equal(out, grad(x, t))
    assert not base[:, 1::2].any()                          # nothing written between


def test_cross_entropy_grad_out_probability_targets_and_smoothing(rng):
    x = rng.normal(size=(100, 12))
    p = xentc.softmax(rng.normal(size=(100, 12)), axis=1)
    for kwargs in ({}, {"label_smoothing": 0.2}):
        out = np.empty_like(x)
        xentc.cross_entropy_grad(x, p, grad_out=out, **kwargs)
        np.testing.assert_array_equal(out, xentc.cross_entropy_grad(x, p, **kwargs))


@pytest.mark.parametrize("name", INDEX_LOSSES + BINARY_LOSSES)
def test_grad_out_errors(name, rng):
    x, t = _operands(name, (20, 5), np.float64, rng)
    grad, and_grad = _functions(name)
    with pytest.raises(ValueError, match=r"grad_out has shape \(20, 4\), expected \(20, 5\)"):
        grad(x, t, grad_out=np.empty((20, 4)))
    with pytest.raises(TypeError, match="grad_out has dtype float32, expected float64"):
        and_grad(x, t, grad_out=np.empty((20, 5), dtype=np.float32))
    with pytest.raises(TypeError, match="grad_out must be a numpy array, got list"):
        grad(x, t, grad_out=np.empty((20, 5)).tolist())
    read_only = np.empty((20, 5))
    read_only.flags.writeable = False
    with pytest.raises(ValueError, match="grad_out is read-only"):
        grad(x, t, grad_out=read_only)
    with pytest.raises(ValueError, match="grad_out must not share memory with the inputs"):
        grad(x, t, grad_out=x)
    if t.shape == x.shape:
        with pytest.raises(ValueError, match="must not share memory"):
            and_grad(x, t, grad_out=t)
