"""``python -m xentc bench`` (in-process and as a process), benchmarks/run.py and the asv suite's
inputs.  Tiny shapes and one repeat only: these check the plumbing, not the timings."""

import importlib.util
import io
import json
import pathlib
import subprocess
import sys

import pytest

from xentc import _bench, _bench_inputs, _cli

pytest.importorskip("scipy")

ROOT = pathlib.Path(__file__).resolve().parents[1]
TINY = ["--quick", "--functions", "logsumexp", "--shapes", "2000x10", "--dtypes", "float64",
        "--threads", "1", "--repeat", "1"]
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def run(capsys, *argv):
    code = _cli.main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_bench_json_table_and_progress(capsys, tmp_path):
    path = tmp_path / "bench.json"
    code, out, err = run(capsys, "bench", *TINY, "--json", str(path))
    assert code == 0, out + err
    # --quick divides the rows by 10; stderr is no terminal here: one plain line per entry
    assert err.splitlines() == ["[1/1] logsumexp 200x10 float64"]
    assert "== logsumexp ==" in out and "vs scipy" in out
    assert "-- logsumexp: SPEC §4 targets" in out and f"wrote {path}" in out
    data = json.loads(path.read_text())
    assert set(data) == {"machine", "records", "mismatches"} and data["mismatches"] == []
    machine = data["machine"]
    assert {"xentc_config", "platform", "cpu_count", "date", "quick", "numpy_version",
            "scipy_version", "notes"} <= set(machine)
    assert machine["quick"] is True and machine["repeat"] == 1
    impls = [r["impl"] for r in data["records"]]
    assert impls[:3] == ["floor", "xentc thr=1", "scipy"]
    for r in data["records"]:
        assert {"function", "shape", "dtype", "impl", "n_threads", "ms", "ratio_floor",
                "repeats"} <= set(r)
        assert (r["function"], r["shape"], r["dtype"]) == ("logsumexp", [200, 10], "float64")
        assert r["ms"] > 0 and r["ratio_floor"] > 0 and r["repeats"] == 1
    assert data["records"][0]["ratio_floor"] == 1.0


def test_progress_rewrites_one_line_on_a_terminal():
    class Tty(io.StringIO):
        def isatty(self):
            return True

    stream = Tty()
    progress = _bench.Progress(2, stream)
    progress.show(1, "log_loss 100000x1000 float32")
    progress.show(2, "log_loss 2x2 float32")
    progress.clear()
    text = stream.getvalue()
    assert "\n" not in text
    assert text.startswith("\r[1/2] log_loss 100000x1000 float32\r[2/2] log_loss 2x2 float32 ")
    assert text.endswith("\r")


def test_bench_mismatch_exits_1(capsys, monkeypatch):
    monkeypatch.setattr(_bench, "check_against_scipy", lambda *a: "made to disagree")
    code, out, err = run(capsys, "bench", *TINY)
    assert code == 1
    assert "!!! MISMATCH, entry skipped: logsumexp 200x10 float64: made to disagree" in out
    assert "1 entries skipped" in err


def test_bench_interrupted(capsys, monkeypatch):
    def interrupted(*a):
        raise KeyboardInterrupt
    monkeypatch.setattr(_bench, "run_entry", interrupted)
    code, out, err = run(capsys, "bench", *TINY)
    assert code == 130 and "Traceback" not in err
    assert err.splitlines() == ["[1/1] logsumexp 200x10 float64", "xentc: interrupted"]


def test_bench_plot_without_matplotlib(capsys, monkeypatch, tmp_path):
    monkeypatch.setitem(sys.modules, "matplotlib", None)
    timed = []
    monkeypatch.setattr(_bench, "run_entry", lambda *a: timed.append(a))
    code, out, err = run(capsys, "bench", *TINY, "--plot", str(tmp_path / "p.png"))
    assert code == 2 and out == "" and timed == []
    assert err == ("xentc bench: --plot needs matplotlib, which is not installed: "
                   "pip install 'xentc[plot]' (or pip install matplotlib)\n")
    assert not (tmp_path / "p.png").exists()


