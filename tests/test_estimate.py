"""The schedule and the estimator: hand-computed small cases, the monotonic
properties, the device database, the fit messages, the Google-LSTM-sized
check, and that C simulation does not depend on the schedule."""

from __future__ import annotations

import json
import sys

import numpy as np
import pytest
from conftest import REPO, ZOO
from onnx import TensorProto, helper, numpy_helper

from ernnc.compiler.ap_headers import ap_include_or_skip_reason
from ernnc.compiler.api import compile_module, run_passes
from ernnc.compiler.cli import main
from ernnc.compiler.pipeline import PipelineOptions
from ernnc.dialects import circ
from ernnc.hardware import cost
from ernnc.hardware.devices import RESOURCES, device, devices
from ernnc.hardware.estimate import estimate
from ernnc.hardware.schedule import knob, set_knobs, target_of
from ernnc.hardware.stages import overlapped, stages

sys.path.insert(0, str(REPO / "bench"))
from rnn_models import rnn_model

KU060 = device("ku060")
FIXED16 = {"precision": "fixed<16,6>", "activations": "pwl:16"}


def rnn8(block: str = "8") -> object:
    """One RNN layer, input 8, hidden 8: at b = 8 one block per matrix."""
    return compile_module(rnn8_model(), "quantized", PipelineOptions(block_size=block, **FIXED16))


def rnn8_model() -> object:
    rng = np.random.default_rng(0)
    w, r = (rng.standard_normal((1, 8, 8)).astype(np.float32) * 0.3 for _ in range(2))
    node = helper.make_node("RNN", ["X", "W", "R"], ["", "Y_h"], hidden_size=8)
    graph = helper.make_graph(
        [node],
        "g",
        [helper.make_tensor_value_info("X", TensorProto.FLOAT, ["T", "N", 8])],
        [helper.make_tensor_value_info("Y_h", TensorProto.FLOAT, [1, "N", 8])],
        [numpy_helper.from_array(w, "W"), numpy_helper.from_array(r, "R")],
    )
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])


# -- primitives ------------------------------------------------------------------


def test_float_macs_take_the_initiation_interval_the_schedule_records():
    model = rnn8_model()
    module = compile_module(model, "scheduled", PipelineOptions(block_size="8"))
    macs = [o for o in module.walk() if isinstance(o, circ.MacOp)]
    # a float add takes 5 cycles; the MAC's 5 bins are independent sums: II 1
    assert macs and all(knob(o, "ii", 0) == 1 for o in macs)
    module = compile_module(model, "scheduled", PipelineOptions(block_size="2"))
    macs = [o for o in module.walk() if isinstance(o, circ.MacOp)]
    assert macs and all(knob(o, "ii", 0) == 3 for o in macs)  # 2 bins: ceil(5 / 2)
    cycles = estimate(module, KU060, 200.0).cycles_per_step
    for o in macs:
        set_knobs(o, ii=1)
    assert estimate(module, KU060, 200.0).cycles_per_step < cycles  # the estimate reads it


def test_dsp_per_multiply_tiles_the_slice_ports():
    assert cost.dsp_per_multiply(16, 16) == 1  # fits 27 x 18
    assert cost.dsp_per_multiply(27, 18) == 1
    assert cost.dsp_per_multiply(18, 27) == 1  # either way round
    assert cost.dsp_per_multiply(28, 18) == 2  # A port overflows
    assert cost.dsp_per_multiply(32, 32) == 4  # 2 x 2 tiles
    assert cost.dsp_per_multiply(26, 18, "7series") == 2  # DSP48E1: 25 x 18
    assert cost.dsp_per_multiply(8, 8) == 0.5  # two INT8 multiplies share a slice


def test_memory_picks_the_best_bram_shape_or_lutram():
    assert cost.memory(16, 1024) == (0.5, 0)  # one 18 Kb half: 1024 x 18
    assert cost.memory(16, 2048) == (1.0, 0)  # 2048 x 18
    assert cost.memory(72, 512) == (1.0, 0)  # 512 x 72
    assert cost.memory(16, 100) == (0.0, 25)  # 1,600 bits: LUTRAM, 64 bits a LUT
    assert cost.banked_memory(16, 4096, 4) == (2.0, 0)  # 4 banks of 1024 x 16
    assert cost.storage_bits(12) == 16 and cost.storage_bits(17) == 32


