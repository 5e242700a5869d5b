"""``ernn-schedule``: size the design's parallelism to the FPGA, as
annotations the HLS backend turns into pragmas (hardware/schedule.py).

E-RNN's Phase II for one model: start with one of everything (one output
block per cycle in each MAC, one FFT at a time, one element per cycle in
each element-wise loop), then repeatedly double the knob of the slowest
loop of the time step, as long as every resource stays within
``max-util`` of the device (the estimator, hardware/estimate.py, prices
each step). A scan whose step has an input stage (hardware/stages.py)
overlaps it with the recurrence, C-LSTM's ping-pong pipeline
(``overlap = 1``). Knobs set by ``overrides`` stay as given
(``overlap=0`` runs the stages one after another).
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from dataclasses import dataclass

from xdsl.context import Context
from xdsl.dialects.builtin import ModuleOp
from xdsl.ir import Operation
from xdsl.passes import ModulePass
from xdsl.utils.exceptions import PassFailedException

from ..backends.hls.pointwise import pointwise_groups
from ..dialects import cell, circ, signature
from ..dialects.shapes import tensor_shape
from ..hardware import cost
from ..hardware.devices import RESOURCES, device, devices
from ..hardware.estimate import Estimate, Estimator, initiation_interval, static_shape_key
from ..hardware.schedule import Target, set_knobs, set_target
from ..hardware.stages import stages

KEYS = ("parallel", "units", "lanes", "overlap")
# on (1) or off (0), not a degree of parallelism
SWITCHES = ("overlap",)


@dataclass
class Knob:
    """One choice of the schedule: ``key`` of ``ops`` (an element-wise loop
    has one knob for all its ops), at most ``limit``."""

    key: str
    ops: list[Operation]
    where: str
    limit: int
    value: int = 1
    fixed: bool = False
    done: bool = False
    # "input" or "recurrent": the stage of a scan's step the loop belongs to,
    # when the scan has the two (hardware/stages.py); "" elsewhere
    stage: str = ""

    def set(self, value: int) -> None:
        self.value = value
        for op in self.ops:
            set_knobs(op, **{self.key: value})


def parse_overrides(spec: str) -> list[tuple[str, str, int]]:
    """'parallel=16,layer1.lanes=4,layer0.bwd.units=2' -> (selector, key, value)."""
    out = []
    for item in filter(None, (s.strip() for s in spec.split(","))):
        m = re.fullmatch(r"(?:(layer\d+(?:\.(?:fwd|bwd))?)\.)?(\w+)=(\d+)", item)
        if (
            m is None
            or m.group(2) not in KEYS
            or (m.group(2) in SWITCHES and int(m.group(3)) > 1)
            or (m.group(2) not in SWITCHES and int(m.group(3)) < 1)
        ):
            raise PassFailedException(
                f"schedule override {item!r}: expected [layerK[.fwd|bwd].]KEY=N with KEY one of "
                f"{', '.join(k for k in KEYS if k not in SWITCHES)} and N >= 1, "
                f"or {', '.join(SWITCHES)}=0|1"
            )
        out.append((m.group(1) or "", m.group(2), int(m.group(3))))
    return out


def knobs_of(
    module: ModuleOp, sequential: Callable[[str], bool] = lambda where: False
) -> list[Knob]:
    """Every knob of the design, in program order. The element-wise loops of
    a scan whose stages may overlap are grouped by stage, as the backend
    prints them, unless an override keeps that scan sequential
    (``sequential(where)``)."""
    found: list[Knob] = []

    def block(ops: list[Operation], where: str, stage: str = "") -> None:
        for item in pointwise_groups(ops, static_shape_key):
            if isinstance(item, list):
                size = math.prod(max(d, 1) for d in static_shape_key(item[0]))
                found.append(Knob("lanes", item, where, max(size, 1), stage=stage))
                continue
            op = item
            if isinstance(op, cell.ScanOp):
                inner = f"{op.layer.data}.{'bwd' if op.is_reverse else 'fwd'}"
                widest = max(tensor_shape(v.type)[-1] for v in [op.x, *op.finals])
                found.append(Knob("lanes", [op], inner, widest))
                split = stages(op)
                if split is None:
                    block(list(op.body.block.ops), inner)
                    continue
                # on unless overridden; never grown
                found.append(Knob("overlap", [op], inner, 1, done=True))
                if sequential(inner):
                    block(list(op.body.block.ops), inner)
                    continue
                # each stage's element-wise loops apart, as the backend prints them
                block(split.input, inner, "input")
                block(split.recurrent, inner, "recurrent")
            elif isinstance(op, circ.MacOp):
                found.append(
                    Knob("parallel", [op], where, tensor_shape(op.lhs.type)[0], stage=stage)
                )
            elif isinstance(op, cell.MatVecOp | circ.MatVecOp):
                rows = tensor_shape(op.results[0].type)[-1]
                found.append(Knob("parallel", [op], where, rows, stage=stage))
            elif isinstance(op, circ.RfftOp):
                b = op.block.value.data
                blocks = -(-tensor_shape(op.input.type)[-1] // b)
                found.append(Knob("units", [op], where, blocks, stage=stage))
            elif isinstance(op, circ.IrfftOp):
                found.append(
                    Knob("units", [op], where, tensor_shape(op.input.type)[-3], stage=stage)
                )

    block(list(signature.main_func(module).body.block.ops), "top")
    return found


def partition_weights(knobs: list[Knob]) -> None:
    """A MAC or matvec reading P output blocks at once reads its weights from P banks."""
    for k in knobs:
        if k.key == "parallel":
            w = k.ops[0].operands[0].owner
            if isinstance(w, Operation) and w.name in ("fxp.constant", "arith.constant"):
                set_knobs(w, partition=k.value)


def cycles_of(est: Estimator, k: Knob) -> int:
    op = k.ops[0]
    if isinstance(op, cell.ScanOp):
        return est.step(op, k.where).cycles
    if k.key == "lanes":
        return est.pointwise(k.ops, k.where).cycles
    if isinstance(op, circ.MacOp):
        return est.mac(op, k.where).cycles
    if isinstance(op, circ.RfftOp | circ.IrfftOp):
        return est.fft(op, k.where).cycles
    return est.matvec(op, k.where).cycles


@dataclass(frozen=True)
class Schedule(ModulePass):
    """Choose the design's parallelism for ``device`` at ``clock`` MHz within
    ``max-util`` of every resource; ``overrides`` fix knobs
    ('parallel=16,layer1.lanes=4'); ``max-dims`` bounds the symbolic dims
    for buffers ('T=512,N=1'), as the HLS backend's --max-dims."""

    name = "ernn-schedule"

    device: str = "ku060"
    clock: float = 200.0
    max_util: float = 0.8
    overrides: str = ""
    max_dims: str = ""
    # fail when even one of everything does not fit (else keep that design:
    # the report says what does not fit and what would)
    require_fit: bool = False

    def apply(self, ctx: Context, op: ModuleOp) -> None:
        try:
            dev = device(self.device)
        except ValueError as e:
            raise PassFailedException(str(e)) from None
        if not (0 < self.clock < math.inf):
            raise PassFailedException(f"clock {self.clock:g} MHz: expected a positive frequency")
        if not (0 < self.max_util <= 1):
            raise PassFailedException(f"max-util {self.max_util:g}: expected a fraction in (0, 1]")
        set_target(op, Target(dev.key, dev.part, float(self.clock)))
        for o in op.walk():  # the II each MAC's pipeline can reach; pragmas and estimates read it
            if isinstance(o, cell.MatVecOp | circ.MatVecOp | circ.MacOp):
                set_knobs(o, ii=initiation_interval(o))
        bounds = parse_dims(self.max_dims)
        from ..backends.hls.emitter import design_sizes

        estimator = Estimator(dev, design_sizes(op, bounds))
        # a scan that an override keeps sequential has its knobs as without overlap
        switches = [(sel, v) for sel, key, v in parse_overrides(self.overrides) if key == "overlap"]

        def sequential(where: str) -> bool:
            on = 1
            for sel, value in switches:
                if not sel or f"{where}.".startswith(sel + "."):
                    on = value
            return on == 0

        knobs = knobs_of(op, sequential)
        for k in knobs:
            k.set(1)
        self._apply_overrides(knobs)
        partition_weights(knobs)
        est = estimator.estimate(op, self.clock)
        if not est.fits:
            if self.require_fit:
                raise PassFailedException(no_fit_message(op, est))
            return
        # within max-util of each resource; one the unparallelized design
        # already takes past it may grow up to the device
        budget = {
            r: max(self.max_util * dev.available(r), min(est.used(r), dev.available(r)))
            if est.used(r) <= self.max_util * dev.available(r)
            else dev.available(r)
            for r in RESOURCES
        }
        # where stages overlap, growing the loops of the hidden stage buys no
        # cycle; but skipping them changes which loops the budget goes to,
        # so both greedy runs are tried and the faster design kept
        start = [(k.value, k.done) for k in knobs]
        runs = []
        for hide in (False, True) if est.stage_cycles() else (False,):
            for k, (value, done) in zip(knobs, start):
                k.set(value)
                k.done = done
            partition_weights(knobs)
            final = self._grow(op, estimator, knobs, est, budget, hide)
            runs.append((final.cycles_per_step, final.used("dsp"), [k.value for k in knobs]))
        _, _, values = min(runs, key=lambda run: run[:2])
        for k, value in zip(knobs, values):
            k.set(value)
        partition_weights(knobs)

    def _grow(
        self,
        op: ModuleOp,
        estimator: Estimator,
        knobs: list[Knob],
        est: Estimate,
        budget: dict[str, float],
        hide: bool,
    ) -> Estimate:
        """Double the slowest loop's knob until the budget refuses every
        knob; ``hide``: leave alone the loops of the shorter of two
        overlapping stages."""
        dev = estimator.device
        used = {r: est.used(r) for r in RESOURCES}
        while True:
            open_ = [k for k in knobs if not (k.fixed or k.done or k.value >= k.limit)]
            if hide:
                stage = est.stage_cycles()
                open_ = [
                    k
                    for k in open_
                    if not (
                        k.stage
                        and k.where in stage
                        and stage[k.where][k.stage] < max(stage[k.where].values())
                    )
                ]
            if not open_:
                return est
            k = max(open_, key=lambda k: cycles_of(estimator, k))
            old = k.value
            k.set(min(k.limit, 2 * old))
            partition_weights(knobs)
            trial = estimator.estimate(op, self.clock)
            # a step may not take a resource it grows past the budget
            if any(
                trial.used(r) > budget[r] and trial.used(r) > used[r]
                for r in RESOURCES
                if dev.available(r)
            ):
                k.set(old)
                k.done = True
                partition_weights(knobs)
            else:
                used = {r: trial.used(r) for r in RESOURCES}
                est = trial

    def _apply_overrides(self, knobs: list[Knob]) -> None:
        for selector, key, value in parse_overrides(self.overrides):
            matched = [
                k
                for k in knobs
                if k.key == key and (not selector or f"{k.where}.".startswith(selector + "."))
            ]
            if not matched:
                raise PassFailedException(
                    f"schedule override {selector + '.' if selector else ''}{key}={value}: "
                    "no such knob in the design"
                )
            for k in matched:
                k.set(min(value, k.limit))
                k.fixed = True


