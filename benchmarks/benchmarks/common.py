"""The asv suite's inputs: re-exported from the installed package (:mod:`xentc._bench_inputs`),
so that ``xentc bench``, ``benchmarks/run.py`` and asv time the same arrays."""

from xentc._bench_inputs import (  # noqa: F401
    BINARY_FUNCTIONS,
    FUNCTIONS,
    LOSS_FUNCTIONS,
    METRIC_FUNCTIONS,
    OUT_FUNCTIONS,
    SCALE,
    SEED,
    SPECIAL_FUNCTIONS,
    format_shape,
    make_array,
    make_binary,
    make_log_loss,
    make_sample_weight,
    make_targets,
    parse_shape,
    read_floor,
    scipy_func,
    xentc_func,
)
