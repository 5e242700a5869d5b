"""Frontend handlers for the non-recurrent ONNX operators.

Each handler folds what is known at compile time (constants, shape
arithmetic, zero states), emits ``nn`` ops for runtime data, and tracks the
batch permutations of torch's packed-sequence export.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from onnx import helper

from ..dialects import nn
from ..dialects.shapes import DYN
from .onnx_import import Importer, Node, element_type, handler
from .onnx_values import (
    Const,
    Dim,
    Fill,
    InvPermIndex,
    Iota,
    PermIndex,
    Permuted,
    ShapeVec,
    Tensor,
    Value,
    format_dims,
    is_static,
    value_kind,
)

INT64_MAX = 2**63 - 1

# -- symbolic shape helpers ------------------------------------------------


def _norm_axis(node: Node, axis: int, rank: int) -> int:
    if not -rank <= axis < rank:
        raise node.error(f"axis {axis} is out of range for rank {rank}")
    return axis % rank


def _broadcast_dims(node: Node, a: Sequence[Dim], b: Sequence[Dim]) -> tuple[Dim, ...]:
    rank = max(len(a), len(b))
    pa = [1] * (rank - len(a)) + list(a)
    pb = [1] * (rank - len(b)) + list(b)
    out: list[Dim] = []
    for x, y in zip(pa, pb):
        if x == 1:
            out.append(y)
        elif y == 1 or x == y:
            out.append(x)
        elif isinstance(x, str):
            out.append(y)
        elif isinstance(y, str):
            out.append(x)
        else:
            raise node.error(
                f"shapes {format_dims(tuple(a))} and {format_dims(tuple(b))} do not broadcast"
            )
    return tuple(out)


def _slice_dim(imp: Importer, dim: Dim, start: int, end: int, step: int) -> Dim:
    if isinstance(dim, int):
        return len(range(dim)[start:end:step])
    n = nn.slice_length(DYN, start, end, step)
    return imp.new_symbol(f"{dim}[{start}:{end}]") if n == DYN else n


def _shape_of(v: Value) -> tuple[Dim, ...]:
    return tuple(v.shape)  # type: ignore[union-attr]


def _dtype_of(v: Value) -> np.dtype:
    if isinstance(v, ShapeVec | PermIndex | InvPermIndex | Iota):
        return np.dtype(np.int64)
    return np.dtype(v.dtype)  # type: ignore[union-attr]


def _tensor(imp: Importer, op: nn.IRDLOperation, shape: Sequence[Dim], dtype: np.dtype) -> Tensor:
    imp.emit(op)
    return imp.tensor(op.results[0], shape, dtype)


def _unsupported_use(node: Node, v: Value, what: str) -> Exception:
    origin = getattr(v, "origin", "")
    extra = f" (from {origin})" if origin else ""
    return node.error(
        f"input '{what}' is {value_kind(v)}{extra}, which {node.op_type} cannot take here"
    )


def _axes(node: Node, attr_opset: int, input_index: int) -> list[int] | None:
    """Axes given as an attribute before ``attr_opset`` and as an input from it on."""
    if node.importer.opset < attr_opset:
        axes = node.attr("axes", None)
        return None if axes is None else list(axes)
    arr = node.const_input(input_index, "axes")
    return None if arr is None else [int(a) for a in np.asarray(arr).ravel()]


# -- constants and identities ---------------------------------------------


@handler("Constant")
def constant(imp: Importer, node: Node) -> list[Value]:
    for name in ("value", "value_float", "value_floats", "value_int", "value_ints"):
        if node.has_attr(name):
            v = node.attr(name)
            if name == "value":
                return [Const(np.asarray(v))]
            dtype = np.float32 if "float" in name else np.int64
            return [Const(np.asarray(v, dtype=dtype))]
    for name in ("sparse_value", "value_string", "value_strings"):
        if node.has_attr(name):
            raise node.error(f"attribute '{name}' is not supported")
    raise node.error("has no value attribute")


@handler("Identity")
def identity(imp: Importer, node: Node) -> list[Value]:
    return [node.input(0, "input")]


@handler("Dropout")
def dropout(imp: Importer, node: Node) -> list[Value]:
    node.attr("seed", None)
    if imp.opset < 12:
        node.attr("ratio", None)
    if imp.opset < 7:
        node.attr("is_test", None)
    training = node.const_input(2, "training_mode") if node.num_inputs > 2 else None
    if training is not None and bool(np.asarray(training)):
        raise node.error("training_mode=true is not supported (ernnc compiles for inference)")
    x = node.input(0, "data")
    return [x, Fill(True, _shape_of(x), np.dtype(np.bool_))]


# -- shape computations ----------------------------------------------------


@handler("Shape")
def shape(imp: Importer, node: Node) -> list[Value]:
    x = node.input(0, "data")
    if isinstance(x, ShapeVec):
        dims: tuple[Dim, ...] = x.shape
    elif isinstance(x, PermIndex | InvPermIndex | Iota):
        dims = x.shape
    else:
        dims = _shape_of(x)
    start = node.attr("start", 0)
    end = node.attr("end", None)
    dims = dims[start:end] if end is not None else dims[start:]
    return [ShapeVec(tuple(dims))]


@handler("Size")
def size(imp: Importer, node: Node) -> list[Value]:
    dims = _shape_of(node.input(0, "data"))
    if not is_static(dims):
        return [ShapeVec((_product(imp, node, dims),), scalar=True)]
    return [Const(np.array(int(np.prod(dims)), dtype=np.int64))]


def _product(imp: Importer, node: Node, dims: Sequence[Dim]) -> Dim:
    symbolic = [d for d in dims if isinstance(d, str)]
    static = int(np.prod([d for d in dims if isinstance(d, int)]))
    if not symbolic:
        return static
    if len(symbolic) == 1 and static == 1:
        return symbolic[0]
    raise node.error(f"product of dimensions {format_dims(tuple(dims))} is not supported")


@handler("ReduceProd")
def reduce_prod(imp: Importer, node: Node) -> list[Value]:
    keepdims = node.attr("keepdims", 1)
    axes = _axes(node, 18, 1)
    node.attr("noop_with_empty_axes", 0)
    x = node.input(0, "data")
    if isinstance(x, Const):
        r = np.prod(x.array, axis=None if axes is None else tuple(axes), keepdims=bool(keepdims))
        return [Const(np.asarray(r, dtype=x.array.dtype))]
    if isinstance(x, ShapeVec) and not x.scalar and axes in (None, [0], [-1]):
        p = _product(imp, node, x.dims)
        return [ShapeVec((p,), scalar=not keepdims)]
    raise _unsupported_use(node, x, "data")


@handler("Gather")
def gather(imp: Importer, node: Node) -> list[Value]:
    data, idx = node.input(0, "data"), node.input(1, "indices")
    rank = len(_shape_of(data))
    axis = _norm_axis(node, node.attr("axis", 0), rank)
    if isinstance(idx, ShapeVec) and (c := idx.static()) is not None:
        idx = c
    if isinstance(data, Const) and isinstance(idx, Const):
        return [Const(np.take(data.array, idx.array, axis=axis))]
    if isinstance(data, ShapeVec) and isinstance(idx, Const):
        positions = np.arange(len(data.dims))[idx.array]
        if positions.ndim == 0:
            return [ShapeVec((data.dims[int(positions)],), scalar=True)]
        return [ShapeVec(tuple(data.dims[int(p)] for p in positions.ravel()))]
    if isinstance(idx, PermIndex) and isinstance(data, Tensor):
        return [Permuted(data, idx.perm, axis, idx.origin)]
    if isinstance(idx, InvPermIndex) and isinstance(data, Permuted):
        if data.perm == idx.perm and data.axis == axis:
            return [data.base]
    if isinstance(idx, Const):
        out_dims = (*_shape_of(data)[:axis], *idx.array.shape, *_shape_of(data)[axis + 1 :])
        if isinstance(data, Fill):
            return [Fill(data.value, out_dims, data.dtype)]
        if isinstance(data, Permuted) and axis != data.axis and idx.array.ndim <= 1:
            inner = gather_tensor(imp, node, data.base, axis, idx.array)
            shift = idx.array.ndim - 1 if axis < data.axis else 0
            return [Permuted(inner, data.perm, data.axis + shift, data.origin)]
        if isinstance(data, Tensor):
            return [gather_tensor(imp, node, data, axis, idx.array)]
    if not isinstance(idx, Const):
        raise _unsupported_use(node, idx, "indices")
    raise _unsupported_use(node, data, "data")


def gather_tensor(imp: Importer, node: Node, data: Tensor, axis: int, idx: np.ndarray) -> Tensor:
    dims = data.shape
    if isinstance(dims[axis], int):
        n = dims[axis]
        if idx.size and (idx.max() >= n or idx.min() < -n):  # type: ignore[operator]
            raise node.error(f"index {idx.tolist()} is out of range for axis {axis} of size {n}")
    out = (*dims[:axis], *idx.shape, *dims[axis + 1 :])
    return _tensor(imp, nn.GatherOp(data.value, axis, idx), out, data.dtype)


@handler("Unsqueeze")
def unsqueeze(imp: Importer, node: Node) -> list[Value]:
    x = node.input(0, "data")
    axes = _axes(node, 13, 1)
    if axes is None:
        raise node.error("axes are required")
    rank = len(_shape_of(x)) + len(axes)
    norm = sorted(_norm_axis(node, a, rank) for a in axes)
    if isinstance(x, Const):
        return [Const(np.expand_dims(x.array, tuple(norm)))]
    if isinstance(x, ShapeVec) and x.scalar and norm == [0]:
        return [ShapeVec(x.dims)]
    dims = list(_shape_of(x))
    for a in norm:
        dims.insert(a, 1)
    if isinstance(x, Fill):
        return [Fill(x.value, tuple(dims), x.dtype)]
    if isinstance(x, Tensor):
        return [_tensor(imp, nn.UnsqueezeOp(x.value, axes=norm), dims, x.dtype)]
    if isinstance(x, Permuted):
        inner = _tensor(imp, nn.UnsqueezeOp(x.base.value, axes=norm), dims, x.dtype)
        return [Permuted(inner, x.perm, _moved_axis_after_unsqueeze(x.axis, norm), x.origin)]
    raise _unsupported_use(node, x, "data")


def _moved_axis_after_unsqueeze(axis: int, inserted: Sequence[int]) -> int:
    remaining = [i for i in range(axis + len(inserted) + 1) if i not in inserted]
    return remaining[axis]


@handler("Squeeze")
def squeeze(imp: Importer, node: Node) -> list[Value]:
    x = node.input(0, "data")
    axes = _axes(node, 13, 1)
    dims = _shape_of(x)
    if axes is None:
        if not is_static(dims):
            raise node.error(f"squeeze without axes of symbolic shape {format_dims(dims)}")
        axes = [i for i, d in enumerate(dims) if d == 1]
    norm = sorted(_norm_axis(node, a, len(dims)) for a in axes)
    for a in norm:
        if dims[a] != 1 and isinstance(dims[a], int):
            raise node.error(f"cannot squeeze axis {a} of size {dims[a]}")
    out = tuple(d for i, d in enumerate(dims) if i not in norm)
    if isinstance(x, Const):
        return [Const(np.squeeze(x.array, axis=tuple(norm)))]
    if isinstance(x, ShapeVec) and not x.scalar and norm == [0] and len(x.dims) == 1:
        return [ShapeVec(x.dims, scalar=True)]
    if isinstance(x, Fill):
        return [Fill(x.value, out, x.dtype)]
    if isinstance(x, Tensor):
        return [_tensor(imp, nn.SqueezeOp(x.value, axes=norm), out, x.dtype)]
    if isinstance(x, Permuted) and x.axis not in norm:
        inner = _tensor(imp, nn.SqueezeOp(x.base.value, axes=norm), out, x.dtype)
        return [Permuted(inner, x.perm, x.axis - sum(a < x.axis for a in norm), x.origin)]
    raise _unsupported_use(node, x, "data")


@handler("Concat")
def concat(imp: Importer, node: Node) -> list[Value]:
    parts = [node.input(i, f"inputs[{i}]") for i in range(node.num_inputs)]
    rank = len(_shape_of(parts[0]))
    axis = _norm_axis(node, node.attr("axis"), rank)
    static = [p.static() if isinstance(p, ShapeVec | Fill) else p for p in parts]
    if all(isinstance(p, Const) for p in static):
        return [Const(np.concatenate([p.array for p in static], axis=axis))]  # type: ignore[union-attr]
    if rank == 1 and all(isinstance(p, Const | ShapeVec) for p in parts):
        dims: list[Dim] = []
        for p in parts:
            dims.extend(p.dims if isinstance(p, ShapeVec) else [int(v) for v in p.array])  # type: ignore[union-attr]
        return [ShapeVec(tuple(dims))]
    out = list(_shape_of(parts[0]))
    sizes = [_shape_of(p)[axis] for p in parts]
    out[axis] = sum(sizes) if all(isinstance(s, int) for s in sizes) else "+".join(map(str, sizes))  # type: ignore[arg-type]
    if all(isinstance(p, Fill) for p in parts) and len({p.value for p in parts}) == 1:  # type: ignore[union-attr]
        return [Fill(parts[0].value, tuple(out), parts[0].dtype)]  # type: ignore[union-attr]
    if all(isinstance(p, Permuted) for p in parts):
        perms = {(p.perm, p.axis) for p in parts}  # type: ignore[union-attr]
        if len(perms) == 1 and parts[0].axis != axis:  # type: ignore[union-attr]
            inner = _concat_tensors(imp, node, [p.base for p in parts], axis, out)  # type: ignore[union-attr]
            p0 = parts[0]
            return [Permuted(inner, p0.perm, p0.axis, p0.origin)]  # type: ignore[union-attr]
    for i, p in enumerate(parts):
        if isinstance(p, Permuted | PermIndex | InvPermIndex | Iota):
            raise _unsupported_use(node, p, f"inputs[{i}]")
    return [_concat_tensors(imp, node, parts, axis, out)]


def _concat_tensors(
    imp: Importer, node: Node, parts: Sequence[Value], axis: int, out: Sequence[Dim]
) -> Tensor:
    values = [imp.materialize(p, f"{node.label}: input {i}") for i, p in enumerate(parts)]
    return _tensor(imp, nn.ConcatOp(values, axis), out, _dtype_of(parts[0]))


@handler("Slice")
def slice_(imp: Importer, node: Node) -> list[Value]:
    x = node.input(0, "data")
    dims = _shape_of(x)
    if imp.opset < 10:
        starts = list(node.attr("starts"))
        ends = list(node.attr("ends"))
        axes = list(node.attr("axes", list(range(len(starts)))))
        steps = [1] * len(starts)
    else:
        starts = [int(v) for v in node.const_input(1, "starts").ravel()]  # type: ignore[union-attr]
        ends = [int(v) for v in node.const_input(2, "ends").ravel()]  # type: ignore[union-attr]
        a = node.const_input(3, "axes")
        s = node.const_input(4, "steps")
        axes = [int(v) for v in a.ravel()] if a is not None else list(range(len(starts)))
        steps = [int(v) for v in s.ravel()] if s is not None else [1] * len(starts)
    axes = [_norm_axis(node, ax, len(dims)) for ax in axes]
    starts = [max(min(v, INT64_MAX // 2), -(INT64_MAX // 2)) for v in starts]
    ends = [max(min(v, INT64_MAX // 2), -(INT64_MAX // 2)) for v in ends]
    if 0 in steps:
        raise node.error("step 0 is not allowed")
    out = list(dims)
    for st, en, ax, sp in zip(starts, ends, axes, steps):
        out[ax] = _slice_dim(imp, dims[ax], st, en, sp)
    if isinstance(x, Const):
        idx = [slice(None)] * x.array.ndim
        for st, en, ax, sp in zip(starts, ends, axes, steps):
            idx[ax] = slice(st, en, sp)
        return [Const(x.array[tuple(idx)])]
    if isinstance(x, ShapeVec) and not x.scalar:
        return [ShapeVec(tuple(x.dims[slice(starts[0], ends[0], steps[0])]))]
    if isinstance(x, Fill):
        return [Fill(x.value, tuple(out), x.dtype)]
    big = 2**62
    norm_ends = [e if e < big else INT64_MAX for e in ends]
    if isinstance(x, Tensor):
        op = nn.SliceOp(x.value, starts=starts, ends=norm_ends, axes=axes, steps=steps)
        return [_tensor(imp, op, out, x.dtype)]
    if isinstance(x, Permuted) and x.axis not in axes:
        op = nn.SliceOp(x.base.value, starts=starts, ends=norm_ends, axes=axes, steps=steps)
        return [Permuted(_tensor(imp, op, out, x.dtype), x.perm, x.axis, x.origin)]
    raise _unsupported_use(node, x, "data")


_CASTABLE = (np.float32, np.float64, np.int64, np.int32, np.bool_)


@handler("Cast")
def cast(imp: Importer, node: Node) -> list[Value]:
    to = node.attr("to")
    node.attr("saturate", 1)
    try:
        dtype = np.dtype(helper.tensor_dtype_to_np_dtype(to))
    except Exception:  # noqa: BLE001
        raise node.error(f"attribute 'to' = {to}: unknown element type") from None
    if dtype.type not in _CASTABLE:
        raise node.error(f"attribute 'to' = {to}: casting to {dtype} is not supported")
    x = node.input(0, "input")
    if isinstance(x, Const):
        return [Const(x.array.astype(dtype))]
    if isinstance(x, ShapeVec | PermIndex | InvPermIndex | Iota) and dtype.kind == "i":
        return [x]
    if isinstance(x, Fill):
        return [Fill(dtype.type(x.value).item(), x.shape, dtype)]
    if isinstance(x, Tensor):
        return [_cast_tensor(imp, x, dtype)]
    if isinstance(x, Permuted):
        return [Permuted(_cast_tensor(imp, x.base, dtype), x.perm, x.axis, x.origin)]
    raise _unsupported_use(node, x, "input")


def _cast_tensor(imp: Importer, x: Tensor, dtype: np.dtype) -> Tensor:
    if x.dtype == dtype:
        return x
    op = nn.CastOp(x.value, element_type(dtype, "cast"))
    return _tensor(imp, op, x.shape, dtype)


def _shape_operand(node: Node, i: int, what: str) -> tuple[Dim, ...]:
    v = node.input(i, what)
    if isinstance(v, Const):
        if v.array.ndim != 1:
            raise node.error(f"input '{what}' must be 1-D")
        return tuple(int(d) for d in v.array)
    if isinstance(v, ShapeVec) and not v.scalar:
        return v.dims
    raise _unsupported_use(node, v, what)


@handler("ConstantOfShape")
def constant_of_shape(imp: Importer, node: Node) -> list[Value]:
    dims = _shape_operand(node, 0, "input")
    value = node.attr("value", None)
    arr = np.asarray(value) if value is not None else np.zeros(1, dtype=np.float32)
    if arr.size != 1:
        raise node.error("attribute 'value' must hold one element")
    fill = Fill(arr.ravel()[0].item(), dims, arr.dtype)
    return [fill.static() or fill]


@handler("ConstantFill")
def constant_fill(imp: Importer, node: Node) -> list[Value]:
    dtype = np.dtype(helper.tensor_dtype_to_np_dtype(node.attr("dtype", 1)))
    value = node.attr("value", 0.0)
    if node.attr("extra_shape", None):
        raise node.error("attribute 'extra_shape' is not supported")
    if node.attr("input_as_shape", 0):
        dims = _shape_operand(node, 0, "input")
    else:
        if node.num_inputs:
            raise node.error("an input without input_as_shape=1 is not supported")
        dims = tuple(node.attr("shape", []))
    fill = Fill(dtype.type(value).item(), dims, dtype)
    return [fill.static() or fill]


@handler("Expand")
def expand(imp: Importer, node: Node) -> list[Value]:
    x = node.input(0, "input")
    target = _shape_operand(node, 1, "shape")
    out = _broadcast_dims(node, _shape_of(x), target)
    if isinstance(x, Const) and x.array.size and (x.array == x.array.ravel()[0]).all():
        fill = Fill(x.array.ravel()[0].item(), out, x.array.dtype)
        return [fill.static() or fill]
    if isinstance(x, Fill):
        return [Fill(x.value, out, x.dtype)]
    if isinstance(x, Const) and is_static(out):
        return [Const(np.broadcast_to(x.array, [int(d) for d in out]).copy())]
    if isinstance(x, Tensor) and tuple(out) == x.shape:
        return [x]
    raise _unsupported_use(node, x, "input")


@handler("Range")
def range_(imp: Importer, node: Node) -> list[Value]:
    start, limit, delta = (node.input(i, n) for i, n in enumerate(("start", "limit", "delta")))
    if isinstance(limit, ShapeVec) and (c := limit.static()) is not None:
        limit = c
    if all(isinstance(v, Const) for v in (start, limit, delta)):
        a = np.arange(start.array, limit.array, delta.array)  # type: ignore[union-attr]
        return [Const(a.astype(start.array.dtype))]  # type: ignore[union-attr]
    if (
        isinstance(start, Const)
        and isinstance(delta, Const)
        and int(start.array) == 0
        and int(delta.array) == 1
        and isinstance(limit, ShapeVec)
        and limit.scalar
    ):
        return [Iota(limit.dims[0])]
    raise _unsupported_use(node, limit, "limit")


@handler("TopK")
def top_k(imp: Importer, node: Node) -> list[Value]:
    """Only as the batch sort of torch's packed sequences: sorting every
    entry of a 1-D runtime tensor, in descending order."""
    x, k = node.input(0, "X"), node.input(1, "K")
    axis, largest, sort = node.attr("axis", -1), node.attr("largest", 1), node.attr("sorted", 1)
    n = _shape_of(x)[0] if len(_shape_of(x)) == 1 else None
    full = (
        isinstance(k, ShapeVec)
        and k.dims == (n,)
        or isinstance(k, Const)
        and int(k.array.ravel()[0]) == n
    )
    if isinstance(x, Tensor) and n is not None and axis in (0, -1) and largest and sort and full:
        perm = imp.new_permutation()
        return [Permuted(x, perm, 0, node.label), PermIndex(perm, n, node.label)]
    raise node.error(
        "TopK is supported only as a full sort of a 1-D runtime tensor (torch's packed-sequence "
        f"batch sort); got X {value_kind(x)} of shape {format_dims(_shape_of(x))}"
    )


@handler("ScatterElements")
def scatter_elements(imp: Importer, node: Node) -> list[Value]:
    """Only as the inverse of a batch permutation: scatter(zeros, perm, arange)."""
    data, idx, upd = node.input(0, "data"), node.input(1, "indices"), node.input(2, "updates")
    axis = node.attr("axis", 0)
    node.attr("reduction", "none")
    if isinstance(idx, PermIndex) and isinstance(upd, Iota) and axis in (0, -1):
        if isinstance(data, Fill | Const) and upd.length == idx.length:
            return [InvPermIndex(idx.perm, idx.length, idx.origin)]
    raise node.error(
        "ScatterElements is supported only as the inverse of a batch permutation "
        "(scatter of arange by the permutation)"
    )


@handler("Reshape")
def reshape(imp: Importer, node: Node) -> list[Value]:
    x = node.input(0, "data")
    allowzero = node.attr("allowzero", 0)
    target = _shape_operand(node, 1, "shape")
    dims = _shape_of(x)
    if allowzero and 0 in target:
        raise node.error("allowzero=1 with a 0 in the shape is not supported")
    if isinstance(x, Const):
        if not is_static(target):
            raise node.error(f"shape {format_dims(target)} is not static")
        spec = [int(dims[i]) if d == 0 else int(d) for i, d in enumerate(target)]  # type: ignore[arg-type]
        return [Const(x.array.reshape(spec))]
    spec, out = _reshape_spec(imp, node, dims, target)
    if isinstance(x, Tensor):
        return [_tensor(imp, nn.ReshapeOp(x.value, shape=spec), out, x.dtype)]
    if isinstance(x, Permuted) and all(spec[i] == 0 for i in range(min(x.axis + 1, len(spec)))):
        inner = _tensor(imp, nn.ReshapeOp(x.base.value, shape=spec), out, x.dtype)
        return [Permuted(inner, x.perm, x.axis, x.origin)]
    if isinstance(x, Fill):
        return [Fill(x.value, tuple(out), x.dtype)]
    raise _unsupported_use(node, x, "data")


def _reshape_spec(
    imp: Importer, node: Node, dims: Sequence[Dim], target: Sequence[Dim]
) -> tuple[list[int], list[Dim]]:
    """The ``nn.reshape`` spec (0 = copy, -1 = infer, n = static) for a target
    whose entries may be symbolic dims, and the symbolic result shape."""
    spec: list[int] = []
    out: list[Dim] = []
    for i, d in enumerate(target):
        if isinstance(d, str):
            if i < len(dims) and dims[i] == d:
                spec.append(0)
                out.append(d)
                continue
            raise node.error(
                f"shape entry {i} is the symbolic dimension {d!r}, which is not dimension {i} of the input"
            )
        if d == 0:
            if i >= len(dims):
                raise node.error(f"shape entry {i} is 0 but the input has rank {len(dims)}")
            spec.append(0)
            out.append(dims[i])
        elif d == -1 or d > 0:
            spec.append(int(d))
            out.append(int(d))
        else:
            raise node.error(f"shape entry {i} = {d} is not allowed")
    if spec.count(-1) > 1:
        raise node.error("shape has more than one -1")
    if -1 in spec:
        copied = {i for i, s in enumerate(spec) if s == 0}
        rest_in = [d for i, d in enumerate(dims) if i not in copied]
        rest_out = [s for s in spec if s > 0]
        if is_static(tuple(rest_in)):
            total, part = int(np.prod(rest_in)), int(np.prod(rest_out))
            if part == 0 or total % part:
                raise node.error(
                    f"cannot reshape {format_dims(tuple(dims))} to {format_dims(tuple(target))}"
                )
            out[spec.index(-1)] = total // part
        else:
            out[spec.index(-1)] = imp.new_symbol("reshape")
    return spec, out


@handler("Flatten")
def flatten(imp: Importer, node: Node) -> list[Value]:
    x = node.input(0, "input")
    dims = _shape_of(x)
    axis = node.attr("axis", 1)
    axis = axis % len(dims) if axis < 0 else axis
    if isinstance(x, Const):
        lead = int(np.prod(x.array.shape[:axis]))
        return [Const(x.array.reshape(lead, -1))]
    if axis == 0:
        target: tuple[Dim, ...] = (1, -1)
    elif axis == 1:
        target = (0, -1)
    elif is_static(dims[:axis]):
        target = (int(np.prod(dims[:axis])), -1)  # type: ignore[arg-type]
    else:
        raise node.error(
            f"axis {axis} over symbolic leading dimensions {format_dims(dims)} is not supported"
        )
    if not isinstance(x, Tensor):
        raise _unsupported_use(node, x, "input")
    spec, out = _reshape_spec(imp, node, dims, target)
    if dims[axis:] and is_static(dims[axis:]):
        out[-1] = int(np.prod(dims[axis:]))  # type: ignore[arg-type]
    return [_tensor(imp, nn.ReshapeOp(x.value, shape=spec), out, x.dtype)]


@handler("Transpose")
def transpose(imp: Importer, node: Node) -> list[Value]:
    x = node.input(0, "data")
    dims = _shape_of(x)
    perm = list(node.attr("perm", list(reversed(range(len(dims))))))
    if sorted(perm) != list(range(len(dims))):
        raise node.error(f"attribute 'perm' = {perm} is not a permutation of rank {len(dims)}")
    out = tuple(dims[p] for p in perm)
    if isinstance(x, Const):
        return [Const(np.transpose(x.array, perm))]
    if isinstance(x, Fill):
        return [Fill(x.value, out, x.dtype)]
    if isinstance(x, Tensor):
        return [_tensor(imp, nn.TransposeOp(x.value, perm=perm), out, x.dtype)]
    if isinstance(x, Permuted):
        inner = _tensor(imp, nn.TransposeOp(x.base.value, perm=perm), out, x.dtype)
        return [Permuted(inner, x.perm, perm.index(x.axis), x.origin)]
    raise _unsupported_use(node, x, "data")


# -- arithmetic and the classifier head ------------------------------------

_NUMPY_BINARY = {"Add": np.add, "Sub": np.subtract, "Mul": np.multiply, "Div": np.divide}
_NN_BINARY = {"Add": nn.AddOp, "Sub": nn.SubOp, "Mul": nn.MulOp, "Div": nn.DivOp}


@handler("Add", "Sub", "Mul", "Div")
def binary(imp: Importer, node: Node) -> list[Value]:
    a, b = node.input(0, "A"), node.input(1, "B")
    a = a.static() or a if isinstance(a, ShapeVec | Fill) else a
    b = b.static() or b if isinstance(b, ShapeVec | Fill) else b
    if isinstance(a, Const) and isinstance(b, Const):
        r = _NUMPY_BINARY[node.op_type](a.array, b.array)
        if node.op_type == "Div" and a.array.dtype.kind == "i":
            r = np.trunc(a.array / b.array)
        return [Const(np.asarray(r).astype(a.array.dtype))]
    for i, v in enumerate((a, b)):
        if not isinstance(v, Tensor | Const):
            raise _unsupported_use(node, v, "AB"[i])
    if _dtype_of(a) != _dtype_of(b):
        raise node.error(f"operand types differ ({_dtype_of(a)} and {_dtype_of(b)})")
    if _dtype_of(a).kind != "f":
        raise node.error(f"arithmetic on {_dtype_of(a)} tensors at run time is not supported")
    out = _broadcast_dims(node, _shape_of(a), _shape_of(b))
    lhs, rhs = node.operand(0, "A"), node.operand(1, "B")
    return [_tensor(imp, _NN_BINARY[node.op_type](lhs, rhs), out, _dtype_of(a))]


@handler("MatMul")
def matmul(imp: Importer, node: Node) -> list[Value]:
    a, b = node.input(0, "A"), node.input(1, "B")
    for i, v in enumerate((a, b)):
        if not isinstance(v, Tensor | Const):
            raise _unsupported_use(node, v, "AB"[i])
    if isinstance(a, Const) and isinstance(b, Const):
        return [Const(np.matmul(a.array, b.array))]
    sa, sb = _shape_of(a), _shape_of(b)
    if len(sa) < 1 or len(sb) < 1:
        raise node.error("operands must have rank >= 1")
    a2 = list(sa) if len(sa) > 1 else [1, sa[0]]
    b2 = list(sb) if len(sb) > 1 else [sb[0], 1]
    if isinstance(a2[-1], int) and isinstance(b2[-2], int) and a2[-1] != b2[-2]:
        raise node.error(f"shapes {format_dims(sa)} and {format_dims(sb)} do not multiply")
    out = [*_broadcast_dims(node, a2[:-2], b2[:-2]), a2[-2], b2[-1]]
    if len(sa) == 1:
        out.pop(-2)
    if len(sb) == 1:
        out.pop(-1)
    op = nn.MatMulOp(node.operand(0, "A"), node.operand(1, "B"))
    return [_tensor(imp, op, out, _dtype_of(a))]


@handler("Gemm")
def gemm(imp: Importer, node: Node) -> list[Value]:
    alpha, beta = node.attr("alpha", 1.0), node.attr("beta", 1.0)
    ta, tb = node.attr("transA", 0), node.attr("transB", 0)
    if imp.opset < 7:
        node.attr("broadcast", 0)
    a, b = node.input(0, "A"), node.input(1, "B")
    c = node.optional_input(2)
    sa, sb = _shape_of(a), _shape_of(b)
    if len(sa) != 2 or len(sb) != 2:
        raise node.error(f"A {format_dims(sa)} and B {format_dims(sb)} must be 2-D")
    m, k = (sa[1], sa[0]) if ta else sa
    k2, n = (sb[1], sb[0]) if tb else sb
    if isinstance(k, int) and isinstance(k2, int) and k != k2:
        raise node.error(
            f"A {format_dims(sa)} and B {format_dims(sb)} do not multiply (transA={ta}, transB={tb})"
        )
    cval = node.operand(2, "C") if c is not None else None
    if c is not None:
        _broadcast_dims(node, (m, n), _shape_of(c))
    op = nn.GemmOp(
        node.operand(0, "A"), node.operand(1, "B"), cval, alpha, beta, bool(ta), bool(tb)
    )
    return [_tensor(imp, op, (m, n), _dtype_of(a))]


# name -> (default alpha, default beta) of the ONNX operator of that name.
_ACTIVATION_OPS: dict[str, tuple[float | None, float | None]] = {
    "Relu": (None, None),
    "Sigmoid": (None, None),
    "Tanh": (None, None),
    "Softsign": (None, None),
    "Softplus": (None, None),
    "LeakyRelu": (0.01, None),
    "Elu": (1.0, None),
    "ThresholdedRelu": (1.0, None),
    "HardSigmoid": (0.2, 0.5),
}


@handler(*_ACTIVATION_OPS)
def activation(imp: Importer, node: Node) -> list[Value]:
    x = node.input(0, "X")
    da, db = _ACTIVATION_OPS[node.op_type]
    alpha = node.attr("alpha", da) if da is not None else None
    beta = node.attr("beta", db) if db is not None else None
    if isinstance(x, Const):
        from ..activations import apply_activation

        return [Const(apply_activation(node.op_type, x.array, alpha or 0.0, beta or 0.0))]
    if not isinstance(x, Tensor):
        raise _unsupported_use(node, x, "X")
    return [_tensor(imp, nn.ActOp(x.value, node.op_type, alpha, beta), x.shape, x.dtype)]


@handler("Clip")
def clip(imp: Importer, node: Node) -> list[Value]:
    x = node.input(0, "input")
    if imp.opset < 11:
        lo, hi = node.attr("min", None), node.attr("max", None)
    else:
        lo_a, hi_a = node.const_input(1, "min"), node.const_input(2, "max")
        lo = None if lo_a is None else float(lo_a)
        hi = None if hi_a is None else float(hi_a)
    if not isinstance(x, Tensor):
        raise _unsupported_use(node, x, "input")
    return [_tensor(imp, nn.ClipOp(x.value, lo, hi), x.shape, x.dtype)]


@handler("Softmax", "LogSoftmax")
def softmax(imp: Importer, node: Node) -> list[Value]:
    x = node.input(0, "input")
    if not isinstance(x, Tensor):
        raise _unsupported_use(node, x, "input")
    rank = len(x.shape)
    legacy = imp.opset < 13
    axis = _norm_axis(node, node.attr("axis", 1 if legacy else -1), rank)
    if legacy and axis != rank - 1:
        # Before opset 13 the input is flattened to 2-D at ``axis``.
        if not is_static(x.shape[axis:]):
            raise node.error(f"axis {axis} over symbolic trailing dimensions is not supported")
        raise node.error(
            f"axis {axis} != last axis with opset {imp.opset} semantics is not supported"
        )
    cls = nn.SoftmaxOp if node.op_type == "Softmax" else nn.LogSoftmaxOp
    return [_tensor(imp, cls(x.value, axis), x.shape, x.dtype)]
