"""convert-ernn-to-cell: lower each ONNX recurrent op to one ``cell.scan`` per
direction, with the cell equations written out gate by gate.

The body is the textbook form of the ONNX equations: each gate gets its own
``cell.matvec`` for W and for R, its bias, peepholes, clip and activation.
``ernn-fuse-gates`` then stacks the gates that share an input. Weight slices
of constants are folded; weights that are runtime inputs are sliced with
``nn`` ops.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
from xdsl.context import Context
from xdsl.dialects.builtin import ModuleOp, TensorType
from xdsl.ir import Block, Operation, Region, SSAValue
from xdsl.passes import ModulePass
from xdsl.pattern_rewriter import (
    PatternRewriter,
    PatternRewriteWalker,
    RewritePattern,
    op_type_rewrite_pattern,
)

from ..dialects import cell, ernn, nn
from ..dialects.constants import constant_op, constant_value
from ..dialects.shapes import tensor_shape


@dataclass
class _Emitter:
    """Appends ops to a list (outer ops) or to a block (the scan body)."""

    ops: list[Operation] = field(default_factory=list)
    block: Block | None = None

    def add(self, op: Operation) -> SSAValue:
        if self.block is not None:
            self.block.add_op(op)
        else:
            self.ops.append(op)
        return op.results[0]

    def const(self, array: np.ndarray) -> SSAValue:
        return self.add(constant_op(np.ascontiguousarray(array)))


def _take(e: _Emitter, value: SSAValue, index: int) -> SSAValue:
    """value[index] along axis 0, folded for constants."""
    arr = constant_value(value)
    if arr is not None:
        return e.const(arr[index])
    return e.add(nn.GatherOp(value, 0, np.array(index)))


def _rows(e: _Emitter, value: SSAValue, start: int, stop: int) -> SSAValue:
    """value[start:stop] along axis 0, folded for constants."""
    arr = constant_value(value)
    if arr is not None:
        return e.const(arr[start:stop])
    return e.add(nn.SliceOp(value, starts=[start], ends=[stop], axes=[0], steps=[1]))


def _add(e: _Emitter, a: SSAValue | None, b: SSAValue | None) -> SSAValue | None:
    if a is None or b is None:
        return a if b is None else b
    return e.add(nn.AddOp(a, b))


@dataclass
class _Direction:
    """Everything one direction's cell needs, sliced out of the ONNX inputs."""

    op: ernn.RecurrentOp
    index: int
    outer: _Emitter
    w: SSAValue = field(init=False)
    r: SSAValue = field(init=False)
    b: SSAValue | None = field(init=False)

    def __post_init__(self) -> None:
        self.w = _take(self.outer, self.op.w, self.index)
        self.r = _take(self.outer, self.op.r, self.index)
        self.b = _take(self.outer, self.op.b, self.index) if self.op.b is not None else None

    @property
    def hidden(self) -> int:
        return self.op.hidden

    @property
    def tag(self) -> str:
        reverse = self.op.direction.data == "reverse" or self.index == 1
        return f"{self.op.layer.data}.{'bwd' if reverse else 'fwd'}"

    def gate_rows(self, matrix: SSAValue, gate: int) -> SSAValue:
        h = self.hidden
        return _rows(self.outer, matrix, gate * h, (gate + 1) * h)

    def bias(self, gate: int, *, w: bool = True, r: bool = True) -> SSAValue | None:
        """Wb (and/or Rb) of one gate; the two are summed when both are asked."""
        if self.b is None:
            return None
        g, h = len(self.op.GATES), self.hidden
        arr = constant_value(self.b)
        if arr is not None:
            total = np.zeros(h, dtype=arr.dtype)
            if w:
                total = total + arr[gate * h : (gate + 1) * h]
            if r:
                total = total + arr[(g + gate) * h : (g + gate + 1) * h]
            return self.outer.const(total)
        parts = []
        if w:
            parts.append(_rows(self.outer, self.b, gate * h, (gate + 1) * h))
        if r:
            parts.append(_rows(self.outer, self.b, (g + gate) * h, (g + gate + 1) * h))
        return parts[0] if len(parts) == 1 else self.outer.add(nn.AddOp(parts[0], parts[1]))

    def activations(self) -> list[tuple[str, float, float]]:
        acts = self.op.activation_list()
        k = len(acts) // self.op.num_directions
        return acts[self.index * k : (self.index + 1) * k]


