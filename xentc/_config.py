"""Build and run-time configuration: which kernels are compiled, which run, how many threads."""

import os
import platform
import sys

import numpy as np

from . import _core
from ._threads import effective_n_threads

__all__ = ["show_config"]


def _config_dict():
    from . import __version__

    return {
        "xentc": __version__,
        "python": platform.python_version(),
        "numpy": np.__version__,
        "machine": platform.machine(),
        "kernels": {
            "compiled": list(_core.compiled_levels()),
            "in_use": _core.cpu_level(),
            "best_supported": _core.cpu_max_level(),
            "XENTC_CPU_LEVEL": os.environ.get("XENTC_CPU_LEVEL"),
        },
        "openmp": {
            "enabled": _core.openmp_enabled(),
            "default_n_threads": effective_n_threads(None),
            "OMP_NUM_THREADS": os.environ.get("OMP_NUM_THREADS"),
        },
        "compiler": _core.compiler_version(),
    }


def show_config(mode="stdout"):
    """Show how xentc was built and which kernels and thread count it uses.

    Parameters
    ----------
    mode : {'stdout', 'dicts'}, optional
        Print a summary (default) or return it as a dict.

    Returns
    -------
    dict or None

    Examples
    --------
    >>> import xentc
    >>> info = xentc.show_config(mode="dicts")
    >>> info["kernels"]["in_use"] in ("baseline", "avx2", "avx512")
    True
    """
    info = _config_dict()
    if mode == "dicts":
        return info
    if mode != "stdout":
        raise ValueError(f"mode must be 'stdout' or 'dicts', got {mode!r}")
    k, omp = info["kernels"], info["openmp"]
    lines = [
        f"xentc {info['xentc']} (python {info['python']}, numpy {info['numpy']}, "
        f"{info['machine']})",
        f"  compiler:        {info['compiler']}",
        f"  kernels built:   {', '.join(k['compiled'])}",
        f"  kernels in use:  {k['in_use']} (best this CPU supports: {k['best_supported']}"
        + (f"; XENTC_CPU_LEVEL={k['XENTC_CPU_LEVEL']}" if k["XENTC_CPU_LEVEL"] else "")
        + ")",
        f"  OpenMP:          {'enabled' if omp['enabled'] else 'DISABLED (single thread)'}",
        f"  default threads: {omp['default_n_threads']}"
        + (f" (OMP_NUM_THREADS={omp['OMP_NUM_THREADS']})" if omp["OMP_NUM_THREADS"] else ""),
    ]
    print("\n".join(lines), file=sys.stdout)
    return None
