"""Benchmark xentc's larger-than-memory ``log_loss`` against Dask and the naive in-memory route.

A float64 probability file ``y_proba.npy`` of shape (N, C) and its int64 labels ``y_true.npy``
are written block by block (never whole in memory), then each method is timed, best of
``--repeat``, in its own fresh child process, so that its peak memory is its own:

* ``xentc streaming (memmap)``: ``xentc.log_loss`` of the two files opened with
  ``np.load(..., mmap_mode="r")``, read in row blocks of about 16 MiB (``progress=False``);
* ``xentc.dask LocalCluster``: ``xentc.dask.log_loss`` on a ``LocalCluster`` of ``--workers``
  processes of one thread each (cluster start-up is timed apart), chunks of ``--chunk-mb``;
* ``naive``: ``np.load`` of the whole files, then ``sklearn.metrics.log_loss``, which makes a
  dense one-hot N×C float64 temporary (skipped where it would not fit in memory).

Memory is the peak RSS (``VmHWM`` of ``/proc/self/status``, since the child started: file
pages mapped by a memmap count in it; not ``ru_maxrss``, which a child inherits from its
parent's peak across fork and exec) and the peak anonymous memory (``RssAnon``, sampled
every 20 ms over the timed calls, less its value before them: mapped file pages do not
count).  For Dask it is the client's (which also runs the scheduler) plus its workers'.

The Dask arrays are made by ``xentc.dask.from_npy``: each task memory-maps the file and
slices its own rows (in recent dask, ``da.from_array`` of a memmap first copies the whole
array into memory, dask/dask#11850, and ships it to the workers in the graph).

Run it (with xentc installed; the children run in the data directory, so the source tree
does not shadow the installed package)::

    python benchmarks/out_of_core.py                 # 1.6 GB of probabilities
    python benchmarks/out_of_core.py --gb 8 --skip-naive --json out.json
    python benchmarks/out_of_core.py --quick --repeat 1
"""

import argparse
import importlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time

import numpy as np

SEED = 20240611
STREAMING, DASK, NAIVE = ("xentc streaming (memmap)", "xentc.dask LocalCluster",
                          "naive: np.load + sklearn.metrics.log_loss")


# --------------------------------------------------------------------------------------------
# Data
# --------------------------------------------------------------------------------------------

def write_data(directory, n, c, block_rows=1 << 18):
    """Write ``y_proba.npy`` (softmax of standard normals, float64 (n, c)) and ``y_true.npy``
    (int64 labels in [0, c)) block by block; return the seconds taken."""
    rng = np.random.default_rng(SEED)
    start = time.perf_counter()
    proba = np.lib.format.open_memmap(os.path.join(directory, "y_proba.npy"), mode="w+",
                                      dtype=np.float64, shape=(n, c))
    true = np.lib.format.open_memmap(os.path.join(directory, "y_true.npy"), mode="w+",
                                     dtype=np.int64, shape=(n,))
    for r0 in range(0, n, block_rows):
        r1 = min(r0 + block_rows, n)
        e = np.exp(rng.standard_normal((r1 - r0, c)))
        proba[r0:r1] = e / e.sum(axis=1, keepdims=True)
        true[r0:r1] = rng.integers(0, c, size=r1 - r0)
    proba.flush()
    true.flush()
    del proba, true
    return time.perf_counter() - start


# --------------------------------------------------------------------------------------------
# Child process: one method, timed and measured
# --------------------------------------------------------------------------------------------

def _status_kib(pid, field):
    """A field of ``/proc/<pid>/status`` in KiB (``pid`` may be ``"self"``)."""
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    raise KeyError(field)


class AnonSampler(threading.Thread):
    """The peak ``RssAnon`` (KiB) of processes, sampled every ``interval`` seconds while in a
    ``with`` block; ``baseline`` holds the values at its start."""

    def __init__(self, pids, interval=0.02):
        super().__init__(daemon=True)
        self.pids, self.interval = list(pids), interval
        self.baseline = {pid: _status_kib(pid, "RssAnon") for pid in self.pids}
        self.peak = dict(self.baseline)
        self._done = threading.Event()

    def sample(self):
        for pid in self.pids:
            self.peak[pid] = max(self.peak[pid], _status_kib(pid, "RssAnon"))

    def run(self):
        while not self._done.wait(self.interval):
            self.sample()

    def __enter__(self):
        self.start()
        return self

    def __exit__(self, *exc):
        self._done.set()
        self.join()
        self.sample()


