#!/usr/bin/env python3
"""HLS C-simulation error of ernnc against hls4ml on the same PyTorch LSTM (informative).

    python bench/bench_hls4ml.py --ernnc /path/to/ernnc-venv/bin/ernnc [--quick] [--keep DIR]

Run it with a Python that has hls4ml 1.3 with its real dependencies, torch and
onnx (see bench/README.md for the venv); ernnc is called through its CLI (the
``ernnc`` of another venv, ``--ernnc``), so hls4ml never enters ernnc's
environment. Both tools' C simulations compile against the ap_types headers
of the hls4ml package imported here (ernnc's through ``--ap-include``).

One torch ``nn.LSTM`` (input 16, hidden 32 and 64, one layer, batch_first),
with weights at the scale of a trained model rather than torch's initial one
(input weights N(0, 1/I), orthogonal recurrent blocks, forget-gate bias 1),
is

- converted with hls4ml's PyTorch frontend (io_parallel, Vitis backend,
  default config from ``config_from_pytorch_model`` at a default precision),
  compiled (``hls_model.compile()``: g++ shared library) and run with
  ``hls_model.predict`` one sequence at a time;
- exported to ONNX (``torch.onnx.export(..., dynamo=False)``, output h_n),
  compiled with ``ernnc MODEL -o OUT --precision P --calib calib.npz`` and
  simulated with ``ernnc csim OUT --inputs eval.npz``, which compiles the
  testbench with g++, runs all sequences as one batch and checks the result
  against ernnc's NumPy model bit for bit.

The compared output is the final hidden state h_T, the one output hls4ml's
PyTorch LSTM has (it returns the last step only). Errors are against the
torch float64 model on ``--samples`` random N(0, 1) sequences; ernnc's
``auto`` formats are calibrated on as many other sequences from the same
distribution. hls4ml gets no calibration: its default flow has none.
"""

from __future__ import annotations

import argparse
import contextlib
import copy
import importlib.util
import io
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
import warnings
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

INPUT = 16


@dataclass
class Row:
    hidden: int
    tool: str
    precision: str
    activations: str
    got: np.ndarray  # h_T, [N, H]
    build_s: float  # g++ build of the C simulation
    codegen_s: float  # conversion / compilation to the HLS project
    bit_equal: str = "n/a"  # ernnc: C-sim against its NumPy model
    own_float_err: float | None = None  # ernnc: max |C-sim - its own float model|
    notes: list[str] = field(default_factory=list)


def trained_like_lstm(hidden: int, seed: int):
    """An nn.LSTM with weights at a trained model's scale. Torch's initial
    U(±1/sqrt(H)) weights keep every gate near 0 and h small; here the
    pre-activations spread over a few units and the gates saturate at times."""
    import torch
    from torch import nn

    torch.manual_seed(seed)
    rnn = nn.LSTM(INPUT, hidden, num_layers=1, batch_first=True)
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        rnn.weight_ih_l0.copy_(torch.randn(4 * hidden, INPUT, generator=g) / INPUT**0.5)
        blocks = [torch.linalg.qr(torch.randn(hidden, hidden, generator=g))[0] for _ in range(4)]
        rnn.weight_hh_l0.copy_(torch.cat(blocks, 0))
        rnn.bias_ih_l0.copy_(0.1 * torch.randn(4 * hidden, generator=g))
        rnn.bias_hh_l0.copy_(0.1 * torch.randn(4 * hidden, generator=g))
        rnn.bias_ih_l0[hidden : 2 * hidden] += 1.0  # forget gate (torch order i, f, g, o)
    return rnn.eval()


def wrappers(rnn):
    from torch import nn

    class LastStep(nn.Module):
        """hls4ml's form (as in its tests): the LSTM's first output; hls4ml
        turns it into h_T, [N, H]."""

        def __init__(self) -> None:
            super().__init__()
            self.rnn = rnn

        def forward(self, x):
            out, (_, _) = self.rnn(x)
            return out

    class FinalState(nn.Module):
        """ernnc's form: h_n, [1, N, H] (ONNX Y_h)."""

        def __init__(self) -> None:
            super().__init__()
            self.rnn = rnn

        def forward(self, x):
            _, (h, _) = self.rnn(x)
            return h

    return LastStep().eval(), FinalState().eval()


def torch_reference(rnn, x: np.ndarray) -> np.ndarray:
    import torch

    ref = copy.deepcopy(rnn).double()
    with torch.no_grad():
        _, (h, _) = ref(torch.from_numpy(x.astype(np.float64)))
    return h[0].numpy()


def export_onnx(module, path: Path, steps: int) -> None:
    import torch

    x = torch.zeros(1, steps, INPUT)
    with warnings.catch_warnings(), torch.no_grad():
        warnings.simplefilter("ignore")
        torch.onnx.export(
            module,
            (x,),
            str(path),
            dynamo=False,
            input_names=["x"],
            output_names=["h_n"],
            dynamic_axes={"x": {0: "N", 1: "T"}, "h_n": {1: "N"}},
            opset_version=17,
        )


