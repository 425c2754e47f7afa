"""Shared fixtures for xentc's tests (numerical helpers are in helpers.py)."""

import numpy as np
import pytest

from xentc import _core


def supported_levels():
    """The kernel code paths this build has and this CPU can run."""
    best = _core.LEVEL_NAMES.index(_core.cpu_max_level())
    return [name for name in _core.compiled_levels() if _core.LEVEL_NAMES.index(name) <= best]


@pytest.fixture(params=supported_levels())
def cpu_level(request):
    """Run the test once per kernel code path (baseline, avx2, avx512 where available)."""
    previous = _core.cpu_level()
    _core.set_cpu_level(request.param)
    yield request.param
    _core.set_cpu_level(previous)


@pytest.fixture
def rng():
    return np.random.default_rng(20261124)
