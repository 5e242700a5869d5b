"""Resource and latency estimates of the design the HLS backend generates,
read from the scheduled IR.

Every op is costed as the loop nest the HLS backend prints for it, with the
parallelism ``ernn.schedule`` gives it (hardware/schedule.py). Latency is
counted per time step of one sequence (batch 1): cycles of the ops inside
the recurrent loops, plus the ops outside them at one step (an upper bound
for those that run once per sequence). Resources add up every op's own
hardware (Vitis shares little between loop nests by default) and its
buffers at the bounds of the symbolic dims. hardware/cost.py holds the
primitive costs; docs/estimates.md says what is assumed and why.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field

from xdsl.dialects import arith, func
from xdsl.dialects.builtin import Float32Type, Float64Type, IntegerType, ModuleOp, TensorType
from xdsl.ir import Attribute, Operation, SSAValue

from ..backends.hls.pointwise import (
    pointwise_groups,
    pointwise_operands,
    split_in_place,
)
from ..dialects import cell, circ, fxp, nn, signature
from ..dialects.fxp import fixed_of
from ..dialects.shapes import DYN, tensor_shape
from . import cost
from .devices import RESOURCES, Device
from .schedule import knob
from .stages import Stages, buffer_banks, overlapped

MATVECS = (cell.MatVecOp, circ.MatVecOp)

ASSUMPTIONS = (
    "estimates from an analytic model of the generated loops, not synthesis results",
    "batch 1; latency per time step; ops outside the recurrent loops counted at one step",
    (
        "layers and directions run one after another; within a step, a scan with overlap = 1 runs "
        "the input stage of the next step beside the recurrence (the longer of the two, plus the "
        "dataflow handshake), else the stages one after another"
    ),
    "each loop nest has its own operators (no sharing between ops)",
    (
        "fully pipelined loops at the initiation interval the schedule asks; float accumulations "
        "wait for the adder's latency"
    ),
    "DSP48 multiplies tiled over 27x18 (25x18 on 7 series) ports; two 8-bit multiplies share one",
    (
        "weights in block RAM as the C integers of the generated tables, banked by the reader's "
        "parallelism; arrays under 4 Kb in LUTRAM; no UltraRAM (it needs BIND_STORAGE)"
    ),
    "buffers sized by the symbolic dims' bounds (--max-dims; default 1 for a batch, 128 else)",
    "LUT and FF counts are rough: adders, registers and loop control only",
)


@dataclass
class Cost:
    """One loop nest of the design: what it computes, its knob, its cost."""

    what: str
    where: str
    knob: str
    cycles: int
    dsp: float = 0.0
    bram36: float = 0.0
    lut: int = 0
    ff: int = 0
    # in a scan whose stages overlap (``where`` names it): "input" or
    # "recurrent", the stage the loop belongs to; "" elsewhere
    stage: str = ""


@dataclass
class Estimate:
    device: Device
    clock_mhz: float
    costs: list[Cost] = field(default_factory=list)
    dense_ops_per_step: int = 0

    def used(self, resource: str) -> float:
        if resource == "uram":
            return 0.0
        return float(sum(getattr(c, resource) for c in self.costs))

    def utilization(self) -> dict[str, float]:
        out = {}
        for r in RESOURCES:
            avail = self.device.available(r)
            out[r] = self.used(r) / avail if avail else (0.0 if not self.used(r) else math.inf)
        return out

    @property
    def binding(self) -> str:
        util = self.utilization()
        return max(util, key=lambda r: util[r])

    @property
    def fits(self) -> bool:
        return all(u <= 1.0 for u in self.utilization().values())

    @property
    def cycles_per_step(self) -> int:
        """The loops' cycles one after another, except that in a scan whose
        stages overlap the step takes the longer of its two stages."""
        total = sum(c.cycles for c in self.costs if not c.stage)
        return total + sum(max(s.values()) for s in self.stage_cycles().values())

    def stage_cycles(self) -> dict[str, dict[str, int]]:
        """Cycles of the input and the recurrent stage of each scan whose
        stages overlap, by scan (``where``)."""
        out: dict[str, dict[str, int]] = {}
        for c in self.costs:
            if c.stage:
                stages = out.setdefault(c.where, {"input": 0, "recurrent": 0})
                stages[c.stage] += c.cycles
        return out

    @property
    def latency_us(self) -> float:
        return self.cycles_per_step / self.clock_mhz

    @property
    def fps(self) -> float:
        return self.clock_mhz * 1e6 / max(self.cycles_per_step, 1)

    @property
    def gops(self) -> float:
        return self.dense_ops_per_step * self.fps / 1e9


# -- types and sizes ----------------------------------------------------------------


def initiation_interval(op: Operation) -> int:
    """The II a MAC or matvec's pipelined loop can reach: 1 in fixed point; in
    float, the adder's latency over the independent sums it interleaves (a
    circ.mac's bins), since each sum waits for its previous add."""
    if not is_float(op.results[0]):
        return 1
    interleaved = tensor_shape(op.operands[0].type)[2] if isinstance(op, circ.MacOp) else 1
    return max(1, math.ceil(cost.FLOAT_ADD[2] / interleaved))


