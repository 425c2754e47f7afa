"""Benchmark xentc against the read floor and its peers (SPEC section 4).

``python -m xentc bench`` (or ``xentc bench``; ``python benchmarks/run.py`` in a checkout)::

    xentc bench                  # full run, SPEC section 4 shapes (several minutes)
    xentc bench --quick          # shapes / 10, at most 3 repeats
    xentc bench --functions logsumexp --dtypes float64 --threads 2 --json out.json
    xentc bench --quick --plot speedup.png      # bar chart of the speed-ups (matplotlib)

Options: ``--functions``, ``--shapes`` (``NxC`` items), ``--dtypes``, ``--threads`` (xentc
``n_threads`` values), ``--torch-threads`` (default 2), ``--repeat N`` (fixed repeat count),
``--json PATH`` (write every measurement plus machine information), ``--plot PATH`` (a PNG
bar chart of xentc's speed-up over each peer; needs matplotlib, ``pip install xentc[plot]``).
Progress (``[i/n] function shape dtype``) goes to stderr; the table to stdout.

Method (SPEC section 4, docs/performance.md "Machine, method, noise"): for each function,
shape and dtype one C-contiguous array ``X = 3 * randn(shape)`` (seed 42, float32 drawn as
float32) is built, and in this one process, on that same array, we time the single-thread
read floor (``xentc._core.read_floor``), xentc at each ``n_threads`` and every importable peer
(``scipy.special``, single-threaded; torch with ``torch.set_num_threads(2)``). Each timing is
one warm-up call, then the best of N calls (``time.perf_counter``); by default N grows until
about 1 s a timing is spent (at least 3, at most 15 calls). The floor and xentc's rows are
timed in turn, one call of each per round, so that a burst of load on the shared machine
falls on them alike (a ×floor ratio is then not decided by whose turn the burst fell in);
each peer is timed on its own after them. ``×floor`` is time / (1-thread read floor
of the input), also for 2-thread timings and for kernels that write an output. Before timing,
xentc's result must match scipy's (``np.allclose``, rtol 1e-12 for float64, 1e-5 for
float32); an entry that does not is reported loudly, skipped, and makes the exit status 1.
The losses: ``cross_entropy`` (class indices, mean) against ``torch.nn.functional.cross_entropy``;
``cross_entropy_and_grad`` against torch forward + backward and scikit-learn's private
``HalfMultinomialLoss().loss_gradient(..., n_threads=2)`` (per-sample loss and gradient into
preallocated arrays, as docs/performance.md measured it); ``binary_cross_entropy_with_logits``
(mean, 10_000_000 elements, floor = reading X and T) against torch and
``HalfBinomialLoss().loss(..., n_threads=2).mean()``.  Loss results are checked against torch
(or ``xentc.reference`` without torch) before timing.
``log_loss`` (integer labels; ``log_loss_w`` with sample weights) and ``log_loss_str``
(string labels) score the probabilities
``softmax(X)`` (and, as an extra shape, 10_000_000 binary probabilities ``expit(x)`` as a 1-D
array) with ``labels=`` all the classes, against ``sklearn.metrics.log_loss`` on the same
arguments (checked to agree first: rtol 1e-12 for float64, 1e-6 for float32); besides the
time, the peak memory the call allocates (``tracemalloc``, which sees NumPy's allocations)
is measured once for xentc (2 threads) and scikit-learn; floor = reading the probabilities.
For softmax / log_softmax and cross_entropy_and_grad, ``xentc thr=K out`` rows time the same
call writing into a preallocated array (``out=``, ``grad_out=``): a fresh N x C result costs
the OS page zeroing on top of the kernel (about 3x the read floor at 100000x1000), which
every allocating peer pays too (scikit-learn's loss is given its ``gradient_out``).
NumPy's BLAS is pinned to one thread (no benchmarked function uses BLAS): by
``OPENBLAS_NUM_THREADS=1`` where NumPy is not imported yet (``benchmarks/run.py``), else with
threadpoolctl when it is installed.
The machine is shared and noisy: treat differences under about 10% as noise.
"""

import argparse
import contextlib
import importlib
import json
import os
import platform
import sys
import time
from collections import namedtuple

import numpy as np

import xentc
import xentc.reference

from . import _bench_inputs as common

