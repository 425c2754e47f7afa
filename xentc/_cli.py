"""The ``xentc`` command line: ``check`` (a self-check of every public function on this
machine), ``info`` (version, build, threads, code path, peers) and ``bench`` (time xentc
against the read floor and its peers, SPEC section 4).

A subcommand is a function ``_add_<name>(subparsers)`` that registers its parser with
``set_defaults(run=...)``; ``run(args)`` returns the exit status.
"""

import argparse
import importlib.metadata
import importlib.util
import json
import sys

PEERS = {"scipy": "scipy", "scikit-learn": "sklearn", "torch": "torch", "pandas": "pandas",
         "matplotlib": "matplotlib", "dask": "dask", "distributed": "distributed",
         "tqdm": "tqdm"}


# --- info ----------------------------------------------------------------------------------

def peers():
    """Each peer: importable (found without importing it) and its installed version."""
    out = {}
    for dist, module in PEERS.items():
        try:
            found = importlib.util.find_spec(module) is not None
        except (ImportError, ValueError):
            found = False
        try:
            version = importlib.metadata.version(dist)
        except importlib.metadata.PackageNotFoundError:
            version = None
        out[dist] = {"importable": found, "version": version}
    return out


def info_dict():
    import xentc

    config = xentc.show_config(mode="dicts")
    return {**config, "peers": peers()}


def _run_info(args):
    info = info_dict()
    if args.json:
        print(json.dumps(info, indent=2))
        return 0
    k, omp = info["kernels"], info["openmp"]
    print(f"xentc {info['xentc']} (python {info['python']}, numpy {info['numpy']}, "
          f"{info['machine']})")
    print(f"  compiler:        {info['compiler']}")
    print(f"  kernels built:   {', '.join(k['compiled'])}")
    forced = f"; XENTC_CPU_LEVEL={k['XENTC_CPU_LEVEL']}" if k["XENTC_CPU_LEVEL"] else ""
    print(f"  code path:       {k['in_use']} (best this CPU supports: "
          f"{k['best_supported']}{forced})")
    print(f"  OpenMP:          {'enabled' if omp['enabled'] else 'disabled (single thread)'}")
    env = f" (OMP_NUM_THREADS={omp['OMP_NUM_THREADS']})" if omp["OMP_NUM_THREADS"] else ""
    print(f"  default threads: {omp['default_n_threads']}{env}")
    print("  peers:")
    for name, p in info["peers"].items():
        state = (p["version"] or "installed") if p["importable"] else "not installed"
        print(f"    {name:<13}{state}")
    return 0


def _add_info(sub):
    p = sub.add_parser("info", help="version, build configuration, threads, code path, peers",
                       description="Show xentc's version, how it was built, the OpenMP thread "
                                   "count, the CPU code path in use and the peers installed.")
    p.add_argument("--json", action="store_true", help="print the information as JSON")
    p.set_defaults(run=_run_info)


# --- check ---------------------------------------------------------------------------------

def _summary(results):
    """Worst error per (level, function, dtype, metric), in the order first seen."""
    rows = {}
    for r in results:
        key = (r.level, r.function, r.dtype, r.metric)
        s = rows.setdefault(key, {"level": r.level, "function": r.function, "dtype": r.dtype,
                                  "metric": r.metric, "worst": 0.0, "bound": r.bound,
                                  "checks": 0, "failed": 0, "passed": True})
        s["checks"] += 1
        # the result closest to (or furthest over) its bound, with that bound
        if r.error == r.error and r.error * s["bound"] >= s["worst"] * r.bound:
            s["worst"], s["bound"] = r.error, r.bound
        if not r.passed:
            s["failed"] += 1
            s["passed"] = False
    return list(rows.values())


def _fmt(metric, value):
    if metric in ("rows", "grad"):
        return f"{value:.2f} ulp"
    if metric in ("reduction", "reduction_d2"):
        return f"{value:.1e} rel"
    return "-"


METRIC_NAMES = {"rows": "rows", "grad": "gradient", "reduction": "mean/sum",
                "reduction_d2": "score", "values": "inf/NaN", "error": "raised"}


