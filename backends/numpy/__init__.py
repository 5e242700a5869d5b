"""NumPy backend: the IR as a standalone Python model (numpy only)."""

from __future__ import annotations

import types
from collections.abc import Mapping

import numpy as np
from xdsl.dialects.builtin import ModuleOp
from xdsl.ir import SSAValue

from .emitter import Emitted, UnsupportedOpError, emit_numpy, observed_values


def load_emitted(emitted: Emitted, name: str = "ernnc_model_ref") -> types.ModuleType:
    """Execute generated code in a fresh module, with its weights in memory."""
    mod = types.ModuleType(name)
    mod.__dict__["__file__"] = f"<{name}>"
    exec(compile(emitted.source, f"<{name}>", "exec"), mod.__dict__)  # noqa: S102
    mod.__dict__["_cache"]["w"] = emitted.weights
    return mod


def run_module(module: ModuleOp, inputs: Mapping[str, np.ndarray]) -> dict[str, np.ndarray]:
    """Run a module at the cell level or below on NumPy inputs.

    This is how passes are checked numerically: the IR before and after a
    pass must compute the same outputs.
    """
    return load_emitted(emit_numpy(module)).run(dict(inputs))


def observe_ranges(
    module: ModuleOp, inputs: Mapping[str, np.ndarray]
) -> dict[SSAValue, tuple[float, float]]:
    """Run a float module and record the [min, max] of each value that
    quantization casts (calibration)."""
    ref = load_emitted(emit_numpy(module, observe=True))
    ref.run(dict(inputs))
    values = observed_values(module)
    return {values[k]: r for k, r in ref._ranges.items()}


__all__ = [
    "Emitted",
    "UnsupportedOpError",
    "emit_numpy",
    "load_emitted",
    "observe_ranges",
    "run_module",
]
