"""Float-only rewrites of scan bodies that make the generated step loop shorter.

The NumPy model spends a few tenths of a microsecond per NumPy call whatever
the size of its operands, so at small sizes a step costs what its calls do.
These rewrites lower the number of calls; ``emit_numpy`` applies them to a
copy of a float module when it is not recording ranges for calibration (the
fixed-point model and its calibration see the IR as it is). The first two
change no bit of the results (up to subnormal numbers), the third rounds
differently (it reassociates a sum):

1. A sigmoid whose input is made of constants (through sums, matvecs with
   constant weights, products with constants, splits and the FFT form's
   ops) becomes ``Affine(0.5, 0.5)`` of ``Tanh``, its rows of those
   constants halved: sigmoid(u) = 0.5 tanh(u/2) + 0.5 is how the backend
   computes a sigmoid anyway, and halving a constant is exact.
2. The same element-wise op on consecutive parts of the same splits becomes
   one op on the span of those parts (a split of the split gathers them),
   split again after it. An LSTM's four activations then run as one tanh
   over all gates and one affine over the three sigmoid gates.
3. In the FFT form, a product of the input that ``ernn-circulant-to-fft``
   summed with the recurrent one in the frequency domain (one inverse FFT
   per step for both) gets an inverse FFT of its own, ahead of the bias:
   irfft(Wx + Rh) + b = (irfft(Wx) + b) + irfft(Rh). The backend computes
   the first term for all time steps at once, so a step is left with one
   real add instead of a complex add and the bias add.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from xdsl.dialects import arith
from xdsl.dialects.builtin import ModuleOp, TensorType
from xdsl.ir import Block, Operation, SSAValue
from xdsl.rewriter import InsertPoint, Rewriter
from xdsl.transforms.dead_code_elimination import region_dce

from ...circulant import Blocking
from ...dialects import cell, circ, nn
from ...dialects.constants import constant_op, numpy_from_dense
from ...dialects.fxp import FixedType
from ...dialects.shapes import tensor_shape

# (op, operand index, axis, factors): scale that operand, a constant, along an axis
_Scaling = tuple[Operation, int, int, np.ndarray]


def prepare_float(module: ModuleOp) -> ModuleOp:
    """A copy of ``module`` with the rewrites above applied to every scan body."""
    module = module.clone()
    for scan in [op for op in module.walk() if isinstance(op, cell.ScanOp)]:
        block = scan.block
        _prescale_sigmoids(block)
        _split_inverse_transforms(block)
        while _merge_parts(block):
            pass
        region_dce(scan.body)
    region_dce(module.body)
    return module


def is_float_module(module: ModuleOp) -> bool:
    return not any(
        isinstance(t, TensorType) and isinstance(t.element_type, FixedType)
        for op in module.walk()
        for t in (*op.result_types, *op.operand_types)
    )


# -- 1. sigmoid as tanh of prescaled rows -------------------------------------


def _prescale_sigmoids(block: Block) -> None:
    scalings: list[_Scaling] = []
    converted: list[nn.ActOp] = []
    for op in block.ops:
        if not (isinstance(op, nn.ActOp) and op.function == "Sigmoid"):
            continue
        found: list[_Scaling] = []
        f = tensor_shape(op.input.type)[-1]
        if _collect(op.input, np.full(f, 0.5), -1, found):
            scalings += found
            converted.append(op)
    # One new constant per scaled operand: the factors of all requests on it.
    combined: dict[tuple[Operation, int], tuple[int, np.ndarray]] = {}
    for op, index, axis, factors in scalings:
        key = (op, index)
        if key in combined:
            factors = combined[key][1] * factors
        combined[key] = (axis, factors)
    for (op, index), (axis, factors) in combined.items():
        value = op.operands[index]
        arr = numpy_from_dense(value.owner.value)  # type: ignore[union-attr]
        shape = [1] * arr.ndim
        if arr.ndim:
            shape[axis] = factors.size
        scaled = arr * factors.astype(arr.dtype).reshape(shape)
        const = constant_op(scaled)
        Rewriter.insert_op(const, InsertPoint.before(value.owner))  # type: ignore[arg-type]
        op.operands[index] = const.result
    for act in converted:
        tanh = nn.ActOp(act.input, "Tanh")
        affine = nn.ActOp(tanh.result, "Affine", 0.5, 0.5)
        Rewriter.replace_op(act, [tanh, affine])


def _constant(v: SSAValue) -> bool:
    return isinstance(v.owner, arith.ConstantOp) and _is_float(v)


def _is_float(v: SSAValue) -> bool:
    t = v.type
    return isinstance(t, TensorType) and t.element_type.name in ("f32", "f64")  # type: ignore[union-attr]


def _collect(v: SSAValue, factors: np.ndarray, axis: int, out: list[_Scaling]) -> bool:
    """Find the constants to scale so that ``v`` is scaled by ``factors``
    along ``axis`` (the rows: -1, or -3 for spectra [.., P, F, 2]); False if
    some part of ``v`` is not made of constants or is read elsewhere."""
    if not v.has_one_use() or not _is_float(v):
        return False
    op = v.owner
    if isinstance(op, nn.SplitOp):
        rank = len(tensor_shape(op.input.type))
        if op.axis.value.data != rank + axis:
            return False
        k = list(op.outputs).index(v)
        full = np.ones(tensor_shape(op.input.type)[axis])
        o = op.offsets()[k]
        full[o : o + factors.size] = factors
        return _collect(op.input, full, axis, out)
    if isinstance(op, nn.AddOp | nn.SubOp):
        return all(_collect_operand(op, k, factors, axis, out) for k in range(2))
    if isinstance(op, nn.MulOp):  # scale one factor, a constant if there is one
        order = sorted(range(2), key=lambda k: not _constant(op.operands[k]))
        for k in order:
            attempt: list[_Scaling] = []
            if _collect_operand(op, k, factors, axis, attempt):
                out += attempt
                return True
        return False
    if isinstance(op, cell.MatVecOp) and axis == -1:
        if not _constant(op.w):
            return False
        out.append((op, 0, 0, factors))
        return True
    if isinstance(op, circ.MatVecOp) and axis == -1:
        m, k = op.shape
        gates = len(op.gates)
        per_block = _per_block(factors, gates, Blocking(gates, m // gates, k, op.block_size))
        if per_block is None or not _constant(op.gen):
            return False
        out.append((op, 0, 0, per_block))
        return True
    if isinstance(op, circ.IrfftOp) and axis == -1:
        gates = len(op.gates)
        p = tensor_shape(op.input.type)[-3]
        b = op.block.value.data
        rows = op.rows
        per_block = _per_block(factors, gates, Blocking(gates, rows // gates, b, b), p // gates)
        return per_block is not None and _collect(op.input, per_block, -3, out)
    if isinstance(op, circ.MacOp) and axis == -3:
        if not _constant(op.lhs):
            return False
        out.append((op, 0, 0, factors))
        return True
    return False


def _collect_operand(
    op: Operation, k: int, factors: np.ndarray, axis: int, out: list[_Scaling]
) -> bool:
    v = op.operands[k]
    shape = tensor_shape(v.type)
    if _constant(v):
        if len(shape) >= -axis and shape[axis] == factors.size:
            out.append((op, k, axis, factors))
            return True
        if all(d == 1 for d in shape) and np.all(factors == factors[0]):
            out.append((op, k, axis, factors[:1]))  # a broadcast scalar, scaled alike
            return True
        return False
    if len(shape) < -axis or shape[axis] != factors.size:
        return False  # broadcast along the rows
    return _collect(v, factors, axis, out)


def _per_block(
    factors: np.ndarray, gates: int, bl: Blocking, p: int | None = None
) -> np.ndarray | None:
    """Row factors of a blocked product as one factor per block row (each
    gate is padded to whole blocks), or None if a block's rows differ."""
    p = bl.p if p is None else p
    rows = bl.rows
    out = np.ones(gates * p)
    for g in range(gates):
        for j in range(p):
            part = factors[g * rows + j * bl.block : g * rows + min((j + 1) * bl.block, rows)]
            if part.size and not np.all(part == part[0]):
                return None
            out[g * p + j] = part[0] if part.size else 1.0
    return out


