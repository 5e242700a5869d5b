"""Inputs for running a module: its signature, random inputs, and inputs
read from an .npz file (calibration data)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from xdsl.dialects.builtin import ModuleOp

from .emitter import ModelPrinter


def input_signature(module: ModuleOp) -> Signature:
    """(ONNX name, dtype, dims) of each input; symbolic dims are names."""
    specs = ModelPrinter(module).input_specs()
    return [
        (name, np.dtype(dtype[3:].replace("bool_", "bool")), dims) for name, dtype, dims in specs
    ]


Signature = list[tuple[str, np.dtype, list[int | str]]]


def random_inputs(
    module: ModuleOp, samples: int = 4, steps: int = 16, seed: int = 0
) -> dict[str, np.ndarray]:
    from ...dialects.signature import sequence_axes

    return random_inputs_for(input_signature(module), samples, steps, seed, sequence_axes(module))


def random_inputs_for(
    sig: Signature,
    samples: int = 4,
    steps: int = 16,
    seed: int = 0,
    axes: dict[str, tuple[int, int]] | None = None,
) -> dict[str, np.ndarray]:
    """Standard-normal inputs for a signature of (name, dtype, dims); ``axes``
    gives an input's (time, batch) axes where the model says (see
    ``signature.sequence_axes``), otherwise they are guessed as follows. The sequence axis of a 3-D input (its first
    symbolic dim that is not the batch of an integer input) is ``steps``
    long, other symbolic dims ``samples``; integer inputs (sequence lengths)
    are uniform in [1, the sequence's length]."""
    rng = np.random.default_rng(seed)
    batch = {d for _, dtype, dims in sig if dtype.kind in "iu" for d in dims if isinstance(d, str)}
    sizes: dict[str, int] = {}
    longest = steps
    for name, (time, _) in (axes or {}).items():
        dims = next(d for n, _, d in sig if n == name)
        if isinstance(dims[time], str):
            sizes.setdefault(dims[time], steps)
        else:
            longest = dims[time]
    for _, dtype, dims in sig:
        if axes:
            break
        if len(dims) == 3 and dtype.kind == "f":
            seq = next((d for d in dims if isinstance(d, str) and d not in batch), None)
            if seq is not None:
                sizes.setdefault(seq, steps)
            else:  # a static sequence axis (the shorter of two static ones is safe)
                static = [d for d in dims[:2] if not isinstance(d, str)]
                longest = min(static) if static else steps
    for _, _, dims in sig:
        for d in dims:
            if isinstance(d, str):
                sizes.setdefault(d, samples)
    out: dict[str, np.ndarray] = {}
    for name, dtype, dims in sig:
        shape = [sizes[d] if isinstance(d, str) else d for d in dims]
        if dtype.kind in "iu":
            out[name] = rng.integers(1, longest + 1, size=shape).astype(dtype)
        else:
            out[name] = rng.standard_normal(shape).astype(dtype)
    return out


def load_inputs(path: str | Path, module: ModuleOp) -> dict[str, np.ndarray]:
    """Inputs from an .npz keyed by the model's input names (ValueError if not)."""
    return load_inputs_for(path, [n for n, _, _ in input_signature(module)])


def load_inputs_for(path: str | Path, names: list[str]) -> dict[str, np.ndarray]:
    """Inputs from an .npz whose keys must be ``names`` (ValueError if not)."""
    try:
        with np.load(path) as f:
            data = {k: f[k] for k in f.files}
    except FileNotFoundError:
        raise ValueError(f"{path}: no such file") from None
    except Exception as e:  # noqa: BLE001 - np.load raises several kinds on bad files
        raise ValueError(f"{path}: not a readable .npz ({type(e).__name__})") from None
    if sorted(data) != sorted(names):
        raise ValueError(f"{path}: keys {sorted(data)} do not match the model inputs {names}")
    return data
