"""Block-circulant compression and its FFT form (issue: compression passes).

Oracles: explicit dense circulant matrices built element by element here,
onnxruntime on models whose weights are exactly block-circulant, and the
dense NumPy model of the same IR."""

from __future__ import annotations

import json

import numpy as np
import pytest
from conftest import max_abs, ort_run
from onnx import TensorProto, helper, numpy_helper

from ernnc.circulant import Blocking, expand, project, relative_error, spectra
from ernnc.compiler.api import compile_module, import_model, numpy_model, run_passes
from ernnc.compiler.cli import main
from ernnc.compiler.errors import ErnncError
from ernnc.compiler.pipeline import PipelineOptions
from ernnc.dialects import circ

GATES = {"LSTM": 4, "GRU": 3, "RNN": 1}


def dense_circulant(first_column: np.ndarray) -> np.ndarray:
    """C[r, c] = w[(r - c) mod b], written out element by element."""
    b = len(first_column)
    return np.array([[first_column[(r - c) % b] for c in range(b)] for r in range(b)])


def explicit_block_circulant(gen: np.ndarray, bl: Blocking) -> np.ndarray:
    """The dense matrix of generators [G*P, Q, b], built block by block and cropped per gate."""
    b, rows = bl.block, []
    for g in range(bl.gates):
        gate = np.block(
            [[dense_circulant(gen[g * bl.p + p, q]) for q in range(bl.q)] for p in range(bl.p)]
        )
        rows.append(gate[: bl.rows, : bl.cols])
    return np.concatenate(rows)


@pytest.mark.parametrize(
    "gates,rows,cols,b",
    [(1, 8, 8, 8), (4, 20, 13, 8), (3, 5, 7, 2), (1, 3, 40, 32), (2, 33, 17, 16)],
)
def test_generators_follow_the_first_column_convention(gates, rows, cols, b):
    bl = Blocking(gates, rows, cols, b)
    gen = np.random.default_rng(1).standard_normal(bl.generator_shape)
    dense = explicit_block_circulant(gen, bl)
    np.testing.assert_array_equal(expand(gen, bl), dense)
    # and the FFT identity that the circ.rfft/mac/irfft ops rely on
    x = np.random.default_rng(2).standard_normal(cols)
    xp = np.zeros(bl.q * b)
    xp[:cols] = x
    y = np.fft.irfft((spectra(gen) * np.fft.rfft(xp.reshape(bl.q, b))).sum(1), n=b).reshape(-1)
    np.testing.assert_allclose(y[bl.row_index()], dense @ x, atol=1e-12)


@pytest.mark.parametrize(
    "gates,rows,cols,b", [(4, 20, 13, 8), (3, 16, 16, 4), (1, 7, 9, 32), (2, 12, 6, 4)]
)
def test_projection_is_lossless_idempotent_and_nearest(gates, rows, cols, b):
    bl = Blocking(gates, rows, cols, b)
    rng = np.random.default_rng(3)
    # weights are float32; the projection averages in float64, which is exact for them
    exact = expand(rng.standard_normal(bl.generator_shape).astype(np.float32), bl)
    np.testing.assert_array_equal(expand(project(exact, bl), bl), exact)
    w = rng.standard_normal((gates * rows, cols)).astype(np.float32)
    p1 = project(w, bl)
    np.testing.assert_array_equal(project(expand(p1, bl), bl), p1)
    # Frobenius-nearest: no other block-circulant matrix is closer
    best = np.linalg.norm(w - expand(p1, bl))
    for _ in range(20):
        other = expand(p1 + 0.05 * rng.standard_normal(p1.shape), bl)
        assert np.linalg.norm(w - other) >= best
    assert relative_error(w, p1, bl) == pytest.approx(best / np.linalg.norm(w))


def test_param_counts_of_the_google_lstm():
    """C-LSTM's Google LSTM: gates [4096, 153] and [4096, 512], projection [512, 1024]."""
    shapes = [(4, 1024, 153), (4, 1024, 512), (1, 512, 1024)]
    dense = sum(Blocking(g, r, c, 1).dense_params for g, r, c in shapes)
    assert dense == 3_248_128
    assert sum(Blocking(g, r, c, 8).params for g, r, c in shapes) == 409_600
    assert sum(Blocking(g, r, c, 16).params for g, r, c in shapes) == 204_800


