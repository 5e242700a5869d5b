"""ernn-choose-block-size: per weight matrix, the largest block size whose
block-circulant projection stays within an error bound; the others stay dense.

A pass plugin for ernnc (see docs/writing-a-pass.md). It runs at the cell
stage, where each recurrent weight product is a ``cell.matvec``, and puts
``circ.matvec`` ops in their place as ``ernn-block-circulant`` does:

    ernnc model.onnx -o out/ --load-pass-plugin examples/custom_pass/choose_block_size.py \\
      --passes 'convert-ernn-to-cell,ernn-fuse-gates,canonicalize,cse,dce,
                ernn-choose-block-size{max-error=0.3 candidates=4,8,16},canonicalize,cse,dce,
                ernn-circulant-to-fft,canonicalize,cse,dce'
"""

from __future__ import annotations

from dataclasses import dataclass

from xdsl.context import Context
from xdsl.dialects.builtin import ModuleOp
from xdsl.passes import ModulePass
from xdsl.rewriter import Rewriter
from xdsl.utils.exceptions import PassFailedException

from ernnc.circulant import Blocking, project, relative_error
from ernnc.dialects import cell
from ernnc.dialects.constants import constant_value
from ernnc.passes.block_circulant import circulant_matvec


def choose_block_size(mv: cell.MatVecOp, candidates: tuple[int, ...], max_error: float) -> int:
    """The largest candidate whose projection error is at most ``max_error``, or 1."""
    w = constant_value(mv.w)
    if w is None:  # weights that are model inputs stay dense
        return 1
    gates = len(mv.gate_names)
    rows, cols = w.shape
    for b in sorted(candidates, reverse=True):
        blocking = Blocking(gates, rows // gates, cols, b)
        if relative_error(w, project(w, blocking), blocking) <= max_error:
            return b
    return 1


@dataclass(frozen=True)
class ChooseBlockSize(ModulePass):
    """Per matrix, the largest candidate block size whose projection error is at most max-error."""

    name = "ernn-choose-block-size"

    max_error: float = 0.3
    candidates: tuple[int, ...] = (4, 8, 16)

    def apply(self, ctx: Context, op: ModuleOp) -> None:
        if not self.max_error >= 0:
            raise PassFailedException(f"max-error {self.max_error} must be at least 0")
        if not self.candidates or min(self.candidates) < 2:
            raise PassFailedException("candidates must be block sizes of at least 2")
        for mv in [o for o in op.walk() if isinstance(o, cell.MatVecOp)]:
            b = choose_block_size(mv, self.candidates, self.max_error)
            if b > 1:
                new = circulant_matvec(mv, b)
                assert new is not None  # constant weights, checked above
                Rewriter.replace_op(mv, new)
