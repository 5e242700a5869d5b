"""The grid: designs (Phase I) x budgets (Phase II), parsed from the options."""

from __future__ import annotations

import argparse
import math
from dataclasses import dataclass

from ..errors import ErnncError


@dataclass(frozen=True)
class Design:
    """A Phase I point: what the compiler is asked for."""

    block_size: int
    precision: str
    activations: str

    @property
    def label(self) -> str:
        return f"b={self.block_size} {self.precision} {self.activations}"

    def parts(self) -> list[str]:
        return [f"b{self.block_size}", self.precision, self.activations]


@dataclass(frozen=True)
class Budget:
    """A Phase II point: how much of the device ernn-schedule may use."""

    max_util: float
    schedule: str = ""

    @property
    def label(self) -> str:
        return f"max-util {self.max_util:g}" + (
            f" schedule {self.schedule}" if self.schedule else ""
        )

    def parts(self) -> list[str]:
        return [f"u{self.max_util:g}"] + ([self.schedule] if self.schedule else [])


@dataclass(frozen=True)
class Settings:
    """What every point shares."""

    device: str
    clock: float
    max_dims: str


@dataclass(frozen=True)
class Grid:
    designs: list[Design]
    budgets: list[Budget]
    axes: dict


def _items(option: str, text: str) -> list[str]:
    """Comma-separated values (commas inside <...> belong to the value), deduplicated."""
    parts, depth, cur = [], 0, ""
    for ch in text:
        depth += (ch == "<") - (ch == ">")
        if ch == "," and depth <= 0:
            parts.append(cur)
            cur = ""
        else:
            cur += ch
    parts.append(cur)
    out = []
    for item in (s.strip() for s in parts):
        if not item:
            raise ErnncError(f"{option} {text!r}: expected a comma-separated list of values")
        if item not in out:
            out.append(item)
    return out


def _activation(impl: str) -> str:
    from ...passes.quantize import activation_spec

    parsed = activation_spec(impl)
    if parsed is None:
        raise ErnncError(
            f"--activations {impl!r}: expected pwl:N or lut:N (2 <= N <= 65536), comma-separated"
        )
    return f"{parsed[0]}:{parsed[1]}"


def parse_grid(args: argparse.Namespace) -> Grid:
    from ...precision import PrecisionError, parse_precision

    blocks = []
    for item in _items("--block-sizes", args.block_sizes):
        if not item.isdigit() or int(item) < 1 or int(item) & (int(item) - 1):
            raise ErnncError(
                f"--block-sizes {item!r}: expected powers of two (1 keeps the matrices dense), "
                "comma-separated"
            )
        if int(item) not in blocks:
            blocks.append(int(item))
    precisions, floats = [], set()
    for item in _items("--precisions", args.precisions):
        try:
            if parse_precision(item).is_float:
                floats.add(item)
        except PrecisionError as e:
            raise ErnncError(f"--precisions {item!r}: {str(e).splitlines()[0]}") from None
        precisions.append(item)
    acts = list(dict.fromkeys(_activation(a) for a in _items("--activations", args.activations)))
    utils = []
    for item in _items("--max-utils", args.max_utils):
        try:
            u = float(item)
        except ValueError:
            u = math.nan
        if not 0 < u <= 1:
            raise ErnncError(f"--max-utils {item!r}: expected fractions in (0, 1], comma-separated")
        if u not in utils:
            utils.append(u)
    schedules = list(dict.fromkeys(s.strip() for s in args.schedule)) or [""]
    from xdsl.utils.exceptions import PassFailedException

    from ...passes.schedule import parse_overrides

    for s in schedules:
        try:
            parse_overrides(s)
        except PassFailedException as e:
            raise ErnncError(f"--schedule: {e}") from None
    designs = [
        Design(b, p, a)
        for b in blocks
        for p in precisions
        for a in (["exact"] if p in floats else acts)
    ]
    budgets = [Budget(u, s) for s in schedules for u in utils]
    axes = {
        "block_sizes": blocks,
        "precisions": precisions,
        "activations": acts,
        "max_utils": utils,
        "schedules": schedules,
    }
    return Grid(designs, budgets, axes)
