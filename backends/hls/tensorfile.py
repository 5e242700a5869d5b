"""The testbench's tensor files: a sequence of tensors, each an int32 rank,
int64 dims, then the elements (float32, or int32 for integer inputs), all
little-endian. NumPy writes and reads them; tb.cpp reads and writes them."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

import numpy as np


def write_tensors(path: Path, tensors: Iterable[np.ndarray]) -> None:
    with open(path, "wb") as f:
        for t in tensors:
            a = np.asarray(t)
            data = a.astype("<i4" if a.dtype.kind in "iub" else "<f4")
            f.write(np.int32(a.ndim).astype("<i4").tobytes())
            f.write(np.asarray(a.shape, dtype="<i8").tobytes())
            f.write(np.ascontiguousarray(data).tobytes())


def read_tensors(path: Path, count: int | None = None) -> list[np.ndarray]:
    """Float32 tensors from ``path`` (what the testbench writes)."""
    raw = Path(path).read_bytes()
    out: list[np.ndarray] = []
    at = 0
    while at < len(raw) and (count is None or len(out) < count):
        rank = int(np.frombuffer(raw, "<i4", 1, at)[0])
        at += 4
        dims = tuple(int(d) for d in np.frombuffer(raw, "<i8", rank, at))
        at += 8 * rank
        n = int(np.prod(dims, dtype=np.int64))
        out.append(np.frombuffer(raw, "<f4", n, at).reshape(dims).astype(np.float32))
        at += 4 * n
    return out