def test_bench_plot_writes_a_png(capsys, tmp_path):
    pytest.importorskip("matplotlib")
    path = tmp_path / "speedup.png"
    code, out, err = run(capsys, "bench", *TINY[:-4], "--threads", "1,2", "--repeat", "1",
                         "--plot", str(path))
    assert code == 0, out + err
    assert f"wrote {path}" in out
    assert path.read_bytes()[:8] == PNG_SIGNATURE


def test_plot_two_peers_a_missing_one_and_none(tmp_path):
    pytest.importorskip("matplotlib")

    def entry(function, shape, impls):
        return [dict(function=function, shape=shape, dtype="float64", impl=impl, ms=ms,
                     ratio_floor=ms) for impl, ms in impls]

    records = (entry("cross_entropy_and_grad", [4, 2], [("floor", 1.0), ("xentc thr=2", 2.0),
                                                        ("torch thr=2", 8.0),
                                                        ("sklearn thr=2", 6.0)])
               + entry("cross_entropy_and_grad", [4, 3], [("floor", 1.0), ("xentc thr=2", 2.0),
                                                          ("sklearn thr=2", 5.0)])
               + entry("cross_entropy", [4, 2], [("floor", 1.0), ("xentc thr=2", 2.0)]))
    _bench.plot_speedups(records, tmp_path / "two.png", 2)
    assert (tmp_path / "two.png").read_bytes()[:8] == PNG_SIGNATURE
    _bench.plot_speedups(records[-2:], tmp_path / "none.png", 2)   # no peer at all
    assert (tmp_path / "none.png").read_bytes()[:8] == PNG_SIGNATURE


@pytest.mark.parametrize("argv, message", [
    (["--dtypes", "float16"], "unknown float16"),
    (["--functions", "logsumexp,nope"], "unknown nope"),
    (["--shapes", "0x10"], "sizes must be positive"),
    (["--shapes", "axb"], "invalid"),
    (["--threads", "0"], "not a positive integer"),
    (["--repeat", "-1"], "not a positive integer"),
])
def test_bench_usage_errors(capsys, argv, message):
    code, out, err = run(capsys, "bench", *argv)
    assert code == 2 and out == ""
    assert err.startswith("usage: xentc bench") and message in err


def test_bench_as_a_process(tmp_path):
    # cwd elsewhere: from the repository root, -m would find the uncompiled source tree
    p = subprocess.run([sys.executable, "-m", "xentc", "bench", *TINY], capture_output=True,
                       text=True, timeout=120, cwd=tmp_path)
    assert p.returncode == 0, p.stderr
    assert "== logsumexp ==" in p.stdout
    assert p.stderr == "[1/1] logsumexp 200x10 float64\n"


def test_benchmarks_run_py_wraps_bench(tmp_path):
    script = ROOT / "benchmarks" / "run.py"
    if not script.exists():
        pytest.skip("no repository checkout")
    path = tmp_path / "run.json"
    p = subprocess.run([sys.executable, str(script), *TINY, "--functions", "softmax",
                        "--json", str(path)], capture_output=True, text=True, timeout=120,
                       cwd=tmp_path)
    assert p.returncode == 0, p.stderr
    assert "== softmax ==" in p.stdout and "xentc thr=1 out" in p.stdout
    assert {r["function"] for r in json.loads(path.read_text())["records"]} == {"softmax"}


def test_asv_common_reexports_the_package_inputs():
    path = ROOT / "benchmarks" / "benchmarks" / "common.py"
    if not path.exists():
        pytest.skip("no repository checkout")
    spec = importlib.util.spec_from_file_location("asv_common", path)
    common = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(common)
    for name in ("FUNCTIONS", "SPECIAL_FUNCTIONS", "make_array", "make_targets", "make_binary",
                 "make_log_loss", "parse_shape", "read_floor", "xentc_func", "scipy_func"):
        assert getattr(common, name) is getattr(_bench_inputs, name), name