class _Cell:
    """Builds one direction's scan body."""

    def __init__(self, d: _Direction, x_t: SSAValue, states: Sequence[SSAValue], block: Block):
        self.d = d
        self.e = _Emitter(block=block)
        self.x_t = x_t
        self.states = list(states)
        self.acts = d.activations()
        self.clip = d.op.clip_value()

    def matvec(self, matrix: str, gate: int, x: SSAValue) -> SSAValue:
        src = self.d.w if matrix == "W" else self.d.r
        w = self.d.gate_rows(src, gate)
        name = self.d.op.GATES[gate]
        return self.e.add(cell.MatVecOp(w, x, f"{self.d.tag}.{matrix}", [name]))

    def preactivation(self, gate: int) -> SSAValue:
        """W_g x_t + (Wb_g + Rb_g) + R_g h."""
        s = _add(self.e, self.matvec("W", gate, self.x_t), self.d.bias(gate))
        return _add(self.e, s, self.matvec("R", gate, self.states[0]))  # type: ignore[return-value]

    def activate(self, pre: SSAValue, which: int, clip: bool = True) -> SSAValue:
        """Activation ``which`` of ``pre``, clipped first unless ``clip`` is False."""
        if clip and self.clip is not None:
            pre = self.e.add(nn.ClipOp(pre, -self.clip, self.clip))
        fn, alpha, beta = self.acts[which]
        from ..dialects.nn import ACTIVATIONS

        n = ACTIVATIONS[fn]
        return self.e.add(nn.ActOp(pre, fn, alpha if n >= 1 else None, beta if n >= 2 else None))

    def peephole(self, pre: SSAValue, k: int, c: SSAValue) -> SSAValue:
        p = self.d.op.p  # type: ignore[attr-defined]
        if p is None:
            return pre
        h = self.d.hidden
        pv = _rows(self.d.outer, _take(self.d.outer, p, self.d.index), k * h, (k + 1) * h)
        return self.e.add(nn.AddOp(pre, self.e.add(nn.MulOp(c, pv))))

    def lstm(self) -> list[SSAValue]:
        _, c = self.states
        input_forget = bool(self.d.op.input_forget.value.data)  # type: ignore[attr-defined]
        # Gate order i, o, f, c; peepholes in order i, o, f.
        pre_i = self.preactivation(0)
        pre_o = self.preactivation(1)
        pre_f = None if input_forget else self.preactivation(2)
        pre_c = self.preactivation(3)
        i = self.activate(self.peephole(pre_i, 0, c), 0)
        if pre_f is None:
            one = self.d.outer.const(np.array(1.0, dtype=np.float32))
            f = self.e.add(nn.SubOp(one, i))
        else:
            f = self.activate(self.peephole(pre_f, 2, c), 0)
        g = self.activate(pre_c, 1)
        c_next = self.e.add(nn.AddOp(self.e.add(nn.MulOp(f, c)), self.e.add(nn.MulOp(i, g))))
        o = self.activate(self.peephole(pre_o, 1, c_next), 0)
        # clip bounds the gate pre-activations, not the cell state fed to h.
        h_next = self.e.add(nn.MulOp(o, self.activate(c_next, 2, clip=False)))
        return [h_next, c_next]

    def gru(self) -> list[SSAValue]:
        (h,) = self.states
        linear_before_reset = bool(self.d.op.linear_before_reset.value.data)  # type: ignore[attr-defined]
        # Gate order z, r, h.
        z = self.activate(self.preactivation(0), 0)
        r = self.activate(self.preactivation(1), 0)
        wx = _add(self.e, self.matvec("W", 2, self.x_t), self.d.bias(2, r=not linear_before_reset))
        if linear_before_reset:
            rh = _add(self.e, self.matvec("R", 2, h), self.d.bias(2, w=False))
            pre = self.e.add(nn.AddOp(wx, self.e.add(nn.MulOp(r, rh))))  # type: ignore[arg-type]
        else:
            rh = self.matvec("R", 2, self.e.add(nn.MulOp(r, h)))
            pre = self.e.add(nn.AddOp(wx, rh))  # type: ignore[arg-type]
        hh = self.activate(pre, 1)
        # (1 - z) * hh + z * h, written as hh + z * (h - hh).
        h_next = self.e.add(nn.AddOp(hh, self.e.add(nn.MulOp(z, self.e.add(nn.SubOp(h, hh))))))
        return [h_next]

    def rnn(self) -> list[SSAValue]:
        return [self.activate(self.preactivation(0), 0)]


