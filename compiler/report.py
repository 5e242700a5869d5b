"""``report.json`` and the summary table: compression and accuracy.

The keys are stable and documented in docs/report.md. Numbers come from the
IR: matrices and parameters at the cell and circulant stages, output errors
from running the NumPy models of the dense and the final IR.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
from xdsl.dialects import arith
from xdsl.dialects.builtin import ModuleOp, StringAttr

from ..circulant import Blocking
from ..dialects import cell, circ, fxp, nn
from ..dialects.constants import numpy_from_dense
from ..dialects.shapes import DYN, tensor_shape
from .errors import ErnncError

LARGE_ERROR = 0.1  # relative Frobenius error above which a projection is flagged


@dataclass
class MatrixReport:
    name: str
    gates: list[str]
    shape: list[int]
    block: int
    padded_shape: list[int]
    params_dense: int
    params_compressed: int
    ratio: float
    rel_error: float
    exact: bool


def dense_matrices(module: ModuleOp) -> dict[str, MatrixReport]:
    """Every recurrent matrix of a cell-level module, all dense."""
    out: dict[str, MatrixReport] = {}
    for op in module.walk():
        if isinstance(op, cell.MatVecOp):
            m, k = tensor_shape(op.w.type)
            prev = out.get(op.matrix.data)
            gates = (prev.gates if prev else []) + list(op.gate_names)
            rows = (prev.shape[0] if prev else 0) + m
            n = rows * k
            out[op.matrix.data] = MatrixReport(
                op.matrix.data, gates, [rows, k], 1, [rows, k], n, n, 1.0, 0.0, True
            )
    return out


def circulant_matrices(module: ModuleOp, dense: dict[str, MatrixReport]) -> list[MatrixReport]:
    """The matrices after ernn-block-circulant: compressed ones from their
    circ.matvec, the others as they were."""
    result = dict(dense)
    for op in module.walk():
        if isinstance(op, circ.MatVecOp):
            m, k = op.shape
            g = len(op.gates)
            bl = Blocking(g, m // g, k, op.block_size)
            err = op.rel_error.value.data if op.rel_error is not None else float("nan")
            result[op.matrix.data] = MatrixReport(
                op.matrix.data,
                list(op.gate_names),
                [m, k],
                bl.block,
                list(bl.padded_shape),
                bl.dense_params,
                bl.params,
                bl.dense_params / bl.params,
                err,
                op.exact is not None,
            )
    return [result[k] for k in sorted(result)]


def constant_params(module: ModuleOp) -> int:
    """Elements of every tensor constant that is not a recurrent matrix."""
    total = 0
    for op in module.walk():
        if isinstance(op, arith.ConstantOp):
            uses = [u.operation for u in op.result.uses]
            if uses and all(isinstance(u, cell.MatVecOp) and u.w is op.result for u in uses):
                continue
            total += int(np.prod(tensor_shape(op.result.type)))
    return total


def compression_section(matrices: list[MatrixReport], other_params: int) -> dict:
    dense = sum(m.params_dense for m in matrices)
    comp = sum(m.params_compressed for m in matrices)
    return {
        "matrices": [asdict(m) for m in matrices],
        "recurrent": {
            "params_dense": dense,
            "params_compressed": comp,
            "ratio": dense / comp if comp else 1.0,
        },
        "model": {
            "params_dense": dense + other_params,
            "params_compressed": comp + other_params,
            "ratio": (dense + other_params) / (comp + other_params) if comp + other_params else 1.0,
            "other_params": other_params,
        },
    }


def report_inputs(module: ModuleOp, calib: Path | None) -> tuple[dict[str, np.ndarray], str]:
    """The inputs the report measures on, and how to name them."""
    from ..backends.numpy.inputs import load_inputs, random_inputs

    if calib is not None:
        try:
            return load_inputs(calib, module), f"calibration inputs {calib.name}"
        except ValueError as e:
            raise ErnncError(f"calibration file {e}") from None
    inputs = random_inputs(module)
    first = next(iter(inputs.values()))
    n = first.shape[1] if first.ndim > 1 else 1
    return inputs, f"random inputs ({n} sequences; give --calib for real data)"


def is_quantized(module: ModuleOp) -> bool:
    return any(isinstance(op, fxp.CastOp) for op in module.walk())


def _classifier_outputs(module: ModuleOp) -> set[int]:
    """Output positions computed by softmax, log-softmax or a final Gemm/MatMul (logits)."""
    from xdsl.dialects import func

    ret = next(op for op in module.walk() if isinstance(op, func.ReturnOp))
    found = set()
    for i, v in enumerate(ret.arguments):
        if (
            isinstance(v.owner, nn.SoftmaxOp | nn.LogSoftmaxOp | nn.GemmOp | nn.MatMulOp)
            and tensor_shape(v.type)
            and tensor_shape(v.type)[-1] not in (DYN, 1)
        ):
            found.add(i)
    return found


def accuracy_section(
    dense: ModuleOp, compressed: ModuleOp, inputs: dict[str, np.ndarray], source: str
) -> dict:
    """The compressed float model against the dense one."""
    from ..backends.numpy import run_module

    try:
        want = run_module(dense, inputs)
        got = run_module(compressed, inputs)
    except ValueError as e:
        raise ErnncError(f"{source}: {e}") from None
    return {
        "inputs": source,
        "samples": _samples(dense, inputs),
        "outputs": output_errors(want, got, _classifier_outputs(compressed)),
    }


def _samples(module: ModuleOp, inputs: dict[str, np.ndarray]) -> int:
    """The number of sequences: the batch size of the first scan, found by
    following its input back through transposes and casts to a model input
    (time-major, batch-first or otherwise)."""
    from ..dialects.signature import sequence_axes

    for name, (_, batch) in sequence_axes(module).items():
        return int(inputs[name].shape[batch])
    first = next(iter(inputs.values()))
    return int(first.shape[1]) if first.ndim >= 2 else 1


def output_errors(want: dict, got: dict, classifiers: set[int]) -> dict:
    """Per output: max |got - want|, that over max |want|, the SQNR in dB and,
    for classifier outputs, how often the argmax agrees."""
    out: dict[str, dict] = {}
    for i, name in enumerate(want):
        a, b = want[name].astype(np.float64), got[name].astype(np.float64)
        max_abs = float(np.abs(a - b).max()) if a.size else 0.0
        scale = float(np.abs(a).max()) if a.size else 0.0
        noise = float(np.sum((a - b) ** 2))
        signal = float(np.sum(a**2))
        entry: dict = {
            "max_abs": max_abs,
            "rel": max_abs / scale if scale else max_abs,
            "sqnr_db": 10 * np.log10(signal / noise) if noise > 0 and signal > 0 else None,
        }
        if i in classifiers and a.ndim >= 1 and a.size:
            entry["argmax_agreement"] = float((a.argmax(-1) == b.argmax(-1)).mean())
        out[name] = entry
    return out


def _fmt(t: fxp.FixedType):
    from ..fixedpoint import Fmt

    return Fmt(t.w, t.i, t.round_mode == "rnd", t.overflow_mode == "sat")


def _range(op: object) -> list[float] | None:
    attr = getattr(op, "attributes", {}).get("ernn.range")
    return [float(x) for x in attr.get_values()] if attr is not None else None


def _input_range(v: object) -> list[float] | None:
    """The calibrated range of a value, found on the cast that made it
    (through the splits and views between)."""
    owner = getattr(v, "owner", None)
    while isinstance(owner, nn.SplitOp | nn.SliceOp | nn.ReshapeOp | nn.TransposeOp | nn.ClipOp):
        owner = owner.operands[0].owner
    return _range(owner) if isinstance(owner, fxp.CastOp) else None


def _tag(op: object) -> str:
    attr = getattr(op, "attributes", {}).get("tensor")
    return attr.data if isinstance(attr, StringAttr) else ""


def _rounds(op: fxp.CastOp) -> str:
    """What a cast rounds: the op whose exact result it takes (and its matrix)."""
    src = op.input.owner
    if isinstance(src, fxp.CastOp) or not hasattr(src, "name"):
        return "input"
    matrix = getattr(src, "matrix", None)
    return src.name + (f" {matrix.data}" if isinstance(matrix, StringAttr) else "")  # type: ignore[union-attr]


def activation_entry(op: fxp.PwlOp | fxp.LutOp) -> dict:
    """An activation's table, read back from the IR, and its max error over
    the calibrated range of its input (the whole input format if unknown)."""
    from ..fixedpoint import Table, max_error

    fin, fout = fxp.fixed_of(op.input.type), fxp.fixed_of(op.result.type)
    assert fin is not None and fout is not None
    if isinstance(op, fxp.PwlOp):
        fs, fc = fxp.fixed_of(op.slopes.type), fxp.fixed_of(op.intercepts.type)
        slopes = numpy_from_dense(op.slopes.owner.value).astype(np.int64)  # type: ignore[union-attr]
        icpts = numpy_from_dense(op.intercepts.owner.value).astype(np.int64)  # type: ignore[union-attr]
        table = Table("pwl", op.lo.value.data, op.step, slopes, _fmt(fs), icpts, _fmt(fc))  # type: ignore[arg-type]
        impl = f"pwl:{len(slopes) - 2}"
    else:
        ft = fxp.fixed_of(op.table.type)
        values = numpy_from_dense(op.table.owner.value).astype(np.int64)  # type: ignore[union-attr]
        table = Table(
            "lut", op.lo.value.data, op.step, np.zeros(0, np.int64), _fmt(ft), values, _fmt(ft)
        )  # type: ignore[arg-type]
        impl = f"lut:{len(values)}"
    rng = _input_range(op.input)
    alpha, beta = op.params()
    lo, hi = rng if rng else (None, None)
    return {
        "name": _tag(op),
        "function": op.function,
        "implementation": impl,
        "input_format": fin.spec(),
        "output_format": fout.spec(),
        "input_range": rng,
        "max_error": max_error(table, op.function, alpha, beta, _fmt(fin), _fmt(fout), lo, hi),
    }


def quantization_section(float_ir: ModuleOp, fixed_ir: ModuleOp, inputs: dict, source: str) -> dict:
    """Formats, ranges and overflow counts of every rounding point, the
    activations' errors, and the outputs against the float model, on ``inputs``."""
    from ..backends.numpy import emit_numpy, load_emitted, run_module
    from ..backends.numpy.emitter import ModelPrinter

    try:
        want = run_module(float_ir, inputs)
        model = load_emitted(emit_numpy(fixed_ir, count_overflows=True))
        got = model.run(dict(inputs))
    except ValueError as e:
        raise ErnncError(f"{source}: {e}") from None
    counting = ModelPrinter(fixed_ir)
    counting.count_overflows()
    tensors: list[dict] = []
    activations: list[dict] = []
    for op in fixed_ir.walk():
        if (
            isinstance(op, fxp.ConstantOp)
            and _tag(op)
            and not _tag(op).endswith((".slopes", ".intercepts", ".table"))
        ):
            t = fxp.fixed_of(op.result.type)
            assert t is not None
            raw = numpy_from_dense(op.value).astype(np.int64)
            limits = (-(2 ** (t.w - 1)), 2 ** (t.w - 1) - 1)
            tensors.append(
                {
                    "name": _tag(op),
                    "kind": "constant",
                    "format": t.spec(),
                    "range": [float(raw.min()) * 2.0**-t.f, float(raw.max()) * 2.0**-t.f]
                    if raw.size
                    else None,
                    "overflows": int(np.count_nonzero((raw == limits[0]) | (raw == limits[1]))),
                    "values": int(raw.size),
                }
            )
        elif op in counting.stats:
            t = fxp.fixed_of(op.results[0].type)
            assert t is not None
            overflows, count = model._stats[counting.stats[op]]
            kind = _rounds(op) if isinstance(op, fxp.CastOp) else f"{op.name} {op.function}"  # type: ignore[attr-defined]
            tensors.append(
                {
                    "name": _tag(op),
                    "kind": kind,
                    "format": t.spec(),
                    "range": _range(op),
                    "overflows": int(overflows),
                    "values": int(count),
                }
            )
            if isinstance(op, fxp.PwlOp | fxp.LutOp):
                activations.append(activation_entry(op))
    return {
        "inputs": source,
        "samples": _samples(fixed_ir, inputs),
        "fft": "bit growth: sums are exact, twiddle products round to the data's binary point",
        "tensors": tensors,
        "activations": activations,
        "outputs": output_errors(want, got, _classifier_outputs(fixed_ir)),
    }


