"""The compiler driver: input file -> stages -> output directory."""

from __future__ import annotations

import os
import re
import shutil
import sys
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TextIO

from xdsl.dialects.builtin import ModuleOp
from xdsl.passes import ModulePass

from .errors import ErnncError, verify_failure_message
from .pipeline import STAGES, PassRunner, PipelineOptions, default_pipeline, parse_passes, print_ir

MARKER = ".ernnc-output"


@dataclass
class CompileRequest:
    model: Path
    output: Path | None = None
    emit: str | None = None
    from_stage: str | None = None
    passes: str | None = None
    options: PipelineOptions = field(default_factory=PipelineOptions)
    dump_ir: Path | None = None
    print_after: set[str] | None = None
    verify_each: bool = True
    time_passes: bool = False


def _guard_mlir_text(text: str, source: str) -> None:
    """xDSL's lexer backtracks exponentially on an unterminated string (a
    truncated dump cut inside a hex weight), so find those first."""
    for n, line in enumerate(text.splitlines(), 1):
        if line.lstrip().startswith("//"):
            continue
        if line.replace("\\\\", "").replace('\\"', "").count('"') % 2:
            raise ErnncError(f"{source}:{n}: unterminated string literal (is the file truncated?)")


def parse_mlir(text: str, source: str) -> ModuleOp:
    from xdsl.parser import Parser
    from xdsl.utils.exceptions import ParseError, VerifyException

    from .context import make_context

    _guard_mlir_text(text, source)
    try:
        module = Parser(make_context(), text, name=source).parse_module()
    except ParseError as e:
        lines = str(e).strip().splitlines()
        where = lines[0] if lines else source
        raise ErnncError(f"{where}: {e.msg}") from None
    except Exception as e:  # noqa: BLE001 - the parser raises several kinds
        raise ErnncError(f"{source}: cannot parse: {str(e).strip().splitlines()[-1]}") from None
    try:
        module.verify()
    except VerifyException as e:
        raise ErnncError(
            f"{source}: the IR does not verify: {verify_failure_message(module, e)}"
        ) from None
    return module


# ops that first appear at a stage, latest stage first (a stage missing here
# is recognised by no op of its own)
STAGE_OPS: dict[str, frozenset[str]] = {
    "scheduled": frozenset({"ernn.target"}),  # a module attribute, the stage adds no ops
    "quantized": frozenset({"fxp.cast", "fxp.constant", "fxp.pwl", "fxp.lut"}),
    "fft": frozenset({"circ.rfft", "circ.mac", "circ.irfft"}),
    "circulant": frozenset({"circ.matvec"}),
    "cell": frozenset({"cell.scan", "cell.matvec"}),
    "import": frozenset({"ernn.lstm", "ernn.gru", "ernn.rnn"}),
}


def detect_stage(module: ModuleOp) -> str:
    """The latest stage whose ops the module holds. A circulant or FFT stage
    IR with every matrix dense (block size 1) is read as "cell", which
    continues identically."""
    names = {op.name for op in module.walk()} | set(module.attributes)
    for stage in reversed(STAGES):
        if STAGE_OPS.get(stage, frozenset()) & names:
            return stage
    return "cell"


def _check_stage(module: ModuleOp, stage: str) -> None:
    """--from must not claim less or (from the import stage) more than the IR holds."""
    held = detect_stage(module)
    order = list(STAGES)
    if order.index(stage) < order.index(held) or (held == "import" and stage != "import"):
        raise ErnncError(
            f"--from {stage}: the IR holds {held}-stage ops ({STAGES[held]}); "
            f"give --from {held}, or leave --from out to detect it"
        )


