"""Fixed point: the ap_fixed primitives against hand-computed values, the
quantized models against their float models, and the precision language."""

from __future__ import annotations

import json

import numpy as np
import pytest
from conftest import max_abs
from onnx import TensorProto, helper, numpy_helper

from ernnc.compiler.api import compile_module, numpy_model
from ernnc.compiler.cli import main
from ernnc.compiler.errors import ErnncError
from ernnc.compiler.pipeline import PipelineOptions
from ernnc.dialects.fxp import FixedType, exact_add, exact_dot, exact_mul
from ernnc.fixedpoint import Fmt, build_lut, fit_pwl, fx_cast, fx_from_float, max_error

# -- primitives ------------------------------------------------------------


def test_rounding_of_positive_and_negative_values():
    # raw values with 2 fraction bits: 2.75, -2.75, 2.5, -2.5, 2.25, -2.25
    raw = np.array([11, -11, 10, -10, 9, -9])
    assert fx_cast(raw, 2, 8, 0, False, False).tolist() == [2, -3, 2, -3, 2, -3]  # TRN floors
    assert fx_cast(raw, 2, 8, 0, True, False).tolist() == [3, -3, 3, -2, 2, -2]  # RND: half up


def test_overflow_wraps_or_saturates():
    raw = np.array([127, 128, 130, -128, -129, -200, 300])
    assert fx_cast(raw, 0, 8, 0, False, False).tolist() == [127, -128, -126, -128, 127, 56, 44]
    assert fx_cast(raw, 0, 8, 0, False, True).tolist() == [127, 127, 127, -128, -128, -128, 127]


def test_from_float_and_back():
    assert fx_from_float(np.array([0.3, -0.3, 7.99, -9.0]), 8, 4, False, True).tolist() == [
        4,
        -5,
        127,
        -128,
    ]
    assert fx_from_float(np.array([0.3, -0.3]), 8, 4, True, True).tolist() == [5, -5]
    assert Fmt(8, 4).value(np.array([4, -5])).tolist() == [0.25, -0.3125]
    assert fx_from_float(np.array([np.nan]), 8, 4, True, True).tolist() == [0]


def test_shifting_the_binary_point():
    # fixed<8,4> (F=4) 1.0625 -> fixed<8,6> (F=2): 1.0 (TRN) or 1.0 (RND: .0625 is below half of .25)
    assert fx_cast(np.array([17, 18, 22]), 4, 8, 2, True, False).tolist() == [4, 5, 6]
    # widening keeps every bit
    assert fx_cast(np.array([-3]), 2, 16, 6, False, False).tolist() == [-48]


def test_exact_types_of_products_and_sums():
    a, b = FixedType(8, 3), FixedType(6, 2)
    assert (exact_mul(a, b).w, exact_mul(a, b).i) == (14, 5)
    assert (exact_add(a, b).w, exact_add(a, b).i) == (9, 4)  # max F 5, max I 3 + 1
    acc = exact_dot(FixedType(16, 2), FixedType(16, 6), 1024)
    assert (acc.w, acc.i) == (42, 18)  # 32-bit products + 10 guard bits
    # the worst-case sum of 1024 extreme products fits without overflow
    most = (-(2**15)) * (-(2**15)) * 1024
    assert most <= 2 ** (acc.w - 1) - 1


def test_activation_tables_are_fitted():
    fin = Fmt(16, 4, True, True)
    fout = Fmt(16, 2, True, True)
    errors = {
        (fn, impl): max_error(
            fit_pwl(fn, 0.0, 0.0, n, fin)
            if impl == "pwl"
            else build_lut(fn, 0.0, 0.0, n, fin, fout),
            fn,
            0.0,
            0.0,
            fin,
            fout,
        )
        for fn in ("Sigmoid", "Tanh")
        for impl, n in (("pwl", 20), ("pwl", 64), ("lut", 1024))
    }
    assert errors[("Sigmoid", "pwl")] < 1e-3 and errors[("Tanh", "pwl")] < 2e-3  # pwl:64
    table20 = fit_pwl("Sigmoid", 0.0, 0.0, 20, fin)
    assert table20.lo == -5.0 and 2.0**table20.step_log2 == 0.5  # C-LSTM's 20 segments over [-5, 5)
    assert max_error(table20, "Sigmoid", 0.0, 0.0, fin, fout) < 0.01
    assert errors[("Sigmoid", "lut")] < 3e-3