SHAPES = ("1000000x10", "100000x1000", "2000x32000", "10000000x2")
BINARY_SHAPES = ("10000000",)
METRIC_EXTRA_SHAPES = ("10000000",)  # binary probabilities, 1-D
DTYPES = ("float64", "float32")
THREADS = (1, 2)
TORCH_THREADS = 2
QUICK_SHRINK = 10
QUICK_MAX_REPEAT = 3
BUDGET_S = 1.0
MIN_REPEAT = 3
MAX_REPEAT = 15
RTOL = {"float64": 1e-12, "float32": 1e-5}
TARGET_THREADS = 2
# SPEC section 4, n_threads=2: max ×floor at C >= 1000, C = 10, C = 2
FLOOR_TARGETS = {
    "logsumexp": (1.3, 2.0, 3.0),
    "softmax": (2.0, 3.0, 5.0),
    "log_softmax": (2.0, 3.0, 5.0),
    "cross_entropy": (1.5, 2.5, 4.5),
    "cross_entropy_and_grad": (2.0, 3.5, 6.0),
    "binary_cross_entropy_with_logits": (2.0, 2.0, 2.0),
    "log_loss": (1.0, 1.5, 4.5),
    "log_loss_str": (1.0, 1.5, 4.5),
}  # log_loss_w: none (SPEC's are for the unweighted call; weights are 8 more bytes a row)
# SPEC section 4: minimum speed-up of xentc (2 threads) over a peer
PEER_TARGETS = {
    "logsumexp": {"scipy": 20.0, "torch thr=2": 9.0},
    "cross_entropy": {"torch thr=2": 8.0},
    "cross_entropy_and_grad": {"sklearn thr=2": 5.0, "torch thr=2": 12.0},
    "binary_cross_entropy_with_logits": {"torch thr=2": 10.0},
    "log_loss": {"sklearn": 25.0},
    "log_loss_w": {"sklearn": 25.0},
    "log_loss_str": {"sklearn": 25.0},
}
# SPEC section 4: log_loss allocates at least this many times less memory than scikit-learn's
MEMORY_TARGET = 10.0

Impl = namedtuple("Impl", "label n_threads prepare")


def csv(kind, choices=None):
    """argparse type: comma-separated list of ``kind`` (each one of ``choices``, if given)."""
    def parse(text):
        try:
            items = [kind(item) for item in text.split(",") if item]
        except ValueError as exc:
            raise argparse.ArgumentTypeError(f"{text!r}: {exc}") from None
        bad = [item for item in items if choices is not None and item not in choices]
        if bad:
            raise argparse.ArgumentTypeError(
                f"unknown {', '.join(map(str, bad))} (choose from {', '.join(choices)})")
        if not items:
            raise argparse.ArgumentTypeError("empty list")
        return items
    return parse


def shape_item(text):
    """argparse item type: ``NxC`` (or ``N``) with positive sizes."""
    shape = common.parse_shape(text)
    if not all(n > 0 for n in shape):
        raise ValueError("sizes must be positive")
    return shape


def positive_int(text):
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"{text!r} is not a positive integer")
    return value


def add_arguments(parser):
    """The options of ``xentc bench`` and ``benchmarks/run.py``, added to ``parser``."""
    parser.add_argument("--quick", action="store_true",
                        help=f"divide the rows of every shape by {QUICK_SHRINK}; "
                        f"at most {QUICK_MAX_REPEAT} repeats")
    parser.add_argument("--functions", type=csv(str, common.FUNCTIONS),
                        default=list(common.FUNCTIONS), metavar="F,F",
                        help=f"functions to time (default all: {', '.join(common.FUNCTIONS)})")
    parser.add_argument("--shapes", type=csv(shape_item), default=None, metavar="NxC,NxC",
                        help="NxC items (binary losses use N*C elements); default: SPEC §4")
    parser.add_argument("--dtypes", type=csv(str, DTYPES), default=list(DTYPES),
                        metavar="D,D", help="float64 and/or float32 (default both)")
    parser.add_argument("--threads", type=csv(positive_int), default=list(THREADS),
                        metavar="K,K", help="xentc n_threads values (default 1,2)")
    parser.add_argument("--torch-threads", type=positive_int, default=TORCH_THREADS,
                        metavar="K", help=f"torch's threads (default {TORCH_THREADS})")
    parser.add_argument("--repeat", type=positive_int, default=None, metavar="N",
                        help="fixed number of timed calls (default: about 1 s per timing)")
    parser.add_argument("--json", metavar="PATH", default=None,
                        help="write every measurement and the machine information to PATH")
    parser.add_argument("--plot", metavar="PATH", default=None,
                        help="write a PNG bar chart of xentc's speed-up over each peer to "
                        "PATH (needs matplotlib)")
    return parser


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    return add_arguments(parser).parse_args(argv)