def ap_types_dir() -> Path:
    import hls4ml

    return Path(hls4ml.__file__).parent / "templates" / "vivado" / "ap_types"


def run_hls4ml(module, hidden, x, precision, out: Path, table_size: int | None = None) -> Row:
    import hls4ml

    steps = x.shape[1]
    log = io.StringIO()
    start = time.perf_counter()
    with contextlib.redirect_stdout(log), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        config = hls4ml.utils.config_from_pytorch_model(
            module,
            (steps, INPUT),
            granularity="name",
            backend="Vitis",
            default_precision=precision,
            channels_last_conversion="off",
            transpose_outputs=False,
        )
        if table_size is not None:
            config["LayerName"]["rnn"]["TableSize"] = table_size
        model = hls4ml.converters.convert_from_pytorch_model(
            module,
            hls_config=config,
            output_dir=str(out),
            backend="Vitis",
            io_type="io_parallel",
        )
        model.write()
    codegen = time.perf_counter() - start
    start = time.perf_counter()
    with contextlib.redirect_stdout(log):
        model.compile()  # writes the project again (as long as write() above), then g++
    build = time.perf_counter() - start
    got = np.asarray(model.predict(np.ascontiguousarray(x, dtype=np.float32)))
    got = got.reshape(x.shape[0], hidden)
    defines = (out / "firmware" / "defines.h").read_text()
    types: dict[str, list[str]] = {}
    for t, name in re.findall(r"typedef (ap_\S+) (\w+)_t;", defines):
        types.setdefault(t, []).append(name.removeprefix("rnn_"))
    size = config["LayerName"]["rnn"]["TableSize"]
    row = Row(hidden, "hls4ml 1.3.0", precision, f"LUT {size}", got, build, codegen)
    row.notes.append("; ".join(f"{'/'.join(v)} {k}" for k, v in types.items()))
    return row