def circulant_rnn(
    op: str,
    b: int,
    hidden: int,
    inputs: int,
    directions: int = 1,
    seed: int = 0,
    linear_before_reset: int = 1,
):
    """An ONNX model whose W and R are exactly block-circulant (per gate)."""
    rng = np.random.default_rng(seed)
    g = GATES[op]

    def matrix(cols: int) -> np.ndarray:
        bl = Blocking(g, hidden, cols, b)
        return np.stack(
            [expand(rng.standard_normal(bl.generator_shape) * 0.4, bl) for _ in range(directions)]
        )

    w, r = matrix(inputs).astype(np.float32), matrix(hidden).astype(np.float32)
    bias = (rng.standard_normal((directions, 2 * g * hidden)) * 0.1).astype(np.float32)
    direction = "bidirectional" if directions == 2 else "forward"
    attrs = {"linear_before_reset": linear_before_reset} if op == "GRU" else {}
    node = helper.make_node(
        op, ["X", "W", "R", "B"], ["Y", "Y_h"], hidden_size=hidden, direction=direction, **attrs
    )
    graph = helper.make_graph(
        [node],
        "g",
        [helper.make_tensor_value_info("X", TensorProto.FLOAT, ["T", "N", inputs])],
        [
            helper.make_tensor_value_info("Y", TensorProto.FLOAT, ["T", directions, "N", hidden]),
            helper.make_tensor_value_info("Y_h", TensorProto.FLOAT, [directions, "N", hidden]),
        ],
        [
            numpy_helper.from_array(w, "W"),
            numpy_helper.from_array(r, "R"),
            numpy_helper.from_array(bias, "B"),
        ],
    )
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])


SIZES = [(b, h, i) for b in (2, 4, 8, 16, 32) for h, i in ((2 * b, b), (b + 3, 2 * b - 1))]


@pytest.mark.parametrize("b,hidden,inputs", SIZES, ids=[f"b{b}-H{h}-I{i}" for b, h, i in SIZES])
@pytest.mark.parametrize("op", ["LSTM", "GRU", "GRU-lbr0", "RNN"])
def test_exactly_circulant_model_matches_onnxruntime(op, b, hidden, inputs):
    cell, lbr = op.split("-")[0], 0 if op == "GRU-lbr0" else 1  # ONNX's default and torch's
    model = circulant_rnn(
        cell,
        b,
        hidden,
        inputs,
        directions=2 if op == "GRU" else 1,
        seed=b + hidden,
        linear_before_reset=lbr,
    )
    x = np.random.default_rng(5).standard_normal((6, 3, inputs)).astype(np.float32)
    want = ort_run(model, {"X": x})
    options = PipelineOptions(block_size=str(b))
    for stage in ("circulant", "fft"):
        module = compile_module(model, stage, options)
        ops = [o for o in module.walk() if isinstance(o, circ.MatVecOp)]
        if stage == "circulant":
            assert ops and all(o.exact is not None and o.block_size == b for o in ops)
        else:
            assert not ops and any(isinstance(o, circ.IrfftOp) for o in module.walk())
        got = numpy_model(module).run({"X": x})
        for name in want:
            assert max_abs(got[name], want[name]) <= 1e-5, (stage, name)


def test_block_size_one_keeps_the_model_dense():
    model = circulant_rnn("LSTM", 4, 8, 4)
    module = compile_module(model, "fft", PipelineOptions(block_size="1"))
    assert not any(o.name.startswith("circ.") for o in module.walk())


@pytest.mark.parametrize("op", ["LSTM", "GRU"])
def test_each_compression_pass_is_checked_numerically(op):
    """Projection of random weights changes the outputs; the FFT lowering does not."""
    model = circulant_rnn(op, 4, 12, 6, seed=9)
    rng = np.random.default_rng(0)
    # perturb so the weights are no longer circulant
    for t in model.graph.initializer[:2]:
        arr = (
            numpy_helper.to_array(t)
            + rng.standard_normal(numpy_helper.to_array(t).shape).astype(np.float32) * 0.05
        )
        t.CopyFrom(numpy_helper.from_array(arr, t.name))
    x = {"X": rng.standard_normal((5, 2, 6)).astype(np.float32)}
    module = compile_module(model, "cell")
    dense = numpy_model(module).run(x)
    run_passes(module, "ernn-block-circulant{block=4},canonicalize,cse,dce")
    projected = numpy_model(module).run(x)
    assert (
        max(max_abs(projected[k], dense[k]) for k in dense) > 1e-3
    )  # the projection is lossy here
    run_passes(module, "ernn-circulant-to-fft,canonicalize,cse,dce")
    fft = numpy_model(module).run(x)
    for k in dense:
        assert max_abs(fft[k], projected[k]) <= 1e-6


def test_one_inverse_fft_per_output_block():
    module = compile_module(circulant_rnn("LSTM", 4, 8, 8), "fft", PipelineOptions(block_size="4"))
    scan_ops = [o.name for o in module.walk()]
    assert scan_ops.count("circ.rfft") == 2  # x_t and h, each once for all gates
    assert scan_ops.count("circ.mac") == 2
    assert scan_ops.count("circ.irfft") == 1  # W x + R h summed in the frequency domain