def shapes_for(name, args):
    """The shapes benchmarked for ``name``: ``--shapes`` or SPEC §4's, shrunk by --quick."""
    binary = name in common.BINARY_FUNCTIONS
    if args.shapes is not None:
        shapes = [(int(np.prod(s)),) if binary else s for s in args.shapes]
    else:
        names = BINARY_SHAPES if binary else SHAPES
        if name in common.METRIC_FUNCTIONS:
            names = SHAPES + METRIC_EXTRA_SHAPES
        shapes = [common.parse_shape(s) for s in names]
    if args.quick:
        shapes = [(max(1, s[0] // QUICK_SHRINK),) + tuple(s[1:]) for s in shapes]
    return shapes


def make_inputs(name, shape, dtype):
    """The arrays one entry is timed on: ``(X,)``, ``(X, y)`` or ``(X, T)``."""
    if name in common.BINARY_FUNCTIONS:
        return common.make_binary(shape[0], dtype)
    if name in common.METRIC_FUNCTIONS:
        y, p, labels = common.make_log_loss(shape, dtype, string_labels=name == "log_loss_str")
        w = common.make_sample_weight(shape[0]) if name == "log_loss_w" else None
        return y, p, labels, w
    x = common.make_array(shape, dtype)
    if name in common.LOSS_FUNCTIONS:
        return x, common.make_targets(shape, shape[1])
    return (x,)


def xentc_call(name, n_threads):
    """``inputs -> xentc result`` for ``name`` with ``n_threads``."""
    if name in common.SPECIAL_FUNCTIONS:
        f = common.xentc_func(name, n_threads)
        return lambda inputs: f(inputs[0])
    if name in common.METRIC_FUNCTIONS:
        return lambda inputs: xentc.log_loss(inputs[0], inputs[1], labels=inputs[2],
                                             sample_weight=inputs[3], n_threads=n_threads)
    func = getattr(xentc, name)
    return lambda inputs: func(*inputs, n_threads=n_threads)


def time_best(call, repeat=None, max_repeat=MAX_REPEAT):
    """One warm-up ``call()``, then best wall time in ms and the number of timed calls.

    With ``repeat`` the call is timed exactly ``min(repeat, max_repeat)`` times; otherwise
    until ``BUDGET_S`` has been spent (at least ``MIN_REPEAT``, at most ``max_repeat`` calls).
    """
    return time_interleaved([call], repeat, max_repeat)[0]


def time_interleaved(calls, repeat=None, max_repeat=MAX_REPEAT):
    """:func:`time_best` for several calls timed in turn, one call of each per round, so that
    a burst of load on the shared machine falls on all of them alike rather than on the
    one whose turn it was: ``[(best ms, timed calls), ...]`` in the order of ``calls``.
    The budget is ``BUDGET_S`` a call."""
    for call in calls:
        call()
    times, start = [[] for _ in calls], time.perf_counter()
    while True:
        for call, ts in zip(calls, times):
            t0 = time.perf_counter()
            call()
            ts.append(time.perf_counter() - t0)
        n = len(times[0])
        if repeat is not None:
            done = n >= min(repeat, max_repeat)
        else:
            spent = time.perf_counter() - start
            done = n >= max_repeat or (n >= MIN_REPEAT and spent >= BUDGET_S * len(calls))
        if done:
            return [(1e3 * min(ts), n) for ts in times]


def torch_impl(name, n_threads):
    """Peer: the torch counterpart of ``name`` on the same arrays, ``n_threads`` threads."""
    import torch
    import torch.nn.functional as F

    def prepare(inputs):
        torch.set_num_threads(n_threads)
        ts = [torch.from_numpy(a) for a in inputs]
        if name in common.SPECIAL_FUNCTIONS:
            func = getattr(torch, name)
            return lambda: func(ts[0], dim=1)
        if name == "cross_entropy":
            return lambda: F.cross_entropy(*ts)
        if name == "binary_cross_entropy_with_logits":
            return lambda: F.binary_cross_entropy_with_logits(*ts)
        leaf = ts[0].clone().requires_grad_(True)

        def forward_backward():
            leaf.grad = None
            F.cross_entropy(leaf, ts[1]).backward()
            return leaf.grad

        return forward_backward

    return Impl(f"torch thr={n_threads}", n_threads, prepare)


def sklearn_impl(name, n_threads):
    """Peer: scikit-learn's private ``_loss`` objects (per-sample results, preallocated)."""
    from sklearn._loss.loss import HalfBinomialLoss, HalfMultinomialLoss

    def prepare(inputs):
        x, y = inputs
        y_float = y.astype(x.dtype)
        loss_out = np.empty(x.shape[0], dtype=x.dtype)
        if name == "binary_cross_entropy_with_logits":
            loss = HalfBinomialLoss()
            return lambda: loss.loss(y_float, x, loss_out=loss_out, n_threads=n_threads).mean()
        loss = HalfMultinomialLoss(n_classes=x.shape[1])
        grad_out = np.empty_like(x)
        return lambda: loss.loss_gradient(y_float, x, loss_out=loss_out,
                                          gradient_out=grad_out, n_threads=n_threads)

    return Impl(f"sklearn thr={n_threads}", n_threads, prepare)


def sklearn_log_loss_impl():
    """Peer: ``sklearn.metrics.log_loss`` (single-threaded) on the same arguments."""
    from sklearn.metrics import log_loss

    def prepare(inputs):
        y, p, labels, w = inputs
        return lambda: log_loss(y, p, labels=labels, sample_weight=w)

    return Impl("sklearn", 1, prepare)


def peer_impls(name, torch_threads, notes):
    """The importable peers of ``name``; a note is added for each one that is skipped."""
    impls = []
    if name in common.METRIC_FUNCTIONS:
        try:
            impls.append(sklearn_log_loss_impl())
        except ImportError as exc:
            notes.add(f"scikit-learn peer skipped (log_loss checked against "
                      f"xentc.reference instead): {exc}")
        return impls
    if name in common.SPECIAL_FUNCTIONS:
        try:
            scipy_func = common.scipy_func(name)
            impls.append(Impl("scipy", 1, lambda inputs: lambda: scipy_func(inputs[0])))
        except ImportError as exc:
            notes.add(f"scipy peer and the check of xentc against it skipped: {exc}")
    try:
        impls.append(torch_impl(name, torch_threads))
    except ImportError as exc:
        notes.add(f"torch peer skipped: {exc}")
    if name in ("cross_entropy_and_grad", "binary_cross_entropy_with_logits"):
        try:
            impls.append(sklearn_impl(name, TARGET_THREADS))
        except ImportError as exc:
            notes.add(f"scikit-learn peer skipped: {exc}")
    return impls


def out_impl(name, n_threads):
    """xentc writing into a preallocated output (softmax / log_softmax ``out=``, the
    gradient's ``grad_out=``)."""
    def prepare(inputs):
        out = np.empty_like(inputs[0])
        if name in common.SPECIAL_FUNCTIONS:
            func = common.xentc_func(name, n_threads)
            return lambda: func(inputs[0], out=out)
        func = getattr(xentc, name)
        return lambda: func(*inputs, grad_out=out, n_threads=n_threads)

    return Impl(f"xentc thr={n_threads} out", n_threads, prepare)


def all_impls(name, threads, peers):
    """Floor, xentc at each thread count (and with out=), then the peers, in timing order."""
    def floor(inputs):
        if name in common.BINARY_FUNCTIONS:  # reading X and T
            return lambda: (common.read_floor(inputs[0]), common.read_floor(inputs[1]))
        if name in common.METRIC_FUNCTIONS:  # reading the probabilities
            return lambda: common.read_floor(inputs[1])
        return lambda: common.read_floor(inputs[0])

    floor = Impl("floor", 1, floor)
    ours = [Impl(f"xentc thr={k}", k, lambda inputs, f=xentc_call(name, k): lambda: f(inputs))
            for k in threads]
    if name in common.OUT_FUNCTIONS:
        ours += [out_impl(name, k) for k in threads]
    return [floor, *ours, *peers]


def check_loss(name, inputs, threads):
    """Error message if xentc's loss (and gradient) disagree with torch's, or with
    xentc.reference's without torch; None if they agree or there is nothing to check with."""
    try:
        import torch
        import torch.nn.functional as F

        ts = [torch.from_numpy(a) for a in inputs]
        leaf = ts[0].clone().requires_grad_(True)
        func = F.binary_cross_entropy_with_logits if name in common.BINARY_FUNCTIONS else \
            F.cross_entropy
        value = func(leaf, *ts[1:])
        value.backward()
        expected = [value.item(), leaf.grad.numpy()]
        source = "torch"
    except ImportError:
        ref = getattr(xentc.reference, name.replace("_and_grad", ""), None)
        if ref is None:
            return None
        expected = [ref(*inputs)]
        source = "xentc.reference"
    rtol = RTOL[inputs[0].dtype.name]
    for k in threads:
        got = xentc_call(name, k)(inputs)
        got = list(got) if name.endswith("_and_grad") else [got]
        for g, e in zip(got, expected):
            atol = rtol * float(np.max(np.abs(e))) if np.size(e) else 0.0
            if not np.allclose(g, e, rtol=rtol, atol=atol):
                return (f"xentc.{name} n_threads={k} disagrees with {source} (rtol={rtol}): "
                        f"max abs diff {np.max(np.abs(np.asarray(g, np.float64) - e)):.3g}")
    return None


def check_log_loss(inputs, threads):
    """Error message if xentc.log_loss disagrees with scikit-learn's (or, without it, with
    xentc.reference's) on ``inputs``; None if they agree."""
    y, p, labels, w = inputs
    try:
        from sklearn.metrics import log_loss as expected_func
        source, rtol = "sklearn", {"float64": 1e-12, "float32": 1e-6}[p.dtype.name]
    except ImportError:
        expected_func = xentc.reference.log_loss
        source, rtol = "xentc.reference", 1e-12
    expected = expected_func(y, p, labels=labels, sample_weight=w)
    for k in threads:
        got = xentc.log_loss(y, p, labels=labels, sample_weight=w, n_threads=k)
        if not abs(got - expected) <= rtol * abs(expected):
            return (f"xentc.log_loss n_threads={k} = {got!r} disagrees with {source}'s "
                    f"{expected!r} (rtol={rtol})")
    return None


def peak_memory_mib(call):
    """Peak memory (MiB) that one ``call()`` allocates, as tracemalloc sees it."""
    import tracemalloc

    tracemalloc.start()
    try:
        tracemalloc.reset_peak()
        base = tracemalloc.get_traced_memory()[0]
        call()
        return (tracemalloc.get_traced_memory()[1] - base) / 2**20
    finally:
        tracemalloc.stop()


def check_against_scipy(name, x, threads):
    """Error message if xentc disagrees with scipy.special on ``x``, else None.

    ``atol = rtol``: the default ``atol=1e-8`` is too loose for float64 and, for float32, below
    scipy's own cancellation error on results near 0 (``log_softmax``, ``logsumexp`` at C=2).
    """
    try:
        expected = common.scipy_func(name)(x)
    except ImportError:
        return None
    rtol = RTOL[x.dtype.name]
    for k in threads:
        got = common.xentc_func(name, k)(x)
        if got.shape != expected.shape or not np.allclose(got, expected, rtol=rtol, atol=rtol):
            err = np.abs(got.astype(np.float64) - expected)
            worst = tuple(int(i) for i in np.unravel_index(np.argmax(err), err.shape))
            return (f"xentc.{name} n_threads={k} disagrees with scipy (rtol=atol={rtol}): "
                    f"max abs diff {err[worst]:.3g} at {worst}: {float(got[worst])!r} vs "
                    f"{float(expected[worst])!r}")
    return None


def run_entry(name, shape, dtype, impls, args):
    """Time every implementation on one array: ``(records, None)``, or ``([], mismatch)``
    when xentc disagrees with a peer (nothing is timed then)."""
    inputs = make_inputs(name, shape, dtype)
    if name in common.SPECIAL_FUNCTIONS:
        error = check_against_scipy(name, inputs[0], args.threads)
    elif name in common.METRIC_FUNCTIONS:
        error = check_log_loss(inputs, args.threads)
    else:
        error = check_loss(name, inputs, args.threads)
    if error:
        return [], f"{name} {common.format_shape(shape)} {dtype}: {error}"
    max_repeat = QUICK_MAX_REPEAT if args.quick else MAX_REPEAT
    # the floor and xentc's rows (fast calls) in turn; each peer on its own after them
    ours = [impl for impl in impls if impl.label == "floor" or impl.label.startswith("xentc")]
    calls = {impl.label: impl.prepare(inputs) for impl in ours}
    timed = dict(zip(calls, time_interleaved(list(calls.values()), args.repeat, max_repeat)))
    records = []
    for impl in impls:  # impls[0] is the floor
        if impl.label in calls:
            call = calls[impl.label]
            ms, n = timed[impl.label]
        else:
            call = impl.prepare(inputs)
            ms, n = time_best(call, args.repeat, max_repeat)
        floor_ms = records[0]["ms"] if records else ms
        records.append(dict(function=name, shape=list(shape), dtype=dtype, impl=impl.label,
                            n_threads=impl.n_threads, ms=ms, ratio_floor=ms / floor_ms,
                            repeats=n))
        if name in common.METRIC_FUNCTIONS and impl.label in (f"xentc thr={TARGET_THREADS}",
                                                                "sklearn"):
            records[-1]["peak_mib"] = peak_memory_mib(call)
    return records, None


def speedups(records, peers):
    """``{(xentc impl, peer label): peer_ms / xentc_ms}`` for one entry's records."""
    ms = {r["impl"]: r["ms"] for r in records}
    return {(r["impl"], p): ms[p] / r["ms"] for r in records if r["impl"].startswith("xentc")
            for p in peers if p in ms}


def column_width(peer):
    """Width of the ``vs <peer>`` column: 16, or wider so the heading keeps a space before it."""
    return max(16, len(peer) + 4)


def print_header(name, peers):
    cols = "".join(f"{'vs ' + p:>{column_width(p)}}" for p in peers)
    print(f"\n== {name} ==\n{'shape':<14}{'dtype':<9}{'impl':<17}{'ms':>10}{'×floor':>8}{cols}")


def print_rows(records, peers):
    ups = speedups(records, peers)
    for r in records:
        cells = "".join(f"{ups[r['impl'], p]:>{column_width(p) - 1}.2f}×"
                        if (r["impl"], p) in ups else " " * column_width(p) for p in peers)
        print(f"{common.format_shape(r['shape']):<14}{r['dtype']:<9}{r['impl']:<17}"
              f"{r['ms']:>10.3f}{r['ratio_floor']:>8.2f}{cells}".rstrip(), flush=True)


def floor_target(name, shape):
    """SPEC section 4 max ×floor for ``name`` at ``shape``, or None."""
    if name not in FLOOR_TARGETS:
        return None
    large, ten, two = FLOOR_TARGETS[name]
    if name in common.BINARY_FUNCTIONS:
        return large
    n_cols = 2 if len(shape) == 1 else shape[-1]  # 1-D log_loss input: binary
    if n_cols >= 1000:
        return large
    return {10: ten, 2: two}.get(n_cols)


def mark(ok):
    return "n/a" if ok is None else ("PASS" if ok else "MISS")


def print_targets(name, entries, peers):
    """SPEC section 4 targets next to xentc thr=2 (×floor and speed-up over each peer)."""
    labels = [f"xentc thr={TARGET_THREADS}"]
    if name in common.OUT_FUNCTIONS:
        labels.append(f"xentc thr={TARGET_THREADS} out")
    goals = PEER_TARGETS.get(name, {})
    print(f"-- {name}: SPEC §4 targets for {' / '.join(labels)} --")
    for records, ours in ((rec, lab) for rec in entries for lab in labels):
        r = next((r for r in records if r["impl"] == ours), None)
        if r is None:
            continue
        target = floor_target(name, r["shape"])
        ok = None if target is None else r["ratio_floor"] <= target
        goal_txt = "" if target is None else f"<={target}"
        line = (f"{common.format_shape(r['shape']):<14}{r['dtype']:<9}{ours[6:]:<10}"
                f"×floor {r['ratio_floor']:7.2f} {goal_txt:>6} {mark(ok):<4}")
        ups = speedups(records, peers)
        for p in peers:
            if (ours, p) in ups:
                up, goal = ups[ours, p], goals.get(p)
                ok = goal is not None and up >= goal
                line += f" | vs {p} {up:6.2f}×" + (f" >={goal} {mark(ok)}" if goal else "")
        mem = {x["impl"]: x.get("peak_mib") for x in records}
        if mem.get(ours) is not None and mem.get("sklearn") is not None:
            less = mem["sklearn"] / max(mem[ours], 1e-9)
            line += (f" | peak MiB {mem[ours]:.1f} vs sklearn {mem['sklearn']:.1f}: "
                     f"{less:.0f}x less >={MEMORY_TARGET:g} {mark(less >= MEMORY_TARGET)}")
        print(line)


def machine_info(args, notes):
    info = {"xentc_config": xentc.show_config(mode="dicts"), "platform": platform.platform(),
            "processor": platform.processor(), "cpu_count": os.cpu_count(),
            "date": time.strftime("%Y-%m-%dT%H:%M:%S%z"), "argv": sys.argv, "notes": sorted(notes),
            "quick": args.quick, "budget_s": BUDGET_S, "repeat": args.repeat}
    for mod in ("numpy", "scipy", "torch", "sklearn"):
        module = sys.modules.get(mod)
        info[f"{mod}_version"] = getattr(module, "__version__", None)
    try:
        with open("/proc/cpuinfo") as f:
            info["cpu_model"] = next(line.split(":", 1)[1].strip() for line in f
                                     if line.startswith("model name"))
    except (OSError, StopIteration):
        pass
    return info


class Progress:
    """``[i/n] function shape dtype`` on ``stream`` (stderr): one line rewritten in place with
    ``\\r`` on a terminal (cleared before the table prints), one line per entry otherwise."""

    def __init__(self, total, stream=None):
        self.total, self.stream = total, sys.stderr if stream is None else stream
        try:
            self.tty = self.stream.isatty()
        except (AttributeError, ValueError):
            self.tty = False
        self.width = 0

    def show(self, i, text):
        line = f"[{i}/{self.total}] {text}"
        if self.tty:
            self.stream.write("\r" + line.ljust(self.width))
            self.width = len(line)
        else:
            self.stream.write(line + "\n")
        self.stream.flush()

    def clear(self):
        if self.tty and self.width:
            self.stream.write("\r" + " " * self.width + "\r")
            self.stream.flush()
            self.width = 0


def blas_one_thread():
    """A context that pins NumPy's BLAS to one thread: nothing to do when
    ``OPENBLAS_NUM_THREADS=1`` was set before NumPy loaded, else threadpoolctl's limit (when
    installed; without it the BLAS keeps its threads)."""
    if os.environ.get("OPENBLAS_NUM_THREADS") == "1":
        return contextlib.nullcontext()
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:
        return contextlib.nullcontext()
    return threadpool_limits(1, user_api="blas")


def matplotlib_missing():
    """The one-line message for ``--plot`` without matplotlib, or None when it imports."""
    try:
        importlib.import_module("matplotlib")
    except ImportError:
        return ("--plot needs matplotlib, which is not installed: "
                "pip install 'xentc[plot]' (or pip install matplotlib)")
    return None


def plot_threads(threads):
    """The xentc thread count the plot shows: 2 (SPEC section 4) if timed, else the most."""
    return TARGET_THREADS if TARGET_THREADS in threads else max(threads)


def plot_speedups(records, path, n_threads):
    """Write a PNG bar chart to ``path``: per function (one panel each) and shape/dtype, the
    speed-up of ``xentc thr=<n_threads>`` over each peer (peer ms / xentc ms)."""
    from matplotlib.figure import Figure

    ours = f"xentc thr={n_threads}"
    panels = {}  # function -> {(shape, dtype): {peer: speed-up}}, in the order timed
    for r in records:
        panels.setdefault(r["function"], {}).setdefault(
            (common.format_shape(r["shape"]), r["dtype"]), {})
    by_entry = {}
    for r in records:
        by_entry.setdefault((r["function"], common.format_shape(r["shape"]), r["dtype"]),
                            []).append(r)
    for (name, shape, dtype), rs in by_entry.items():
        peers = [x["impl"] for x in rs if x["impl"] != "floor"
                 and not x["impl"].startswith("xentc")]
        panels[name][shape, dtype] = {p: up for (impl, p), up in speedups(rs, peers).items()
                                      if impl == ours}
    panels = {name: entries for name, entries in panels.items()
              if any(entries.values())}
    most = max((len(entries) for entries in panels.values()), default=1)
    fig = Figure(figsize=(max(9.0, 3 + 0.95 * most), 1 + 2.8 * max(1, len(panels))),
                 layout="constrained")
    axes = fig.subplots(max(1, len(panels)), 1, squeeze=False)[:, 0]
    if not panels:
        axes[0].text(0.5, 0.5, f"no peer was timed against {ours}", ha="center", va="center")
        axes[0].set_axis_off()
    for ax, (name, entries) in zip(axes, panels.items()):
        peers = list(dict.fromkeys(p for ups in entries.values() for p in ups))
        width = 0.8 / len(peers)
        ticks = np.arange(len(entries))
        for j, peer in enumerate(peers):
            ups = [ups.get(peer, np.nan) for ups in entries.values()]
            bars = ax.bar(ticks + (j - (len(peers) - 1) / 2) * width, ups, width,
                          label=f"vs {peer}")
            ax.bar_label(bars, fmt="%.1f×", fontsize=7)
        ax.axhline(1.0, color="gray", linewidth=0.8)
        ax.set_yscale("log")
        ax.set_xticks(ticks, [f"{shape}\n{dtype}" for shape, dtype in entries], fontsize=8)
        ax.set_ylabel("speed-up (×)")
        ax.set_title(f"{name}: {ours} speed-up over each peer", fontsize=10)
        ax.legend(fontsize=8, loc="upper left", bbox_to_anchor=(1.0, 1.0))
    fig.suptitle(f"xentc {xentc.__version__} ({platform.machine()}, "
                 f"{os.cpu_count()} CPUs): peer time / xentc time", fontsize=11)
    fig.savefig(path, format="png", dpi=100)


def main(argv=None):
    """``benchmarks/run.py``: parse ``argv`` and :func:`run`."""
    return run(parse_args(argv))


def run(args, prog="xentc bench"):
    """Run the benchmark that ``args`` (from :func:`add_arguments`) describes; the exit
    status: 0, 1 when xentc disagreed with a peer, 2 for ``--plot`` without matplotlib."""
    if args.plot and matplotlib_missing():
        print(f"{prog}: {matplotlib_missing()}", file=sys.stderr)
        return 2
    with blas_one_thread():
        return _run(args)


def _run(args):
    notes, all_records, mismatches = set(), [], []
    progress = Progress(sum(len(shapes_for(name, args)) for name in args.functions)
                        * len(args.dtypes))
    done = 0
    try:
        for name in args.functions:
            impls = all_impls(name, args.threads, peer_impls(name, args.torch_threads, notes))
            peers = [i.label for i in impls
                     if i.label != "floor" and not i.label.startswith("xentc")]
            print_header(name, peers)
            entries = []
            for shape in shapes_for(name, args):
                for dtype in args.dtypes:
                    done += 1
                    progress.show(done, f"{name} {common.format_shape(shape)} {dtype}")
                    records, error = run_entry(name, shape, dtype, impls, args)
                    progress.clear()
                    if error:
                        print(f"!!! MISMATCH, entry skipped: {error}", flush=True)
                        mismatches.append(error)
                    print_rows(records, peers)
                    entries.append(records)
                    all_records += records
            print_targets(name, entries, peers)
    finally:  # Ctrl-C: the interrupted message goes on a line of its own
        progress.clear()
    for note in sorted(notes):
        print(f"note: {note}")
    if args.quick:
        print("note: --quick shapes are 10x smaller (some fit in cache); targets are indicative")
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"machine": machine_info(args, notes), "records": all_records,
                       "mismatches": mismatches}, f, indent=1)
        print(f"wrote {args.json}")
    if args.plot:
        plot_speedups(all_records, args.plot, plot_threads(args.threads))
        print(f"wrote {args.plot}")
    if mismatches:
        print(f"!!! {len(mismatches)} entries skipped: xentc disagreed with a peer",
              file=sys.stderr)
    return 1 if mismatches else 0
