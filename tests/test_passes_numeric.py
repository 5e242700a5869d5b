"""Each pass is checked numerically: the NumPy model of the IR before and
after it computes the same outputs."""

from __future__ import annotations

import numpy as np
import pytest
from conftest import ZOO, max_abs, zoo_inputs, zoo_manifest

from ernnc.compiler.api import import_model, numpy_model, run_passes

MODELS = {m["file"]: m for m in zoo_manifest()}
CASES = [
    "lstm_l2_bi_dyn_op20.onnx",
    "gru_l1_bi_packed_sorted_dyn_op20.onnx",
    "rnn_relu_l1_bi_dyn_op20.onnx",
    "lstm_cls_l2_hn_mlp_dyn_op20.onnx",
]
PIPELINE = ["convert-ernn-to-cell", "ernn-fuse-gates", "canonicalize", "cse", "dce"]


@pytest.mark.parametrize("model", CASES)
def test_every_pass_preserves_outputs(model):
    entry = MODELS[model]
    feeds = zoo_inputs(entry, {"T": 6, "N": 3}, np.random.RandomState(3))
    module = import_model(ZOO / model)
    run_passes(module, PIPELINE[0])
    before = numpy_model(module).run(feeds)
    for name in PIPELINE[1:]:
        run_passes(module, name)
        after = numpy_model(module).run(feeds)
        for k in before:
            assert max_abs(after[k], before[k]) <= 1e-6, f"{name} changed {k}"
        before = after
