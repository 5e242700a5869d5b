"""The HLS backend: generated projects compiled with g++ and run (C
simulation) against the NumPy model: within 1e-5 in float across the zoo,
bit for bit in fixed point; and the project's hygiene (warnings, names,
determinism, paths) and the CLI around it.

Designs are built in parallel by a fixture (g++ dominates), then each test
checks one result. Fixed-point designs need ap_fixed.h (see
compiler/ap_headers.py); without it those tests are skipped with the reason.
"""

from __future__ import annotations

import dataclasses
import os
import shutil
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import onnx
import pytest
from conftest import REPO, ZOO, zoo_manifest
from onnx import TensorProto, helper, numpy_helper

from ernnc.compiler.ap_headers import ap_include_or_skip_reason
from ernnc.compiler.api import compile_module
from ernnc.compiler.cli import main
from ernnc.compiler.csim import CsimResult, run_csim
from ernnc.compiler.driver import HlsOptions, write_hls, write_numpy
from ernnc.compiler.pipeline import PipelineOptions

AP_INCLUDE, AP_REASON = ap_include_or_skip_reason()
needs_ap = pytest.mark.skipif(AP_INCLUDE is None, reason=AP_REASON)
MODELS = zoo_manifest()
EXAMPLE = REPO / "examples" / "lstm_classifier.onnx"
JOBS = max(2, os.cpu_count() or 2)


def build(model: Path | onnx.ModelProto, out: Path, options: PipelineOptions, **hls) -> Path:
    """OUT/model_ref.py and OUT/hls/ as the CLI writes them (scheduled for the KU060)."""
    module = compile_module(model, "scheduled", options)
    out.mkdir(parents=True)
    write_numpy(module, out)
    write_hls(module, out / "hls", HlsOptions(**hls))
    return out


def simulate_all(jobs: dict[str, Path], **kw) -> dict[str, CsimResult | Exception]:
    """run_csim on every output directory, in parallel (each mostly waits on g++)."""

    def one(out: Path) -> CsimResult | Exception:
        try:
            return run_csim(out, optimize="-O0", **kw)
        except Exception as e:  # noqa: BLE001 - reported by the test of that design
            return e

    with ThreadPoolExecutor(JOBS) as pool:
        return dict(zip(jobs, pool.map(one, jobs.values())))


def assert_matches(result: CsimResult | Exception) -> None:
    if isinstance(result, Exception):
        raise result
    assert result.warnings == [], "\n".join(result.warnings)
    for c in result.checks:
        if c.exact:
            assert c.bit_equal, f"{c.name}: not bit-identical, max |diff| {c.max_abs}"
        else:
            assert c.max_abs <= 1e-5 * 2, f"{c.name}: max |diff| {c.max_abs}"
    assert result.ok, result.testbench_output


# -- float: the whole zoo, dense and block-circulant ----------------------------

# ERNNC_FULL_ZOO=1: every model at every block size and (below) in every
# fixed-point configuration: about 500 g++ builds, most of an hour on two cores
FULL_ZOO = os.environ.get("ERNNC_FULL_ZOO") == "1"

# every model dense, and at one of the FFT block sizes (in turn; all with FULL_ZOO)
FLOAT_CASES = [
    (m["file"][:-5], b)
    for k, m in enumerate(MODELS)
    for b in ((1, 4, 8, 16) if FULL_ZOO else (1, (4, 8, 16)[k % 3]))
]


@pytest.fixture(scope="module")
def float_zoo(tmp_path_factory) -> dict[str, CsimResult | Exception]:
    root = tmp_path_factory.mktemp("float_zoo")
    jobs = {}
    for name, b in FLOAT_CASES:
        key = f"{name}-b{b}"
        jobs[key] = build(ZOO / f"{name}.onnx", root / key, PipelineOptions(block_size=str(b)))
    return simulate_all(jobs, steps=5, samples=3)


@pytest.mark.parametrize("name,block", FLOAT_CASES, ids=[f"{n}-b{b}" for n, b in FLOAT_CASES])
def test_float_csim_matches_numpy_model(float_zoo, name, block):
    result = float_zoo[f"{name}-b{block}"]
    assert_matches(result)
    assert all(not c.exact or c.max_abs == 0 for c in result.checks)  # type: ignore[union-attr]


# -- fixed point: bit for bit ------------------------------------------------------

