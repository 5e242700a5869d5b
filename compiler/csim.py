"""``ernnc csim OUT``: C simulation of OUT/hls with g++, checked against
OUT/model_ref.py.

The inputs (an .npz keyed by input name, or random ones) go through the
NumPy model; both the inputs and its outputs are written beside the
project (``inputs.bin``, ``expected.bin``) where the Makefile and Vitis's
``build.tcl`` find them too; the testbench is compiled and run, and its
outputs compared: bit for bit where they leave fixed point, within a
tolerance where float arithmetic computed them.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

from .errors import ErnncError, exit_status

DEFAULT_TOLERANCE = 1e-5
LOG = "csim.log"


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="ernnc csim",
        description="Compile the testbench of OUT/hls with g++ (C simulation), run it, and "
        "compare its outputs with OUT/model_ref.py: bit for bit for outputs that leave fixed "
        "point, within --tolerance for float-computed ones. Exit status 0 when they match.",
    )
    p.add_argument("output", type=Path, metavar="OUT", help="an output directory of ernnc")
    p.add_argument(
        "--inputs",
        type=Path,
        metavar="FILE.npz",
        help="inputs keyed by input name (default: random, see --seed, --steps, --samples)",
    )
    p.add_argument("--seed", type=int, default=0, help="seed of the random inputs (default 0)")
    p.add_argument(
        "--steps",
        type=int,
        default=None,
        help="sequence length of random inputs (default 8, at most the design's bound)",
    )
    p.add_argument(
        "--samples",
        type=int,
        default=None,
        help="batch size of random inputs (default 2, at most the design's batch bound)",
    )
    p.add_argument(
        "--tolerance",
        type=float,
        default=DEFAULT_TOLERANCE,
        help="relative tolerance of float-computed outputs, |got - want| <= tol * (1 + |want|) "
        f"(default {DEFAULT_TOLERANCE:g})",
    )
    p.add_argument(
        "--ap-include",
        metavar="DIR",
        help="directory of ap_fixed.h (default: $ERNNC_AP_INCLUDE, $XILINX_HLS/include, then an "
        "installed hls4ml's copy)",
    )
    p.add_argument("--cxx", default=None, help="C++ compiler (default: $CXX or g++)")
    p.add_argument(
        "-O",
        dest="optimize",
        choices=("0", "1", "2", "3"),
        default=None,
        help="optimization level of the testbench build (default: the Makefile's, -O2; "
        "-O0 compiles in about half the time)",
    )
    p.add_argument(
        "--traceback", action="store_true", help="show Python tracebacks of internal errors"
    )
    return p


@dataclass
class OutputCheck:
    name: str
    shape: tuple[int, ...]
    exact: bool
    max_abs: float
    bit_equal: bool


@dataclass
class CsimResult:
    ok: bool
    checks: list[OutputCheck]
    compile_seconds: float
    run_seconds: float
    headers: str  # which ap_fixed.h, or that none was needed
    warnings: list[str]  # compiler warnings about the generated files
    testbench_output: str
    notes: list[str] = field(default_factory=list)  # e.g. the bounds this build raised


def _bounds(manifest: dict, axis: str) -> list[int]:
    """The bounds of the symbolic dims at ``axis`` (time_axis, batch_axis) of the inputs."""
    dims = {p["dims"][p[axis]] for p in manifest["inputs"] if axis in p}
    return [manifest["dims"][d]["max"] for d in dims if d in manifest["dims"]]


def _load_model_ref(path: Path):
    spec = importlib.util.spec_from_file_location("ernnc_csim_model_ref", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _our_warnings(log: str, files: list[str]) -> list[str]:
    """Compiler warnings located in the generated files (not in ap_types)."""
    return [
        line
        for line in log.splitlines()
        if "warning:" in line and any(line.startswith(f + ":") for f in files)
    ]


def run_csim(
    out_dir: Path,
    inputs_file: Path | None = None,
    *,
    seed: int = 0,
    steps: int | None = None,
    samples: int | None = None,
    tolerance: float = DEFAULT_TOLERANCE,
    ap_include: str | None = None,
    cxx: str | None = None,
    optimize: str | None = None,
) -> CsimResult:
    """Simulate the project in ``out_dir``/hls against ``out_dir``/model_ref.py.
    ``optimize`` replaces the -O flag of the Makefile's CXXFLAGS (-O0 compiles
    ap_fixed designs in about half the time)."""
    import numpy as np

    from ..backends.hls.support import CXXFLAGS
    from ..backends.hls.tensorfile import read_tensors, write_tensors
    from ..backends.numpy.inputs import load_inputs_for, random_inputs_for
    from .ap_headers import AP_HEADERS_HELP, describe_ap_include, find_ap_include

    hls = out_dir / "hls"
    manifest_file = hls / "design.json"
    if not (out_dir / "model_ref.py").is_file() or not manifest_file.is_file():
        raise ErnncError(
            f"{out_dir}: no HLS project and NumPy model here "
            "(compile with `ernnc MODEL -o OUT --target all`)"
        )
    manifest = json.loads(manifest_file.read_text(encoding="utf-8"))
    sig = [(p["name"], np.dtype(p["dtype"]), p["dims"]) for p in manifest["inputs"]]
    if inputs_file is not None:
        try:
            inputs = load_inputs_for(inputs_file, [n for n, _, _ in sig])
        except ValueError as e:
            raise ErnncError(str(e)) from None
    else:
        axes = {
            p["name"]: (p["time_axis"], p["batch_axis"])
            for p in manifest["inputs"]
            if "time_axis" in p
        }
        # within the design's bounds by default, so that make csim runs them as built
        if samples is None:
            samples = min([2, *_bounds(manifest, "batch_axis")])
        if steps is None:
            steps = min([8, *_bounds(manifest, "time_axis")])
        inputs = random_inputs_for(sig, samples=samples, steps=steps, seed=seed, axes=axes)

    # the symbolic dims' sizes, and bounds raised where the inputs exceed them
    defines: list[str] = []
    for name, d in manifest["dims"].items():
        size = next(
            inputs[p["name"]].shape[k]
            for p in manifest["inputs"]
            for k, dim in enumerate(p["dims"])
            if dim == name
        )
        if size > d["max"]:
            defines.append(f"-D{d['macro']}={size}")

    model_ref = _load_model_ref(out_dir / "model_ref.py")
    try:
        expected = model_ref.run(inputs)
    except ValueError as e:
        raise ErnncError(f"model_ref.py rejects the inputs: {e}") from None
    names = [o["name"] for o in manifest["outputs"]]
    write_tensors(hls / "inputs.bin", [inputs[n] for n, _, _ in sig])
    write_tensors(hls / "expected.bin", [expected[n] for n in names])

    include: list[str] = []
    headers = "no ap_fixed.h needed (float design)"
    if manifest["fixed_point"]:
        found = find_ap_include(ap_include)
        if found is None:
            raise ErnncError(AP_HEADERS_HELP)
        include = ["-isystem", str(found[0])]
        headers = describe_ap_include(found)
    compiler = cxx or os.environ.get("CXX") or "g++"
    if shutil.which(compiler) is None:
        raise ErnncError(f"C++ compiler {compiler!r} not found (set --cxx or CXX)")
    top = manifest["top"]
    sources = ["tb.cpp", f"{top}.cpp"]
    flags = [f for f in CXXFLAGS if not (optimize and f.startswith("-O"))]
    flags += [optimize] if optimize else []
    cmd = [compiler, *flags, *defines, *include, "-I.", *sources, "-o", "tb"]
    start = time.perf_counter()
    built = subprocess.run(cmd, check=False, cwd=hls, capture_output=True, text=True)
    compile_seconds = time.perf_counter() - start
    log = f"$ {' '.join(cmd)}\n{built.stdout}{built.stderr}"
    (hls / LOG).write_text(log, encoding="utf-8")
    ours = [*sources, f"{top}.h", f"{top}_weights.h", "ernnc_support.h"]
    if built.returncode != 0:
        errors = [ln for ln in built.stderr.splitlines() if "error" in ln]
        first = errors[0] if errors else (built.stderr.strip().splitlines() or ["?"])[0]
        raise ErnncError(f"compiling the testbench failed: {first} (full log: {hls / LOG})")
    tb_args = ["inputs.bin", "outputs.bin", "expected.bin", repr(tolerance)]
    start = time.perf_counter()
    ran = subprocess.run(["./tb", *tb_args], check=False, cwd=hls, capture_output=True, text=True)
    run_seconds = time.perf_counter() - start
    with open(hls / LOG, "a", encoding="utf-8") as f:
        f.write(f"$ ./tb {' '.join(tb_args)}\n{ran.stdout}{ran.stderr}")
    if ran.returncode not in (0, 1):
        raise ErnncError(
            f"the testbench failed (status {ran.returncode}): "
            f"{(ran.stderr.strip().splitlines() or ['?'])[-1]}"
        )
    got = read_tensors(hls / "outputs.bin")
    checks = []
    for o, g in zip(manifest["outputs"], got):
        want = np.asarray(expected[o["name"]], dtype=np.float32)
        diff = np.abs(g.astype(np.float64) - want.astype(np.float64))
        checks.append(
            OutputCheck(
                o["name"],
                tuple(want.shape),
                o["exact"],
                float(diff.max()) if diff.size else 0.0,
                bool(np.array_equal(g.view(np.uint32), want.view(np.uint32))),
            )
        )
    notes = []
    if defines:
        notes.append(
            f"note: the inputs exceed the design's bounds, so this build raised them "
            f"({' '.join(defines)}); make csim MAX_DIMS='{' '.join(defines)}' does the same"
        )
    return CsimResult(
        ran.returncode == 0,
        checks,
        compile_seconds,
        run_seconds,
        headers,
        _our_warnings(log, ours),
        (ran.stdout + ran.stderr).strip(),
        notes,
    )


def format_result(result: CsimResult, tolerance: float) -> str:
    rows = [("output", "shape", "compared", "max |diff|", "result")]
    for c in result.checks:
        rows.append(
            (
                c.name,
                "x".join(map(str, c.shape)) or "scalar",
                "bit for bit" if c.exact else f"tol {tolerance:g}",
                f"{c.max_abs:.3g}",
                "identical" if c.bit_equal else ("within tol" if not c.exact else "DIFFERENT"),
            )
        )
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    lines = ["  ".join(v.ljust(w) for v, w in zip(r, widths)).rstrip() for r in rows]
    lines.append(
        f"compile {result.compile_seconds:.1f} s, run {result.run_seconds:.2f} s; {result.headers}"
    )
    return "\n".join(lines)


def main(argv: list[str]) -> int:
    args = build_parser().parse_args(argv)
    try:
        result = run_csim(
            args.output,
            args.inputs,
            seed=args.seed,
            steps=args.steps,
            samples=args.samples,
            tolerance=args.tolerance,
            ap_include=args.ap_include,
            cxx=args.cxx,
            optimize=f"-O{args.optimize}" if args.optimize else None,
        )
    except Exception as e:  # noqa: BLE001 - every failure becomes one line
        return exit_status("ernnc csim", e, args.traceback)
    print(format_result(result, args.tolerance))
    for w in [*result.notes, *result.warnings]:
        print(f"ernnc csim: {w}", file=sys.stderr)
    if not result.ok:
        print(
            f"ernnc csim: error: the C simulation differs from model_ref.py: "
            f"{result.testbench_output.splitlines()[-1] if result.testbench_output else ''}",
            file=sys.stderr,
        )
        return 1
    return 0
