"""C++ building blocks of the HLS backend: arrays as variables, flat
indices, literals."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np


class HlsError(Exception):
    """The module holds something the HLS backend cannot express."""


@dataclass
class Var:
    name: str
    ctype: str
    shape: list[str]  # runtime extents, C++ expressions
    bound: list[str]  # compile-time extents (ERNNC_MAX_* for symbolic dims)
    # a constant table of raw integers standing for values of this fixed type
    # (ap_fixed tables compile slowly: every element is a constructor call)
    raw: str | None = None

    def at(self, index: str) -> str:
        """The element at ``index``, as a value of its type."""
        if self.raw is not None:
            return f"ernnc_from_raw<{self.raw}>({self.name}[{index}])"
        return f"{self.name}[{index}]"

    @property
    def size(self) -> str:
        return product(self.shape)

    @property
    def capacity(self) -> str:
        return product(self.bound)


def raw_ctype(width: int) -> str:
    """The narrowest C integer holding ``width``-bit raw values."""
    for bits, name in ((8, "signed char"), (16, "short"), (32, "int")):
        if width <= bits:
            return name
    return "long long"


def product(dims: Sequence[str]) -> str:
    parts = [d for d in dims if d != "1"]
    if not parts:
        return "1"
    return " * ".join(p if p.isidentifier() or p.isdigit() else f"({p})" for p in parts)


def flat_index(shape: Sequence[str], idx: Sequence[str]) -> str:
    """Row-major flat index of ``idx`` in an array of runtime ``shape``."""
    expr = ""
    for d, i in zip(shape, idx):
        if not expr:
            expr = i
        elif d == "1":
            expr = f"{expr}" if i == "0" else f"({expr}) + {i}"
        else:
            expr = f"({expr}) * {d} + {i}" if expr != "0" else i
    return expr or "0"


def float_literal(value: float) -> str:
    """A C++ double literal of exactly ``value``."""
    if not math.isfinite(value):
        raise HlsError(f"constant {value} is not finite")
    return repr(float(value))


def table_rows(values: np.ndarray, ctype: str, per_row: int = 8) -> list[str]:
    """The literals of a constant table, ``per_row`` to a line.

    Formats a row at a time with ``%`` (a 13 M-weight table in seconds,
    not the minute that a call per element takes). A float32 table prints
    9 significant digits, which give back the same float; an integral value
    goes through float_literal so that it keeps its decimal point.
    """
    if values.dtype.kind != "f":
        suffix = "LL" if ctype == "long long" else ""
        return _rows(values.tolist(), "%d" + suffix, per_row)
    if not np.isfinite(values).all():
        bad = values[~np.isfinite(values)][0]
        raise HlsError(f"constant {bad} is not finite")
    if ctype != "float":
        return _rows(values.tolist(), "%r", per_row)
    integral = values == np.trunc(values)
    rows = _rows(values.tolist(), "%.9gf", per_row)
    for r in np.unique(np.flatnonzero(integral) // per_row):  # few: rewrite their rows
        chunk = values[r * per_row : (r + 1) * per_row].tolist()
        rows[r] = ", ".join(f"{float_literal(x)}f" if x == int(x) else f"{x:.9g}f" for x in chunk)
    return rows


def _rows(items: list, fmt: str, per_row: int) -> list[str]:
    full = len(items) // per_row * per_row
    line = ", ".join([fmt] * per_row)
    rows = [line % tuple(items[i : i + per_row]) for i in range(0, full, per_row)]
    if full < len(items):
        rows.append(", ".join([fmt] * (len(items) - full)) % tuple(items[full:]))
    return rows
