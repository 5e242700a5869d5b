"""The ``circ`` dialect: block-circulant weight matrices and their FFT form.

``circ.matvec`` is y[n] = W x[n] for a matrix W of stacked gates, each
blocked into b x b circulant blocks (see ``ernnc.circulant`` for the
convention: first-column generators, per-gate zero padding). Its generator
operand has shape [G*P, Q, b].

The decoupled FFT form of C-LSTM/E-RNN splits that product in three:

    %xf  = circ.rfft %x {block = b}        : [N, K]       -> [N, Q, b/2+1, 2]
    %acc = circ.mac %wf, %xf               : [G*P, Q, F, 2] x [N, Q, F, 2] -> [N, G*P, F, 2]
    %y   = circ.irfft %acc {block = b ...} : [N, G*P, F, 2] -> [N, M]

Spectra are real tensors whose last axis holds (real, imaginary): only the
b/2+1 bins of a real FFT are kept. Each input block is transformed once, the
products are summed in the frequency domain (sums of ``circ.mac`` results
are plain ``nn.add``), and each output block is transformed back once.
"""

from __future__ import annotations

from collections.abc import Sequence

from xdsl.dialects.builtin import (
    I64,
    ArrayAttr,
    FloatAttr,
    IntegerAttr,
    StringAttr,
    TensorType,
    UnitAttr,
    f64,
    i64,
)
from xdsl.ir import Attribute, Dialect, SSAValue
from xdsl.irdl import (
    IRDLOperation,
    ParsePropInAttrDict,
    irdl_op_definition,
    operand_def,
    opt_prop_def,
    prop_def,
    result_def,
    traits_def,
)
from xdsl.traits import Pure
from xdsl.utils.exceptions import VerifyException

from .shapes import check_shape, tensor_shape


