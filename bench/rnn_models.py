"""Seeded ONNX recurrent models for the benchmarks, built with ``onnx.helper``.

A model is one to several stacked unidirectional LSTM/GRU/RNN nodes with
W, R, B initializers: input ``X`` [T, N, I], outputs ``Y`` [T, 1, N, H] (of
the last layer) and ``Y_h`` [1, N, H]. Layers after the first read the
previous ``Y`` through a Squeeze of its direction axis.
"""

from __future__ import annotations

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

GATES = {"LSTM": 4, "GRU": 3, "RNN": 1}
OPSET = 20


def rnn_model(
    kind: str,
    input_size: int,
    hidden: int,
    *,
    layers: int = 1,
    seq: int | str = "T",
    batch: int | str = "N",
    seed: int = 0,
    linear_before_reset: int = 1,
) -> onnx.ModelProto:
    """A ``layers``-deep ``kind`` network with uniform(-1/sqrt(H), 1/sqrt(H)) weights.

    GRUs use ``linear_before_reset=1`` by default, as PyTorch exports them.
    """
    g = GATES[kind]
    rng = np.random.default_rng(seed)
    bound = 1.0 / np.sqrt(hidden)
    nodes: list[onnx.NodeProto] = []
    inits: list[TensorProto] = []
    x = "X"
    for k in range(layers):
        i = input_size if k == 0 else hidden
        for name, shape in (("W", (1, g * hidden, i)), ("R", (1, g * hidden, hidden))):
            arr = rng.uniform(-bound, bound, shape).astype(np.float32)
            inits.append(numpy_helper.from_array(arr, f"{name}{k}"))
        b = rng.uniform(-bound, bound, (1, 2 * g * hidden)).astype(np.float32)
        inits.append(numpy_helper.from_array(b, f"B{k}"))
        last = k == layers - 1
        y, y_h = ("Y", "Y_h") if last else (f"Y{k}", f"Y_h{k}")
        node = helper.make_node(kind, [x, f"W{k}", f"R{k}", f"B{k}"], [y, y_h], hidden_size=hidden)
        if kind == "GRU":
            node.attribute.append(helper.make_attribute("linear_before_reset", linear_before_reset))
        nodes.append(node)
        if not last:
            x = f"X{k + 1}"
            nodes.append(helper.make_node("Squeeze", [y, "axis1"], [x]))
    if layers > 1:
        inits.append(numpy_helper.from_array(np.array([1], np.int64), "axis1"))
    graph = helper.make_graph(
        nodes,
        f"{kind.lower()}_bench",
        [helper.make_tensor_value_info("X", TensorProto.FLOAT, [seq, batch, input_size])],
        [
            helper.make_tensor_value_info("Y", TensorProto.FLOAT, [seq, 1, batch, hidden]),
            helper.make_tensor_value_info("Y_h", TensorProto.FLOAT, [1, batch, hidden]),
        ],
        inits,
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", OPSET)])
    onnx.checker.check_model(model)
    return model


def param_count(model: onnx.ModelProto) -> int:
    """Number of floating-point weights (W, R, B of all layers)."""
    return sum(
        int(np.prod(t.dims)) for t in model.graph.initializer if t.data_type == TensorProto.FLOAT
    )
