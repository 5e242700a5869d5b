"""``ernnc``: compile an ONNX LSTM/GRU/RNN model.

Only argparse is imported at start-up; the compiler itself (xDSL, ONNX)
loads when there is something to compile, so ``ernnc --help`` stays fast.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Callable
from pathlib import Path

# Stage names and descriptions, kept in sync with pipeline.STAGES by a test
# (importing the pipeline here would load xDSL for --help).
STAGE_HELP = {
    "import": "model level: one ernn op per ONNX LSTM/GRU/RNN node, nn ops around them",
    "cell": "cell level: one cell.scan per direction, matvecs sharing an input fused",
    "circulant": "weight matrices projected onto block-circulant ones (--block-size)",
    "fft": "decoupled FFT form: rfft, frequency-domain MAC, one irfft per output block",
    "quantized": "fixed-point types (--precision): exact arithmetic, explicit casts, fitted activations",
    "scheduled": "parallelism sized to the FPGA (--device, --clock, --schedule): what pragmas and estimates read",
}

EPILOG = """\
stages (--emit, --from, --list-stages):
{stages}

outputs (-o OUT):
  OUT/model_ref.py   NumPy reference model: run(inputs) -> outputs, keyed by ONNX names;
                     also `python model_ref.py --inputs in.npz --outputs out.npz`; with
                     --precision it computes bit-accurately in fixed point
  OUT/weights.npz    its weights
  OUT/model_float.py the float model it quantizes (with --precision; run_float() and --float
                     in model_ref.py run it), weights in OUT/weights_float.npz
  OUT/report.json    matrices, compression, formats, ranges, overflows, errors (docs/report.md)
  OUT/hls/           Vitis HLS project (--target hls or all): <top>.cpp/.h, <top>_weights.h,
                     tb.cpp, Makefile (g++ C simulation), build.tcl (Vitis), design.json;
                     `ernnc csim OUT` compiles and checks it against model_ref.py (docs/hls.md)

examples:
  ernnc model.onnx -o out/
  ernnc model.onnx -o out/ --block-size 8
  ernnc model.onnx -o out/ --block-size 'default=16,layer0.W=8,layer1=4' --calib calib.npz
  ernnc model.onnx -o out/ --block-size 8 --precision 'fixed<16,6>' --calib calib.npz
  ernnc model.onnx -o out/ --precision auto:16 --calib calib.npz --activations lut:1024
  ernnc model.onnx -o out/ --block-size 8 --precision 'fixed<16,6>' --part xcku060-ffva1156-2-e
  ernnc csim out/ --inputs in.npz
  ernnc explore model.onnx --calib calib.npz --max-error 0.01 -o explore/
  ernnc model.onnx --emit cell
  ernnc model.onnx -o out/ --dump-ir ir/
  ernnc ir/01-convert-ernn-to-cell.mlir -o out/
