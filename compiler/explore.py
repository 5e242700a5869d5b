"""``ernnc explore MODEL -o OUT``: E-RNN's two design phases, automated.

Phase I (accuracy) compiles the model for every *design* of the grid — block
size x precision x activation implementation — and measures, with the
bit-accurate NumPy model on the calibration inputs, how far its outputs are
from the dense float model (the cell stage's IR). Phase II (parallelism)
schedules each compiled design with ``ernn-schedule`` under each resource
budget (``--max-utils``, and ``--schedule`` overrides) and prices it with the
estimator: resources, frames per second, latency. A *point* is a design and
a budget. Points whose error exceeds ``--max-error`` or that do not fit the
device are rejected; the Pareto front of the others (error, frames per
second, utilization of the binding resource) is printed, and everything is
written to OUT/results.json and OUT/results.csv (OUT/pareto.png with
matplotlib). docs/explore.md describes the axes, the measures and the cache.

A design and its budgets are one task: the task compiles the design once and
reuses the module for every budget. Tasks run in this process (``--jobs 1``),
in a pool of processes (``--jobs N``) or on a Dask cluster
(``--executor dask://ADDRESS``). Finished points are cached beside OUT, keyed
by the model's sha256 and the point, so a rerun (or an interrupted sweep run
again) computes only what is missing.

Only argparse and the standard library load at start-up; xDSL, ONNX, Dask,
tqdm and matplotlib load when they are needed.
"""

from __future__ import annotations

import argparse
import csv
import hashlib
import io
import json
import math
import os
import re
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path

from .errors import ErnncError, exit_status

PROG = "ernnc explore"
DEFAULT_BLOCK_SIZES = "1,4,8,16"
DEFAULT_PRECISIONS = "auto:12,auto:16"
DEFAULT_ACTIVATIONS = "pwl:64,lut:1024"
DEFAULT_MAX_UTILS = "0.25,0.5,0.8"
DEFAULT_MAX_ERROR = 0.01
RESOURCE_NAMES = (("dsp", "DSP"), ("bram36", "BRAM"), ("lut", "LUT"), ("ff", "FF"))

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


# -- the grid --------------------------------------------------------------------------


@dataclass(frozen=True)
class Design:
    """A Phase I point: what the compiler is asked for."""

    block_size: int
    precision: str
    activations: str

    @property
    def label(self) -> str:
        return f"b={self.block_size} {self.precision} {self.activations}"

    def parts(self) -> list[str]:
        return [f"b{self.block_size}", self.precision, self.activations]


@dataclass(frozen=True)
class Budget:
    """A Phase II point: how much of the device ernn-schedule may use."""

    max_util: float
    schedule: str = ""

    @property
    def label(self) -> str:
        return f"max-util {self.max_util:g}" + (
            f" schedule {self.schedule}" if self.schedule else ""
        )

    def parts(self) -> list[str]:
        return [f"u{self.max_util:g}"] + ([self.schedule] if self.schedule else [])


@dataclass(frozen=True)
class Settings:
    """What every point shares."""

    device: str
    clock: float
    max_dims: str


@dataclass(frozen=True)
class Grid:
    designs: list[Design]
    budgets: list[Budget]
    axes: dict


def _items(option: str, text: str) -> list[str]:
    """Comma-separated values (commas inside <...> belong to the value), deduplicated."""
    parts, depth, cur = [], 0, ""
    for ch in text:
        depth += (ch == "<") - (ch == ">")
        if ch == "," and depth <= 0:
            parts.append(cur)
            cur = ""
        else:
            cur += ch
    parts.append(cur)
    out = []
    for item in (s.strip() for s in parts):
        if not item:
            raise ErnncError(f"{option} {text!r}: expected a comma-separated list of values")
        if item not in out:
            out.append(item)
    return out


def _activation(impl: str) -> str:
    kind, _, n = impl.partition(":")
    if kind not in ("pwl", "lut") or not n.isdigit() or not 1 <= int(n) <= 65536:
        raise ErnncError(
            f"--activations {impl!r}: expected pwl:N or lut:N (1 <= N <= 65536), comma-separated"
        )
    return f"{kind}:{int(n)}"


