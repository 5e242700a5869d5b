"""``ernnc explore``: the sweep's numbers against an independent computation
(compile_module + the NumPy models + the estimator), the Pareto front, the
rejection by --max-error, the cache, the executors, and bad input."""

from __future__ import annotations

import csv
import json
import math
import random
import shutil
import subprocess
import sys
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from conftest import ZOO
from ernnc.compiler import explore
from ernnc.compiler.cli import main as ernnc_main

MODEL = ZOO / "lstm_cls_last_softmax_dyn_op20.onnx"  # LSTM 6 -> 12, softmax over 4 classes
GRID = [
    "--block-sizes",
    "1,4",
    "--precisions",
    "auto:8,fixed<16,6>",
    "--activations",
    "pwl:16",
    "--max-utils",
    "0.1,0.8",
    "--max-error",
    "0.01",
]


def _calib(path: Path) -> Path:
    rng = np.random.default_rng(0)
    np.savez(path, x=rng.standard_normal((6, 3, 6)).astype(np.float32))
    return path


def _run(argv: list[str], capsys=None) -> tuple[int, str, str]:  # noqa: ANN001
    rc = ernnc_main(["explore", *argv])
    out, err = capsys.readouterr() if capsys is not None else ("", "")
    return rc, out, err


def _results(out: Path) -> dict:
    return json.loads((out / "results.json").read_text())


def _stable(results: dict) -> list[dict]:
    """The points without what depends on the run (timings)."""
    points = json.loads(json.dumps(results["points"]))
    for p in points:
        p["accuracy"].pop("seconds", None)
        p["hardware"].pop("seconds", None)
    return points


