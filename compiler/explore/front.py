"""The points' statuses and the Pareto front."""

from __future__ import annotations

from .grid import Grid


def _points(grid: Grid, keys2: dict, accuracy: dict, hardware: dict, max_error: float) -> list:
    points = []
    for d in grid.designs:
        acc = accuracy[d]
        for b in grid.budgets:
            hw = hardware.get((d, b), {"failed": "not evaluated"})
            p: dict = {
                "key": keys2[d, b],
                "block_size": d.block_size,
                "precision": d.precision,
                "activations": d.activations,
                "max_util": b.max_util,
                "schedule": b.schedule,
                "status": "accepted",
                "reason": "",
                "pareto": False,
                "same_as": None,
                "error": acc.get("error"),
                "argmax_agreement": acc.get("argmax_agreement"),
                "frames_per_second": hw.get("frames_per_second"),
                "utilization": hw.get("utilization"),
                "fits": hw.get("fits"),
                "accuracy": acc,
                "hardware": hw,
            }
            if "failed" in acc or "failed" in hw:
                p["status"], p["reason"] = "failed", acc.get("failed") or hw["failed"]
            else:
                why = []
                if not acc["error"] <= max_error:
                    why.append(f"error {acc['error']:.3g} > --max-error {max_error:g}")
                if not hw["fits"]:
                    why.append(hw.get("does_not_fit", "does not fit the device"))
                if why:
                    p["status"], p["reason"] = "rejected", "; ".join(why)
            points.append(p)
    return points


def objectives(p: dict) -> tuple[float, float, float]:
    """What the front minimizes: error, -frames/s, utilization."""
    return (p["error"], -p["frames_per_second"], p["utilization"])


def dominates(a: tuple, b: tuple) -> bool:
    return all(x <= y for x, y in zip(a, b, strict=True)) and a != b


def pareto(points: list[dict]) -> list[dict]:
    """Mark the accepted points no other accepted point dominates (no worse in
    every objective, better in one); of points with equal objectives the first
    in grid order stands for the others (``same_as``). The front, fastest first."""
    accepted = [p for p in points if p["status"] == "accepted"]
    front = []
    for p in accepted:
        v = objectives(p)
        if any(dominates(objectives(q), v) for q in accepted):
            continue
        first = next(q for q in accepted if objectives(q) == v)
        if first is not p:
            p["same_as"] = first["key"]
            continue
        p["pareto"] = True
        front.append(p)
    return sorted(front, key=lambda p: (-p["frames_per_second"], p["error"], p["utilization"]))
