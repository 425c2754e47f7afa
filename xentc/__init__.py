"""xentc: fast, exact cross-entropy, log-sum-exp and softmax for NumPy on the CPU.

Public functions mirror their SciPy counterparts (same signatures, results and edge cases)
and add an ``n_threads`` keyword; :mod:`xentc.reference` holds plain SciPy-based reference
implementations to check against.
"""

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
    "InvalidParameterError",
    "openmp_enabled",
    "show_config",
    "__version__",
]
