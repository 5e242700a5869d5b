"""Pass plugins: --load-pass-plugin (file, package, module), the ernnc.passes
entry point group, the example plugin end to end, and their one-line errors."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import onnx
import pytest
from conftest import REPO, ZOO, max_abs, ort_run, zoo_inputs, zoo_manifest
from onnx import TensorProto, helper, numpy_helper

from ernnc.compiler import plugins
from ernnc.compiler.cli import main
from ernnc.compiler.errors import ErnncError

EXAMPLE = REPO / "examples" / "custom_pass" / "choose_block_size.py"
CELL = "convert-ernn-to-cell,ernn-fuse-gates,canonicalize,cse,dce"
TAIL = "canonicalize,cse,dce,ernn-circulant-to-fft,canonicalize,cse,dce"


def choose_pipeline(options: str) -> str:
    return f"{CELL},ernn-choose-block-size{{{options}}},{TAIL}"


@pytest.fixture(autouse=True)
def fresh_plugin_registry():
    """Plugins register process-wide; each test starts and ends without any."""
    saved = dict(plugins._registry), plugins._entry_points_loaded
    plugins._registry.clear()
    yield
    plugins._registry.clear()
    plugins._registry.update(saved[0])
    plugins._entry_points_loaded = saved[1]


def _write(path: Path, source: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(textwrap.dedent(source))
    return path


PASS_SOURCE = """
    from dataclasses import dataclass
    from xdsl.passes import ModulePass

    @dataclass(frozen=True)
    class {cls}(ModulePass):
        \"\"\"Do nothing, {name}.\"\"\"

        name = "{name}"
        times: int = 1

        def apply(self, ctx, op):
            pass
"""

# A deliberately broken pass: gives every dense matvec more gates than rows,
# which cell.matvec's verifier rejects.
BREAK_IR = """
    from dataclasses import dataclass
    from xdsl.dialects.builtin import ArrayAttr, StringAttr
    from xdsl.passes import ModulePass
    from ernnc.dialects import cell

    @dataclass(frozen=True)
    class BreakIR(ModulePass):
        name = "test-break-ir"

        def apply(self, ctx, op):
            for mv in op.walk():
                if isinstance(mv, cell.MatVecOp):
                    gates = [f"g{i}" for i in range(mv.w.type.get_shape()[0] + 1)]
                    mv.properties["gates"] = ArrayAttr([StringAttr(g) for g in gates])
"""

CRASH = """
    from dataclasses import dataclass
    from xdsl.passes import ModulePass

    @dataclass(frozen=True)
    class Crash(ModulePass):
        name = "test-crash"

        def apply(self, ctx, op):
            raise RuntimeError("boom")
"""


# -- the example plugin ---------------------------------------------------------


def test_plugin_pass_is_listed_with_its_options(capsys):
    assert main(["--load-pass-plugin", str(EXAMPLE), "--list-passes"]) == 0
    out = capsys.readouterr().out
    assert 'ernn-block-circulant{block=8 per-matrix=""}' in out  # the built-ins too
    assert "ernn-choose-block-size{max-error=0.3 candidates=4,8,16}" in out
    assert "Per matrix, the largest candidate block size" in out
    assert f"(from {EXAMPLE})" in out


def _near_circulant_lstm(path: Path) -> None:
    """An LSTM whose W is exactly block-circulant with 8x8 blocks and whose R
    is not structured at all."""
    rng = np.random.RandomState(3)
    h = i = 16
    b = 8
    gen = rng.randn(4 * h // b, i // b, b).astype(np.float32)
    idx = (np.arange(b)[:, None] - np.arange(b)[None, :]) % b
    w = gen[:, :, idx].transpose(0, 2, 1, 3).reshape(4 * h, i)  # blocks [P, Q, b, b] -> rows
    r = (rng.randn(4 * h, h) * 0.3).astype(np.float32)
    node = helper.make_node("LSTM", ["X", "W", "R"], ["", "Y_h"], hidden_size=h)
    graph = helper.make_graph(
        [node],
        "g",
        [helper.make_tensor_value_info("X", TensorProto.FLOAT, ["T", "N", i])],
        [helper.make_tensor_value_info("Y_h", TensorProto.FLOAT, [1, "N", h])],
        [numpy_helper.from_array(w[None] * 0.3, "W"), numpy_helper.from_array(r[None], "R")],
    )
    onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)]), path)


def _load_generated(directory: Path):
    import importlib.util

    spec = importlib.util.spec_from_file_location("gen_model_ref", directory / "model_ref.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_example_plugin_compresses_losslessly_what_it_can(tmp_path):
    """W is block-circulant at 8 (not 16), R at nothing: the pass picks 8 for
    W, keeps R dense, and the compiled model still equals onnxruntime's."""
    model = tmp_path / "lstm.onnx"
    _near_circulant_lstm(model)
    out = tmp_path / "out"
    pipeline = choose_pipeline("max-error=0.05 candidates=4,8,16")
    argv = [str(model), "-o", str(out), "-q", "--load-pass-plugin", str(EXAMPLE)]
    assert main([*argv, "--passes", pipeline]) == 0
    report = json.loads((out / "report.json").read_text())
    blocks = {m["name"]: (m["block"], m["exact"]) for m in report["compression"]["matrices"]}
    assert blocks == {"layer0.fwd.W": (8, True), "layer0.fwd.R": (1, True)}  # R stays dense
    x = np.random.RandomState(0).randn(7, 3, 16).astype(np.float32)
    got = _load_generated(out).run({"X": x})["Y_h"]
    assert max_abs(got, ort_run(model, {"X": x})["Y_h"]) <= 1e-5