@pytest.mark.parametrize("n", [3, 5, 7, 21])
def test_odd_segment_counts_stay_on_the_grid(n):
    fin = Fmt(16, 4, True, True)
    fout = Fmt(16, 2, True, True)
    for table in (fit_pwl("Tanh", 0.0, 0.0, n, fin), build_lut("Tanh", 0.0, 0.0, n, fin, fout)):
        step = 2.0**table.step_log2
        assert table.lo / step == int(table.lo / step)  # what fxp.pwl's verifier asks
        # each side of 0 covered at least as far as by one segment fewer (an even count)
        even = fit_pwl("Tanh", 0.0, 0.0, n - 1, fin)
        assert table.lo <= even.lo and table.lo + n * step >= -even.lo
    errors = [
        max_error(fit_pwl("Tanh", 0.0, 0.0, k, fin), "Tanh", 0, 0, fin, fout) for k in (5, 21)
    ]
    assert errors[1] < errors[0] < 0.25


# -- models ----------------------------------------------------------------


def lstm(hidden: int, inputs: int, seed: int = 0):
    """An LSTM initialised as torch does, U(-1/sqrt(H), 1/sqrt(H))."""
    rng = np.random.default_rng(seed)
    k = 1 / np.sqrt(hidden)
    w = rng.uniform(-k, k, (1, 4 * hidden, inputs)).astype(np.float32)
    r = rng.uniform(-k, k, (1, 4 * hidden, hidden)).astype(np.float32)
    b = rng.uniform(-k, k, (1, 8 * hidden)).astype(np.float32)
    node = helper.make_node("LSTM", ["X", "W", "R", "B"], ["Y", "Y_h"], hidden_size=hidden)
    graph = helper.make_graph(
        [node],
        "g",
        [helper.make_tensor_value_info("X", TensorProto.FLOAT, ["T", "N", inputs])],
        [
            helper.make_tensor_value_info("Y", TensorProto.FLOAT, ["T", 1, "N", hidden]),
            helper.make_tensor_value_info("Y_h", TensorProto.FLOAT, [1, "N", hidden]),
        ],
        [
            numpy_helper.from_array(w, "W"),
            numpy_helper.from_array(r, "R"),
            numpy_helper.from_array(b, "B"),
        ],
    )
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])


def relative_error(got: np.ndarray, want: np.ndarray) -> float:
    return max_abs(got, want) / float(np.abs(want).max())


@pytest.mark.parametrize("hidden,block", [(32, "1"), (32, "8"), (256, "1"), (256, "8")])
def test_16_bit_stays_within_one_percent_of_float(hidden, block, tmp_path):
    """Calibrated 16-bit formats, held-out inputs from the calibration distribution."""
    model = lstm(hidden, 16, seed=hidden)
    rng = np.random.default_rng(1)
    calib = tmp_path / "calib.npz"
    np.savez(calib, X=rng.standard_normal((20, 32, 16)).astype(np.float32))
    held_out = {"X": rng.standard_normal((20, 16, 16)).astype(np.float32)}
    options = PipelineOptions(block_size=block, precision="auto:16", calib=str(calib))
    want = numpy_model(compile_module(model, "fft", options)).run(held_out)
    got = numpy_model(compile_module(model, "quantized", options)).run(held_out)
    for name in ("Y", "Y_h"):
        assert relative_error(got[name], want[name]) <= 0.01, name


def test_narrower_formats_lose_more(tmp_path):
    model = lstm(32, 8, seed=3)
    x = {"X": np.random.default_rng(2).standard_normal((16, 8, 8)).astype(np.float32)}
    want = numpy_model(compile_module(model, "fft")).run(x)["Y_h"]
    errors = [
        relative_error(
            numpy_model(
                compile_module(model, "quantized", PipelineOptions(precision=f"auto:{w}"))
            ).run(x)["Y_h"],
            want,
        )
        for w in (8, 12, 16)
    ]
    assert errors[0] > errors[1] > errors[2]
    assert errors[0] > 0.01  # 8 bits visibly lose accuracy, and the tool still runs


