"""The ``nn`` dialect: tensor operations around the recurrent cells.

These are the ONNX operators that exporters and classifiers put around RNN
nodes, with every shape argument folded into a static property by the
frontend. Element-wise ops (``nn.add``, ``nn.act``, ...) are also the
arithmetic of the cell bodies, so one definition serves both levels.

Broadcasting follows NumPy/ONNX rules. Symbolic dimensions print as ``?``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import ClassVar

import numpy as np
from xdsl.dialects.builtin import (
    I64,
    AnyFloat,
    ArrayAttr,
    DenseArrayBase,
    DenseIntOrFPElementsAttr,
    FloatAttr,
    IntegerAttr,
    StringAttr,
    TensorType,
    f32,
    i64,
)
from xdsl.ir import Attribute, Dialect, SSAValue
from xdsl.irdl import (
    IRDLOperation,
    ParsePropInAttrDict,
    irdl_op_definition,
    operand_def,
    opt_operand_def,
    opt_prop_def,
    prop_def,
    result_def,
    traits_def,
    var_operand_def,
    var_result_def,
)
from xdsl.pattern_rewriter import RewritePattern
from xdsl.traits import HasCanonicalizationPatternsTrait, Pure
from xdsl.utils.exceptions import VerifyException

from .fxp import check_exact, exact_add, exact_dot, exact_mul, fixed_of
from .shapes import DYN, broadcast, check_shape, normalize_axis, tensor_shape

# Activation functions of the ONNX RNN operators with the number of
# parameters (alpha, beta) each one reads.
ACTIVATIONS: dict[str, int] = {
    "Relu": 0,
    "Tanh": 0,
    "Sigmoid": 0,
    "Affine": 2,
    "LeakyRelu": 1,
    "ThresholdedRelu": 1,
    "ScaledTanh": 2,
    "HardSigmoid": 2,
    "Elu": 1,
    "Softsign": 0,
    "Softplus": 0,
}

_FORMAT_UNARY = "$input attr-dict `:` type($input) `->` type($result)"
_FORMAT_BINARY = "$lhs `,` $rhs attr-dict `:` functional-type(operands, results)"


def int_array(values: Sequence[int]) -> DenseArrayBase:
    return DenseArrayBase.from_list(i64, list(values))


def array_values(attr: DenseArrayBase) -> tuple[int, ...]:
    return tuple(int(v) for v in attr.get_values())


def with_shape(like: Attribute, shape: Sequence[int]) -> TensorType:
    assert isinstance(like, TensorType)
    return TensorType(like.element_type, list(shape))


class _BinaryOp(IRDLOperation):
    """Element-wise arithmetic. On fixed-point operands it is exact: the
    result type is the exact type (see ``fxp``), never a rounded one."""

    lhs = operand_def(TensorType)
    rhs = operand_def(TensorType)
    result = result_def(TensorType)
    traits = traits_def(Pure())
    assembly_format = _FORMAT_BINARY
    EXACT: ClassVar[object] = None  # exact result type of fixed operands

    def __init__(self, lhs: SSAValue, rhs: SSAValue):
        shape = broadcast(tensor_shape(lhs.type), tensor_shape(rhs.type))
        la, ra = fixed_of(lhs.type), fixed_of(rhs.type)
        if la is not None and ra is not None and self.EXACT is not None:
            element: Attribute = self.EXACT(la, ra)  # type: ignore[operator]
        else:
            assert isinstance(lhs.type, TensorType)
            element = lhs.type.element_type
        super().__init__(operands=[lhs, rhs], result_types=[TensorType(element, shape)])

    def verify_(self) -> None:
        lt, rt = self.lhs.type, self.rhs.type
        assert isinstance(lt, TensorType) and isinstance(rt, TensorType)
        shape = broadcast(tensor_shape(lt), tensor_shape(rt))
        check_shape(self.name, tensor_shape(self.result.type), shape)
        la, ra = fixed_of(lt), fixed_of(rt)
        if la is not None and ra is not None:
            if self.EXACT is None:
                raise VerifyException(f"{self.name} is not defined on fixed-point operands")
            check_exact(self.name, self.result.type, self.EXACT(la, ra))  # type: ignore[operator]
        elif lt.element_type != rt.element_type:
            raise VerifyException(
                f"{self.name}: operand element types differ ({lt.element_type} and {rt.element_type})"
            )


@irdl_op_definition
class AddOp(_BinaryOp):
    """Element-wise sum with broadcasting."""

    name = "nn.add"
    EXACT: ClassVar[object] = staticmethod(exact_add)


@irdl_op_definition
class SubOp(_BinaryOp):
    """Element-wise difference with broadcasting."""

    name = "nn.sub"
    EXACT: ClassVar[object] = staticmethod(exact_add)


@irdl_op_definition
class MulOp(_BinaryOp):
    """Element-wise product with broadcasting."""

    name = "nn.mul"
    EXACT: ClassVar[object] = staticmethod(exact_mul)


@irdl_op_definition
class DivOp(_BinaryOp):
    """Element-wise quotient with broadcasting."""

    name = "nn.div"


class _UnaryOp(IRDLOperation):
    input = operand_def(TensorType)
    result = result_def(TensorType)
    traits = traits_def(Pure())
    irdl_options = (ParsePropInAttrDict(),)
    assembly_format = _FORMAT_UNARY

    def verify_(self) -> None:
        check_shape(self.name, tensor_shape(self.result.type), tensor_shape(self.input.type))


@irdl_op_definition
class ActOp(_UnaryOp):
    """An activation function of the ONNX RNN operators, applied element-wise.

    ``fn`` is one of ``ACTIVATIONS``; ``alpha`` and ``beta`` are its parameters
    exactly as the ONNX operator of that name defines them.
    """

    name = "nn.act"
    fn = prop_def(StringAttr)
    alpha = opt_prop_def(FloatAttr)
    beta = opt_prop_def(FloatAttr)

    def __init__(
        self,
        input: SSAValue,
        fn: str,
        alpha: float | None = None,
        beta: float | None = None,
    ):
        props: dict[str, Attribute] = {"fn": StringAttr(fn)}
        if alpha is not None:
            props["alpha"] = FloatAttr(alpha, f32)
        if beta is not None:
            props["beta"] = FloatAttr(beta, f32)
        super().__init__(operands=[input], result_types=[input.type], properties=props)

    @property
    def function(self) -> str:
        return self.fn.data

    def params(self) -> tuple[float, float]:
        alpha = self.alpha.value.data if self.alpha is not None else 0.0
        beta = self.beta.value.data if self.beta is not None else 0.0
        return alpha, beta

    def verify_(self) -> None:
        super().verify_()
        if self.function not in ACTIVATIONS:
            raise VerifyException(f"nn.act: unknown activation function '{self.function}'")
        need = ACTIVATIONS[self.function]
        have = (self.alpha is not None) + (self.beta is not None)
        if have != need:
            raise VerifyException(
                f"nn.act: '{self.function}' takes {need} parameter(s), got {have}"
            )


@irdl_op_definition
class ClipOp(_UnaryOp):
    """Clamp to [min, max]; either bound may be absent."""

    name = "nn.clip"
    min = opt_prop_def(FloatAttr)
    max = opt_prop_def(FloatAttr)

    def __init__(self, input: SSAValue, lo: float | None, hi: float | None):
        props: dict[str, Attribute] = {}
        if lo is not None:
            props["min"] = FloatAttr(lo, f32)
        if hi is not None:
            props["max"] = FloatAttr(hi, f32)
        super().__init__(operands=[input], result_types=[input.type], properties=props)

    def bounds(self) -> tuple[float | None, float | None]:
        lo = self.min.value.data if self.min is not None else None
        hi = self.max.value.data if self.max is not None else None
        return lo, hi


class _AxisUnaryOp(_UnaryOp):
    axis = prop_def(IntegerAttr[I64])

    def __init__(self, input: SSAValue, axis: int):
        rank = len(tensor_shape(input.type))
        super().__init__(
            operands=[input],
            result_types=[input.type],
            properties={"axis": IntegerAttr(normalize_axis(axis, rank), i64)},
        )

    def verify_(self) -> None:
        super().verify_()
        rank = len(tensor_shape(self.input.type))
        if not 0 <= self.axis.value.data < rank:
            raise VerifyException(f"{self.name}: axis {self.axis.value.data} out of range")


@irdl_op_definition
class SoftmaxOp(_AxisUnaryOp):
    """Softmax along one axis (ONNX opset 13 semantics)."""

    name = "nn.softmax"


@irdl_op_definition
class LogSoftmaxOp(_AxisUnaryOp):
    """Log of softmax along one axis (ONNX opset 13 semantics)."""

    name = "nn.log_softmax"


@irdl_op_definition
class CastOp(_UnaryOp):
    """Convert the element type; the result type names the target."""

    name = "nn.cast"

    def __init__(self, input: SSAValue, element_type: Attribute):
        super().__init__(
            operands=[input],
            result_types=[TensorType(element_type, tensor_shape(input.type))],
        )


def matmul_shape(a: Sequence[int], b: Sequence[int]) -> tuple[int, ...]:
    """Result shape of numpy.matmul for operands of rank >= 1."""
    if not a or not b:
        raise VerifyException("matmul operands must have rank >= 1")
    a2 = list(a) if len(a) > 1 else [1, a[0]]
    b2 = list(b) if len(b) > 1 else [b[0], 1]
    check_shape("matmul contraction", [a2[-1]], [b2[-2]])
    batch = broadcast(a2[:-2], b2[:-2])
    out = [*batch, a2[-2], b2[-1]]
    if len(a) == 1:
        out.pop(-2)
    if len(b) == 1:
        out.pop(-1)
    return tuple(out)


@irdl_op_definition
class MatMulOp(IRDLOperation):
    """Matrix product with NumPy semantics (batched, broadcasting)."""

    name = "nn.matmul"
    lhs = operand_def(TensorType)
    rhs = operand_def(TensorType)
    result = result_def(TensorType)
    traits = traits_def(Pure())
    assembly_format = _FORMAT_BINARY

    def __init__(self, lhs: SSAValue, rhs: SSAValue):
        shape = matmul_shape(tensor_shape(lhs.type), tensor_shape(rhs.type))
        la, ra = fixed_of(lhs.type), fixed_of(rhs.type)
        if la is not None and ra is not None:
            element: Attribute = exact_dot(ra, la, tensor_shape(lhs.type)[-1])
            super().__init__(operands=[lhs, rhs], result_types=[TensorType(element, shape)])
            return
        super().__init__(operands=[lhs, rhs], result_types=[with_shape(lhs.type, shape)])

    def verify_(self) -> None:
        shape = matmul_shape(tensor_shape(self.lhs.type), tensor_shape(self.rhs.type))
        check_shape(self.name, tensor_shape(self.result.type), shape)
        la, ra = fixed_of(self.lhs.type), fixed_of(self.rhs.type)
        if la is not None and ra is not None:
            check_exact(
                self.name, self.result.type, exact_dot(ra, la, tensor_shape(self.lhs.type)[-1])
            )


@irdl_op_definition
class GemmOp(IRDLOperation):
    """ONNX Gemm: alpha * op(A) @ op(B) + beta * C, on 2-D operands."""

    name = "nn.gemm"
    a = operand_def(TensorType)
    b = operand_def(TensorType)
    c = opt_operand_def(TensorType)
    result = result_def(TensorType)
    alpha = prop_def(FloatAttr)
    beta = prop_def(FloatAttr)
    trans_a = prop_def(IntegerAttr[I64])
    trans_b = prop_def(IntegerAttr[I64])
    traits = traits_def(Pure())
    irdl_options = (ParsePropInAttrDict(),)
    assembly_format = "$a `,` $b (`,` $c^)? attr-dict `:` functional-type(operands, results)"

    def __init__(
        self,
        a: SSAValue,
        b: SSAValue,
        c: SSAValue | None,
        alpha: float = 1.0,
        beta: float = 1.0,
        trans_a: bool = False,
        trans_b: bool = False,
    ):
        shape = self.infer(
            tensor_shape(a.type),
            tensor_shape(b.type),
            tensor_shape(c.type) if c is not None else None,
            trans_a,
            trans_b,
        )
        super().__init__(
            operands=[a, b, [] if c is None else [c]],
            result_types=[with_shape(a.type, shape)],
            properties={
                "alpha": FloatAttr(alpha, f32),
                "beta": FloatAttr(beta, f32),
                "trans_a": IntegerAttr(int(trans_a), i64),
                "trans_b": IntegerAttr(int(trans_b), i64),
            },
        )

    @staticmethod
    def infer(
        a: Sequence[int],
        b: Sequence[int],
        c: Sequence[int] | None,
        trans_a: bool,
        trans_b: bool,
    ) -> tuple[int, ...]:
        if len(a) != 2 or len(b) != 2:
            raise VerifyException("nn.gemm: A and B must be 2-D")
        m, k = (a[1], a[0]) if trans_a else (a[0], a[1])
        k2, n = (b[1], b[0]) if trans_b else (b[0], b[1])
        check_shape("nn.gemm contraction", [k], [k2])
        if c is not None:
            check_shape("nn.gemm C", broadcast([m, n], c), [m, n])
        return (m, n)

    def verify_(self) -> None:
        shape = self.infer(
            tensor_shape(self.a.type),
            tensor_shape(self.b.type),
            tensor_shape(self.c.type) if self.c is not None else None,
            bool(self.trans_a.value.data),
            bool(self.trans_b.value.data),
        )
        check_shape(self.name, tensor_shape(self.result.type), shape)


class _ShapeOp(IRDLOperation):
    """A shape-changing op whose result shape follows from its properties."""

    input = operand_def(TensorType)
    result = result_def(TensorType)
    traits = traits_def(Pure())
    irdl_options = (ParsePropInAttrDict(),)
    assembly_format = _FORMAT_UNARY
    PROPS: ClassVar[tuple[str, ...]] = ()

    def __init__(self, input: SSAValue, **values: Sequence[int]):
        props = {k: int_array(v) for k, v in values.items()}
        shape = self.infer(tensor_shape(input.type), **{k: tuple(v) for k, v in values.items()})
        super().__init__(
            operands=[input], result_types=[with_shape(input.type, shape)], properties=props
        )

    @classmethod
    def infer(cls, in_shape: tuple[int, ...], **values: tuple[int, ...]) -> tuple[int, ...]:
        raise NotImplementedError

    def prop_values(self) -> dict[str, tuple[int, ...]]:
        out: dict[str, tuple[int, ...]] = {}
        for k in self.PROPS:
            attr = self.properties[k]
            assert isinstance(attr, DenseArrayBase)
            out[k] = array_values(attr)
        return out

    def verify_(self) -> None:
        shape = self.infer(tensor_shape(self.input.type), **self.prop_values())
        check_shape(self.name, tensor_shape(self.result.type), shape)


class _TransposeCanonicalization(HasCanonicalizationPatternsTrait):
    @classmethod
    def get_canonicalization_patterns(cls) -> tuple[RewritePattern, ...]:
        from .nn_canonicalization import TransposeOfTranspose

        return (TransposeOfTranspose(),)


class _SqueezeCanonicalization(HasCanonicalizationPatternsTrait):
    @classmethod
    def get_canonicalization_patterns(cls) -> tuple[RewritePattern, ...]:
        from .nn_canonicalization import SqueezeOfUnsqueeze

        return (SqueezeOfUnsqueeze(),)


@irdl_op_definition
class TransposeOp(_ShapeOp):
    """Permute the axes: result axis i is input axis perm[i]."""

    name = "nn.transpose"
    traits = traits_def(Pure(), _TransposeCanonicalization())
    perm = prop_def(DenseArrayBase.constr(i64))
    PROPS: ClassVar[tuple[str, ...]] = ("perm",)

    @classmethod
    def infer(cls, shape: tuple[int, ...], perm: tuple[int, ...] = ()) -> tuple[int, ...]:
        if sorted(perm) != list(range(len(shape))):
            raise VerifyException(
                f"nn.transpose: {list(perm)} is not a permutation of rank {len(shape)}"
            )
        return tuple(shape[p] for p in perm)


@irdl_op_definition
class ReshapeOp(_ShapeOp):
    """Reshape with ONNX conventions: 0 copies the input dim at that index
    (allowzero = 0) and one -1 is inferred."""

    name = "nn.reshape"
    shape = prop_def(DenseArrayBase.constr(i64))
    PROPS: ClassVar[tuple[str, ...]] = ("shape",)

    @classmethod
    def infer(cls, in_shape: tuple[int, ...], shape: tuple[int, ...] = ()) -> tuple[int, ...]:
        out = [in_shape[i] if d == 0 else d for i, d in enumerate(shape)]
        if out.count(-1) > 1:
            raise VerifyException("nn.reshape: more than one -1")
        if -1 in out:
            copied = {i for i, d in enumerate(shape) if d == 0}
            rest_in = [d for i, d in enumerate(in_shape) if i not in copied]
            rest_out = [d for d in shape if d not in (0, -1)]
            if DYN in rest_in or DYN in rest_out:
                inferred = DYN
            else:
                total, part = int(np.prod(rest_in)), int(np.prod(rest_out))
                if part == 0 or total % part:
                    raise VerifyException(
                        f"nn.reshape: cannot reshape {list(in_shape)} to {list(shape)}"
                    )
                inferred = total // part
            out[out.index(-1)] = inferred
        return tuple(out)


@irdl_op_definition
class SqueezeOp(_ShapeOp):
    """Remove the listed axes, each of size 1."""

    name = "nn.squeeze"
    traits = traits_def(Pure(), _SqueezeCanonicalization())
    axes = prop_def(DenseArrayBase.constr(i64))
    PROPS: ClassVar[tuple[str, ...]] = ("axes",)

    @classmethod
    def infer(cls, shape: tuple[int, ...], axes: tuple[int, ...] = ()) -> tuple[int, ...]:
        norm = {normalize_axis(a, len(shape)) for a in axes}
        for a in norm:
            if shape[a] not in (1, DYN):
                raise VerifyException(f"nn.squeeze: axis {a} has size {shape[a]}")
        return tuple(d for i, d in enumerate(shape) if i not in norm)


@irdl_op_definition
class UnsqueezeOp(_ShapeOp):
    """Insert axes of size 1 at the listed positions of the result."""

    name = "nn.unsqueeze"
    axes = prop_def(DenseArrayBase.constr(i64))
    PROPS: ClassVar[tuple[str, ...]] = ("axes",)

    @classmethod
    def infer(cls, shape: tuple[int, ...], axes: tuple[int, ...] = ()) -> tuple[int, ...]:
        rank = len(shape) + len(axes)
        norm = sorted(normalize_axis(a, rank) for a in axes)
        out = list(shape)
        for a in norm:
            out.insert(a, 1)
        return tuple(out)


@irdl_op_definition
class SliceOp(_ShapeOp):
    """Static slice per axis with NumPy semantics (negative and out-of-range
    indices clamp like Python slicing)."""

    name = "nn.slice"
    starts = prop_def(DenseArrayBase.constr(i64))
    ends = prop_def(DenseArrayBase.constr(i64))
    axes = prop_def(DenseArrayBase.constr(i64))
    steps = prop_def(DenseArrayBase.constr(i64))
    PROPS: ClassVar[tuple[str, ...]] = ("starts", "ends", "axes", "steps")

    @classmethod
    def infer(
        cls,
        shape: tuple[int, ...],
        starts: tuple[int, ...] = (),
        ends: tuple[int, ...] = (),
        axes: tuple[int, ...] = (),
        steps: tuple[int, ...] = (),
    ) -> tuple[int, ...]:
        if not len(starts) == len(ends) == len(axes) == len(steps):
            raise VerifyException("nn.slice: starts, ends, axes and steps differ in length")
        out = list(shape)
        for s, e, a, st in zip(starts, ends, axes, steps):
            a = normalize_axis(a, len(shape))
            if st == 0:
                raise VerifyException("nn.slice: step 0")
            out[a] = slice_length(shape[a], s, e, st)
        return tuple(out)


def slice_length(dim: int, start: int, end: int, step: int) -> int:
    """Length of ``range(dim)[start:end:step]``; symbolic if it depends on dim."""
    if dim != DYN:
        return len(range(dim)[start:end:step])
    big = 2**62
    # Both ends anchored to the same side: the length does not depend on dim
    # as long as dim is large enough, which a symbolic dim is assumed to be.
    if step > 0 and start >= 0 and 0 <= end < big:
        return max(0, -(-(end - start) // step))
    if step > 0 and start < 0 and (end >= big or end < 0):
        stop = 0 if end >= big else end
        return max(0, -(-(stop - start) // step))
    return DYN


@irdl_op_definition
class ConcatOp(IRDLOperation):
    """Concatenate along one axis."""

    name = "nn.concat"
    inputs = var_operand_def(TensorType)
    result = result_def(TensorType)
    axis = prop_def(IntegerAttr[I64])
    traits = traits_def(Pure())
    irdl_options = (ParsePropInAttrDict(),)
    assembly_format = "$inputs attr-dict `:` functional-type(operands, results)"

    def __init__(self, inputs: Sequence[SSAValue], axis: int):
        shapes = [tensor_shape(v.type) for v in inputs]
        axis = normalize_axis(axis, len(shapes[0]))
        super().__init__(
            operands=[list(inputs)],
            result_types=[with_shape(inputs[0].type, self.infer(shapes, axis))],
            properties={"axis": IntegerAttr(axis, i64)},
        )

    @staticmethod
    def infer(shapes: Sequence[Sequence[int]], axis: int) -> tuple[int, ...]:
        first = list(shapes[0])
        total = 0
        for s in shapes:
            if len(s) != len(first):
                raise VerifyException("nn.concat: operands differ in rank")
            for i, (d, f) in enumerate(zip(s, first)):
                if i != axis:
                    check_shape("nn.concat", [d], [f])
            total = DYN if DYN in (total, s[axis]) else total + s[axis]
        first[axis] = total
        return tuple(first)

    def verify_(self) -> None:
        shapes = [tensor_shape(v.type) for v in self.inputs]
        if not shapes:
            raise VerifyException("nn.concat: no operands")
        check_shape(
            self.name, tensor_shape(self.result.type), self.infer(shapes, self.axis.value.data)
        )


@irdl_op_definition
class SplitOp(IRDLOperation):
    """Split along one axis into consecutive pieces of the given sizes."""

    name = "nn.split"
    input = operand_def(TensorType)
    outputs = var_result_def(TensorType)
    axis = prop_def(IntegerAttr[I64])
    sizes = prop_def(DenseArrayBase.constr(i64))
    traits = traits_def(Pure())
    irdl_options = (ParsePropInAttrDict(),)
    assembly_format = "$input attr-dict `:` type($input) `->` type($outputs)"

    def __init__(self, input: SSAValue, axis: int, sizes: Sequence[int]):
        shape = tensor_shape(input.type)
        axis = normalize_axis(axis, len(shape))
        types = []
        for s in sizes:
            part = list(shape)
            part[axis] = s
            types.append(with_shape(input.type, part))
        super().__init__(
            operands=[input],
            result_types=[types],
            properties={"axis": IntegerAttr(axis, i64), "sizes": int_array(sizes)},
        )

    def split_sizes(self) -> tuple[int, ...]:
        return array_values(self.sizes)

    def offsets(self) -> list[int]:
        return [int(v) for v in np.cumsum((0,) + self.split_sizes()[:-1])]

    def verify_(self) -> None:
        shape = tensor_shape(self.input.type)
        axis = self.axis.value.data
        sizes = self.split_sizes()
        if len(sizes) != len(self.outputs):
            raise VerifyException("nn.split: one size per result expected")
        if shape[axis] != DYN and sum(sizes) != shape[axis]:
            raise VerifyException(f"nn.split: sizes {list(sizes)} do not add up to {shape[axis]}")
        for s, r in zip(sizes, self.outputs):
            want = list(shape)
            want[axis] = s
            check_shape(self.name, tensor_shape(r.type), want)


@irdl_op_definition
class GatherOp(IRDLOperation):
    """ONNX Gather with constant indices (negative indices count from the end)."""

    name = "nn.gather"
    input = operand_def(TensorType)
    result = result_def(TensorType)
    axis = prop_def(IntegerAttr[I64])
    indices = prop_def(DenseIntOrFPElementsAttr)
    traits = traits_def(Pure())
    irdl_options = (ParsePropInAttrDict(),)
    assembly_format = _FORMAT_UNARY

    def __init__(self, input: SSAValue, axis: int, indices: np.ndarray):
        shape = tensor_shape(input.type)
        axis = normalize_axis(axis, len(shape))
        idx = np.asarray(indices, dtype=np.int64)
        attr = DenseIntOrFPElementsAttr.from_list(
            TensorType(i64, list(idx.shape)), idx.ravel().tolist()
        )
        super().__init__(
            operands=[input],
            result_types=[with_shape(input.type, self.infer(shape, axis, idx.shape))],
            properties={"axis": IntegerAttr(axis, i64), "indices": attr},
        )

    @staticmethod
    def infer(shape: Sequence[int], axis: int, idx_shape: Sequence[int]) -> tuple[int, ...]:
        return (*shape[:axis], *idx_shape, *shape[axis + 1 :])

    def index_array(self) -> np.ndarray:
        vals = [int(v) for v in self.indices.get_values()]
        return np.array(vals, dtype=np.int64).reshape(self.indices.get_shape())

    def verify_(self) -> None:
        shape = tensor_shape(self.input.type)
        axis = self.axis.value.data
        normalize_axis(axis, len(shape))
        idx = self.index_array()
        if (
            shape[axis] != DYN
            and idx.size
            and (idx.max() >= shape[axis] or idx.min() < -shape[axis])
        ):
            raise VerifyException(f"nn.gather: index out of range for axis size {shape[axis]}")
        check_shape(self.name, tensor_shape(self.result.type), self.infer(shape, axis, idx.shape))


NN = Dialect(
    "nn",
    [
        AddOp,
        SubOp,
        MulOp,
        DivOp,
        ActOp,
        ClipOp,
        SoftmaxOp,
        LogSoftmaxOp,
        CastOp,
        MatMulOp,
        GemmOp,
        TransposeOp,
        ReshapeOp,
        SqueezeOp,
        UnsqueezeOp,
        SliceOp,
        ConcatOp,
        SplitOp,
        GatherOp,
    ],
)

__all__ = ["ACTIVATIONS", "NN", "AnyFloat", "ArrayAttr"]