# -- one block, one gate, by hand ------------------------------------------------------


def test_one_block_rnn_by_hand():
    module = rnn8()
    est = estimate(module, KU060, 200.0)
    by = {c.what: c for c in est.costs if c.where == "layer0.fwd"}
    # rfft of 8 inputs, b = 8: one block a cycle, 3 stages of 2 cycles, loop depth 4;
    # stage 3 (m = 8) has the two nontrivial twiddles (j = 1, 3): 8 multiplies of
    # the stage-2 data (16 + 1 + 2 = 19 bits) by 18-bit twiddles, one DSP each
    rfft = by["circ.rfft b=8"]
    assert (rfft.cycles, rfft.dsp) == (1 + 6 + 4, 8)
    # the MAC: 1 output block x 1 input block x 5 bins, II 1, depth 4; 4 real
    # multiplies of 16-bit weights by 20-bit spectra (16 + log2(8) + 1): one DSP each
    mac = by["circ.mac layer0.fwd.W"]
    assert (mac.cycles, mac.dsp) == (1 * 1 * 5 + 4, 4)
    # the irfft: the same network on 1 output block
    assert by["circ.irfft b=8"].cycles == 1 + 6 + 4
    # weights: 1 x 1 x 5 x 2 raw shorts = 160 bits, in LUTRAM
    weights = next(c for c in est.costs if c.what == "weights layer0.fwd.W")
    assert (weights.bram36, weights.lut) == (0, 3)
    # a time step: everything inside the scan adds up
    step = sum(c.cycles for c in est.costs if c.where == "layer0.fwd")
    assert step == est.cycles_per_step - sum(c.cycles for c in est.costs if c.where == "top")
    assert est.fps == pytest.approx(200e6 / est.cycles_per_step)


def test_dense_ops_are_counted_as_the_papers_count_them():
    est = estimate(rnn8(), KU060, 200.0)
    # two 8 x 8 matvecs (2 ops a multiply-add) and the element-wise ops on 8 values
    assert est.dense_ops_per_step >= 2 * 2 * 8 * 8
    assert est.gops == pytest.approx(est.dense_ops_per_step * est.fps / 1e9)


# -- monotonic where it must be ------------------------------------------------------


def test_more_parallelism_never_means_fewer_dsps():
    module = compile_module(
        rnn_model("LSTM", 64, 64), "quantized", PipelineOptions(block_size="8", **FIXED16)
    )
    mac = next(op for op in module.walk() if isinstance(op, circ.MacOp))
    last_dsp, last_cycles = 0.0, None
    for p in (1, 2, 4, 8, 16, 32):
        set_knobs(mac, parallel=p)
        est = estimate(module, KU060, 200.0)
        assert est.used("dsp") >= last_dsp
        cycles = next(c.cycles for c in est.costs if c.what == "circ.mac layer0.fwd.W")
        assert last_cycles is None or cycles <= last_cycles
        last_dsp, last_cycles = est.used("dsp"), cycles


@pytest.mark.parametrize("hidden", [64, 256])
def test_larger_blocks_never_mean_more_weight_storage(hidden):
    model = rnn_model("LSTM", hidden, hidden)
    last = float("inf")
    for b in (1, 2, 4, 8, 16, 32):
        module = compile_module(model, "quantized", PipelineOptions(block_size=str(b), **FIXED16))
        est = estimate(module, KU060, 200.0)
        weights = sum(c.bram36 + c.lut / 1000 for c in est.costs if c.what.startswith("weights"))
        assert weights <= last, f"b={b}"
        last = weights


# -- the schedule ---------------------------------------------------------------------


