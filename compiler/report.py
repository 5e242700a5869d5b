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
from xdsl.dialects.builtin import ModuleOp

from ..circulant import Blocking
from ..dialects import cell, circ, nn
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


def _signature(module: ModuleOp) -> list[tuple[str, np.dtype, list[int | str]]]:
    from ..backends.numpy.emitter import ModelPrinter

    printer = ModelPrinter(module)
    return [
        (name, np.dtype(dtype[3:].replace("bool_", "bool")), dims)
        for name, dtype, dims in printer.input_specs()
    ]


def random_inputs(
    module: ModuleOp, samples: int = 4, steps: int = 16, seed: int = 0
) -> dict[str, np.ndarray]:
    """Standard-normal inputs; symbolic dims are `steps` for the leading axis of
    3-D inputs (sequence length) and `samples` otherwise; lengths in [1, steps]."""
    rng = np.random.default_rng(seed)
    sizes: dict[str, int] = {}
    sig = _signature(module)
    for _, _, dims in sig:
        for i, d in enumerate(dims):
            if isinstance(d, str) and d not in sizes:
                sizes[d] = steps if (len(dims) == 3 and i == 0) else samples
    out: dict[str, np.ndarray] = {}
    for name, dtype, dims in sig:
        shape = [sizes[d] if isinstance(d, str) else d for d in dims]
        if dtype.kind in "iu":
            out[name] = rng.integers(1, steps + 1, size=shape).astype(dtype)
        else:
            out[name] = rng.standard_normal(shape).astype(dtype)
    return out


def load_calibration(path: Path, module: ModuleOp) -> dict[str, np.ndarray]:
    """Inputs from an .npz keyed by the model's input names, checked against its signature."""
    try:
        with np.load(path) as f:
            data = {k: f[k] for k in f.files}
    except FileNotFoundError:
        raise ErnncError(f"calibration file {path}: no such file") from None
    except Exception as e:  # noqa: BLE001 - np.load raises several kinds on bad files
        raise ErnncError(
            f"calibration file {path}: not a readable .npz ({type(e).__name__})"
        ) from None
    names = [n for n, _, _ in _signature(module)]
    missing = [n for n in names if n not in data]
    extra = [k for k in data if k not in names]
    if missing or extra:
        raise ErnncError(
            f"calibration file {path}: keys {sorted(data)} do not match the model inputs {names}"
        )
    return data


def _classifier_outputs(module: ModuleOp) -> set[int]:
    """Output positions computed by softmax, log-softmax or a final Gemm/MatMul (logits)."""
    from xdsl.dialects import func

    ret = next(op for op in module.walk() if isinstance(op, func.ReturnOp))
    found = set()
    for i, v in enumerate(ret.arguments):
        if isinstance(v.owner, nn.SoftmaxOp | nn.LogSoftmaxOp | nn.GemmOp | nn.MatMulOp):
            if tensor_shape(v.type) and tensor_shape(v.type)[-1] not in (DYN, 1):
                found.add(i)
    return found


def accuracy_section(
    dense: ModuleOp, final: ModuleOp, inputs: dict[str, np.ndarray], source: str
) -> dict:
    from ..backends.numpy import run_module

    try:
        want = run_module(dense, inputs)
        got = run_module(final, inputs)
    except ValueError as e:
        raise ErnncError(f"{source}: {e}") from None
    classifiers = _classifier_outputs(final)
    outputs = {}
    for i, name in enumerate(want):
        a, b = want[name].astype(np.float64), got[name].astype(np.float64)
        max_abs = float(np.abs(a - b).max()) if a.size else 0.0
        scale = float(np.abs(a).max()) if a.size else 0.0
        entry = {"max_abs": max_abs, "rel": max_abs / scale if scale else max_abs}
        if i in classifiers and a.ndim >= 1 and a.size:
            entry["argmax_agreement"] = float((a.argmax(-1) == b.argmax(-1)).mean())
        outputs[name] = entry
    first = next(iter(inputs.values()))
    return {
        "inputs": source,
        "samples": int(first.shape[1]) if first.ndim >= 2 else 1,
        "outputs": outputs,
    }


def format_table(report: dict) -> str:
    comp = report["compression"]
    lines = [
        f"{'matrix':<16}{'shape':>12}{'block':>7}{'padded':>12}{'params':>11}{'compressed':>12}{'ratio':>8}{'rel.err':>9}",
    ]
    for m in comp["matrices"]:
        shape = "x".join(map(str, m["shape"]))
        padded = "x".join(map(str, m["padded_shape"]))
        err = "-" if m["block"] == 1 else "exact" if m["exact"] else f"{m['rel_error']:.3g}"
        lines.append(
            f"{m['name']:<16}{shape:>12}{m['block']:>7}{padded:>12}{m['params_dense']:>11,}"
            f"{m['params_compressed']:>12,}{m['ratio']:>7.2f}x{err:>9}"
        )
    r, t = comp["recurrent"], comp["model"]
    lines.append(
        f"{'recurrent total':<47}{r['params_dense']:>11,}{r['params_compressed']:>12,}{r['ratio']:>7.2f}x"
    )
    lines.append(
        f"{'model total':<47}{t['params_dense']:>11,}{t['params_compressed']:>12,}{t['ratio']:>7.2f}x"
    )
    acc = report.get("accuracy")
    if acc:
        lines.append(
            f"output error of the compressed model against the dense one ({acc['inputs']}):"
        )
        for name, e in acc["outputs"].items():
            extra = (
                f", argmax agreement {100 * e['argmax_agreement']:.1f}%"
                if "argmax_agreement" in e
                else ""
            )
            lines.append(f"  {name}: max abs {e['max_abs']:.3g}, relative {e['rel']:.3g}{extra}")
    return "\n".join(lines)


def large_error_warnings(report: dict) -> list[str]:
    bad = [
        m
        for m in report.get("compression", {}).get("matrices", [])
        if m["block"] > 1 and not m["exact"] and m["rel_error"] > LARGE_ERROR
    ]
    if not bad:
        return []
    errors = sorted(m["rel_error"] for m in bad)
    span = (
        f"{100 * errors[0]:.0f}%"
        if len(errors) == 1
        else f"{100 * errors[0]:.0f}-{100 * errors[-1]:.0f}%"
    )
    names = ", ".join(m["name"] for m in bad)
    return [
        f"warning: the block-circulant projection loses {span} of {names} (relative Frobenius "
        "error): these weights were not trained with the structure, so expect accuracy loss; "
        "retrain with it (ernnc.train, ADMM) to recover"
    ]
