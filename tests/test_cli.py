"""The ernnc command line: outputs, stages, exit codes and one-line errors."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import onnx
import pytest
from conftest import REPO, ZOO, max_abs, ort_run
from onnx import TensorProto, helper, numpy_helper

from ernnc.compiler.cli import STAGE_HELP, main
from ernnc.compiler.pipeline import STAGES

EXAMPLE = REPO / "examples" / "lstm_classifier.onnx"


def _ernnc(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "ernnc.compiler.cli", *args], capture_output=True, text=True, cwd=cwd
    )


def test_compile_example_and_run_generated_model_as_script(tmp_path):
    out = tmp_path / "out"
    r = _ernnc(str(EXAMPLE), "-o", str(out))
    assert r.returncode == 0, r.stderr
    assert (out / "model_ref.py").exists() and (out / "weights.npz").exists()
    x = np.random.RandomState(0).randn(13, 3, 16).astype(np.float32)
    np.savez(tmp_path / "in.npz", features=x)
    # the generated model needs only numpy: run it with -I (no site-packages of ours)
    r = subprocess.run(
        [
            sys.executable,
            "-I",
            str(out / "model_ref.py"),
            "--inputs",
            str(tmp_path / "in.npz"),
            "--outputs",
            str(tmp_path / "got.npz"),
        ],
        capture_output=True,
        text=True,
        cwd=tmp_path,
    )
    assert r.returncode == 0, r.stderr
    got = np.load(tmp_path / "got.npz")["probabilities"]
    want = ort_run(EXAMPLE, {"features": x})["probabilities"]
    assert max_abs(got, want) <= 1e-5
    assert (
        "ernnc"
        not in (out / "model_ref.py").read_text().split('"""', 2)[2].split("import numpy")[0]
    )


def test_generated_model_imports_only_numpy(tmp_path):
    assert main([str(EXAMPLE), "-o", str(tmp_path / "out")]) == 0
    src = (tmp_path / "out" / "model_ref.py").read_text()
    imports = {ln.split()[1] for ln in src.splitlines() if ln.startswith(("import ", "from "))}
    assert imports == {"argparse", "os", "numpy"}
    assert str(tmp_path) not in src  # no absolute paths of the build machine


def test_output_is_deterministic(tmp_path):
    for d in ("a", "b"):
        assert main([str(EXAMPLE), "-o", str(tmp_path / d)]) == 0
    for name in ("model_ref.py", "weights.npz"):
        assert (tmp_path / "a" / name).read_bytes() == (tmp_path / "b" / name).read_bytes()


def test_emit_prints_each_stage(capsys):
    marks = {
        "import": "ernn.gru",
        "cell": "cell.matvec",
        "circulant": "circ.matvec",
        "fft": "circ.irfft",
        "quantized": "fxp.cast",
        "scheduled": "ernn.schedule",
    }
    assert list(marks) == list(STAGES)
    model = str(ZOO / "gru_l1_uni_dyn_op20.onnx")
    for stage, mark in marks.items():
        assert (
            main([model, "--emit", stage, "--block-size", "4", "--precision", "fixed<16,6>"]) == 0
        )
        out = capsys.readouterr().out
        assert out.startswith("builtin.module")
        present = {m for m in marks.values() if m in out}
        assert (
            mark in present and not {"ernn.gru", "cell.matvec", "circ.matvec"} - {mark} & present
        ), stage


def test_list_stages_and_help_agree_with_the_pipeline(capsys):
    assert STAGE_HELP == STAGES
    assert main(["--list-stages"]) == 0
    out = capsys.readouterr().out
    assert all(s in out for s in STAGES)
    with pytest.raises(SystemExit):
        main(["--help"])
    help_text = capsys.readouterr().out
    assert all(s in help_text for s in STAGES)


def test_print_pipeline_round_trips(tmp_path, capsys):
    assert main(["--print-pipeline"]) == 0
    spec = capsys.readouterr().out.strip()
    assert (
        main([str(ZOO / "lstm_l1_uni_dyn_op20.onnx"), "--passes", spec, "-o", str(tmp_path / "a")])
        == 0
    )
    assert main([str(ZOO / "lstm_l1_uni_dyn_op20.onnx"), "-o", str(tmp_path / "b")]) == 0
    assert (tmp_path / "a" / "model_ref.py").read_bytes() == (
        tmp_path / "b" / "model_ref.py"
    ).read_bytes()


