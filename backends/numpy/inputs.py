"""Inputs for running a module: its signature, random inputs, and inputs
read from an .npz file (calibration data)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from xdsl.dialects.builtin import ModuleOp

from .emitter import ModelPrinter


def input_signature(module: ModuleOp) -> list[tuple[str, np.dtype, list[int | str]]]:
    """(ONNX name, dtype, dims) of each input; symbolic dims are names."""
    specs = ModelPrinter(module).input_specs()
    return [
        (name, np.dtype(dtype[3:].replace("bool_", "bool")), dims) for name, dtype, dims in specs
    ]


def random_inputs(
    module: ModuleOp, samples: int = 4, steps: int = 16, seed: int = 0
) -> dict[str, np.ndarray]:
    """Standard-normal inputs. A symbolic dim is ``steps`` on the leading axis
    of a 3-D input (the sequence), ``samples`` elsewhere; integer inputs
    (sequence lengths) are uniform in [1, steps]."""
    rng = np.random.default_rng(seed)
    sizes: dict[str, int] = {}
    sig = input_signature(module)
    for _, _, dims in sig:
        for i, d in enumerate(dims):
            if isinstance(d, str) and d not in sizes:
                sizes[d] = steps if (len(dims) == 3 and i == 0) else samples
    out: dict[str, np.ndarray] = {}
    for name, dtype, dims in sig:
        shape = [sizes[d] if isinstance(d, str) else d for d in dims]
        if dtype.kind in "iu":
            out[name] = rng.integers(1, steps + 1, size=shape).astype(dtype)
        else:
            out[name] = rng.standard_normal(shape).astype(dtype)
    return out


def load_inputs(path: str | Path, module: ModuleOp) -> dict[str, np.ndarray]:
    """Inputs from an .npz keyed by the model's input names (ValueError if not)."""
    try:
        with np.load(path) as f:
            data = {k: f[k] for k in f.files}
    except FileNotFoundError:
        raise ValueError(f"{path}: no such file") from None
    except Exception as e:  # noqa: BLE001 - np.load raises several kinds on bad files
        raise ValueError(f"{path}: not a readable .npz ({type(e).__name__})") from None
    names = [n for n, _, _ in input_signature(module)]
    if sorted(data) != sorted(names):
        raise ValueError(f"{path}: keys {sorted(data)} do not match the model inputs {names}")
    return data
