"""Block-circulant projection of torch modules, with ernnc's own routine.

The maths is ``ernnc.circulant.project``/``expand`` — the same functions the
compiler's ``ernn-block-circulant`` pass calls — applied with the pass's
blocking: each gate's H x I (or H x H) matrix on its own. torch stacks the
gates in a different order (LSTM i,f,g,o; GRU r,z,n) than ONNX (i,o,f,c;
z,r,h), but each gate is one contiguous H-row chunk in both, and blocking
per gate makes the order irrelevant: a projected torch module exports to
weights that the pass finds exactly block-circulant.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np
import torch
from torch import nn

from ..circulant import Blocking, expand, project

# gates stacked in each torch recurrent module's weight matrices
GATES: dict[type[nn.RNNBase], int] = {nn.LSTM: 4, nn.GRU: 3, nn.RNN: 1}


def gate_count(mod: nn.RNNBase) -> int:
    for cls, gates in GATES.items():
        if isinstance(mod, cls):
            return gates
    raise ValueError(f"unsupported recurrent module {type(mod).__name__}")


@dataclass(frozen=True)
class Target:
    """One weight matrix to keep block-circulant."""

    name: str  # qualified parameter name, e.g. "rnn.weight_hh_l0"
    param: nn.Parameter
    blocking: Blocking


def _rnn_targets(prefix: str, mod: nn.RNNBase, b: int) -> Iterator[Target]:
    if getattr(mod, "proj_size", 0):
        raise ValueError(f"{prefix or 'module'}: LSTM proj_size has no ONNX equivalent")
    gates = gate_count(mod)
    for pname, p in mod.named_parameters(recurse=False):
        if pname.startswith(("weight_ih", "weight_hh")):
            rows, cols = p.shape
            yield Target(f"{prefix}{pname}", p, Blocking(gates, rows // gates, cols, b))


def circulant_targets(module: nn.Module, block_size: int, *, linear: bool = False) -> list[Target]:
    """The weight matrices of every LSTM/GRU/RNN in ``module`` (and of every
    Linear if ``linear``; a bare Linear always counts), blocked as the
    compiler blocks them. Biases stay dense, as in the compiler.

    ernnc compresses only recurrent matrices today; a Linear projected here
    is structured but still compiled as a dense Gemm.
    """
    if block_size < 1:
        raise ValueError(f"block size {block_size} must be at least 1")
    if block_size == 1:
        return []  # dense, as ``--block-size 1``
    out: list[Target] = []
    for name, mod in module.named_modules():
        prefix = f"{name}." if name else ""
        if isinstance(mod, nn.RNNBase):
            out.extend(_rnn_targets(prefix, mod, block_size))
        elif isinstance(mod, nn.Linear) and (linear or mod is module):
            out.append(
                Target(f"{prefix}weight", mod.weight, Blocking(1, *mod.weight.shape, block_size))
            )
    return out


def project_array(w: np.ndarray, bl: Blocking) -> np.ndarray:
    """The Frobenius-nearest block-circulant matrix, dense, in w's dtype."""
    return expand(project(w, bl), bl)


def project_tensor(w: torch.Tensor, bl: Blocking) -> torch.Tensor:
    """``project_array`` on a tensor (no gradient), same dtype and device."""
    dense = project_array(w.detach().cpu().numpy(), bl)
    return torch.from_numpy(dense).to(device=w.device, dtype=w.dtype)


@torch.no_grad()
def project_targets(targets: list[Target]) -> None:
    for t in targets:
        t.param.copy_(project_tensor(t.param, t.blocking))


def block_circulant_project(
    module: nn.Module, block_size: int, *, linear: bool = False
) -> list[Target]:
    """Replace, in place, each recurrent weight matrix of ``module`` (and each
    Linear weight if ``linear``) by its nearest block-circulant matrix.
    Returns the projected targets."""
    targets = circulant_targets(module, block_size, linear=linear)
    project_targets(targets)
    return targets


def generators(
    module: nn.Module, block_size: int, *, linear: bool = False
) -> dict[str, np.ndarray]:
    """Generators [gates*P, Q, b] of each target, in torch's gate order."""
    return {
        t.name: project(t.param.detach().cpu().numpy(), t.blocking)
        for t in circulant_targets(module, block_size, linear=linear)
    }


def is_block_circulant(module: nn.Module, block_size: int, *, linear: bool = False) -> bool:
    """Whether every target equals its projection exactly."""
    return all(
        np.array_equal(project_array(w := t.param.detach().cpu().numpy(), t.blocking), w)
        for t in circulant_targets(module, block_size, linear=linear)
    )
