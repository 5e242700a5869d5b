"""ernn-calibrate: run the float model on calibration inputs and record the
range of every value that quantization will cast.

Each op gets an ``ernn.range`` attribute with one ``[min, max]`` per result
(min > max where nothing was recorded), the function ``ernn.range.args``
for its arguments. ``ernn-quantize`` reads them to choose integer bits
(``auto`` formats) and the report shows them. This is the one pass that
executes the IR: it runs it with the NumPy backend.

Options: ``inputs`` (an .npz keyed by input name; empty: random inputs,
``samples`` sequences of ``steps`` steps) and ``seed``.
"""

from __future__ import annotations

from dataclasses import dataclass

from xdsl.context import Context
from xdsl.dialects import func
from xdsl.dialects.builtin import ArrayAttr, DenseArrayBase, ModuleOp, f64
from xdsl.passes import ModulePass
from xdsl.utils.exceptions import PassFailedException

RANGE_ATTR = "ernn.range"
_NONE = (1.0, 0.0)


@dataclass(frozen=True)
class Calibrate(ModulePass):
    """Record value ranges on calibration inputs (runs the float model)."""

    name = "ernn-calibrate"

    inputs: str = ""
    samples: int = 4
    steps: int = 16
    seed: int = 0

    def apply(self, ctx: Context, op: ModuleOp) -> None:
        from ..backends.numpy import UnsupportedOpError, observe_ranges
        from ..backends.numpy.inputs import load_inputs, random_inputs

        try:
            data = (
                load_inputs(self.inputs, op)
                if self.inputs
                else random_inputs(op, self.samples, self.steps, self.seed)
            )
            ranges = observe_ranges(op, data)
        except (ValueError, UnsupportedOpError) as e:
            raise PassFailedException(f"calibration: {e}") from None

        def pairs(values) -> ArrayAttr:
            return ArrayAttr(
                [DenseArrayBase.from_list(f64, list(ranges.get(v, _NONE))) for v in values]
            )

        for o in op.walk():
            if isinstance(o, func.FuncOp):
                o.attributes[f"{RANGE_ATTR}.args"] = pairs(o.body.block.args)
            elif any(r in ranges for r in o.results):
                o.attributes[RANGE_ATTR] = pairs(o.results)