def no_fit_message(module: ModuleOp, est: Estimate) -> str:
    """What does not fit the device, and what would make it fit."""
    dev = est.device
    util = est.utilization()
    over = [r for r in RESOURCES if util[r] > 1]
    worst = max(over, key=lambda r: util[r])
    msg = (
        f"the design does not fit the {dev.name} even at its smallest schedule: "
        f"{worst} {est.used(worst):,.0f} of {dev.available(worst):,}"
    )
    if worst == "dsp" and _is_float(module):
        msg += "; float arithmetic spends DSPs on every add: --precision auto:16"
    if worst == "bram36":
        weights = sum(c.bram36 for c in est.costs if c.what.startswith("weights"))
        rest = est.used("bram36") - weights
        fits = smallest_fitting_block(module, dev.bram36 - rest)
        msg += f" (weights {weights:,.0f}, buffers {rest:,.0f})"
        if fits is not None and rest < dev.bram36:
            msg += f"; --block-size {fits} would bring the weights within it"
        elif rest >= dev.bram36:
            msg += "; lower the dims' bounds (--max-dims) or the precision"
    bigger = [
        d.key
        for d in devices().values()
        if d.key != dev.key and all(est.used(r) <= d.available(r) for r in RESOURCES)
    ]
    if bigger:
        msg += f"; it would fit: {', '.join(bigger)}"
    return msg