def test_example_plugin_on_a_zoo_model_end_to_end(tmp_path):
    """Each matrix gets the largest candidate within the bound (checked
    against ernnc.circulant directly), and the generated FFT-form model
    computes what the IR right after the pass computes."""
    from ernnc.backends.numpy import run_module
    from ernnc.circulant import Blocking, project, relative_error
    from ernnc.compiler.api import compile_module, run_passes
    from ernnc.dialects import cell
    from ernnc.dialects.constants import constant_value

    model = ZOO / "lstm_l2_bi_bf_h0_dyn_op20.onnx"
    options = "max-error=0.77 candidates=2,4,8"
    out = tmp_path / "out"
    argv = [str(model), "-o", str(out), "-q", "--load-pass-plugin", str(EXAMPLE)]
    assert main([*argv, "--passes", choose_pipeline(options)]) == 0
    report = json.loads((out / "report.json").read_text())
    chosen = {m["name"]: m for m in report["compression"]["matrices"]}

    dense = compile_module(model, "cell")
    expected = {}
    for mv in dense.walk():
        if isinstance(mv, cell.MatVecOp):
            w, g = constant_value(mv.w), len(mv.gate_names)
            fits = [
                b
                for b in (2, 4, 8)
                if relative_error(
                    w, project(w, bl := Blocking(g, w.shape[0] // g, w.shape[1], b)), bl
                )
                <= 0.77
            ]
            expected[mv.matrix.data] = max(fits, default=1)
    assert {k: m["block"] for k, m in chosen.items()} == expected
    assert len(set(expected.values())) > 1  # the bound separates the matrices
    assert all(m["rel_error"] <= 0.77 for m in chosen.values())

    circulant = run_passes(dense, f"ernn-choose-block-size{{{options}}}")
    entry = next(e for e in zoo_manifest() if e["file"] == model.name)
    feeds = zoo_inputs(entry, {"T": 7, "N": 3}, np.random.RandomState(1))
    want = run_module(circulant, feeds)
    got = _load_generated(out).run(feeds)
    assert set(got) == set(want) == set(entry["outputs"])
    for name in want:
        assert max_abs(got[name], want[name]) <= 1e-5, name


# -- loading: files, packages, modules, entry points --------------------------


def test_package_directory_and_module_name_plugins(tmp_path, monkeypatch, capsys):
    _write(
        tmp_path / "pkg_plugin" / "__init__.py", "from .impl import PassA\nERNNC_PASSES = [PassA]\n"
    )
    _write(tmp_path / "pkg_plugin" / "impl.py", PASS_SOURCE.format(cls="PassA", name="test-a"))
    _write(tmp_path / "mod_plugin.py", PASS_SOURCE.format(cls="PassB", name="test-b"))
    monkeypatch.syspath_prepend(str(tmp_path))
    argv = ["--load-pass-plugin", str(tmp_path / "pkg_plugin"), "--load-pass-plugin", "mod_plugin"]
    assert main([*argv, "--list-passes"]) == 0
    out = capsys.readouterr().out
    assert "test-a{times=1}" in out and "test-b{times=1}" in out
    assert "Do nothing, test-a." in out


def test_plugin_pass_runs_in_passes_and_print_ir_after(tmp_path, capsys):
    plugin = _write(tmp_path / "noop.py", PASS_SOURCE.format(cls="Noop", name="test-noop"))
    model = ZOO / "gru_l1_uni_dyn_op20.onnx"
    argv = [str(model), "--load-pass-plugin", str(plugin), "--print-ir-after", "test-noop"]
    assert main([*argv, "--passes", f"{CELL},test-noop{{times=3}}"]) == 0
    out = capsys.readouterr().out
    assert "// -----// IR after test-noop{times=3} //----- //" in out
    assert "cell.scan" in out


def _fake_distribution(root: Path, entry_points: str) -> Path:
    """A directory that importlib.metadata reads as an installed distribution."""
    source = textwrap.dedent(PASS_SOURCE.format(cls="PassC", name="test-c"))
    source += textwrap.dedent(PASS_SOURCE.format(cls="PassD", name="test-d"))
    _write(root / "ep_plugin.py", source + "\nERNNC_ALL = [PassD]\n")
    info = root / "ep_plugin-0.1.dist-info"
    _write(info / "METADATA", "Metadata-Version: 2.1\nName: ep-plugin\nVersion: 0.1\n")
    _write(info / "entry_points.txt", entry_points)
    return root


def _run(tool: str, *args: str, path: Path | None = None) -> subprocess.CompletedProcess:
    env = dict(os.environ)
    if path is not None:
        env["PYTHONPATH"] = str(path) + os.pathsep + env.get("PYTHONPATH", "")
    module = {"ernnc": "ernnc.compiler.cli", "ernnc-opt": "ernnc.compiler.opt"}[tool]
    return subprocess.run(
        [sys.executable, "-m", module, *args], capture_output=True, text=True, env=env, cwd=REPO
    )


def test_entry_point_group_offers_passes(tmp_path):
    root = _fake_distribution(
        tmp_path, "[ernnc.passes]\none = ep_plugin:PassC\nlist = ep_plugin:ERNNC_ALL\n"
    )
    r = _run("ernnc", "--list-passes", path=root)
    assert r.returncode == 0, r.stderr
    assert "test-c{times=1}" in r.stdout and "test-d{times=1}" in r.stdout
    assert "(from entry point 'one' (ernnc.passes: ep_plugin:PassC))" in r.stdout
    r = _run("ernnc-opt", "--help", path=root)
    assert "test-c{times=1}" in r.stdout and "test-d{times=1}" in r.stdout
    mlir = REPO / "tests" / "filecheck" / "ernn-block-circulant.mlir"
    r = _run("ernnc-opt", str(mlir), "-p", "test-c,test-d{times=2}", path=root)
    assert r.returncode == 0 and "cell.scan" in r.stdout, r.stderr


def test_broken_entry_point_is_one_line(tmp_path):
    root = _fake_distribution(tmp_path, "[ernnc.passes]\nbad = ep_plugin:Missing\n")
    r = _run("ernnc", "--list-passes", path=root)
    assert r.returncode == 1 and r.stderr.count("\n") == 1, r.stderr
    assert r.stderr.startswith("ernnc: error: pass plugin entry point 'bad'")


# -- errors ------------------------------------------------------------------


def _plugin_error_cases(tmp: Path) -> dict[str, tuple[list[str], list[str]]]:
    no_passes = _write(tmp / "no_passes.py", "X = 1\n")
    clash = _write(tmp / "clash.py", PASS_SOURCE.format(cls="MyDce", name="dce"))
    clash_ours = _write(
        tmp / "clash_ours.py", PASS_SOURCE.format(cls="Mine", name="ernn-block-circulant")
    )
    one = _write(tmp / "one.py", PASS_SOURCE.format(cls="P1", name="test-same"))
    two = _write(tmp / "two.py", PASS_SOURCE.format(cls="P2", name="test-same"))
    syntax = _write(tmp / "syntax.py", "def broken(:\n")
    raises = _write(tmp / "raises.py", "raise ImportError('needs torch')\n")
    nameless = _write(
        tmp / "nameless.py",
        PASS_SOURCE.format(cls="Nameless", name="x").replace('name = "x"', ""),
    )
    return {
        "missing file": (["--load-pass-plugin", str(tmp / "nope.py")], ["nope.py", "no such file"]),
        "missing module": (
            ["--load-pass-plugin", "no_such_mod"],
            ["no_such_mod", "no such file or importable module"],
        ),
        "no passes": (
            ["--load-pass-plugin", str(no_passes)],
            ["no_passes.py", "defines no ModulePass"],
        ),
        "clash with xdsl": (
            ["--load-pass-plugin", str(clash)],
            ["'dce'", "clashes with a built-in"],
        ),
        "clash with ernnc": (
            ["--load-pass-plugin", str(clash_ours)],
            ["'ernn-block-circulant'", "built-in"],
        ),
        "clash between plugins": (
            ["--load-pass-plugin", str(one), "--load-pass-plugin", str(two)],
            ["two.py", "'test-same'", "one.py"],
        ),
        "syntax error": (["--load-pass-plugin", str(syntax)], ["syntax.py", "SyntaxError"]),
        "import error": (
            ["--load-pass-plugin", str(raises)],
            ["raises.py", "ImportError: needs torch"],
        ),
        "no name": (["--load-pass-plugin", str(nameless)], ["Nameless", "no valid pass name"]),
    }


CASES = [
    "missing file",
    "missing module",
    "no passes",
    "clash with xdsl",
    "clash with ernnc",
    "clash between plugins",
    "syntax error",
    "import error",
    "no name",
]


@pytest.mark.parametrize("case", CASES)
def test_bad_plugin_is_one_line_in_ernnc(case, tmp_path, capsys):
    argv, words = _plugin_error_cases(tmp_path)[case]
    assert main([*argv, "--list-passes"]) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("ernnc: error: pass plugin "), err
    for w in words:
        assert w in err, (w, err)


@pytest.mark.parametrize("case", ["missing module", "clash with xdsl", "syntax error"])
def test_bad_plugin_is_one_line_in_ernnc_opt(case, tmp_path):
    argv, words = _plugin_error_cases(tmp_path)[case]
    r = _run("ernnc-opt", *argv, "--help")
    assert r.returncode == 1 and r.stderr.count("\n") == 1, r.stderr
    assert r.stderr.startswith("ernnc-opt: error: pass plugin ")
    assert all(w in r.stderr for w in words), r.stderr


def test_verify_each_names_the_pass_that_broke_the_ir(tmp_path, capsys):
    plugin = _write(tmp_path / "break_ir.py", BREAK_IR)
    out = tmp_path / "out"
    argv = [
        str(ZOO / "lstm_l1_uni_dyn_op20.onnx"),
        "-o",
        str(out),
        "--load-pass-plugin",
        str(plugin),
    ]
    assert main([*argv, "--passes", f"{CELL},test-break-ir,canonicalize,dce"]) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1, err
    assert "the IR does not verify after pass 'test-break-ir': op 'cell.matvec'" in err
    assert "rows must split evenly into the listed gates" in err
    assert not out.exists()


def test_verify_each_in_ernnc_opt_names_the_pass(tmp_path):
    plugin = _write(tmp_path / "break_ir.py", BREAK_IR)
    mlir = REPO / "tests" / "filecheck" / "ernn-block-circulant.mlir"
    r = _run(
        "ernnc-opt", str(mlir), "--load-pass-plugin", str(plugin), "-p", "dce,test-break-ir,cse"
    )
    assert r.returncode == 1 and r.stderr.count("\n") == 1, r.stderr
    assert "the IR does not verify after pass 'test-break-ir': op 'cell.matvec'" in r.stderr


def test_crashing_plugin_pass_is_blamed_on_the_plugin(tmp_path, capsys):
    plugin = _write(tmp_path / "crash.py", CRASH)
    argv = [str(ZOO / "lstm_l1_uni_dyn_op20.onnx"), "-o", str(tmp_path / "o")]
    assert main([*argv, "--load-pass-plugin", str(plugin), "--passes", "test-crash"]) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1
    assert f"pass 'test-crash' (plugin {plugin}) crashed: RuntimeError: boom" in err
    with pytest.raises(ErnncError) as raised:  # its traceback shows the plugin's
        main([*argv, "--load-pass-plugin", str(plugin), "--passes", "test-crash", "--traceback"])
    assert isinstance(raised.value.__cause__, RuntimeError)


def test_ernnc_opt_help_lists_a_loaded_plugin(capsys):
    from ernnc.compiler import opt

    assert opt.main(["--load-pass-plugin", str(EXAMPLE), "--help"]) == 0
    out = capsys.readouterr().out
    assert "plugin passes:" in out
    assert "ernn-choose-block-size{max-error=0.3 candidates=4,8,16}" in out
