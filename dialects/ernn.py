"""The ``ernn`` dialect: one op per ONNX recurrent node (model level).

Each op carries every input and attribute of the ONNX operator, already
checked and normalised by the frontend: ``activations`` always lists one
function per gate activation and direction (defaults filled in), and
``activation_alpha``/``activation_beta`` hold one value per listed function
(0 where the function takes none). Absent optional inputs are absent operands.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import ClassVar

from xdsl.dialects.builtin import (
    I64,
    ArrayAttr,
    FloatAttr,
    IntegerAttr,
    StringAttr,
    TensorType,
    f32,
    i64,
)
from xdsl.ir import Attribute, Dialect, SSAValue
from xdsl.irdl import (
    AttrSizedOperandSegments,
    IRDLOperation,
    ParsePropInAttrDict,
    irdl_op_definition,
    operand_def,
    opt_operand_def,
    opt_prop_def,
    prop_def,
    result_def,
    traits_def,
)
from xdsl.traits import Pure
from xdsl.utils.exceptions import VerifyException

from .nn import ACTIVATIONS
from .shapes import DYN, check_shape, tensor_shape

DIRECTIONS = ("forward", "reverse", "bidirectional")

_FORMAT = (
    "$x `,` $w `,` $r"
    " (`bias` `(` $b^ `:` type($b) `)`)?"
    " (`seq_lens` `(` $seq_lens^ `:` type($seq_lens) `)`)?"
    " (`initial_h` `(` $initial_h^ `:` type($initial_h) `)`)?"
    "{extra}"
    " attr-dict `:` type($x) `,` type($w) `,` type($r) `->` type(results)"
)


class RecurrentOp(IRDLOperation):
    """Common part of ernn.lstm, ernn.gru and ernn.rnn. Op-specific fields
    come from a second base class so that they follow these in ONNX order."""

    GATES: ClassVar[tuple[str, ...]] = ()
    N_ACTIVATIONS: ClassVar[int] = 0

    x = operand_def(TensorType)
    w = operand_def(TensorType)
    r = operand_def(TensorType)
    b = opt_operand_def(TensorType)
    seq_lens = opt_operand_def(TensorType)
    initial_h = opt_operand_def(TensorType)

    y = result_def(TensorType)
    y_h = result_def(TensorType)

    hidden_size = prop_def(IntegerAttr[I64])
    direction = prop_def(StringAttr)
    layout = prop_def(IntegerAttr[I64])
    activations = prop_def(ArrayAttr[StringAttr])
    activation_alpha = opt_prop_def(ArrayAttr[FloatAttr])
    activation_beta = opt_prop_def(ArrayAttr[FloatAttr])
    clip = opt_prop_def(FloatAttr)
    layer = prop_def(StringAttr)
    onnx_node = prop_def(StringAttr)

    traits = traits_def(Pure())

    @property
    def hidden(self) -> int:
        return self.hidden_size.value.data

    @property
    def num_directions(self) -> int:
        return 2 if self.direction.data == "bidirectional" else 1

    def activation_list(self) -> list[tuple[str, float, float]]:
        n = len(self.activations)
        alphas = (
            [a.value.data for a in self.activation_alpha] if self.activation_alpha else [0.0] * n
        )
        betas = [b.value.data for b in self.activation_beta] if self.activation_beta else [0.0] * n
        return [(f.data, a, b) for f, a, b in zip(self.activations, alphas, betas)]

    def clip_value(self) -> float | None:
        return None if self.clip is None else self.clip.value.data

    def verify_(self) -> None:
        if self.direction.data not in DIRECTIONS:
            raise VerifyException(f"{self.name}: unknown direction '{self.direction.data}'")
        if self.layout.value.data not in (0, 1):
            raise VerifyException(f"{self.name}: layout must be 0 or 1")
        acts = [a.data for a in self.activations]
        if len(acts) != self.N_ACTIVATIONS * self.num_directions:
            raise VerifyException(
                f"{self.name}: expected {self.N_ACTIVATIONS * self.num_directions} activations, got {len(acts)}"
            )
        for params in (self.activation_alpha, self.activation_beta):
            if params is not None and len(params) != len(acts):
                raise VerifyException(
                    f"{self.name}: one activation parameter per function expected"
                )
        for a in acts:
            if a not in ACTIVATIONS:
                raise VerifyException(f"{self.name}: unknown activation '{a}'")
        d, g, h = self.num_directions, len(self.GATES), self.hidden
        x = tensor_shape(self.x.type)
        if len(x) != 3:
            raise VerifyException(f"{self.name}: X must be 3-D")
        t_axis, n_axis = (1, 0) if self.layout.value.data else (0, 1)
        n, i = x[n_axis], x[2]
        check_shape(f"{self.name} W", tensor_shape(self.w.type), [d, g * h, i])
        check_shape(f"{self.name} R", tensor_shape(self.r.type), [d, g * h, h])
        if self.b is not None:
            check_shape(f"{self.name} B", tensor_shape(self.b.type), [d, 2 * g * h])
        if self.seq_lens is not None:
            check_shape(f"{self.name} sequence_lens", tensor_shape(self.seq_lens.type), [n])
        state = [n, d, h] if self.layout.value.data else [d, n, h]
        for v in self.state_operands():
            if v is not None:
                check_shape(f"{self.name} initial state", tensor_shape(v.type), state)
        y = [x[t_axis], n, d, h] if self.layout.value.data else [x[t_axis], d, n, h]
        check_shape(f"{self.name} Y", tensor_shape(self.y.type), y)
        for r in self.results[1:]:
            check_shape(f"{self.name} final state", tensor_shape(r.type), state)

    def state_operands(self) -> list[SSAValue | None]:
        return [self.initial_h]

    @classmethod
    def infer_result_types(
        cls, x: SSAValue, hidden: int, directions: int, layout: int
    ) -> list[Attribute]:
        xs = tensor_shape(x.type)
        assert isinstance(x.type, TensorType)
        el = x.type.element_type
        t, n = (xs[1], xs[0]) if layout else (xs[0], xs[1])
        y = [n, t, directions, hidden] if layout else [t, directions, n, hidden]
        state = [n, directions, hidden] if layout else [directions, n, hidden]
        n_states = 2 if cls is LSTMOp else 1
        return [TensorType(el, y)] + [TensorType(el, state)] * n_states


def recurrent_properties(
    *,
    hidden_size: int,
    direction: str,
    layout: int,
    activations: Sequence[tuple[str, float, float]],
    clip: float | None,
    layer: str,
    onnx_node: str,
    **extra: int,
) -> dict[str, Attribute]:
    props: dict[str, Attribute] = {
        "hidden_size": IntegerAttr(hidden_size, i64),
        "direction": StringAttr(direction),
        "layout": IntegerAttr(layout, i64),
        "activations": ArrayAttr([StringAttr(f) for f, _, _ in activations]),
        "layer": StringAttr(layer),
        "onnx_node": StringAttr(onnx_node),
    }
    # Parameters are listed only when some function takes one.
    if any(ACTIVATIONS[f] >= 1 for f, _, _ in activations):
        props["activation_alpha"] = ArrayAttr([FloatAttr(a, f32) for _, a, _ in activations])
    if any(ACTIVATIONS[f] >= 2 for f, _, _ in activations):
        props["activation_beta"] = ArrayAttr([FloatAttr(b, f32) for _, _, b in activations])
    if clip is not None:
        props["clip"] = FloatAttr(clip, f32)
    for k, v in extra.items():
        props[k] = IntegerAttr(v, i64)
    return props


class _LSTMFields(IRDLOperation):
    initial_c = opt_operand_def(TensorType)
    p = opt_operand_def(TensorType)
    y_c = result_def(TensorType)
    input_forget = prop_def(IntegerAttr[I64])


@irdl_op_definition
class LSTMOp(RecurrentOp, _LSTMFields):
    """ONNX LSTM (gate order i, o, f, c; peepholes P in order i, o, f)."""

    name = "ernn.lstm"
    GATES: ClassVar[tuple[str, ...]] = ("i", "o", "f", "c")
    N_ACTIVATIONS: ClassVar[int] = 3

    irdl_options = (AttrSizedOperandSegments(as_property=True), ParsePropInAttrDict())
    assembly_format = _FORMAT.format(
        extra=" (`initial_c` `(` $initial_c^ `:` type($initial_c) `)`)?"
        " (`peepholes` `(` $p^ `:` type($p) `)`)?"
    )

    def state_operands(self) -> list[SSAValue | None]:
        return [self.initial_h, self.initial_c]

    def verify_(self) -> None:
        super().verify_()
        if self.p is not None:
            check_shape(
                "ernn.lstm P", tensor_shape(self.p.type), [self.num_directions, 3 * self.hidden]
            )


class _GRUFields(IRDLOperation):
    linear_before_reset = prop_def(IntegerAttr[I64])


@irdl_op_definition
class GRUOp(RecurrentOp, _GRUFields):
    """ONNX GRU (gate order z, r, h)."""

    name = "ernn.gru"
    GATES: ClassVar[tuple[str, ...]] = ("z", "r", "h")
    N_ACTIVATIONS: ClassVar[int] = 2

    irdl_options = (AttrSizedOperandSegments(as_property=True), ParsePropInAttrDict())
    assembly_format = _FORMAT.format(extra="")


@irdl_op_definition
class RNNOp(RecurrentOp):
    """ONNX RNN (one gate)."""

    name = "ernn.rnn"
    GATES: ClassVar[tuple[str, ...]] = ("i",)
    N_ACTIVATIONS: ClassVar[int] = 1

    irdl_options = (AttrSizedOperandSegments(as_property=True), ParsePropInAttrDict())
    assembly_format = _FORMAT.format(extra="")


ERNN = Dialect("ernn", [LSTMOp, GRUOp, RNNOp])

__all__ = ["DIRECTIONS", "DYN", "ERNN", "GRUOp", "LSTMOp", "RNNOp", "RecurrentOp"]
