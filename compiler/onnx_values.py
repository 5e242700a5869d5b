"""What the ONNX frontend knows about each value of the graph.

The frontend interprets the graph abstractly: static shape arithmetic is
folded at import time, and only computations on runtime data become IR.

- ``Const``: a fully known array (initializers, folded constants).
- ``ShapeVec``: an integer tensor of rank 0 or 1 whose entries are
  dimensions, some of them symbolic (what ``Shape(x)`` yields).
- ``Fill``: a tensor of one repeated value whose shape may be symbolic
  (``ConstantOfShape``, ``Expand`` of a scalar): the exporters' zero states.
- ``Tensor``: runtime data, an SSA value of the function being built.
- ``Permuted``/``PermIndex``/``InvPermIndex``/``Iota``: a runtime batch
  permutation (torch's sort-then-unsort around packed sequences), tracked so
  that the permutation and its inverse cancel instead of becoming IR.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from xdsl.ir import SSAValue

# A dimension: a static size, or the name of a symbolic one ("T", "N").
Dim = int | str


def is_static(dims: tuple[Dim, ...]) -> bool:
    return all(isinstance(d, int) for d in dims)


def format_dims(dims: tuple[Dim, ...]) -> str:
    return "[" + ", ".join(str(d) for d in dims) + "]"


@dataclass(frozen=True)
class Const:
    array: np.ndarray

    @property
    def shape(self) -> tuple[Dim, ...]:
        return tuple(int(d) for d in self.array.shape)

    @property
    def dtype(self) -> np.dtype:
        return self.array.dtype


@dataclass(frozen=True)
class ShapeVec:
    dims: tuple[Dim, ...]
    scalar: bool = False

    @property
    def shape(self) -> tuple[Dim, ...]:
        return () if self.scalar else (len(self.dims),)

    @property
    def dtype(self) -> np.dtype:
        return np.dtype(np.int64)

    def static(self) -> Const | None:
        if not is_static(self.dims):
            return None
        arr = np.array(self.dims, dtype=np.int64)
        return Const(arr.reshape(()) if self.scalar else arr)


@dataclass(frozen=True)
class Fill:
    value: float | int | bool
    shape: tuple[Dim, ...]
    dtype: np.dtype

    def static(self) -> Const | None:
        if not is_static(self.shape):
            return None
        return Const(np.full([int(d) for d in self.shape], self.value, dtype=self.dtype))


@dataclass(frozen=True)
class Tensor:
    value: SSAValue
    shape: tuple[Dim, ...]
    dtype: np.dtype


@dataclass(frozen=True)
class Permuted:
    """``base`` with its axis ``axis`` reordered by the runtime permutation ``perm``."""

    base: Tensor
    perm: int
    axis: int
    origin: str

    @property
    def shape(self) -> tuple[Dim, ...]:
        return self.base.shape

    @property
    def dtype(self) -> np.dtype:
        return self.base.dtype


@dataclass(frozen=True)
class PermIndex:
    perm: int
    length: Dim
    origin: str

    @property
    def shape(self) -> tuple[Dim, ...]:
        return (self.length,)


@dataclass(frozen=True)
class InvPermIndex:
    perm: int
    length: Dim
    origin: str

    @property
    def shape(self) -> tuple[Dim, ...]:
        return (self.length,)


@dataclass(frozen=True)
class Iota:
    """``arange(length)`` for a possibly symbolic length."""

    length: Dim

    @property
    def shape(self) -> tuple[Dim, ...]:
        return (self.length,)


Value = Const | ShapeVec | Fill | Tensor | Permuted | PermIndex | InvPermIndex | Iota


def value_kind(v: Value) -> str:
    return {
        Const: "a constant",
        ShapeVec: "a shape computation",
        Fill: "a filled tensor of symbolic shape",
        Tensor: "a runtime tensor",
        Permuted: "a batch-permuted tensor",
        PermIndex: "a batch permutation",
        InvPermIndex: "an inverse batch permutation",
        Iota: "a range of symbolic length",
    }[type(v)]