def parse_grid(args: argparse.Namespace) -> Grid:
    from ..precision import PrecisionError, parse_precision

    blocks = []
    for item in _items("--block-sizes", args.block_sizes):
        if not item.isdigit() or int(item) < 1 or int(item) & (int(item) - 1):
            raise ErnncError(
                f"--block-sizes {item!r}: expected powers of two (1 keeps the matrices dense), "
                "comma-separated"
            )
        if int(item) not in blocks:
            blocks.append(int(item))
    precisions, floats = [], set()
    for item in _items("--precisions", args.precisions):
        try:
            if parse_precision(item).is_float:
                floats.add(item)
        except PrecisionError as e:
            raise ErnncError(f"--precisions {item!r}: {str(e).splitlines()[0]}") from None
        precisions.append(item)
    acts = list(dict.fromkeys(_activation(a) for a in _items("--activations", args.activations)))
    utils = []
    for item in _items("--max-utils", args.max_utils):
        try:
            u = float(item)
        except ValueError:
            u = math.nan
        if not 0 < u <= 1:
            raise ErnncError(f"--max-utils {item!r}: expected fractions in (0, 1], comma-separated")
        if u not in utils:
            utils.append(u)
    schedules = list(dict.fromkeys(s.strip() for s in args.schedule)) or [""]
    from xdsl.utils.exceptions import PassFailedException

    from ..passes.schedule import parse_overrides

    for s in schedules:
        try:
            parse_overrides(s)
        except PassFailedException as e:
            raise ErnncError(f"--schedule: {e}") from None
    designs = [
        Design(b, p, a)
        for b in blocks
        for p in precisions
        for a in (["exact"] if p in floats else acts)
    ]
    budgets = [Budget(u, s) for s in schedules for u in utils]
    axes = {
        "block_sizes": blocks,
        "precisions": precisions,
        "activations": acts,
        "max_utils": utils,
        "schedules": schedules,
    }
    return Grid(designs, budgets, axes)


# -- one task: a design compiled once, then priced under each budget -----------------------


@dataclass
class Task:
    design: Design
    budgets: list[Budget]
    settings: Settings
    model_name: str
    calib_name: str | None
    # Phase I's result and module from the cache: only Phase II is left to do
    accuracy: dict | None = None
    ir: str | None = None


@dataclass
class TaskResult:
    accuracy: dict  # {"failed": message} when the design does not compile
    ir: str | None  # the quantized module, for the cache (None if it came from there)
    hardware: list[dict] = field(default_factory=list)  # one per budget, in order


def _options(design: Design, settings: Settings, calib: str):
    from .pipeline import PipelineOptions

    return PipelineOptions(
        block_size=str(design.block_size),
        precision=design.precision,
        activations=design.activations,
        calib=calib,
        device=settings.device,
        clock=settings.clock,
        max_dims=settings.max_dims,
    )


def evaluate(task: Task, model: bytes, calib: bytes | None) -> TaskResult:
    """Phase I (unless the task carries its result) and Phase II of one design.
    Runs anywhere ernnc is installed: the model and the calibration inputs
    come as bytes, the result goes back as JSON-able data and IR text."""
    t0 = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="ernnc-explore-") as tmp:
        calib_path = None
        if calib is not None:
            calib_path = Path(tmp) / (task.calib_name or "calib.npz")
            calib_path.write_bytes(calib)
        options = _options(task.design, task.settings, str(calib_path or ""))
        ir = None
        if task.ir is None:
            try:
                module, stages = _compile(model, task.model_name, options)
                accuracy = _accuracy(stages, module, calib_path)
            except ErnncError as e:
                return TaskResult({"failed": str(e)}, None)
            from .pipeline import ir_text

            ir = ir_text(module)
            accuracy["seconds"] = round(time.perf_counter() - t0, 3)
        else:  # the design's module and measures from the cache
            from .driver import parse_mlir

            module, accuracy = parse_mlir(task.ir, "<cache>"), dict(task.accuracy or {})
        hardware = []
        for budget in task.budgets:
            t1 = time.perf_counter()
            try:
                hw = _hardware(module, options, budget)
            except ErnncError as e:
                hw = {"failed": str(e)}
            hw["seconds"] = round(time.perf_counter() - t1, 3)
            hardware.append(hw)
    return TaskResult(accuracy, ir, hardware)


def _compile(model: bytes, name: str, options) -> tuple:
    """The quantized module, and copies of it at the cell, circulant and fft stages."""
    from .context import make_context
    from .driver import default_steps
    from .onnx_import import import_onnx, parse_model
    from .pipeline import PassRunner

    pipe = default_steps(options)
    module = import_onnx(parse_model(model, name))
    runner = PassRunner(make_context())
    stages = {}
    for i in range(pipe.ends["quantized"]):
        runner.run([pipe.passes[i]], module)
        for stage in ("cell", "circulant", "fft"):
            if pipe.ends[stage] == i + 1:
                stages[stage] = module.clone()
    return module, stages


