"""The command line: ``python -m xentc check`` and ``info`` (in-process and as a process);
``bench`` is in test_cli_bench.py."""

import json
import subprocess
import sys

import numpy as np
import pytest

import xentc
from xentc import _cli, _core

pytest.importorskip("scipy")


def run(capsys, *argv):
    code = _cli.main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_info(capsys):
    code, out, _ = run(capsys, "info")
    assert code == 0
    assert f"xentc {xentc.__version__}" in out
    assert f"code path:       {_core.cpu_level()}" in out
    assert "scikit-learn" in out and "default threads:" in out


def test_info_json(capsys):
    code, out, _ = run(capsys, "info", "--json")
    info = json.loads(out)
    assert code == 0 and info["xentc"] == xentc.__version__
    assert info["kernels"]["in_use"] == _core.cpu_level()
    assert set(info["peers"]) == {"scipy", "scikit-learn", "torch", "pandas", "matplotlib",
                                  "dask", "distributed", "tqdm"}
    assert info["peers"]["scipy"]["importable"] is True


def test_info_as_a_process(tmp_path):
    # cwd elsewhere: from the repository root, -m would find the uncompiled source tree
    p = subprocess.run([sys.executable, "-m", "xentc", "info"], capture_output=True, text=True,
                       timeout=120, cwd=tmp_path)
    assert p.returncode == 0, p.stderr
    assert p.stdout.startswith(f"xentc {xentc.__version__}") and p.stderr == ""


def test_check_quick_passes_and_json(capsys, tmp_path):
    path = tmp_path / "check.json"
    code, out, _ = run(capsys, "check", "--quick", "--seed", "0", "--json", str(path))
    assert code == 0, out
    assert out.rstrip().endswith("0 failed: PASS")
    lines = out.splitlines()
    for name in xentc.reference.__all__:
        assert any(f" {name} " in line for line in lines), name
    data = json.loads(path.read_text())
    assert data["passed"] is True and data["seed"] == 0 and data["levels"] == [_core.cpu_level()]
    assert {"notes", "bounds_notes", "summary", "results", "scipy", "xentc"} <= set(data)
    for r in data["results"]:
        assert set(r) == {"level", "function", "dtype", "case", "metric", "error", "bound",
                          "passed", "detail"}
        assert r["metric"] in ("rows", "grad", "reduction", "reduction_d2", "values")
    assert {s["function"] for s in data["summary"]} == set(xentc.reference.__all__)


def test_check_every_level_restores_the_level(capsys, monkeypatch):
    from xentc import _selfcheck

    seen = []
    real = _selfcheck.run_checks

    def spy(levels, **kw):
        seen.extend(levels)
        return real(levels[:1], **kw)       # one level is enough to exercise the loop
    monkeypatch.setattr(_selfcheck, "run_checks", spy)
    before = _core.cpu_level()
    code, out, _ = run(capsys, "check", "--quick", "--level", "all")
    assert code == 0 and seen == _selfcheck.supported_levels()
    assert _core.cpu_level() == before


def test_check_baseline_level(capsys):
    before = _core.cpu_level()
    code, out, _ = run(capsys, "check", "--quick", "--level", "baseline")
    assert code == 0, out
    assert "code path(s): baseline" in out and "\nbaseline " in out
    assert _core.cpu_level() == before


def test_check_fails_on_a_broken_function(capsys, monkeypatch, tmp_path):
    real = xentc.logsumexp
    monkeypatch.setattr(xentc, "logsumexp", lambda *a, **k: real(*a, **k) * (1 + 1e-10))
    path = tmp_path / "r.json"
    code, out, _ = run(capsys, "check", "--quick", "--json", str(path))
    assert code == 1
    assert out.rstrip().endswith("FAIL")
    assert any(line.startswith("FAIL ") and " logsumexp float64 " in line
               for line in out.splitlines())
    assert any(" logsumexp " in line and line.endswith("FAIL") for line in out.splitlines())
    data = json.loads(path.read_text())
    assert data["passed"] is False
    assert not any(r["passed"] for r in data["results"]
                   if r["function"] == "logsumexp" and r["metric"] == "rows"
                   and r["dtype"] == "float64" and r["error"] > 0)


def test_check_fails_on_wrong_nan_positions(capsys, monkeypatch):
    real = xentc.softmax

    def nan_free(*a, **k):
        return np.nan_to_num(real(*a, **k))
    monkeypatch.setattr(xentc, "softmax", nan_free)
    code, out, _ = run(capsys, "check", "--quick")
    assert code == 1
    assert "inf/NaN differ from xentc.reference" in out


def test_check_reports_an_exception(capsys, monkeypatch):
    def boom(*a, **k):
        raise RuntimeError("boom")
    monkeypatch.setattr(xentc, "log_loss", boom)
    code, out, _ = run(capsys, "check", "--quick")
    assert code == 1 and "raised RuntimeError: boom" in out


def test_ctrl_c(capsys, monkeypatch):
    from xentc import _selfcheck

    def interrupted(*a, **k):
        raise KeyboardInterrupt
    monkeypatch.setattr(_selfcheck, "run_checks", interrupted)
    code, out, err = run(capsys, "check")
    assert code == 130 and err.strip() == "xentc: interrupted" and "Traceback" not in err


@pytest.mark.parametrize("argv, message", [
    (["bench", "--dtypes", "float16"], "unknown float16"),
    (["nope"], "invalid choice: 'nope'"),
    (["check", "--level", "sse9"], "invalid choice: 'sse9'"),
    (["check", "--seed", "x"], "invalid int value: 'x'"),
    (["info", "--what"], "unrecognized arguments: --what"),
])
def test_usage_errors(capsys, argv, message):
    code, out, err = run(capsys, *argv)
    assert code == 2 and message in err and err.startswith("usage: xentc")
    assert "Traceback" not in err


def test_no_subcommand_prints_help(capsys):
    code, out, err = run(capsys)
    assert code == 2 and "check" in err and "info" in err


def test_help(capsys):
    code, out, _ = run(capsys, "check", "--help")
    assert code == 0 and "--level" in out


def test_unavailable_level(capsys, monkeypatch):
    from xentc import _selfcheck

    monkeypatch.setattr(_selfcheck, "supported_levels", lambda: ["baseline"])
    code, _, err = run(capsys, "check", "--level", "avx512")
    assert code == 2 and "not available here" in err


def test_usage_error_as_a_process(tmp_path):
    p = subprocess.run([sys.executable, "-m", "xentc"], capture_output=True, text=True,
                       timeout=120, cwd=tmp_path)
    assert p.returncode == 2 and "usage: xentc" in p.stderr and "Traceback" not in p.stderr