def _timed(call, repeat, pids=()):
    """Best-of-``repeat`` timing of ``call()``, with this process's and ``pids``' peak
    anonymous memory over the calls."""
    times = []
    with AnonSampler(["self", *pids]) as sampler:
        for _ in range(repeat):
            start = time.perf_counter()
            loss = call()
            times.append(time.perf_counter() - start)
    rise = {pid: (sampler.peak[pid] - sampler.baseline[pid]) / 1024 for pid in sampler.pids}
    return {"loss": float(loss), "time_s": min(times), "times_s": times,
            "peak_rss_mib": _status_kib("self", "VmHWM") / 1024,
            "anon_baseline_mib": sampler.baseline["self"] / 1024,
            "peak_anon_mib": rise["self"], "workers_peak_anon_mib": [rise[p] for p in pids]}


def time_streaming(opts):
    """xentc.log_loss of the memory-mapped files of the current directory."""
    import xentc

    y, p = np.load("y_true.npy", mmap_mode="r"), np.load("y_proba.npy", mmap_mode="r")
    return _timed(lambda: xentc.log_loss(y, p, progress=False), opts["repeat"])


def time_dask(opts):
    """xentc.dask.log_loss of the files of the current directory on a LocalCluster."""
    from dask.distributed import Client, LocalCluster

    import xentc.dask

    start = time.perf_counter()
    with LocalCluster(n_workers=opts["workers"], threads_per_worker=1, processes=True,
                      dashboard_address=None) as cluster, Client(cluster) as client:
        startup = time.perf_counter() - start
        pids = list(client.run(os.getpid).values())
        client.run(importlib.import_module, "xentc.dask")  # not in the workers' memory peak
        rows = max(1, int(opts["chunk_mb"] * 1e6) // (8 * opts["classes"]))
        dy = xentc.dask.from_npy("y_true.npy", rows)
        dp = xentc.dask.from_npy("y_proba.npy", rows)
        result = _timed(lambda: xentc.dask.log_loss(dy, dp), opts["repeat"], pids)
        workers_rss = [_status_kib(pid, "VmHWM") / 1024 for pid in pids]
    result.update(startup_s=startup, chunk_rows=rows, n_chunks=dp.numblocks[0],
                  workers_peak_rss_mib=workers_rss)
    return result


def time_naive(opts):
    """np.load of the whole files of the current directory, then sklearn's log_loss."""
    import sklearn.metrics

    loads = []

    def call():
        start = time.perf_counter()
        y, p = np.load("y_true.npy"), np.load("y_proba.npy")
        loads.append(time.perf_counter() - start)
        return sklearn.metrics.log_loss(y, p)

    result = _timed(call, opts["repeat"])
    result["load_s"] = loads[result["times_s"].index(result["time_s"])]
    return result


METHODS = {STREAMING: time_streaming, DASK: time_dask, NAIVE: time_naive}


# --------------------------------------------------------------------------------------------
# Parent: data, children, report
# --------------------------------------------------------------------------------------------

def mem_available():
    """``MemAvailable`` of ``/proc/meminfo``, in bytes."""
    with open("/proc/meminfo") as f:
        return next(int(line.split()[1]) * 1024 for line in f
                    if line.startswith("MemAvailable:"))


def run_child(method, directory, opts):
    """Run ``method`` in a fresh Python process in ``directory``; its result dict."""
    env = dict(os.environ)
    for var in ("OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):  # no BLAS here: no BLAS thread
        env.setdefault(var, "1")
    proc = subprocess.run([sys.executable, os.path.abspath(__file__), "--child", method,
                           json.dumps(opts)], cwd=directory, env=env, capture_output=True,
                          text=True)
    if proc.returncode:
        raise RuntimeError(f"{method} failed (exit {proc.returncode}):\n{proc.stderr}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def _memory_cells(r):
    """The table's peak RSS and peak anonymous memory cells of a result."""
    if "workers_peak_rss_mib" not in r:
        return f"{r['peak_rss_mib']:.0f}", f"{r['peak_anon_mib']:.0f}"
    workers = r["workers_peak_anon_mib"]
    return (f"{r['peak_rss_mib']:.0f} + workers {sum(r['workers_peak_rss_mib']):.0f}",
            f"{r['peak_anon_mib']:.0f} + workers {sum(workers):.0f} "
            f"(max {max(workers):.0f})")


def report(results, meta):
    """Print the agreement check, the Markdown table and its legend."""
    losses = {m: r["loss"] for m, r in results.items() if "loss" in r}
    ref = losses[STREAMING]
    worst = max(abs(v - ref) / abs(ref) for v in losses.values())
    meta["agree"] = worst <= 1e-9
    print(f"\nloss agreement: max relative difference {worst:.1e} "
          f"({'OK' if meta['agree'] else 'FAILED'}, tolerance 1e-9)\n")
    print(f"| method | time (s, best of {meta['repeat']}) | × xentc streaming "
          "| peak RSS (MiB) | peak anonymous (MiB) | loss |")
    print("|---|---:|---:|---:|---:|---:|")
    base = results[STREAMING]["time_s"]
    for method, r in results.items():
        if "skipped" in r:
            print(f"| {method} | {r['skipped']} | | | | |")
            continue
        rss, anon = _memory_cells(r)
        extra = (f" (load {r['load_s']:.2f})" if "load_s" in r else
                 f" (+ {r['startup_s']:.1f} start-up)" if "startup_s" in r else "")
        print(f"| {method} | {r['time_s']:.3f}{extra} | {r['time_s'] / base:.2f} | {rss} "
              f"| {anon} | {r['loss']:.15g} |")
    print(f"\nN = {meta['n']:,}, C = {meta['classes']}, y_proba.npy {meta['file_gb']:.2f} GB "
          f"(float64), {meta['cpu_count']} cores, Dask: {meta['workers']} workers × 1 thread, "
          f"{meta['chunk_mb']:g} MB chunks, each task memory-mapping its own rows; its memory "
          "is the client's (with the scheduler) + its workers'.  Peak RSS (VmHWM) counts the "
          "file pages mapped by a memmap; peak anonymous memory (RssAnon, sampled every 20 ms, "
          "less its value before the timed calls) does not.  The first run of each method may "
          "read from disk, the later ones from the page cache: best-of-N measures the cached "
          "case.")


def main(argv=None):
    """Run the benchmark (or, with the internal ``--child METHOD OPTS``, one method of it in
    this process); the exit status: 1 where the methods' losses disagree."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--dir", help="data directory (default: a temporary one in /tmp, "
                        "removed at the end unless --keep); a given one is kept")
    parser.add_argument("--gb", type=float, default=1.6, help="size of y_proba.npy in 1e9 B")
    parser.add_argument("--classes", type=int, default=10)
    parser.add_argument("--chunk-mb", type=float, default=64, help="Dask chunk size (MB)")
    parser.add_argument("--workers", type=int, default=2, help="LocalCluster processes")
    parser.add_argument("--repeat", type=int, default=3, help="best of N")
    parser.add_argument("--skip-naive", action="store_true")
    parser.add_argument("--quick", action="store_true", help="smoke run: --gb 0.2")
    parser.add_argument("--keep", action="store_true", help="keep the temporary directory")
    parser.add_argument("--json", metavar="PATH", help="also write the results there")
    parser.add_argument("--child", nargs=2, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        print(json.dumps(METHODS[args.child[0]](json.loads(args.child[1]))))
        return 0

    gb = 0.2 if args.quick else args.gb
    n = int(gb * 1e9) // (8 * args.classes)
    directory = args.dir or tempfile.mkdtemp(prefix="xentc-out-of-core-", dir="/tmp")
    os.makedirs(directory, exist_ok=True)
    opts = {"repeat": args.repeat, "workers": args.workers, "chunk_mb": args.chunk_mb,
            "classes": args.classes}
    meta = dict(opts, n=n, file_gb=n * args.classes * 8 / 1e9, cpu_count=os.cpu_count(),
                directory=directory)
    try:
        print(f"writing {meta['file_gb']:.2f} GB to {directory} ...", flush=True)
        meta["write_s"] = write_data(directory, n, args.classes)
        print(f"written in {meta['write_s']:.1f} s (not a benchmark number)")
        need, avail = 6 * meta["file_gb"] * 1e9, mem_available()
        skip = "--skip-naive" if args.skip_naive else None
        if need > 0.8 * avail:
            skip = skip or f"would need {need / 1e9:.1f} GB, available {avail / 1e9:.1f} GB"
        results = {}
        for method in METHODS:
            if method == NAIVE and skip:
                results[method] = {"skipped": f"skipped: {skip}"}
                continue
            print(f"running {method} ...", flush=True)
            results[method] = run_child(method, directory, opts)
        report(results, meta)
    finally:
        if not (args.dir or args.keep):
            shutil.rmtree(directory, ignore_errors=True)
    out = {"meta": meta, "results": results}
    print("\n" + json.dumps(out, indent=2))
    if args.json:
        with open(args.json, "w") as f:
            json.dump(out, f, indent=2)
    return 0 if meta["agree"] else 1


if __name__ == "__main__":
    sys.exit(main())
