"""ernn-circulant-to-fft: the decoupled FFT form of block-circulant matvecs.

Each ``circ.matvec`` becomes ``circ.irfft(circ.mac(Wf, circ.rfft(x)))`` with
the weight spectra Wf = rfft(generators) precomputed as constants. An input
shared by several matvecs is transformed once. Then, since the inverse FFT
is linear, sums of products meet in the frequency domain:

    irfft(A) + irfft(B)        ->  irfft(A + B)
    (irfft(A) + c) + irfft(B)  ->  irfft(A + B) + c

so a gate pre-activation W x + b + R h takes one inverse FFT per output
block, not one per matrix. Block sizes must be powers of two.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from xdsl.context import Context
from xdsl.dialects import func
from xdsl.dialects.builtin import ModuleOp
from xdsl.ir import Operation, SSAValue
from xdsl.passes import ModulePass
from xdsl.pattern_rewriter import (
    PatternRewriter,
    PatternRewriteWalker,
    RewritePattern,
    op_type_rewrite_pattern,
)
from xdsl.rewriter import InsertPoint, Rewriter
from xdsl.utils.exceptions import PassFailedException

from ..circulant import is_power_of_two, spectra
from ..dialects import circ, nn
from ..dialects.constants import constant_op, constant_value
from .preconditions import require_cell_level


def _top_level(op: Operation) -> Operation:
    while (parent := op.parent_op()) is not None and not isinstance(parent, func.FuncOp):
        op = parent
    return op


def weight_spectra(gen: np.ndarray) -> np.ndarray:
    """[P, Q, b] generators -> [P, Q, b/2+1, 2] (real, imaginary) spectra."""
    s = spectra(gen)
    return np.stack([s.real, s.imag], axis=-1).astype(gen.dtype)


def lower_matvec(mv: circ.MatVecOp, rffts: dict[tuple[SSAValue, int], SSAValue]) -> None:
    b = mv.block_size
    if not is_power_of_two(b):
        raise PassFailedException(
            f"matrix {mv.matrix.data}: block size {b} is not a power of two, which the FFT form needs"
        )
    gen = constant_value(mv.gen)
    if gen is None:
        raise PassFailedException(f"matrix {mv.matrix.data}: generators are not constant")
    wf = constant_op(weight_spectra(gen))
    Rewriter.insert_op(wf, InsertPoint.before(_top_level(mv)))
    new: list[Operation] = []
    key = (mv.x, b)
    if key not in rffts:
        rfft = circ.RfftOp(mv.x, b)
        new.append(rfft)
        rffts[key] = rfft.result
    mac = circ.MacOp(wf.results[0], rffts[key], mv.matrix.data)
    irfft = circ.IrfftOp(mac.result, b, mv.shape[0], mv.gate_names)
    Rewriter.replace_op(mv, [*new, mac, irfft])


def _irfft(v: SSAValue) -> circ.IrfftOp | None:
    op = v.owner
    return op if isinstance(op, circ.IrfftOp) and v.has_one_use() else None


def _compatible(a: circ.IrfftOp, b: circ.IrfftOp) -> bool:
    return (
        a.properties == b.properties
        and a.result.type == b.result.type
        and a.input.type == b.input.type
    )


class MergeInverseTransforms(RewritePattern):
    """Sum products in the frequency domain: one irfft per output block."""

    @op_type_rewrite_pattern
    def match_and_rewrite(self, op: nn.AddOp, rewriter: PatternRewriter) -> None:
        for first, second in ((op.lhs, op.rhs), (op.rhs, op.lhs)):
            b = _irfft(second)
            if b is None:
                continue
            a = _irfft(first)
            if a is not None and _compatible(a, b):
                total = nn.AddOp(a.input, b.input)
                merged = circ.IrfftOp(
                    total.result, b.block.value.data, b.rows, [g.data for g in b.gates]
                )
                rewriter.replace(op, [total, merged])
                rewriter.erase(a)
                rewriter.erase(b)
                return
            inner = first.owner
            if isinstance(inner, nn.AddOp) and first.has_one_use():
                for x, c in ((inner.lhs, inner.rhs), (inner.rhs, inner.lhs)):
                    a = _irfft(x)
                    if a is not None and _compatible(a, b) and _irfft(c) is None:
                        total = nn.AddOp(a.input, b.input)
                        merged = circ.IrfftOp(
                            total.result, b.block.value.data, b.rows, [g.data for g in b.gates]
                        )
                        outer = nn.AddOp(merged.result, c)
                        rewriter.replace(op, [total, merged, outer])
                        rewriter.erase(inner)
                        rewriter.erase(a)
                        rewriter.erase(b)
                        return


@dataclass(frozen=True)
class CirculantToFFT(ModulePass):
    """Lower block-circulant matvecs to rfft, frequency-domain MAC and irfft."""

    name = "ernn-circulant-to-fft"

    def apply(self, ctx: Context, op: ModuleOp) -> None:
        require_cell_level(op, self.name)
        rffts: dict[tuple[SSAValue, int], SSAValue] = {}
        for mv in [o for o in op.walk() if isinstance(o, circ.MatVecOp)]:
            lower_matvec(mv, rffts)
        PatternRewriteWalker(MergeInverseTransforms()).rewrite_module(op)
