#!/usr/bin/env python3
"""The generated NumPy model vs onnxruntime on one single-layer LSTM / GRU, one thread each.

    python bench/bench_float.py            # LSTM and GRU, N in {1, 32}, H = I in {128, 256, 1024}
    python bench/bench_float.py --quick    # a few seconds: H = 128, N = 1, T = 20

For each size the outputs Y and Y_h are checked (max abs err <= 1e-5), then the
two runtimes are timed interleaved (numpy, ort, numpy, ort, ...) after a
warm-up. A sample is ``reps`` back-to-back runs, ``reps`` chosen so that a
sample lasts about --sample-ms; the tables show the time per run (T steps).
"""

from __future__ import annotations

import argparse
import platform
import statistics
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from typing import Any

import numpy as np
import onnx
import onnxruntime as ort
from ernnc.compiler.api import numpy_model
from rnn_models import rnn_model
from threadpoolctl import threadpool_info, threadpool_limits

TOL = 1e-5


@dataclass
class Timing:
    median: float  # seconds per run
    best: float


@dataclass
class Row:
    n: int
    h: int
    err: float
    numpy: Timing
    ort: Timing


def target(h: int) -> float:
    return 2.0 if h <= 128 else 1.5


def ort_session(model: onnx.ModelProto) -> ort.InferenceSession:
    so = ort.SessionOptions()
    so.intra_op_num_threads = 1
    so.inter_op_num_threads = 1
    so.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    return ort.InferenceSession(model.SerializeToString(), so, providers=["CPUExecutionProvider"])


def calibrate(fn: Callable[[], Any], sample_s: float) -> int:
    """Runs per sample so that a sample lasts about ``sample_s``."""
    t0 = time.perf_counter()
    fn()
    return max(1, round(sample_s / max(time.perf_counter() - t0, 1e-9)))


def interleaved(
    a: Callable[[], Any], b: Callable[[], Any], rounds: int, warmup: int, sample_s: float
) -> tuple[Timing, Timing]:
    """Median and best seconds per call of ``a`` and ``b``, timed A, B, A, B, ..."""
    for _ in range(warmup):
        a()
        b()
    reps = [calibrate(a, sample_s), calibrate(b, sample_s)]
    samples: list[list[float]] = [[], []]
    for _ in range(rounds):
        for k, fn in enumerate((a, b)):
            t0 = time.perf_counter()
            for _ in range(reps[k]):
                fn()
            samples[k].append((time.perf_counter() - t0) / reps[k])
    ta, tb = (Timing(statistics.median(s), min(s)) for s in samples)
    return ta, tb


def bench(kind: str, h: int, batches: list[int], args: argparse.Namespace) -> list[Row]:
    model = rnn_model(kind, h, h, seed=h)
    ref = numpy_model(model)
    sess = ort_session(model)
    rows = []
    for n in batches:
        x = np.random.default_rng(n).standard_normal((args.seq, n, h)).astype(np.float32)
        feed = {"X": x}
        with threadpool_limits(1):
            got = ref.run(feed)
            want = dict(zip(("Y", "Y_h"), sess.run(["Y", "Y_h"], feed)))
            err = max(float(np.abs(got[k] - want[k]).max()) for k in want)
            if err > TOL:
                print(f"{kind} N={n} H={h}: max abs err {err:.2e} > {TOL:g}", file=sys.stderr)
            t_np, t_ort = interleaved(
                partial(ref.run, feed),
                partial(sess.run, None, feed),
                args.rounds,
                args.warmup,
                args.sample_ms / 1e3,
            )
        rows.append(Row(n, h, err, t_np, t_ort))
    return rows


def table(kind: str, rows: list[Row], seq: int) -> str:
    lines = [
        f"### {kind}: ms per run of T = {seq} steps",
        "",
        (
            "| N | H = I | max abs err | numpy median | numpy best | ORT median | ORT best "
            "| numpy/ORT median | numpy/ORT best | target | |"
        ),
        "|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|:-:|",
    ]
    for r in rows:
        ratio_med = r.numpy.median / r.ort.median
        ratio_best = r.numpy.best / r.ort.best
        ok = "ok" if ratio_med <= target(r.h) else "**miss**"
        lines.append(
            f"| {r.n} | {r.h} | {r.err:.1e} | {1e3 * r.numpy.median:.3f} | {1e3 * r.numpy.best:.3f} "
            f"| {1e3 * r.ort.median:.3f} | {1e3 * r.ort.best:.3f} | {ratio_med:.2f}× "
            f"| {ratio_best:.2f}× | ≤ {target(r.h):.1f}× | {ok} |"
        )
    return "\n".join(lines)


def environment() -> str:
    blas = next((i for i in threadpool_info() if i["user_api"] == "blas"), None)
    blas_s = f"{blas['internal_api']} {blas['version']} ({blas['architecture']})" if blas else "?"
    return (
        f"numpy {np.__version__}, BLAS {blas_s}, onnxruntime {ort.__version__}, "
        f"Python {platform.python_version()}, {platform.machine()}; one thread each"
    )


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--cells", nargs="+", default=["LSTM", "GRU"], choices=["LSTM", "GRU", "RNN"])
    p.add_argument("--hidden", nargs="+", type=int, default=[128, 256, 1024], help="H = I")
    p.add_argument("--batch", nargs="+", type=int, default=[1, 32])
    p.add_argument("--seq", type=int, default=100, help="T")
    p.add_argument("--rounds", type=int, default=9, help="timed samples of each runtime")
    p.add_argument("--warmup", type=int, default=2)
    p.add_argument("--sample-ms", type=float, default=50.0, help="target length of a sample")
    p.add_argument("--quick", action="store_true", help="smoke run: H=128, N=1, T=20, 3 rounds")
    args = p.parse_args(argv)
    if args.quick:
        args.hidden, args.batch, args.seq, args.rounds, args.warmup = [128], [1], 20, 3, 1
        args.sample_ms = 10.0
    print(environment())
    print()
    worst = 0.0
    for kind in args.cells:
        rows = [r for h in args.hidden for r in bench(kind, h, args.batch, args)]
        rows.sort(key=lambda r: (r.n, r.h))
        worst = max(worst, *(r.err for r in rows))
        print(table(kind, rows, args.seq))
        print()
    return 0 if worst <= TOL else 1


if __name__ == "__main__":
    sys.exit(main())
