#!/usr/bin/env python3
"""Error of the bit-accurate model against its float model, by total bits.

    python bench/bench_fixed.py [--quick] [--hidden 64] [--plot fixed_error.png]

An LSTM (input 32, torch-style initialisation) is compiled dense and
block-circulant (b = 4, 8, 16) at ``auto:W`` precision for W = 8..24,
calibrated on 16 random sequences and measured on 16 held-out ones from the
same distribution. For each point: SQNR (dB) of Y_h and the relative max
abs error max|q - f| / max|f| (the issue's 1% bar applies at 16 bits).
With matplotlib installed (an optional extra), ``--plot`` draws the table.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from rnn_models import rnn_model  # noqa: E402

from ernnc.compiler.api import compile_module, numpy_model  # noqa: E402
from ernnc.compiler.pipeline import PipelineOptions  # noqa: E402


def measure(model, block: str, bits: int, calib: Path, held_out: dict) -> tuple[float, float]:
    options = PipelineOptions(block_size=block, precision=f"auto:{bits}", calib=str(calib))
    want = (
        numpy_model(compile_module(model, "fft", options)).run(held_out)["Y_h"].astype(np.float64)
    )
    got = (
        numpy_model(compile_module(model, "quantized", options))
        .run(held_out)["Y_h"]
        .astype(np.float64)
    )
    noise = float(np.sum((got - want) ** 2))
    sqnr = 10 * np.log10(float(np.sum(want**2)) / noise) if noise else float("inf")
    return sqnr, float(np.abs(got - want).max() / np.abs(want).max())


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="fewer points, a few seconds")
    ap.add_argument("--hidden", type=int, default=64)
    ap.add_argument("--plot", type=Path, help="write a plot (needs matplotlib)")
    args = ap.parse_args()
    bits = [8, 12, 16] if args.quick else [8, 10, 12, 14, 16, 18, 20, 24]
    blocks = ["1", "8"] if args.quick else ["1", "4", "8", "16"]
    model = rnn_model("LSTM", 32, args.hidden, seed=0)
    rng = np.random.default_rng(1)
    with tempfile.TemporaryDirectory() as tmp:
        calib = Path(tmp) / "calib.npz"
        np.savez(calib, X=rng.standard_normal((20, 16, 32)).astype(np.float32))
        held_out = {"X": rng.standard_normal((20, 16, 32)).astype(np.float32)}
        results = {(b, w): measure(model, b, w, calib, held_out) for b in blocks for w in bits}
    names = {b: "dense" if b == "1" else f"b={b}" for b in blocks}
    print(
        f"LSTM input 32, hidden {args.hidden}; Y_h of the bit-accurate model against float (auto:W)"
    )
    print()
    print(
        "| bits | " + " | ".join(f"{names[b]} SQNR dB | {names[b]} max rel" for b in blocks) + " |"
    )
    print("|--:|" + "--:|--:|" * len(blocks))
    for w in bits:
        cells = " | ".join(
            f"{results[b, w][0]:.1f} | {100 * results[b, w][1]:.3f}%" for b in blocks
        )
        print(f"| {w} | {cells} |")
    if args.plot:
        try:
            import matplotlib

            matplotlib.use("Agg")
            import matplotlib.pyplot as plt
        except ImportError:
            print("matplotlib is not installed: no plot (pip install matplotlib)", file=sys.stderr)
            return
        fig, ax = plt.subplots(figsize=(6, 4))
        for b in blocks:
            ax.plot(bits, [results[b, w][0] for w in bits], marker="o", label=names[b])
        ax.set_xlabel("total bits (auto integer bits)")
        ax.set_ylabel("SQNR of Y_h (dB)")
        ax.grid(True, alpha=0.3)
        ax.legend()
        fig.tight_layout()
        fig.savefig(args.plot, dpi=120)
        print(f"wrote {args.plot}")


if __name__ == "__main__":
    main()
