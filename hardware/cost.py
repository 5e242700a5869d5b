"""Cost of the hardware primitives: the assumptions of the estimator, each
stated once here (docs/estimates.md lists them with their reasons).

These are estimates for planning, not synthesis results: Vitis HLS decides
the real binding, sharing and timing.
"""

from __future__ import annotations

import math

# DSP slice multiplier ports (signed): DSP48E2 (UltraScale, UltraScale+) is
# 27 x 18, DSP48E1 (7 series) 25 x 18.
DSP_PORTS = {"7series": (25, 18), "ultrascale": (27, 18), "ultrascale+": (27, 18)}
# Two multiplies of at most 8 x 8 bits sharing an operand fit one DSP48E2
# (Xilinx WP486, INT8 packing): half a slice each.
NARROW_BITS = 8

# Single-precision float operators as Vitis HLS binds them by default
# (full-DSP implementations at about 200-300 MHz): DSP slices, LUTs, latency.
FLOAT_MUL = (3, 100, 4)
FLOAT_ADD = (2, 220, 5)
FLOAT_DIV = (0, 800, 12)
FLOAT_TRANSCENDENTAL = (8, 1500, 20)  # exp, tanh, log: a few multiplies and a table

# Latency of a fixed-point adder or multiplier stage, and the pipeline
# depth added by a loop nest (address generation, memory reads, writes).
FIXED_OP_LATENCY = 1
LOOP_DEPTH = 4
# Control (loop counters, FSM) of one loop nest.
LOOP_LUT, LOOP_FF = 150, 200
# A step whose stages overlap is a DATAFLOW region of two processes: the
# cycles, once a step, to start them and collect their done signals (an
# ap_ctrl handshake of a cycle or two each way), beside the longer stage.
DATAFLOW_OVERHEAD = 4

# Block RAM: 36 Kb blocks as (depth, width) configurations, each also
# splittable into two 18 Kb halves; arrays under this many bits go to
# LUTRAM (64 bits per LUT), as Vitis does for small arrays by default.
BRAM36_SHAPES = ((32768, 1), (16384, 2), (8192, 4), (4096, 9), (2048, 18), (1024, 36), (512, 72))
BRAM18_SHAPES = ((16384, 1), (8192, 2), (4096, 4), (2048, 9), (1024, 18), (512, 36))
LUTRAM_BITS = 4096
LUTRAM_BITS_PER_LUT = 64


def dsp_per_multiply(wa: int, wb: int, family: str = "ultrascale") -> float:
    """DSP slices for one wa x wb signed multiply: 0.5 when both fit 8 bits,
    else the tiling of the product over the slice's A x B ports."""
    if max(wa, wb) <= NARROW_BITS:
        return 0.5
    pa, pb = DSP_PORTS.get(family, DSP_PORTS["ultrascale"])
    return float(
        min(
            math.ceil(wa / pa) * math.ceil(wb / pb),
            math.ceil(wa / pb) * math.ceil(wb / pa),
        )
    )


def adder_luts(width: int) -> int:
    """A width-bit adder: one LUT per bit on the carry chain."""
    return width


def memory(width: int, depth: int) -> tuple[float, int]:
    """(BRAM36, LUT) of one memory bank of ``depth`` words of ``width`` bits."""
    if width * depth == 0:
        return 0.0, 0
    if width * depth < LUTRAM_BITS:
        return 0.0, math.ceil(width * depth / LUTRAM_BITS_PER_LUT)
    whole = min(math.ceil(width / w) * math.ceil(depth / d) for d, w in BRAM36_SHAPES)
    halves = min(math.ceil(width / w) * math.ceil(depth / d) for d, w in BRAM18_SHAPES)
    return min(float(whole), halves / 2), 0


def banked_memory(width: int, words: int, banks: int) -> tuple[float, int]:
    """(BRAM36, LUT) of ``words`` words split over ``banks`` banks."""
    banks = max(1, min(banks, words or 1))
    bram, lut = memory(width, math.ceil(words / banks))
    return bram * banks, lut * banks


def storage_bits(width: int) -> int:
    """Bits a raw-integer weight table spends per value: the C integer it is
    declared as (signed char, short, int, long long)."""
    for bits in (8, 16, 32):
        if width <= bits:
            return bits
    return 64
