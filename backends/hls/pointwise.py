"""Element-wise ops of the HLS backend, fused: a run of element-wise ops over
the same iteration space becomes one loop whose body computes every op as a
scalar, so that only the values read elsewhere are stored. This is C-LSTM's
element-wise stage (bias, activations, cell update) as one pipelined loop.

The mixin needs from the printer: ``vars``, ``fresh``, ``declare``,
``ctype``, ``is_fixed``, ``loops``, ``functions``, ``_helper_of``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass

import numpy as np
from xdsl.ir import Operation, SSAValue

from ...dialects import fxp, nn
from ...dialects.fxp import fixed_of
from ...dialects.shapes import tensor_shape
from ...hardware.schedule import knob
from ..numpy.source import Source
from .cpp import Var, flat_index, float_literal, product
from .names import comment_text

POINTWISE = (
    nn.AddOp,
    nn.SubOp,
    nn.MulOp,
    nn.DivOp,
    nn.ClipOp,
    nn.ActOp,
    nn.CastOp,
    fxp.CastOp,
    fxp.PwlOp,
    fxp.LutOp,
)


def pointwise_operands(op: Operation) -> list[SSAValue]:
    """The operands an element-wise op reads element by element (a table
    activation reads its tables through its helper)."""
    if isinstance(op, fxp.PwlOp | fxp.LutOp):
        return [op.input]
    return list(op.operands)


def pointwise_groups(
    ops: Iterable[Operation], key: Callable[[Operation], object]
) -> Iterator[Operation | list[Operation]]:
    """``ops`` in order, each run of element-wise ops with equal ``key`` (their
    iteration space) as one list: the loops the backend prints. Lazy: an
    op's key is asked for after everything before it has been consumed."""
    group: list[Operation] = []
    shape: object = None
    for op in ops:
        if isinstance(op, POINTWISE):
            k = key(op)
            if group and k != shape:
                yield group
                group = []
            group.append(op)
            shape = k
            continue
        if group:
            yield group
            group = []
        yield op
    if group:
        yield group


def split_in_place(op: nn.SplitOp) -> bool:
    """Parts only element-wise ops read are views of the input, not copies."""
    return all(isinstance(use.operation, POINTWISE) for r in op.outputs for use in r.uses)


@dataclass(frozen=True)
class View:
    """A part of an ``nn.split`` read in place: element idx of the part is
    element idx + offset (along ``axis``) of ``base``."""

    base: SSAValue
    axis: int
    offset: int