def _run_check(args):
    from . import _core, _selfcheck

    available = _selfcheck.supported_levels()
    if args.level == "all":
        levels = available
    elif args.level is None:
        levels = [_core.cpu_level()]
    elif args.level not in available:
        print(f"xentc check: the {args.level} code path is not available here "
              f"(available: {', '.join(available)})", file=sys.stderr)
        return 2
    else:
        levels = [args.level]
    import numpy as np

    import xentc

    print(f"xentc {xentc.__version__} self-check: numpy {np.__version__}, "
          f"scipy {_version('scipy') or 'not installed'}, seed {args.seed}"
          f"{', quick' if args.quick else ''}; code path(s): {', '.join(levels)}")
    results, notes = _selfcheck.run_checks(levels, seed=args.seed, quick=args.quick)
    summary = _summary(results)
    print(f"{'level':<9}{'function':<44}{'dtype':<9}{'what':<10}{'worst':>13}"
          f"{'bound':>13}  result")
    for s in summary:
        if s["metric"] == "values":
            continue
        print(f"{s['level']:<9}{s['function']:<44}{s['dtype']:<9}"
              f"{METRIC_NAMES.get(s['metric'], s['metric']):<10}"
              f"{_fmt(s['metric'], s['worst']):>13}{_fmt(s['metric'], s['bound']):>13}  "
              f"{'PASS' if s['passed'] else 'FAIL'}")
    failed = [r for r in results if not r.passed]
    special = [r for r in results if r.metric == "values" or "inf_nan" in r.case
               or "empty" in r.case]
    print(f"inf/NaN/empty inputs: {sum(r.passed for r in special)} of {len(special)} results "
          "match xentc.reference's positions, shapes and dtypes")
    print("bounds: SPEC §4 (rows <= 2 ulp, means <= 1e-12 float64 / 1e-7 float32) except:")
    for note in _selfcheck.NOTES:
        print(f"  - {note}")
    for note in notes:
        print(f"note: {note}")
    for r in failed[:args.max_failures]:
        print(f"FAIL {r.level} {r.function} {r.dtype} [{r.case}]: {r.detail}")
    if len(failed) > args.max_failures:
        print(f"... and {len(failed) - args.max_failures} more failures (--json for all)")
    if args.json:
        payload = {"xentc": xentc.__version__, "seed": args.seed, "quick": args.quick,
                   "levels": levels, "scipy": _version("scipy"), "notes": notes,
                   "bounds_notes": _selfcheck.NOTES, "passed": not failed,
                   "summary": summary,
                   "results": [_selfcheck.dataclasses.asdict(r) for r in results]}
        with open(args.json, "w", encoding="utf-8") as f:
            json.dump(payload, f, indent=1, allow_nan=False, default=_no_nan)
    print(f"{len(results)} checks, {len(failed)} failed: {'FAIL' if failed else 'PASS'}")
    return 1 if failed else 0


def _no_nan(value):  # pragma: no cover - json calls it only for non-serialisable objects
    return str(value)


def _version(dist):
    try:
        return importlib.metadata.version(dist)
    except importlib.metadata.PackageNotFoundError:
        return None


def _add_check(sub):
    p = sub.add_parser("check", help="check every function against references on this machine",
                       description="Compare every public function with long-double and "
                                   "xentc.reference computations on random and edge-case "
                                   "inputs, report the worst error per function against the "
                                   "SPEC accuracy targets; exit 1 on any failure.")
    p.add_argument("--level", choices=["baseline", "avx2", "avx512", "all"],
                   help="CPU code path(s) to check (default: the one in use; all: every one "
                        "this CPU supports)")
    p.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    p.add_argument("--quick", action="store_true", help="fewer shapes and inputs")
    p.add_argument("--json", metavar="PATH", help="also write every result to PATH as JSON")
    p.add_argument("--max-failures", type=int, default=20, metavar="N",
                   help="failures to list (default 20)")
    p.set_defaults(run=_run_check)


# --- bench ---------------------------------------------------------------------------------

def _run_bench(args):
    from . import _bench

    return _bench.run(args, prog="xentc bench")


def _add_bench(sub):
    from . import _bench

    p = sub.add_parser("bench", help="time xentc against the read floor and its peers",
                       description="Time xentc (n_threads 1 and 2) against the single-thread "
                                   "read floor and the installed peers (scipy, torch, "
                                   "scikit-learn) on the SPEC section 4 shapes, after "
                                   "checking that they agree; print the times, the ratios to "
                                   "the floor, the speed-ups and the SPEC targets. Exit 1 if "
                                   "xentc disagrees with a peer.")
    _bench.add_arguments(p)
    p.set_defaults(run=_run_bench)


# --- main ----------------------------------------------------------------------------------

SUBCOMMANDS = [_add_bench, _add_check, _add_info]


def build_parser():
    parser = argparse.ArgumentParser(prog="xentc", description="xentc's command line: fast, "
                                     "exact cross-entropy, log-sum-exp and softmax.")
    sub = parser.add_subparsers(title="subcommands", dest="command", metavar="COMMAND")
    for add in SUBCOMMANDS:
        add(sub)
    return parser


def main(argv=None):
    """Run the command line; returns the exit status (2: usage error, 130: interrupted)."""
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:          # --help (0) and usage errors (2)
        return exc.code if isinstance(exc.code, int) else 2
    if args.command is None:
        parser.print_help(sys.stderr)
        return 2
    try:
        return args.run(args)
    except KeyboardInterrupt:
        print("xentc: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:            # e.g. `xentc check | head`
        return 1