def _is_float(module: ModuleOp) -> bool:
    from ..dialects.fxp import fixed_of

    return not any(fixed_of(r.type) is not None for op in module.walk() for r in op.results)


def parse_dims(spec: str) -> dict[str, int]:
    out = {}
    for item in filter(None, (s.strip() for s in spec.split(","))):
        name, eq, value = item.partition("=")
        if not eq or not value.strip().isdigit() or int(value) < 1:
            raise PassFailedException(f"max-dims {item!r}: expected NAME=N with N >= 1")
        out[name.strip()] = int(value)
    return out


def smallest_fitting_block(module: ModuleOp, bram_left: float) -> int | None:
    """The smallest power-of-two block size at which the weight matrices'
    spectra fit ``bram_left`` BRAM36 (the matrices' sizes from the IR)."""
    matrices = []  # (rows, cols, storage bits)
    for op in module.walk():
        if isinstance(op, circ.MacOp):
            p, q, f = tensor_shape(op.lhs.type)[:3]
            b = 2 * (f - 1)
            matrices.append((p * b, q * b, _bits(op.lhs)))
        elif isinstance(op, cell.MatVecOp | circ.MatVecOp):
            rows = tensor_shape(op.results[0].type)[-1]
            cols = tensor_shape(op.operands[1].type)[-1]
            matrices.append((rows, cols, _bits(op.operands[0])))
    for b in (2, 4, 8, 16, 32, 64):
        need = sum(
            cost.memory(bits, -(-rows // b) * -(-cols // b) * (b // 2 + 1) * 2)[0]
            for rows, cols, bits in matrices
        )
        if need <= bram_left:
            return b
    return None


def _bits(v) -> int:
    from ..hardware.estimate import is_float, width

    return width(v.type) if is_float(v) else cost.storage_bits(width(v.type))