def _errors_lines(title: str, outputs: dict) -> list[str]:
    lines = [title]
    for name, e in outputs.items():
        extra = f", SQNR {e['sqnr_db']:.1f} dB" if e.get("sqnr_db") is not None else ""
        if "argmax_agreement" in e:
            extra += f", argmax agreement {100 * e['argmax_agreement']:.1f}%"
        lines.append(f"  {name}: max abs {e['max_abs']:.3g}, relative {e['rel']:.3g}{extra}")
    return lines


def hardware_section(module: ModuleOp, max_dims: dict[str, int]) -> dict | None:
    """Resources, latency and throughput of the scheduled design (estimates)."""
    from ..hardware.devices import RESOURCES, device
    from ..hardware.estimate import ASSUMPTIONS, estimate
    from ..hardware.schedule import target_of
    from ..passes.schedule import no_fit_message

    target = target_of(module)
    if target is None:
        return None
    est = estimate(module, device(target.device), target.clock_mhz, max_dims)
    util = est.utilization()
    return {
        "note": "estimates from an analytic model, not synthesis results (docs/estimates.md)",
        "device": target.device,
        "part": target.part,
        "clock_mhz": target.clock_mhz,
        "resources": {
            r: {
                "used": round(est.used(r), 1),
                "available": est.device.available(r),
                "utilization": round(util[r], 4),
            }
            for r in RESOURCES
        },
        "binding": est.binding,
        "fits": est.fits,
        "cycles_per_step": est.cycles_per_step,
        "latency_per_frame_us": round(est.latency_us, 3),
        "frames_per_second": round(est.fps, 1),
        "dense_equivalent_gops": round(est.gops, 2),
        "loops": [
            {
                "what": c.what,
                "where": c.where,
                "schedule": c.knob,
                "cycles": c.cycles,
                "dsp": c.dsp,
                "bram36": c.bram36,
                "lut": c.lut,
                "ff": c.ff,
                # in a scan whose stages overlap: the stage of the step it runs in
                **({"stage": c.stage} if c.stage else {}),
            }
            for c in est.costs
        ],
        "assumptions": list(ASSUMPTIONS),
        **({} if est.fits else {"does_not_fit": no_fit_message(module, est)}),
    }


