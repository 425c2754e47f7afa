"""The compiled extension: module identity, OpenMP, kernel code paths, configuration."""

import os
import subprocess
import sys

import pytest

import xentc
from xentc import _core


def test_extension_module_name():
    # src/ is not a package: without --module-name the module would call itself '_core'
    assert _core.__name__ == "xentc._core"
    assert _core.lse_rows.__module__ == "xentc._core"


def test_openmp_enabled():
    if os.environ.get("XENTC_SKIP_OPENMP_TEST"):
        pytest.skip("XENTC_SKIP_OPENMP_TEST is set")
    assert xentc.openmp_enabled(), (
        "xentc was built without OpenMP; set XENTC_SKIP_OPENMP_TEST=1 if that is intended"
    )


def test_code_paths():
    compiled = _core.compiled_levels()
    assert compiled[0] == "baseline"
    assert _core.cpu_level() in compiled
    assert _core.cpu_max_level() in compiled
    previous = _core.cpu_level()
    try:
        assert _core.set_cpu_level("baseline") == "baseline"
        assert _core.set_cpu_level("auto") == _core.cpu_max_level()
    finally:
        _core.set_cpu_level(previous)


def test_environment_selects_code_path(tmp_path):
    # (run outside the source tree, whose xentc/ would shadow the installed package)
    code = "from xentc import _core; print(_core.cpu_level())"
    env = dict(os.environ, XENTC_CPU_LEVEL="baseline")
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True,
                         text=True, check=True, cwd=tmp_path)
    assert out.stdout.strip() == "baseline"
    env["XENTC_CPU_LEVEL"] = "no-such-level"
    out = subprocess.run([sys.executable, "-W", "default", "-c", code], env=env,
                         capture_output=True, text=True, check=True, cwd=tmp_path)
    assert out.stdout.strip() == _core.cpu_max_level()
    assert "XENTC_CPU_LEVEL" in out.stderr


def test_show_config(capsys):
    info = xentc.show_config(mode="dicts")
    assert info["xentc"] == xentc.__version__
    assert info["kernels"]["in_use"] == _core.cpu_level()
    assert info["openmp"]["enabled"] == xentc.openmp_enabled()
    assert xentc.show_config() is None
    out = capsys.readouterr().out
    assert "kernels in use" in out and "OpenMP" in out
    with pytest.raises(ValueError, match="mode"):
        xentc.show_config(mode="json")


def test_no_fast_math_side_effects():
    # a "fast math" build would set flush-to-zero for the whole process on import
    import numpy as np

    assert np.array([5e-324]) * 2 != 0
    assert xentc.logsumexp([0.0, -720.0]) > 0   # the subnormal result survives


def test_every_module_is_installed():
    # an editable install imports modules missing from meson.build's py.install_sources; a
    # wheel would not have them
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    if not os.path.exists(os.path.join(root, "meson.build")):
        pytest.skip("no repository checkout")
    with open(os.path.join(root, "meson.build"), encoding="utf-8") as f:
        meson = f.read()
    modules = sorted(name for name in os.listdir(os.path.join(root, "xentc"))
                     if name.endswith(".py"))
    assert [m for m in modules if f"'xentc/{m}'" not in meson] == []