class LowerRecurrentOp(RewritePattern):
    @op_type_rewrite_pattern
    def match_and_rewrite(self, op: ernn.RecurrentOp, rewriter: PatternRewriter) -> None:
        outer = _Emitter()
        layout = op.layout.value.data
        x = op.x
        if layout:
            x = outer.add(nn.TransposeOp(x, perm=[1, 0, 2]))
        states_in = op.state_operands()
        if layout:
            states_in = [
                None if s is None else outer.add(nn.TransposeOp(s, perm=[1, 0, 2]))
                for s in states_in
            ]
        xs = tensor_shape(x.type)
        assert isinstance(x.type, TensorType)
        el = x.type.element_type
        state_type = TensorType(el, [xs[1], op.hidden])
        n_states = len(states_in)

        ys: list[SSAValue] = []
        finals: list[list[SSAValue]] = [[] for _ in range(n_states)]
        for index in range(op.num_directions):
            d = _Direction(op, index, outer)
            block = Block(arg_types=[TensorType(el, xs[1:])] + [state_type] * n_states)
            body = _Cell(d, block.args[0], block.args[1:], block)
            kind = op.name.split(".")[1]
            block.add_op(cell.YieldOp(*getattr(body, kind)()))
            given = [k for k, s in enumerate(states_in) if s is not None]
            scan = cell.ScanOp(
                x,
                [_take(outer, states_in[k], index) for k in given],  # type: ignore[arg-type]
                op.seq_lens,
                [state_type] * n_states,
                Region(block),
                reverse=d.tag.endswith("bwd"),
                kind=kind,
                layer=op.layer.data,
                init_states=given,
            )
            outer.add(scan)
            ys.append(scan.y)
            for k in range(n_states):
                finals[k].append(scan.finals[k])

        y = self._stack(outer, ys, axis=1)
        results = [y] + [self._stack(outer, f, axis=0) for f in finals]
        if layout:
            results = [outer.add(nn.TransposeOp(results[0], perm=[2, 0, 1, 3]))] + [
                outer.add(nn.TransposeOp(s, perm=[1, 0, 2])) for s in results[1:]
            ]
        rewriter.replace(op, outer.ops, results)

    @staticmethod
    def _stack(outer: _Emitter, values: list[SSAValue], axis: int) -> SSAValue:
        parts = [outer.add(nn.UnsqueezeOp(v, axes=[axis])) for v in values]
        return parts[0] if len(parts) == 1 else outer.add(nn.ConcatOp(parts, axis))


@dataclass(frozen=True)
class ConvertErnnToCell(ModulePass):
    """Lower ernn.lstm/gru/rnn to one cell.scan per direction (per-gate form)."""

    name = "convert-ernn-to-cell"

    def apply(self, ctx: Context, op: ModuleOp) -> None:
        PatternRewriteWalker(LowerRecurrentOp(), apply_recursively=False).rewrite_module(op)
