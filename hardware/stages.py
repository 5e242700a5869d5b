"""The two stages of a time step, as C-LSTM pipelines them with ping-pong
buffers: the input stage (x_t in, its FFT and its product with W, and
whatever else reads only x_t and constants) and the recurrent stage (the
rest: the products with the states, the element-wise update, the states
and y out). The input stage of step s + 1 does not depend on step s, so it
can run beside step s's recurrent stage.

``ernn-schedule`` writes ``ernn.schedule = {overlap = 1}`` on a
``cell.scan`` whose step has such an input stage; the HLS backend then
prints the step as a ``DATAFLOW`` region of two processes, and the
estimator takes the longer of the two stages instead of their sum. All
three read the split from here: one account of which op runs where.
"""

from __future__ import annotations

from dataclasses import dataclass

from xdsl.dialects import arith
from xdsl.ir import Block, Operation, SSAValue

from ..backends.hls.pointwise import split_in_place
from ..dialects import cell, circ, fxp, nn
from .schedule import knob

# ops printed as aliases of their operand's array, not as arrays of their own
_VIEWS = (nn.ReshapeOp, nn.SqueezeOp, nn.UnsqueezeOp)
_CONSTANTS = (arith.ConstantOp, fxp.ConstantOp)
# an input stage worth a process of its own computes at least one of these
_HEAVY = (circ.RfftOp, circ.MacOp, circ.MatVecOp, cell.MatVecOp, nn.MatMulOp, nn.GemmOp)


@dataclass(frozen=True)
class Stages:
    """The ops of a scan's step, split; each list in program order."""

    input: list[Operation]
    recurrent: list[Operation]  # without the cell.yield
    # values of the input stage the recurrent stage reads: what the
    # ping-pong buffers hold (x_t itself when the recurrent stage reads it)
    boundary: list[SSAValue]


def _is_view(op: Operation) -> bool:
    return isinstance(op, _VIEWS) or (isinstance(op, nn.SplitOp) and split_in_place(op))


def stages(scan: cell.ScanOp) -> Stages | None:
    """The split of ``scan``'s step, or None when it has no input stage
    worth overlapping (no FFT or matrix product reads only x_t) or its step
    reads values from outside other than constants."""
    block = scan.body.block
    x_t = block.args[0]
    ops = list(block.ops)
    term = ops.pop()
    assert isinstance(term, cell.YieldOp)
    inside = set(ops)
    consts = {op for op in ops if isinstance(op, _CONSTANTS)}
    if consts:
        return None  # constants live outside the step in every IR ernnc makes

    def available(v: SSAValue, stage: set[Operation]) -> bool | None:
        """Whether the input stage may read ``v``; None: the step reads a
        value from outside that is not a constant."""
        owner = v.owner
        if isinstance(owner, Block):
            if owner is block:
                return v is x_t
            return None
        if owner in inside:
            return owner in stage
        if isinstance(owner, _CONSTANTS):
            return True
        return None

    first: set[Operation] = set()
    for op in ops:
        ok = [available(v, first) for v in op.operands]
        if any(a is None for a in ok):
            return None
        if all(ok) and not op.regions:
            first.add(op)
    # a view read by the recurrent stage belongs to it: it is an alias of an
    # array, and the ping-pong buffer must be an array of its own
    changed = True
    while changed:
        changed = False
        for op in reversed(ops):
            if (
                op in first
                and _is_view(op)
                and any(use.operation not in first for r in op.results for use in r.uses)
            ):
                first.discard(op)
                changed = True
        # an op whose operand left the stage leaves it too
        for op in ops:
            if op in first and not all(
                v is x_t or v.owner not in inside or v.owner in first for v in op.operands
            ):
                first.discard(op)
                changed = True
    if not any(isinstance(op, _HEAVY) for op in first):
        return None
    candidates = [x_t] + [r for op in ops if op in first for r in op.results]
    boundary = [v for v in candidates if any(use.operation not in first for use in v.uses)]
    return Stages(
        [op for op in ops if op in first],
        [op for op in ops if op not in first],
        boundary,
    )


def overlapped(scan: cell.ScanOp) -> Stages | None:
    """The split, when the schedule asks the scan's stages to overlap."""
    if knob(scan, "overlap", default=0) != 1:
        return None
    return stages(scan)


def buffer_banks(v: SSAValue) -> int:
    """Banks of a buffer: as many as its writer or a reader takes elements
    per cycle (the schedule's parallel, units and lanes)."""
    ops = [use.operation for use in v.uses]
    if isinstance(v.owner, Operation):
        ops.append(v.owner)
    elif isinstance(v.owner, Block) and isinstance(v.owner.parent_op(), cell.ScanOp):
        ops.append(v.owner.parent_op())  # type: ignore[arg-type]
    return max([1] + [knob(op, key) for op in ops for key in ("parallel", "units", "lanes")])