@pytest.fixture(scope="module")
def sweep(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("explore")
    calib = _calib(tmp / "calib.npz")
    out = tmp / "explore"
    rc = ernnc_main(["explore", str(MODEL), "--calib", str(calib), "-o", str(out), "-q", *GRID])
    assert rc == 0
    return out, calib, _results(out)


# -- what is written ------------------------------------------------------------------


def test_results_json_and_csv(sweep):
    out, calib, results = sweep
    assert (out / "results.csv").exists() and not (out.parent / "explore.cache").is_file()
    assert results["model"] == MODEL.name and results["calib"] == calib.name
    assert results["inputs"] == f"calibration inputs {calib.name}"
    assert results["axes"]["block_sizes"] == [1, 4]
    assert results["axes"]["precisions"] == ["auto:8", "fixed<16,6>"]
    points = results["points"]
    assert len(points) == 2 * 2 * 1 * 2 == results["evaluations"]["points"]
    assert results["evaluations"]["designs_compiled"] == 4
    # grid order: block, precision, activations, then the budgets
    assert [(p["block_size"], p["precision"], p["max_util"]) for p in points] == [
        (b, prec, u) for b in (1, 4) for prec in ("auto:8", "fixed<16,6>") for u in (0.1, 0.8)
    ]
    assert len({p["key"] for p in points}) == len(points)
    rows = list(csv.DictReader((out / "results.csv").open()))
    assert [r["key"] for r in rows] == [p["key"] for p in points]
    for r, p in zip(rows, points, strict=True):
        assert float(r["error"]) == p["error"]
        assert float(r["frames_per_second"]) == p["frames_per_second"]
        assert float(r["utilization"]) == p["utilization"]
        assert r["status"] == p["status"] and r["pareto"] == str(p["pareto"])
        assert float(r["dsp_util"]) == p["hardware"]["resources"]["dsp"]["utilization"]
    for p in points:
        assert p["argmax_agreement"] is not None  # a softmax classifier
        assert p["accuracy"]["compression"]["ratio"] == pytest.approx(p["block_size"], rel=0.3)
        assert p["accuracy"]["quantization"]["outputs"]["probs"]["rel"] >= 0
        assert p["utilization"] == max(
            r["utilization"] for r in p["hardware"]["resources"].values()
        )
    assert set(results["front"]) == {p["key"] for p in points if p["pareto"]}


def test_every_point_equals_an_independent_computation(sweep):
    """Each point's error recomputed with compile_module and run_module (the
    dense float cell stage against the quantized stage), and its hardware with
    compile_module to the scheduled stage and the estimator."""
    from ernnc.backends.numpy import run_module
    from ernnc.backends.numpy.inputs import load_inputs
    from ernnc.compiler.api import compile_module
    from ernnc.compiler.pipeline import PipelineOptions
    from ernnc.compiler.report import output_errors
    from ernnc.hardware.devices import RESOURCES, device
    from ernnc.hardware.estimate import estimate

    _, calib, results = sweep
    dense = compile_module(MODEL, "cell")
    inputs = load_inputs(calib, dense)
    want = run_module(dense, inputs)
    for p in results["points"]:
        options = PipelineOptions(
            block_size=str(p["block_size"]),
            precision=p["precision"],
            activations=p["activations"],
            calib=str(calib),
            max_util=p["max_util"],
        )
        got = run_module(compile_module(MODEL, "quantized", options), inputs)
        errors = output_errors(want, got, {0})
        assert p["error"] == errors["probs"]["rel"]
        assert p["argmax_agreement"] == errors["probs"]["argmax_agreement"]
        est = estimate(compile_module(MODEL, "scheduled", options), device("ku060"), 200.0)
        hw = p["hardware"]
        assert hw["frames_per_second"] == round(est.fps, 1)
        assert hw["cycles_per_step"] == est.cycles_per_step
        assert hw["fits"] == est.fits and hw["binding"] == est.binding
        util = est.utilization()
        for r in RESOURCES:
            if r in hw["resources"]:
                assert hw["resources"][r]["utilization"] == round(util[r], 4)


# -- the front and the rejections -------------------------------------------------------


def test_front_is_non_dominated_and_covers_the_accepted(sweep):
    _, _, results = sweep
    points = results["points"]
    accepted = [p for p in points if p["status"] == "accepted"]
    front = [p for p in points if p["pareto"]]
    assert front and all(p["status"] == "accepted" for p in front)
    obj = explore.objectives
    for p in front:
        assert not any(explore.dominates(obj(q), obj(p)) for q in accepted)
    for p in accepted:
        if not p["pareto"]:  # beaten by an accepted point, or standing behind an equal one
            same = [q for q in front if q["key"] == p["same_as"]]
            assert any(explore.dominates(obj(q), obj(p)) for q in accepted) or (
                same and obj(same[0]) == obj(p)
            )


@pytest.mark.parametrize("seed", range(5))
def test_pareto_on_random_points(seed):
    rng = random.Random(seed)
    points = [
        {
            "key": f"p{i}",
            "status": rng.choice(["accepted", "accepted", "rejected"]),
            "error": rng.choice([0.0, 0.1, 0.2, 0.3]),
            "frames_per_second": rng.choice([1.0, 2.0, 3.0]),
            "utilization": rng.choice([0.1, 0.5, 0.9]),
            "pareto": False,
            "same_as": None,
        }
        for i in range(40)
    ]
    front = explore.pareto(points)
    accepted = [p for p in points if p["status"] == "accepted"]
    vectors = {explore.objectives(p) for p in accepted}
    # brute force: the non-dominated objective vectors, each once
    expected = {v for v in vectors if not any(explore.dominates(w, v) for w in vectors if w != v)}
    assert sorted(explore.objectives(p) for p in front) == sorted(expected)
    assert all(p["status"] == "accepted" for p in front)
    fps = [p["frames_per_second"] for p in front]
    assert fps == sorted(fps, reverse=True)


def test_max_error_rejects_points(sweep):
    _, _, results = sweep
    for p in results["points"]:
        over = p["error"] > results["max_error"]
        assert (p["status"] == "rejected") == (over or not p["fits"])
        if over:
            assert "--max-error" in p["reason"] and not p["pareto"]
    assert any(p["status"] == "rejected" for p in results["points"])
    assert any(p["status"] == "accepted" for p in results["points"])


# -- the cache --------------------------------------------------------------------------


def test_cache_is_reused_extended_and_keyed_by_the_model(sweep, tmp_path, capsys):
    out0, calib, first = sweep
    out = tmp_path / "explore"
    cache = tmp_path / "cache"
    shutil.copytree(out0.parent / "explore.cache", cache)
    base = [str(MODEL), "--calib", str(calib), "-o", str(out), "--cache", str(cache), *GRID]

    # the same sweep: nothing computed, the same points
    assert _run([*base, "-q"])[0] == 0
    again = _results(out)
    assert again["evaluations"]["designs_compiled"] == 0
    assert again["evaluations"]["points_estimated"] == 0
    assert again["evaluations"]["points_from_cache"] == len(first["points"])
    assert _stable(again) == _stable(first)

    # a stricter --max-error reuses every point and rejects them all
    rc, _, err = _run([*base, "--max-error", "1e-9"], capsys)
    assert rc == 0 and "no point meets --max-error 1e-09" in err
    strict = _results(out)
    assert strict["evaluations"]["points_estimated"] == 0
    assert strict["front"] == [] and {p["status"] for p in strict["points"]} == {"rejected"}

    # one more budget: Phase I's modules come from the cache, only Phase II runs
    assert _run([*base, "-q", "--max-utils", "0.1,0.8,0.4"])[0] == 0
    more = _results(out)
    assert more["evaluations"]["designs_compiled"] == 0
    assert more["evaluations"]["points_estimated"] == 4
    # ... from the module read back from the cache: as a fresh compile estimates it
    from ernnc.compiler.api import compile_module
    from ernnc.compiler.pipeline import PipelineOptions
    from ernnc.hardware.devices import device
    from ernnc.hardware.estimate import estimate

    p = next(p for p in more["points"] if p["max_util"] == 0.4 and p["block_size"] == 4)
    options = PipelineOptions(
        block_size="4", precision=p["precision"], activations="pwl:16", calib=str(calib)
    )
    scheduled = compile_module(MODEL, "scheduled", replace(options, max_util=0.4))
    est = estimate(scheduled, device("ku060"), 200.0)
    assert p["hardware"]["frames_per_second"] == round(est.fps, 1)
    assert p["utilization"] == round(max(est.utilization().values()), 4)

    # a damaged entry is computed again
    entry = cache / first["model_sha256"] / f"{first['points'][0]['key']}.json"
    entry.write_text("{not json")
    assert _run([*base, "-q"])[0] == 0
    assert _results(out)["evaluations"]["points_estimated"] == 1
    assert json.loads(entry.read_text())["point"]["max_util"] == 0.1

    # another model (other bytes, so another sha256): computed afresh
    other = tmp_path / MODEL.name
    other.write_bytes(MODEL.read_bytes() + b"\n")  # a trailing field tag parses as the same model
    rc = _run([str(other), *base[1:], "-q"])[0]
    if rc != 0:  # protobuf may reject the byte; change the doc string instead
        import onnx

        m = onnx.load(MODEL)
        m.doc_string = "another model"
        onnx.save(m, other)
        rc = _run([str(other), *base[1:], "-q"])[0]
    assert rc == 0
    fresh = _results(out)
    assert fresh["evaluations"]["designs_compiled"] == 4
    assert fresh["model_sha256"] != first["model_sha256"]
    assert sorted(d.name for d in cache.iterdir()) == sorted(
        [first["model_sha256"], fresh["model_sha256"]]
    )


def test_default_cache_is_beside_the_output_and_survives_a_rerun(sweep):
    out, _, results = sweep
    cache = out.parent / "explore.cache" / results["model_sha256"]
    assert (cache / "model.json").exists()
    entries = sorted(f.name for f in cache.glob("*.json") if f.name != "model.json")
    assert len(entries) == 4 + 8  # a design per compiled module, a point per budget
    assert len(list(cache.glob("*.mlir"))) == 4
    assert not (out / "cache").exists()


# -- executors --------------------------------------------------------------------------


def test_jobs_2_gives_the_same_results(sweep, tmp_path):
    _, calib, first = sweep
    out = tmp_path / "j2"
    argv = [str(MODEL), "--calib", str(calib), "-o", str(out), "--no-cache", "-q", *GRID]
    assert _run([*argv, "--jobs", "2"])[0] == 0
    results = _results(out)
    assert results["evaluations"]["designs_compiled"] == 4
    assert _stable(results) == _stable(first)
    assert results["front"] == first["front"]


def test_dask_missing_is_a_one_line_error(tmp_path, monkeypatch, capsys):
    monkeypatch.setitem(sys.modules, "distributed", None)  # import distributed fails
    out = tmp_path / "o"
    rc, _, err = _run([str(MODEL), "-o", str(out), "--executor", "dask://127.0.0.1:8786"], capsys)
    assert rc == 1
    assert err.count("\n") == 1 and err.startswith("ernnc explore: error: --executor dask://")
    assert "pip install 'ernnc[dask]'" in err
    assert not out.exists()


def test_dask_local_cluster(sweep, tmp_path):
    pytest.importorskip(
        "distributed", reason="dask.distributed is not installed (pip install 'ernnc[dask]')"
    )
    from distributed import LocalCluster

    _, calib, first = sweep
    out = tmp_path / "dask"
    with LocalCluster(
        n_workers=1, threads_per_worker=1, processes=False, protocol="tcp", dashboard_address=None
    ) as cluster:
        address = cluster.scheduler_address  # tcp://127.0.0.1:PORT
        argv = [str(MODEL), "--calib", str(calib), "-o", str(out), "--no-cache", "-q", *GRID]
        assert _run([*argv, "--executor", f"dask://{address}"])[0] == 0
    results = _results(out)
    assert results["evaluations"]["designs_compiled"] == 4
    assert _stable(results) == _stable(first)


# -- progress and the plot --------------------------------------------------------------


def test_plain_progress_and_the_table(sweep, tmp_path, monkeypatch, capsys):
    monkeypatch.setitem(sys.modules, "tqdm", None)  # as without the progress extra
    _, calib, _ = sweep
    out = tmp_path / "p"
    rc, stdout, err = _run(
        [str(MODEL), "--calib", str(calib), "-o", str(out), "--no-cache", *GRID], capsys
    )
    assert rc == 0
    lines = [ln for ln in err.splitlines() if ln.startswith("ernnc explore: [")]
    assert len(lines) == 8 and lines[-1].startswith("ernnc explore: [8/8] b=4 fixed<16,6>")
    front = _results(out)["front"]
    assert f"({len(front)} on the Pareto front)" in stdout
    assert "frames/s" in stdout.splitlines()[2]
    assert len(stdout.splitlines()) == 3 + len(front)


def test_pareto_png_or_a_note(sweep, tmp_path, monkeypatch, capsys):
    out, calib, _ = sweep
    try:
        import matplotlib  # noqa: F401

        assert (out / "pareto.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    except ImportError:
        assert not (out / "pareto.png").exists()
    monkeypatch.setitem(sys.modules, "matplotlib", None)
    out2 = tmp_path / "noplot"
    rc, _, err = _run([str(MODEL), "--calib", str(calib), "-o", str(out2), *GRID], capsys)
    assert rc == 0 and not (out2 / "pareto.png").exists()
    assert "no pareto.png: matplotlib is not installed (pip install 'ernnc[plot]')" in err


def test_float_precisions_take_exact_activations():
    args = explore.build_parser().parse_args(
        ["m.onnx", "--precisions", "float,auto:8,fixed<16,6>", "--activations", "pwl:16,lut:64"]
    )
    grid = explore.parse_grid(args)
    assert [(d.precision, d.activations) for d in grid.designs[:5]] == [
        ("float", "exact"),
        ("auto:8", "pwl:16"),
        ("auto:8", "lut:64"),
        ("fixed<16,6>", "pwl:16"),
        ("fixed<16,6>", "lut:64"),
    ]
    assert len(grid.budgets) == 3


# -- bad input: one line, exit 1, no output ------------------------------------------------


@pytest.mark.parametrize(
    "extra, message",
    [
        (["--block-sizes", "3"], "--block-sizes '3': expected powers of two"),
        (["--block-sizes", "4,,8"], "--block-sizes '4,,8': expected a comma-separated list"),
        (["--precisions", "fixed<16"], "--precisions 'fixed<16'"),
        (["--activations", "cubic:8"], "--activations 'cubic:8': expected pwl:N or lut:N"),
        (["--max-utils", "0"], "--max-utils '0': expected fractions in (0, 1]"),
        (["--max-utils", "1.5"], "--max-utils '1.5'"),
        (["--max-error", "-1"], "--max-error -1: expected a non-negative number"),
        (["--jobs", "0"], "--jobs 0: expected at least 1"),
        (["--executor", "ray://x"], "--executor 'ray://x': expected local or dask://ADDRESS"),
        (["--executor", "dask://"], "--executor 'dask://': expected dask://HOST:PORT"),
        (["--device", "nope"], "--device: unknown device 'nope'"),
        (["--clock", "0"], "--clock 0: expected a positive frequency"),
        (["--schedule", "speed=2"], "--schedule: schedule override 'speed=2'"),
        (["--max-dims", "T=0"], "--max-dims 'T=0': expected NAME=N"),
    ],
)
def test_bad_options(tmp_path, capsys, extra, message):
    out = tmp_path / "o"
    rc, _, err = _run([str(MODEL), "-o", str(out), *extra], capsys)
    assert rc == 1, err
    assert err.count("\n") == 1 and err.startswith(f"ernnc explore: error: {message}"), err
    assert not out.exists() and not (tmp_path / "o.cache").exists()


def test_bad_inputs(tmp_path, capsys):
    out = tmp_path / "o"
    wrong_keys = tmp_path / "wrong.npz"
    np.savez(wrong_keys, features=np.zeros((2, 1, 6), np.float32))
    not_onnx = tmp_path / "bad.onnx"
    not_onnx.write_bytes(b"\x00garbage")
    dump = tmp_path / "m.mlir"
    dump.write_text("builtin.module {}\n")
    taken = tmp_path / "taken"
    taken.mkdir()
    (taken / "mine.txt").write_text("not ernnc's\n")
    cases = [
        ([str(tmp_path / "none.onnx"), "-o", str(out)], "model "),
        ([str(not_onnx), "-o", str(out)], "bad.onnx: not a valid ONNX model"),
        ([str(dump), "-o", str(out)], "takes an ONNX model, not an IR dump"),
        ([str(MODEL), "-o", str(out), "--calib", str(tmp_path / "no.npz")], "calibration file"),
        ([str(MODEL), "-o", str(out), "--calib", str(wrong_keys)], "calibration file"),
        ([str(MODEL)], "no output directory given"),
        ([str(MODEL), "-o", str(taken)], "is not empty and was not written by ernnc"),
        ([str(MODEL), "-o", str(out), "--cache", str(out / "c")], "is inside the output"),
        (
            [str(MODEL), "-o", str(out), "--executor", "dask://h:1", "--jobs", "2"],
            "--jobs sets the local process pool",
        ),
    ]
    for argv, message in cases:
        rc, _, err = _run(argv, capsys)
        assert rc == 1, (argv, err)
        assert err.count("\n") == 1 and err.startswith("ernnc explore: error: "), err
        assert message in err, (message, err)
        assert not out.exists() and not (tmp_path / "o.cache").exists()
    assert sorted(p.name for p in taken.iterdir()) == ["mine.txt"]


def test_failed_sweep_leaves_no_output(tmp_path, capsys):
    """Every point failing (a schedule override no knob matches) is an error:
    no output directory; the designs compiled on the way stay in the cache."""
    out = tmp_path / "o"
    argv = [str(MODEL), "-o", str(out), "--block-sizes", "4", "--precisions", "auto:8"]
    argv += ["--activations", "pwl:16", "--max-utils", "0.5", "--schedule", "layer7.lanes=2", "-q"]
    rc, _, err = _run(argv, capsys)
    assert rc == 1 and err.count("\n") == 1
    assert "every point failed" in err and "no such knob" in err
    assert not out.exists()
    assert len(list((tmp_path / "o.cache").glob("*/*.mlir"))) == 1
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".o.")]  # no temporary dirs


def test_help_is_fast_and_imports_nothing_heavy():
    code = (
        "import sys\nfrom ernnc.compiler.cli import main\n"
        "try:\n    main(['explore', '--help'])\nexcept SystemExit:\n    pass\n"
        "heavy = ('onnx', 'onnxruntime', 'torch', 'xdsl', 'numpy', 'dask', 'distributed', "
        "'matplotlib', 'tqdm')\n"
        "print('HEAVY', [m for m in heavy if m in sys.modules])"
    )
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=False)
    assert "HEAVY []" in r.stdout, r.stdout + r.stderr
    assert "--max-utils" in r.stdout and "Pareto front" in r.stdout


def test_nonfinite_and_numpy_values_become_json():
    cleaned = explore._clean(
        {"a": np.float64(0.5), "b": np.int64(3), "c": math.inf, "d": [np.nan, True]}
    )
    assert cleaned == {"a": 0.5, "b": 3, "c": None, "d": [None, True]}
    assert type(cleaned["b"]) is int
    json.dumps(cleaned, allow_nan=False)
