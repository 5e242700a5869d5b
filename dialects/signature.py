"""The model's signature in the IR: ``func.func @main`` keeps each input's
and output's ONNX name and dims in its ``arg_attrs``/``res_attrs``
(``onnx.name``, ``onnx.dims``: static sizes and symbolic names)."""

from __future__ import annotations

from dataclasses import dataclass

from xdsl.dialects import func
from xdsl.dialects.builtin import ArrayAttr, DictionaryAttr, IntegerAttr, ModuleOp, StringAttr
from xdsl.ir import Attribute

from .shapes import DYN, tensor_shape


@dataclass(frozen=True)
class Port:
    name: str
    dims: tuple[int | str, ...]  # static sizes, or symbolic names
    type: Attribute


def main_func(module: ModuleOp) -> func.FuncOp:
    funcs = [op for op in module.ops if isinstance(op, func.FuncOp)]
    if len(funcs) != 1:
        raise ValueError("the module must hold exactly one func.func")
    return funcs[0]


def _port(attrs: ArrayAttr | None, i: int, fallback: str, t: Attribute) -> Port:
    name, dims = fallback, None
    if attrs is not None:
        d = attrs.data[i]
        assert isinstance(d, DictionaryAttr)
        n = d.data.get("onnx.name")
        if isinstance(n, StringAttr):
            name = n.data
        ds = d.data.get("onnx.dims")
        if isinstance(ds, ArrayAttr):
            dims = tuple(x.value.data if isinstance(x, IntegerAttr) else x.data for x in ds.data)  # type: ignore[union-attr]
    if dims is None:
        dims = tuple(f"d{i}_{k}" if s == DYN else s for k, s in enumerate(tensor_shape(t)))
    return Port(name, dims, t)


def inputs(fn: func.FuncOp) -> list[Port]:
    return [_port(fn.arg_attrs, i, f"input{i}", a.type) for i, a in enumerate(fn.body.block.args)]


def outputs(fn: func.FuncOp) -> list[Port]:
    types = fn.function_type.outputs.data
    return [_port(fn.res_attrs, i, f"output{i}", t) for i, t in enumerate(types)]


def sequence_axes(module: ModuleOp) -> dict[str, tuple[int, int]]:
    """For each input that a ``cell.scan`` reads as its sequence: (time axis,
    batch axis) of that input, found by following the scan's input back
    through transposes and casts (time-major, batch-first or otherwise)."""
    from . import cell, fxp, nn

    fn = main_func(module)
    args = list(fn.body.block.args)
    ports = inputs(fn)
    found: dict[str, tuple[int, int]] = {}
    for scan in (op for op in module.walk() if isinstance(op, cell.ScanOp)):
        v, axes = scan.x, [0, 1]
        while isinstance(v.owner, nn.TransposeOp | nn.CastOp | fxp.CastOp):
            if isinstance(v.owner, nn.TransposeOp):
                perm = v.owner.prop_values()["perm"]
                axes = [perm[a] for a in axes]
            v = v.owner.operands[0]
        if v in args:
            found.setdefault(ports[args.index(v)].name, (axes[0], axes[1]))
    return found