def test_schedule_fills_the_budget_and_annotates():
    module = compile_module(
        rnn_model("LSTM", 256, 256),
        "scheduled",
        PipelineOptions(block_size="16", precision="auto:16", activations="pwl:64"),
    )
    target = target_of(module)
    assert target is not None and (target.device, target.clock_mhz) == ("ku060", 200.0)
    est = estimate(module, KU060, 200.0)
    util = est.utilization()
    assert all(util[r] <= 0.8 for r in RESOURCES)
    assert max(util.values()) > 0.4  # it used the device
    macs = [op for op in module.walk() if isinstance(op, circ.MacOp)]
    assert all(knob(op, "parallel") > 1 for op in macs)
    # the weights are banked as their MAC reads them
    for op in macs:
        assert knob(op.lhs.owner, "partition") == knob(op, "parallel")  # type: ignore[arg-type]


def test_schedule_overrides_are_kept():
    module = compile_module(
        rnn_model("GRU", 64, 64),
        "scheduled",
        PipelineOptions(block_size="8", schedule="parallel=2,layer0.fwd.lanes=4", **FIXED16),
    )
    assert {knob(op, "parallel") for op in module.walk() if isinstance(op, circ.MacOp)} == {2}
    assert knob(next(op for op in module.walk() if op.name == "cell.scan"), "lanes") == 4


def test_bad_schedule_options_are_one_line(tmp_path, capsys):
    example = REPO / "examples" / "lstm_classifier.onnx"
    cases = [
        (["--schedule", "speed=3"], "schedule override 'speed=3'"),
        (["--schedule", "layer7.lanes=2"], "no such knob"),
        (["--device", "xc9000"], "unknown device 'xc9000'; known: "),
        (["--max-util", "1.5"], "--max-util 1.5"),
    ]
    for args, words in cases:
        assert main([str(example), "-o", str(tmp_path / "o"), *args, "-q"]) == 1
        err = capsys.readouterr().err
        assert err.count("\n") == 1 and words in err, err
        assert not (tmp_path / "o").exists()


def test_a_design_that_does_not_fit_says_what_and_what_would(tmp_path, capsys):
    model = tmp_path / "big.onnx"
    import onnx

    onnx.save(rnn_model("LSTM", 512, 512), model)
    # a dense 16-bit LSTM of 512 cells: 4 x 512 x 1024 weights, far beyond a Z-7020's BRAM
    args = [str(model), "-o", str(tmp_path / "o"), "--device", "z7020", "--precision", "auto:16"]
    args += ["--max-dims", "T=16"]  # short sequences: the buffers leave room for weights
    assert main([*args, "-q"]) == 0  # the design is still written, with a warning
    err = capsys.readouterr().err
    assert "does not fit the Zynq-7000 Z-7020" in err and "bram36" in err
    assert "--block-size 16 would bring the weights within it" in err
    report = json.loads((tmp_path / "o" / "report.json").read_text())
    assert report["hardware"]["fits"] is False and "does_not_fit" in report["hardware"]
    # asked to fit, the pass fails with the same message
    module = compile_module(
        model, "quantized", PipelineOptions(precision="auto:16", activations="pwl:64")
    )
    with pytest.raises(Exception, match="does not fit the Zynq-7000 Z-7020"):
        run_passes(module, 'ernn-schedule{device="z7020" require-fit=true}')


# -- the device database and the report ------------------------------------------------


def test_device_database():
    db = devices()
    assert {"ku060", "vx690t", "zu7ev", "u250"} <= set(db)
    assert (db["ku060"].dsp, db["ku060"].bram36, db["ku060"].lut) == (2760, 1080, 331680)
    assert (db["vx690t"].dsp, db["vx690t"].bram36) == (3600, 1470)
    assert (db["zu7ev"].dsp, db["zu7ev"].uram) == (1728, 96)
    assert (db["u250"].dsp, db["u250"].uram) == (12288, 1280)
    assert all(d.source and d.part for d in db.values())


