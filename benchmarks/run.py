"""Benchmark xentc against the read floor and its peers (SPEC section 4): a checkout's wrapper
of ``python -m xentc bench`` (:mod:`xentc._bench`, which documents the method), with the same
options::

    python benchmarks/run.py                  # full run, SPEC section 4 shapes (several minutes)
    python benchmarks/run.py --quick          # shapes / 10, at most 3 repeats
    python benchmarks/run.py --functions logsumexp --dtypes float64 --threads 2 --json out.json

It needs xentc installed (``pip install .[bench]``).
"""

import os
import sys

# NumPy's OpenBLAS starts a server thread that takes CPU even with no BLAS call; on a 2-core
# machine it competes with the second thread being measured.  No benchmarked function uses
# BLAS: pin it to one thread (before NumPy is imported).
for _var in ("OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

from xentc._bench import main  # noqa: E402

if __name__ == "__main__":
    sys.exit(main())
