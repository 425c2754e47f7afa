"""xentc: fast, exact cross-entropy, log-sum-exp and softmax for NumPy on the CPU.

Public functions mirror their SciPy counterparts (same signatures, results and edge cases)
and add an ``n_threads`` keyword; :mod:`xentc.reference` holds plain SciPy-based reference
implementations to check against.
"""

from ._config import show_config
from ._special import log_softmax, logsumexp, softmax
from ._threads import openmp_enabled

__version__ = "0.1.0"

__all__ = [
    "logsumexp",
    "softmax",
    "log_softmax",
    "openmp_enabled",
    "show_config",
    "__version__",
]
