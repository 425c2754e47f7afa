"""Resolution of the public ``n_threads`` argument into an OpenMP team size."""

import numbers
import os

from . import _core

__all__ = ["effective_n_threads", "openmp_enabled"]


def openmp_enabled():
    """Whether xentc was compiled with OpenMP (and ``n_threads`` can use several cores).

    Returns
    -------
    bool

    Examples
    --------
    >>> import xentc
    >>> isinstance(xentc.openmp_enabled(), bool)
    True
    """
    return _core.openmp_enabled()


def _cpu_count():
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        return os.cpu_count() or 1


def effective_n_threads(n_threads=None):
    """The number of threads a call with this ``n_threads`` uses.

    ``None`` gives OpenMP's default team size, which honours ``OMP_NUM_THREADS`` and
    ``threadpoolctl`` limits; ``-1`` all available cores, ``-2`` all but one, and so on;
    ``k >= 1`` exactly ``k``.  ``0`` is an error.  Without OpenMP every call runs on one
    thread (the argument is still validated).
    """
    if n_threads is not None:
        if isinstance(n_threads, bool) or not isinstance(n_threads, numbers.Integral):
            raise TypeError(
                f"n_threads must be None or an int, got {type(n_threads).__name__}"
            )
        n_threads = int(n_threads)
        if n_threads == 0:
            raise ValueError(
                "n_threads=0 is not valid: use None (default), -1 (all cores) or k >= 1"
            )
    if not _core.openmp_enabled():
        return 1
    if n_threads is None:
        return max(1, _core.omp_max_threads())
    if n_threads < 0:
        return max(1, _cpu_count() + 1 + n_threads)
    return n_threads
