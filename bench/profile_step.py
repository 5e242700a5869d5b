#!/usr/bin/env python3
"""Where the time of one step of the generated NumPy model goes, statement by statement.

    python bench/profile_step.py                          # LSTM, H = I = 128, N = 1
    python bench/profile_step.py --cell GRU --hidden 256 --batch 32
    python bench/profile_step.py --hidden 1024 --block-size 16    # the FFT form

Takes the first scan function of the generated code, runs its set-up part on
real inputs, then times every statement of the step loop on its own (hot
cache; best of --repeat rounds, the statements interleaved so that machine
noise hits all alike), the whole loop, and the hoisted statements before the
loop (once per run). One thread. Reads the generated code only.
"""

from __future__ import annotations

import argparse
import re
import sys
import textwrap
import time
from collections.abc import Callable
from typing import Any

import numpy as np
from ernnc.backends.numpy import emit_numpy, load_emitted
from ernnc.compiler.api import compile_module
from ernnc.compiler.pipeline import PipelineOptions
from rnn_models import rnn_model
from threadpoolctl import threadpool_limits

Bench = Callable[[dict[str, Any], int], float]


def scan_function(source: str) -> tuple[str, list[str], list[str], list[str]]:
    """Name, set-up statements, hoisted statements and loop body of the first scan."""
    start = source.index("\ndef _scan") + 1
    lines = source[start:].split("\n\n", 1)[0].splitlines()
    name = lines[0][len("def ") : lines[0].index("(")]
    loop = next(k for k, s in enumerate(lines) if s.strip().startswith("for t in"))
    setup = [s[4:] for s in lines[1:loop] if not s.strip().startswith('"""')]
    body = []
    for s in lines[loop + 1 :]:
        if not s.startswith(" " * 8):
            break
        body.append(s[8:])
    hoisted = [s for s in setup if "@" in s or re.match(r"\w+ = np\.(add|matmul)\(", s)]
    return name, setup, hoisted, body


def scan_namespace(module: Any, name: str, run: Callable[[], object]) -> dict[str, Any]:
    """The arguments the model passes to scan function ``name`` when it runs."""
    original = getattr(module, name)
    captured: dict[str, Any] = {}

    def spy(*args: Any) -> Any:
        params = original.__code__.co_varnames[: original.__code__.co_argcount]
        captured.update(zip(params, args))
        return original(*args)

    setattr(module, name, spy)
    try:
        run()
    finally:
        setattr(module, name, original)
    return {**vars(module), **captured}  # the module's helpers (np, _pad, ...) too


def compile_bench(stmt: str, ns: dict[str, Any]) -> Bench:
    """A function running ``stmt`` n times with ns's values as fast locals, as in the model."""
    names = [k for k in ns if k.isidentifier()]
    code = "def bench(_ns, _n, _clock):\n"
    code += "".join(f"    {k} = _ns[{k!r}]\n" for k in names)
    code += "    _t0 = _clock()\n    for _ in range(_n):\n"
    code += textwrap.indent(stmt, " " * 8) + "\n    return (_clock() - _t0) / _n\n"
    env: dict[str, Any] = {}
    exec(code, env)  # noqa: S102 - our own generated code
    fn = env["bench"]
    return lambda ns_, n: fn(ns_, n, time.perf_counter)


def best_times(stmts: list[tuple[str, int]], ns: dict[str, Any], repeat: int) -> list[float]:
    """Best seconds per execution of each (statement, executions per sample)."""
    benches = [(compile_bench(s, ns), n) for s, n in stmts]
    best = [float("inf")] * len(stmts)
    for _ in range(repeat):
        for k, (fn, n) in enumerate(benches):
            best[k] = min(best[k], fn(ns, n))
    return best


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--cell", default="LSTM", choices=["LSTM", "GRU", "RNN"])
    p.add_argument("--hidden", type=int, default=128, help="H = I")
    p.add_argument("--batch", type=int, default=1, help="N")
    p.add_argument("--seq", type=int, default=100, help="T")
    p.add_argument("--repeat", type=int, default=30, help="rounds; the best round counts")
    p.add_argument("--block-size", default="1", help="as ernnc's: b > 1 profiles the FFT form")
    args = p.parse_args(argv)
    h, n, seq = args.hidden, args.batch, args.seq

    options = PipelineOptions(block_size=args.block_size)
    emitted = emit_numpy(compile_module(rnn_model(args.cell, h, h, seed=h), "fft", options))
    module = load_emitted(emitted)
    name, setup, hoisted, body = scan_function(emitted.source)
    x = np.random.default_rng(0).standard_normal((seq, n, h)).astype(np.float32)
    with threadpool_limits(1):
        ns = scan_namespace(module, name, lambda: module.run({"X": x}))
        exec("\n".join(setup), ns)  # noqa: S102 - the loop's buffers, on real data
        ns["t"] = seq // 2
        per_step = max(1, 2_000 // max(1, h * n // 128))
        loop = f"for t in range({seq}):\n" + textwrap.indent("\n".join(body), "    ")
        stmts = [(s, per_step) for s in body] + [(loop, max(1, per_step // seq))]
        stmts += [(s, max(1, per_step // seq)) for s in hoisted]
        times = best_times(stmts, ns, args.repeat)
    step, whole, pre = times[: len(body)], times[len(body)], times[len(body) + 1 :]

    us = 1e6
    form = f", b = {args.block_size}" if args.block_size != "1" else ""
    print(f"### {args.cell} H = I = {h}, N = {n}{form}: {name}, {len(body)} statements per step")
    print()
    print("| µs | % of sum | statement |")
    print("|--:|--:|:--|")
    total = sum(step)
    for s, t in zip(body, step):
        print(f"| {us * t:.2f} | {100 * t / total:.0f}% | `{s}` |")
    print(f"| **{us * total:.2f}** | 100% | sum of the statements |")
    print(f"| **{us * whole / seq:.2f}** | | per step, running the loop of {seq} steps |")
    for s, t in zip(hoisted, pre):
        print(f"| {us * t / seq:.2f} | | per step ({us * t:.0f} µs per run), hoisted: `{s}` |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
