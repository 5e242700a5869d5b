#!/usr/bin/env python3
"""Compile time vs parameter count: 2-layer LSTMs with input 153 up to the ESE/C-LSTM
"Google LSTM" size (hidden 1024).

    python bench/bench_compile.py            # H in {128, 256, 512, 1024}, CLI median of 3
    python bench/bench_compile.py --quick    # H in {64, 128}, one CLI run each

For each model: ``ernnc model.onnx -o out`` end to end as a subprocess (median of
--runs), and the same work in process, split into stages (best of --runs):
load (onnx.load), import (ONNX -> model-level IR), passes (the default pipeline,
verifying after each pass as the CLI does), emit (NumPy source), write
(model_ref.py + weights.npz) and hls (the HLS project: emit and write). A least-squares line t = a + b * params shows
how close to linear in the parameter count each column is.
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import onnx
from ernnc.backends.hls import emit_hls
from ernnc.backends.numpy import emit_numpy
from ernnc.backends.numpy.npz import save_npz
from ernnc.compiler.context import make_context
from ernnc.compiler.onnx_import import import_onnx, load_model
from ernnc.compiler.pipeline import PipelineOptions, default_pipeline, parse_passes
from rnn_models import param_count, rnn_model

STAGES = ("load", "import", "passes", "emit", "write", "hls")


@dataclass
class Row:
    hidden: int
    params: int
    stages: dict[str, float] = field(default_factory=dict)  # seconds, best of runs
    cli: float = 0.0  # seconds, median of runs

    @property
    def in_process(self) -> float:
        return sum(self.stages.values())


def ernnc_command() -> list[str]:
    """The ``ernnc`` script of this interpreter's environment."""
    script = Path(sys.executable).with_name("ernnc")
    if script.exists():
        return [str(script)]
    found = shutil.which("ernnc")
    return [found] if found else [sys.executable, "-m", "ernnc.compiler.cli"]


def time_cli(model: Path, out: Path, runs: int) -> float:
    times = []
    for _ in range(runs):
        t0 = time.perf_counter()
        subprocess.run([*ernnc_command(), str(model), "-o", str(out), "-q"], check=True)
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def time_stages(model: Path, out: Path) -> dict[str, float]:
    times: dict[str, float] = {}

    def stage(name: str, fn: Callable[[], Any]) -> Any:
        t0 = time.perf_counter()
        result = fn()
        times[name] = time.perf_counter() - t0
        return result

    proto = stage("load", lambda: load_model(model))
    module = stage("import", lambda: import_onnx(proto))

    def passes() -> None:
        ctx = make_context()
        for _, spec in default_pipeline(PipelineOptions()):
            for p in parse_passes(spec):
                p.apply(ctx, module)
                module.verify()

    stage("passes", passes)
    emitted = stage("emit", lambda: emit_numpy(module))

    def write() -> None:
        out.mkdir(parents=True, exist_ok=True)
        (out / "model_ref.py").write_text(emitted.source, encoding="utf-8")
        save_npz(out / "weights.npz", emitted.weights)

    stage("write", write)

    def hls() -> None:
        project = emit_hls(module)
        (out / "hls").mkdir(exist_ok=True)
        for name, text in sorted(project.files.items()):
            (out / "hls" / name).write_text(text, encoding="utf-8")

    stage("hls", hls)
    return times


def linear_fit(params: list[int], seconds: list[float]) -> str:
    """``a + b/M`` and R² of a least-squares line through (params, seconds)."""
    m = np.array(params, float) / 1e6
    s = np.array(seconds)
    b, a = np.polyfit(m, s, 1)
    r2 = 1 - float(np.sum((s - (a + b * m)) ** 2) / np.sum((s - s.mean()) ** 2))
    return f"{a:.3f} s + {b:.4f} s/M, R² {r2:.4f}"


def tables(rows: list[Row], runs: int, what: str) -> str:
    head = (
        "| H | params | "
        + " | ".join(STAGES)
        + " | in-process | s / M params | CLI | s / M params |"
    )
    lines = [
        f"### Compile time, {what} (seconds; stages best of {runs}, CLI median of {runs})",
        "",
        head,
        "|" + "--:|" * (len(STAGES) + 6),
    ]
    for r in rows:
        mp = r.params / 1e6
        stages = " | ".join(f"{r.stages[s]:.3f}" for s in STAGES)
        lines.append(
            f"| {r.hidden} | {r.params:,} | {stages} | {r.in_process:.3f} "
            f"| {r.in_process / mp:.3f} | {r.cli:.3f} | {r.cli / mp:.3f} |"
        )
    params = [r.params for r in rows]
    if len(rows) < 3:
        return "\n".join(lines)
    lines += ["", "Least-squares fit t = a + b · (params / 1e6):", ""]
    for name, values in [
        *((s, [r.stages[s] for r in rows]) for s in STAGES),
        ("in-process", [r.in_process for r in rows]),
        ("CLI", [r.cli for r in rows]),
    ]:
        lines.append(f"- {name}: {linear_fit(params, values)}")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--hidden", nargs="+", type=int, default=[128, 256, 512, 1024])
    p.add_argument("--input", type=int, default=153)
    p.add_argument("--layers", type=int, default=2)
    p.add_argument("--runs", type=int, default=3)
    p.add_argument("--quick", action="store_true", help="smoke run: H in {64, 128}, 1 run")
    args = p.parse_args(argv)
    if args.quick:
        args.hidden, args.runs = [64, 128], 1
    rows = []
    with tempfile.TemporaryDirectory(prefix="ernnc-bench-") as tmp:
        warm_up = Path(tmp) / "warm_up.onnx"  # the first compile in a process loads lazily
        onnx.save(rnn_model("LSTM", 4, 4, layers=args.layers), warm_up)
        time_stages(warm_up, Path(tmp) / "warm_up")
        for h in args.hidden:
            proto = rnn_model("LSTM", args.input, h, layers=args.layers, seed=h)
            path = Path(tmp) / f"lstm_h{h}.onnx"
            onnx.save(proto, path)
            row = Row(h, param_count(proto), cli=time_cli(path, Path(tmp) / f"cli_h{h}", args.runs))
            for k in range(args.runs):
                t = time_stages(path, Path(tmp) / f"api_h{h}_{k}")
                row.stages = {s: min(t[s], row.stages.get(s, t[s])) for s in STAGES}
            rows.append(row)
    print(tables(rows, args.runs, f"{args.layers}-layer LSTM, input {args.input}"))
    return 0


if __name__ == "__main__":
    sys.exit(main())
