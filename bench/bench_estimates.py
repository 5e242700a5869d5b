#!/usr/bin/env python3
"""Estimates for the Google-LSTM-sized model: what ernn-schedule chooses and
what the estimator predicts, per block size and device.

    python bench/bench_estimates.py [--devices ku060,vx690t] [--blocks 1,8,16] [--schedule overlap=0]

The model is the nearest one ONNX can express to the ESE / C-LSTM / E-RNN
Google LSTM: an LSTM with 153 inputs and 1024 cells (ONNX's LSTM has no
recurrent projection, so the 512-wide projection of the original is left
out). 16-bit (auto:16), pwl:64 activations, 200 MHz, the schedule's default
budget (80 % of each resource). docs/estimates.md compares the result with
the papers' figures. These are estimates, not synthesis results.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from rnn_models import rnn_model

from ernnc.compiler.api import compile_module
from ernnc.compiler.pipeline import PipelineOptions
from ernnc.hardware.devices import device
from ernnc.hardware.estimate import estimate


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--devices", default="ku060,vx690t")
    ap.add_argument("--blocks", default="1,8,16")
    ap.add_argument("--clock", type=float, default=200.0)
    ap.add_argument(
        "--schedule", default="", help="ernn-schedule overrides, e.g. overlap=0 (no ping-pong)"
    )
    args = ap.parse_args()
    model = rnn_model("LSTM", 153, 1024)
    print(
        f"{'device':<7} {'b':>3} {'DSP':>12} {'BRAM36':>12} {'LUT':>15} {'cycles/step':>11} "
        f"{'us/frame':>8} {'frames/s':>9} {'GOPS':>7} {'binds':>6} {'compile s':>9}"
    )
    for key in args.devices.split(","):
        dev = device(key)
        for b in args.blocks.split(","):
            options = PipelineOptions(
                block_size=b,
                precision="auto:16",
                activations="pwl:64",
                device=key,
                clock=args.clock,
                schedule=args.schedule,
            )
            start = time.perf_counter()
            module = compile_module(model, "scheduled", options)
            seconds = time.perf_counter() - start
            est = estimate(module, dev, args.clock)
            util = est.utilization()

            def cell(r: str, est=est, util=util) -> str:
                return f"{est.used(r):,.0f} ({100 * util[r]:.0f}%)"

            print(
                f"{key:<7} {b:>3} {cell('dsp'):>12} {cell('bram36'):>12} {cell('lut'):>15} "
                f"{est.cycles_per_step:>11,} {est.latency_us:>8.2f} {est.fps:>9,.0f} "
                f"{est.gops:>7,.0f} {est.binding:>6} {seconds:>9.1f}"
                + ("" if est.fits else "  does not fit")
            )


if __name__ == "__main__":
    main()
