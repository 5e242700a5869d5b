"""ernn-quantize: give every tensor a fixed-point type (E-RNN, C-LSTM use 12
to 16 bits) and make each rounding point an explicit ``fxp.cast``.

Arithmetic becomes exact on fixed-point operands (its result type is the
exact type), and a cast follows it to the format the precision spec gives
that tensor's category: ``weights`` and ``bias`` constants, ``input``s,
``acc``umulators (matvec results, gate pre-activations, ``spectrum`` for the
frequency-domain sums of the FFT form), ``act``ivation outputs, ``state``s
(h, c and the products that make them) and ``output``s. Activations become
``fxp.pwl`` (fitted piecewise-linear segments) or ``fxp.lut`` tables. The
FFTs keep every bit (bit growth), rounding only the twiddle products.
Softmax and log-softmax stay in float, on dequantized values.

Options: ``precision`` (the language of ``ernnc.precision``) and
``activations`` (``pwl:N`` or ``lut:N``). ``auto`` formats need the ranges
that ``ernn-calibrate`` records.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from xdsl.context import Context
from xdsl.dialects import arith, func
from xdsl.dialects.builtin import (
    ArrayAttr,
    DenseArrayBase,
    FunctionType,
    ModuleOp,
    StringAttr,
    TensorType,
    f32,
    f64,
)
from xdsl.ir import Attribute, Block, Operation, Region, SSAValue
from xdsl.passes import ModulePass
from xdsl.utils.exceptions import PassFailedException, VerifyException

from ..dialects import cell, circ, nn
from ..dialects.constants import constant_value, dense_from_numpy
from ..dialects.fxp import CastOp, ConstantOp, FixedType, LutOp, PwlOp, fixed_of, raw_integer_type
from ..dialects.shapes import tensor_shape
from ..fixedpoint import Fmt, build_lut, fit_pwl, int_bits_for
from ..precision import Format, PrecisionError, PrecisionSpec, parse_precision, tensor_names
from .preconditions import require_cell_level

RANGE_ATTR = "ernn.range"
TWIDDLE_FRAC = 16
MARGIN = 1.25


# segments of a fitted activation: at least one on each side of 0
SEGMENTS = range(2, 65537)


def activation_spec(spec: str) -> tuple[str, int] | None:
    """``"pwl:64"`` -> ("pwl", 64); None if it is not pwl:N or lut:N in SEGMENTS."""
    kind, _, n = spec.partition(":")
    if kind not in ("pwl", "lut") or not n.isdigit() or int(n) not in SEGMENTS:
        return None
    return kind, int(n)


def parse_activations(spec: str) -> tuple[str, int]:
    parsed = activation_spec(spec)
    if parsed is None:
        raise PassFailedException(
            f"activations {spec!r}: expected pwl:N or lut:N with 2 <= N <= 65536 "
            "(exact needs float precision)"
        )
    return parsed


_LAYOUT = (
    nn.TransposeOp,
    nn.ReshapeOp,
    nn.SqueezeOp,
    nn.UnsqueezeOp,
    nn.SliceOp,
    nn.GatherOp,
    nn.SplitOp,
    nn.ClipOp,
)


def value_range(v: SSAValue) -> tuple[float, float] | None:
    """The calibrated [lo, hi] of a float value, if ernn-calibrate recorded it
    (for values that layout ops move, the range of what they move)."""
    owner = v.owner
    if isinstance(owner, _LAYOUT):
        return value_range(owner.operands[0])
    if isinstance(owner, nn.ConcatOp):
        ranges = [value_range(x) for x in owner.inputs]
        if any(r is None for r in ranges):
            return None
        return (min(r[0] for r in ranges), max(r[1] for r in ranges))  # type: ignore[index]
    if isinstance(owner, Block):
        op = owner.parent_op()
        attr = op.attributes.get(f"{RANGE_ATTR}.args") if op is not None else None
        index = owner.args.index(v)  # type: ignore[arg-type]
    else:
        attr = owner.attributes.get(RANGE_ATTR)
        index = owner.results.index(v)  # type: ignore[arg-type]
    if not isinstance(attr, ArrayAttr) or index >= len(attr.data):
        return None
    pair = attr.data[index]
    assert isinstance(pair, DenseArrayBase)
    lo, hi = (float(x) for x in pair.get_values())
    return (lo, hi) if lo <= hi else None


def _fmt(t: FixedType) -> Fmt:
    return Fmt(t.w, t.i, t.round_mode == "rnd", t.overflow_mode == "sat")


@dataclass
class _Tensor:
    """What the report and selectors know of one quantized tensor."""

    names: list[str]
    fmt: Format
    selector: str


@dataclass
class Quantizer:
    spec: PrecisionSpec
    activations: tuple[str, int]
    mapping: dict[SSAValue, SSAValue] = field(default_factory=dict)
    tensors: list[_Tensor] = field(default_factory=list)
    block: Block | None = None
    outer: Block | None = None  # where constants go
    gemms: int = 0
    # category of each new value that is not its own cast (views, FFT outputs)
    categories: dict[SSAValue, str] = field(default_factory=dict)
    constants: dict[tuple[SSAValue, str], SSAValue] = field(default_factory=dict)
    # values a scan yields -> the selector names of their state (h, c)
    yielded: dict[SSAValue, list[str]] = field(default_factory=dict)
    tables: dict[tuple[str, FixedType, bytes], SSAValue] = field(default_factory=dict)

    def category(self, v: SSAValue | None) -> str | None:
        if v is None:
            return None
        if v in self.categories:
            return self.categories[v]
        owner = v.owner
        if isinstance(owner, CastOp | ConstantOp | PwlOp | LutOp):
            t = owner.attributes.get("category")
            return t.data if isinstance(t, StringAttr) else None
        return None

    # -- formats -------------------------------------------------------------

    def fixed_type(
        self, names: list[str], values: np.ndarray | None, rng: tuple[float, float] | None
    ) -> FixedType:
        fmt, selector = self.spec.lookup(names)
        self.tensors.append(_Tensor(names, fmt, selector))
        if fmt.kind == "fixed":
            return FixedType(fmt.width, fmt.int_bits, fmt.rounding, fmt.overflow)
        if fmt.kind == "float":
            raise PassFailedException(
                f"{names[0]}: 'float' inside a fixed-point model is not supported; give a fixed format"
            )
        if values is not None:
            peak = float(np.abs(values).max()) if values.size else 0.0
            margin = 1.0
        elif rng is not None:
            peak, margin = max(abs(rng[0]), abs(rng[1])), MARGIN
        else:
            raise PassFailedException(
                f"{names[0]}: precision 'auto' needs calibrated ranges (run ernn-calibrate first, or give --calib)"
            )
        i = min(int_bits_for(peak, margin), fmt.width)
        return FixedType(fmt.width, i, fmt.rounding, fmt.overflow)

    # -- building --------------------------------------------------------------

    def emit(self, op: Operation) -> SSAValue:
        assert self.block is not None
        self.block.add_op(op)
        return op.results[0] if op.results else None  # type: ignore[return-value]

    def emit_outer(self, op: Operation) -> SSAValue:
        assert self.outer is not None
        self.outer.add_op(op)
        return op.results[0]

    def cast(
        self,
        v: SSAValue,
        to: FixedType,
        tensor: str,
        rng: tuple[float, float] | None,
        category: str | None = None,
    ) -> SSAValue:
        if v.type == TensorType(to, tensor_shape(v.type)):
            return v
        op = CastOp(v, to)
        op.attributes["tensor"] = StringAttr(tensor)
        if category is not None:
            op.attributes["category"] = StringAttr(category)
        if rng is not None:
            op.attributes[RANGE_ATTR] = DenseArrayBase.from_list(f64, list(rng))
        return self.emit(op)

    def constant(self, array: np.ndarray, names: list[str]) -> SSAValue:
        t = self.fixed_type(names, array, None)
        raw = _fmt(t).quantize(array)
        itype = raw_integer_type(t.w)
        width = itype.width.data
        raw_attr = dense_from_numpy(raw.astype(np.dtype(f"int{width}")))
        op = ConstantOp(raw_attr, t)
        op.attributes["tensor"] = StringAttr(names[0])
        op.attributes["category"] = StringAttr(names[-1])
        return self.emit_outer(op)

    def get(self, v: SSAValue) -> SSAValue:
        return self.mapping[v]

    # -- the function ------------------------------------------------------------

    def function(self, fn: func.FuncOp) -> None:
        old = fn.body.block
        arg_types = list(old.arg_types)
        new = Block(arg_types=arg_types)
        self.block = self.outer = new
        for i, (a, b) in enumerate(zip(old.args, new.args)):
            if fixed_of(a.type) is None and _is_float(a.type):
                name = _io_name(fn.arg_attrs, i, f"input{i}")
                rng = _arg_range(fn, i)
                t = self.fixed_type(tensor_names("input", name=name), None, rng)
                self.mapping[a] = self.cast(b, t, name, rng, "input")
            else:
                self.mapping[a] = b
        for op in list(old.ops):
            self.op(op, layer=None, direction=None)
        ret = new.last_op
        assert isinstance(ret, func.ReturnOp)
        fn.body.detach_block(old)
        fn.body.add_block(new)
        fn.function_type = FunctionType.from_lists(arg_types, [v.type for v in ret.arguments])

    def op(self, op: Operation, layer: str | None, direction: str | None) -> None:
        method = getattr(self, "_" + op.name.replace(".", "_"), None)
        if method is None:
            raise PassFailedException(f"ernn-quantize does not know '{op.name}'")
        method(op, layer, direction)

    def _names(
        self, category: str, layer: str | None, direction: str | None, name: str | None = None
    ) -> list[str]:
        return tensor_names(category, layer, direction, name)

    def _spectrum_names(self, layer: str | None, direction: str | None) -> list[str]:
        return (
            self._names("spectrum", layer, direction)[:-1]
            + ["spectrum"]
            + self._names("acc", layer, direction)
        )

    # constants are quantized where they are used (the category comes from the use)
    def _arith_constant(
        self, op: arith.ConstantOp, layer: str | None, direction: str | None
    ) -> None:
        if not _is_float(op.result.type):
            self.mapping[op.result] = self.emit_outer(op.clone())

    def _const_operand(self, v: SSAValue, names: list[str]) -> SSAValue:
        """A float constant operand, quantized for this use (cached per use kind)."""
        key = (v, names[0])
        if key not in self.constants:
            arr = constant_value(v)
            assert arr is not None
            self.constants[key] = self.constant(arr, names)
        return self.constants[key]

    def _gemm_operand(self, v: SSAValue, names: list[str], transposed: int) -> SSAValue:
        """A Gemm operand, transposed if asked: a constant at compile time,
        so that the hardware reads it as stored."""
        if not transposed:
            return self.operand(v, names)
        arr = None if v in self.mapping else constant_value(v)
        if arr is None or not _is_float(v.type):
            return self.emit(nn.TransposeOp(self.operand(v, names), perm=[1, 0]))
        key = (v, f"{names[0]}.T")
        if key not in self.constants:
            self.constants[key] = self.constant(np.ascontiguousarray(arr.T), names)
        return self.constants[key]

    def operand(self, v: SSAValue, names: list[str]) -> SSAValue:
        if v in self.mapping:
            return self.mapping[v]
        if constant_value(v) is not None and _is_float(v.type):
            return self._const_operand(v, names)
        raise PassFailedException(f"ernn-quantize: operand of unknown origin {v}")

    def _func_return(self, op: func.ReturnOp, layer: str | None, direction: str | None) -> None:
        fn = op.parent_op()
        assert isinstance(fn, func.FuncOp)
        outs = []
        for i, v in enumerate(op.arguments):
            q = self.get(v)
            if fixed_of(q.type) is not None:
                name = _io_name(fn.res_attrs, i, f"output{i}")
                rng = value_range(v)
                t = self.fixed_type(tensor_names("output", name=name), None, rng)
                q = self.cast(q, t, name, rng, "output")
                q = self.emit(CastOp(q, f32))
            outs.append(q)
        self.emit(func.ReturnOp(*outs))

    # -- arithmetic: exact op, then a cast to the tensor's format --------------

    def _arith(
        self,
        op: Operation,
        category: str,
        layer: str | None,
        direction: str | None,
        new: Operation,
        names: list[str] | None = None,
    ) -> None:
        """Emit an exact op and cast its result to the format of ``op``'s result."""
        self.emit(new)
        names = self.yielded.get(op.results[0]) or names or self._names(category, layer, direction)
        rng = value_range(op.results[0])
        t = self.fixed_type(names, None, rng)
        self.mapping[op.results[0]] = self.cast(new.results[0], t, names[0], rng, category)

    def _category_of_sum(self, op: Operation) -> str:
        for v in op.operands:
            if (
                self.category(self.mapping.get(v)) in ("acc", "spectrum")
                or constant_value(v) is not None
            ):
                return "acc"
        return "state"

    def _binary(self, op: Operation, layer: str | None, direction: str | None) -> None:
        if op.name == "nn.div":
            raise PassFailedException("nn.div has no fixed-point form")
        bias = self._names("bias", layer, direction)
        new = type(op)(self.operand(op.operands[0], bias), self.operand(op.operands[1], bias))
        if any(self.category(self.mapping.get(v)) == "spectrum" for v in op.operands):
            self._arith(
                op, "spectrum", layer, direction, new, self._spectrum_names(layer, direction)
            )
        else:
            category = "state" if op.name == "nn.mul" else self._category_of_sum(op)
            self._arith(op, category, layer, direction, new)

    _nn_add = _binary
    _nn_sub = _binary
    _nn_mul = _binary
    _nn_div = _binary

    def _weights(self, v: SSAValue, matrix: str) -> SSAValue:
        layer, direction, _ = matrix.split(".")
        return self.operand(v, self._names("weights", layer, direction, matrix))

    def _cell_matvec(self, op: cell.MatVecOp, layer: str | None, direction: str | None) -> None:
        w = self._weights(op.w, op.matrix.data)
        new = cell.MatVecOp(w, self.get(op.x), op.matrix.data, op.gate_names)
        self._arith(op, "acc", layer, direction, new)

    def _circ_matvec(self, op: circ.MatVecOp, layer: str | None, direction: str | None) -> None:
        w = self._weights(op.gen, op.matrix.data)
        m, k = op.shape
        new = circ.MatVecOp(
            w,
            self.get(op.x),
            matrix=op.matrix.data,
            gates=op.gate_names,
            block=op.block_size,
            rows=m,
            cols=k,
        )
        for key in ("rel_error", "exact"):
            if key in op.properties:
                new.properties[key] = op.properties[key]
        self._arith(op, "acc", layer, direction, new)

    def _circ_rfft(self, op: circ.RfftOp, layer: str | None, direction: str | None) -> None:
        x = self.get(op.input)
        fx = fixed_of(x.type)
        assert fx is not None
        # exact: the values grow by the FFT's bits; only twiddle products round
        new = circ.RfftOp(x, op.block.value.data, TWIDDLE_FRAC, "rnd")
        out = self.emit(new)
        self.categories[out] = "spectrum"
        self.mapping[op.result] = out

    def _circ_mac(self, op: circ.MacOp, layer: str | None, direction: str | None) -> None:
        matrix = op.matrix.data if op.matrix is not None else f"{layer}.{direction}.W"
        w = self._weights(op.lhs, matrix)
        new = circ.MacOp(w, self.get(op.rhs), matrix)
        self._arith(op, "spectrum", layer, direction, new, self._spectrum_names(layer, direction))

    def _circ_irfft(self, op: circ.IrfftOp, layer: str | None, direction: str | None) -> None:
        acc = self.get(op.input)
        new = circ.IrfftOp(
            acc, op.block.value.data, op.rows, [g.data for g in op.gates], TWIDDLE_FRAC, "rnd"
        )
        self._arith(op, "acc", layer, direction, new)

    def _nn_gemm(self, op: nn.GemmOp, layer: str | None, direction: str | None) -> None:
        if op.alpha.value.data != 1.0 or (op.c is not None and op.beta.value.data != 1.0):
            raise PassFailedException(
                "nn.gemm with alpha or beta other than 1 has no fixed-point form yet"
            )
        name = f"gemm{self.gemms}"
        self.gemms += 1
        a = self._gemm_operand(op.a, [f"{name}.A", "weights"], op.trans_a.value.data)
        b = self._gemm_operand(op.b, [f"{name}.B", name, "weights"], op.trans_b.value.data)
        prod = nn.MatMulOp(a, b)
        self.emit(prod)
        result = prod.result
        if op.c is not None:
            c = self.operand(op.c, [f"{name}.C", f"{name}.bias", "bias"])
            add = nn.AddOp(result, c)
            self.emit(add)
            result = add.result
        rng = value_range(op.result)
        t = self.fixed_type([name, "acc"], None, rng)
        self.mapping[op.result] = self.cast(result, t, name, rng, "acc")

    def _nn_matmul(self, op: nn.MatMulOp, layer: str | None, direction: str | None) -> None:
        name = f"gemm{self.gemms}"
        self.gemms += 1
        a = self.operand(op.lhs, [f"{name}.A", "weights"])
        b = self.operand(op.rhs, [f"{name}.B", name, "weights"])
        self._arith(op, "acc", None, None, nn.MatMulOp(a, b), [name, "acc"])

    # -- activations -------------------------------------------------------------

    def _nn_act(self, op: nn.ActOp, layer: str | None, direction: str | None) -> None:
        x = self.get(op.input)
        fin = fixed_of(x.type)
        assert fin is not None
        names = self._names("act", layer, direction)
        rng = value_range(op.result)
        fout = self.fixed_type(names, None, rng)
        alpha, beta = op.params()
        kind, n = self.activations
        fn = op.function
        params = (
            op.alpha.value.data if op.alpha else None,
            op.beta.value.data if op.beta else None,
        )
        if kind == "pwl":
            table = fit_pwl(fn, alpha, beta, n, _fmt(fin))
            slopes = self._raw_constant(table.slopes, table.slope_fmt, f"{names[0]}.{fn}.slopes")
            icpts = self._raw_constant(table.icpts, table.icpt_fmt, f"{names[0]}.{fn}.intercepts")
            new: Operation = PwlOp(
                x, slopes, icpts, fout, fn=fn, lo=table.lo, step_log2=table.step_log2
            )
        else:
            table = build_lut(fn, alpha, beta, n, _fmt(fin), _fmt(fout))
            values = self._raw_constant(table.icpts, table.icpt_fmt, f"{names[0]}.{fn}.table")
            new = LutOp(
                x, values, fout, fn=fn, lo=table.lo, step_log2=table.step_log2, params=params
            )
        new.attributes["tensor"] = StringAttr(names[0])
        new.attributes["category"] = StringAttr("act")
        if rng is not None:
            new.attributes[RANGE_ATTR] = DenseArrayBase.from_list(f64, list(rng))
        self.mapping[op.result] = self.emit(new)

    def _raw_constant(self, raw: np.ndarray, fmt: Fmt, name: str) -> SSAValue:
        """A table constant; identical tables (the same function on the same
        input format) are shared."""
        t = FixedType(fmt.w, fmt.i, "rnd" if fmt.rnd else "trn", "sat" if fmt.sat else "wrap")
        width = raw_integer_type(fmt.w).width.data
        data = np.asarray(raw).astype(np.dtype(f"int{width}"))
        key = (name.rsplit(".", 1)[-1], t, data.tobytes())
        if key not in self.tables:
            op = ConstantOp(dense_from_numpy(data), t)
            op.attributes["tensor"] = StringAttr(name)
            self.tables[key] = self.emit_outer(op)
        return self.tables[key]

    def _nn_clip(self, op: nn.ClipOp, layer: str | None, direction: str | None) -> None:
        x = self.get(op.input)
        lo, hi = op.bounds()
        self.mapping[op.result] = self.emit(nn.ClipOp(x, lo, hi))

    def _float_op(self, op: Operation, layer: str | None, direction: str | None) -> None:
        """Softmax and friends run in float on dequantized values."""
        x = self.get(op.operands[0])
        if fixed_of(x.type) is not None:
            x = self.emit(CastOp(x, f32))
        new = op.clone()
        new.operands[0] = x  # type: ignore[index]
        self.mapping[op.results[0]] = self.emit(new)

    _nn_softmax = _float_op
    _nn_log_softmax = _float_op

    # -- ops that move data: same op, new types -----------------------------------

    def _layout(self, op: Operation, layer: str | None, direction: str | None) -> None:
        operands = [self.operand(v, ["bias"]) for v in op.operands]
        new = type(op).create(
            operands=operands,
            result_types=[_retyped(r.type, operands[0].type) for r in op.results],
            properties=dict(op.properties),
            attributes=dict(op.attributes),
        )
        self.emit(new)
        for r, n in zip(op.results, new.results):
            self.mapping[r] = n
            if (c := self.category(operands[0])) is not None:
                self.categories[n] = c

    _nn_transpose = _layout
    _nn_reshape = _layout
    _nn_squeeze = _layout
    _nn_unsqueeze = _layout
    _nn_slice = _layout
    _nn_gather = _layout
    _nn_split = _layout
    _nn_cast = _layout

    def _nn_concat(self, op: nn.ConcatOp, layer: str | None, direction: str | None) -> None:
        parts = [self.get(v) for v in op.inputs]
        first = fixed_of(parts[0].type)
        if first is not None:
            parts = [
                p if p.type.element_type == first else self.emit(CastOp(p, first)) for p in parts
            ]  # type: ignore[attr-defined]
        self.mapping[op.result] = self.emit(nn.ConcatOp(parts, op.axis.value.data))

    # -- scans --------------------------------------------------------------------

    def _cell_scan(self, op: cell.ScanOp, layer: str | None, direction: str | None) -> None:
        layer = op.layer.data
        direction = "bwd" if op.is_reverse else "fwd"
        old = op.block
        x = self.get(op.x)
        state_names = ["h", "c"] if op.num_states == 2 else ["h"]
        term = old.last_op
        assert isinstance(term, cell.YieldOp)
        state_types: list[FixedType] = []
        for k, name in enumerate(state_names):
            rng = _union(value_range(term.values[k]), value_range(op.finals[k]))
            names = self._names("state", layer, direction, f"{layer}.{direction}.{name}")
            self.yielded[term.values[k]] = names
            state_types.append(self.fixed_type(names, None, rng))
        xs = tensor_shape(x.type)
        assert isinstance(x.type, TensorType)
        body = Block(
            arg_types=[TensorType(x.type.element_type, xs[1:])]
            + [TensorType(t, tensor_shape(s.type)) for t, s in zip(state_types, old.args[1:])]
        )
        saved = self.block
        self.block = body
        self.mapping[old.args[0]] = body.args[0]
        for a, b in zip(old.args[1:], body.args[1:]):
            self.mapping[a] = b
            self.categories[b] = "state"
        for inner in list(old.ops)[:-1]:
            self.op(inner, layer, direction)
        yields = []
        for k, v in enumerate(term.values):
            q = self.get(v)
            t = state_types[k]
            name = f"{layer}.{direction}.{state_names[k]}"
            yields.append(self.cast(q, t, name, value_range(v), "state"))
        body.add_op(cell.YieldOp(*yields))
        self.block = saved
        inits = []
        init_values = op.initial_values()
        given = []
        for k, v in enumerate(init_values):
            if v is None:
                continue
            given.append(k)
            # a constant initial state (a static model's zeros) is quantized here
            q = self.operand(
                v, self._names("state", layer, direction, f"{layer}.{direction}.{state_names[k]}")
            )
            inits.append(
                self.cast(q, state_types[k], f"{layer}.{direction}.{state_names[k]}", None, "state")
            )
        new = cell.ScanOp(
            x,
            inits,
            op.lens,
            [TensorType(t, tensor_shape(s.type)) for t, s in zip(state_types, old.args[1:])],
            Region(body),
            reverse=op.is_reverse,
            kind=op.kind.data,
            layer=layer,
            init_states=given,
        )
        if op.lens is not None:
            new.operands[1 + len(inits)] = self.mapping.get(op.lens, op.lens)  # type: ignore[index]
        self.emit(new)
        for r, n in zip(op.results, new.results):
            self.mapping[r] = n
            self.categories[n] = "state"