def width(t: Attribute) -> int:
    """Bits of an element: the fixed-point width, 32 for float."""
    f = fixed_of(t)
    if f is not None:
        return f.w
    el = t.element_type if isinstance(t, TensorType) else t
    if isinstance(el, Float64Type):
        return 64
    if isinstance(el, Float32Type):
        return 32
    if isinstance(el, IntegerType):
        return el.width.data
    return 32


def is_float(v: SSAValue) -> bool:
    return fixed_of(v.type) is None


def elements(v: SSAValue, dyn: int = 1) -> int:
    """Elements of a value, a symbolic dim counting ``dyn``."""
    return math.prod(dyn if d == DYN else d for d in tensor_shape(v.type))


# -- the estimator -------------------------------------------------------------------


class Estimator:
    def __init__(self, device: Device, sizes: dict[SSAValue, int]) -> None:
        self.device = device
        self.family = device.family
        # elements of each array the design declares, at the dims' bounds
        self.sizes = sizes

    def mult(self, a: SSAValue | int, b: SSAValue | int) -> float:
        wa = a if isinstance(a, int) else width(a.type)
        wb = b if isinstance(b, int) else width(b.type)
        return cost.dsp_per_multiply(wa, wb, self.family)

    def buffer(self, v: SSAValue, banks: int = 1) -> tuple[float, int]:
        if v not in self.sizes:
            return 0.0, 0  # no array: a view or a value kept in registers
        return cost.banked_memory(width(v.type), self.sizes[v], banks)

    def weights(self, v: SSAValue, banks: int) -> tuple[float, int]:
        """A constant table: raw integers of its storage width, in ``banks`` banks."""
        bits = cost.storage_bits(width(v.type)) if not is_float(v) else width(v.type)
        return cost.banked_memory(bits, elements(v), banks)

    def estimate(self, module: ModuleOp, clock_mhz: float) -> Estimate:
        est = Estimate(self.device, clock_mhz)
        fn = signature.main_func(module)
        self.block(list(fn.body.block.ops), "top", est)
        return est

    def block(self, ops: Sequence[Operation], where: str, est: Estimate) -> None:
        for group in pointwise_groups(ops, static_shape_key):
            if isinstance(group, list):
                est.costs.append(self.pointwise(group, where))
                est.dense_ops_per_step += len(group) * elements(group[0].results[0])
                continue
            op = group
            if isinstance(op, cell.ScanOp):
                self.scan(op, est)
            elif isinstance(op, func.ReturnOp | cell.YieldOp):
                continue
            else:
                c = self.op(op, where, est)
                if c is not None:
                    est.costs.append(c)

    def scan(self, op: cell.ScanOp, est: Estimate) -> None:
        where = f"{op.layer.data}.{'bwd' if op.is_reverse else 'fwd'}"
        body = op.body.block
        split = overlapped(op)
        if split is None:
            est.costs.append(self.step(op, where))
            self.block(list(body.ops), where, est)
            return
        # C-LSTM's pipeline: the input stage of step s + 1 beside the
        # recurrent stage of step s (hardware/stages.py, the HLS backend's
        # DATAFLOW region)
        x_in, states_out = self.step_copies(op, where)
        x_in.stage, states_out.stage = "input", "recurrent"
        first = len(est.costs)
        est.costs.append(x_in)
        self.block(split.input, where, est)
        for c in est.costs[first:]:
            c.stage = "input"
        first = len(est.costs)
        est.costs.append(states_out)
        self.block(split.recurrent, where, est)
        for c in est.costs[first:]:
            c.stage = "recurrent"
        est.costs.append(self.pingpong(split, where))

    def step(self, op: cell.ScanOp, where: str) -> Cost:
        """The step's own loops: x_t in, then the states and y out."""
        x_in, out = self.step_copies(op, where)
        return Cost(
            f"{op.kind.data} step: x_t in, states and y out",
            where,
            x_in.knob,
            x_in.cycles + out.cycles,
            bram36=x_in.bram36 + out.bram36,
            lut=x_in.lut + out.lut,
            ff=x_in.ff + out.ff,
        )

    def step_copies(self, op: cell.ScanOp, where: str) -> tuple[Cost, Cost]:
        """``step`` as its two loops, x_t in and the states and y out, for
        the two stages they belong to when the stages overlap."""
        lanes = knob(op, "lanes")
        features = tensor_shape(op.x.type)[-1]
        widest = max(tensor_shape(r.type)[-1] for r in op.finals)
        x_bram, x_lut = self.buffer(op.body.block.args[0], lanes)
        bram = lut = 0.0
        for v in [*op.finals, op.y]:
            b, lt = self.buffer(v, lanes)
            bram, lut = bram + b, lut + lt
        return (
            Cost(
                f"{op.kind.data} step: x_t in",
                where,
                f"lanes={lanes}",
                math.ceil(features / lanes) + cost.LOOP_DEPTH,
                bram36=x_bram,
                lut=int(x_lut) + cost.LOOP_LUT,
                ff=cost.LOOP_FF,
            ),
            Cost(
                f"{op.kind.data} step: states and y out",
                where,
                f"lanes={lanes}",
                math.ceil(widest / lanes) + cost.LOOP_DEPTH,
                bram36=bram,
                lut=int(lut) + cost.LOOP_LUT,
                ff=cost.LOOP_FF + lanes * sum(width(r.type) for r in op.finals),
            ),
        )

    def pingpong(self, split: Stages, where: str) -> Cost:
        """The second half of each ping-pong buffer (the first is the input
        stage's result, costed with the op that writes it) and the DATAFLOW
        region's start and done handshakes, once a step."""
        bram = lut = 0.0
        for v in split.boundary:
            b, lt = self.buffer(v, buffer_banks(v))
            bram, lut = bram + b, lut + lt
        return Cost(
            "step DATAFLOW: ping-pong buffers, process handshakes",
            where,
            "overlap=1",
            cost.DATAFLOW_OVERHEAD,
            bram36=bram,
            lut=int(lut) + cost.LOOP_LUT,
            ff=cost.LOOP_FF,
        )

    # -- one op ----------------------------------------------------------------

    def op(self, op: Operation, where: str, est: Estimate) -> Cost | None:
        if isinstance(op, arith.ConstantOp | fxp.ConstantOp):
            return self.constant(op, where)
        if isinstance(op, circ.RfftOp | circ.IrfftOp):
            return self.fft(op, where)
        if isinstance(op, circ.MacOp):
            est.dense_ops_per_step += self.mac_dense_ops(op)
            return self.mac(op, where)
        if isinstance(op, MATVECS):
            rows, cols = tensor_shape(op.results[0].type)[-1], tensor_shape(op.operands[1].type)[-1]
            est.dense_ops_per_step += 2 * rows * cols
            return self.matvec(op, where)
        if isinstance(op, nn.MatMulOp | nn.GemmOp):
            return self.matmul(op, where, est)
        if isinstance(op, nn.ReshapeOp | nn.SqueezeOp | nn.UnsqueezeOp) or (
            isinstance(op, nn.SplitOp) and split_in_place(op)
        ):
            return None  # views: no code
        # layout copies and softmax: a loop over the result
        r = op.results[0]
        size = sum(elements(x) for x in op.results)
        bram = lut = 0.0
        for x in op.results:
            b, lt = self.buffer(x)
            bram, lut = bram + b, lut + lt
        extra = (
            cost.FLOAT_TRANSCENDENTAL if isinstance(op, nn.SoftmaxOp | nn.LogSoftmaxOp) else None
        )
        return Cost(
            op.name,
            where,
            "",
            size * (2 if extra else 1) + cost.LOOP_DEPTH,
            dsp=extra[0] if extra else 0,
            bram36=bram,
            lut=int(lut) + cost.LOOP_LUT + (extra[1] if extra else 0),
            ff=cost.LOOP_FF + width(r.type),
        )

    def constant(self, op: Operation, where: str) -> Cost | None:
        r = op.results[0]
        if isinstance(r.type, TensorType) and not tensor_shape(r.type):
            return None
        banks = knob(op, "partition")
        bram, lut = self.weights(r, banks)
        tensor = op.attributes.get("tensor")
        label = getattr(tensor, "data", "constant")
        return Cost(
            f"weights {label}",
            where,
            f"banks={banks}" if banks > 1 else "",
            0,
            bram36=bram,
            lut=lut,
        )

    def fft(self, op: circ.RfftOp | circ.IrfftOp, where: str) -> Cost:
        b = op.block.value.data
        stages = b.bit_length() - 1
        units = knob(op, "units")
        if isinstance(op, circ.RfftOp):
            blocks = -(-tensor_shape(op.input.type)[-1] // b)
            data = op.input
        else:
            blocks = tensor_shape(op.input.type)[-3]
            data = op.input
        fx = fixed_of(data.type)
        twiddle_bits = (op.twiddle_frac.value.data + 2) if op.twiddle_frac is not None else 18
        dsp = lut = ff = 0.0
        for s in range(stages):
            m = 2 ** (s + 1)
            nontrivial = (b // m) * sum(1 for j in range(m // 2) if j not in (0, m // 4))
            butterflies = b // 2
            if fx is None:  # float: 4 fmul + 2 fadd per twiddle product, 4 fadd per butterfly
                dsp += nontrivial * (4 * cost.FLOAT_MUL[0] + 2 * cost.FLOAT_ADD[0])
                dsp += butterflies * 4 * cost.FLOAT_ADD[0]
                lut += nontrivial * (4 * cost.FLOAT_MUL[1] + 2 * cost.FLOAT_ADD[1])
                lut += butterflies * 4 * cost.FLOAT_ADD[1]
                ff += 2 * b * 32
            else:
                w_in, w_out = fx.w + 1 + s, fx.w + 2 + s
                dsp += nontrivial * 4 * cost.dsp_per_multiply(w_in, twiddle_bits, self.family)
                lut += nontrivial * 2 * cost.adder_luts(w_in + twiddle_bits)
                lut += butterflies * 4 * cost.adder_luts(w_out)
                ff += 2 * b * w_out
        depth = stages * (cost.FLOAT_ADD[2] + cost.FLOAT_MUL[2] if fx is None else 2)
        bram, lut_mem = self.buffer(op.result, units)
        return Cost(
            f"{op.name} b={b}",
            where,
            f"units={units}",
            math.ceil(blocks / units) + depth + cost.LOOP_DEPTH,
            dsp=units * dsp,
            bram36=bram,
            lut=int(units * lut) + lut_mem + cost.LOOP_LUT,
            ff=int(units * ff) + cost.LOOP_FF,
        )

    def mac(self, op: circ.MacOp, where: str) -> Cost:
        blocks_out, blocks_in, bins = tensor_shape(op.lhs.type)[:3]
        p = knob(op, "parallel")
        acc_w = width(op.result.type)
        ii = knob(op, "ii", initiation_interval(op))
        if is_float(op.result):
            dsp = 4 * cost.FLOAT_MUL[0] + 4 * cost.FLOAT_ADD[0]
            lut = 4 * cost.FLOAT_MUL[1] + 4 * cost.FLOAT_ADD[1]
        else:
            dsp = 4 * self.mult(op.lhs, op.rhs)
            lut = 4 * cost.adder_luts(acc_w)
        bram, lut_mem = self.buffer(op.result, p)
        matrix = op.matrix.data if op.matrix is not None else ""
        return Cost(
            f"circ.mac {matrix}".strip(),
            where,
            f"parallel={p}",
            math.ceil(blocks_out / p) * blocks_in * bins * ii + cost.LOOP_DEPTH,
            dsp=p * dsp,
            bram36=bram,
            lut=p * lut + lut_mem + cost.LOOP_LUT,
            ff=p * 2 * bins * acc_w + cost.LOOP_FF,
        )

    @staticmethod
    def mac_dense_ops(op: circ.MacOp) -> int:
        blocks_out, blocks_in, bins = tensor_shape(op.lhs.type)[:3]
        b = 2 * (bins - 1)
        return 2 * blocks_out * b * blocks_in * b

    def matvec(self, op: Operation, where: str) -> Cost:
        w, x, r = op.operands[0], op.operands[1], op.results[0]
        rows, cols = tensor_shape(r.type)[-1], tensor_shape(x.type)[-1]
        p = knob(op, "parallel")
        ii = knob(op, "ii", initiation_interval(op))
        if is_float(r):
            dsp = cost.FLOAT_MUL[0] + cost.FLOAT_ADD[0]
            lut = cost.FLOAT_MUL[1] + cost.FLOAT_ADD[1]
        else:
            dsp, lut = self.mult(w, x), cost.adder_luts(width(r.type))
        bram, lut_mem = self.buffer(r, p)
        matrix = getattr(op, "matrix", None)
        label = f"{op.name} {matrix.data}" if matrix is not None else op.name
        return Cost(
            label,
            where,
            f"parallel={p}",
            math.ceil(rows / p) * cols * ii + cost.LOOP_DEPTH,
            dsp=p * dsp,
            bram36=bram,
            lut=p * lut + lut_mem + cost.LOOP_LUT,
            ff=p * width(r.type) + cost.LOOP_FF,
        )

    def matmul(self, op: Operation, where: str, est: Estimate) -> Cost:
        r = op.results[0]
        a, b = op.operands[0], op.operands[1]
        inner = tensor_shape(a.type)[-1]
        if isinstance(op, nn.GemmOp) and op.trans_a.value.data:
            inner = tensor_shape(a.type)[0]
        out = elements(r)
        est.dense_ops_per_step += 2 * out * inner
        fl = is_float(r)
        ii = cost.FLOAT_ADD[2] if fl else 1
        bram, lut_mem = self.buffer(r)
        return Cost(
            op.name,
            where,
            "",
            out * inner * ii + cost.LOOP_DEPTH,
            dsp=(cost.FLOAT_MUL[0] + cost.FLOAT_ADD[0]) if fl else self.mult(a, b),
            bram36=bram,
            lut=lut_mem
            + cost.LOOP_LUT
            + (cost.FLOAT_ADD[1] if fl else cost.adder_luts(width(r.type))),
            ff=cost.LOOP_FF + width(r.type),
        )

    def pointwise(self, ops: list[Operation], where: str) -> Cost:
        lanes = max(knob(op, "lanes") for op in ops)
        size = elements(ops[0].results[0])
        members = set(ops)
        dsp = lut = ff = 0.0
        depth = 0
        bram = lut_mem = 0.0
        for op in ops:
            r = op.results[0]
            w = width(r.type)
            fl = is_float(r)
            if isinstance(op, nn.MulOp):
                d, lt, lat = (
                    cost.FLOAT_MUL if fl else (self.mult(op.operands[0], op.operands[1]), 0, 2)
                )
            elif isinstance(op, fxp.PwlOp):
                d, lt, lat = self.mult(op.slopes, op.input), cost.adder_luts(w) + 2 * w, 3
            elif isinstance(op, fxp.LutOp):
                d, lt, lat = 0, 2 * w, 2
            elif isinstance(op, nn.DivOp):
                d, lt, lat = cost.FLOAT_DIV if fl else (0, 4 * w * w, w)
            elif isinstance(op, nn.ActOp):
                fn = op.function
                d, lt, lat = (
                    cost.FLOAT_TRANSCENDENTAL
                    if fn in ("Tanh", "Sigmoid", "ScaledTanh", "Elu", "Softplus")
                    else (0, 2 * w, 1)
                )
            elif isinstance(op, nn.AddOp | nn.SubOp):
                d, lt, lat = cost.FLOAT_ADD if fl else (0, cost.adder_luts(w), 1)
            else:  # casts, clips
                d, lt, lat = 0, w, 1
            dsp, lut, ff, depth = dsp + d, lut + lt, ff + w, depth + lat
            if any(use.operation not in members for use in r.uses):
                b, lt2 = self.buffer(r, lanes)
                bram, lut_mem = bram + b, lut_mem + lt2
        names = ", ".join(sorted({op.name.split(".")[1] for op in ops}))
        return Cost(
            f"element-wise ({len(ops)} ops: {names})",
            where,
            f"lanes={lanes}",
            math.ceil(size / lanes) + depth + cost.LOOP_DEPTH,
            dsp=lanes * dsp,
            bram36=bram,
            lut=int(lanes * lut + lut_mem) + cost.LOOP_LUT,
            ff=int(lanes * ff) + cost.LOOP_FF,
        )


def static_shape_key(op: Operation) -> tuple:
    """The iteration space of an element-wise op, from the types: the
    broadcast of its operands' shapes."""
    shapes = [tensor_shape(v.type) for v in pointwise_operands(op)]
    rank = len(tensor_shape(op.results[0].type))
    out = []
    for k in range(rank):
        dims = [s[len(s) - rank + k] for s in shapes if len(s) - rank + k >= 0]
        out.append(next((d for d in dims if d != 1), 1))
    return tuple(out)


def estimate(
    module: ModuleOp, device: Device, clock_mhz: float, max_dims: dict[str, int] | None = None
) -> Estimate:
    from ..backends.hls.emitter import design_sizes

    return Estimator(device, design_sizes(module, max_dims)).estimate(module, clock_mhz)