# models that between them hold every structure of the zoo: the three cells,
# uni/bidirectional, one and two layers, batch-first, sequence lengths
# (sorted and not), initial states, static shapes, and heads on top
FIXED_MODELS = [
    "lstm_l1_uni_packed_unsorted_h0_dyn_op20",
    "lstm_l2_bi_bf_h0_static_op20",
    "lstm_cls_bi_bf_last_softmax_dyn_op20",
    "lstm_cls_l2_hn_mlp_dyn_op20",
    "gru_l2_bi_bf_dyn_op20",
    "gru_l1_bi_packed_sorted_dyn_op20",
    "gru_cls_bi_hn_cat_dyn_op20",
    "rnn_relu_l2_bi_bf_dyn_op20",
    "rnn_l1_bi_bf_packed_unsorted_dyn_op20",
]
FIXED_CONFIGS = {
    "16bit-dense": PipelineOptions(precision="auto:16", activations="pwl:64"),
    "16bit-b8": PipelineOptions(block_size="8", precision="auto:16", activations="pwl:64"),
    "12bit-b4": PipelineOptions(block_size="4", precision="auto:12", activations="lut:256"),
    "12bit-dense": PipelineOptions(precision="fixed<12,4>", activations="pwl:16"),
}
# each model in two of the configurations, so that every configuration
# meets every kind of cell; FULL_ZOO: the whole zoo in all four
if FULL_ZOO:
    FIXED_MODELS = [m["file"][:-5] for m in MODELS]
FIXED_CASES = [
    (m, c)
    for k, m in enumerate(FIXED_MODELS)
    for c in (list(FIXED_CONFIGS) if FULL_ZOO else list(FIXED_CONFIGS)[k % 2 :: 2])
]


@pytest.fixture(scope="module")
def fixed_designs(tmp_path_factory) -> dict[str, CsimResult | Exception]:
    if AP_INCLUDE is None:
        pytest.skip(AP_REASON)
    root = tmp_path_factory.mktemp("fixed")
    jobs = {}
    for name, config in FIXED_CASES:
        key = f"{name}-{config}"
        jobs[key] = build(ZOO / f"{name}.onnx", root / key, FIXED_CONFIGS[config])
    return simulate_all(jobs, steps=6, samples=3)


@needs_ap
@pytest.mark.parametrize("name,config", FIXED_CASES, ids=[f"{n}-{c}" for n, c in FIXED_CASES])
def test_fixed_csim_is_bit_identical(fixed_designs, name, config):
    result = fixed_designs[f"{name}-{config}"]
    assert_matches(result)
    # outputs converted out of fixed point are compared bit for bit; only a
    # softmax head computes in float
    exact = [c.exact for c in result.checks]  # type: ignore[union-attr]
    assert all(exact) or "softmax" in name


@pytest.mark.skipif(FULL_ZOO, reason="the whole zoo runs in every configuration")
def test_fixed_cases_cover_the_configurations():
    for cell in ("lstm", "gru", "rnn"):
        assert {c for m, c in FIXED_CASES if m.startswith(cell)} == set(FIXED_CONFIGS)


@needs_ap
@pytest.mark.parametrize("block", [2, 32, 64])
def test_fft_sizes_from_2_to_64(tmp_path, block):
    """The butterflies generated for small and large blocks (b = 64 pads the
    zoo's small matrices)."""
    out = build(
        ZOO / "lstm_l2_bi_dyn_op20.onnx",
        tmp_path / "out",
        PipelineOptions(block_size=str(block), precision="auto:16", activations="pwl:64"),
    )
    assert_matches(run_csim(out, steps=4, samples=2, optimize="-O0"))


# -- overlap: the same bits with the stages pipelined ---------------------------------

# block-circulant 2-layer bidirectional LSTM; dense GRU with sequence lengths;
# block-circulant RNN, bidirectional, with sequence lengths, at 12 bits
OVERLAP_CASES = {
    "lstm-l2-bi-b8": (
        "lstm_l2_bi_bf_h0_static_op20",
        PipelineOptions(block_size="8", precision="auto:16", activations="pwl:64"),
    ),
    "gru-bi-dense": ("gru_l1_bi_packed_sorted_dyn_op20", FIXED_CONFIGS["16bit-dense"]),
    "rnn-bi-b4": ("rnn_l1_bi_bf_packed_unsorted_dyn_op20", FIXED_CONFIGS["12bit-b4"]),
}


