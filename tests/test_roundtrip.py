"""Every stage's printed IR parses back with our dialects and re-prints
identically; an IR dump fed back in gives byte-identical outputs."""

from __future__ import annotations

import warnings

import pytest

from conftest import ZOO
from ernnc.compiler.cli import main
from ernnc.compiler.driver import parse_mlir
from ernnc.compiler.pipeline import STAGES

MODELS = [
    "lstm_l2_bi_packed_unsorted_dyn_op20.onnx",
    "gru_cls_bf_last_logsoftmax_dyn_op11.onnx",
    "rnn_relu_l2_bi_bf_dyn_op20.onnx",
    "lstm_cls_l2_hn_mlp_dyn_op20.onnx",
    "gru_l2_uni_nofold_dyn_op20.onnx",
]


def _conformance_model(name: str):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        from onnx.backend.test.case.node import collect_testcases

        return next(c.model for c in collect_testcases(None) if c.name == name)


@pytest.mark.parametrize("model", MODELS)
def test_every_pass_dump_round_trips(model, tmp_path):
    dumps = tmp_path / "ir"
    assert main([str(ZOO / model), "-o", str(tmp_path / "out"), "--dump-ir", str(dumps)]) == 0
    files = sorted(dumps.glob("*.mlir"))
    assert files[0].name == "00-import.mlir" and len(files) >= 3
    for f in files:
        text = f.read_text()
        module = parse_mlir(text, str(f))
        assert str(module) + "\n" == text, f"{f.name} does not re-print identically"


def test_runtime_weights_round_trip(tmp_path):
    import onnx

    path = tmp_path / "lstm_peepholes.onnx"
    onnx.save(_conformance_model("test_lstm_with_peepholes"), path)
    dumps = tmp_path / "ir"
    assert main([str(path), "-o", str(tmp_path / "out"), "--dump-ir", str(dumps)]) == 0
    for f in sorted(dumps.glob("*.mlir")):
        assert str(parse_mlir(f.read_text(), str(f))) + "\n" == f.read_text()


@pytest.mark.parametrize("stage", list(STAGES))
def test_reentering_each_stage_gives_identical_outputs(stage, tmp_path):
    model = ZOO / "lstm_l2_bi_bf_h0_dyn_op20.onnx"
    assert main([str(model), "-o", str(tmp_path / "direct")]) == 0
    dump = tmp_path / f"{stage}.mlir"
    import contextlib
    import io

    buf = io.StringIO()
    with contextlib.redirect_stdout(buf):
        assert main([str(model), "--emit", stage]) == 0
    dump.write_text(buf.getvalue())
    assert main([str(dump), "--from", stage, "-o", str(tmp_path / "again")]) == 0
    for name in ("model_ref.py", "weights.npz"):
        assert (tmp_path / "direct" / name).read_bytes() == (
            tmp_path / "again" / name
        ).read_bytes(), name
