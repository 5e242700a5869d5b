"""The ``fxp`` dialect: fixed-point numbers with the meaning of Xilinx
``ap_fixed``, and the ops that round, saturate and approximate.

``!fxp.fixed<W, I>`` is a signed number of W bits, I of them integer bits
(sign included), F = W - I fraction bits: a raw integer r stands for
r * 2^-F. Two optional modes say what a *cast to this type* does: rounding
``trn`` (toward minus infinity, the default) or ``rnd`` (half up, toward plus
infinity), and overflow ``wrap`` (the default) or ``sat``.

Arithmetic on fixed-point operands (``nn.add``, ``nn.mul``, ``cell.matvec``,
``circ.mac``, ...) is exact: its result type is the exact type of the result
(``exact_add``, ``exact_mul``, ``exact_dot``), checked by the verifiers.
``fxp.cast`` is the only op that rounds or saturates, so the IR shows every
point where the hardware loses precision.
"""

from __future__ import annotations

from collections.abc import Sequence

from xdsl.dialects.builtin import (
    I64,
    DenseIntOrFPElementsAttr,
    FloatAttr,
    IntAttr,
    IntegerAttr,
    IntegerType,
    StringAttr,
    TensorType,
    f64,
    i64,
)
from xdsl.ir import Attribute, Dialect, ParametrizedAttribute, SSAValue, TypeAttribute
from xdsl.irdl import (
    IRDLOperation,
    ParsePropInAttrDict,
    irdl_attr_definition,
    irdl_op_definition,
    operand_def,
    opt_prop_def,
    prop_def,
    result_def,
    traits_def,
)
from xdsl.parser import AttrParser
from xdsl.printer import Printer
from xdsl.traits import Pure
from xdsl.utils.exceptions import VerifyException

from .shapes import check_shape, tensor_shape

ROUNDING = ("trn", "rnd")
OVERFLOW = ("wrap", "sat")
MAX_WIDTH = 64


@irdl_attr_definition
class FixedType(ParametrizedAttribute, TypeAttribute):
    """``!fxp.fixed<W, I[, rnd][, sat]>``: ap_fixed<W, I, AP_RND, AP_SAT>."""

    name = "fxp.fixed"
    width: IntAttr
    int_bits: IntAttr
    rounding: StringAttr
    overflow: StringAttr

    def __init__(self, width: int, int_bits: int, rounding: str = "trn", overflow: str = "wrap"):
        super().__init__(
            IntAttr(width), IntAttr(int_bits), StringAttr(rounding), StringAttr(overflow)
        )

    @property
    def w(self) -> int:
        return self.width.data

    @property
    def i(self) -> int:
        return self.int_bits.data

    @property
    def f(self) -> int:
        return self.w - self.i

    @property
    def round_mode(self) -> str:
        return self.rounding.data

    @property
    def overflow_mode(self) -> str:
        return self.overflow.data

    @property
    def max_value(self) -> float:
        return (2 ** (self.w - 1) - 1) * 2.0**-self.f

    @property
    def min_value(self) -> float:
        return -(2 ** (self.w - 1)) * 2.0**-self.f

    def with_modes(self, rounding: str = "trn", overflow: str = "wrap") -> FixedType:
        return FixedType(self.w, self.i, rounding, overflow)

    def exact(self) -> FixedType:
        """The same width and point with the default modes."""
        return self.with_modes()

    def spec(self) -> str:
        """``fixed<16,6,RND,SAT>``, as the precision language writes it."""
        modes = [
            m.upper() for m, d in ((self.round_mode, "trn"), (self.overflow_mode, "wrap")) if m != d
        ]
        return f"fixed<{','.join([str(self.w), str(self.i), *modes])}>"

    @classmethod
    def parse_parameters(cls, parser: AttrParser) -> Sequence[Attribute]:
        with parser.in_angle_brackets():
            w = parser.parse_integer(allow_boolean=False, allow_negative=False)
            parser.parse_punctuation(",")
            i = parser.parse_integer(allow_boolean=False, allow_negative=True)
            rounding, overflow = "trn", "wrap"
            while parser.parse_optional_punctuation(","):
                mode = parser.parse_identifier()
                if mode in ROUNDING:
                    rounding = mode
                elif mode in OVERFLOW:
                    overflow = mode
                else:
                    parser.raise_error(f"unknown fixed-point mode '{mode}' (trn, rnd, wrap, sat)")
        return (IntAttr(w), IntAttr(i), StringAttr(rounding), StringAttr(overflow))

    def print_parameters(self, printer: Printer) -> None:
        with printer.in_angle_brackets():
            printer.print_string(f"{self.w}, {self.i}")
            if self.round_mode != "trn":
                printer.print_string(f", {self.round_mode}")
            if self.overflow_mode != "wrap":
                printer.print_string(f", {self.overflow_mode}")

    def verify(self) -> None:
        if not 1 <= self.w <= MAX_WIDTH:
            raise VerifyException(f"fixed<{self.w}, {self.i}>: width must lie in [1, {MAX_WIDTH}]")
        if self.i > self.w:
            raise VerifyException(f"fixed<{self.w}, {self.i}>: more integer bits than bits")
        if self.f > 2 * MAX_WIDTH:
            raise VerifyException(
                f"fixed<{self.w}, {self.i}>: more than {2 * MAX_WIDTH} fraction bits"
            )
        if self.round_mode not in ROUNDING or self.overflow_mode not in OVERFLOW:
            raise VerifyException(f"fixed<{self.w}, {self.i}>: unknown mode")


