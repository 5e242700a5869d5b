"""ernn-fuse-gates: transform each input once for all the gates that read it.

In each scan body, the ``cell.matvec`` ops that multiply the same input by
rows of the same matrix (W x_t for every gate, R h for every gate) become
one matvec over the stacked rows, whose ``gates`` attribute lists the gates
in order; an ``nn.split`` hands each gate its part. The splits then sink
through element-wise ops that treat every part alike (bias adds, the sum of
the W and R parts, clip), so the gate pre-activations are computed as one
stacked tensor up to the point where the gates differ (their activations).

A GRU with ``linear_before_reset = 0`` multiplies R_h by r * h, a different
input, so that product stays separate: the IR shows it as its own matvec.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from xdsl.context import Context
from xdsl.dialects import func
from xdsl.dialects.builtin import ModuleOp
from xdsl.ir import Block, Operation, SSAValue
from xdsl.passes import ModulePass
from xdsl.pattern_rewriter import (
    PatternRewriter,
    PatternRewriteWalker,
    RewritePattern,
    op_type_rewrite_pattern,
)
from xdsl.rewriter import InsertPoint, Rewriter

from ..dialects import cell, nn
from ..dialects.constants import constant_op, constant_value
from ..dialects.shapes import tensor_shape
from .preconditions import require_cell_level


def _top_level_ancestor(op: Operation) -> Operation:
    """The op in the function body that contains ``op``: constants go there."""
    while (parent := op.parent_op()) is not None and not isinstance(parent, func.FuncOp):
        op = parent
    return op


def _stack_weights(scan: cell.ScanOp, group: Sequence[cell.MatVecOp]) -> SSAValue | None:
    arrays = [constant_value(mv.w) for mv in group]
    if any(a is None for a in arrays):
        return None  # runtime weights keep one matvec per gate
    op = constant_op(np.concatenate(arrays, axis=0))  # type: ignore[arg-type]
    Rewriter.insert_op(op, InsertPoint.before(_top_level_ancestor(scan)))
    return op.results[0]


def fuse_matvecs(scan: cell.ScanOp) -> None:
    groups: dict[tuple[SSAValue, str], list[cell.MatVecOp]] = {}
    for op in scan.block.ops:
        if isinstance(op, cell.MatVecOp):
            groups.setdefault((op.x, op.matrix.data), []).append(op)
    for (x, matrix), group in groups.items():
        if len(group) < 2:
            continue
        w = _stack_weights(scan, group)
        if w is None:
            continue
        gates = [g for mv in group for g in mv.gate_names]
        fused = cell.MatVecOp(w, x, matrix, gates)
        sizes = [tensor_shape(mv.w.type)[0] for mv in group]
        split = nn.SplitOp(fused.result, -1, sizes)
        Rewriter.insert_op([fused, split], InsertPoint.before(group[0]))
        for mv, part in zip(group, split.outputs):
            mv.result.replace_all_uses_with(part)
            Rewriter.erase_op(mv)


_ELEMENTWISE = (nn.AddOp, nn.SubOp, nn.MulOp, nn.DivOp, nn.ClipOp, nn.ActOp)


def _same_properties(ops: Sequence[Operation]) -> bool:
    return all(op.properties == ops[0].properties for op in ops)


class SinkSplitThroughElementwise(RewritePattern):
    """op(split(A)[k], split(B)[k]) for every k  ->  split(op(A, B))[k];
    a constant per-part operand is stacked, a shared scalar is kept."""

    @op_type_rewrite_pattern
    def match_and_rewrite(self, split: nn.SplitOp, rewriter: PatternRewriter) -> None:
        users: list[Operation] = []
        for r in split.outputs:
            uses = list(r.uses)
            if len(uses) != 1:
                return
            users.append(uses[0].operation)
        first = users[0]
        if not isinstance(first, _ELEMENTWISE) or any(type(u) is not type(first) for u in users):
            return
        if not _same_properties(users) or any(u.parent is not split.parent for u in users):
            return
        position = [u.operands.index(r) for u, r in zip(users, split.outputs)]
        if len(set(position)) != 1:
            return
        pos = position[0]
        axis = split.axis.value.data
        operands: list[SSAValue] = []
        for i in range(len(first.operands)):
            if i == pos:
                operands.append(split.input)
                continue
            other = self._stacked_operand(split, [u.operands[i] for u in users], axis)
            if other is None:
                return
            operands.append(other)
        block = split.parent
        assert isinstance(block, Block)
        earliest = min(users, key=block.get_operation_index)
        if isinstance(first, nn.ActOp | nn.ClipOp):
            fused = type(first).create(
                operands=operands,
                result_types=[split.input.type],
                properties=dict(first.properties),
            )
        else:
            fused = type(first)(operands[0], operands[1])
        parts = nn.SplitOp(fused.results[0], axis, split.split_sizes())
        rewriter.insert([fused, parts], InsertPoint.before(earliest))
        for u, part in zip(users, parts.outputs):
            rewriter.replace(u, [], [part])

    @staticmethod
    def _stacked_operand(split: nn.SplitOp, values: list[SSAValue], axis: int) -> SSAValue | None:
        owner = values[0].owner
        if isinstance(owner, nn.SplitOp) and all(
            v.owner is owner and owner.outputs.index(v) == k
            for k, v in enumerate(values)  # type: ignore[arg-type]
        ):
            if owner.split_sizes() == split.split_sizes() and owner.axis == split.axis:
                return owner.input
            return None
        if all(v is values[0] for v in values) and tensor_shape(values[0].type) in ((), (1,)):
            return values[0]
        arrays = [constant_value(v) for v in values]
        rank = len(tensor_shape(split.input.type))
        if axis != rank - 1 or any(a is None or a.ndim != 1 for a in arrays):
            return None
        sizes = split.split_sizes()
        if any(a.shape[0] not in (1, n) for a, n in zip(arrays, sizes)):  # type: ignore[union-attr]
            return None
        stacked = np.concatenate([np.broadcast_to(a, (n,)) for a, n in zip(arrays, sizes)])  # type: ignore[arg-type]
        const = constant_op(stacked)
        Rewriter.insert_op(const, InsertPoint.before(_top_level_ancestor(split)))
        return const.results[0]


@dataclass(frozen=True)
class FuseGates(ModulePass):
    """Transform each input once for all gates: stack the per-gate matvecs."""

    name = "ernn-fuse-gates"

    def apply(self, ctx: Context, op: ModuleOp) -> None:
        require_cell_level(op, self.name)
        for scan in [o for o in op.walk() if isinstance(o, cell.ScanOp)]:
            fuse_matvecs(scan)
        PatternRewriteWalker(SinkSplitThroughElementwise()).rewrite_module(op)