def load_input(path: Path, from_stage: str | None) -> tuple[ModuleOp, str]:
    if from_stage is not None and path.suffix == ".onnx":
        raise ErnncError(f"--from re-enters an IR dump (.mlir); {path} is ONNX: drop --from")
    if path.suffix == ".mlir" or from_stage is not None:
        if not path.exists():
            raise ErnncError(f"{path}: no such file")
        try:
            text = path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as e:
            raise ErnncError(f"{path}: cannot read: {e}") from None
        module = parse_mlir(text, str(path))
        stage = from_stage or detect_stage(module)
        if stage not in STAGES:
            raise ErnncError(f"--from: unknown stage {stage!r}; stages are {', '.join(STAGES)}")
        _check_stage(module, stage)
        return module, stage
    from .onnx_import import import_onnx, load_model

    return import_onnx(load_model(path)), "import"


@dataclass(frozen=True)
class DefaultPipeline:
    """The default pipeline as single passes, and where each stage ends."""

    passes: list[ModulePass]
    ends: dict[str, int]  # stage -> how many passes make it (0 for the first)


def default_steps(options: PipelineOptions) -> DefaultPipeline:
    passes: list[ModulePass] = []
    ends = {next(iter(STAGES)): 0}
    for stage, spec in default_pipeline(options):
        passes += parse_passes(spec)
        ends[stage] = len(passes)  # an empty stage ends where the previous one does
    return DefaultPipeline(passes, ends)


_DUMP_NAME = re.compile(r"^(\d+)-(.+)\.mlir$")


def dump_resume_point(path: Path, pipeline: DefaultPipeline) -> int | None:
    """For a file named as --dump-ir names it, NN-<pass>.mlir or NN-<stage>.mlir,
    the number of default-pipeline passes already applied to it (NN)."""
    m = _DUMP_NAME.match(path.name)
    if m is None:
        return None
    n, name = int(m[1]), m[2]
    if 0 < n <= len(pipeline.passes) and pipeline.passes[n - 1].name == name:
        return n
    if pipeline.ends.get(name) == n:
        return n
    return None


@dataclass
class Compiled:
    module: ModuleOp
    runner: PassRunner
    start_stage: str
    # copies of the IR at the stages asked for in ``keep``
    snapshots: dict[str, ModuleOp] = field(default_factory=dict)


def compile_to_ir(
    req: CompileRequest, out: TextIO | None = None, keep: tuple[str, ...] = ()
) -> Compiled:
    """Run the pipeline; print the IR of ``req.emit`` to ``out`` (stdout) if asked."""
    from .context import make_context

    out = sys.stdout if out is None else out
    module, stage = load_input(req.model, req.from_stage)
    result = Compiled(module, None, stage)  # type: ignore[arg-type]
    runner = PassRunner(
        make_context(),
        dump_dir=req.dump_ir,
        print_after=req.print_after,
        verify_each=req.verify_each,
        time_passes=req.time_passes,
        out=out,
    )
    if req.dump_ir is not None:
        try:
            req.dump_ir.mkdir(parents=True, exist_ok=True)
            for stale in req.dump_ir.glob("[0-9][0-9]-*.mlir"):  # a previous run's dumps
                stale.unlink()
        except OSError as e:
            raise ErnncError(
                f"cannot create IR dump directory {req.dump_ir}: {e.strerror}"
            ) from None
    result.runner = runner
    if req.passes is not None:
        runner.start(module, stage)
        if req.emit is not None:
            raise ErnncError(
                "--emit names a stage of the default pipeline; with --passes use --print-ir-after"
            )
        passes = parse_passes(req.passes)
        if keep:
            runner.on_pass = _snapshot_by_content(result, keep)
            runner.on_pass("", module)
        runner.run(passes, module)
        return result
    pipe = default_steps(req.options)
    start, label = pipe.ends[stage], stage
    if req.from_stage is None and req.model.suffix == ".mlir":
        resume = dump_resume_point(req.model, pipe)
        if resume is not None:  # continue right after the pass that wrote the dump
            start, label = resume, req.model.stem.split("-", 1)[1]
    if req.emit is not None and pipe.ends[req.emit] < start:
        raise ErnncError(f"--emit {req.emit}: the input is already past that stage")
    runner._count = start  # dumps are numbered as in a run from the start
    runner.start(module, label)

    def reached(count: int) -> bool:
        """Keep the stages that end after ``count`` passes; True to stop."""
        for s, end in pipe.ends.items():
            if end == count and s in keep:
                result.snapshots[s] = module.clone()
        if req.emit is not None and pipe.ends[req.emit] == count:
            print_ir(module, out)
            return True
        return False

    if reached(start):
        return result
    for i in range(start, len(pipe.passes)):
        runner.run([pipe.passes[i]], module)
        if reached(i + 1):
            break
    return result