def test_report_counts_and_per_matrix_overrides(tmp_path, capsys):
    model = circulant_rnn("LSTM", 4, 16, 8)
    path = tmp_path / "m.onnx"
    path.write_bytes(model.SerializeToString())
    # a second layer so that layer selectors mean something
    assert main([str(path), "-o", str(tmp_path / "o"), "--block-size", "default=8,layer0.W=4"]) == 0
    table = capsys.readouterr().out
    report = json.loads((tmp_path / "o" / "report.json").read_text())
    mats = {m["name"]: m for m in report["compression"]["matrices"]}
    assert mats["layer0.fwd.W"]["block"] == 4 and mats["layer0.fwd.R"]["block"] == 8
    assert mats["layer0.fwd.W"]["exact"] and not mats["layer0.fwd.R"]["exact"]
    for m in mats.values():
        bl = Blocking(len(m["gates"]), m["shape"][0] // len(m["gates"]), m["shape"][1], m["block"])
        assert m["params_compressed"] == bl.params
        assert m["ratio"] == m["params_dense"] / m["params_compressed"]
    rec = report["compression"]["recurrent"]
    assert rec["params_dense"] == 4 * 16 * (8 + 16)
    assert rec["params_compressed"] == 4 * 16 * 8 // 4 + 4 * 16 * 16 // 8
    assert "random inputs" in report["accuracy"]["inputs"] and "layer0.fwd.W" in table


def test_layer_and_direction_selectors_take_effect(tmp_path):
    from pathlib import Path

    model = Path(__file__).parent / "models" / "zoo" / "lstm_l2_bi_dyn_op20.onnx"
    spec = "default=8,layer1=2,layer0.bwd=4,layer1.fwd.R=1,layer0.W=16"
    assert main([str(model), "-o", str(tmp_path / "o"), "-q", "--block-size", spec]) == 0
    report = json.loads((tmp_path / "o" / "report.json").read_text())
    blocks = {m["name"]: m["block"] for m in report["compression"]["matrices"]}
    # most specific first: layer0.fwd.W > layer0.fwd > layer0.W > layer0
    assert blocks == {
        "layer0.fwd.W": 16,
        "layer0.fwd.R": 8,
        "layer0.bwd.W": 4,
        "layer0.bwd.R": 4,
        "layer1.fwd.W": 2,
        "layer1.fwd.R": 1,
        "layer1.bwd.W": 2,
        "layer1.bwd.R": 2,
    }


def test_calibration_inputs_are_used_and_checked(tmp_path, capsys):
    model = circulant_rnn("GRU", 4, 8, 4)
    path = tmp_path / "m.onnx"
    path.write_bytes(model.SerializeToString())
    x = np.random.default_rng(0).standard_normal((9, 5, 4)).astype(np.float32)
    np.savez(tmp_path / "calib.npz", X=x)
    assert (
        main(
            [
                str(path),
                "-o",
                str(tmp_path / "o"),
                "--block-size",
                "4",
                "--calib",
                str(tmp_path / "calib.npz"),
            ]
        )
        == 0
    )
    report = json.loads((tmp_path / "o" / "report.json").read_text())
    assert report["accuracy"]["inputs"] == "calibration inputs calib.npz"
    assert report["accuracy"]["samples"] == 5
    assert report["accuracy"]["outputs"]["Y"]["max_abs"] < 1e-5  # exactly circulant: no loss
    np.savez(tmp_path / "bad.npz", features=x)
    assert (
        main(
            [
                str(path),
                "-o",
                str(tmp_path / "o2"),
                "--block-size",
                "4",
                "--calib",
                str(tmp_path / "bad.npz"),
            ]
        )
        == 1
    )
    assert "do not match the model inputs" in capsys.readouterr().err
    np.savez(tmp_path / "bad2.npz", X=x[:, :, :3])
    assert (
        main(
            [
                str(path),
                "-o",
                str(tmp_path / "o2"),
                "--block-size",
                "4",
                "--calib",
                str(tmp_path / "bad2.npz"),
            ]
        )
        == 1
    )
    assert "dim 2 must be 4" in capsys.readouterr().err
    assert not (tmp_path / "o2").exists()


@pytest.mark.parametrize(
    "spec,message",
    [
        ("0", "must be at least 1"),
        ("-4", "must be at least 1"),
        ("eight", "is not an integer"),
        ("12", "not a power of two"),
        ("default=8,layer7=4", "no matrix matches 'layer7'"),
        ("default=8,layer0.X=4", "no matrix matches 'layer0.X'"),
        ("8,4", "'default' is given twice"),
        ("layer0=8,layer0=4", "'layer0' is given twice"),
        ("", "an empty item"),
        ("8,", "an empty item"),
    ],
)
def test_bad_block_sizes_give_one_line_errors(spec, message, tmp_path, capsys):
    path = tmp_path / "m.onnx"
    path.write_bytes(circulant_rnn("LSTM", 4, 8, 4).SerializeToString())
    assert main([str(path), "-o", str(tmp_path / "o"), "--block-size", spec]) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and message in err[0] and err[0].startswith("ernnc: error: ")
    assert not (tmp_path / "o").exists()


def test_runtime_weights_cannot_be_compressed():
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        from onnx.backend.test.case.node import collect_testcases

        case = next(c for c in collect_testcases(None) if c.name == "test_gru_defaults")
    with pytest.raises(ErnncError, match="runtime input"):
        compile_module(case.model, "fft", PipelineOptions(block_size="2"))
    import_model(case.model)  # and dense it is fine
