"""The sweep: the grid, the cache, the tasks, the front and the outputs."""

from __future__ import annotations

import argparse
import hashlib
import math
import sys
import time
from pathlib import Path

from ..errors import ErnncError
from .cache import Cache, _digest, _dumps, _slug
from .common import PROG
from .executors import Progress, _check_executor, _execute
from .front import _points, pareto
from .grid import Budget, Design, Settings, parse_grid
from .output import _csv, _n, draw_pareto, format_front
from .task import Task, TaskResult


def _run(args: argparse.Namespace) -> int:
    start = time.perf_counter()
    if args.output is None:
        raise ErnncError("no output directory given: -o OUT")
    if not args.max_error >= 0 or not math.isfinite(args.max_error):
        raise ErnncError(f"--max-error {args.max_error:g}: expected a non-negative number")
    if not 0 < args.clock < math.inf:
        raise ErnncError(f"--clock {args.clock:g}: expected a positive frequency in MHz")
    _check_executor(args)
    grid = parse_grid(args)
    from ...hardware.devices import device
    from ..driver import HlsOptions, check_output_dir, write_output_dir

    try:
        dev = device(args.device)
    except ValueError as e:
        raise ErnncError(f"--device: {e}") from None
    HlsOptions.parse("ernnc_top", None, args.clock, args.max_dims)  # checks --max-dims
    settings = Settings(dev.key, float(args.clock), args.max_dims)
    check_output_dir(args.output)
    cache_root = None
    if not args.no_cache:
        cache_root = args.cache or args.output.absolute().with_name(args.output.name + ".cache")
        out_abs, cache_abs = args.output.resolve(), cache_root.resolve()
        if cache_abs == out_abs or out_abs in cache_abs.parents:
            raise ErnncError(
                f"--cache {cache_root} is inside the output directory, which every run replaces"
            )

    model, model_sha = _read(args.model, "model")
    calib, calib_sha = _read(args.calib, "calibration file") if args.calib else (None, None)
    source = _check_model(model, args.model, args.calib)

    from ... import __version__

    cache = Cache(cache_root, model_sha, args.model.name)
    keys1, keys2, points1, points2 = {}, {}, {}, {}
    for d in grid.designs:
        points1[d] = {
            "phase": 1,
            "ernnc_version": __version__,
            "block_size": d.block_size,
            "precision": d.precision,
            "activations": d.activations,
            "calib_sha256": calib_sha,
        }
        keys1[d] = f"{_slug(d.parts())}-{_digest(points1[d])}"
        for b in grid.budgets:
            points2[d, b] = {
                "phase": 2,
                "design": keys1[d],
                "device": settings.device,
                "clock_mhz": settings.clock,
                "max_dims": settings.max_dims,
                "max_util": b.max_util,
                "schedule": b.schedule,
            }
            keys2[d, b] = f"{_slug(d.parts() + b.parts())}-{_digest(points2[d, b])}"

    # what the cache has; the rest becomes one task per design
    accuracy: dict[Design, dict] = {}
    hardware: dict[tuple[Design, Budget], dict] = {}
    tasks: list[Task] = []
    for d in grid.designs:
        acc = cache.read(keys1[d], points1[d])
        ir = cache.read_ir(keys1[d]) if acc is not None else None
        if acc is not None and ir is not None:
            accuracy[d] = acc
        missing = []
        for b in grid.budgets:
            hw = cache.read(keys2[d, b], points2[d, b]) if d in accuracy else None
            if hw is not None:
                hardware[d, b] = hw
            else:
                missing.append(b)
        if missing:
            tasks.append(
                Task(
                    d,
                    missing,
                    settings,
                    args.model.name,
                    args.calib.name if args.calib else None,
                    accuracy.get(d),
                    ir if d in accuracy else None,
                )
            )
    n_points = len(grid.designs) * len(grid.budgets)
    to_do = sum(len(t.budgets) for t in tasks)
    counts = {
        "points": n_points,
        "designs_compiled": sum(t.ir is None for t in tasks),
        "points_estimated": to_do,
        "points_from_cache": n_points - to_do,
    }
    if not args.quiet:
        where = f" ({cache.dir})" if cache.dir is not None and n_points > to_do else ""
        print(
            f"{PROG}: {_n(n_points, 'point')} ({_n(len(grid.designs), 'design')} x "
            f"{_n(len(grid.budgets), 'budget')}): {counts['designs_compiled']} to compile, "
            f"{to_do} to estimate, {n_points - to_do} from the cache{where}",
            file=sys.stderr,
        )

    progress = Progress(to_do, args.quiet)

    def done(i: int, result: TaskResult) -> None:
        task = tasks[i]
        d = task.design
        acc = result.accuracy
        if result.ir is not None:  # freshly compiled and measured
            cache.write(keys1[d], points1[d], acc, result.ir)
        accuracy[d] = acc
        lines = []
        for b, hw in zip(task.budgets, result.hardware):  # none when the design failed
            if "failed" not in hw:
                cache.write(keys2[d, b], points2[d, b], hw)
            hardware[d, b] = hw
        for b in task.budgets:
            lines.append(_progress_line(d, b, acc, hardware.get((d, b))))
        progress.update(lines)

    try:
        _execute(tasks, model, calib, args, done)
    finally:
        progress.close()

    points = _points(grid, keys2, accuracy, hardware, args.max_error)
    if all(p["status"] == "failed" for p in points):
        raise ErnncError(f"every point failed; the first: {points[0]['reason']}")
    front = pareto(points)
    results = {
        "ernnc_version": __version__,
        "model": args.model.name,
        "model_sha256": model_sha,
        "calib": args.calib.name if args.calib else None,
        "calib_sha256": calib_sha,
        "inputs": source,
        "device": settings.device,
        "part": dev.part,
        "clock_mhz": settings.clock,
        "max_dims": settings.max_dims,
        "max_error": args.max_error,
        "axes": grid.axes,
        "objectives": {
            "error": "min: relative max abs error against the dense float model, worst output",
            "frames_per_second": "max: estimated, batch 1",
            "utilization": "min: the binding resource's share of the device (estimated)",
        },
        "evaluations": {**counts, "seconds": round(time.perf_counter() - start, 2)},
        "front": [p["key"] for p in front],
        "points": points,
    }
    from ...hardware.estimate import ASSUMPTIONS

    results["assumptions"] = list(ASSUMPTIONS)
    plot_note = None

    def write(directory: Path) -> None:
        nonlocal plot_note
        (directory / "results.json").write_text(_dumps(results), encoding="utf-8")
        (directory / "results.csv").write_text(_csv(points), encoding="utf-8")
        plot_note = draw_pareto(points, directory / "pareto.png", args.max_error, settings)

    write_output_dir(args.output, write)
    if not args.quiet:
        print(format_front(results, front))
        files = "results.json, results.csv" + (", pareto.png" if plot_note is None else "")
        print(
            f"{PROG}: wrote {args.output}/ ({files}) in {time.perf_counter() - start:.1f} s",
            file=sys.stderr,
        )
        if plot_note:
            print(f"{PROG}: note: {plot_note}", file=sys.stderr)
    if not front:
        ok = [p for p in points if p["status"] != "failed"]
        best = min(ok, key=lambda p: p["error"] if p["error"] is not None else math.inf)
        print(
            f"{PROG}: warning: no point meets --max-error {args.max_error:g} and fits the "
            f"{dev.name}; the most accurate, {best['key']}, has error {best['error']:.3g}"
            + ("" if best["fits"] else " and does not fit"),
            file=sys.stderr,
        )
    return 0


