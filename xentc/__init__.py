"""xentc: fast, exact cross-entropy, log-sum-exp and softmax for NumPy on the CPU.

Public functions mirror their SciPy counterparts (same signatures, results and edge cases)
and add an ``n_threads`` keyword; :mod:`xentc.reference` holds plain SciPy-based reference
implementations to check against.  ``xentc.neg_log_loss_scorer`` and
``xentc.d2_log_loss_scorer`` are scikit-learn scorers on xentc's functions, and
:func:`patch_sklearn` makes scikit-learn itself use them; scikit-learn is imported only then.
"""

try:
    from . import _core  # noqa: F401  (the compiled kernels)
except ImportError as exc:  # pragma: no cover - depends on how xentc is run
    import os

    if os.path.exists(os.path.join(os.path.dirname(__file__), os.pardir, "meson.build")):
        raise ImportError(
            "xentc is being imported from its source tree, which has no compiled kernels "
            "(e.g. `python -m xentc` run from the repository root): run it from another "
            "directory or use the `xentc` command; to work on xentc in place, install it "
            "with `pip install --no-build-isolation -e .`"
        ) from exc
    raise

from ._binary import (
    binary_cross_entropy,
    binary_cross_entropy_and_grad,
    binary_cross_entropy_grad,
    binary_cross_entropy_with_logits,
    binary_cross_entropy_with_logits_and_grad,
    binary_cross_entropy_with_logits_grad,
    sigmoid_cross_entropy_with_logits,
    weighted_cross_entropy_with_logits,
)
from ._config import show_config
from ._losses import (
    cross_entropy,
    cross_entropy_and_grad,
    cross_entropy_grad,
    nll_loss,
    nll_loss_and_grad,
    nll_loss_grad,
    softmax_cross_entropy_with_logits,
    sparse_softmax_cross_entropy_with_logits,
)
from ._metrics import InvalidParameterError, d2_log_loss_score, log_loss
from ._partial import CrossEntropyState, LogLossState, cross_entropy_partial, log_loss_partial
from ._sklearn import patch_sklearn, sklearn_is_patched, unpatch_sklearn
from ._special import log_softmax, logsumexp, softmax
from ._threads import openmp_enabled

__version__ = "0.1.0"

__all__ = [
    "logsumexp",
    "softmax",
    "log_softmax",
    "cross_entropy",
    "cross_entropy_grad",
    "cross_entropy_and_grad",
    "nll_loss",
    "nll_loss_grad",
    "nll_loss_and_grad",
    "softmax_cross_entropy_with_logits",
    "sparse_softmax_cross_entropy_with_logits",
    "binary_cross_entropy",
    "binary_cross_entropy_grad",
    "binary_cross_entropy_and_grad",
    "binary_cross_entropy_with_logits",
    "binary_cross_entropy_with_logits_grad",
    "binary_cross_entropy_with_logits_and_grad",
    "sigmoid_cross_entropy_with_logits",
    "weighted_cross_entropy_with_logits",
    "log_loss",
    "d2_log_loss_score",
    "log_loss_partial",
    "cross_entropy_partial",
    "LogLossState",
    "CrossEntropyState",
    "InvalidParameterError",
    "patch_sklearn",
    "unpatch_sklearn",
    "sklearn_is_patched",
    "openmp_enabled",
    "show_config",
    "__version__",
]


def __getattr__(name):
    # neg_log_loss_scorer and d2_log_loss_scorer are scikit-learn objects: made on access
    # (a new one each time, as sklearn.metrics.get_scorer does), so that importing xentc
    # does not import scikit-learn.  Not in __all__, for the same reason.
    if name == "dask":  # xentc.dask needs dask, an optional dependency: imported on use
        import importlib

        return importlib.import_module(".dask", __name__)
    from . import _sklearn

    if name in _sklearn.SCORER_ATTRIBUTES:
        return _sklearn.new_scorer(_sklearn.SCORER_ATTRIBUTES[name])
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
