"""Reference implementations of xentc's functions on plain NumPy / scipy.special, in float64.

They are what xentc's test-suite checks against, and they are here for users to do the same:
slow, simple, and independent of xentc's kernels.  Inputs are converted to float64 (the
results are float64); semantics are those of the functions they mirror.  SciPy is imported
when a function is first called.

Examples
--------
>>> import numpy as np
>>> import xentc, xentc.reference
>>> x = np.random.default_rng(0).normal(size=(4, 5))
>>> np.allclose(xentc.logsumexp(x, axis=1), xentc.reference.logsumexp(x, axis=1))
True
"""

import numpy as np

__all__ = ["logsumexp", "softmax", "log_softmax"]


def _special():
    try:
        import scipy.special
    except ImportError as exc:  # pragma: no cover - scipy is a test dependency
        raise ImportError("xentc.reference needs SciPy: pip install scipy") from exc
    return scipy.special


def _f64(x):
    return None if x is None else np.asarray(x, dtype=np.float64)


def logsumexp(a, axis=None, b=None, keepdims=False, return_sign=False):
    """:func:`scipy.special.logsumexp` on float64 copies of the inputs."""
    return _special().logsumexp(_f64(a), axis=axis, b=_f64(b), keepdims=keepdims,
                                return_sign=return_sign)


def softmax(x, axis=None):
    """:func:`scipy.special.softmax` on a float64 copy of the input."""
    return _special().softmax(_f64(x), axis=axis)


def log_softmax(x, axis=None):
    """:func:`scipy.special.log_softmax` on a float64 copy of the input."""
    return _special().log_softmax(_f64(x), axis=axis)
