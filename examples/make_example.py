"""Export the example model shipped with ernnc: a small speech-style LSTM
classifier (2 stacked LSTM layers, a linear head, softmax over 10 classes).

    pip install torch==2.13.0 onnx      # CPU wheel
    python examples/make_example.py     # writes examples/lstm_classifier.onnx
                                        # and an input, examples/lstm_classifier_input.npz

The weights are random (seeded): the example shows the compiler, not a task.
Sequence length and batch are symbolic, so the model runs at any T and N.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
from torch import nn


class LSTMClassifier(nn.Module):
    def __init__(self, features: int = 16, hidden: int = 64, classes: int = 10):
        super().__init__()
        self.rnn = nn.LSTM(features, hidden, num_layers=2)
        self.head = nn.Linear(hidden, classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y, _ = self.rnn(x)  # [T, N, hidden]
        return torch.softmax(self.head(y[-1]), dim=-1)


def main() -> None:
    torch.manual_seed(0)
    model = LSTMClassifier().eval()
    x = torch.randn(20, 2, 16)
    out = Path(__file__).with_name("lstm_classifier.onnx")
    torch.onnx.export(
        model,
        (x,),
        str(out),
        dynamo=False,
        input_names=["features"],
        output_names=["probabilities"],
        dynamic_axes={"features": {0: "T", 1: "N"}, "probabilities": {0: "N"}},
        opset_version=17,
    )
    print(f"wrote {out}")
    features = np.random.RandomState(7).randn(50, 2, 16).astype(np.float32)  # T=50, N=2
    np.savez(out.with_name("lstm_classifier_input.npz"), features=features)


if __name__ == "__main__":
    main()
