"""The examples in the docstrings and in README.md's quick start run as shown."""

import doctest
import importlib
import pathlib

import pytest

MODULES = ["xentc._special", "xentc._losses", "xentc._binary", "xentc._metrics",
           "xentc._partial", "xentc._threads", "xentc._config", "xentc.reference",
           "xentc.dask"]
README = pathlib.Path(__file__).resolve().parent.parent / "README.md"


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples(name):
    if name == "xentc.dask":
        pytest.importorskip("dask.array")  # an optional dependency
    module = importlib.import_module(name)
    result = doctest.testmod(module, optionflags=doctest.NORMALIZE_WHITESPACE)
    assert result.failed == 0


def test_readme_quick_start():
    if not README.exists():
        pytest.skip("README.md not found next to tests/")
    result = doctest.testfile(str(README), module_relative=False,
                              optionflags=doctest.NORMALIZE_WHITESPACE)
    assert result.failed == 0
