"""Stages and pass pipelines.

A stage is a named point of the default pipeline whose IR a user can print
(``--emit``), dump and feed back in (``--from``). Pipelines are xDSL pass
pipeline strings, so ``--print-pipeline`` output can be edited and passed
back with ``--passes``.
"""

from __future__ import annotations

import io
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TextIO

from xdsl.context import Context
from xdsl.dialects.builtin import ModuleOp
from xdsl.passes import ModulePass
from xdsl.printer import Printer
from xdsl.utils.exceptions import PassFailedException, VerifyException

from .errors import ErnncError, verify_failure_message

# name -> what the IR holds at that stage, in pipeline order.
STAGES: dict[str, str] = {
    "import": "model level: one ernn op per ONNX LSTM/GRU/RNN node, nn ops around them",
    "cell": "cell level: one cell.scan per direction, matvecs sharing an input fused",
    "circulant": "weight matrices projected onto block-circulant ones (--block-size)",
    "fft": "decoupled FFT form: rfft, frequency-domain MAC, one irfft per output block",
    "quantized": "fixed-point types (--precision): exact arithmetic, explicit casts, fitted activations",
    "scheduled": "parallelism sized to the FPGA (--device, --clock, --schedule): what pragmas and estimates read",
}

CLEANUP = "canonicalize,cse,dce"


@dataclass(frozen=True)
class PipelineOptions:
    """What the CLI flags ask of the default pipeline."""

    # --block-size: "8", or "default=16,layer0.W=8,layer1=4"; 1 keeps matrices dense
    block_size: str = "1"
    # --precision (ernnc.precision); "float" keeps the model in float
    precision: str = "float"
    # --activations: pwl:N or lut:N for fixed point
    activations: str = "pwl:64"
    # --calib: inputs for calibration; empty means random inputs
    calib: str = ""
    # --device, --clock (MHz), --schedule overrides, --max-dims, --max-util
    device: str = "ku060"
    clock: float = 200.0
    schedule: str = ""
    max_dims: str = ""
    max_util: float = 0.8

    @property
    def quantized(self) -> bool:
        from ..precision import PrecisionError, parse_precision

        try:
            return not parse_precision(self.precision).is_float
        except PrecisionError:
            return True  # let the pass report the error


def quote(value: str) -> str:
    """A pass option value in the pipeline syntax."""
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _block_circulant_spec(block_size: str) -> str:
    from ..passes.block_circulant import parse_block_spec

    try:
        default, overrides = parse_block_spec(block_size)
    except Exception as e:  # noqa: BLE001 - PassFailedException from the parser
        raise ErnncError(f"--block-size {block_size!r}: {e}") from None
    spec = f"ernn-block-circulant{{block={default or 1}"
    if overrides:
        spec += ' per-matrix="' + ",".join(f"{k}={v}" for k, v in overrides.items()) + '"'
    return spec + "}"


def default_pipeline(options: PipelineOptions) -> list[tuple[str, str]]:
    """(stage, pipeline spec) pairs in order; each spec takes the IR from the
    previous stage to the named one."""
    stages = [
        ("cell", f"convert-ernn-to-cell,ernn-fuse-gates,{CLEANUP}"),
        ("circulant", f"{_block_circulant_spec(options.block_size)},{CLEANUP}"),
        ("fft", f"ernn-circulant-to-fft,{CLEANUP}"),
        ("quantized", ""),
    ]
    if options.quantized:
        calibrate = (
            f"ernn-calibrate{{inputs={quote(options.calib)}}}"
            if options.calib
            else "ernn-calibrate"
        )
        quantize = f"ernn-quantize{{precision={quote(options.precision)} activations={quote(options.activations)}}}"
        stages[-1] = ("quantized", f"{calibrate},{quantize},{CLEANUP}")
    schedule = (
        f"ernn-schedule{{device={quote(options.device)} clock={float(options.clock)!r} "
        f"max-util={float(options.max_util)!r}"
        + (f" overrides={quote(options.schedule)}" if options.schedule else "")
        + (f" max-dims={quote(options.max_dims)}" if options.max_dims else "")
        + "}"
    )
    stages.append(("scheduled", schedule))
    return stages


