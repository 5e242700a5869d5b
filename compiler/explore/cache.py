"""The cache of finished points, and the JSON they are written as."""

from __future__ import annotations

import hashlib
import json
import math
import os
import re
import tempfile
from pathlib import Path

from ..errors import ErnncError


def _digest(data: dict) -> str:
    return hashlib.sha256(json.dumps(data, sort_keys=True).encode()).hexdigest()[:16]


def _slug(parts: list[str]) -> str:
    return "-".join(re.sub(r"[^A-Za-z0-9.]+", "_", p).strip("_") for p in parts)[:60]


class Cache:
    """Finished points as JSON files (and each design's module as .mlir) in
    DIR/<sha256 of the model file>/<point key>; the key names the point and
    ends with a hash of everything its result depends on. Entries are
    written whole (a temporary file renamed) as each task finishes."""

    def __init__(self, root: Path | None, model_sha: str, model_name: str) -> None:
        self.dir = root / model_sha if root is not None else None
        self.model_name = model_name
        self.reused = 0

    def read(self, key: str, point: dict) -> dict | None:
        if self.dir is None:
            return None
        try:
            entry = json.loads((self.dir / f"{key}.json").read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return None
        if not isinstance(entry, dict) or entry.get("point") != point:
            return None
        return entry.get("result")

    def read_ir(self, key: str) -> str | None:
        if self.dir is None:
            return None
        try:
            return (self.dir / f"{key}.mlir").read_text(encoding="utf-8")
        except OSError:
            return None

    def write(self, key: str, point: dict, result: dict, ir: str | None = None) -> None:
        if self.dir is None:
            return
        try:
            self.dir.mkdir(parents=True, exist_ok=True)
            model = self.dir / "model.json"
            if not model.exists():
                self._put(model, json.dumps({"model": self.model_name}) + "\n")
            if ir is not None:
                self._put(self.dir / f"{key}.mlir", ir)
            self._put(self.dir / f"{key}.json", _dumps({"point": point, "result": result}))
        except OSError as e:
            raise ErnncError(f"cannot write the cache {self.dir}: {e.strerror or e}") from None

    @staticmethod
    def _put(path: Path, text: str) -> None:
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as f:
                f.write(text)
            os.replace(tmp, path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise


def _clean(x):
    """JSON-able: NumPy scalars to Python, non-finite floats to None."""
    if isinstance(x, dict):
        return {k: _clean(v) for k, v in x.items()}
    if isinstance(x, list | tuple):
        return [_clean(v) for v in x]
    if isinstance(x, bool) or x is None or isinstance(x, str):
        return x
    if isinstance(x, int) and not hasattr(x, "dtype"):
        return x
    try:
        f = float(x)
    except (TypeError, ValueError):
        return str(x)
    if f.is_integer() and hasattr(x, "dtype") and getattr(x.dtype, "kind", "") in "iu":
        return int(f)
    return f if math.isfinite(f) else None


def _dumps(data: dict) -> str:
    return json.dumps(_clean(data), indent=2, allow_nan=False) + "\n"
