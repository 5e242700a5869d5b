"""A small builder for indented Python source and stable value names."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from xdsl.ir import SSAValue


class Source:
    def __init__(self) -> None:
        self.lines: list[str] = []
        self._indent = 0

    def line(self, text: str = "") -> None:
        self.lines.append(("    " * self._indent + text) if text else "")

    def lines_(self, texts: list[str]) -> None:
        for t in texts:
            self.line(t)

    @contextmanager
    def indent(self) -> Iterator[None]:
        self._indent += 1
        try:
            yield
        finally:
            self._indent -= 1

    def nested(self) -> Source:
        """An empty source at this one's indentation, to fill and ``extend`` with later."""
        out = Source()
        out._indent = self._indent
        return out

    def extend(self, other: Source) -> None:
        self.lines.extend(other.lines)

    def text(self) -> str:
        return "\n".join(self.lines) + "\n"


class Names:
    """Python names of SSA values: ``v0``, ``v1``, ... in order of first use."""

    def __init__(self) -> None:
        self._names: dict[SSAValue, str] = {}

    def __getitem__(self, value: SSAValue) -> str:
        if value not in self._names:
            self._names[value] = f"v{len(self._names)}"
        return self._names[value]

    def set(self, value: SSAValue, name: str) -> None:
        self._names[value] = name

    def __contains__(self, value: SSAValue) -> bool:
        return value in self._names
