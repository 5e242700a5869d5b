"""The ``ernnc explore`` command line: its options and ``main``."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from ..errors import exit_status
from .common import PROG
from .sweep import _run

DEFAULT_BLOCK_SIZES = "1,4,8,16"
DEFAULT_PRECISIONS = "auto:12,auto:16"
DEFAULT_ACTIVATIONS = "pwl:64,lut:1024"
DEFAULT_MAX_UTILS = "0.25,0.5,0.8"
DEFAULT_MAX_ERROR = 0.01

EPILOG = """\
the axes (docs/explore.md):
  Phase I, accuracy (compiles and runs the bit-accurate NumPy model):
    --block-sizes     block-circulant block size of every recurrent matrix (1: dense)
    --precisions      fixed-point formats, as --precision ('float' keeps the model in float)
    --activations     activation implementation of fixed-point designs (pwl:N, lut:N)
  Phase II, parallelism (the estimator only; reuses Phase I's module):
    --max-utils       share of each FPGA resource ernn-schedule may give the design; it
                      doubles the parallelism of the slowest loop while the design fits
    --schedule        knobs to fix instead of choosing them (repeatable, as ernnc --schedule)

measured per point: the relative max abs error of the outputs against the dense float model
(and argmax agreement for classifier outputs) on --calib; resources, frames/s and latency
estimated for --device at --clock. Rejected: error > --max-error, or not fitting the device.
The Pareto front: accepted points no other accepted point beats in error, frames/s and
utilization of the binding resource at once.

outputs (-o OUT):
  OUT/results.json  every point with its measures and status; OUT/results.csv the same flat
  OUT/pareto.png    the front (with matplotlib: pip install 'ernnc[plot]')
  OUT.cache/        finished points, keyed by the model's sha256 (--cache, --no-cache)

examples:
  ernnc explore model.onnx --calib calib.npz -o explore/
  ernnc explore model.onnx --calib calib.npz --max-error 0.05 --block-sizes 4,8 \\
      --precisions 'auto:12,fixed<16,6>' --activations pwl:64 --max-utils 0.5 -o explore/
  ernnc explore model.onnx --calib calib.npz -o explore/ --jobs 2
  ernnc explore model.onnx --calib calib.npz -o explore/ --executor dask://scheduler:8786
"""


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog=PROG,
        description="Sweep block size x precision x activations x parallelism of an ONNX "
        "LSTM/GRU/RNN model: measure each point's accuracy with the bit-accurate NumPy model "
        "(Phase I) and estimate its resources and throughput (Phase II); write the results and "
        "print the Pareto front.",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("model", type=Path, help="ONNX model (.onnx)")
    p.add_argument("-o", "--output", type=Path, metavar="OUT", help="output directory")
    p.add_argument(
        "--calib",
        type=Path,
        metavar="FILE.npz",
        help="inputs keyed by input name: calibration of the fixed-point formats and the inputs "
        "every point's error is measured on (default: random inputs)",
    )
    p.add_argument(
        "--max-error",
        type=float,
        default=DEFAULT_MAX_ERROR,
        metavar="REL",
        help="reject points whose relative max abs error against the dense float model "
        f"(max |got - want| / max |want|, worst output) exceeds REL (default {DEFAULT_MAX_ERROR:g})",
    )
    p.add_argument(
        "--block-sizes",
        default=DEFAULT_BLOCK_SIZES,
        metavar="LIST",
        help=f"block sizes, powers of two (default {DEFAULT_BLOCK_SIZES})",
    )
    p.add_argument(
        "--precisions",
        default=DEFAULT_PRECISIONS,
        metavar="LIST",
        help="precision specs as --precision, separated by commas outside <...> "
        f"(default {DEFAULT_PRECISIONS})",
    )
    p.add_argument(
        "--activations",
        default=DEFAULT_ACTIVATIONS,
        metavar="LIST",
        help=f"activation implementations, pwl:N or lut:N (default {DEFAULT_ACTIVATIONS}); "
        "float precisions use exact ones",
    )
    p.add_argument(
        "--max-utils",
        default=DEFAULT_MAX_UTILS,
        metavar="LIST",
        help="resource budgets of ernn-schedule, fractions of each FPGA resource "
        f"(default {DEFAULT_MAX_UTILS})",
    )
    p.add_argument(
        "--schedule",
        action="append",
        default=[],
        metavar="SPEC",
        help="schedule overrides as ernnc --schedule ('parallel=16,layer1.lanes=4'), each a "
        "variant swept with every budget (repeatable; default: none, every knob chosen)",
    )
    p.add_argument("--device", default="ku060", help="FPGA (default ku060; ernnc --list-devices)")
    p.add_argument(
        "--clock", type=float, default=200.0, metavar="MHZ", help="clock in MHz (default 200)"
    )
    p.add_argument(
        "--max-dims",
        default="",
        metavar="SPEC",
        help="bounds of the symbolic dims for the buffers, e.g. 'T=512,N=4' (default 128 each, "
        "a batch 1)",
    )
    p.add_argument(
        "--jobs",
        "-j",
        type=int,
        default=None,
        metavar="N",
        help="evaluate designs in N processes (default 1: in this process)",
    )
    p.add_argument(
        "--executor",
        default="local",
        metavar="local|dask://ADDRESS",
        help="where designs are evaluated: local (this machine, --jobs) or the Dask scheduler "
        "at ADDRESS (host:port or tcp://host:port; pip install 'ernnc[dask]')",
    )
    p.add_argument(
        "--cache",
        type=Path,
        metavar="DIR",
        help="cache of finished points (default OUT.cache beside OUT)",
    )
    p.add_argument(
        "--no-cache", action="store_true", help="compute every point, read and write no cache"
    )
    p.add_argument(
        "-q", "--quiet", action="store_true", help="no progress and no table, errors only"
    )
    p.add_argument(
        "--traceback", action="store_true", help="show Python tracebacks of internal errors"
    )
    return p


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(sys.argv[1:] if argv is None else argv)
    try:
        return _run(args)
    except KeyboardInterrupt:
        print(f"{PROG}: interrupted (finished points are in the cache)", file=sys.stderr)
        return 130
    except Exception as e:
        return exit_status(PROG, e, args.traceback)