def test_report_has_the_hardware_section(tmp_path, capsys):
    out = tmp_path / "o"
    example = REPO / "examples" / "lstm_classifier.onnx"
    assert main([str(example), "-o", str(out), "--block-size", "8", "--device", "zu7ev"]) == 0
    printed = capsys.readouterr().out
    assert "hardware estimate, zu7ev at 200 MHz" in printed and "frames/s" in printed
    hw = json.loads((out / "report.json").read_text())["hardware"]
    assert hw["device"] == "zu7ev" and hw["part"] == device("zu7ev").part
    assert set(hw["resources"]) == set(RESOURCES)
    assert hw["frames_per_second"] == pytest.approx(200e6 / hw["cycles_per_step"], rel=1e-3)
    assert "estimates" in hw["note"] and hw["assumptions"]
    assert "set_part {" + device("zu7ev").part + "}" in (out / "hls" / "build.tcl").read_text()
    # both layers overlap their input stage: their loops say which stage they run in
    stages_of = {(loop["where"], loop.get("stage")) for loop in hw["loops"]}
    for layer in ("layer0.fwd", "layer1.fwd"):
        assert {(layer, "input"), (layer, "recurrent")} <= stages_of
    assert ("top", None) in stages_of


def test_list_devices(capsys):
    assert main(["--list-devices"]) == 0
    out = capsys.readouterr().out
    assert "ku060" in out and "2,760" in out and "xcku060-ffva1156-2-e" in out


# -- the Google LSTM -------------------------------------------------------------------


@pytest.mark.parametrize("block", [8, 16])
def test_google_lstm_sized_model_fits_the_ku060(block):
    """The nearest ONNX LSTM to the ESE/C-LSTM Google LSTM (153 inputs, 1024
    cells; ONNX has no recurrent projection), 16-bit, KU060 at 200 MHz."""
    module = compile_module(
        rnn_model("LSTM", 153, 1024),
        "scheduled",
        PipelineOptions(block_size=str(block), precision="auto:16", activations="pwl:64"),
    )
    est = estimate(module, KU060, 200.0)
    assert est.fits and est.used("dsp") <= KU060.dsp
    # dense-equivalent work: 4 x 1024 x (153 + 1024) multiply-adds a step, at least
    assert est.dense_ops_per_step >= 2 * 4 * 1024 * (153 + 1024)
    assert est.fps > 17_544  # ESE's frame rate on this board (see docs/estimates.md)


# -- C simulation does not depend on the schedule ----------------------------------------

AP_INCLUDE, AP_REASON = ap_include_or_skip_reason()


@pytest.mark.skipif(AP_INCLUDE is None, reason=AP_REASON)
def test_csim_is_the_same_whatever_the_schedule(tmp_path):
    from ernnc.compiler.csim import run_csim
    from ernnc.compiler.driver import HlsOptions, write_hls, write_numpy

    outputs = []
    for name, schedule in (("one", "parallel=1,units=1,lanes=1"), ("auto", "")):
        options = PipelineOptions(block_size="4", precision="auto:16", schedule=schedule)
        module = compile_module(ZOO / "gru_l1_bi_dyn_op20.onnx", "scheduled", options)
        out = tmp_path / name
        out.mkdir()
        write_numpy(module, out)
        write_hls(module, out / "hls", HlsOptions())
        result = run_csim(out, optimize="-O0")
        assert result.ok and all(c.bit_equal for c in result.checks)
        outputs.append((out / "hls" / "outputs.bin").read_bytes())
        cpp = (out / "hls" / "ernnc_top.cpp").read_text()
        assert ("UNROLL factor=" in cpp) == (name == "auto")
    assert outputs[0] == outputs[1]


# -- overlap: the input stage of step s + 1 beside the recurrence of step s -----------------


def _scans(module) -> list:
    return [op for op in module.walk() if op.name == "cell.scan"]