def test_dump_ir_names_files_by_pass(tmp_path):
    assert (
        main(
            [
                str(ZOO / "rnn_l1_uni_dyn_op20.onnx"),
                "-o",
                str(tmp_path / "o"),
                "--dump-ir",
                str(tmp_path / "ir"),
            ]
        )
        == 0
    )
    names = [p.name for p in sorted((tmp_path / "ir").iterdir())]
    assert names[:3] == [
        "00-import.mlir",
        "01-convert-ernn-to-cell.mlir",
        "02-ernn-fuse-gates.mlir",
    ]
    # a shorter pipeline into the same directory leaves none of the longer one's dumps
    (tmp_path / "ir" / "notes.txt").write_text("mine")
    model = str(ZOO / "rnn_l1_uni_dyn_op20.onnx")
    argv = [model, "-o", str(tmp_path / "o2"), "--dump-ir", str(tmp_path / "ir")]
    assert main([*argv, "--passes", "convert-ernn-to-cell"]) == 0
    names = sorted(p.name for p in (tmp_path / "ir").iterdir())
    assert names == ["00-import.mlir", "01-convert-ernn-to-cell.mlir", "notes.txt"]


def test_help_is_fast_and_imports_nothing_heavy():
    code = (
        "import sys; from ernnc.compiler import cli\n"
        "try:\n    cli.main(['--help'])\nexcept SystemExit:\n    pass\n"
        "heavy = [m for m in ('onnx', 'onnxruntime', 'torch', 'xdsl', 'xdsl.interpreters', 'numpy') if m in sys.modules]\n"
        "print('HEAVY', heavy)"
    )
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert "HEAVY []" in r.stdout, r.stdout + r.stderr


def test_compiling_and_running_never_import_torch(tmp_path):
    """torch belongs to the training extra (ernnc.train): a compile at every
    stage, the report and the generated model must not load it, even when it
    is installed."""
    code = (
        "import sys, importlib.util\n"
        "from ernnc.compiler.cli import main\n"
        f"assert main([{str(EXAMPLE)!r}, '-o', {str(tmp_path / 'o')!r}, '--block-size', '8', '-q']) == 0\n"
        f"spec = importlib.util.spec_from_file_location('m', {str(tmp_path / 'o' / 'model_ref.py')!r})\n"
        "m = importlib.util.module_from_spec(spec); spec.loader.exec_module(m)\n"
        "import numpy as np\n"
        "m.run({'features': np.zeros((3, 1, 16), np.float32)})\n"
        "print('LOADED', sorted(k for k in sys.modules if k == 'torch' or k.startswith('ernnc.train')))"
    )
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert "LOADED []" in r.stdout, r.stdout + r.stderr


# -- bad input: one line on stderr, exit 1, no traceback, no output left ------


def _lstm_model(**overrides) -> onnx.ModelProto:
    rng = np.random.RandomState(0)
    h, i = 3, 2
    w = overrides.pop("W", rng.randn(1, 4 * h, i).astype(np.float32))
    r = overrides.pop("R", rng.randn(1, 4 * h, h).astype(np.float32))
    attrs = {"hidden_size": h, **overrides.pop("attrs", {})}
    node = helper.make_node("LSTM", ["X", "W", "R"], ["Y", "Y_h"], name="my_lstm", **attrs)
    nodes = [node] + overrides.pop("extra_nodes", [])
    outputs = overrides.pop(
        "outputs", [helper.make_tensor_value_info("Y_h", TensorProto.FLOAT, [1, "N", h])]
    )
    inits = [numpy_helper.from_array(w, "W"), numpy_helper.from_array(r, "R")]
    drop = overrides.pop("drop", ())
    inits = [t for t in inits if t.name not in drop]
    graph = helper.make_graph(
        nodes,
        "g",
        [helper.make_tensor_value_info("X", TensorProto.FLOAT, ["T", "N", i])],
        outputs,
        inits,
    )
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])