def _hardware_lines(hw: dict) -> list[str]:
    res = hw["resources"]
    parts = [
        f"{name} {res[r]['used']:,.0f}/{res[r]['available']:,} ({100 * res[r]['utilization']:.0f}%)"
        for r, name in (("dsp", "DSP"), ("bram36", "BRAM36"), ("lut", "LUT"), ("ff", "FF"))
    ]
    return [
        f"hardware estimate, {hw['device']} at {hw['clock_mhz']:g} MHz: "
        + ", ".join(parts)
        + f"; bound by {hw['binding']}"
        + ("" if hw["fits"] else " (does NOT fit)"),
        (
            f"  {hw['cycles_per_step']:,} cycles/step, {hw['latency_per_frame_us']:.2f} us/frame, "
            f"{hw['frames_per_second']:,.0f} frames/s, {hw['dense_equivalent_gops']:,.1f} GOPS "
            "dense-equivalent (estimates; docs/estimates.md)"
        ),
    ]


def format_table(report: dict) -> str:
    lines: list[str] = []
    comp = report.get("compression")
    if comp:
        head = f"{'matrix':<16}{'shape':>12}{'block':>7}{'padded':>12}{'params':>11}{'compressed':>12}{'ratio':>8}{'rel.err':>9}"
        lines.append(head)
        for m in comp["matrices"]:
            shape = "x".join(map(str, m["shape"]))
            padded = "x".join(map(str, m["padded_shape"]))
            err = "-" if m["block"] == 1 else "exact" if m["exact"] else f"{m['rel_error']:.3g}"
            lines.append(
                f"{m['name']:<16}{shape:>12}{m['block']:>7}{padded:>12}{m['params_dense']:>11,}"
                f"{m['params_compressed']:>12,}{m['ratio']:>7.2f}x{err:>9}"
            )
        for label, key in (("recurrent total", "recurrent"), ("model total", "model")):
            t = comp[key]
            lines.append(
                f"{label:<47}{t['params_dense']:>11,}{t['params_compressed']:>12,}{t['ratio']:>7.2f}x"
            )
    acc = report.get("accuracy")
    if acc:
        lines += _errors_lines(f"compressed against dense ({acc['inputs']}):", acc["outputs"])
    q = report.get("quantization")
    if q:
        lines.append(
            f"{'tensor':<24}{'format':<22}{'calibrated range':>24}{'overflows':>11}  computed by"
        )
        for t in q["tensors"]:
            lines.append(
                f"{t['name'][:23]:<24}{t['format']:<22}{_interval(t['range']):>24}"
                f"{t['overflows']:>11,}  {t['kind']}"
            )
        lines.append(
            f"{'activation':<24}{'implementation':<22}{'input range':>24}{'max error':>11}  function"
        )
        for a in q["activations"]:
            lines.append(
                f"{a['name'][:23]:<24}{a['implementation']:<22}{_interval(a['input_range']):>24}"
                f"{a['max_error']:>11.3g}  {a['function']}"
            )
        over = [t for t in q["tensors"] if t["overflows"]]
        lines.append(
            f"fixed point: {len(q['tensors'])} tensors, {len(over)} with overflows"
            + (
                ": " + ", ".join(f"{t['name']} ({t['overflows']})" for t in over[:6])
                if over
                else ""
            )
        )
        worst = max(q["activations"], key=lambda a: a["max_error"], default=None)
        if worst:
            lines.append(
                f"activations: worst {worst['function']} {worst['implementation']}, max error "
                f"{worst['max_error']:.3g} over its input range"
            )
        lines += _errors_lines(f"bit-accurate against float ({q['inputs']}):", q["outputs"])
    hw = report.get("hardware")
    if hw:
        lines += _hardware_lines(hw)
    return "\n".join(lines)


def _interval(r: list[float] | None) -> str:
    return f"[{r[0]:.4g}, {r[1]:.4g}]" if r else "-"


def large_error_warnings(report: dict) -> list[str]:
    bad = [
        m
        for m in report.get("compression", {}).get("matrices", [])
        if m["block"] > 1 and not m["exact"] and m["rel_error"] > LARGE_ERROR
    ]
    if not bad:
        return []
    errors = sorted(m["rel_error"] for m in bad)
    lo, hi = f"{100 * errors[0]:.0f}", f"{100 * errors[-1]:.0f}"
    span = f"{lo}%" if lo == hi else f"{lo}-{hi}%"
    names = ", ".join(m["name"] for m in bad)
    return [
        (
            f"warning: the block-circulant projection loses {span} of {names} (relative Frobenius "
            "error): these weights were not trained with the structure, so expect accuracy loss; "
            "retrain with it (ernnc.train, ADMM) to recover"
        )
    ]