def _snapshot_by_content(
    result: Compiled, keep: tuple[str, ...]
) -> Callable[[str, ModuleOp], None]:
    """Under a custom pipeline, the stages kept for the report are recognised by
    their ops: "cell" is the last IR with dense matvecs and no circulant ones,
    "circulant" the last with circulant matvecs."""

    def on_pass(_name: str, module: ModuleOp) -> None:
        names = {op.name for op in module.walk()}
        if "cell" in keep and "cell.matvec" in names and "circ.matvec" not in names:
            result.snapshots["cell"] = module.clone()
        if "circulant" in keep and "circ.matvec" in names:
            result.snapshots["circulant"] = module.clone()

    return on_pass


def check_output_dir(out_dir: Path) -> None:
    """That ``out_dir`` may be written: absent, empty, or written by ernnc
    before (ErnncError if not). ``write_output_dir`` checks it again."""
    out_dir = Path(out_dir)
    if out_dir.exists() and not out_dir.is_dir():
        raise ErnncError(f"output {out_dir} exists and is not a directory")
    if out_dir.is_dir() and any(out_dir.iterdir()) and not (out_dir / MARKER).exists():
        raise ErnncError(
            f"output directory {out_dir} is not empty and was not written by ernnc; "
            "choose another or remove it"
        )


def write_output_dir(out_dir: Path, write: Callable[[Path], None]) -> None:
    """Build the output in a temporary directory beside ``out_dir``, then move
    it into place, so a failure leaves no half-written directory behind."""
    out_dir = Path(out_dir)
    check_output_dir(out_dir)
    parent = out_dir.absolute().parent
    try:
        parent.mkdir(parents=True, exist_ok=True)
        tmp = Path(tempfile.mkdtemp(prefix=f".{out_dir.name}.tmp-", dir=parent))
    except OSError as e:
        raise ErnncError(f"cannot write output directory {out_dir}: {e.strerror}") from None
    try:
        write(tmp)
        (tmp / MARKER).write_text("written by ernnc; this directory is replaced on recompilation\n")
        os.chmod(tmp, 0o755)
        if out_dir.exists():
            old = Path(tempfile.mkdtemp(prefix=f".{out_dir.name}.old-", dir=parent))
            os.rename(out_dir, old / "x")
            os.rename(tmp, out_dir)
            shutil.rmtree(old, ignore_errors=True)
        else:
            os.rename(tmp, out_dir)
    except OSError as e:
        shutil.rmtree(tmp, ignore_errors=True)
        raise ErnncError(f"cannot write output directory {out_dir}: {e.strerror or e}") from None
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise


def build_report(
    result: Compiled,
    model: Path,
    calib: Path | None,
    pipeline: str,
    max_dims: dict[str, int] | None = None,
) -> dict:
    """report.json's content (see docs/report.md)."""
    from .. import __version__
    from . import report as rp

    report: dict = {"ernnc_version": __version__, "model": model.name, "pipeline": pipeline}
    cell_ir = result.snapshots.get("cell")
    circ_ir = result.snapshots.get("circulant")
    float_ir = result.snapshots.get("fft")
    quantized = rp.is_quantized(result.module)
    reference = cell_ir if cell_ir is not None else float_ir
    inputs: dict = {}
    source = ""
    if reference is not None:
        inputs, source = rp.report_inputs(reference, calib)
    if cell_ir is not None:
        dense = rp.dense_matrices(cell_ir)
        matrices = (
            rp.circulant_matrices(circ_ir, dense) if circ_ir is not None else list(dense.values())
        )
        report["compression"] = rp.compression_section(matrices, rp.constant_params(cell_ir))
        compressed = float_ir if float_ir is not None else (None if quantized else result.module)
        if any(m.block > 1 for m in matrices) and compressed is not None:
            report["accuracy"] = rp.accuracy_section(cell_ir, compressed, inputs, source)
    if quantized and float_ir is not None:
        report["quantization"] = rp.quantization_section(float_ir, result.module, inputs, source)
    hardware = rp.hardware_section(result.module, max_dims or {})
    if hardware is not None:
        report["hardware"] = hardware
    return report