def pipeline_spec(stages: list[tuple[str, str]]) -> str:
    return ",".join(spec for _, spec in stages if spec)


def parse_passes(spec: str) -> list[ModulePass]:
    from ..passes import get_all_passes
    from .pass_spec import instantiate_pipeline

    if not spec:
        return []
    return instantiate_pipeline(get_all_passes(), spec)


def print_ir(module: ModuleOp, stream: TextIO) -> None:
    Printer(stream=stream).print_op(module)
    stream.write("\n")


def ir_text(module: ModuleOp) -> str:
    buf = io.StringIO()
    print_ir(module, buf)
    return buf.getvalue()


def _raise_if_plugin(p: ModulePass, e: Exception) -> None:
    """A plugin pass that crashes is the plugin's bug, not ernnc's: say so."""
    from .plugins import plugin_origin

    origin = plugin_origin(p.name)
    if origin is not None:
        lines = str(e).strip().splitlines()
        raise ErnncError(
            f"pass '{p.name}' (plugin {origin}) crashed: {type(e).__name__}: "
            f"{lines[0] if lines else ''} (rerun with --traceback)"
        ) from e


@dataclass
class PassRunner:
    """Applies passes one at a time, with the MLIR-style debugging hooks."""

    ctx: Context
    dump_dir: Path | None = None
    print_after: set[str] | None = None  # pass names; {"*"} means all
    verify_each: bool = True
    time_passes: bool = False
    out: TextIO | None = None
    timings: list[tuple[str, float]] = field(default_factory=list)
    _count: int = 0
    on_pass: Callable[[str, ModuleOp], None] | None = None

    def start(self, module: ModuleOp, stage: str = "import") -> None:
        self._dump(module, stage)

    def run(self, passes: list[ModulePass], module: ModuleOp) -> None:
        for p in passes:
            t0 = time.perf_counter()
            try:
                p.apply(self.ctx, module)
            except ErnncError:
                raise
            except (VerifyException, PassFailedException) as e:
                msg = str(e).strip().splitlines()
                raise ErnncError(f"pass '{p.name}': {msg[0] if msg else type(e).__name__}") from e
            except Exception as e:
                _raise_if_plugin(p, e)
                raise
            self.timings.append((p.name, time.perf_counter() - t0))
            if self.verify_each:
                try:
                    module.verify()
                except VerifyException as e:
                    msg = verify_failure_message(module, e)
                    raise ErnncError(f"the IR does not verify after pass '{p.name}': {msg}") from e
            self._count += 1
            self._dump(module, p.name)
            if self.print_after is not None and (
                "*" in self.print_after or p.name in self.print_after
            ):
                if self.out is not None:
                    self.out.write(f"// -----// IR after {p.pipeline_pass_spec()} //----- //\n")
                    print_ir(module, self.out)
            if self.on_pass is not None:
                self.on_pass(p.name, module)

    def _dump(self, module: ModuleOp, name: str) -> None:
        if self.dump_dir is None:
            return
        path = self.dump_dir / f"{self._count:02d}-{name}.mlir"
        try:
            with open(path, "w", encoding="utf-8") as f:
                print_ir(module, f)
        except OSError as e:
            raise ErnncError(f"cannot write IR dump {path}: {e.strerror}") from None

    def report_times(self, stream: TextIO) -> None:
        total = sum(t for _, t in self.timings) or 1e-12
        stream.write("===-------------------------------------------===\n")
        stream.write("  Pass execution timing report\n")
        stream.write("===-------------------------------------------===\n")
        stream.write(f"  {'wall (s)':>9}  {'%':>6}  pass\n")
        stream.writelines(
            f"  {t:9.4f}  {100 * t / total:5.1f}%  {name}\n" for name, t in self.timings
        )
        stream.write(f"  {total:9.4f}  100.0%  total\n")
