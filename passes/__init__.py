"""ernnc's passes, one ``ModulePass`` per module, registered by name.

``get_all_passes()`` maps every pass name a pipeline may use (ours and
xDSL's) to a factory returning the pass class, the form that
``xdsl.passes.PassPipeline.parse_spec`` takes. Modules are imported only
when a pass is used.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable

from xdsl.passes import ModulePass

# name -> (module, class)
ERNNC_PASSES: dict[str, tuple[str, str]] = {
    "convert-ernn-to-cell": ("convert_ernn_to_cell", "ConvertErnnToCell"),
    "ernn-fuse-gates": ("fuse_gates", "FuseGates"),
    "ernn-block-circulant": ("block_circulant", "BlockCirculant"),
    "ernn-circulant-to-fft": ("circulant_to_fft", "CirculantToFFT"),
    "ernn-calibrate": ("calibrate", "Calibrate"),
    "ernn-quantize": ("quantize", "Quantize"),
    "ernn-schedule": ("schedule", "Schedule"),
}


def _factory(module: str, cls: str) -> Callable[[], type[ModulePass]]:
    def load() -> type[ModulePass]:
        return getattr(importlib.import_module(f"{__name__}.{module}"), cls)

    return load


def ernnc_passes() -> dict[str, Callable[[], type[ModulePass]]]:
    return {name: _factory(m, c) for name, (m, c) in ERNNC_PASSES.items()}


def get_all_passes() -> dict[str, Callable[[], type[ModulePass]]]:
    from xdsl.transforms import get_all_passes as xdsl_passes

    from ..compiler.plugins import plugin_pass_factories

    passes = dict(xdsl_passes())
    passes.update(ernnc_passes())
    passes.update(plugin_pass_factories())  # loaded plugins; names checked not to clash
    return passes
