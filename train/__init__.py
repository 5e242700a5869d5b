"""Block-circulant-aware training for ernnc (``pip install 'ernnc[train]'``).

torch is imported only by this package, never by the compiler or the
generated models; and only when a torch-side name is used, so the NumPy-only
data reader ``ernnc.train.ucr`` works without torch.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .admm import ADMM
    from .export import export_onnx
    from .project import (
        Target,
        block_circulant_project,
        circulant_targets,
        generators,
        is_block_circulant,
        project_array,
        project_targets,
        project_tensor,
    )

_LAZY = {
    "ADMM": "admm",
    "export_onnx": "export",
    "Target": "project",
    "block_circulant_project": "project",
    "circulant_targets": "project",
    "generators": "project",
    "is_block_circulant": "project",
    "project_array": "project",
    "project_targets": "project",
    "project_tensor": "project",
}

__all__ = [
    "ADMM",
    "Target",
    "block_circulant_project",
    "circulant_targets",
    "export_onnx",
    "generators",
    "is_block_circulant",
    "project_array",
    "project_targets",
    "project_tensor",
]


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        return getattr(importlib.import_module(f".{_LAZY[name]}", __name__), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
