"""ONNX frontend: an ONNX model in, a module at the model level (``ernn`` and
``nn`` ops in ``func.func @main``) out.

The graph is interpreted abstractly (see ``onnx_values``): shape arithmetic
is folded, exporter glue is normalised, and only computations on runtime
data become ops. Every attribute a handler does not read is an error, so
nothing is ignored silently.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import onnx
from onnx import helper, numpy_helper
from xdsl.dialects import func
from xdsl.dialects.builtin import (
    ArrayAttr,
    Attribute,
    DictionaryAttr,
    IntegerAttr,
    ModuleOp,
    StringAttr,
    TensorType,
    i64,
)
from xdsl.ir import Block, Operation, Region, SSAValue

from ..dialects.constants import constant_op, element_type_of
from ..dialects.shapes import DYN
from .errors import ErnncError, node_label
from .onnx_values import Const, Dim, Fill, ShapeVec, Tensor, Value, value_kind

Handler = Callable[["Importer", "Node"], Sequence[Value]]
HANDLERS: dict[str, Handler] = {}

_MISSING = object()


def handler(*op_types: str) -> Callable[[Handler], Handler]:
    def register(fn: Handler) -> Handler:
        for op in op_types:
            HANDLERS[op] = fn
        return fn

    return register


def element_type(dtype: np.dtype, what: str) -> Attribute:
    try:
        return element_type_of(dtype)
    except KeyError:
        raise ErnncError(f"{what}: element type {np.dtype(dtype)} is not supported") from None


def ir_shape(dims: Sequence[Dim]) -> list[int]:
    return [d if isinstance(d, int) else DYN for d in dims]


class Node:
    """One ONNX node being imported, with checked access to its attributes."""

    def __init__(self, importer: Importer, proto: onnx.NodeProto, index: int):
        self.importer = importer
        self.proto = proto
        self.op_type = proto.op_type
        self.name = proto.name
        self.label = node_label(proto.name, proto.op_type, index)
        self._attrs = {a.name: a for a in proto.attribute}
        self._read: set[str] = set()

    def error(self, message: str) -> ErnncError:
        return ErnncError(f"{self.label}: {message}")

    def has_attr(self, name: str) -> bool:
        return name in self._attrs

    def attr(self, name: str, default: Any = _MISSING) -> Any:
        self._read.add(name)
        if name not in self._attrs:
            if default is _MISSING:
                raise self.error(f"required attribute '{name}' is missing")
            return default
        value = helper.get_attribute_value(self._attrs[name])
        if isinstance(value, bytes):
            return value.decode("utf-8", errors="replace")
        if isinstance(value, list) and value and isinstance(value[0], bytes):
            return [v.decode("utf-8", errors="replace") for v in value]
        if isinstance(value, onnx.TensorProto):
            return numpy_helper.to_array(value)
        return value

    def unread_attributes(self) -> list[str]:
        return [n for n in self._attrs if n not in self._read]

    @property
    def num_inputs(self) -> int:
        return len(self.proto.input)

    def input_name(self, i: int) -> str:
        return self.proto.input[i] if i < len(self.proto.input) else ""

    def input(self, i: int, what: str | None = None) -> Value:
        v = self.optional_input(i)
        if v is None:
            raise self.error(f"input {what or i} is required")
        return v

    def optional_input(self, i: int) -> Value | None:
        name = self.input_name(i)
        return self.importer.env[name] if name else None

    def operand(self, i: int, what: str) -> SSAValue:
        """Input ``i`` as an SSA value (constants become ``arith.constant``)."""
        return self.importer.materialize(self.input(i, what), f"{self.label}: input '{what}'")

    def const_input(self, i: int, what: str) -> np.ndarray | None:
        """The value of an optional input that must be known at compile time."""
        v = self.optional_input(i)
        if v is None:
            return None
        if isinstance(v, ShapeVec) and (c := v.static()) is not None:
            v = c
        if not isinstance(v, Const):
            raise self.error(
                f"input '{what}' ({self.input_name(i)!r}) must be a constant, got {value_kind(v)}"
            )
        return v.array


class Importer:
    def __init__(self, model: onnx.ModelProto):
        self.model = model
        self.graph = model.graph
        self.opset = self._default_opset()
        self.env: dict[str, Value] = {}
        self.block = Block()
        self.layers = 0
        self._constants: dict[int, SSAValue] = {}
        self._perms = 0
        self._symbols = 0

    # -- building --------------------------------------------------------

    def emit(self, op: Operation) -> Operation:
        self.block.add_op(op)
        return op

    def materialize(self, v: Value, where: str) -> SSAValue:
        """The SSA value of ``v`` for use as an operand of an IR op; ``where``
        names the use in errors (``node 'x' (Gemm): input 'B'``)."""
        if isinstance(v, Tensor):
            return v.value
        static = v.static() if isinstance(v, ShapeVec | Fill) else None
        if isinstance(v, Const) or static is not None:
            arr = v.array if isinstance(v, Const) else static.array  # type: ignore[union-attr]
            key = id(v)
            if key not in self._constants:
                element_type(arr.dtype, where)
                op = self.emit(constant_op(arr))
                self._constants[key] = op.results[0]
            return self._constants[key]
        raise ErnncError(f"{where} is {value_kind(v)}, which ernnc cannot compute at run time here")

    def tensor(self, value: SSAValue, shape: Sequence[Dim], dtype: np.dtype) -> Tensor:
        return Tensor(value, tuple(shape), np.dtype(dtype))

    def new_permutation(self) -> int:
        self._perms += 1
        return self._perms

    def new_symbol(self, hint: str) -> str:
        self._symbols += 1
        return f"{hint}?{self._symbols}"

    def next_layer(self) -> str:
        name = f"layer{self.layers}"
        self.layers += 1
        return name

    # -- the graph -------------------------------------------------------

    def _default_opset(self) -> int:
        for imp in self.model.opset_import:
            if imp.domain in ("", "ai.onnx"):
                return imp.version
        return 1 if not self.model.opset_import else 0

    def run(self) -> ModuleOp:
        g = self.graph
        newest = onnx.defs.onnx_opset_version()
        if not 7 <= self.opset <= newest:
            raise ErnncError(
                f"model uses opset {self.opset} of the default domain; ernnc supports 7 to "
                f"{newest} (the newest that the installed onnx {onnx.__version__} knows)"
            )
        initializers = {t.name: t for t in g.initializer}
        for t in g.sparse_initializer:
            raise ErnncError(f"sparse initializer {t.values.name!r} is not supported")
        for name, t in initializers.items():
            try:
                self.env[name] = Const(numpy_helper.to_array(t))
            except Exception as e:  # noqa: BLE001 - onnx raises many types on bad data
                raise ErnncError(f"initializer {name!r} cannot be read: {e}") from None

        inputs = [i for i in g.input if i.name not in initializers]
        arg_types: list[Attribute] = []
        arg_attrs: list[DictionaryAttr] = []
        for inp in inputs:
            dims, dtype = self._input_signature(inp)
            arg_types.append(TensorType(element_type(dtype, f"input {inp.name!r}"), ir_shape(dims)))
            arg_attrs.append(_io_attrs(inp.name, dims))
        self.block = Block(arg_types=arg_types)
        for inp, arg in zip(inputs, self.block.args):
            dims, dtype = self._input_signature(inp)
            self.env[inp.name] = Tensor(arg, dims, dtype)

        for index, proto in self._live_nodes():
            node = Node(self, proto, index)
            self._import_node(node)

        results: list[SSAValue] = []
        res_attrs: list[DictionaryAttr] = []
        if not g.output:
            raise ErnncError("the graph has no outputs")
        for out in g.output:
            if out.name not in self.env:
                raise ErnncError(f"graph output {out.name!r} is not produced by any node")
            v = self.env[out.name]
            results.append(self.materialize(v, f"graph output {out.name!r}"))
            res_attrs.append(_io_attrs(out.name, getattr(v, "shape", ())))
        self.emit(func.ReturnOp(*results))
        fn = func.FuncOp(
            "main",
            (arg_types, [r.type for r in results]),
            Region(self.block),
            arg_attrs=ArrayAttr(arg_attrs),
            res_attrs=ArrayAttr(res_attrs),
        )
        return ModuleOp([fn])

    def _input_signature(self, inp: onnx.ValueInfoProto) -> tuple[tuple[Dim, ...], np.dtype]:
        t = inp.type
        if not t.HasField("tensor_type"):
            raise ErnncError(f"graph input {inp.name!r} is not a tensor")
        tt = t.tensor_type
        try:
            dtype = np.dtype(helper.tensor_dtype_to_np_dtype(tt.elem_type))
        except Exception:  # noqa: BLE001
            raise ErnncError(
                f"graph input {inp.name!r} has unknown element type {tt.elem_type}"
            ) from None
        if not tt.HasField("shape"):
            raise ErnncError(
                f"graph input {inp.name!r} has no shape; ernnc needs at least its rank"
            )
        dims: list[Dim] = []
        for k, d in enumerate(tt.shape.dim):
            if d.HasField("dim_value"):
                dims.append(int(d.dim_value))
            elif d.dim_param:
                dims.append(d.dim_param)
            else:
                dims.append(self.new_symbol(f"{inp.name}.{k}"))
        return tuple(dims), dtype

    def _live_nodes(self) -> list[tuple[int, onnx.NodeProto]]:
        """Nodes that graph outputs depend on, in graph order (which ONNX
        requires to be topological; checked)."""
        producer: dict[str, int] = {}
        for i, n in enumerate(self.graph.node):
            for o in n.output:
                if o:
                    producer[o] = i
        needed: set[int] = set()
        stack = [producer[o.name] for o in self.graph.output if o.name in producer]
        while stack:
            i = stack.pop()
            if i in needed:
                continue
            needed.add(i)
            for name in self.graph.node[i].input:
                if name in producer:
                    stack.append(producer[name])
        known = set(self.env)
        live: list[tuple[int, onnx.NodeProto]] = []
        for i, n in enumerate(self.graph.node):
            if i not in needed:
                continue
            for name in n.input:
                if name and name not in known and name not in producer:
                    raise ErnncError(
                        f"{node_label(n.name, n.op_type, i)}: input {name!r} is neither a graph "
                        "input, an initializer nor the output of a node"
                    )
                if name and name not in known:
                    raise ErnncError(
                        f"{node_label(n.name, n.op_type, i)}: input {name!r} is used before the "
                        "node that produces it (the graph is not topologically sorted)"
                    )
            known.update(o for o in n.output if o)
            live.append((i, n))
        return live

    def _import_node(self, node: Node) -> None:
        domain = node.proto.domain
        if domain not in ("", "ai.onnx"):
            raise node.error(f"operator domain {domain!r} is not supported")
        fn = HANDLERS.get(node.op_type)
        if fn is None:
            raise node.error(f"unsupported operator '{node.op_type}'")
        outputs = list(fn(self, node))
        for name in node.unread_attributes():
            raise node.error(f"unsupported attribute '{name}' = {node.attr(name)!r}")
        for i, name in enumerate(node.proto.output):
            if not name:
                continue
            if i >= len(outputs) or outputs[i] is None:
                raise node.error(f"output {i} ({name!r}) is not supported")
            self.env[name] = outputs[i]


def _io_attrs(name: str, dims: Sequence[Dim]) -> DictionaryAttr:
    return DictionaryAttr(
        {
            "onnx.name": StringAttr(name),
            "onnx.dims": ArrayAttr(
                [IntegerAttr(d, i64) if isinstance(d, int) else StringAttr(d) for d in dims]
            ),
        }
    )


def load_model(path: str | Path) -> onnx.ModelProto:
    p = Path(path)
    if not p.exists():
        raise ErnncError(f"{path}: no such file")
    if p.is_dir():
        raise ErnncError(f"{path}: is a directory, not an ONNX file")
    try:
        data = p.read_bytes()
    except OSError as e:
        raise ErnncError(f"{path}: cannot read: {e.strerror}") from None
    return parse_model(data, str(path))


def parse_model(data: bytes, source: str = "<bytes>") -> onnx.ModelProto:
    model = onnx.ModelProto()
    try:
        model.ParseFromString(data)
    except Exception:  # noqa: BLE001 - protobuf raises DecodeError and others
        raise ErnncError(f"{source}: not a valid ONNX model (protobuf decoding failed)") from None
    if not model.HasField("graph") or (not model.graph.node and not model.graph.output):
        raise ErnncError(f"{source}: not an ONNX model (no graph)")
    if any(t.data_location == onnx.TensorProto.EXTERNAL for t in model.graph.initializer):
        base = str(Path(source).parent) if source != "<bytes>" else "."
        try:
            onnx.external_data_helper.load_external_data_for_model(model, base)
        except Exception as e:  # noqa: BLE001
            raise ErnncError(f"{source}: cannot load external weights: {e}") from None
    return model


def import_onnx(model: onnx.ModelProto) -> ModuleOp:
    """Import an ONNX model into a module at the model level."""
    from . import onnx_ops, onnx_rnn  # noqa: F401 - register the handlers

    return Importer(model).run()
