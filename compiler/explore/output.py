"""What a sweep writes and prints: results.csv, the front's table, pareto.png."""

from __future__ import annotations

import csv
import io
from pathlib import Path

from .cache import _clean
from .grid import Settings

RESOURCE_NAMES = (("dsp", "DSP"), ("bram36", "BRAM"), ("lut", "LUT"), ("ff", "FF"))

CSV_FIELDS = (
    "key",
    "status",
    "pareto",
    "same_as",
    "block_size",
    "precision",
    "activations",
    "max_util",
    "schedule",
    "error",
    "max_abs",
    "argmax_agreement",
    "sqnr_db",
    "compression_ratio",
    "params",
    "overflows",
    "utilization",
    "binding",
    *(f"{r}_{k}" for r, _ in RESOURCE_NAMES for k in ("used", "util")),
    "fits",
    "frames_per_second",
    "latency_per_frame_us",
    "cycles_per_step",
    "dense_equivalent_gops",
    "parallel",
    "units",
    "lanes",
    "reason",
)


def _csv(points: list[dict]) -> str:
    buf = io.StringIO()
    w = csv.DictWriter(buf, fieldnames=CSV_FIELDS, lineterminator="\n")
    w.writeheader()
    for p in points:
        acc, hw = p["accuracy"], p["hardware"]
        row = {k: p.get(k) for k in CSV_FIELDS if k in p}
        row.update(
            max_abs=acc.get("max_abs"),
            sqnr_db=acc.get("sqnr_db"),
            compression_ratio=acc.get("compression", {}).get("ratio"),
            params=acc.get("compression", {}).get("params"),
            overflows=acc.get("quantization", {}).get("overflows"),
            binding=hw.get("binding"),
            latency_per_frame_us=hw.get("latency_per_frame_us"),
            cycles_per_step=hw.get("cycles_per_step"),
            dense_equivalent_gops=hw.get("dense_equivalent_gops"),
            **hw.get("parallelism", {}),
        )
        for r, _ in RESOURCE_NAMES:
            res = hw.get("resources", {}).get(r, {})
            row[f"{r}_used"], row[f"{r}_util"] = res.get("used"), res.get("utilization")
        w.writerow({k: "" if v is None else v for k, v in _clean(row).items()})
    return buf.getvalue()


def _pct(x: float) -> str:
    return f"{100 * x:.0f}%"


def _n(count: int, noun: str) -> str:
    return f"{count} {noun}{'' if count == 1 else 's'}"


def format_front(results: dict, front: list[dict]) -> str:
    points = results["points"]
    by_status = {
        s: sum(p["status"] == s for p in points) for s in ("accepted", "rejected", "failed")
    }
    over = sum(p["status"] == "rejected" and "--max-error" in p["reason"] for p in points)
    nofit = sum(p["status"] == "rejected" and p["fits"] is False for p in points)
    lines = [
        (
            f"{_n(len(points), 'point')}: {by_status['accepted']} accepted ({len(front)} on the Pareto "
            f"front), {by_status['rejected']} rejected ({over} error > {results['max_error']:g}, "
            f"{nofit} not fitting), {by_status['failed']} failed"
        ),
        (
            f"error: against the dense float model on {results['inputs']}; hardware: estimates for "
            f"{results['device']} at {results['clock_mhz']:g} MHz"
        ),
    ]
    if not front:
        return "\n".join(lines)
    head = ["block", "precision", "activations", "budget", "parallelism", "error", "argmax"]
    head += ["compr", *(n for _, n in RESOURCE_NAMES), "bound", "frames/s", "latency us"]
    rows = []
    for p in front:
        acc, hw = p["accuracy"], p["hardware"]
        k = hw["parallelism"]
        res = hw["resources"]
        rows.append(
            [
                str(p["block_size"]),
                p["precision"],
                p["activations"],
                f"{p['max_util']:g}" + (f" {p['schedule']}" if p["schedule"] else ""),
                f"P{k['parallel']} U{k['units']} L{k['lanes']}",
                f"{p['error']:.3g}",
                "-" if p["argmax_agreement"] is None else f"{100 * p['argmax_agreement']:.1f}%",
                f"{acc['compression']['ratio']:.1f}x",
                *(_pct(res[r]["utilization"]) for r, _ in RESOURCE_NAMES),
                hw["binding"],
                f"{hw['frames_per_second']:,.0f}",
                f"{hw['latency_per_frame_us']:.2f}",
            ]
        )
    left = {1, 2, 3, 4, 12}
    widths = [max(len(r[i]) for r in [head, *rows]) for i in range(len(head))]

    def fmt(row: list[str]) -> str:
        cells = [
            c.ljust(w) if i in left else c.rjust(w) for i, (c, w) in enumerate(zip(row, widths))
        ]
        return "  ".join(cells).rstrip()

    lines.append(fmt(head))
    lines += [fmt(r) for r in rows]
    return "\n".join(lines)


def draw_pareto(points: list[dict], path: Path, max_error: float, settings: Settings) -> str | None:
    """pareto.png: error and utilization against frames/s, the front marked.
    A note instead when matplotlib is not installed."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return "no pareto.png: matplotlib is not installed (pip install 'ernnc[plot]')"
    ok = [p for p in points if p["status"] != "failed"]
    if not ok:
        return "no pareto.png: no point was evaluated"
    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(12, 5), constrained_layout=True)
    floor = min((p["error"] for p in ok if p["error"] > 0), default=1e-6) / 10

    def err(p: dict) -> float:
        return max(p["error"], floor)

    groups = (
        (
            [p for p in ok if p["status"] == "rejected"],
            {"marker": "x", "c": "0.6", "label": "rejected"},
        ),
        (
            [p for p in ok if p["status"] == "accepted" and not p["pareto"]],
            {"marker": "o", "c": "tab:blue", "alpha": 0.5, "label": "accepted"},
        ),
        (
            [p for p in ok if p["pareto"]],
            {"marker": "o", "c": "tab:red", "edgecolors": "k", "s": 60, "label": "Pareto front"},
        ),
    )
    for group, style in groups:
        if group:
            fps = [p["frames_per_second"] for p in group]
            ax1.scatter(fps, [err(p) for p in group], **style)
            ax2.scatter(fps, [100 * p["utilization"] for p in group], **style)
    front = sorted((p for p in ok if p["pareto"]), key=lambda p: p["frames_per_second"])
    for k, p in enumerate(front):  # labels staggered: front points are often close
        label = f"b{p['block_size']} {p['precision']} {p['activations']} u{p['max_util']:g}"
        for ax, y in ((ax1, err(p)), (ax2, 100 * p["utilization"])):
            ax.annotate(
                label,
                (p["frames_per_second"], y),
                fontsize=7,
                xytext=(4, 4 + 9 * (k % 3)),
                textcoords="offset points",
            )
    ax1.axhline(max_error, ls="--", c="k", lw=0.8, label=f"--max-error {max_error:g}")
    ax1.set_yscale("log")
    fps = [p["frames_per_second"] for p in ok]
    for ax in (ax1, ax2):
        if max(fps) > 10 * min(fps):
            ax.set_xscale("log")
        else:
            ax.ticklabel_format(axis="x", style="plain", useOffset=False)
    ax1.set_xlabel("frames/s (estimate)")
    ax2.set_xlabel("frames/s (estimate)")
    ax1.set_ylabel("relative max abs error against dense float")
    ax2.set_ylabel("utilization of the binding resource (%)")
    ax1.legend(fontsize=8)
    fig.suptitle(f"ernnc explore: {settings.device} at {settings.clock:g} MHz")
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return None
