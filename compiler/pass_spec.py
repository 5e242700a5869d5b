"""Pass pipeline strings -> pass instances (and target specs -> targets),
with one-line errors that name the pass and the option; xDSL's own
messages name neither."""

from __future__ import annotations

import dataclasses
import difflib
from collections.abc import Callable
from typing import TypeVar, get_type_hints

from xdsl.passes import ModulePass
from xdsl.utils.arg_spec import ArgSpec, ArgSpecConvertible, parse_pipeline
from xdsl.utils.exceptions import ArgSpecParseError

from .errors import ErnncError


def instantiate_pipeline(
    available: dict[str, Callable[[], type[ModulePass]]], spec: str
) -> list[ModulePass]:
    spec = normalize_pipeline(spec)
    try:
        specs = list(parse_pipeline(spec))
    except ArgSpecParseError as e:  # a BaseException: "...\n<where>\n<line>\n<caret>\n<msg>"
        lines = [ln.strip() for ln in str(e.args[0] if e.args else e).splitlines() if ln.strip()]
        where = lines[1].removeprefix("pass-pipeline:1:") if len(lines) > 1 else "?"
        raise ErnncError(
            f"pass pipeline {spec!r}: column {where}: {lines[-1] if lines else 'syntax error'}"
        ) from None
    return [_instantiate(available, s) for s in specs]


def normalize_pipeline(spec: str) -> str:
    """Drop the whitespace between passes and fold line breaks inside options,
    so that a pipeline may be written over several lines; xDSL's parser takes
    neither."""
    out: list[str] = []
    depth, quote = 0, False
    for ch in spec:
        if ch == '"':
            quote = not quote
        elif not quote and ch in "{}":
            depth += 1 if ch == "{" else -1
        if ch.isspace() and not quote:
            if depth <= 0:
                continue
            ch = " "
            if out and out[-1] in " {":
                continue
        out.append(ch)
    return "".join(out)


def _instantiate(available: dict[str, Callable[[], type[ModulePass]]], s: ArgSpec) -> ModulePass:
    if s.name not in available:
        close = difflib.get_close_matches(s.name, list(available), n=1)
        hint = f"; did you mean {close[0]!r}?" if close else ""
        raise ErnncError(f"unknown pass {s.name!r}{hint}")
    return from_spec_checked(available[s.name](), s, "pass")


T = TypeVar("T", bound=ArgSpecConvertible)


def from_spec_checked(cls: type[T], s: ArgSpec, what: str) -> T:
    """``cls.from_spec(s)`` for a pass or a target, failing with one line
    that names it and the option at fault."""
    fields = {f.name: f for f in dataclasses.fields(cls) if f.init and f.name != "name"}
    given = {k.replace("-", "_"): v for k, v in s.parameters.items()}
    for key in given:
        if key not in fields:
            options = ", ".join(f.replace("_", "-") for f in fields)
            raise ErnncError(
                f"{what} {s.name!r}: unknown option {key.replace('_', '-')!r}"
                + (f" (options: {options})" if options else " (it takes no options)")
            )
    hints = get_type_hints(cls)
    for key, value in given.items():
        _check_value(f"{what} {s.name!r}", key, value, hints[key])
    try:
        return cls.from_spec(s)
    except Exception as e:  # noqa: BLE001 - xDSL's ValueErrors, a pass's __post_init__ checks
        lines = str(e).strip().splitlines()
        raise ErnncError(f"{what} {s.name!r}: {lines[0] if lines else type(e).__name__}") from None


def _check_value(owner: str, key: str, value: tuple, hint: object) -> None:
    # xDSL's converter, private but pinned (xdsl==0.74); it raises ValueError
    from xdsl.utils.arg_spec import _convert_arg_to_type  # pyright: ignore[reportPrivateUsage]

    try:
        _convert_arg_to_type(value, hint)
    except ValueError:
        shown = ",".join(str(v) for v in value) if value else "nothing"
        want = getattr(hint, "__name__", None) or str(hint).replace("typing.", "")
        raise ErnncError(
            f"{owner}: option {key.replace('_', '-')!r} wants {want}, got {shown!r}"
        ) from None
