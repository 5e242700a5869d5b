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

from .fxp import FixedType, check_exact, exact_complex_dot, exact_dot, fixed_of
from .shapes import check_shape, tensor_shape


def _ceil_div(n: int, b: int) -> int:
    return -(-n // b)


def _check_block(name: str, b: int) -> None:
    if b < 1:
        raise VerifyException(f"{name}: block size {b} must be positive")


def _element(t: Attribute) -> Attribute:
    assert isinstance(t, TensorType)
    return t.element_type


def fft_growth(block: int) -> int:
    """Integer bits a block-point FFT adds with exact sums: log2(b), plus one
    for the rounding of the twiddle products (mirrors ernnc.fixedpoint)."""
    return block.bit_length()


def rfft_type(x: FixedType, block: int) -> FixedType:
    g = fft_growth(block)
    return FixedType(x.w + g, x.i + g)


def irfft_type(acc: FixedType, block: int) -> FixedType:
    """The network grows the values by the FFT growth; dividing by b (a shift
    of the binary point, exact) takes log2(b) integer bits back."""
    g = fft_growth(block)
    return FixedType(acc.w + g, acc.i + g - (block.bit_length() - 1))


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
        fg, fx = fixed_of(gen.type), fixed_of(x.type)
        element = _element(x.type)
        if fg is not None and fx is not None:
            element = exact_dot(fg, fx, -(-cols // block) * block)
        super().__init__(
            operands=[gen, x],
            result_types=[TensorType(element, [*xs[:-1], rows])],
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
        fg, fx = fixed_of(self.gen.type), fixed_of(self.x.type)
        if fg is not None and fx is not None:
            check_exact(self.name, self.result.type, exact_dot(fg, fx, q * b))


@irdl_op_definition
class RfftOp(IRDLOperation):
    """Real FFT of each length-b block of x (zero-padded): [N, K] -> [N, Q, b/2+1, 2]."""

    name = "circ.rfft"
    input = operand_def(TensorType)
    result = result_def(TensorType)
    block = prop_def(IntegerAttr[I64])
    # fixed point: twiddle factors have this many fraction bits; products are
    # rounded (with the result type's rounding) back to the input's point
    twiddle_frac = opt_prop_def(IntegerAttr[I64])
    traits = traits_def(Pure())
    irdl_options = (ParsePropInAttrDict(),)
    assembly_format = "$input attr-dict `:` type($input) `->` type($result)"

    def __init__(
        self, x: SSAValue, block: int, twiddle_frac: int | None = None, rounding: str = "trn"
    ):
        xs = tensor_shape(x.type)
        shape = [*xs[:-1], _ceil_div(xs[-1], block), block // 2 + 1, 2]
        element = _element(x.type)
        props: dict[str, Attribute] = {"block": IntegerAttr(block, i64)}
        fx = fixed_of(x.type)
        if fx is not None:
            element = rfft_type(fx, block).with_modes(rounding)
            props["twiddle_frac"] = IntegerAttr(
                twiddle_frac if twiddle_frac is not None else 16, i64
            )
        super().__init__(operands=[x], result_types=[TensorType(element, shape)], properties=props)

    def verify_(self) -> None:
        b = self.block.value.data
        _check_block(self.name, b)
        xs = tensor_shape(self.input.type)
        want = [*xs[:-1], _ceil_div(xs[-1], b), b // 2 + 1, 2]
        check_shape(self.name, tensor_shape(self.result.type), want)
        fx = fixed_of(self.input.type)
        if fx is not None:
            check_exact(self.name, self.result.type, rfft_type(fx, b))
            if self.twiddle_frac is None:
                raise VerifyException("circ.rfft: a fixed-point FFT needs twiddle_frac")


@irdl_op_definition
class MacOp(IRDLOperation):
    """acc[n, p, f] = sum_q wf[p, q, f] * xf[n, q, f] (complex products)."""

    name = "circ.mac"
    lhs = operand_def(TensorType)
    rhs = operand_def(TensorType)
    result = result_def(TensorType)
    matrix = opt_prop_def(StringAttr)
    traits = traits_def(Pure())
    irdl_options = (ParsePropInAttrDict(),)
    assembly_format = _FORMAT

    def __init__(self, wf: SSAValue, xf: SSAValue, matrix: str | None = None):
        ws, xs = tensor_shape(wf.type), tensor_shape(xf.type)
        fw, fx = fixed_of(wf.type), fixed_of(xf.type)
        element = _element(xf.type)
        if fw is not None and fx is not None:
            element = exact_complex_dot(fw, fx, ws[1])
        super().__init__(
            operands=[wf, xf],
            result_types=[TensorType(element, [*xs[:-3], ws[0], *ws[2:]])],
            properties={} if matrix is None else {"matrix": StringAttr(matrix)},
        )

    def verify_(self) -> None:
        ws, xs = tensor_shape(self.lhs.type), tensor_shape(self.rhs.type)
        if len(ws) != 4 or ws[-1] != 2:
            raise VerifyException("circ.mac: weight spectra must be [P, Q, F, 2]")
        check_shape("circ.mac input spectra", xs[-3:], ws[1:])
        check_shape(self.name, tensor_shape(self.result.type), [*xs[:-3], ws[0], *ws[2:]])
        fw, fx = fixed_of(self.lhs.type), fixed_of(self.rhs.type)
        if fw is not None and fx is not None:
            check_exact(self.name, self.result.type, exact_complex_dot(fw, fx, ws[1]))


@irdl_op_definition
class IrfftOp(IRDLOperation):
    """Inverse real FFT of each output block, then the real rows of each gate:
    [N, G*P, b/2+1, 2] -> [N, rows]."""

    name = "circ.irfft"
    input = operand_def(TensorType)
    result = result_def(TensorType)
    block = prop_def(IntegerAttr[I64])
    gates = prop_def(ArrayAttr[StringAttr])
    twiddle_frac = opt_prop_def(IntegerAttr[I64])
    traits = traits_def(Pure())
    irdl_options = (ParsePropInAttrDict(),)
    assembly_format = "$input attr-dict `:` type($input) `->` type($result)"

    def __init__(
        self,
        acc: SSAValue,
        block: int,
        rows: int,
        gates: Sequence[str],
        twiddle_frac: int | None = None,
        rounding: str = "trn",
    ):
        s = tensor_shape(acc.type)
        props: dict[str, Attribute] = {
            "block": IntegerAttr(block, i64),
            "gates": ArrayAttr([StringAttr(g) for g in gates]),
        }
        element = _element(acc.type)
        fa = fixed_of(acc.type)
        if fa is not None:
            element = irfft_type(fa, block).with_modes(rounding)
            props["twiddle_frac"] = IntegerAttr(
                twiddle_frac if twiddle_frac is not None else 16, i64
            )
        super().__init__(
            operands=[acc], result_types=[TensorType(element, [*s[:-3], rows])], properties=props
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
        fa = fixed_of(self.input.type)
        if fa is not None:
            check_exact(self.name, self.result.type, irfft_type(fa, b))
            if self.twiddle_frac is None:
                raise VerifyException("circ.irfft: a fixed-point FFT needs twiddle_frac")


CIRC = Dialect("circ", [MatVecOp, RfftOp, MacOp, IrfftOp])