def _accuracy(stages: dict, fixed, calib: Path | None) -> dict:
    """The compiled model against the dense float one (the point's error), with
    what compression and quantization contribute, as the report measures them."""
    from . import report as rp

    dense_ir, circ_ir, float_ir = stages["cell"], stages["circulant"], stages["fft"]
    inputs, source = rp.report_inputs(dense_ir, calib)
    total = rp.accuracy_section(dense_ir, fixed, inputs, source)
    matrices = rp.circulant_matrices(circ_ir, rp.dense_matrices(dense_ir))
    comp = rp.compression_section(matrices, rp.constant_params(dense_ir))
    out: dict = {
        "inputs": source,
        "samples": total["samples"],
        **_summary(total["outputs"]),
        "outputs": total["outputs"],
        "compression": {
            "ratio": comp["recurrent"]["ratio"],
            "params": comp["model"]["params_compressed"],
            "params_dense": comp["model"]["params_dense"],
        },
    }
    if any(m.block > 1 for m in matrices):
        out["compression"]["projection_error"] = (
            max(m.rel_error for m in matrices if m.block > 1 and not m.exact)
            if any(m.block > 1 and not m.exact for m in matrices)
            else 0.0
        )
        compressed = rp.accuracy_section(dense_ir, float_ir, inputs, source)
        out["compression"]["outputs"] = compressed["outputs"]
    if rp.is_quantized(fixed):
        q = rp.quantization_section(float_ir, fixed, inputs, source)
        worst = max(q["activations"], key=lambda a: a["max_error"], default=None)
        out["quantization"] = {
            "overflows": sum(t["overflows"] for t in q["tensors"] if t["kind"] != "constant"),
            "saturated_weights": sum(
                t["overflows"] for t in q["tensors"] if t["kind"] == "constant"
            ),
            "worst_activation_error": worst["max_error"] if worst else None,
            "outputs": q["outputs"],
        }
    return out


def _summary(outputs: dict) -> dict:
    """The point's error: the worst output's relative max abs error; the
    lowest argmax agreement of the classifier outputs."""
    rel = [e["rel"] for e in outputs.values()]
    agree = [e["argmax_agreement"] for e in outputs.values() if "argmax_agreement" in e]
    sqnr = [e["sqnr_db"] for e in outputs.values() if e.get("sqnr_db") is not None]
    return {
        "error": max(rel, default=0.0),
        "max_abs": max((e["max_abs"] for e in outputs.values()), default=0.0),
        "argmax_agreement": min(agree) if agree else None,
        "sqnr_db": min(sqnr) if sqnr else None,
    }


def _hardware(module, options, budget: Budget) -> dict:
    """ernn-schedule under the budget on a copy of the module, then the estimate
    as the report gives it (without the per-loop detail)."""
    from ..passes.schedule import parse_dims
    from .context import make_context
    from .pipeline import PassRunner, default_pipeline, parse_passes
    from .report import hardware_section

    spec = dict(
        default_pipeline(replace(options, max_util=budget.max_util, schedule=budget.schedule))
    )
    scheduled = module.clone()
    PassRunner(make_context()).run(parse_passes(spec["scheduled"]), scheduled)
    hw = hardware_section(scheduled, parse_dims(options.max_dims))
    assert hw is not None
    knobs: dict[str, int] = {"parallel": 1, "units": 1, "lanes": 1}
    for loop in hw["loops"]:
        key, _, value = loop["schedule"].partition("=")
        if key in knobs:
            knobs[key] = max(knobs[key], int(value))
    return {
        "resources": {  # UltraRAM only on devices that have it
            r: v for r, v in hw["resources"].items() if r != "uram" or v["available"]
        },
        "utilization": max(v["utilization"] for v in hw["resources"].values()),
        "binding": hw["binding"],
        "fits": hw["fits"],
        "cycles_per_step": hw["cycles_per_step"],
        "latency_per_frame_us": hw["latency_per_frame_us"],
        "frames_per_second": hw["frames_per_second"],
        "dense_equivalent_gops": hw["dense_equivalent_gops"],
        "parallelism": knobs,
        "knobs": [
            f"{loop['where']}: {loop['what']}: {loop['schedule']}"
            for loop in hw["loops"]
            if loop["schedule"] and not loop["schedule"].startswith("banks")
        ],
        **({"does_not_fit": hw["does_not_fit"]} if "does_not_fit" in hw else {}),
    }


# -- the cache -------------------------------------------------------------------------


def _digest(data: dict) -> str:
    return hashlib.sha256(json.dumps(data, sort_keys=True).encode()).hexdigest()[:16]


def _slug(parts: list[str]) -> str:
    return "-".join(re.sub(r"[^A-Za-z0-9.]+", "_", p).strip("_") for p in parts)[:60]