def test_bit_accurate_model_computes_with_integers(tmp_path):
    path = tmp_path / "m.onnx"
    path.write_bytes(lstm(8, 4).SerializeToString())
    assert (
        main(
            [
                str(path),
                "-o",
                str(tmp_path / "o"),
                "--block-size",
                "4",
                "--precision",
                "fixed<16,6,RND,SAT>",
                "-q",
            ]
        )
        == 0
    )
    src = (tmp_path / "o" / "model_ref.py").read_text()
    loop = src[src.index("for t in range(T)") : src.index("return y")]
    assert "fx_cast" in loop and "fx_pwl" in loop and "np.tanh" not in loop
    assert "def fx_cast" in src and "import ernnc" not in src
    x = np.random.default_rng(0).standard_normal((5, 2, 4)).astype(np.float32)
    np.savez(tmp_path / "in.npz", X=x)
    import subprocess
    import sys

    for flag in ([], ["--float"]):
        r = subprocess.run(
            [
                sys.executable,
                "-I",
                str(tmp_path / "o" / "model_ref.py"),
                "--inputs",
                str(tmp_path / "in.npz"),
                "--outputs",
                str(tmp_path / f"out{len(flag)}.npz"),
                *flag,
            ],
            capture_output=True,
            text=True,
        )
        assert r.returncode == 0, r.stderr
    q, f = np.load(tmp_path / "out0.npz")["Y_h"], np.load(tmp_path / "out1.npz")["Y_h"]
    assert 0 < max_abs(q, f) < 0.02


def test_report_lists_formats_ranges_overflows_and_errors(tmp_path, capsys):
    path = tmp_path / "m.onnx"
    path.write_bytes(lstm(16, 8).SerializeToString())
    np.savez(
        tmp_path / "c.npz",
        X=np.random.default_rng(0).standard_normal((12, 8, 8)).astype(np.float32),
    )
    spec = (
        "default=fixed<16,5,RND,SAT>; weights=fixed<12,2>; layer0.state=fixed<18,8,RND,SAT>; "
        "act=fixed<8,1>; layer0.fwd.acc=fixed<10,1>"
    )
    assert (
        main(
            [
                str(path),
                "-o",
                str(tmp_path / "o"),
                "--precision",
                spec,
                "--calib",
                str(tmp_path / "c.npz"),
                "--activations",
                "lut:256",
            ]
        )
        == 0
    )
    table = capsys.readouterr().out
    q = json.loads((tmp_path / "o" / "report.json").read_text())["quantization"]
    formats = {(t["name"], t["format"]) for t in q["tensors"]}
    assert ("layer0.fwd.W", "fixed<12,2>") in formats and (
        "layer0.fwd.h",
        "fixed<18,8,RND,SAT>",
    ) in formats
    assert any(name == "layer0.fwd.act" and fmt == "fixed<8,1>" for name, fmt in formats)
    acts = q["activations"]
    assert acts and all(a["implementation"] == "lut:256" and a["max_error"] > 0 for a in acts)
    # acc=fixed<10,1> wraps: the overflow counts of the calibration run say so
    assert any(t["overflows"] > 0 for t in q["tensors"] if t["name"] == "layer0.fwd.acc")
    assert all(t["overflows"] == 0 for t in q["tensors"] if t["name"] == "layer0.fwd.h")
    out = q["outputs"]["Y_h"]
    assert (
        out["max_abs"] > 0
        and out["sqnr_db"] is not None
        and q["inputs"] == "calibration inputs c.npz"
    )
    assert "bit-accurate against float" in table and "with overflows" in table
    # and on stdout, a row per tensor: format, calibrated range, overflows
    h = next(t for t in q["tensors"] if t["name"] == "layer0.fwd.h")
    lo, hi = h["range"]
    row = next(ln for ln in table.splitlines() if ln.startswith("layer0.fwd.h "))
    assert row.split()[1:4] == ["fixed<18,8,RND,SAT>", f"[{lo:.4g},", f"{hi:.4g}]"], row
    acc = [ln for ln in table.splitlines() if ln.startswith("layer0.fwd.acc ")]
    assert any(int(ln.split()[4].replace(",", "")) > 0 for ln in acc), acc
    assert sum(ln.startswith("layer0.fwd.act ") for ln in table.splitlines()) >= len(acts)