@pytest.fixture(scope="module")
def overlap_designs(tmp_path_factory) -> tuple[dict[str, Path], dict]:
    if AP_INCLUDE is None:
        pytest.skip(AP_REASON)
    root = tmp_path_factory.mktemp("overlap")
    jobs = {}
    for key, (name, options) in OVERLAP_CASES.items():
        for schedule in ("", "overlap=0"):
            out = root / f"{key}-{'off' if schedule else 'on'}"
            opts = dataclasses.replace(options, schedule=schedule)
            jobs[out.name] = build(ZOO / f"{name}.onnx", out, opts)
    return jobs, simulate_all(jobs, steps=6, samples=3)


@needs_ap
@pytest.mark.parametrize("key", list(OVERLAP_CASES))
def test_overlap_is_bit_identical_to_the_sequential_step(overlap_designs, key):
    jobs, results = overlap_designs
    on, off = results[f"{key}-on"], results[f"{key}-off"]
    assert_matches(on)
    assert_matches(off)
    hls_on, hls_off = jobs[f"{key}-on"] / "hls", jobs[f"{key}-off"] / "hls"
    on_cpp, off_cpp = ((h / "ernnc_top.cpp").read_text() for h in (hls_on, hls_off))
    # the schedule reached the code: a DATAFLOW step per scan, or none
    scans = 4 if "l2" in key else 2
    assert on_cpp.count("ERNNC_PRAGMA(HLS DATAFLOW)") == scans
    assert on_cpp.count("_pingpong0[2][") == scans
    assert "DATAFLOW" not in off_cpp and "pingpong" not in off_cpp
    # the same inputs, and the same bits out
    assert (hls_on / "inputs.bin").read_bytes() == (hls_off / "inputs.bin").read_bytes()
    assert (hls_on / "outputs.bin").read_bytes() == (hls_off / "outputs.bin").read_bytes()
    assert all(c.bit_equal for c in on.checks)  # type: ignore[union-attr]


# -- hostile names ---------------------------------------------------------------

HOSTILE = [
    'x"; abort(); //',
    "*/ int evil; /*",
    "int",
    "naïve→名前",
    "a b\\",
    "1st",
    "__reserved",
    "main",
    "ernnc_top",
    "in_x",
    "??=",
]


def hostile_model() -> onnx.ModelProto:
    """An LSTM whose every name is hostile C++: quotes, comment delimiters,
    keywords, non-ASCII, a leading digit, reserved and clashing names."""
    rng = np.random.RandomState(7)
    h, i = 4, 3
    x, w, r, b, y, yh, yc, out = HOSTILE[:7] + ["??="]
    node = helper.make_node("LSTM", [x, w, r, b], [y, yh, yc], name="*/ lstm; /*", hidden_size=h)
    relu = helper.make_node("Relu", [yh], [out], name='"relu"')
    graph = helper.make_graph(
        [node, relu],
        "main",
        [helper.make_tensor_value_info(x, TensorProto.FLOAT, ["T", "in_x", i])],
        [
            helper.make_tensor_value_info(out, TensorProto.FLOAT, [1, "in_x", h]),
            helper.make_tensor_value_info(y, TensorProto.FLOAT, ["T", 1, "in_x", h]),
            helper.make_tensor_value_info(yc, TensorProto.FLOAT, [1, "in_x", h]),
        ],
        [
            numpy_helper.from_array(rng.randn(1, 4 * h, i).astype(np.float32) * 0.5, w),
            numpy_helper.from_array(rng.randn(1, 4 * h, h).astype(np.float32) * 0.5, r),
            numpy_helper.from_array(rng.randn(1, 8 * h).astype(np.float32) * 0.1, b),
        ],
    )
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])


@pytest.mark.parametrize(
    "options",
    [
        PipelineOptions(block_size="2"),
        pytest.param(
            PipelineOptions(block_size="2", precision="auto:16", activations="pwl:32"),
            marks=needs_ap,
        ),
    ],
    ids=["float", "fixed"],
)
def test_hostile_names_compile_and_match(tmp_path, options):
    out = build(hostile_model(), tmp_path / "out", options, top="main")
    result = run_csim(out, steps=4, samples=2)  # at the Makefile's -O2: no warnings there either
    assert_matches(result)
    assert [c.name for c in result.checks] == ["??=", "a b\\", "__reserved"]
    for path in (out / "hls").iterdir():
        if path.suffix in (".h", ".cpp", ".tcl", ".json") or path.name == "Makefile":
            assert path.read_text(encoding="utf-8").isascii(), path.name


# -- the project as files ----------------------------------------------------------