def _bad_models(tmp: Path) -> dict[str, tuple[Path, list[str]]]:
    cases: dict[str, tuple[Path, list[str]]] = {}

    def save(name: str, model: onnx.ModelProto, *expect: str) -> None:
        p = tmp / f"{name}.onnx"
        p.write_bytes(model.SerializeToString())
        cases[name] = (p, list(expect))

    sin = helper.make_node("Sin", ["Y_h"], ["Z"], name="trig")
    save(
        "unsupported_op",
        _lstm_model(
            extra_nodes=[sin],
            outputs=[helper.make_tensor_value_info("Z", TensorProto.FLOAT, [1, "N", 3])],
        ),
        "'trig'",
        "Sin",
    )
    save(
        "bad_attribute",
        _lstm_model(attrs={"direction": "sideways"}),
        "'my_lstm'",
        "direction",
        "sideways",
    )
    save(
        "bad_activation",
        _lstm_model(attrs={"activations": ["Sigmoid", "Tanh", "Cosh"]}),
        "'my_lstm'",
        "activations",
        "Cosh",
    )
    save("unknown_attribute", _lstm_model(attrs={"colour": 3}), "'my_lstm'", "colour", "3")
    save(
        "mismatched_shapes",
        _lstm_model(R=np.zeros((1, 12, 4), np.float32)),
        "'my_lstm'",
        "R",
        "[1, 12, 4]",
    )
    save("missing_initializer", _lstm_model(drop=("R",)), "'my_lstm'", "'R'")
    corrupt = tmp / "corrupt.onnx"
    corrupt.write_bytes(_lstm_model().SerializeToString()[:-40])
    cases["corrupt"] = (corrupt, ["corrupt.onnx"])
    text = tmp / "notes.onnx"
    text.write_text("this is not a model\n")
    cases["not_onnx"] = (text, ["notes.onnx", "ONNX"])
    cases["missing_file"] = (tmp / "nope.onnx", ["nope.onnx", "no such file"])
    return cases


@pytest.mark.parametrize(
    "case",
    [
        "unsupported_op",
        "bad_attribute",
        "bad_activation",
        "unknown_attribute",
        "mismatched_shapes",
        "missing_initializer",
        "corrupt",
        "not_onnx",
        "missing_file",
    ],
)
def test_bad_model_gives_one_line_error(case, tmp_path):
    path, expect = _bad_models(tmp_path)[case]
    out = tmp_path / "out"
    r = _ernnc(str(path), "-o", str(out))
    assert r.returncode == 1
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("ernnc: error: "), r.stderr
    assert "Traceback" not in r.stderr
    for word in expect:
        assert word in lines[0], (word, lines[0])
    assert not out.exists()
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".out")] == []


def test_unwritable_output_directory(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("x")
    r = _ernnc(str(EXAMPLE), "-o", str(blocker / "out"))
    assert (
        r.returncode == 1
        and r.stderr.count("\n") == 1
        and "cannot write output directory" in r.stderr
    )


def test_failed_run_leaves_existing_output_untouched(tmp_path):
    out = tmp_path / "out"
    assert main([str(EXAMPLE), "-o", str(out)]) == 0
    before = {p: p.read_bytes() for p in out.rglob("*") if p.is_file()}
    bad = _bad_models(tmp_path)["unsupported_op"][0]
    assert main([str(bad), "-o", str(out)]) == 1
    assert {p: p.read_bytes() for p in out.rglob("*") if p.is_file()} == before
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".out.")]  # no temporaries left


def test_refuses_to_overwrite_a_foreign_directory(tmp_path):
    out = tmp_path / "mine"
    out.mkdir()
    (out / "thesis.tex").write_text("precious")
    assert main([str(EXAMPLE), "-o", str(out)]) == 1
    assert (out / "thesis.tex").read_text() == "precious"


def test_truncated_ir_dump_is_an_error_not_a_hang(tmp_path, capsys):
    assert main([str(EXAMPLE), "--emit", "cell"]) == 0
    text = capsys.readouterr().out
    cut = text.index('dense<"0x') + 200
    (tmp_path / "cut.mlir").write_text(text[:cut])
    assert main([str(tmp_path / "cut.mlir"), "-o", str(tmp_path / "o")]) == 1
    assert "unterminated string" in capsys.readouterr().err


