"""Shared fixtures: the torch-exported zoo, onnxruntime as the oracle,
input generation, and the FileCheck runner for tests/filecheck/*.mlir."""

from __future__ import annotations

import json
import shlex
import subprocess
import sys
from pathlib import Path

import numpy as np

TESTS = Path(__file__).parent
ZOO = TESTS / "models" / "zoo"
REPO = TESTS.parent


def zoo_manifest() -> list[dict]:
    return json.loads((ZOO / "manifest.json").read_text())["models"]


def ort_session(model):
    """An onnxruntime session on one thread (model: path, bytes or ModelProto)."""
    import onnxruntime as ort

    so = ort.SessionOptions()
    so.intra_op_num_threads = 1
    so.inter_op_num_threads = 1
    so.log_severity_level = 3
    if not isinstance(model, (str, Path, bytes)):
        model = model.SerializeToString()
    return ort.InferenceSession(
        str(model) if isinstance(model, Path) else model, so, providers=["CPUExecutionProvider"]
    )


def ort_run(model, feeds: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    sess = ort_session(model)
    names = [o.name for o in sess.get_outputs()]
    return dict(zip(names, sess.run(None, feeds)))


def zoo_inputs(
    entry: dict, shape: dict[str, int], rng: np.random.RandomState
) -> dict[str, np.ndarray]:
    """Random inputs for a zoo model at a (T, N) shape; lengths follow the
    manifest's rule (max == T, sorted if the model was exported sorted)."""
    feeds: dict[str, np.ndarray] = {}
    for name, spec in entry["inputs"].items():
        dims = [shape.get(d, d) if isinstance(d, str) else d for d in spec["shape"]]
        if spec["dtype"].startswith("int"):
            t, n = shape["T"], shape["N"]
            lens = rng.randint(1, t + 1, size=n)
            lens[rng.randint(n)] = t
            if entry.get("lengths_rule", "").startswith("sorted"):
                lens = np.sort(lens)[::-1]
            feeds[name] = lens.astype(spec["dtype"])
        else:
            feeds[name] = rng.randn(*dims).astype(spec["dtype"])
    return feeds


def max_abs(a: np.ndarray, b: np.ndarray) -> float:
    assert a.shape == b.shape, f"shape {a.shape} != {b.shape}"
    return float(np.abs(a.astype(np.float64) - b.astype(np.float64)).max()) if a.size else 0.0


def run_filecheck_file(path: Path) -> None:
    """Run a lit-style test: each `// RUN: <tool> ... %s | filecheck %s` line."""
    runs = [ln.split("RUN:", 1)[1].strip() for ln in path.read_text().splitlines() if "RUN:" in ln]
    assert runs, f"{path} has no RUN line"
    tools = {
        "ernnc-opt": [sys.executable, "-m", "ernnc.compiler.opt"],
        "ernnc": [sys.executable, "-m", "ernnc.compiler.cli"],
    }
    for run in runs:
        producer, _, checker = run.partition("|")
        argv = shlex.split(producer.replace("%s", str(path)))
        argv = tools.get(argv[0], [argv[0]]) + argv[1:]
        prod = subprocess.run(argv, capture_output=True, text=True, cwd=REPO)
        assert prod.returncode == 0, f"{' '.join(argv)} failed:\n{prod.stderr}"
        check_argv = shlex.split(checker.replace("%s", str(path)))
        assert check_argv[0] == "filecheck"
        chk = subprocess.run(
            [sys.executable, "-m", "filecheck", *check_argv[1:]],
            input=prod.stdout,
            capture_output=True,
            text=True,
        )
        assert chk.returncode == 0, f"FileCheck failed for {path.name}:\n{chk.stdout}{chk.stderr}"
