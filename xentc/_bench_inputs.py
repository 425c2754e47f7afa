"""Benchmark inputs and callables shared by ``xentc bench`` (:mod:`xentc._bench`), the
``benchmarks/run.py`` wrapper and the asv suite in ``benchmarks/benchmarks/``.

Every benchmark input is ``X = 3 * randn(shape)`` drawn with seed 42 directly in the
requested dtype (float32 data are generated as float32, not cast from float64), and C-contiguous.
The special functions act along the rows (``axis=1``); the multiclass losses take class
indices ``y`` (uniform in ``[0, C)``, seed 43, int64) and reduce with the mean; the binary
loss takes ``X`` flattened and targets ``T`` in {0, 1} (seed 44) of the same dtype.
``log_loss`` scores the probabilities ``softmax(X)`` (for a 1-D shape: ``expit(X)``, the
second class's probability) against ``y`` given as int64 class indices (``log_loss``, and
``log_loss_w`` with sample weights uniform in [0, 1), seed 45) or as strings
``"class00007"`` (``log_loss_str``), with ``labels`` all the classes.
"""

import numpy as np

import xentc
from xentc import _core

SPECIAL_FUNCTIONS = ("logsumexp", "softmax", "log_softmax")
LOSS_FUNCTIONS = ("cross_entropy", "cross_entropy_and_grad")
BINARY_FUNCTIONS = ("binary_cross_entropy_with_logits",)
METRIC_FUNCTIONS = ("log_loss", "log_loss_w", "log_loss_str")
FUNCTIONS = SPECIAL_FUNCTIONS + LOSS_FUNCTIONS + BINARY_FUNCTIONS + METRIC_FUNCTIONS
# those that can write into a preallocated array: out= / grad_out=
OUT_FUNCTIONS = ("softmax", "log_softmax", "cross_entropy_and_grad")
SEED = 42
SCALE = 3.0


def parse_shape(text):
    """``"1000000x10"`` -> ``(1000000, 10)``."""
    return tuple(int(part.replace("_", "")) for part in text.lower().split("x"))


def format_shape(shape):
    """``(1000000, 10)`` -> ``"1000000x10"``."""
    return "x".join(str(n) for n in shape)


def make_array(shape, dtype):
    """The benchmark input ``3 * randn(shape)`` (seed 42), C-contiguous, in ``dtype``."""
    dtype = np.dtype(dtype)
    x = np.random.default_rng(SEED).standard_normal(shape, dtype=dtype)
    x *= dtype.type(SCALE)
    return np.ascontiguousarray(x)


def make_targets(shape, n_classes):
    """Class indices for the rows of an array of ``shape`` (seed 43, int64)."""
    rng = np.random.default_rng(SEED + 1)
    return rng.integers(0, n_classes, size=shape[0], dtype=np.int64)


def make_binary(n, dtype):
    """``(X, T)``: ``n`` logits ``3 * randn`` and targets in {0, 1} (seed 44), in ``dtype``."""
    x = make_array((n,), dtype)
    t = (np.random.default_rng(SEED + 2).random(n) < 0.5).astype(dtype)
    return x, t


def read_floor(x):
    """One single-thread streaming read of ``x`` (xentc's private floor probe)."""
    return _core.read_floor(x.reshape(-1))


def xentc_func(name, n_threads):
    """``x -> xentc.<name>(x, axis=1, n_threads=n_threads, **kwargs)``."""
    func = getattr(xentc, name)
    return lambda x, **kwargs: func(x, axis=1, n_threads=n_threads, **kwargs)


def scipy_func(name):
    """``x -> scipy.special.<name>(x, axis=1)``; raises ImportError without SciPy."""
    import scipy.special

    func = getattr(scipy.special, name)
    return lambda x: func(x, axis=1)


def make_sample_weight(n):
    """Sample weights for ``log_loss_w``: uniform in [0, 1), float64."""
    return np.random.default_rng(SEED + 3).random(n)


def make_log_loss(shape, dtype, string_labels=False):
    """``(y, P, labels)`` for log_loss: probabilities ``softmax(3 randn)`` of ``shape`` (a 1-D
    shape: ``expit(3 randn)``, binary) in ``dtype``, and labels (int64 or strings)."""
    x = make_array(shape, dtype)
    n_classes = 2 if len(shape) == 1 else shape[1]
    if len(shape) == 1:
        p = (1.0 / (1.0 + np.exp(-x.astype(np.float64)))).astype(dtype)
    else:
        p = xentc.softmax(x, axis=1)
    y = make_targets(shape, n_classes)
    labels = np.arange(n_classes)
    if string_labels:
        names = np.array([f"class{k:05d}" for k in range(n_classes)])
        y, labels = names[y], names
    return y, p, labels
