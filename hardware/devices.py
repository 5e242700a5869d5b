"""The FPGA device database (``devices.toml``, data rather than code)."""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from functools import cache
from importlib import resources

RESOURCES = ("dsp", "bram36", "uram", "lut", "ff")


@dataclass(frozen=True)
class Device:
    key: str
    name: str
    part: str
    family: str
    dsp: int
    bram36: int
    uram: int
    lut: int
    ff: int
    source: str

    def available(self, resource: str) -> int:
        return int(getattr(self, resource))


@cache
def devices() -> dict[str, Device]:
    text = resources.files(__package__).joinpath("devices.toml").read_text(encoding="utf-8")
    return {key: Device(key=key, **entry) for key, entry in tomllib.loads(text).items()}


def device(key: str) -> Device:
    """The device called ``key`` (case-insensitive); ValueError naming the known ones."""
    known = devices()
    found = known.get(key.lower())
    if found is None:
        raise ValueError(f"unknown device {key!r}; known: {', '.join(sorted(known))}")
    return found
