#!/usr/bin/env python3
"""C simulation of the generated HLS designs: code size and wall time
against model size.

    python bench/bench_hls.py [--quick] [--steps 32] [-O 2]

For LSTMs (input = hidden = H) dense and block-circulant (b = 8), in float
and at ``auto:16``: the weights (parameters stored), the generated code
(lines and bytes of <top>.cpp, and of the weights header), the time to
emit the project, to compile the testbench with g++, and to run one
sequence of --steps steps through it (median of 3), with the NumPy model's
time on the same sequence as the baseline (both single-threaded). The C
simulation must equal the NumPy model (bit for bit in fixed point) for a
row to be printed.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from rnn_models import rnn_model  # noqa: E402

from ernnc.compiler.api import compile_module  # noqa: E402
from ernnc.compiler.csim import run_csim  # noqa: E402
from ernnc.compiler.driver import HlsOptions, write_hls, write_numpy  # noqa: E402
from ernnc.compiler.pipeline import PipelineOptions  # noqa: E402


def stored_params(module) -> int:  # noqa: ANN001
    from ernnc.dialects.shapes import tensor_shape

    total = 0
    for op in module.walk():
        if op.name in ("arith.constant", "fxp.constant"):
            total += int(np.prod(tensor_shape(op.results[0].type), dtype=np.int64))
    return total


def one(hidden: int, block: int, precision: str, steps: int, opt: str, root: Path) -> dict:
    quantized = precision != "float"
    options = PipelineOptions(
        block_size=str(block),
        precision=precision,
        activations="pwl:64" if quantized else "exact",
    )
    model = rnn_model("LSTM", hidden, hidden, seed=0)
    module = compile_module(model, "quantized" if quantized else "fft", options)
    out = root / f"h{hidden}-b{block}-{precision.replace(':', '')}"
    out.mkdir()
    start = time.perf_counter()
    write_hls(module, out / "hls", HlsOptions())
    emit = time.perf_counter() - start
    write_numpy(module, out)
    x = np.random.default_rng(1).standard_normal((steps, 1, hidden)).astype(np.float32)
    np.savez(out / "in.npz", X=x)
    result = run_csim(out, out / "in.npz", optimize=opt)
    if not result.ok or any(c.exact and not c.bit_equal for c in result.checks):
        raise SystemExit(f"{out.name}: the C simulation differs: {result.testbench_output}")
    runs = []
    for _ in range(3):  # the testbench again, inputs already written
        start = time.perf_counter()
        subprocess.run(
            ["./tb", "inputs.bin", "outputs.bin"], cwd=out / "hls", check=True, capture_output=True
        )
        runs.append(time.perf_counter() - start)
    import importlib.util

    spec = importlib.util.spec_from_file_location("m", out / "model_ref.py")
    ref = importlib.util.module_from_spec(spec)  # type: ignore[arg-type]
    spec.loader.exec_module(ref)  # type: ignore[union-attr]
    ref.run({"X": x})
    numpy_runs = []
    for _ in range(3):
        start = time.perf_counter()
        ref.run({"X": x})
        numpy_runs.append(time.perf_counter() - start)
    cpp = (out / "hls" / "ernnc_top.cpp").read_text()
    weights = (out / "hls" / "ernnc_top_weights.h").read_text()
    return {
        "H": hidden,
        "b": block,
        "precision": precision,
        "params": stored_params(module),
        "cpp_lines": cpp.count("\n"),
        "cpp_kb": len(cpp) / 1024,
        "weights_kb": len(weights) / 1024,
        "emit_s": emit,
        "compile_s": result.compile_seconds,
        "run_ms": 1e3 * statistics.median(runs),
        "numpy_ms": 1e3 * statistics.median(numpy_runs),
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="two small models")
    ap.add_argument("--steps", type=int, default=32)
    ap.add_argument("-O", dest="opt", default="2", choices="0123", help="g++ -O level (default 2)")
    args = ap.parse_args()
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    try:
        from threadpoolctl import threadpool_limits

        threadpool_limits(1)
    except ImportError:
        pass
    hiddens = [32, 64] if args.quick else [32, 64, 128, 256]
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for h in hiddens:
            for b in (1, 8):
                for p in ("float", "auto:16"):
                    rows.append(one(h, b, p, args.steps, f"-O{args.opt}", Path(tmp)))
                    r = rows[-1]
                    print(
                        f"  done H={h} b={b} {p}: compile {r['compile_s']:.1f} s", file=sys.stderr
                    )
    head = (
        f"{'H':>4} {'b':>2} {'precision':<9} {'params':>8} {'cpp lines':>9} {'cpp KB':>7} "
        f"{'weights KB':>10} {'emit s':>6} {'g++ s':>6} {'C-sim ms':>8} {'NumPy ms':>8}"
    )
    print(f"C simulation, T={args.steps}, N=1, g++ -O{args.opt} (run: median of 3)")
    print(head)
    for r in rows:
        print(
            f"{r['H']:>4} {r['b']:>2} {r['precision']:<9} {r['params']:>8} {r['cpp_lines']:>9} "
            f"{r['cpp_kb']:>7.1f} {r['weights_kb']:>10.1f} {r['emit_s']:>6.2f} "
            f"{r['compile_s']:>6.1f} {r['run_ms']:>8.1f} {r['numpy_ms']:>8.1f}"
        )


if __name__ == "__main__":
    main()