# -- 2. one op over consecutive split parts ------------------------------------

_ELEMENTWISE = (nn.AddOp, nn.SubOp, nn.MulOp, nn.DivOp, nn.ActOp, nn.ClipOp)


def _parts(op: Operation) -> tuple[tuple[nn.SplitOp, int], ...] | None:
    """(split, index) of each operand, if every operand is a part of a split
    along the last axis of the op's own shape."""
    if not isinstance(op, _ELEMENTWISE) or not _is_float(op.results[0]):
        return None
    shape = tensor_shape(op.results[0].type)
    parts = []
    for v in op.operands:
        s = v.owner
        if not isinstance(s, nn.SplitOp) or tensor_shape(v.type) != shape:
            return None
        if s.axis.value.data != len(shape) - 1:
            return None
        parts.append((s, list(s.outputs).index(v)))
    return tuple(parts)


def _merge_parts(block: Block) -> bool:
    """Merge one run of ops over consecutive parts; False if there is none."""
    groups: dict[tuple, dict[tuple[int, ...], Operation]] = {}
    for op in block.ops:
        parts = _parts(op)
        if parts is None:
            continue
        splits = tuple(s for s, _ in parts)
        if len({id(s) for s in splits}) != len(splits):
            continue  # two operands from one split
        key = (op.name, tuple(sorted(op.properties.items())), splits)
        groups.setdefault(key, {})[tuple(i for _, i in parts)] = op
    for (_, _, splits), ops in groups.items():
        for start, first in ops.items():
            if tuple(i - 1 for i in start) in ops:
                continue  # not the first of its run
            run = [first]
            while (nxt := tuple(i + len(run) for i in start)) in ops:
                run.append(ops[nxt])
            if len(run) > 1:
                _merge(run, splits, start)
                return True
    return False