def _union(
    a: tuple[float, float] | None, b: tuple[float, float] | None
) -> tuple[float, float] | None:
    if a is None:
        return b
    if b is None:
        return a
    return (min(a[0], b[0]), max(a[1], b[1]))


def _is_float(t: Attribute) -> bool:
    return isinstance(t, TensorType) and t.element_type in (f32, f64)


def _retyped(t: Attribute, like: Attribute) -> Attribute:
    """The result type of a layout op, with the element type of its (new) input."""
    assert isinstance(t, TensorType) and isinstance(like, TensorType)
    if _is_float(t):
        return TensorType(like.element_type, t.get_shape())
    return t


def _io_name(attrs: ArrayAttr | None, i: int, fallback: str) -> str:
    if attrs is None:
        return fallback
    d = attrs.data[i]
    name = d.data.get("onnx.name")  # type: ignore[attr-defined]
    return name.data if isinstance(name, StringAttr) else fallback


def _arg_range(fn: func.FuncOp, i: int) -> tuple[float, float] | None:
    attr = fn.attributes.get(f"{RANGE_ATTR}.args")
    if not isinstance(attr, ArrayAttr) or i >= len(attr.data):
        return None
    lo, hi = (float(x) for x in attr.data[i].get_values())  # type: ignore[attr-defined]
    return (lo, hi) if lo <= hi else None


