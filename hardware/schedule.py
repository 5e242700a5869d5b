"""The schedule as the IR carries it: the one source of the HLS pragmas and
of the estimates.

``ernn-schedule`` writes, and the HLS backend and the estimator read:

- on the module, ``ernn.target = {device, part, clock_mhz}``;
- on ``circ.mac``, ``cell.matvec``, ``circ.matvec``:
  ``ernn.schedule = {parallel = P, ii = I}``, output blocks (rows, when
  dense) computed at once, and the initiation interval of its pipelined
  loop (1 in fixed point; a float sum waits for its adder);
- on ``circ.rfft``, ``circ.irfft``: ``{units = U}``, FFTs at once;
- on element-wise ops: ``{lanes = L}``, elements per cycle of their fused loop;
- on weight constants: ``{partition = P}``, the banks their reader's
  parallelism needs;
- on ``cell.scan``: ``{overlap = 1}``, the step's input stage (x_t, its FFT
  and its product with W) runs beside the previous step's recurrence,
  C-LSTM's ping-pong pipeline (hardware/stages.py has the split).

A missing key means 1 (the unscheduled design: one of everything), except
``overlap``, which means 0 (the stages one after another).
"""

from __future__ import annotations

from dataclasses import dataclass

from xdsl.dialects.builtin import (
    DictionaryAttr,
    FloatAttr,
    IntegerAttr,
    ModuleOp,
    StringAttr,
    f64,
    i64,
)
from xdsl.ir import Operation

SCHEDULE = "ernn.schedule"
TARGET = "ernn.target"


def knob(op: Operation, key: str, default: int = 1) -> int:
    """The op's scheduled ``key`` (parallel, units, lanes, partition,
    overlap); ``default`` if unset."""
    sched = op.attributes.get(SCHEDULE)
    if isinstance(sched, DictionaryAttr):
        value = sched.data.get(key)
        if isinstance(value, IntegerAttr):
            return int(value.value.data)
    return default


def set_knobs(op: Operation, **values: int) -> None:
    sched = op.attributes.get(SCHEDULE)
    data = dict(sched.data) if isinstance(sched, DictionaryAttr) else {}
    for key, value in values.items():
        data[key] = IntegerAttr(value, i64)
    op.attributes[SCHEDULE] = DictionaryAttr(dict(sorted(data.items())))


@dataclass(frozen=True)
class Target:
    device: str
    part: str
    clock_mhz: float


def target_of(module: ModuleOp) -> Target | None:
    attr = module.attributes.get(TARGET)
    if not isinstance(attr, DictionaryAttr):
        return None
    d = attr.data
    device, part, clock = d.get("device"), d.get("part"), d.get("clock_mhz")
    if not (
        isinstance(device, StringAttr)
        and isinstance(part, StringAttr)
        and isinstance(clock, FloatAttr)
    ):
        return None
    return Target(device.data, part.data, float(clock.value.data))


def set_target(module: ModuleOp, target: Target) -> None:
    module.attributes[TARGET] = DictionaryAttr(
        {
            "clock_mhz": FloatAttr(target.clock_mhz, f64),
            "device": StringAttr(target.device),
            "part": StringAttr(target.part),
        }
    )