class Cache:
    """Finished points as JSON files (and each design's module as .mlir) in
    DIR/<sha256 of the model file>/<point key>; the key names the point and
    ends with a hash of everything its result depends on. Entries are
    written whole (a temporary file renamed) as each task finishes."""

    def __init__(self, root: Path | None, model_sha: str, model_name: str) -> None:
        self.dir = root / model_sha if root is not None else None
        self.model_name = model_name
        self.reused = 0

    def read(self, key: str, point: dict) -> dict | None:
        if self.dir is None:
            return None
        try:
            entry = json.loads((self.dir / f"{key}.json").read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return None
        if not isinstance(entry, dict) or entry.get("point") != point:
            return None
        return entry.get("result")

    def read_ir(self, key: str) -> str | None:
        if self.dir is None:
            return None
        try:
            return (self.dir / f"{key}.mlir").read_text(encoding="utf-8")
        except OSError:
            return None

    def write(self, key: str, point: dict, result: dict, ir: str | None = None) -> None:
        if self.dir is None:
            return
        try:
            self.dir.mkdir(parents=True, exist_ok=True)
            model = self.dir / "model.json"
            if not model.exists():
                self._put(model, json.dumps({"model": self.model_name}) + "\n")
            if ir is not None:
                self._put(self.dir / f"{key}.mlir", ir)
            self._put(self.dir / f"{key}.json", _dumps({"point": point, "result": result}))
        except OSError as e:
            raise ErnncError(f"cannot write the cache {self.dir}: {e.strerror or e}") from None

    @staticmethod
    def _put(path: Path, text: str) -> None:
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as f:
                f.write(text)
            os.replace(tmp, path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise


def _clean(x):
    """JSON-able: NumPy scalars to Python, non-finite floats to None."""
    if isinstance(x, dict):
        return {k: _clean(v) for k, v in x.items()}
    if isinstance(x, list | tuple):
        return [_clean(v) for v in x]
    if isinstance(x, bool) or x is None or isinstance(x, str):
        return x
    if isinstance(x, int) and not hasattr(x, "dtype"):
        return x
    try:
        f = float(x)
    except (TypeError, ValueError):
        return str(x)
    if f.is_integer() and hasattr(x, "dtype") and getattr(x.dtype, "kind", "") in "iu":
        return int(f)
    return f if math.isfinite(f) else None


def _dumps(data: dict) -> str:
    return json.dumps(_clean(data), indent=2, allow_nan=False) + "\n"


# -- executors -------------------------------------------------------------------------


Done = Callable[[int, TaskResult], None]


def _dask_address(spec: str) -> str:
    address = spec[len("dask://") :]
    if not address:
        raise ErnncError(
            f"--executor {spec!r}: expected dask://HOST:PORT or dask://tcp://HOST:PORT"
        )
    return address if "://" in address else f"tcp://{address}"


def _check_executor(args: argparse.Namespace) -> None:
    spec = args.executor
    if spec == "local":
        if args.jobs is not None and args.jobs < 1:
            raise ErnncError(f"--jobs {args.jobs}: expected at least 1")
        return
    if not spec.startswith("dask://"):
        raise ErnncError(f"--executor {spec!r}: expected local or dask://ADDRESS")
    _dask_address(spec)
    if args.jobs is not None:
        raise ErnncError(
            "--jobs sets the local process pool; with --executor dask the cluster's workers "
            "evaluate the designs"
        )
    try:
        import distributed  # noqa: F401
    except ImportError:
        raise ErnncError(
            f"--executor {spec}: Dask is not installed; pip install 'ernnc[dask]' "
            "(dask[distributed]) here and on the workers"
        ) from None


def _execute(
    tasks: list[Task], model: bytes, calib: bytes | None, args: argparse.Namespace, done: Done
) -> None:
    if not tasks:
        return
    if args.executor.startswith("dask://"):
        _execute_dask(tasks, model, calib, _dask_address(args.executor), done)
        return
    jobs = min(args.jobs or 1, len(tasks))
    if jobs == 1:
        for i, task in enumerate(tasks):
            done(i, evaluate(task, model, calib))
        return
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor, as_completed

    # spawn: the workers start clean (no threads or state of this process)
    pool = ProcessPoolExecutor(jobs, mp_context=multiprocessing.get_context("spawn"))
    try:
        futures = {pool.submit(evaluate, t, model, calib): i for i, t in enumerate(tasks)}
        for fut in as_completed(futures):
            done(futures[fut], fut.result())
    finally:
        pool.shutdown(wait=True, cancel_futures=True)


def _execute_dask(
    tasks: list[Task], model: bytes, calib: bytes | None, address: str, done: Done
) -> None:
    from distributed import Client, as_completed

    try:
        client = Client(address, timeout="10s", set_as_default=False)
    except Exception as e:  # noqa: BLE001 - OSError, TimeoutError, ValueError for bad addresses
        detail = str(e).strip().splitlines()
        raise ErnncError(
            f"--executor dask://: cannot connect to the Dask scheduler at {address}: "
            f"{detail[0] if detail else type(e).__name__}"
        ) from None
    futures = {}
    try:
        # the model and the calibration inputs go to the workers once
        model_f = client.scatter(model, broadcast=True)
        calib_f = client.scatter(calib, broadcast=True) if calib is not None else None
        futures = {
            client.submit(evaluate, t, model_f, calib_f, pure=False): i for i, t in enumerate(tasks)
        }
        for fut in as_completed(futures, loop=client.loop):
            done(futures[fut], fut.result())
    finally:
        if futures:
            client.cancel(list(futures))
        client.close()


class Progress:
    """tqdm's bar when it is installed (pip install 'ernnc[progress]'), else a
    line per point on stderr."""

    def __init__(self, total: int, quiet: bool) -> None:
        self.total, self.count, self.quiet, self.bar = total, 0, quiet, None
        if quiet or not total:
            return
        try:
            from tqdm import tqdm
        except ImportError:
            return
        self.bar = tqdm(total=total, unit="point", desc=PROG, file=sys.stderr, leave=False)

    def update(self, lines: list[str]) -> None:
        if self.quiet:
            return
        if self.bar is not None:
            self.bar.update(len(lines))
            return
        for line in lines:
            self.count += 1
            print(f"{PROG}: [{self.count}/{self.total}] {line}", file=sys.stderr, flush=True)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()


# -- the sweep -------------------------------------------------------------------------


def _run(args: argparse.Namespace) -> int:
    start = time.perf_counter()
    if args.output is None:
        raise ErnncError("no output directory given: -o OUT")
    if not args.max_error >= 0 or not math.isfinite(args.max_error):
        raise ErnncError(f"--max-error {args.max_error:g}: expected a non-negative number")
    if not 0 < args.clock < math.inf:
        raise ErnncError(f"--clock {args.clock:g}: expected a positive frequency in MHz")
    _check_executor(args)
    grid = parse_grid(args)
    from ..hardware.devices import device
    from .driver import HlsOptions, check_output_dir, write_output_dir

    try:
        dev = device(args.device)
    except ValueError as e:
        raise ErnncError(f"--device: {e}") from None
    HlsOptions.parse("ernnc_top", None, args.clock, args.max_dims)  # checks --max-dims
    settings = Settings(dev.key, float(args.clock), args.max_dims)
    check_output_dir(args.output)
    cache_root = None
    if not args.no_cache:
        cache_root = args.cache or args.output.absolute().with_name(args.output.name + ".cache")
        out_abs, cache_abs = args.output.resolve(), cache_root.resolve()
        if cache_abs == out_abs or out_abs in cache_abs.parents:
            raise ErnncError(
                f"--cache {cache_root} is inside the output directory, which every run replaces"
            )

    model, model_sha = _read(args.model, "model")
    calib, calib_sha = _read(args.calib, "calibration file") if args.calib else (None, None)
    source = _check_model(model, args.model, args.calib)

    from .. import __version__

    cache = Cache(cache_root, model_sha, args.model.name)
    keys1, keys2, points1, points2 = {}, {}, {}, {}
    for d in grid.designs:
        points1[d] = {
            "phase": 1,
            "ernnc_version": __version__,
            "block_size": d.block_size,
            "precision": d.precision,
            "activations": d.activations,
            "calib_sha256": calib_sha,
        }
        keys1[d] = f"{_slug(d.parts())}-{_digest(points1[d])}"
        for b in grid.budgets:
            points2[d, b] = {
                "phase": 2,
                "design": keys1[d],
                "device": settings.device,
                "clock_mhz": settings.clock,
                "max_dims": settings.max_dims,
                "max_util": b.max_util,
                "schedule": b.schedule,
            }
            keys2[d, b] = f"{_slug(d.parts() + b.parts())}-{_digest(points2[d, b])}"

    # what the cache has; the rest becomes one task per design
    accuracy: dict[Design, dict] = {}
    hardware: dict[tuple[Design, Budget], dict] = {}
    tasks: list[Task] = []
    for d in grid.designs:
        acc = cache.read(keys1[d], points1[d])
        ir = cache.read_ir(keys1[d]) if acc is not None else None
        if acc is not None and ir is not None:
            accuracy[d] = acc
        missing = []
        for b in grid.budgets:
            hw = cache.read(keys2[d, b], points2[d, b]) if d in accuracy else None
            if hw is not None:
                hardware[d, b] = hw
            else:
                missing.append(b)
        if missing:
            tasks.append(
                Task(
                    d,
                    missing,
                    settings,
                    args.model.name,
                    args.calib.name if args.calib else None,
                    accuracy.get(d),
                    ir if d in accuracy else None,
                )
            )
    n_points = len(grid.designs) * len(grid.budgets)
    to_do = sum(len(t.budgets) for t in tasks)
    counts = {
        "points": n_points,
        "designs_compiled": sum(t.ir is None for t in tasks),
        "points_estimated": to_do,
        "points_from_cache": n_points - to_do,
    }
    if not args.quiet:
        where = f" ({cache.dir})" if cache.dir is not None and n_points > to_do else ""
        print(
            f"{PROG}: {_n(n_points, 'point')} ({_n(len(grid.designs), 'design')} x "
            f"{_n(len(grid.budgets), 'budget')}): {counts['designs_compiled']} to compile, "
            f"{to_do} to estimate, {n_points - to_do} from the cache{where}",
            file=sys.stderr,
        )

    progress = Progress(to_do, args.quiet)

    def done(i: int, result: TaskResult) -> None:
        task = tasks[i]
        d = task.design
        acc = result.accuracy
        if result.ir is not None:  # freshly compiled and measured
            cache.write(keys1[d], points1[d], acc, result.ir)
        accuracy[d] = acc
        lines = []
        for b, hw in zip(task.budgets, result.hardware):  # none when the design failed
            if "failed" not in hw:
                cache.write(keys2[d, b], points2[d, b], hw)
            hardware[d, b] = hw
        for b in task.budgets:
            lines.append(_progress_line(d, b, acc, hardware.get((d, b))))
        progress.update(lines)

    try:
        _execute(tasks, model, calib, args, done)
    finally:
        progress.close()

    points = _points(grid, keys2, accuracy, hardware, args.max_error)
    if all(p["status"] == "failed" for p in points):
        raise ErnncError(f"every point failed; the first: {points[0]['reason']}")
    front = pareto(points)
    results = {
        "ernnc_version": __version__,
        "model": args.model.name,
        "model_sha256": model_sha,
        "calib": args.calib.name if args.calib else None,
        "calib_sha256": calib_sha,
        "inputs": source,
        "device": settings.device,
        "part": dev.part,
        "clock_mhz": settings.clock,
        "max_dims": settings.max_dims,
        "max_error": args.max_error,
        "axes": grid.axes,
        "objectives": {
            "error": "min: relative max abs error against the dense float model, worst output",
            "frames_per_second": "max: estimated, batch 1",
            "utilization": "min: the binding resource's share of the device (estimated)",
        },
        "evaluations": {**counts, "seconds": round(time.perf_counter() - start, 2)},
        "front": [p["key"] for p in front],
        "points": points,
    }
    from ..hardware.estimate import ASSUMPTIONS

    results["assumptions"] = list(ASSUMPTIONS)
    plot_note = None

    def write(directory: Path) -> None:
        nonlocal plot_note
        (directory / "results.json").write_text(_dumps(results), encoding="utf-8")
        (directory / "results.csv").write_text(_csv(points), encoding="utf-8")
        plot_note = draw_pareto(points, directory / "pareto.png", args.max_error, settings)

    write_output_dir(args.output, write)
    if not args.quiet:
        print(format_front(results, front))
        files = "results.json, results.csv" + (", pareto.png" if plot_note is None else "")
        print(
            f"{PROG}: wrote {args.output}/ ({files}) in {time.perf_counter() - start:.1f} s",
            file=sys.stderr,
        )
        if plot_note:
            print(f"{PROG}: note: {plot_note}", file=sys.stderr)
    if not front:
        ok = [p for p in points if p["status"] != "failed"]
        best = min(ok, key=lambda p: p["error"] if p["error"] is not None else math.inf)
        print(
            f"{PROG}: warning: no point meets --max-error {args.max_error:g} and fits the "
            f"{dev.name}; the most accurate, {best['key']}, has error {best['error']:.3g}"
            + ("" if best["fits"] else " and does not fit"),
            file=sys.stderr,
        )
    return 0


def _n(count: int, noun: str) -> str:
    return f"{count} {noun}{'' if count == 1 else 's'}"


def _read(path: Path, what: str) -> tuple[bytes, str]:
    if not path.exists():
        raise ErnncError(f"{what} {path}: no such file")
    if path.is_dir():
        raise ErnncError(f"{what} {path}: is a directory")
    try:
        data = path.read_bytes()
    except OSError as e:
        raise ErnncError(f"{what} {path}: cannot read: {e.strerror}") from None
    return data, hashlib.sha256(data).hexdigest()


def _check_model(model: bytes, path: Path, calib: Path | None) -> str:
    """Import the model and check the calibration inputs against it before the
    sweep; what the errors are measured on."""
    if path.suffix == ".mlir":
        raise ErnncError(f"{path}: ernnc explore takes an ONNX model, not an IR dump")
    from .api import lower
    from .onnx_import import import_onnx, parse_model
    from .report import report_inputs

    dense = lower(import_onnx(parse_model(model, str(path))), "cell")
    return report_inputs(dense, calib)[1]


def _progress_line(d: Design, b: Budget, acc: dict, hw: dict | None) -> str:
    head = f"{d.label}, {b.label}: "
    if "failed" in acc:
        return head + "failed: " + acc["failed"]
    if hw is None or "failed" in hw:
        return head + "failed: " + (hw or {}).get("failed", "?")
    return (
        head
        + f"error {acc['error']:.3g}, {hw['frames_per_second']:,.0f} frames/s, "
        + f"{100 * hw['utilization']:.0f}% {hw['binding']}"
        + ("" if hw["fits"] else " (does not fit)")
    )


def _points(grid: Grid, keys2: dict, accuracy: dict, hardware: dict, max_error: float) -> list:
    points = []
    for d in grid.designs:
        acc = accuracy[d]
        for b in grid.budgets:
            hw = hardware.get((d, b), {"failed": "not evaluated"})
            p: dict = {
                "key": keys2[d, b],
                "block_size": d.block_size,
                "precision": d.precision,
                "activations": d.activations,
                "max_util": b.max_util,
                "schedule": b.schedule,
                "status": "accepted",
                "reason": "",
                "pareto": False,
                "same_as": None,
                "error": acc.get("error"),
                "argmax_agreement": acc.get("argmax_agreement"),
                "frames_per_second": hw.get("frames_per_second"),
                "utilization": hw.get("utilization"),
                "fits": hw.get("fits"),
                "accuracy": acc,
                "hardware": hw,
            }
            if "failed" in acc or "failed" in hw:
                p["status"], p["reason"] = "failed", acc.get("failed") or hw["failed"]
            else:
                why = []
                if not acc["error"] <= max_error:
                    why.append(f"error {acc['error']:.3g} > --max-error {max_error:g}")
                if not hw["fits"]:
                    why.append(hw.get("does_not_fit", "does not fit the device"))
                if why:
                    p["status"], p["reason"] = "rejected", "; ".join(why)
            points.append(p)
    return points


def objectives(p: dict) -> tuple[float, float, float]:
    """What the front minimizes: error, -frames/s, utilization."""
    return (p["error"], -p["frames_per_second"], p["utilization"])


def dominates(a: tuple, b: tuple) -> bool:
    return all(x <= y for x, y in zip(a, b, strict=True)) and a != b


def pareto(points: list[dict]) -> list[dict]:
    """Mark the accepted points no other accepted point dominates (no worse in
    every objective, better in one); of points with equal objectives the first
    in grid order stands for the others (``same_as``). The front, fastest first."""
    accepted = [p for p in points if p["status"] == "accepted"]
    front = []
    for p in accepted:
        v = objectives(p)
        if any(dominates(objectives(q), v) for q in accepted):
            continue
        first = next(q for q in accepted if objectives(q) == v)
        if first is not p:
            p["same_as"] = first["key"]
            continue
        p["pareto"] = True
        front.append(p)
    return sorted(front, key=lambda p: (-p["frames_per_second"], p["error"], p["utilization"]))


# -- outputs ---------------------------------------------------------------------------

CSV_FIELDS = (
    "key",
    "status",
    "pareto",
    "same_as",
    "block_size",
    "precision",
    "activations",
    "max_util",
    "schedule",
    "error",
    "max_abs",
    "argmax_agreement",
    "sqnr_db",
    "compression_ratio",
    "params",
    "overflows",
    "utilization",
    "binding",
    *(f"{r}_{k}" for r, _ in RESOURCE_NAMES for k in ("used", "util")),
    "fits",
    "frames_per_second",
    "latency_per_frame_us",
    "cycles_per_step",
    "dense_equivalent_gops",
    "parallel",
    "units",
    "lanes",
    "reason",
)


def _csv(points: list[dict]) -> str:
    buf = io.StringIO()
    w = csv.DictWriter(buf, fieldnames=CSV_FIELDS, lineterminator="\n")
    w.writeheader()
    for p in points:
        acc, hw = p["accuracy"], p["hardware"]
        row = {k: p.get(k) for k in CSV_FIELDS if k in p}
        row.update(
            max_abs=acc.get("max_abs"),
            sqnr_db=acc.get("sqnr_db"),
            compression_ratio=acc.get("compression", {}).get("ratio"),
            params=acc.get("compression", {}).get("params"),
            overflows=acc.get("quantization", {}).get("overflows"),
            binding=hw.get("binding"),
            latency_per_frame_us=hw.get("latency_per_frame_us"),
            cycles_per_step=hw.get("cycles_per_step"),
            dense_equivalent_gops=hw.get("dense_equivalent_gops"),
            **hw.get("parallelism", {}),
        )
        for r, _ in RESOURCE_NAMES:
            res = hw.get("resources", {}).get(r, {})
            row[f"{r}_used"], row[f"{r}_util"] = res.get("used"), res.get("utilization")
        w.writerow({k: "" if v is None else v for k, v in _clean(row).items()})
    return buf.getvalue()


def _pct(x: float) -> str:
    return f"{100 * x:.0f}%"


def format_front(results: dict, front: list[dict]) -> str:
    points = results["points"]
    by_status = {
        s: sum(p["status"] == s for p in points) for s in ("accepted", "rejected", "failed")
    }
    over = sum(p["status"] == "rejected" and "--max-error" in p["reason"] for p in points)
    nofit = sum(p["status"] == "rejected" and p["fits"] is False for p in points)
    lines = [
        (
            f"{_n(len(points), 'point')}: {by_status['accepted']} accepted ({len(front)} on the Pareto "
            f"front), {by_status['rejected']} rejected ({over} error > {results['max_error']:g}, "
            f"{nofit} not fitting), {by_status['failed']} failed"
        ),
        (
            f"error: against the dense float model on {results['inputs']}; hardware: estimates for "
            f"{results['device']} at {results['clock_mhz']:g} MHz"
        ),
    ]
    if not front:
        return "\n".join(lines)
    head = ["block", "precision", "activations", "budget", "parallelism", "error", "argmax"]
    head += ["compr", *(n for _, n in RESOURCE_NAMES), "bound", "frames/s", "latency us"]
    rows = []
    for p in front:
        acc, hw = p["accuracy"], p["hardware"]
        k = hw["parallelism"]
        res = hw["resources"]
        rows.append(
            [
                str(p["block_size"]),
                p["precision"],
                p["activations"],
                f"{p['max_util']:g}" + (f" {p['schedule']}" if p["schedule"] else ""),
                f"P{k['parallel']} U{k['units']} L{k['lanes']}",
                f"{p['error']:.3g}",
                "-" if p["argmax_agreement"] is None else f"{100 * p['argmax_agreement']:.1f}%",
                f"{acc['compression']['ratio']:.1f}x",
                *(_pct(res[r]["utilization"]) for r, _ in RESOURCE_NAMES),
                hw["binding"],
                f"{hw['frames_per_second']:,.0f}",
                f"{hw['latency_per_frame_us']:.2f}",
            ]
        )
    left = {1, 2, 3, 4, 12}
    widths = [max(len(r[i]) for r in [head, *rows]) for i in range(len(head))]

    def fmt(row: list[str]) -> str:
        cells = [
            c.ljust(w) if i in left else c.rjust(w) for i, (c, w) in enumerate(zip(row, widths))
        ]
        return "  ".join(cells).rstrip()

    lines.append(fmt(head))
    lines += [fmt(r) for r in rows]
    return "\n".join(lines)


def draw_pareto(points: list[dict], path: Path, max_error: float, settings: Settings) -> str | None:
    """pareto.png: error and utilization against frames/s, the front marked.
    A note instead when matplotlib is not installed."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return "no pareto.png: matplotlib is not installed (pip install 'ernnc[plot]')"
    ok = [p for p in points if p["status"] != "failed"]
    if not ok:
        return "no pareto.png: no point was evaluated"
    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(12, 5), constrained_layout=True)
    floor = min((p["error"] for p in ok if p["error"] > 0), default=1e-6) / 10

    def err(p: dict) -> float:
        return max(p["error"], floor)

    groups = (
        (
            [p for p in ok if p["status"] == "rejected"],
            {"marker": "x", "c": "0.6", "label": "rejected"},
        ),
        (
            [p for p in ok if p["status"] == "accepted" and not p["pareto"]],
            {"marker": "o", "c": "tab:blue", "alpha": 0.5, "label": "accepted"},
        ),
        (
            [p for p in ok if p["pareto"]],
            {"marker": "o", "c": "tab:red", "edgecolors": "k", "s": 60, "label": "Pareto front"},
        ),
    )
    for group, style in groups:
        if group:
            fps = [p["frames_per_second"] for p in group]
            ax1.scatter(fps, [err(p) for p in group], **style)
            ax2.scatter(fps, [100 * p["utilization"] for p in group], **style)
    front = sorted((p for p in ok if p["pareto"]), key=lambda p: p["frames_per_second"])
    for k, p in enumerate(front):  # labels staggered: front points are often close
        label = f"b{p['block_size']} {p['precision']} {p['activations']} u{p['max_util']:g}"
        for ax, y in ((ax1, err(p)), (ax2, 100 * p["utilization"])):
            ax.annotate(
                label,
                (p["frames_per_second"], y),
                fontsize=7,
                xytext=(4, 4 + 9 * (k % 3)),
                textcoords="offset points",
            )
    ax1.axhline(max_error, ls="--", c="k", lw=0.8, label=f"--max-error {max_error:g}")
    ax1.set_yscale("log")
    fps = [p["frames_per_second"] for p in ok]
    for ax in (ax1, ax2):
        if max(fps) > 10 * min(fps):
            ax.set_xscale("log")
        else:
            ax.ticklabel_format(axis="x", style="plain", useOffset=False)
    ax1.set_xlabel("frames/s (estimate)")
    ax2.set_xlabel("frames/s (estimate)")
    ax1.set_ylabel("relative max abs error against dense float")
    ax2.set_ylabel("utilization of the binding resource (%)")
    ax1.legend(fontsize=8)
    fig.suptitle(f"ernnc explore: {settings.device} at {settings.clock:g} MHz")
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return None
