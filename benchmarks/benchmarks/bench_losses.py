"""asv benchmarks: xentc's losses (mean reduction) and the loss-and-gradient pass.

Run from ``benchmarks/`` as ``asv run --python=same --quick``.  Inputs are those of
``benchmarks/run.py`` (``common.make_array``, ``make_targets``, ``make_binary``), smaller.
"""

import xentc

from . import common

SHAPES = ["100000x10", "10000x1000", "1000000x2"]
DTYPES = ["float64", "float32"]
THREADS = [1, 2]


class CrossEntropy:
    """xentc.cross_entropy / cross_entropy_and_grad (class indices, mean)."""

    params = [list(common.LOSS_FUNCTIONS), SHAPES, DTYPES, THREADS]
    param_names = ["function", "shape", "dtype", "n_threads"]

    def setup(self, function, shape, dtype, n_threads):
        shape = common.parse_shape(shape)
        self.x = common.make_array(shape, dtype)
        self.y = common.make_targets(shape, shape[1])
        self.func = getattr(xentc, function)

    def time_xentc(self, function, shape, dtype, n_threads):
        self.func(self.x, self.y, n_threads=n_threads)


class BinaryWithLogits:
    """xentc.binary_cross_entropy_with_logits (mean) on 1_000_000 elements."""

    params = [DTYPES, THREADS]
    param_names = ["dtype", "n_threads"]

    def setup(self, dtype, n_threads):
        self.x, self.t = common.make_binary(1_000_000, dtype)

    def time_xentc(self, dtype, n_threads):
        xentc.binary_cross_entropy_with_logits(self.x, self.t, n_threads=n_threads)