def fixed_of(t: Attribute) -> FixedType | None:
    """The fixed-point element type of a tensor type, if it has one."""
    if isinstance(t, TensorType) and isinstance(t.element_type, FixedType):
        return t.element_type
    return None


# -- exact result types: what the hardware computes before any cast --------


def exact_add(a: FixedType, b: FixedType) -> FixedType:
    f = max(a.f, b.f)
    i = max(a.i, b.i) + 1
    return FixedType(i + f, i)


def exact_mul(a: FixedType, b: FixedType) -> FixedType:
    return FixedType(a.w + b.w, a.i + b.i)


def guard_bits(terms: int) -> int:
    """Bits a sum of ``terms`` values may grow by: ceil(log2(terms))."""
    return max(0, (terms - 1).bit_length())


def exact_dot(w: FixedType, x: FixedType, terms: int) -> FixedType:
    """A sum of ``terms`` products w * x."""
    p = exact_mul(w, x)
    g = guard_bits(terms)
    return FixedType(p.w + g, p.i + g)


def exact_complex_dot(w: FixedType, x: FixedType, terms: int) -> FixedType:
    """A sum of ``terms`` complex products: each part is ac - bd, one more bit."""
    p = exact_mul(w, x)
    g = guard_bits(terms) + 1
    return FixedType(p.w + g, p.i + g)


def check_exact(what: str, got: Attribute, want: FixedType) -> None:
    """The result type must be the exact type; its modes only say how the
    hardware rounds products inside the op (FFT twiddles), if it does."""
    g = fixed_of(got) if isinstance(got, TensorType) else got
    if not isinstance(g, FixedType) or (g.w, g.i) != (want.w, want.i):
        raise VerifyException(f"{what}: result type {got} is not the exact type {want}")


@irdl_op_definition
class CastOp(IRDLOperation):
    """Convert between fixed-point types, or between float and fixed point.

    To a fixed type: scale, round with its rounding mode, then handle overflow
    with its overflow mode (as an assignment to ap_fixed does). To float:
    the value r * 2^-F rounded to the float type.
    """

    name = "fxp.cast"
    input = operand_def(TensorType)
    result = result_def(TensorType)
    traits = traits_def(Pure())
    assembly_format = "$input attr-dict `:` type($input) `->` type($result)"

    def __init__(self, input: SSAValue, element_type: Attribute):
        super().__init__(
            operands=[input], result_types=[TensorType(element_type, tensor_shape(input.type))]
        )

    def verify_(self) -> None:
        check_shape(self.name, tensor_shape(self.result.type), tensor_shape(self.input.type))
        if fixed_of(self.input.type) is None and fixed_of(self.result.type) is None:
            raise VerifyException("fxp.cast: one side must be fixed point")


def raw_integer_type(width: int) -> IntegerType:
    for bits in (8, 16, 32, 64):
        if width <= bits:
            return IntegerType(bits)
    raise VerifyException(f"no integer type holds {width} bits")


@irdl_op_definition
class ConstantOp(IRDLOperation):
    """A fixed-point tensor constant, given by its raw integers (r * 2^-F)."""

    name = "fxp.constant"
    value = prop_def(DenseIntOrFPElementsAttr)
    result = result_def(TensorType)
    traits = traits_def(Pure())
    irdl_options = (ParsePropInAttrDict(),)
    assembly_format = "$value attr-dict `->` type($result)"

    def __init__(self, raw: DenseIntOrFPElementsAttr, element_type: FixedType):
        t = raw.get_type()
        assert isinstance(t, TensorType)
        super().__init__(
            properties={"value": raw}, result_types=[TensorType(element_type, t.get_shape())]
        )

    def verify_(self) -> None:
        t = self.value.get_type()
        ft = fixed_of(self.result.type)
        if (
            not isinstance(t, TensorType)
            or not isinstance(t.element_type, IntegerType)
            or ft is None
        ):
            raise VerifyException("fxp.constant: raw integers in, a fixed-point tensor out")
        if t.element_type.width.data < ft.w:
            raise VerifyException(f"fxp.constant: {t.element_type} cannot hold {ft.w}-bit values")
        check_shape(self.name, tensor_shape(self.result.type), tensor_shape(t))


