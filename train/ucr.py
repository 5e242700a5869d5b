"""Read UCR/UEA time-series classification sets in the sktime/aeon ``.ts``
format, with NumPy only.

The ``aeon`` wheel ships a few of these sets under ``aeon/datasets/data``;
installing it with ``pip install --no-deps aeon`` gives the files without
aeon's heavy dependencies, and this module finds them without importing aeon.
"""

from __future__ import annotations

import importlib.util
from dataclasses import dataclass
from pathlib import Path

import numpy as np


@dataclass(frozen=True)
class Split:
    """One split of a set: ``x`` [N, T, D] float32, ``y`` [N] int64 class indices."""

    x: np.ndarray
    y: np.ndarray


@dataclass(frozen=True)
class Dataset:
    name: str
    classes: list[str]
    train: Split
    test: Split


def read_ts(path: str | Path) -> tuple[list[np.ndarray], list[str], list[str]]:
    """The series ([T, D] float64 each, NaN for '?'), their labels and the
    declared class labels of a ``.ts`` file."""
    series: list[np.ndarray] = []
    labels: list[str] = []
    classes: list[str] = []
    in_data = False
    with open(path, encoding="utf-8") as f:
        for lineno, raw in enumerate(f, 1):
            line = raw.strip()
            if not line or line.startswith("#"):
                continue
            if not in_data:
                key, _, value = line.partition(" ")
                key = key.lower()
                if key == "@classlabel":
                    flag, _, rest = value.partition(" ")
                    if flag.strip().lower() != "true":
                        raise ValueError(f"{path}: not a classification set (@classLabel {flag})")
                    classes = rest.split()
                elif key == "@timestamps" and value.strip().lower() == "true":
                    raise ValueError(f"{path}: series with timestamps are not supported")
                elif key == "@data":
                    in_data = True
                continue
            *dims, label = line.split(":")
            if not dims:
                raise ValueError(f"{path}:{lineno}: no series before the label")
            columns = [
                np.array([np.nan if v == "?" else float(v) for v in d.split(",") if v], np.float64)
                for d in dims
            ]
            if len({len(c) for c in columns}) != 1:
                raise ValueError(f"{path}:{lineno}: dimensions of unequal length")
            series.append(np.stack(columns, axis=1))
            labels.append(label.strip())
    if not in_data:
        raise ValueError(f"{path}: no @data section")
    return series, labels, classes


def _split(path: Path, classes: list[str]) -> Split:
    series, labels, _ = read_ts(path)
    if len({s.shape for s in series}) != 1:
        raise ValueError(f"{path}: series of unequal length are not supported")
    index = {c: i for i, c in enumerate(classes)}
    unknown = sorted(set(labels) - index.keys())
    if unknown:
        raise ValueError(f"{path}: labels {unknown} not among the declared classes {classes}")
    x = np.stack(series).astype(np.float32)
    if np.isnan(x).any():
        raise ValueError(f"{path}: missing values are not supported")
    return Split(x, np.array([index[v] for v in labels], dtype=np.int64))


def aeon_data_dir() -> Path:
    """aeon's shipped data folder, located without importing aeon."""
    spec = importlib.util.find_spec("aeon")
    if spec is None or not spec.submodule_search_locations:
        raise FileNotFoundError("aeon is not installed: pip install --no-deps aeon")
    return Path(next(iter(spec.submodule_search_locations))) / "datasets" / "data"


def load(name: str, root: str | Path | None = None) -> Dataset:
    """``<root>/<name>/<name>_TRAIN.ts`` and ``_TEST.ts`` (root: aeon's data folder)."""
    folder = Path(root) if root is not None else aeon_data_dir()
    folder = folder / name
    train_path, test_path = folder / f"{name}_TRAIN.ts", folder / f"{name}_TEST.ts"
    for p in (train_path, test_path):
        if not p.is_file():
            raise FileNotFoundError(f"{p} not found")
    _, _, classes = read_ts(train_path)
    return Dataset(name, classes, _split(train_path, classes), _split(test_path, classes))
