"""One task: a design compiled once, then priced under each budget. Worker
processes and Dask workers run ``evaluate``; it and the task's classes are
pickled by this module's path."""

from __future__ import annotations

import tempfile
import time
from dataclasses import dataclass, field, replace
from pathlib import Path

from ..errors import ErnncError
from .grid import Budget, Design, Settings


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
    from ..pipeline import PipelineOptions

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
            from ..pipeline import ir_text

            ir = ir_text(module)
            accuracy["seconds"] = round(time.perf_counter() - t0, 3)
        else:  # the design's module and measures from the cache
            from ..driver import parse_mlir

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
    from ..context import make_context
    from ..driver import default_steps
    from ..onnx_import import import_onnx, parse_model
    from ..pipeline import PassRunner

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
    from .. import report as rp

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
    from ...passes.schedule import parse_dims
    from ..context import make_context
    from ..pipeline import PassRunner, default_pipeline, parse_passes
    from ..report import hardware_section

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