def test_outputs_are_deterministic(tmp_path):
    path = tmp_path / "m.onnx"
    path.write_bytes(lstm(8, 4).SerializeToString())
    for d in ("a", "b"):
        assert (
            main(
                [
                    str(path),
                    "-o",
                    str(tmp_path / d),
                    "--block-size",
                    "4",
                    "--precision",
                    "auto:12",
                    "-q",
                ]
            )
            == 0
        )
    for name in (
        "model_ref.py",
        "weights.npz",
        "model_float.py",
        "weights_float.npz",
        "report.json",
    ):
        assert (tmp_path / "a" / name).read_bytes() == (tmp_path / "b" / name).read_bytes(), name


@pytest.mark.parametrize(
    "spec,message",
    [
        ("fixed<16,6", "syntax error at column"),
        ("defualt=fixx<16,6>", "syntax error at column 9"),
        ("fixed<8,10>", "10 integer bits do not fit in 8 bits"),
        ("fixed<70,6>", "the width must lie in [1, 64]"),
        ("fixed<32,8>", "needs fixed<66, 18>, wider than the 64 bits"),
        ("fixed<16,6,RND,TRN>", "at most one rounding"),
        ("layer9.state=fixed<16,6>", "no tensor matches 'layer9.state'"),
    ],
)
def test_bad_precision_strings(spec, message, tmp_path, capsys):
    path = tmp_path / "m.onnx"
    path.write_bytes(lstm(8, 4).SerializeToString())
    assert main([str(path), "-o", str(tmp_path / "o"), "--precision", spec]) == 1
    err = capsys.readouterr().err
    assert err.startswith("ernnc: error: ") and message in err and "Traceback" not in err
    if "syntax" in message:  # like a compiler: the text and a caret under the column
        lines = err.rstrip("\n").splitlines()
        assert len(lines) == 3 and lines[2].strip() == "^"
    else:
        assert err.count("\n") == 1
    assert not (tmp_path / "o").exists()


def test_calibration_file_must_match_the_model(tmp_path, capsys):
    path = tmp_path / "m.onnx"
    path.write_bytes(lstm(8, 4).SerializeToString())
    np.savez(tmp_path / "keys.npz", x=np.zeros((3, 2, 4), np.float32))
    np.savez(tmp_path / "shape.npz", X=np.zeros((3, 2, 5), np.float32))
    for name, message in (
        ("keys.npz", "do not match the model inputs"),
        ("shape.npz", "dim 2 must be 4"),
    ):
        assert (
            main(
                [
                    str(path),
                    "-o",
                    str(tmp_path / "o"),
                    "--precision",
                    "auto:16",
                    "--calib",
                    str(tmp_path / name),
                ]
            )
            == 1
        )
        err = capsys.readouterr().err
        assert message in err and err.count("\n") == 1
    assert not (tmp_path / "o").exists()


def test_exact_activations_need_float():
    with pytest.raises(ErnncError, match="activations"):
        compile_module(
            lstm(8, 4), "quantized", PipelineOptions(precision="fixed<16,6>", activations="exact")
        )


@pytest.mark.parametrize("impl", ["pwl:1", "lut:0", "pwl:65537", "cubic:8"])
def test_activation_specs_need_a_segment_on_each_side_of_zero(impl, tmp_path, capsys):
    path = tmp_path / "m.onnx"
    path.write_bytes(lstm(8, 4).SerializeToString())
    argv = [str(path), "-o", str(tmp_path / "o"), "--precision", "auto:16", "--activations", impl]
    assert main(argv) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "expected pwl:N, lut:N (2 <= N <= 65536)" in err, err
    with pytest.raises(ErnncError, match="2 <= N <= 65536"):
        compile_module(
            lstm(8, 4), "quantized", PipelineOptions(precision="auto:16", activations=impl)
        )
