"""ernn-block-circulant: replace each dense recurrent weight matvec by a
block-circulant one (E-RNN, C-LSTM).

The generators are the Frobenius-nearest block-circulant matrix, blocked
gate by gate (``ernnc.circulant.project``). A matrix that already is
block-circulant converts losslessly and is marked ``exact``; otherwise the
op records the relative Frobenius error of the projection.

Options: ``block`` (the default block size; 1 keeps matrices dense) and
``per-matrix``, overrides by matrix selector, most specific first:
``layer0.fwd.W`` > ``layer0.fwd`` > ``layer0.W`` > ``layer0``, e.g.
``ernn-block-circulant{block=16 per-matrix="layer0.W=8,layer1=4"}``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from xdsl.context import Context
from xdsl.dialects.builtin import ModuleOp
from xdsl.passes import ModulePass
from xdsl.rewriter import InsertPoint, Rewriter
from xdsl.utils.exceptions import PassFailedException

from ..circulant import Blocking, expand, project, relative_error
from ..dialects import cell, circ
from ..dialects.constants import constant_op, constant_value
from ..dialects.shapes import tensor_shape
from .preconditions import require_cell_level


def parse_block_spec(spec: str) -> tuple[int | None, dict[str, int]]:
    """``"8"`` or ``"default=16,layer0.W=8,layer1=4"`` -> (default, overrides)."""
    default: int | None = None
    overrides: dict[str, int] = {}
    items = [s.strip() for s in spec.split(",")]
    if not any(items) or not all(items):
        raise PassFailedException("an empty item; expected 8 or 'default=16,layer0.W=8,layer1=4'")
    seen: set[str] = set()
    for item in items:
        key, sep, value = item.partition("=")
        if not sep:
            key, value = "default", item
        key = key.strip()
        if key in seen:
            raise PassFailedException(f"{key!r} is given twice")
        seen.add(key)
        try:
            size = int(value)
        except ValueError:
            raise PassFailedException(
                f"block size {value.strip()!r} for {key!r} is not an integer"
            ) from None
        if size < 1:
            raise PassFailedException(f"block size {size} for {key!r} must be at least 1")
        if key == "default":
            default = size
        else:
            overrides[key] = size
    return default, overrides


def _selectors(matrix: str) -> list[str]:
    """Selectors that match a matrix name, most specific first."""
    layer, direction, kind = matrix.split(".")
    return [matrix, f"{layer}.{direction}", f"{layer}.{kind}", layer]


def block_size_for(matrix: str, default: int, overrides: dict[str, int]) -> int:
    for sel in _selectors(matrix):
        if sel in overrides:
            return overrides[sel]
    return default


def circulant_matvec(mv: cell.MatVecOp, b: int) -> circ.MatVecOp | None:
    """The block-circulant op replacing a dense matvec, or None if its
    weights are not constant. The generator constant is inserted before the
    weight's constant."""
    w = constant_value(mv.w)
    if w is None:
        return None
    m, k = tensor_shape(mv.w.type)
    gates = mv.gate_names
    bl = Blocking(len(gates), m // len(gates), k, b)
    gen = project(w, bl)
    exact = bool(np.array_equal(expand(gen, bl), w))
    const = constant_op(gen)
    assert mv.w.owner is not None
    Rewriter.insert_op(const, InsertPoint.before(mv.w.owner))  # type: ignore[arg-type]
    return circ.MatVecOp(
        const.results[0],
        mv.x,
        matrix=mv.matrix.data,
        gates=gates,
        block=b,
        rows=m,
        cols=k,
        rel_error=0.0 if exact else relative_error(w, gen, bl),
        exact=exact,
    )


@dataclass(frozen=True)
class BlockCirculant(ModulePass):
    """Project recurrent weight matrices onto block-circulant ones."""

    name = "ernn-block-circulant"

    block: int = 8
    per_matrix: str = ""

    def apply(self, ctx: Context, op: ModuleOp) -> None:
        if self.block < 1:
            raise PassFailedException(f"block size {self.block} must be at least 1")
        require_cell_level(op, self.name)
        _, overrides = parse_block_spec(self.per_matrix) if self.per_matrix else (None, {})
        matvecs = [o for o in op.walk() if isinstance(o, cell.MatVecOp)]
        names = sorted(
            {mv.matrix.data for mv in matvecs}
            | {c.matrix.data for c in op.walk() if isinstance(c, circ.MatVecOp)}
        )
        for sel in overrides:
            if not any(sel in _selectors(n) for n in names):
                raise PassFailedException(
                    f"per-matrix block size: no matrix matches {sel!r} (matrices: {', '.join(names) or 'none'})"
                )
        for mv in matvecs:
            b = block_size_for(mv.matrix.data, self.block, overrides)
            if b == 1:
                continue
            new = circulant_matvec(mv, b)
            if new is None:
                raise PassFailedException(
                    f"matrix {mv.matrix.data} is a runtime input of the model; only constant weights "
                    "can be made block-circulant (use block size 1 for it)"
                )
            Rewriter.replace_op(mv, new)