@dataclass(frozen=True)
class Quantize(ModulePass):
    """Give every tensor a fixed-point type; casts where the hardware rounds."""

    name = "ernn-quantize"

    precision: str = "fixed<16,6,RND,SAT>"
    activations: str = "pwl:64"

    def apply(self, ctx: Context, op: ModuleOp) -> None:
        require_cell_level(op, self.name)
        try:
            spec = parse_precision(self.precision)
        except PrecisionError as e:
            raise PassFailedException(f"precision {self.precision!r}: {e}") from None
        if spec.is_float:
            return
        q = Quantizer(spec, parse_activations(self.activations))
        try:
            for fn in [o for o in op.ops if isinstance(o, func.FuncOp)]:
                q.function(fn)
        except VerifyException as e:
            if "width must lie" not in str(e):
                raise
            raise PassFailedException(
                f"precision {self.precision!r}: an exact product or sum of these formats "
                f"needs {str(e).split(':')[0]}, wider than the 64 bits the bit-accurate "
                "model computes in; use narrower formats (up to about 24 bits)"
            ) from None
        known = {n for t in q.tensors for n in t.names} | {"default"}
        for selector in spec.selectors():
            if selector not in known:
                raise PassFailedException(
                    f"precision: no tensor matches {selector!r} (e.g. {', '.join(sorted(known)[:12])})"
                )


__all__ = ["RANGE_ATTR", "Quantize", "value_range"]