def test_no_model_and_unknown_stage(capsys):
    assert main([]) == 1
    assert main([str(EXAMPLE), "--emit", "nope"]) == 1
    err = capsys.readouterr().err
    assert "no model given" in err and "unknown stage 'nope'" in err


@pytest.mark.parametrize(
    "pipeline, words",
    [
        ("dce{", ["pass pipeline 'dce{'", "column 5"]),
        ("ernn-fuse-gate", ["unknown pass 'ernn-fuse-gate'", "did you mean 'ernn-fuse-gates'"]),
        ("ernn-block-circulant{blocks=4}", ["unknown option 'blocks'", "block, per-matrix"]),
        ("ernn-block-circulant{block=4,8}", ["option 'block' wants int, got '4,8'"]),
    ],
)
def test_bad_pipeline_is_one_line(pipeline, words, tmp_path):
    r = _ernnc(str(EXAMPLE), "--passes", pipeline, "-o", str(tmp_path / "o"))
    assert r.returncode == 1 and r.stderr.count("\n") == 1, r.stderr
    assert r.stderr.startswith("ernnc: error: ")
    assert all(w in r.stderr for w in words), r.stderr


def test_pipeline_may_span_lines(tmp_path, capsys):
    spec = 'convert-ernn-to-cell,\n  ernn-fuse-gates , dce,\n  ernn-block-circulant{ block=4\n  per-matrix="" }'
    assert main([str(EXAMPLE), "--passes", spec, "--print-ir-after", "ernn-block-circulant"]) == 0
    assert "circ.matvec" in capsys.readouterr().out


@pytest.mark.parametrize(
    "argv,words",
    [
        (
            ["--passes", "convert-ernn-to-cell", "--block-size", "8"],
            ["--block-size builds the default pipeline, which --passes replaces"],
        ),
        (
            ["--passes", "convert-ernn-to-cell", "--precision", "auto:16"],
            ["--precision builds the default pipeline"],
        ),
        (
            ["--passes", "ernn-block-circulant{block=8}"],
            ["ernn-block-circulant works on cell.scan bodies", "run convert-ernn-to-cell first"],
        ),
        (["--print-ir-after", "nope"], ["--print-ir-after nope: no such pass in the pipeline"]),
    ],
)
def test_nothing_is_dropped_silently(argv, words, tmp_path):
    r = _ernnc(str(EXAMPLE), *argv, "-o", str(tmp_path / "o"))
    assert r.returncode == 1 and r.stderr.count("\n") == 1, r.stderr
    assert all(w in r.stderr for w in words), r.stderr
    assert not (tmp_path / "o").exists()


def test_from_must_match_the_ir(tmp_path, capsys):
    fft = tmp_path / "fft.mlir"
    assert main([str(EXAMPLE), "--emit", "fft", "--block-size", "4"]) == 0
    fft.write_text(capsys.readouterr().out)
    cases = [
        ([str(fft), "--from", "cell"], "--from cell: the IR holds fft-stage ops"),
        ([str(EXAMPLE), "--from", "import"], "--from re-enters an IR dump (.mlir)"),
    ]
    for argv, message in cases:
        assert main([*argv, "-o", str(tmp_path / "o")]) == 1
        err = capsys.readouterr().err
        assert err.count("\n") == 1 and message in err, err
        assert not (tmp_path / "o").exists()
    assert main([str(fft), "--from", "fft", "-q", "-o", str(tmp_path / "o")]) == 0


@pytest.mark.parametrize("options", [[], ["--block-size", "4"], ["--precision", "auto:12"]])
def test_every_stored_weight_is_read(options, tmp_path):
    assert main([str(EXAMPLE), "-o", str(tmp_path / "o"), "-q", "--target", "numpy", *options]) == 0
    source = (tmp_path / "o" / "model_ref.py").read_text()
    with np.load(tmp_path / "o" / "weights.npz") as weights:
        unread = [k for k in weights.files if f"w['{k}']" not in source]
    assert unread == []
    unused = [  # per function: every weight loaded into a variable is used
        v
        for body in source.split("\ndef ")
        for v in re.findall(r"^\s*(\w+) = w\['\w+'\]$", body, flags=re.MULTILINE)
        if len(re.findall(rf"\b{v}\b", body)) < 2
    ]
    assert unused == []
