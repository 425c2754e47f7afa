"""asv benchmarks: xentc's row logsumexp / softmax / log_softmax, the read floor, scipy.

Run from ``benchmarks/`` in the current environment::

    asv run --python=same --quick      # one quick pass, no separate environment
    asv run --python=same              # full asv timing

Shapes are smaller than ``run.py``'s (SPEC section 4) so a full asv run stays short; the
arrays are the same ``3 * randn`` (seed 42) built by ``common.make_array``.
"""

from . import common

SHAPES = ["100000x10", "10000x1000", "1000000x2"]
DTYPES = ["float64", "float32"]
THREADS = [1, 2]


class Xentc:
    """xentc.<function>(X, axis=1, n_threads=...)."""

    params = [list(common.SPECIAL_FUNCTIONS), SHAPES, DTYPES, THREADS]
    param_names = ["function", "shape", "dtype", "n_threads"]

    def setup(self, function, shape, dtype, n_threads):
        self.x = common.make_array(common.parse_shape(shape), dtype)
        self.func = common.xentc_func(function, n_threads)

    def time_xentc(self, function, shape, dtype, n_threads):
        self.func(self.x)


class Floor:
    """Single-thread streaming read of X: the denominator of every ×floor ratio."""

    params = [SHAPES, DTYPES]
    param_names = ["shape", "dtype"]

    def setup(self, shape, dtype):
        self.x = common.make_array(common.parse_shape(shape), dtype)

    def time_floor(self, shape, dtype):
        common.read_floor(self.x)


class Scipy:
    """Baseline: scipy.special.<function>(X, axis=1), single-threaded."""

    params = [list(common.SPECIAL_FUNCTIONS), SHAPES, DTYPES]
    param_names = ["function", "shape", "dtype"]

    def setup(self, function, shape, dtype):
        try:
            self.func = common.scipy_func(function)
        except ImportError:
            raise NotImplementedError("scipy is not installed")
        self.x = common.make_array(common.parse_shape(shape), dtype)

    def time_scipy(self, function, shape, dtype):
        self.func(self.x)