class PointwisePrinter:
    vars: dict
    views: dict[SSAValue, View]

    def print_pointwise(
        self, ops: list[Operation], shape: list[str], bound: list[str], src: Source
    ) -> None:
        """One loop nest over ``shape`` computing ``ops`` (in order) as scalars."""
        src.line(f"// element-wise: {len(ops)} op{'s' if len(ops) > 1 else ''} in one loop")
        members = set(ops)
        scalars: dict[SSAValue, str] = {}
        stored = {}
        for op in ops:
            r = op.results[0]
            if any(use.operation not in members for use in r.uses):
                stored[r] = self.declare(r, shape, bound, "v", src)  # type: ignore[attr-defined]
        external = [v for op in ops for v in pointwise_operands(op) if v.owner not in members]
        rank = len(shape)
        flat = all(v not in self.views and self.vars[v].shape == shape for v in external)

        def element(v: SSAValue, idx: list[str]) -> str:
            if v in scalars:
                return scalars[v]
            if flat:
                return self.vars[v].at(idx[0])
            var = self.vars[v]
            off = rank - len(var.shape)
            sub = [idx[off + j] if var.shape[j] != "1" else "0" for j in range(len(var.shape))]
            view = self.views.get(v)
            if view is None:
                return var.at(flat_index(var.shape, sub))
            base = self.vars[view.base]
            sub[view.axis] = f"{view.offset} + {sub[view.axis]}"
            return base.at(flat_index(base.shape, sub))

        def body(idx: list[str]) -> list[str]:
            lines = []
            out_index = idx[0] if flat else flat_index(shape, idx)
            for op in ops:
                r = op.results[0]
                expr = self.scalar_expr(op, [element(v, idx) for v in pointwise_operands(op)])
                name = self.fresh("t")  # type: ignore[attr-defined]
                scalars[r] = name
                lines.append(f"{self.ctype(r.type)} {name} = {expr};  // {_describe(op)}")  # type: ignore[attr-defined]
                if r in stored:
                    lines.append(f"{stored[r].name}[{out_index}] = {name};")
            return lines

        lanes = max(knob(op, "lanes") for op in ops)
        self.loops(src, [product(shape)] if flat else shape, body, lanes=lanes)  # type: ignore[attr-defined]

    # -- one scalar expression per op ----------------------------------------------

    def scalar_expr(self, op: Operation, e: list[str]) -> str:
        method: Callable[[Operation, list[str]], str] = getattr(
            self, "_expr_" + op.name.replace(".", "_")
        )
        return method(op, e)

    def _expr_nn_add(self, op: Operation, e: list[str]) -> str:
        return f"{e[0]} + {e[1]}"

    def _expr_nn_sub(self, op: Operation, e: list[str]) -> str:
        return f"{e[0]} - {e[1]}"

    def _expr_nn_mul(self, op: Operation, e: list[str]) -> str:
        return f"{e[0]} * {e[1]}"

    def _expr_nn_div(self, op: Operation, e: list[str]) -> str:
        return f"{e[0]} / {e[1]}"

    def _expr_nn_cast(self, op: nn.CastOp, e: list[str]) -> str:
        return f"({self.ctype(op.result.type)}){e[0]}"  # type: ignore[attr-defined]

    def _expr_fxp_cast(self, op: fxp.CastOp, e: list[str]) -> str:
        dst = self.ctype(op.result.type)  # type: ignore[attr-defined]
        if self.is_fixed(op.input) and not self.is_fixed(op.result):  # type: ignore[attr-defined]
            return f"({dst}){e[0]}.to_double()"
        if self.is_fixed(op.result) and not self.is_fixed(op.input):  # type: ignore[attr-defined]
            # NaN becomes 0, as in the NumPy model (ap_fixed saturates it by its sign bit)
            return f"({dst})({e[0]} == {e[0]} ? {e[0]} : 0)"
        return f"({dst}){e[0]}"

    def _expr_nn_clip(self, op: nn.ClipOp, e: list[str]) -> str:
        lo, hi = op.bounds()
        t = fixed_of(op.input.type)
        ctype = self.ctype(op.input.type)  # type: ignore[attr-defined]

        def bound(x: float) -> str:
            if t is None:
                return float_literal(x) + ("f" if ctype == "float" else "")
            raw = int(np.floor(x * 2.0**t.f + 0.5))
            raw = max(min(raw, 2 ** (t.w - 1) - 1), -(2 ** (t.w - 1)))
            return f"ernnc_from_raw<{ctype}>({raw}LL)"

        x = e[0]
        if lo is not None:
            x = f"({x} < {bound(lo)} ? {ctype}({bound(lo)}) : {ctype}({x}))"
        if hi is not None:
            x = f"({x} > {bound(hi)} ? {ctype}({bound(hi)}) : {ctype}({x}))"
        return x

    def _expr_nn_act(self, op: nn.ActOp, e: list[str]) -> str:
        from .emitter import HlsError

        if self.is_fixed(op.input):  # type: ignore[attr-defined]
            raise HlsError("nn.act on fixed point: quantize with pwl or lut activations")
        alpha, beta = op.params()
        a, b = float_literal(alpha), float_literal(beta)
        x = e[0]
        forms: dict[str, str] = {
            "Relu": f"({x} > 0 ? {x} : 0)",
            "Tanh": f"std::tanh({x})",
            "Sigmoid": f"1 / (1 + std::exp(-{x}))",
            "Affine": f"{a} * {x} + {b}",
            "LeakyRelu": f"({x} >= 0 ? {x} : {a} * {x})",
            "ThresholdedRelu": f"({x} > {a} ? {x} : 0)",
            "ScaledTanh": f"{a} * std::tanh({b} * {x})",
            "HardSigmoid": f"std::fmin(std::fmax({a} * {x} + {b}, 0.0), 1.0)",
            "Elu": f"({x} > 0 ? {x} : {a} * std::expm1({x}))",
            "Softsign": f"{x} / (1 + std::fabs({x}))",
            "Softplus": f"std::log1p(std::exp(-std::fabs({x}))) + std::fmax({x}, 0.0)",
        }
        return f"({self.ctype(op.result.type)})({forms[op.function]})"  # type: ignore[attr-defined]

    def _expr_fxp_pwl(self, op: fxp.PwlOp, e: list[str]) -> str:
        return f"{self.table_helper(op)}({e[0]})"

    def _expr_fxp_lut(self, op: fxp.LutOp, e: list[str]) -> str:
        return f"{self.table_helper(op)}({e[0]})"

    def table_helper(self, op: fxp.PwlOp | fxp.LutOp) -> str:
        """A function evaluating the fitted activation (one per table and formats)."""
        fin, fout = fixed_of(op.input.type), fixed_of(op.result.type)
        assert fin is not None and fout is not None
        tin, tout = self.ctype(op.input.type), self.ctype(op.result.type)  # type: ignore[attr-defined]
        lo = round(op.lo.value.data * 2**fin.f)
        shift = fin.f + op.step
        if isinstance(op, fxp.PwlOp):
            slopes, icpts = self.vars[op.slopes], self.vars[op.intercepts]
            key = ("pwl", tin, tout, lo, shift, slopes.name, icpts.name)
            n = int(slopes.shape[0]) - 2
        else:
            table = self.vars[op.table]
            key = ("lut", tin, tout, lo, shift, table.name)
            n = int(table.shape[0])
        if key in self._helper_of:  # type: ignore[attr-defined]
            return self._helper_of[key]  # type: ignore[attr-defined]
        name = self.fresh(f"{op.name.split('.')[1]}_{op.function.lower()}_")  # type: ignore[attr-defined]
        h = Source()
        h.line(
            f"// {op.name} {comment_text(op.function)}: {n} segments of 2^{op.step} "
            f"from {op.lo.value.data}"
        )
        h.line(f"static {tout} {name}({tin} x) {{")
        with h.indent():
            h.line("ERNNC_PRAGMA(HLS INLINE)")
            h.line("long long r = ernnc_raw(x);")
            if isinstance(op, fxp.PwlOp):
                seg = f"ernnc_segment(r, {lo}LL, {shift})"
                h.line(f"int k = r < {lo}LL ? 0 : ({seg} >= {n} ? {n + 1} : (int){seg} + 1);")
                h.line(f"return ({tout})({slopes.at('k')} * x + {icpts.at('k')});")
            else:
                h.line(f"long long k = ernnc_segment(r, {lo}LL, {shift});")
                h.line(f"k = k < 0 ? 0 : (k > {n - 1} ? {n - 1} : k);")
                h.line(f"return ({tout}){table.at('k')};")
        h.line("}")
        self.functions.append(h)  # type: ignore[attr-defined]
        self._helper_of[key] = name  # type: ignore[attr-defined]
        return name


def _describe(op: Operation) -> str:
    about = [op.name]
    fn = getattr(op, "function", None)
    if isinstance(fn, str):
        about.append(fn)
    tensor = op.attributes.get("tensor")
    if tensor is not None and hasattr(tensor, "data"):
        about.append(str(tensor.data))  # type: ignore[attr-defined]
    return comment_text(" ".join(about))


def iteration_shape(rank: int, operands: list[Var]) -> tuple[list[str], list[str]]:
    """The broadcast shape (runtime, bound) of operands' Vars for a result of ``rank``."""
    runtime, bound = [], []
    for k in range(rank):
        dims, bnds = [], []
        for v in operands:
            j = len(v.shape) - rank + k
            if j >= 0:
                dims.append(v.shape[j])
                bnds.append(v.bound[j])
        pick = next((i for i, d in enumerate(dims) if d != "1"), 0)
        runtime.append(dims[pick] if dims else "1")
        bound.append(bnds[pick] if bnds else "1")
    return runtime, bound


def result_rank(op: Operation) -> int:
    return len(tensor_shape(op.results[0].type))