def write_numpy(module: ModuleOp, directory: Path, float_model: ModuleOp | None = None) -> None:
    """model_ref.py and weights.npz; with a float model (the one a quantized
    module came from) also model_float.py and weights_float.npz."""
    from ..backends.numpy import UnsupportedOpError, emit_numpy
    from ..backends.numpy.npz import save_npz

    try:
        emitted = emit_numpy(module, float_companion="model_float.py" if float_model else None)
        companion = (
            emit_numpy(float_model, weights_file="weights_float.npz") if float_model else None
        )
    except UnsupportedOpError as e:
        raise ErnncError(f"NumPy backend: {e}") from None
    (directory / "model_ref.py").write_text(emitted.source, encoding="utf-8")
    save_npz(directory / "weights.npz", emitted.weights)
    if companion is not None:
        (directory / "model_float.py").write_text(companion.source, encoding="utf-8")
        save_npz(directory / "weights_float.npz", companion.weights)


@dataclass(frozen=True)
class HlsOptions:
    top: str = "ernnc_top"
    part: str | None = None  # None: the backend's default
    clock_mhz: float | None = None
    max_dims: tuple[tuple[str, int], ...] = ()

    @staticmethod
    def parse(top: str, part: str | None, clock: float | None, max_dims: str) -> HlsOptions:
        """From the CLI's --top, --part, --clock and --max-dims 'T=512,N=4'."""
        bounds: list[tuple[str, int]] = []
        for item in filter(None, (s.strip() for s in max_dims.split(","))):
            name, eq, value = item.partition("=")
            if not eq or not name.strip() or not value.strip().isdigit() or int(value) < 1:
                raise ErnncError(f"--max-dims {item!r}: expected NAME=N with N >= 1")
            bounds.append((name.strip(), int(value)))
        if not top or not top.isidentifier() or not top.isascii():
            raise ErnncError(f"--top {top!r}: expected a C identifier")
        if clock is not None and not (0 < clock < float("inf")):
            raise ErnncError(f"--clock {clock:g}: expected a positive frequency in MHz")
        if part is not None and not re.fullmatch(r"[A-Za-z0-9_.\-]+", part):
            raise ErnncError(f"--part {part!r}: an FPGA part is letters, digits, '-', '_' and '.'")
        return HlsOptions(top, part, clock, tuple(bounds))


def write_hls(module: ModuleOp, directory: Path, options: HlsOptions) -> None:
    """The HLS project in ``directory`` (see backends/hls)."""
    from ..backends.hls import HlsError, emit_hls

    max_dims = dict(options.max_dims)
    try:
        project = emit_hls(
            module,
            top=options.top,
            part=options.part,
            clock_mhz=options.clock_mhz,
            max_dims=max_dims,
        )
    except HlsError as e:
        raise ErnncError(
            f"HLS backend: {e} (--target numpy writes the NumPy model alone)"
        ) from None
    unknown = sorted(set(max_dims) - set(project.manifest["dims"]))
    if unknown:
        known = ", ".join(project.manifest["dims"]) or "none"
        raise ErnncError(
            f"--max-dims: the model has no symbolic dim {unknown[0]!r} (it has {known})"
        )
    directory.mkdir()
    for name, text in sorted(project.files.items()):
        (directory / name).write_text(text, encoding="utf-8")
