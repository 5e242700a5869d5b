"""What ``ernnc --list-passes`` and ``ernnc-opt --help`` say about a pass:
its name, its options with their defaults in pipeline syntax, and the first
line of its docstring."""

from __future__ import annotations

import dataclasses
import sys
import textwrap
from dataclasses import dataclass

from xdsl.passes import ModulePass


@dataclass(frozen=True)
class PassInfo:
    name: str
    options: tuple[tuple[str, str], ...]  # (option, default), e.g. ("block", "8")
    summary: str

    @property
    def signature(self) -> str:
        """``name{opt=default ...}``, the form a pipeline accepts."""
        if not self.options:
            return self.name
        return self.name + "{" + " ".join(f"{k}={v}" for k, v in self.options) + "}"


def _default_text(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'
    if isinstance(value, tuple | list):
        return ",".join(_default_text(v) for v in value)
    return str(value)


def _type_text(annotation: object) -> str:
    text = annotation if isinstance(annotation, str) else getattr(annotation, "__name__", "")
    return str(text or annotation).replace(" ", "")


def summary_of(cls: type[ModulePass]) -> str:
    """The first line of the class docstring, else of its module's (minus a
    leading ``pass-name:``); dataclass's generated signature does not count."""
    doc = cls.__dict__.get("__doc__") or ""
    if doc.startswith(f"{cls.__name__}("):
        doc = ""
    if not doc.strip():
        module = sys.modules.get(cls.__module__)
        doc = (getattr(module, "__doc__", None) or "").strip()
        prefix = f"{cls.name}:"
        doc = doc.removeprefix(prefix)
    # the first sentence or line, whichever ends first
    first = " ".join(doc.strip().split("\n\n")[0].split())
    end = first.find(". ")
    return first[: end + 1] if end >= 0 else first


def describe(cls: type[ModulePass]) -> PassInfo:
    options: list[tuple[str, str]] = []
    if dataclasses.is_dataclass(cls):
        for f in dataclasses.fields(cls):
            if not f.init:
                continue
            if f.default is not dataclasses.MISSING:
                shown = "<unset>" if f.default is None else _default_text(f.default)
            elif f.default_factory is not dataclasses.MISSING:
                shown = _default_text(f.default_factory())
            else:
                shown = f"<{_type_text(f.type)}, required>"
            options.append((f.name.replace("_", "-"), shown))
    return PassInfo(cls.name, tuple(options), summary_of(cls))


def format_passes(infos: list[PassInfo], indent: int = 2, width: int = 100) -> str:
    """One entry per pass: its signature, then its summary (beside it if it fits)."""
    col = 34
    lines: list[str] = []
    pad = " " * indent
    for info in infos:
        head = pad + info.signature
        body = textwrap.wrap(info.summary, width - col, break_on_hyphens=False) or [""]
        if len(head) + 2 <= col:
            lines.append(head.ljust(col) + body[0])
            body = body[1:]
        else:
            lines.append(head)
        lines.extend(" " * col + b for b in body)
    return "\n".join(lines)


def pass_listing() -> str:
    """ernnc's passes, then plugin passes with where they came from, then the
    names of xDSL's passes."""
    from xdsl.transforms import get_all_passes as xdsl_passes

    from ..passes import ernnc_passes
    from .plugins import plugin_passes

    out = ["ernnc passes:", format_passes([describe(f()) for f in ernnc_passes().values()])]
    plugins = plugin_passes()
    if plugins:
        out.append("\nplugin passes:")
        for name, p in plugins.items():
            out.append(format_passes([describe(p.cls)]))
            out.append(" " * 34 + f"(from {p.origin})")
    names = sorted(xdsl_passes())
    out.append(f"\nxDSL passes ({len(names)}; options in xDSL's documentation):")
    out.append(
        textwrap.fill(
            ", ".join(names),
            100,
            initial_indent="  ",
            subsequent_indent="  ",
            break_on_hyphens=False,
            break_long_words=False,
        )
    )
    return "\n".join(out)