def _ceil_div(n: int, b: int) -> int:
    return -(-n // b)


def _check_block(name: str, b: int) -> None:
    if b < 1:
        raise VerifyException(f"{name}: block size {b} must be positive")


def _element(t: Attribute) -> Attribute:
    assert isinstance(t, TensorType)
    return t.element_type


_FORMAT = "$lhs `,` $rhs attr-dict `:` functional-type(operands, results)"


@irdl_op_definition
class MatVecOp(IRDLOperation):
    """y[n] = W x[n], W block-circulant with generators ``gen`` [G*P, Q, b]."""

    name = "circ.matvec"
    gen = operand_def(TensorType)
    x = operand_def(TensorType)
    result = result_def(TensorType)
    matrix = prop_def(StringAttr)
    gates = prop_def(ArrayAttr[StringAttr])
    block = prop_def(IntegerAttr[I64])
    rows = prop_def(IntegerAttr[I64])
    cols = prop_def(IntegerAttr[I64])
    rel_error = opt_prop_def(FloatAttr)
    exact = opt_prop_def(UnitAttr)
    traits = traits_def(Pure())
    irdl_options = (ParsePropInAttrDict(),)
    assembly_format = "$gen `,` $x attr-dict `:` functional-type(operands, results)"

    def __init__(
        self,
        gen: SSAValue,
        x: SSAValue,
        *,
        matrix: str,
        gates: Sequence[str],
        block: int,
        rows: int,
        cols: int,
        rel_error: float | None = None,
        exact: bool = False,
    ):
        xs = tensor_shape(x.type)
        props: dict[str, Attribute] = {
            "matrix": StringAttr(matrix),
            "gates": ArrayAttr([StringAttr(g) for g in gates]),
            "block": IntegerAttr(block, i64),
            "rows": IntegerAttr(rows, i64),
            "cols": IntegerAttr(cols, i64),
        }
        if rel_error is not None:
            props["rel_error"] = FloatAttr(rel_error, f64)
        if exact:
            props["exact"] = UnitAttr()
        super().__init__(
            operands=[gen, x],
            result_types=[TensorType(_element(x.type), [*xs[:-1], rows])],
            properties=props,
        )

    @property
    def gate_names(self) -> tuple[str, ...]:
        return tuple(g.data for g in self.gates)

    @property
    def block_size(self) -> int:
        return self.block.value.data

    @property
    def shape(self) -> tuple[int, int]:
        return self.rows.value.data, self.cols.value.data

    def verify_(self) -> None:
        b = self.block_size
        _check_block(self.name, b)
        m, k = self.shape
        g = len(self.gates)
        if not g or m % g:
            raise VerifyException("circ.matvec: rows must split evenly into the listed gates")
        p, q = _ceil_div(m // g, b), _ceil_div(k, b)
        check_shape("circ.matvec generators", tensor_shape(self.gen.type), [g * p, q, b])
        xs = tensor_shape(self.x.type)
        check_shape("circ.matvec x", xs[-1:], [k])
        check_shape("circ.matvec result", tensor_shape(self.result.type), [*xs[:-1], m])


@irdl_op_definition
class RfftOp(IRDLOperation):
    """Real FFT of each length-b block of x (zero-padded): [N, K] -> [N, Q, b/2+1, 2]."""

    name = "circ.rfft"
    input = operand_def(TensorType)
    result = result_def(TensorType)
    block = prop_def(IntegerAttr[I64])
    traits = traits_def(Pure())
    irdl_options = (ParsePropInAttrDict(),)
    assembly_format = "$input attr-dict `:` type($input) `->` type($result)"

    def __init__(self, x: SSAValue, block: int):
        xs = tensor_shape(x.type)
        shape = [*xs[:-1], _ceil_div(xs[-1], block), block // 2 + 1, 2]
        super().__init__(
            operands=[x],
            result_types=[TensorType(_element(x.type), shape)],
            properties={"block": IntegerAttr(block, i64)},
        )

    def verify_(self) -> None:
        b = self.block.value.data
        _check_block(self.name, b)
        xs = tensor_shape(self.input.type)
        want = [*xs[:-1], _ceil_div(xs[-1], b), b // 2 + 1, 2]
        check_shape(self.name, tensor_shape(self.result.type), want)


@irdl_op_definition
class MacOp(IRDLOperation):
    """acc[n, p, f] = sum_q wf[p, q, f] * xf[n, q, f] (complex products)."""

    name = "circ.mac"
    lhs = operand_def(TensorType)
    rhs = operand_def(TensorType)
    result = result_def(TensorType)
    traits = traits_def(Pure())
    assembly_format = _FORMAT

    def __init__(self, wf: SSAValue, xf: SSAValue):
        ws, xs = tensor_shape(wf.type), tensor_shape(xf.type)
        super().__init__(
            operands=[wf, xf],
            result_types=[TensorType(_element(xf.type), [*xs[:-3], ws[0], *ws[2:]])],
        )

    def verify_(self) -> None:
        ws, xs = tensor_shape(self.lhs.type), tensor_shape(self.rhs.type)
        if len(ws) != 4 or ws[-1] != 2:
            raise VerifyException("circ.mac: weight spectra must be [P, Q, F, 2]")
        check_shape("circ.mac input spectra", xs[-3:], ws[1:])
        check_shape(self.name, tensor_shape(self.result.type), [*xs[:-3], ws[0], *ws[2:]])


@irdl_op_definition
class IrfftOp(IRDLOperation):
    """Inverse real FFT of each output block, then the real rows of each gate:
    [N, G*P, b/2+1, 2] -> [N, rows]."""

    name = "circ.irfft"
    input = operand_def(TensorType)
    result = result_def(TensorType)
    block = prop_def(IntegerAttr[I64])
    gates = prop_def(ArrayAttr[StringAttr])
    traits = traits_def(Pure())
    irdl_options = (ParsePropInAttrDict(),)
    assembly_format = "$input attr-dict `:` type($input) `->` type($result)"

    def __init__(self, acc: SSAValue, block: int, rows: int, gates: Sequence[str]):
        s = tensor_shape(acc.type)
        super().__init__(
            operands=[acc],
            result_types=[TensorType(_element(acc.type), [*s[:-3], rows])],
            properties={
                "block": IntegerAttr(block, i64),
                "gates": ArrayAttr([StringAttr(g) for g in gates]),
            },
        )

    @property
    def rows(self) -> int:
        return tensor_shape(self.result.type)[-1]

    def verify_(self) -> None:
        b = self.block.value.data
        _check_block(self.name, b)
        s = tensor_shape(self.input.type)
        g = len(self.gates)
        if len(s) < 3 or s[-1] != 2 or s[-2] != b // 2 + 1:
            raise VerifyException(f"circ.irfft: input must be [..., P, {b // 2 + 1}, 2]")
        m = self.rows
        if not g or m % g or s[-3] != g * _ceil_div(m // g, b):
            raise VerifyException(
                f"circ.irfft: {s[-3]} output blocks do not hold {g} gates of {m // max(g, 1)} rows"
            )
        check_shape(self.name, tensor_shape(self.result.type)[:-1], s[:-3])


CIRC = Dialect("circ", [MatVecOp, RfftOp, MacOp, IrfftOp])