def test_project_is_deterministic_and_has_no_machine_paths(tmp_path):
    """Two runs in fresh interpreters with different hash seeds give the same bytes."""
    for d, seed in (("a", "1"), ("b", "2")):
        r = subprocess.run(
            [sys.executable, "-m", "ernnc.compiler.cli", str(EXAMPLE), "-o", str(tmp_path / d)]
            + ["--block-size", "4", "--precision", "auto:16", "-q"],
            check=False,
            capture_output=True,
            text=True,
            env={**os.environ, "PYTHONHASHSEED": seed},
        )
        assert r.returncode == 0, r.stderr
    files = sorted(p.name for p in (tmp_path / "a" / "hls").iterdir())
    assert files == sorted(
        [
            "Makefile",
            "build.tcl",
            "design.json",
            "ernnc_support.h",
            "ernnc_top.cpp",
            "ernnc_top.h",
            "ernnc_top_weights.h",
            "tb.cpp",
        ]
    )
    for name in files:
        a = (tmp_path / "a" / "hls" / name).read_bytes()
        assert a == (tmp_path / "b" / "hls" / name).read_bytes(), name
        text = a.decode()
        for path in {str(tmp_path), str(Path.home()), sys.prefix, str(REPO)}:
            assert path not in text, f"{name} holds {path}"


def test_float_design_needs_no_ap_headers(tmp_path):
    out = build(EXAMPLE, tmp_path / "out", PipelineOptions(block_size="4"))
    support = (out / "hls" / "ernnc_support.h").read_text()
    assert "ap_fixed.h" not in support
    result = run_csim(out, ap_include=str(tmp_path / "nowhere"))  # never looked up
    assert result.ok and result.headers.startswith("no ap_fixed.h")


def test_pragmas_are_hidden_from_gcc_and_kept_for_vitis(tmp_path):
    out = build(EXAMPLE, tmp_path / "out", PipelineOptions(block_size="8"))
    cpp = (out / "hls" / "ernnc_top.cpp").read_text()
    assert "#pragma" not in cpp
    for pragma in ("INTERFACE m_axi", "INTERFACE s_axilite port=return", "PIPELINE II=1", "UNROLL"):
        assert f"ERNNC_PRAGMA(HLS {pragma}" in cpp
    support = (out / "hls" / "ernnc_support.h").read_text()
    assert "#ifdef __SYNTHESIS__" in support and "_Pragma(#x)" in support
    tcl = (out / "hls" / "build.tcl").read_text()
    for step in ("set_part {xcku060-ffva1156-2-e}", "create_clock -period 5 ", "csim_design"):
        assert step in tcl
    for step in ("csynth_design", "cosim_design", "export_design"):
        assert step in tcl


# -- csim: what it raises, what it catches -------------------------------------------


def test_csim_catches_a_wrong_design(tmp_path):
    """A testbench that compares nothing would pass this; ours must fail it."""
    out = build(EXAMPLE, tmp_path / "out", PipelineOptions(block_size="4"))
    weights = out / "hls" / "ernnc_top_weights.h"
    text = weights.read_text()
    start = text.index("= {\n") + 4
    first = text[start:].split(",", 1)[0].strip()
    weights.write_text(text[:start] + text[start:].replace(first, first + " + 8.0f", 1))
    result = run_csim(out, samples=2)
    assert not result.ok
    assert "mismatches" in result.testbench_output
    assert max(c.max_abs for c in result.checks) > 1e-4


def test_csim_raises_the_bounds_its_inputs_need(tmp_path):
    out = build(EXAMPLE, tmp_path / "out", PipelineOptions(), max_dims=(("T", 16),))
    assert "#define ERNNC_MAX_T 16" in (out / "hls" / "ernnc_top.h").read_text()
    result = run_csim(out, steps=40, samples=2)
    assert_matches(result)
    assert "-DERNNC_MAX_T=40" in (out / "hls" / "csim.log").read_text()
    assert "MAX_DIMS='-DERNNC_MAX_T=40 -DERNNC_MAX_N=2'" in result.notes[0]
    # by default the random inputs stay within the bounds: make csim reruns them as built
    result = run_csim(out)
    assert result.notes == [] and "-DERNNC_MAX" not in (out / "hls" / "csim.log").read_text()
    short = build(EXAMPLE, tmp_path / "short", PipelineOptions(), max_dims=(("T", 4),))
    result = run_csim(short)
    assert_matches(result)
    assert result.notes == [] and "-DERNNC_MAX" not in (short / "hls" / "csim.log").read_text()