def _table_props(
    fn: str, lo: float, step_log2: int, params: tuple[float | None, float | None]
) -> dict[str, Attribute]:
    props: dict[str, Attribute] = {
        "fn": StringAttr(fn),
        "lo": FloatAttr(lo, f64),
        "step_log2": IntegerAttr(step_log2, i64),
    }
    if params[0] is not None:
        props["alpha"] = FloatAttr(params[0], f64)
    if params[1] is not None:
        props["beta"] = FloatAttr(params[1], f64)
    return props


class _TableActivation(IRDLOperation):
    """Common part of fxp.pwl and fxp.lut: a uniform grid of segments of
    width 2^step_log2 starting at ``lo``; index k covers [lo + k s, lo + (k+1) s).
    (Operands are declared by each op, so that the input comes first.)"""

    fn = prop_def(StringAttr)
    alpha = opt_prop_def(FloatAttr)
    beta = opt_prop_def(FloatAttr)
    lo = prop_def(FloatAttr)
    step_log2 = prop_def(IntegerAttr[I64])
    traits = traits_def(Pure())
    irdl_options = (ParsePropInAttrDict(),)

    @property
    def function(self) -> str:
        return self.fn.data

    def params(self) -> tuple[float, float]:
        """The function's alpha and beta (what the table approximates)."""
        a = self.alpha.value.data if self.alpha is not None else 0.0
        b = self.beta.value.data if self.beta is not None else 0.0
        return a, b

    @property
    def step(self) -> int:
        return self.step_log2.value.data

    def _check_io(self) -> None:
        check_shape(self.name, tensor_shape(self.result.type), tensor_shape(self.input.type))
        if fixed_of(self.input.type) is None or fixed_of(self.result.type) is None:
            raise VerifyException(f"{self.name}: input and result must be fixed point")
        lo = self.lo.value.data
        fin = fixed_of(self.input.type)
        assert fin is not None
        if lo * 2.0 ** (-self.step) != int(lo * 2.0 ** (-self.step)):
            raise VerifyException(
                f"{self.name}: lo {lo} is not a multiple of the step 2^{self.step}"
            )


@irdl_op_definition
class PwlOp(_TableActivation):
    """Piecewise-linear activation: y = cast(slope[k] * x + intercept[k]).

    Segment k = clamp(floor((x - lo) / 2^step_log2) + 1, 0, n + 1) of the n + 2
    coefficients: 0 and n + 1 hold what applies below and above the grid.
    The product and the sum are exact; the one cast is to the result type.
    """

    name = "fxp.pwl"
    input = operand_def(TensorType)
    slopes = operand_def(TensorType)
    intercepts = operand_def(TensorType)
    result = result_def(TensorType)
    assembly_format = (
        "$input `,` $slopes `,` $intercepts attr-dict `:` functional-type(operands, results)"
    )

    def __init__(
        self,
        x: SSAValue,
        slopes: SSAValue,
        intercepts: SSAValue,
        result: FixedType,
        *,
        fn: str,
        lo: float,
        step_log2: int,
        params: tuple[float | None, float | None] = (None, None),
    ):
        super().__init__(
            operands=[x, slopes, intercepts],
            result_types=[TensorType(result, tensor_shape(x.type))],
            properties=_table_props(fn, lo, step_log2, params),
        )

    @property
    def segments(self) -> int:
        return tensor_shape(self.slopes.type)[0] - 2

    def verify_(self) -> None:
        self._check_io()
        s, c = tensor_shape(self.slopes.type), tensor_shape(self.intercepts.type)
        if len(s) != 1 or s != c or s[0] < 3:
            raise VerifyException(
                "fxp.pwl: slopes and intercepts must be 1-D of equal length n + 2"
            )
        if fixed_of(self.slopes.type) is None or fixed_of(self.intercepts.type) is None:
            raise VerifyException("fxp.pwl: coefficients must be fixed point")


@irdl_op_definition
class LutOp(_TableActivation):
    """Table activation: y = cast(table[clamp(floor((x - lo) / 2^step_log2), 0, n - 1)])."""

    name = "fxp.lut"
    input = operand_def(TensorType)
    table = operand_def(TensorType)
    result = result_def(TensorType)
    assembly_format = "$input `,` $table attr-dict `:` functional-type(operands, results)"

    def __init__(
        self,
        x: SSAValue,
        table: SSAValue,
        result: FixedType,
        *,
        fn: str,
        lo: float,
        step_log2: int,
        params: tuple[float | None, float | None] = (None, None),
    ):
        super().__init__(
            operands=[x, table],
            result_types=[TensorType(result, tensor_shape(x.type))],
            properties=_table_props(fn, lo, step_log2, params),
        )

    def verify_(self) -> None:
        self._check_io()
        t = tensor_shape(self.table.type)
        if len(t) != 1 or t[0] < 1 or fixed_of(self.table.type) is None:
            raise VerifyException("fxp.lut: the table must be a 1-D fixed-point tensor")


FXP = Dialect("fxp", [CastOp, ConstantOp, PwlOp, LutOp], [FixedType])