def test_overlap_takes_the_longer_stage_by_hand():
    module = rnn8()  # unscheduled: one of everything, no overlap
    (scan,) = _scans(module)
    split = stages(scan)
    assert split is not None
    assert [op.name for op in split.input] == ["circ.rfft", "circ.mac", "fxp.cast"]
    assert [v.owner.name for v in split.boundary] == ["fxp.cast"]  # the W x spectrum
    before = estimate(module, KU060, 200.0)
    set_knobs(scan, overlap=1)
    after = estimate(module, KU060, 200.0)
    # the input stage: x_t in (8 + 4), its rfft (1 + 6 + 4), the W MAC (5 + 4),
    # the cast of its 10 spectrum values (10 + 1 + 4)
    assert after.stage_cycles() == {"layer0.fwd": {"input": 47, "recurrent": 76}}
    # the recurrent stage: states and y out (8 + 4), the rfft of h (11), the R MAC
    # (9), W x + R h and its casts (10 + 3 + 4), the irfft (11), cast and pwl (8 + 4 + 4)
    top = sum(c.cycles for c in before.costs if c.where == "top")
    assert before.cycles_per_step == top + 47 + 76
    assert after.cycles_per_step == top + max(47, 76) + cost.DATAFLOW_OVERHEAD
    # the second half of the ping-pong buffer (10 values of 16 bits, in LUTRAM)
    (pp,) = [c for c in after.costs if c.what.startswith("step DATAFLOW")]
    assert pp.lut > cost.LOOP_LUT and pp.cycles == cost.DATAFLOW_OVERHEAD
    assert after.used("lut") > before.used("lut")


@pytest.mark.parametrize(
    "name,options",
    [
        ("lstm_l2_bi_dyn_op20", {"block_size": "8", "precision": "auto:16"}),
        ("gru_l1_uni_dyn_op20", {"precision": "auto:12"}),
        ("rnn_relu_l2_bi_bf_dyn_op20", {"block_size": "4"}),
        ("gru_cls_bi_hn_cat_dyn_op20", {"block_size": "4", "precision": "auto:16"}),
    ],
)
def test_overlap_never_costs_more_cycles(name, options):
    module = compile_module(ZOO / f"{name}.onnx", "scheduled", PipelineOptions(**options))
    scans = _scans(module)
    assert scans and all(knob(op, "overlap", default=0) == 1 for op in scans)
    on = estimate(module, KU060, 200.0)
    for op in scans:
        set_knobs(op, overlap=0)
    off = estimate(module, KU060, 200.0)
    assert on.cycles_per_step < off.cycles_per_step
    # the same loops; each scan saves its shorter stage, less the handshake
    saved = sum(min(s.values()) - cost.DATAFLOW_OVERHEAD for s in on.stage_cycles().values())
    assert off.cycles_per_step - on.cycles_per_step == saved
    assert len(on.stage_cycles()) == len(scans) and off.stage_cycles() == {}


def test_schedule_overlaps_by_default_and_the_override_turns_it_off():
    model = ZOO / "lstm_l2_bi_dyn_op20.onnx"
    by_default = compile_module(model, "scheduled", PipelineOptions(**FIXED16))
    assert [knob(op, "overlap", default=0) for op in _scans(by_default)] == [1, 1, 1, 1]
    assert "overlap = 1" in str(_scans(by_default)[0].attributes["ernn.schedule"])
    off = compile_module(model, "scheduled", PipelineOptions(schedule="overlap=0", **FIXED16))
    assert [knob(op, "overlap", default=1) for op in _scans(off)] == [0, 0, 0, 0]
    layer0 = compile_module(
        model, "scheduled", PipelineOptions(schedule="layer0.overlap=0", **FIXED16)
    )
    assert [(op.layer.data, knob(op, "overlap")) for op in _scans(layer0)] == [
        ("layer0", 0),
        ("layer0", 0),
        ("layer1", 1),
        ("layer1", 1),
    ]
    bwd = compile_module(
        model, "scheduled", PipelineOptions(schedule="layer1.bwd.overlap=0", **FIXED16)
    )
    assert [knob(op, "overlap") for op in _scans(bwd)] == [1, 1, 1, 0]
    # before ernn-schedule there is no annotation, and no overlap
    quantized = compile_module(model, "quantized", PipelineOptions(**FIXED16))
    assert all("ernn.schedule" not in op.attributes for op in _scans(quantized))
    assert all(overlapped(op) is None for op in _scans(quantized))


def test_overlap_override_is_a_switch(tmp_path, capsys):
    example = REPO / "examples" / "lstm_classifier.onnx"
    for bad in ("overlap=2", "layer0.overlap=3", "lanes=0"):
        assert main([str(example), "-o", str(tmp_path / "o"), "--schedule", bad, "-q"]) == 1
        err = capsys.readouterr().err
        assert err.count("\n") == 1 and f"schedule override '{bad}'" in err, err
        assert "overlap=0|1" in err
