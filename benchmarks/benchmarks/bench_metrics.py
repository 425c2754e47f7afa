"""asv benchmarks: xentc.log_loss against sklearn.metrics.log_loss, time and traced memory.

Run from ``benchmarks/`` as ``asv run --python=same --quick``.  Inputs are those of
``benchmarks/run.py`` (``common.make_log_loss``), smaller.
"""

import tracemalloc

import xentc

from . import common

SHAPES = ["100000x10", "10000x1000", "1000000x2", "1000000"]
DTYPES = ["float64", "float32"]
LABELS = ["int", "str"]


class LogLoss:
    """xentc.log_loss (2 threads) and scikit-learn's, on the same arguments."""

    params = [SHAPES, DTYPES, LABELS]
    param_names = ["shape", "dtype", "labels"]

    def setup(self, shape, dtype, labels):
        self.y, self.p, self.labels = common.make_log_loss(
            common.parse_shape(shape), dtype, string_labels=labels == "str")

    def time_xentc(self, shape, dtype, labels):
        xentc.log_loss(self.y, self.p, labels=self.labels, n_threads=2)

    def time_sklearn(self, shape, dtype, labels):
        self._sklearn()(self.y, self.p, labels=self.labels)

    def track_traced_mib_xentc(self, shape, dtype, labels):
        return _traced_mib(lambda: xentc.log_loss(self.y, self.p, labels=self.labels))

    def track_traced_mib_sklearn(self, shape, dtype, labels):
        log_loss = self._sklearn()
        return _traced_mib(lambda: log_loss(self.y, self.p, labels=self.labels))

    @staticmethod
    def _sklearn():
        try:
            from sklearn.metrics import log_loss
        except ImportError:
            raise NotImplementedError("scikit-learn is not installed") from None
        return log_loss


def _traced_mib(call):
    """Peak memory (MiB) one call allocates, as tracemalloc sees it."""
    tracemalloc.start()
    try:
        base = tracemalloc.get_traced_memory()[0]
        call()
        return (tracemalloc.get_traced_memory()[1] - base) / 2**20
    finally:
        tracemalloc.stop()
