"""What a pass needs of its input, checked so that a pass run too early
fails with a reason instead of silently changing nothing."""

from __future__ import annotations

from xdsl.dialects.builtin import ModuleOp
from xdsl.utils.exceptions import PassFailedException

from ..dialects.ernn import RecurrentOp


def require_cell_level(module: ModuleOp, pass_name: str) -> None:
    """``pass_name`` works on cell.scan bodies: refuse model-level ernn ops."""
    for op in module.walk():
        if isinstance(op, RecurrentOp):
            raise PassFailedException(
                f"{pass_name} works on cell.scan bodies, but the module still has "
                f"'{op.name}' ops: run convert-ernn-to-cell first"
            )