def _merge(run: Sequence[Operation], splits: Sequence[nn.SplitOp], start: Sequence[int]) -> None:
    k = len(run)
    sizes = [tensor_shape(op.results[0].type)[-1] for op in run]
    operands = [_gather(s, i, k) for s, i in zip(splits, start)]
    first = run[0]
    shape = list(tensor_shape(first.results[0].type))
    shape[-1] = sum(sizes)
    t = first.results[0].type
    assert isinstance(t, TensorType)
    merged = type(first).create(
        operands=operands,
        result_types=[TensorType(t.element_type, shape)],
        properties=dict(first.properties),
        attributes=dict(first.attributes),
    )
    parts = nn.SplitOp(merged.results[0], -1, sizes)
    block = first.parent_block()
    assert block is not None
    earliest = next(op for op in block.ops if op in run)  # the run's results are read after it
    Rewriter.insert_op([merged, parts], InsertPoint.before(earliest))
    for op, part in zip(run, parts.outputs):
        op.results[0].replace_all_uses_with(part)
        Rewriter.erase_op(op)


def _gather(split: nn.SplitOp, i: int, k: int) -> SSAValue:
    """The span of parts i .. i+k-1 of ``split`` as one value: the split's
    input if that is all of it, else a part of a coarser split, which a
    split of its own divides again for the parts' other readers."""
    sizes = list(split.split_sizes())
    if k == len(sizes):
        return split.input
    coarse = nn.SplitOp(split.input, -1, sizes[:i] + [sum(sizes[i : i + k])] + sizes[i + k :])
    fine = nn.SplitOp(coarse.outputs[i], -1, sizes[i : i + k])
    Rewriter.insert_op([coarse, fine], InsertPoint.before(split))
    new = [*coarse.outputs[:i], *fine.outputs, *coarse.outputs[i + 1 :]]
    for old, part in zip(split.outputs, new):
        old.replace_all_uses_with(part)
    Rewriter.erase_op(split)
    return coarse.outputs[i]


# -- 3. the input's inverse FFT apart from the step's ---------------------------


def _sequence_values(block: Block) -> set[SSAValue]:
    """Values that depend on the step input and values from outside only."""
    seq: set[SSAValue] = {block.args[0]}
    inside = set(block.walk())
    for op in block.ops:
        if all(v in seq or (v.owner not in inside and v.owner is not block) for v in op.operands):
            seq.update(op.results)
    return seq


def _split_inverse_transforms(block: Block) -> None:
    seq = _sequence_values(block)
    for irfft in [op for op in block.ops if isinstance(op, circ.IrfftOp)]:
        acc = irfft.input.owner
        if not (isinstance(acc, nn.AddOp) and irfft.input.has_one_use()):
            continue
        if irfft.twiddle_frac is not None or irfft.result in seq:
            continue
        inputs = [v for v in acc.operands if v in seq] + [v for v in acc.operands if v not in seq]
        if len(inputs) != 2 or inputs[0] not in seq or inputs[1] in seq:
            continue
        parts = [
            circ.IrfftOp(v, irfft.block.value.data, irfft.rows, [g.data for g in irfft.gates])
            for v in inputs
        ]
        total = nn.AddOp(parts[0].result, parts[1].result)
        Rewriter.replace_op(irfft, [*parts, total])
        Rewriter.erase_op(acc)
        seq.add(parts[0].result)
        # (x + h) + c with x and c from the input and outside: (x + c) + h
        if not total.result.has_one_use():
            continue
        outer = total.result.get_user_of_unique_use()
        if not isinstance(outer, nn.AddOp):
            continue
        c = outer.rhs if outer.lhs is total.result else outer.lhs
        if c not in seq and c.owner in set(block.walk()) or c is block.args[0]:
            continue
        if c.type != total.result.type and len(tensor_shape(c.type)) > 1:
            continue
        inner = nn.AddOp(parts[0].result, c)
        Rewriter.replace_op(outer, [inner, nn.AddOp(inner.result, parts[1].result)])
        Rewriter.erase_op(total)
