"""Shape arithmetic shared by the dialect verifiers.

Dimensions are ints; ``DYN`` (xDSL's ``DYNAMIC_INDEX``) marks a symbolic one
(sequence length, batch) that is only known when the model runs.
"""

from __future__ import annotations

from collections.abc import Sequence

from xdsl.dialects.builtin import DYNAMIC_INDEX, TensorType
from xdsl.ir import Attribute
from xdsl.utils.exceptions import VerifyException

DYN = DYNAMIC_INDEX


def tensor_shape(t: Attribute) -> tuple[int, ...]:
    if not isinstance(t, TensorType):
        raise VerifyException(f"expected a tensor type, got {t}")
    return tuple(t.get_shape())


def dims_compatible(a: int, b: int) -> bool:
    return a == b or a == DYN or b == DYN


def check_shape(what: str, got: Sequence[int], want: Sequence[int]) -> None:
    """Raise unless ``got`` matches ``want`` (symbolic dims match anything)."""
    if len(got) != len(want) or not all(dims_compatible(g, w) for g, w in zip(got, want)):
        raise VerifyException(
            f"{what}: shape {format_shape(got)} does not match expected {format_shape(want)}"
        )


def format_shape(shape: Sequence[int]) -> str:
    return "[" + ", ".join("?" if d == DYN else str(d) for d in shape) + "]"


def broadcast(a: Sequence[int], b: Sequence[int]) -> tuple[int, ...]:
    """NumPy/ONNX multidirectional broadcasting of two shapes."""
    rank = max(len(a), len(b))
    pa = [1] * (rank - len(a)) + list(a)
    pb = [1] * (rank - len(b)) + list(b)
    out: list[int] = []
    for x, y in zip(pa, pb):
        if x == 1:
            out.append(y)
        elif y == 1:
            out.append(x)
        elif x == DYN:
            out.append(y)
        elif y == DYN or x == y:
            out.append(x)
        else:
            raise VerifyException(
                f"shapes {format_shape(a)} and {format_shape(b)} do not broadcast"
            )
    return tuple(out)


def normalize_axis(axis: int, rank: int) -> int:
    if not -rank <= axis < rank:
        raise VerifyException(f"axis {axis} out of range for rank {rank}")
    return axis % rank
