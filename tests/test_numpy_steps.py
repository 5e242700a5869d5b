"""The float step loop of the NumPy backend: the rewrites for fewer NumPy calls
(backends/numpy/gates.py) and the in-place buffers change no bit of the
outputs, and the loops are as short as intended."""

from __future__ import annotations

import numpy as np
import pytest
from conftest import ZOO, zoo_inputs, zoo_manifest
from ernnc.backends.numpy import emit_numpy, load_emitted
from ernnc.backends.numpy.gates import prepare_float
from ernnc.compiler.api import compile_module
from ernnc.compiler.pipeline import PipelineOptions
from test_onnx_semantics import build, make_data


def rnn(kind, hidden=8, seed=0):
    return build(kind, make_data(kind, I=hidden, H=hidden, seed=seed))


def outputs(emitted, feeds):
    return load_emitted(emitted).run(feeds)


def assert_identical(module, feeds, exact=True):
    """The IR rewrites change no bit (``exact``; the FFT form's reassociated
    sums round differently); printed with transposed steps, the results
    differ at most by BLAS's summation order."""
    plain = outputs(emit_numpy(module, optimize=False), feeds)
    rewritten = outputs(emit_numpy(prepare_float(module), optimize=False), feeds)
    fast = outputs(emit_numpy(module), feeds)
    assert sorted(rewritten) == sorted(fast) == sorted(plain)
    for name, want in plain.items():
        assert rewritten[name].dtype == fast[name].dtype == want.dtype
        if exact:
            assert np.array_equal(rewritten[name], want), name
        np.testing.assert_allclose(rewritten[name], want, rtol=1e-6, atol=1e-6, err_msg=name)
        np.testing.assert_allclose(fast[name], want, rtol=1e-6, atol=1e-6, err_msg=name)


ZOO_SUBSET = [m for m in zoo_manifest() if m["cell"] != "RNN" or "relu" in m["file"]][::3]


@pytest.mark.parametrize("entry", ZOO_SUBSET, ids=[m["file"][:-5] for m in ZOO_SUBSET])
def test_zoo_outputs_bit_identical(entry):
    module = compile_module(ZOO / entry["file"])
    feeds = zoo_inputs(entry, entry["test_shapes"][-1], np.random.RandomState(3))
    assert_identical(module, feeds)


@pytest.mark.parametrize("stage,block", [("cell", "1"), ("circulant", "4"), ("fft", "4")])
@pytest.mark.parametrize("kind", ["LSTM", "GRU", "RNN"])
def test_forms_bit_identical(kind, stage, block):
    a = make_data(kind, direction="bidirectional", I=12, H=10, seed=5)
    model, feeds = build(kind, a, direction="bidirectional")
    module = compile_module(model, stage, PipelineOptions(block_size=block))
    assert_identical(module, feeds, exact=stage != "fft")


@pytest.mark.parametrize(
    "op,attrs,extra",
    [
        ("LSTM", {}, {"P": True}),
        ("LSTM", {"clip": 0.7}, {}),
        ("LSTM", {"input_forget": 1}, {"P": True}),
        ("GRU", {"linear_before_reset": 0}, {}),
        (
            "GRU",
            {"activations": ["HardSigmoid", "Softsign"] * 2, "activation_alpha": [0.3] * 2},
            {},
        ),
        ("LSTM", {"activations": ["Sigmoid", "Relu", "Tanh", "Sigmoid", "Tanh", "Elu"]}, {}),
    ],
)
def test_onnx_variants_bit_identical(op, attrs, extra):
    a = make_data(op, direction="bidirectional", seq=[4, 2, 3], h0=True, c0=op == "LSTM", **extra)
    model, feeds = build(op, a, direction="bidirectional", attrs=attrs)
    assert_identical(compile_module(model), feeds)


def loop_body(source: str) -> list[str]:
    """The statements of the first step loop of the first scan function."""
    lines = source[source.index("\ndef _scan") :].splitlines()
    start = next(k for k, s in enumerate(lines) if s.strip().startswith("for t in"))
    indent = len(lines[start + 1]) - len(lines[start + 1].lstrip())
    body = []
    for s in lines[start + 1 :]:
        if len(s) - len(s.lstrip()) < indent:
            break
        body.append(s.strip())
    return body


@pytest.mark.parametrize("kind,calls", [("LSTM", 10), ("GRU", 12), ("RNN", 3)])
def test_step_loop_length(kind, calls):
    """A dense step: the matvec, one tanh over all gates, one affine over the
    sigmoid gates, the cell update, the output computed in y[t]."""
    model, _ = rnn(kind)
    body = loop_body(emit_numpy(compile_module(model)).source)
    numpy_calls = [s for s in body if s.startswith("np.") or any(f" {o}= " in s for o in "+-*/")]
    assert len(numpy_calls) == calls, "\n".join(body)
    assert not any("0.5" in s for s in body)  # constants are bound before the loop
    assert body[0].endswith(" = y[t].T")  # the output is computed in y[t], transposed
    if kind != "RNN":  # one tanh over the gates, one of the cell state or candidate
        assert sum(s.startswith("np.tanh(") for s in body) == 2
    if kind == "LSTM":  # the gates' tanh is over the whole matvec output
        gates = body[1].split("out=")[1].rstrip(")")
        assert f"np.tanh({gates}, out={gates})" in body


def test_sigmoid_read_elsewhere_is_kept():
    """A sigmoid's pre-activation that the step also yields cannot be scaled;
    the other sigmoid still becomes an affine of a tanh."""
    model, feeds = rnn("LSTM", 6)
    module = compile_module(model)
    scan = next(op for op in module.walk() if op.name == "cell.scan")
    act = next(op for op in scan.block.ops if op.name == "nn.act" and op.fn.data == "Sigmoid")
    scan.block.last_op.operands[0] = act.input  # the step yields i's pre-activation, not h
    module.verify()
    acts = [op.fn.data for op in prepare_float(module).walk() if op.name == "nn.act"]
    assert acts.count("Sigmoid") == 1 and acts.count("Affine") == 1
    assert_identical(module, feeds)


def test_fft_step_loop_length():
    """An FFT-form LSTM step: the FFT of h, the MAC (written straight into the
    inverse transform's input), the inverse transform, the add of the hoisted
    input part (its own inverse transform and the bias), then the cell."""
    model, _ = rnn("LSTM", 16)
    module = compile_module(model, "fft", PipelineOptions(block_size="4"))
    body = loop_body(emit_numpy(module).source)
    numpy_calls = [s for s in body if s.startswith("np.") or any(f" {o}= " in s for o in "+-*/")]
    assert len(numpy_calls) == 12, "\n".join(body)
    assert not any("copyto" in s for s in body)