def test_csim_reads_inputs_from_npz(tmp_path):
    out = build(EXAMPLE, tmp_path / "out", PipelineOptions(block_size="4"))
    np.savez(tmp_path / "in.npz", features=np.ones((3, 2, 16), np.float32))
    assert_matches(run_csim(out, tmp_path / "in.npz"))
    np.savez(tmp_path / "bad.npz", x=np.ones((3, 2, 16), np.float32))
    with pytest.raises(Exception, match="do not match the model inputs"):
        run_csim(out, tmp_path / "bad.npz")


# -- the CLI ---------------------------------------------------------------------


def test_cli_targets(tmp_path):
    assert main([str(EXAMPLE), "-o", str(tmp_path / "np"), "--target", "numpy", "-q"]) == 0
    assert not (tmp_path / "np" / "hls").exists()
    assert main([str(EXAMPLE), "-o", str(tmp_path / "hls"), "--target", "hls", "-q"]) == 0
    assert (tmp_path / "hls" / "hls" / "ernnc_top.cpp").exists()
    assert (tmp_path / "hls" / "model_ref.py").exists()  # what csim checks against
    args = ["--target", "hls", "--top", "kws", "--part", "xc7z020clg400-1", "--clock", "250"]
    assert main([str(EXAMPLE), "-o", str(tmp_path / "p"), *args, "-q"]) == 0
    tcl = (tmp_path / "p" / "hls" / "build.tcl").read_text()
    assert "set_top kws" in tcl and "{xc7z020clg400-1}" in tcl and "-period 4 " in tcl


def test_cli_csim_end_to_end(tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)  # relative paths, as a user types them
    assert main([str(EXAMPLE), "-o", "out", "--block-size", "8", "-q"]) == 0
    np.savez("in.npz", features=np.zeros((5, 1, 16), np.float32))
    assert main(["csim", "out", "--inputs", "in.npz"]) == 0
    printed = capsys.readouterr().out
    assert "probabilities" in printed and "within tol" in printed or "identical" in printed


@pytest.mark.parametrize(
    "args,words",
    [
        (["--part", "xc7 z020"], ["--part", "xc7 z020"]),
        (["--clock", "0"], ["--clock", "0"]),
        (["--max-dims", "Q=4"], ["--max-dims", "'Q'", "T", "N"]),
        (["--max-dims", "T=x"], ["--max-dims", "T=x"]),
        (["--top", "my top"], ["--top", "my top"]),
    ],
)
def test_cli_bad_hls_options_are_one_line(tmp_path, capsys, args, words):
    assert main([str(EXAMPLE), "-o", str(tmp_path / "out"), *args, "-q"]) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("ernnc: error: ")
    for w in words:
        assert w in err
    assert not (tmp_path / "out").exists()


def test_csim_errors_are_one_line(tmp_path, capsys):
    assert main(["csim", str(tmp_path)]) == 1
    assert "no HLS project" in capsys.readouterr().err
    out = tmp_path / "out"
    assert main([str(EXAMPLE), "-o", str(out), "--precision", "auto:16", "-q"]) == 0
    env = {"ERNNC_AP_INCLUDE": str(tmp_path / "missing")}
    r = subprocess.run(
        [sys.executable, "-m", "ernnc.compiler.cli", "csim", str(out)],
        check=False,
        capture_output=True,
        text=True,
        env={**os.environ, **env},
    )
    assert r.returncode == 1
    assert r.stderr.count("\n") == 1 and "ERNNC_AP_INCLUDE" in r.stderr, r.stderr


# -- Vitis HLS (not installed where ernnc is tested: skipped unless it is) -----------

VITIS = shutil.which("vitis_hls")


@pytest.mark.skipif(VITIS is None, reason="vitis_hls is not on PATH")
def test_vitis_runs_the_project(tmp_path):
    """build.tcl as a user runs it: C simulation on the files ernnc csim wrote,
    synthesis, co-simulation and export, all passing on a small fixed design."""
    out = build(EXAMPLE, tmp_path / "out", PipelineOptions(block_size="4", precision="auto:16"))
    assert_matches(run_csim(out, steps=4))
    hls = out / "hls"
    r = subprocess.run(  # noqa: PLW1510 - the status is asserted
        [VITIS, "-f", "build.tcl"], cwd=hls, capture_output=True, text=True, timeout=7200
    )
    assert r.returncode == 0, r.stdout[-3000:] + r.stderr[-3000:]
    log = r.stdout  # csim_design stops the script when the testbench fails
    assert list(hls.glob("ernnc_top_prj/solution1/syn/report/*.rpt"))
    assert "*** C/RTL co-simulation finished: PASS ***" in log, log[-3000:]
