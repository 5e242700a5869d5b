"""ONNX's own conformance cases for LSTM, GRU and RNN, at their tolerances."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

from ernnc.compiler.api import numpy_model


def _cases():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        from onnx.backend.test.case.node import collect_testcases

        return [
            c for c in collect_testcases(None) if any(k in c.name for k in ("lstm", "gru", "rnn"))
        ]


CASES = _cases()


def test_all_recurrent_cases_are_collected():
    assert len(CASES) >= 18
    assert {c.model.graph.node[0].op_type for c in CASES} == {"LSTM", "GRU", "RNN"}


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_conformance_case(case):
    ref = numpy_model(case.model)
    for inputs, outputs in case.data_sets:
        feeds = {i.name: v for i, v in zip(case.model.graph.input, inputs)}
        got = ref.run(feeds)
        for out, want in zip(case.model.graph.output, outputs):
            np.testing.assert_allclose(got[out.name], want, rtol=case.rtol, atol=case.atol)