def _read(path: Path, what: str) -> tuple[bytes, str]:
    if not path.exists():
        raise ErnncError(f"{what} {path}: no such file")
    if path.is_dir():
        raise ErnncError(f"{what} {path}: is a directory")
    try:
        data = path.read_bytes()
    except OSError as e:
        raise ErnncError(f"{what} {path}: cannot read: {e.strerror}") from None
    return data, hashlib.sha256(data).hexdigest()


def _check_model(model: bytes, path: Path, calib: Path | None) -> str:
    """Import the model and check the calibration inputs against it before the
    sweep; what the errors are measured on."""
    if path.suffix == ".mlir":
        raise ErnncError(f"{path}: ernnc explore takes an ONNX model, not an IR dump")
    from ..api import lower
    from ..onnx_import import import_onnx, parse_model
    from ..report import report_inputs

    dense = lower(import_onnx(parse_model(model, str(path))), "cell")
    return report_inputs(dense, calib)[1]


def _progress_line(d: Design, b: Budget, acc: dict, hw: dict | None) -> str:
    head = f"{d.label}, {b.label}: "
    if "failed" in acc:
        return head + "failed: " + acc["failed"]
    if hw is None or "failed" in hw:
        return head + "failed: " + (hw or {}).get("failed", "?")
    return (
        head
        + f"error {acc['error']:.3g}, {hw['frames_per_second']:,.0f} frames/s, "
        + f"{100 * hw['utilization']:.0f}% {hw['binding']}"
        + ("" if hw["fits"] else " (does not fit)")
    )
