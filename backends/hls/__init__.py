"""HLS backend: a Vitis HLS C++ project (design, weights, testbench, build
scripts) that computes what the NumPy model computes."""

from __future__ import annotations

from .emitter import (
    DEFAULT_CLOCK_MHZ,
    DEFAULT_MAX_DIM,
    DEFAULT_PART,
    HlsError,
    HlsProject,
    emit_hls,
)

__all__ = [
    "DEFAULT_CLOCK_MHZ",
    "DEFAULT_MAX_DIM",
    "DEFAULT_PART",
    "HlsError",
    "HlsProject",
    "emit_hls",
]
