"""Every stage's printed IR parses back with our dialects and re-prints
identically; an IR dump fed back in gives byte-identical outputs."""

from __future__ import annotations

import contextlib
import io
import warnings
from pathlib import Path

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


def _emit(argv: list[str]) -> str:
    buf = io.StringIO()
    with contextlib.redirect_stdout(buf):
        assert main(argv) == 0
    return buf.getvalue()


REENTRY_MODEL = ZOO / "lstm_l2_bi_bf_h0_dyn_op20.onnx"
FLAGS = {
    "block8": ["--block-size", "8"],
    "fixed16": ["--block-size", "default=8,layer1.R=4", "--precision", "fixed<16,6>"],
}


def _same_outputs(direct: Path, again: Path, past_fft: bool = False) -> None:
    """The generated files are the direct run's, byte for byte. A quantized
    model re-entered past the fft stage has no float companion (the float
    model is the fft IR): its model_ref.py is the direct run's model emitted
    without one."""
    assert (direct / "weights.npz").read_bytes() == (again / "weights.npz").read_bytes()
    if not past_fft:
        for name in ("model_ref.py", "model_float.py", "weights_float.npz"):
            assert (direct / name).exists() == (again / name).exists(), name
            if (direct / name).exists():
                assert (direct / name).read_bytes() == (again / name).read_bytes(), name
        return
    from ernnc.backends.numpy import emit_numpy

    final = _emit([str(direct / "final.mlir"), "--emit", "quantized"])
    alone = emit_numpy(parse_mlir(final, "final.mlir")).source
    assert (again / "model_ref.py").read_text() == alone
    assert not (again / "model_float.py").exists()


def _direct_run(tmp_path: Path, flags: list[str], *extra: str) -> Path:
    direct = tmp_path / "direct"
    assert main([str(REENTRY_MODEL), "-o", str(direct), "-q", *flags, *extra]) == 0
    (direct / "final.mlir").write_text(_emit([str(REENTRY_MODEL), "--emit", "quantized", *flags]))
    return direct


def _stages_listed() -> list[str]:
    """The stages as `ernnc --list-stages` lists them."""
    return [ln.split()[0] for ln in _emit(["--list-stages"]).splitlines() if ln.strip()]


@pytest.mark.parametrize("flags", list(FLAGS))
@pytest.mark.parametrize("stage", _stages_listed())
def test_reentering_each_stage_gives_identical_outputs(stage, flags, tmp_path):
    """--emit STAGE, then re-enter with --from STAGE and with the stage detected:
    the outputs equal the direct run's byte for byte, and the stage re-prints
    the same IR."""
    argv = FLAGS[flags]
    direct = _direct_run(tmp_path, argv)
    past_fft = "--precision" in argv and list(STAGES).index(stage) > list(STAGES).index("fft")
    dump = tmp_path / f"{stage}.mlir"
    dump.write_text(_emit([str(REENTRY_MODEL), "--emit", stage, *argv]))
    for how, extra in (("from", ["--from", stage]), ("detected", [])):
        again = tmp_path / how
        assert main([str(dump), *extra, "-o", str(again), "-q", *argv]) == 0
        _same_outputs(direct, again, past_fft)
    assert _emit([str(dump), "--emit", stage, *argv]) == dump.read_text()


@pytest.mark.parametrize("flags", ["block8", "fixed16"])
def test_every_pass_dump_continues_where_it_was_written(flags, tmp_path):
    """ir/NN-<pass>.mlir continues after pass NN of the default pipeline, so
    every dump re-entered gives the direct run's outputs, and a re-entered
    run dumps the same files under the same names."""
    argv = FLAGS[flags]
    dumps = tmp_path / "ir"
    direct = _direct_run(tmp_path, argv, "--dump-ir", str(dumps))
    files = sorted(dumps.glob("*.mlir"))
    assert [f.name for f in files][:2] == ["00-import.mlir", "01-convert-ernn-to-cell.mlir"]
    quantizing = [f for f in files if "ernn-calibrate" in f.name]
    if quantizing:  # the dumps before fft's last one are block8's, tested there
        files = files[files.index(quantizing[0]) - 1 :]
    for f in files:
        again = tmp_path / "again" / f.stem
        redump = tmp_path / "redump" / f.stem
        assert main([str(f), "-o", str(again), "--dump-ir", str(redump), "-q", *argv]) == 0
        _same_outputs(direct, again, past_fft=bool(quantizing) and f >= quantizing[0])
        for g in redump.glob("*.mlir"):
            assert g.read_text() == (dumps / g.name).read_text(), (f.name, g.name)
        assert {g.name for g in redump.glob("*.mlir")} >= {g.name for g in files if g > f}


def test_emit_of_a_stage_before_the_input_is_an_error(tmp_path, capsys):
    dump = tmp_path / "fft.mlir"
    dump.write_text(_emit([str(REENTRY_MODEL), "--emit", "fft", "--block-size", "4"]))
    assert main([str(dump), "--emit", "cell"]) == 1
    assert "--emit cell: the input is already past that stage" in capsys.readouterr().err


def test_every_stage_is_detectable_from_its_ops():
    from ernnc.compiler.driver import STAGE_OPS

    missing = [s for s in STAGES if s not in STAGE_OPS]
    assert not missing, (
        f"add the ops that first appear at stage(s) {missing} to driver.STAGE_OPS, "
        "so that a dump of the stage re-enters without --from"
    )


@pytest.mark.parametrize("schedule", ["", "overlap=0"])
def test_the_overlap_annotation_round_trips(schedule, tmp_path):
    """ernn-schedule's overlap switch on each cell.scan survives printing and
    parsing, and the HLS project from the re-parsed IR is the direct one's."""
    from ernnc.backends.hls import emit_hls

    argv = [*FLAGS["fixed16"], "--schedule", schedule] if schedule else FLAGS["fixed16"]
    text = _emit([str(REENTRY_MODEL), "--emit", "scheduled", *argv])
    value = 0 if schedule else 1
    assert text.count(f"overlap = {value} : i64") == 4  # two layers, two directions
    module = parse_mlir(text, "scheduled.mlir")
    assert str(module) + "\n" == text
    again = emit_hls(parse_mlir(str(module), "again.mlir")).files
    assert again == emit_hls(module).files
    assert ("ERNNC_PRAGMA(HLS DATAFLOW)" in again["ernnc_top.cpp"]) == (value == 1)
