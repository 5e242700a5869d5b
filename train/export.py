"""ONNX export that ernnc reads: torch's legacy (TorchScript) exporter.

The dynamo exporter needs onnxscript and unrolls ``nn.RNN``; the legacy one
emits one ONNX LSTM/GRU/RNN node per layer, with the weights copied
unchanged, so block-circulant weights stay exactly block-circulant.
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping, Sequence
from pathlib import Path

import torch
from torch import nn


def export_onnx(
    module: nn.Module,
    example: torch.Tensor | tuple[torch.Tensor, ...],
    path: str | Path,
    *,
    input_names: Sequence[str],
    output_names: Sequence[str],
    dynamic_axes: Mapping[str, Mapping[int, str]] | None = None,
    opset: int = 17,
) -> Path:
    args = example if isinstance(example, tuple) else (example,)
    was_training = module.training
    module.eval()
    try:
        with warnings.catch_warnings():
            # the legacy exporter warns about RNNs with batch_first and about its own deprecation
            warnings.simplefilter("ignore")
            torch.onnx.export(
                module,
                args,
                str(path),
                dynamo=False,
                input_names=list(input_names),
                output_names=list(output_names),
                dynamic_axes={k: dict(v) for k, v in (dynamic_axes or {}).items()},
                opset_version=opset,
            )
    finally:
        module.train(was_training)
    return Path(path)