def load_module(path: Path, name: str):  # a generated module
    spec = importlib.util.spec_from_file_location(name, path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def read_tensors(path: Path) -> list[np.ndarray]:
    """The testbench's tensor file (ernnc.backends.hls.tensorfile): per
    tensor an int32 rank, int64 dims, float32 elements, little-endian."""
    raw = path.read_bytes()
    out, at = [], 0
    while at < len(raw):
        rank = int(np.frombuffer(raw, "<i4", 1, at)[0])
        dims = tuple(int(d) for d in np.frombuffer(raw, "<i8", rank, at + 4))
        at += 4 + 8 * rank
        n = int(np.prod(dims, dtype=np.int64))
        out.append(np.frombuffer(raw, "<f4", n, at).reshape(dims).copy())
        at += 4 * n
    return out


def run_ernnc(ernnc, onnx_path, hidden, precision, activations, block, calib, inputs, out) -> Row:
    cmd = [ernnc, str(onnx_path), "-o", str(out), "--precision", precision, "-q"]
    cmd += ["--activations", activations, "--block-size", str(block), "--calib", str(calib)]
    start = time.perf_counter()
    subprocess.run(cmd, check=True)
    codegen = time.perf_counter() - start
    sim = subprocess.run(
        [ernnc, "csim", str(out), "--inputs", str(inputs), "--ap-include", str(ap_types_dir())],
        check=False,  # status 1: a mismatch, reported in the table
        capture_output=True,
        text=True,
    )
    if sim.returncode not in (0, 1) or not (out / "hls" / "outputs.bin").is_file():
        sys.exit(f"ernnc csim failed:\n{sim.stdout}{sim.stderr}")
    build = float(re.search(r"compile ([\d.]+) s", sim.stdout).group(1))
    identical = sim.returncode == 0 and re.search(r"\bidentical\b", sim.stdout) is not None
    (h_n,) = read_tensors(out / "hls" / "outputs.bin")
    x = np.load(inputs)["x"]
    own_float = load_module(out / "model_ref.py", f"model_ref_{out.name}").run_float({"x": x})
    prec = precision if block == 1 else f"{precision}, b={block}"
    row = Row(hidden, "ernnc", prec, activations, h_n[0], build, codegen)
    row.bit_equal = "yes" if identical else "NO"
    row.own_float_err = float(np.abs(h_n[0] - own_float["h_n"][0]).max())
    return row


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument(
        "--ernnc",
        default=os.environ.get("ERNNC") or shutil.which("ernnc"),
        help="the ernnc command (default: $ERNNC, then ernnc on PATH)",
    )
    ap.add_argument("--hidden", type=int, nargs="+", default=[32, 64])
    ap.add_argument("--samples", type=int, default=32, help="evaluation sequences (default 32)")
    ap.add_argument("--steps", type=int, default=20, help="sequence length (default 20)")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument(
        "--quick", action="store_true", help="hidden 32, 8 sequences, one configuration per tool"
    )
    ap.add_argument("--keep", type=Path, metavar="DIR", help="keep the projects in DIR")
    args = ap.parse_args()
    if not args.ernnc or shutil.which(args.ernnc) is None:
        sys.exit("no ernnc command: pass --ernnc /path/to/venv/bin/ernnc or set $ERNNC")
    try:
        import hls4ml  # noqa: F401
        import onnx  # noqa: F401
        import torch
    except ImportError as e:
        sys.exit(f"{e}: run this with a Python that has hls4ml, torch and onnx (bench/README.md)")
    torch.set_num_threads(1)
    if args.quick:
        args.hidden, args.samples = [32], 8
        h4_configs = [("ap_fixed<16,6>", None)]
        ernnc_configs = [("fixed<16,6>", "pwl:64", 1), ("auto:16", "pwl:64", 1)]
    else:
        h4_configs = [
            ("ap_fixed<16,6>", None),
            ("ap_fixed<16,6,AP_RND,AP_SAT>", None),
            ("ap_fixed<12,4>", None),
            ("ap_fixed<32,12>", None),  # not equal bits: shows hls4ml matches torch when wide
        ]
        ernnc_configs = [
            ("fixed<16,6>", "pwl:64", 1),
            ("fixed<16,6>", "lut:1024", 1),
            ("fixed<16,6,RND,SAT>", "pwl:64", 1),
            ("fixed<12,4>", "pwl:64", 1),
            ("auto:16", "pwl:64", 1),
            ("auto:12", "pwl:64", 1),
            ("auto:16", "pwl:64", 8),
        ]

    rng = np.random.default_rng(args.seed)
    x_eval = rng.standard_normal((args.samples, args.steps, INPUT)).astype(np.float32)
    x_calib = rng.standard_normal((args.samples, args.steps, INPUT)).astype(np.float32)
    # both tools quantize their inputs to the same grid; evaluate on exactly representable
    # values so that the torch reference sees what the hardware sees (2^-8 fits every format here)
    x_eval = np.round(x_eval * 256) / 256

    rows: list[Row] = []
    refs: dict[int, np.ndarray] = {}
    with contextlib.ExitStack() as stack:
        if args.keep:
            work = args.keep
            work.mkdir(parents=True, exist_ok=True)
        else:
            work = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="bench_hls4ml_")))
        np.savez(work / "eval.npz", x=x_eval)
        np.savez(work / "calib.npz", x=x_calib)
        for hidden in args.hidden:
            rnn = trained_like_lstm(hidden, args.seed + hidden)
            last_step, final_state = wrappers(rnn)
            refs[hidden] = torch_reference(rnn, x_eval)
            onnx_path = work / f"lstm_h{hidden}.onnx"
            export_onnx(final_state, onnx_path, args.steps)
            for precision, table in h4_configs:
                tag = re.sub(r"\W+", "_", precision)
                print(f"H={hidden}: hls4ml {precision}", file=sys.stderr)
                rows.append(
                    run_hls4ml(
                        last_step, hidden, x_eval, precision, work / f"h4_h{hidden}_{tag}", table
                    )
                )
            for precision, act, block in ernnc_configs:
                tag = re.sub(r"\W+", "_", f"{precision}_{act}_b{block}")
                print(f"H={hidden}: ernnc {precision} {act} b={block}", file=sys.stderr)
                rows.append(
                    run_ernnc(
                        args.ernnc,
                        onnx_path,
                        hidden,
                        precision,
                        act,
                        block,
                        work / "calib.npz",
                        work / "eval.npz",
                        work / f"er_h{hidden}_{tag}",
                    )
                )

    print(
        f"LSTM input {INPUT}, one layer, T = {args.steps}, {args.samples} sequences; "
        "h_T of the C simulation against torch float64"
    )
    print()
    print(
        "| H | tool | precision | activations | max abs err | mean abs err | max rel err "
        "| g++ build s | codegen s | C-sim = NumPy model | max abs vs own float |"
    )
    print("|--:|---|---|---|--:|--:|--:|--:|--:|---|--:|")
    notes: list[str] = []
    for r in rows:
        err = np.abs(r.got.astype(np.float64) - refs[r.hidden])
        rel = err.max() / np.abs(refs[r.hidden]).max()
        own = "" if r.own_float_err is None else f"{r.own_float_err:.2e}"
        print(
            f"| {r.hidden} | {r.tool} | {r.precision} | {r.activations} | {err.max():.2e} "
            f"| {err.mean():.2e} | {100 * rel:.2f} % | {r.build_s:.1f} | {r.codegen_s:.1f} "
            f"| {r.bit_equal} | {own} |"
        )
        notes += [f"H={r.hidden} {r.tool} {r.precision}: {n}" for n in r.notes]
    print()
    print("ernnc's `b=8` rows project the (dense-trained) weights onto 8x8 circulant blocks: their")
    print("error against torch is the projection's; the last column is the quantization's alone.")
    print()
    print("hls4ml types as generated (defines.h):")
    for n in notes:
        print(f"- {n}")


if __name__ == "__main__":
    main()
