"""The torch-exported zoo (tests/models/zoo, made by tests/models/make_zoo.py)
against onnxruntime, at the export shape and at other lengths and batches."""

from __future__ import annotations

import numpy as np
import pytest
from conftest import ZOO, max_abs, ort_session, zoo_inputs, zoo_manifest

from ernnc.compiler.api import numpy_model

MODELS = zoo_manifest()


def test_zoo_covers_the_issue():
    kinds = {(m["cell"], m["layers"], m["bidirectional"], m["batch_first"]) for m in MODELS}
    assert len(kinds) == 24  # LSTM/GRU/RNN x 1/2 layers x uni/bi x batch_first
    assert any(m["packed"] for m in MODELS) and any(m["h0_input"] for m in MODELS)
    assert any("relu" in m["file"] for m in MODELS) and any(m["classifier"] for m in MODELS)


@pytest.mark.parametrize("entry", MODELS, ids=[m["file"][:-5] for m in MODELS])
def test_zoo_model_matches_onnxruntime(entry):
    path = ZOO / entry["file"]
    ref = numpy_model(path)
    sess = ort_session(path)
    names = [o.name for o in sess.get_outputs()]
    rng = np.random.RandomState(len(entry["file"]))
    for shape in entry["test_shapes"]:
        feeds = zoo_inputs(entry, shape, rng)
        want = dict(zip(names, sess.run(None, feeds)))
        got = ref.run(feeds)
        assert sorted(got) == sorted(want)
        for name in names:
            err = max_abs(got[name], want[name])
            assert err <= 1e-5, f"{name} at {shape}: max abs error {err}"