"""


def build_parser() -> argparse.ArgumentParser:
    stages = "\n".join(f"  {k:<8} {v}" for k, v in STAGE_HELP.items())
    p = argparse.ArgumentParser(
        prog="ernnc",
        description="Compile an ONNX LSTM/GRU/RNN model into a block-circulant, fixed-point\n"
        "FPGA accelerator (a Vitis HLS project) and a bit-accurate NumPy model of it.\n"
        "`ernnc csim OUT` checks the project's C simulation against the NumPy model "
        "(ernnc csim --help); `ernnc explore MODEL -o OUT` sweeps block size, precision, "
        "activations and parallelism for the Pareto front (ernnc explore --help).",
        epilog=EPILOG.format(stages=stages),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("model", nargs="?", type=Path, help="ONNX model (.onnx) or IR dump (.mlir)")
    p.add_argument("-o", "--output", type=Path, metavar="OUT", help="output directory")
    p.add_argument(
        "--block-size",
        metavar="SPEC",
        default="1",
        help="block-circulant block size of the recurrent weight matrices: N, or per matrix "
        "'default=16,layer0.W=8,layer1=4' (selectors layerK, layerK.W|R, layerK.fwd|bwd, "
        "layerK.fwd.W); 1 keeps a matrix dense (default); the FFT form needs powers of two",
    )
    p.add_argument(
        "--calib",
        type=Path,
        metavar="FILE.npz",
        help="inputs keyed by input name: calibrate the fixed-point formats and measure output "
        "errors on them (default: random inputs, with a note in the report)",
    )
    p.add_argument(
        "--precision",
        metavar="SPEC",
        default="float",
        help="fixed-point formats: 'fixed<16,6>', 'auto:16' (integer bits from calibrated ranges), or "
        "per target 'default=fixed<16,6,RND,SAT>; weights=fixed<12,2>; acc=fixed<32,12>; "
        "layer1.state=fixed<18,8>' (targets weights, bias, acc, spectrum, state, act, input, "
        "output; docs/precision.md); default float",
    )
    p.add_argument(
        "--activations",
        metavar="IMPL",
        help="activation implementation: pwl:N (N fitted linear segments; default pwl:64 in fixed "
        "point), lut:N (a table of N entries), or exact (float only, the default there)",
    )
    p.add_argument(
        "--target",
        choices=("all", "numpy", "hls"),
        default="all",
        help="what to write to OUT: numpy (the NumPy model and report), hls (the HLS project, "
        "with the NumPy model `ernnc csim` checks it against), all (both; default)",
    )
    p.add_argument(
        "--device",
        default="ku060",
        help="FPGA the design is scheduled and estimated for (default ku060, the Kintex "
        "UltraScale KU060 of ESE and C-LSTM; --list-devices)",
    )
    p.add_argument(
        "--clock",
        type=float,
        default=200.0,
        metavar="MHZ",
        help="target clock in MHz (default 200)",
    )
    p.add_argument(
        "--schedule",
        metavar="SPEC",
        default="",
        help="fix parts of the schedule instead of choosing them: 'parallel=16,layer1.lanes=4,"
        "layer0.bwd.units=2' (parallel: output blocks per cycle of each MAC; units: FFTs at once; "
        "lanes: elements per cycle of element-wise loops)",
    )
    p.add_argument(
        "--max-util",
        type=float,
        default=0.8,
        metavar="FRACTION",
        help="share of each FPGA resource the schedule may use (default 0.8)",
    )
    p.add_argument(
        "--part",
        default=None,
        help="FPGA part of the HLS project (default: the device's, e.g. xcku060-ffva1156-2-e)",
    )
    p.add_argument("--list-devices", action="store_true", help="list the FPGA devices and exit")
    p.add_argument(
        "--top",
        default="ernnc_top",
        help="name of the HLS top function and its files (default ernnc_top)",
    )
    p.add_argument(
        "--max-dims",
        metavar="SPEC",
        default="",
        help="bounds of the model's symbolic dims for the HLS buffers, e.g. 'T=512,N=4' "
        "(default 1 for a batch dim, 128 for the others; ernnc csim raises them as its "
        "inputs need)",
    )
    p.add_argument("-q", "--quiet", action="store_true", help="do not print the summary table")
    p.add_argument("--emit", metavar="STAGE", help="print the IR after STAGE to stdout and stop")
    p.add_argument(
        "--from",
        dest="from_stage",
        metavar="STAGE",
        help="the stage of an .mlir input (default: detected)",
    )
    p.add_argument("--list-stages", action="store_true", help="list the stages and exit")
    p.add_argument(
        "--list-passes",
        action="store_true",
        help="list the passes (ernnc's with their options, plugins', xDSL's) and exit",
    )
    p.add_argument(
        "--load-pass-plugin",
        action="append",
        default=[],
        metavar="PATH|MODULE",
        help="load the passes of a .py file, package directory or module, for --passes "
        "(repeatable; see docs/writing-a-pass.md)",
    )
    p.add_argument(
        "--passes", metavar="PIPELINE", help="run this pass pipeline instead of the default one"
    )
    p.add_argument(
        "--print-pipeline", action="store_true", help="print the default pass pipeline and exit"
    )
    p.add_argument(
        "--dump-ir",
        type=Path,
        metavar="DIR",
        help="write the IR after each pass to DIR/NN-<pass>.mlir",
    )
    p.add_argument(
        "--print-ir-after-all", action="store_true", help="print the IR after every pass"
    )
    p.add_argument(
        "--print-ir-after",
        action="append",
        metavar="PASS",
        default=[],
        help="print the IR after PASS",
    )
    p.add_argument(
        "--verify-each",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="verify the IR after every pass",
    )
    p.add_argument("--time-passes", action="store_true", help="print the time each pass took")
    p.add_argument(
        "--traceback", action="store_true", help="show Python tracebacks of internal errors"
    )
    p.add_argument("--version", action="store_true", help="print the version and exit")
    return p


def _run_subcommand(run: Callable[[list[str]], int], argv: list[str]) -> int:
    try:
        return run(argv)
    except BrokenPipeError:  # the reader left early: ernnc csim OUT | head
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["csim"]:
        from .csim import main as csim_main

        return _run_subcommand(csim_main, argv[1:])
    if argv[:1] == ["explore"]:
        from .explore import main as explore_main

        return _run_subcommand(explore_main, argv[1:])
    args = build_parser().parse_args(argv)
    try:
        return _main(args)
    except KeyboardInterrupt:
        print("ernnc: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:  # the reader left early: ernnc --list-passes | head
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0
    except Exception as e:
        from .errors import exit_status

        return exit_status("ernnc", e, args.traceback)


def _pipeline_options(args: argparse.Namespace):
    from ..passes.quantize import activation_spec
    from ..precision import PrecisionError, parse_precision
    from .errors import ErnncError
    from .pipeline import PipelineOptions

    try:
        quantized = not parse_precision(args.precision).is_float
    except PrecisionError as e:
        raise ErnncError(f"--precision: {e}") from None
    impl = args.activations or ("pwl:64" if quantized else "exact")
    if impl == "exact":
        if quantized:
            raise ErnncError(
                "--activations exact needs float precision; use pwl:N or lut:N in fixed point"
            )
    elif activation_spec(impl) is None:
        raise ErnncError(
            f"--activations {impl!r}: expected pwl:N, lut:N (2 <= N <= 65536) or exact"
        )
    elif not quantized:
        raise ErnncError(
            f"--activations {impl}: approximate activations need --precision fixed<...> or auto"
        )
    calib = str(args.calib) if args.calib is not None else ""
    from ..hardware.devices import device

    try:
        device(args.device)
    except ValueError as e:
        raise ErnncError(f"--device: {e}") from None
    if not 0 < args.max_util <= 1:
        raise ErnncError(f"--max-util {args.max_util:g}: expected a fraction in (0, 1]")
    if not 0 < args.clock < float("inf"):
        raise ErnncError(f"--clock {args.clock:g}: expected a positive frequency in MHz")
    return PipelineOptions(
        block_size=args.block_size,
        precision=args.precision,
        activations=impl,
        calib=calib,
        device=args.device,
        clock=args.clock,
        schedule=args.schedule,
        max_dims=args.max_dims,
        max_util=args.max_util,
    )


def _refuse_pipeline_flags(args: argparse.Namespace) -> None:
    """--passes replaces the pipeline that these flags build: refuse them
    rather than drop them silently."""
    from .errors import ErnncError

    given = [
        flag
        for flag, value, default in (
            ("--block-size", args.block_size, "1"),
            ("--precision", args.precision, "float"),
            ("--activations", args.activations, None),
            ("--device", args.device, "ku060"),
            ("--schedule", args.schedule, ""),
            ("--max-util", args.max_util, 0.8),
        )
        if value != default
    ]
    if given:
        raise ErnncError(
            f"{given[0]} builds the default pipeline, which --passes replaces; "
            "give the pass its option in --passes instead (ernnc --print-pipeline "
            f"{given[0]} ... shows the pipeline it builds)"
        )


def _main(args: argparse.Namespace) -> int:
    from .errors import ErnncError

    if args.version:
        from .. import __version__

        print(f"ernnc {__version__}")
        return 0
    if args.list_stages:
        for k, v in STAGE_HELP.items():
            print(f"{k:<9} {v}")
        return 0
    if args.list_devices:
        from ..hardware.devices import devices

        for d in devices().values():
            print(
                f"{d.key:<7} {d.name:<32} DSP {d.dsp:>6,}  BRAM36 {d.bram36:>5,}  URAM {d.uram:>5,}  "
                f"LUT {d.lut:>9,}  FF {d.ff:>9,}  {d.part}"
            )
        return 0
    if args.load_pass_plugin:
        from .plugins import load_pass_plugin

        for spec in args.load_pass_plugin:
            load_pass_plugin(spec)
    if args.list_passes:
        from .passinfo import pass_listing

        print(pass_listing())
        return 0
    options = _pipeline_options(args)
    if args.passes is not None:
        _refuse_pipeline_flags(args)
    if args.print_pipeline:
        from .pipeline import default_pipeline, pipeline_spec

        print(pipeline_spec(default_pipeline(options)))
        return 0
    if args.model is None:
        raise ErnncError("no model given (see ernnc --help)")
    for name, value in (("--emit", args.emit), ("--from", args.from_stage)):
        if value is not None and value not in STAGE_HELP:
            raise ErnncError(f"{name}: unknown stage {value!r}; stages are {', '.join(STAGE_HELP)}")
    if args.emit is not None and args.output is not None:
        raise ErnncError("--emit prints IR and stops before any output; give either --emit or -o")
    if (
        args.emit is None
        and args.output is None
        and not (args.print_ir_after_all or args.print_ir_after)
    ):
        raise ErnncError("nothing to do: give -o OUT, --emit STAGE or --print-ir-after")

    from .driver import (
        CompileRequest,
        HlsOptions,
        build_report,
        compile_to_ir,
        write_hls,
        write_numpy,
        write_output_dir,
    )
    from .pipeline import default_pipeline, pipeline_spec

    print_after: set[str] | None = None
    if args.print_ir_after_all:
        print_after = {"*"}
    elif args.print_ir_after:
        print_after = set(args.print_ir_after)
    req = CompileRequest(
        model=args.model,
        output=args.output,
        emit=args.emit,
        from_stage=args.from_stage,
        passes=args.passes,
        options=options,
        dump_ir=args.dump_ir,
        print_after=print_after,
        verify_each=args.verify_each,
        time_passes=args.time_passes,
    )
    pipeline = args.passes if args.passes is not None else pipeline_spec(default_pipeline(options))
    if args.print_ir_after:
        from .pipeline import parse_passes

        names = list(dict.fromkeys(p.name for p in parse_passes(pipeline)))
        for name in args.print_ir_after:
            if name not in names:
                raise ErnncError(
                    f"--print-ir-after {name}: no such pass in the pipeline "
                    f"({', '.join(names)}; ernnc --print-pipeline shows it)"
                )
    if args.calib is not None and not args.calib.exists():
        raise ErnncError(f"calibration file {args.calib}: no such file")
    hls = HlsOptions.parse(args.top, args.part, args.clock, args.max_dims)
    result = compile_to_ir(req, keep=("cell", "circulant", "fft"))
    if args.emit is None and args.output is not None:
        import json

        from .report import format_table, large_error_warnings

        report = build_report(result, args.model, args.calib, pipeline, dict(hls.max_dims))

        def write(directory: Path) -> None:
            float_model = result.snapshots.get("fft") if options.quantized else None
            write_numpy(result.module, directory, float_model)
            if args.target in ("hls", "all"):
                write_hls(result.module, directory / "hls", hls)
            (directory / "report.json").write_text(
                json.dumps(report, indent=2) + "\n", encoding="utf-8"
            )

        write_output_dir(args.output, write)
        if options.quantized and "fft" not in result.snapshots and args.passes is None:
            print(
                "ernnc: note: no model_float.py: the float model is the fft stage's IR and the "
                "input is past it (re-enter from a dump at or before fft to get one)",
                file=sys.stderr,
            )
        if not args.quiet:
            print(format_table(report))
        for warning in large_error_warnings(report):
            print(f"ernnc: {warning}", file=sys.stderr)
        if "does_not_fit" in report.get("hardware", {}):
            print(f"ernnc: warning: {report['hardware']['does_not_fit']}", file=sys.stderr)
    if args.time_passes:
        result.runner.report_times(sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
