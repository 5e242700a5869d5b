"""The HLS backend: a Vitis HLS C++ project from a module at the FFT or the
quantized stage (dense matvecs too), with a testbench.

The printer translates the IR op by op (``_print_<dialect>_<op>``) into C++
on flat row-major arrays: fixed-point tensors become ``ap_fixed`` arrays of
the IR's exact types, so every ``fxp.cast`` is an assignment to a narrower
``ap_fixed`` and the design computes bit for bit what the NumPy model does.
Symbolic dimensions (sequence length, batch) become ``int`` arguments of
the top function, bounded by ``ERNNC_MAX_<NAME>`` for on-chip buffers.
A ``cell.scan`` becomes the time loop of C-LSTM: the gate matvecs (rfft,
frequency-domain MAC, irfft in the FFT form), the element-wise update,
the states kept on chip.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np
from xdsl.dialects import arith, func
from xdsl.dialects.builtin import (
    Float32Type,
    Float64Type,
    IntegerType,
    ModuleOp,
    StringAttr,
    TensorType,
)
from xdsl.ir import Attribute, Operation, SSAValue

from ...circulant import Blocking, expand
from ...dialects import cell, circ, fxp, nn, signature
from ...dialects.constants import dtype_of, numpy_from_dense
from ...dialects.fxp import FixedType, fixed_of
from ...dialects.shapes import DYN, tensor_shape
from ...fixedpoint import twiddles
from ...hardware.schedule import knob, target_of
from ...hardware.stages import Stages, buffer_banks, overlapped
from ..numpy.source import Source
from .cpp import HlsError, Var, flat_index, float_literal, product, raw_ctype, table_rows
from .names import Identifiers, comment_text
from .pointwise import (
    PointwisePrinter,
    View,
    iteration_shape,
    pointwise_groups,
    pointwise_operands,
    split_in_place,
)
from .support import BUILD_TCL, CXXFLAGS, MAKEFILE, support_header

DEFAULT_PART = "xcku060-ffva1156-2-e"  # Kintex UltraScale KU060, the ESE/C-LSTM board
DEFAULT_CLOCK_MHZ = 200.0
DEFAULT_MAX_DIM = 128
DEFAULT_BATCH_BOUND = 1
FLOAT_TWIDDLE = "float"


@dataclass
class HlsProject:
    top: str
    files: dict[str, str]  # name -> text
    # what tools need to drive the design (written as design.json): ports,
    # symbolic dims and their bounds, which outputs are exact
    manifest: dict = field(default_factory=dict)


# ops that move elements without computing new values
_LAYOUT_OPS = (
    nn.ReshapeOp,
    nn.SqueezeOp,
    nn.UnsqueezeOp,
    nn.TransposeOp,
    nn.SliceOp,
    nn.GatherOp,
    nn.ConcatOp,
    nn.SplitOp,
    nn.CastOp,
)


class CppPrinter(PointwisePrinter):
    def __init__(
        self,
        module: ModuleOp,
        top: str,
        max_dims: dict[str, int] | None = None,
        tables: bool = True,
    ):
        # tables=False: constants' values are not printed (for sizing the design)
        self.tables = tables
        try:
            self.func = signature.main_func(module)
        except ValueError as e:
            raise HlsError(str(e)) from None
        self.module = module
        self.max_dims = max_dims or {}
        axes = signature.sequence_axes(module)
        self.batch_dims: set[str] = set()
        for port in signature.inputs(self.func):
            if port.name in axes and isinstance(port.dims[axes[port.name][1]], str):
                self.batch_dims.add(str(port.dims[axes[port.name][1]]))
        self.ids = Identifiers()
        self.top = self.ids(top)
        self.vars: dict[SSAValue, Var] = {}
        self.typedefs: dict[str, str] = {}  # name -> definition
        self.weights: list[str] = []  # lines of the weights header
        self.functions: list[Source] = []  # helper functions (activations, FFTs)
        self._helper_of: dict[tuple, str] = {}
        self._ffts: dict[tuple, tuple[str, str, str]] = {}
        self.views: dict[SSAValue, View] = {}  # split parts read in place
        self.table_banks: list[tuple[str, int]] = []  # weight tables read in parallel
        self.symbols: dict[str, tuple[str, str]] = {}  # ONNX dim name -> (C++ arg, max macro)
        # values the code being printed writes to a parameter of that name
        # instead of declaring a buffer (an input stage's ping-pong buffers)
        self.params: dict[SSAValue, str] = {}
        self._tmp = 0

    # -- names and types -----------------------------------------------------

    def fresh(self, hint: str) -> str:
        self._tmp += 1
        return self.ids(f"{hint}{self._tmp}")

    def ctype(self, t: Attribute) -> str:
        el = t.element_type if isinstance(t, TensorType) else t
        if isinstance(el, FixedType):
            return self.fixed_type(el)
        if isinstance(el, Float32Type):
            return "float"
        if isinstance(el, Float64Type):
            return "double"
        if isinstance(el, IntegerType):
            width = el.width.data
            return {1: "bool", 8: "signed char", 16: "short", 32: "int", 64: "long long"}[width]
        raise HlsError(f"type {el} has no C++ form")

    def fixed_type(
        self, t: FixedType, rounding: str | None = None, overflow: str | None = None
    ) -> str:
        q = rounding or t.round_mode
        o = overflow or t.overflow_mode
        name = (
            f"fx{t.w}_{t.i}".replace("-", "m")
            + ("_rnd" if q == "rnd" else "")
            + ("_sat" if o == "sat" else "")
        )
        if name not in self.typedefs:
            modes = f", AP_{q.upper()}, AP_{o.upper()}" if (q, o) != ("trn", "wrap") else ""
            self.typedefs[name] = f"typedef ap_fixed<{t.w}, {t.i}{modes}> {name};"
        return name

    def is_fixed(self, v: SSAValue) -> bool:
        return fixed_of(v.type) is not None

    def float_computed(self, v: SSAValue) -> bool:
        """Whether float arithmetic made ``v`` (C++ and NumPy may round it
        differently), rather than a conversion out of fixed point that both
        compute exactly, possibly rearranged by layout ops."""
        op = v.owner
        if not isinstance(op, Operation) or isinstance(op, arith.ConstantOp | fxp.ConstantOp):
            return False
        if isinstance(op, fxp.CastOp):
            return not self.is_fixed(op.input) and not self.is_fixed(op.result)
        if isinstance(op, _LAYOUT_OPS):
            return any(self.float_computed(x) for x in op.operands)
        return not self.is_fixed(v)

    # -- shapes --------------------------------------------------------------

    def symbol(self, name: str) -> tuple[str, str]:
        if name not in self.symbols:
            arg = self.ids(f"dim_{name}")
            macro = self.ids("ERNNC_MAX_" + arg[4:].upper())
            self.symbols[name] = (arg, macro)
        return self.symbols[name]

    def bound_of(self, name: str) -> int:
        """The bound of a symbolic dim: --max-dims, else 1 for a batch (the
        papers' accelerators take one sequence at a time), else 128."""
        if name in self.max_dims:
            return self.max_dims[name]
        return DEFAULT_BATCH_BOUND if name in self.batch_dims else DEFAULT_MAX_DIM

    def shape_of(
        self, v: SSAValue, runtime: list[str], bound: list[str]
    ) -> tuple[list[str], list[str]]:
        """Static dims from the type; symbolic ones from the given expressions."""
        static = tensor_shape(v.type)
        if len(static) != len(runtime):
            raise HlsError(f"rank mismatch computing the shape of {v}")
        r = [str(s) if s != DYN else e for s, e in zip(static, runtime)]
        b = [str(s) if s != DYN else e for s, e in zip(static, bound)]
        return r, b

    def declare(
        self, v: SSAValue, runtime: list[str], bound: list[str], hint: str, src: Source
    ) -> Var:
        shape, cap = self.shape_of(v, runtime, bound)
        if v in self.params:
            # a ping-pong buffer, the input stage's parameter (_print_cell_scan)
            var = Var(self.params[v], self.ctype(v.type), shape, cap)
            self.vars[v] = var
            return var
        var = Var(self.fresh(hint), self.ctype(v.type), shape, cap)
        # static: buffers sized by the dims' bounds would overflow the stack of
        # a C simulation; each call writes them before reading them
        src.line(f"static {var.ctype} {var.name}[{var.capacity}];")
        banks = self.banks(v)
        if banks > 1:
            src.line(f"ERNNC_PRAGMA(HLS ARRAY_PARTITION variable={var.name} cyclic factor={banks})")
        self.vars[v] = var
        return var

    @staticmethod
    def banks(v: SSAValue) -> int:
        """Banks of a buffer: as many as its writer or a reader takes
        elements per cycle (the schedule's parallel, units and lanes)."""
        return buffer_banks(v)

    # -- loops ---------------------------------------------------------------

    def loops(
        self,
        src: Source,
        shape: Sequence[str],
        body: Callable[[list[str]], list[str]],
        pipeline: bool = True,
        lanes: int = 1,
    ) -> None:
        """Nested loops over ``shape``; the innermost is pipelined and
        unrolled ``lanes`` times."""
        idx = [self.fresh("i") for _ in shape]
        depth = 0
        for i, d in zip(idx, shape):
            src.line(f"for (int {i} = 0; {i} < {d}; {i}++) {{")
            src._indent += 1
            depth += 1
        if pipeline and shape:
            src.line("ERNNC_PRAGMA(HLS PIPELINE II=1)")
            if lanes > 1:
                src.line(f"ERNNC_PRAGMA(HLS UNROLL factor={lanes})")
        src.lines_(body(idx))
        for _ in range(depth):
            src._indent -= 1
            src.line("}")

    # -- the project ---------------------------------------------------------

    def print(self) -> HlsProject:
        fn = self.func
        body = Source()
        params: list[str] = []
        ports: list[str] = []
        with body.indent():
            for port, arg in zip(signature.inputs(fn), fn.body.block.args):
                name = self.ids(f"in_{port.name}")
                dims = [self.symbol(d)[0] if isinstance(d, str) else str(d) for d in port.dims]
                bounds = [self.symbol(d)[1] if isinstance(d, str) else str(d) for d in port.dims]
                var = Var(name, self.ctype(arg.type), dims, bounds)
                self.vars[arg] = var
                params.append(f"const {var.ctype} {name}[{var.capacity}]")
                ports.append(name)
            out_ports = signature.outputs(fn)
            out_vars = []
            for port in out_ports:
                name = self.ids(f"out_{port.name}")
                out_vars.append(name)
            ret = fn.body.block.last_op
            assert isinstance(ret, func.ReturnOp)
            self.print_ops([op for op in fn.body.block.ops if op is not ret], body)
            out_params = []
            self.output_shapes: list[Var] = []
            for name, v in zip(out_vars, ret.arguments):
                if self.is_fixed(v):
                    raise HlsError("outputs must leave fixed point through fxp.cast")
                src_var = self.vars[v]
                ctype = self.ctype(v.type)
                out_params.append(f"{ctype} {name}[{src_var.capacity}]")
                self.output_shapes.append(Var(name, ctype, src_var.shape, src_var.bound))
                body.line(
                    f"for (int i = 0; i < {src_var.size}; i++) {name}[i] = {src_var.at('i')};"
                )
        dims = [f"int {arg}" for arg, _ in self.symbols.values()]
        signature_line = f"void {self.top}({', '.join(params + out_params + dims)})"
        bounds = {macro: self.bound_of(name) for name, (_, macro) in self.symbols.items()}
        self.port_depths = [
            math.prod(bounds[d] if d in bounds else int(d) for d in var.bound)
            for var in [self.vars[a] for a in fn.body.block.args] + self.output_shapes
        ]
        self.exact = [not self.float_computed(v) for v in ret.arguments]
        project = self._files(signature_line, body, ports, out_vars)
        project.manifest = self._manifest(ports, out_vars)
        return project

    def _manifest(self, ports: list[str], outs: list[str]) -> dict:
        fn = self.func
        axes = signature.sequence_axes(self.module)
        return {
            "top": self.top,
            "fixed_point": bool(self.typedefs),
            "inputs": [
                {
                    "name": p.name,
                    "port": port,
                    "dtype": dtype_of(p.type.element_type).name,  # type: ignore[attr-defined]
                    "dims": list(p.dims),
                    **(
                        {"time_axis": axes[p.name][0], "batch_axis": axes[p.name][1]}
                        if p.name in axes
                        else {}
                    ),
                }
                for p, port in zip(signature.inputs(fn), ports)
            ],
            "outputs": [
                {"name": p.name, "port": port, "exact": e}
                for p, port, e in zip(signature.outputs(fn), outs, self.exact)
            ],
            "dims": {
                name: {
                    "arg": arg,
                    "macro": macro,
                    "max": self.bound_of(name),
                }
                for name, (arg, macro) in self.symbols.items()
            },
        }

    def _files(
        self, signature_line: str, body: Source, ports: list[str], outs: list[str]
    ) -> HlsProject:
        top = self.top
        header = Source()
        guard = f"{top.upper()}_H"
        header.lines_(
            [
                f"// {top}.h: generated by ernnc; do not edit.",
                f"#ifndef {guard}",
                f"#define {guard}",
                "",
            ]
        )
        header.line('#include "ernnc_support.h"')
        header.line("")
        header.line("// Bounds of the symbolic dimensions, for on-chip buffers (override with -D).")
        for name, (arg, macro) in sorted(self.symbols.items(), key=lambda kv: kv[1][0]):
            bound = self.bound_of(name)
            header.lines_(
                [f"#ifndef {macro}", f"#define {macro} {bound}  // {comment_text(name)}", "#endif"]
            )
        header.line("")
        header.lines_(sorted(self.typedefs.values()))
        header.line("")
        header.line(f"{signature_line};")
        header.line("")
        header.line("#endif")

        cpp = Source()
        cpp.lines_(
            [
                f"// {top}.cpp: generated by ernnc; do not edit.",
                f'#include "{top}.h"',
                f'#include "{top}_weights.h"',
                "",
            ]
        )
        for h in self.functions:
            cpp.lines_(h.lines)
            cpp.line("")
        cpp.line(f"{signature_line} {{")
        with cpp.indent():
            # depth: the port's size at the dims' bounds (what cosimulation allocates)
            for p, depth in zip(ports + outs, self.port_depths):
                cpp.line(
                    f"ERNNC_PRAGMA(HLS INTERFACE m_axi port={p} offset=slave bundle=gmem depth={depth})"
                )
            for arg, _ in self.symbols.values():
                cpp.line(f"ERNNC_PRAGMA(HLS INTERFACE s_axilite port={arg})")
            cpp.line("ERNNC_PRAGMA(HLS INTERFACE s_axilite port=return)")
            for name, banks in self.table_banks:
                # rows of bank k are the k-th of each parallel group (see _dot, circ.mac)
                cpp.line(f"ERNNC_PRAGMA(HLS ARRAY_PARTITION variable={name} block factor={banks})")
        cpp.lines_(body.lines)
        cpp.line("}")

        weights = Source()
        weights.lines_(
            [
                f"// {top}_weights.h: constants of {top}, generated by ernnc.",
                f"#ifndef {top.upper()}_WEIGHTS_H",
                f"#define {top.upper()}_WEIGHTS_H",
                f'#include "{top}.h"',
                "",
            ]
        )
        weights.lines_(self.weights)
        weights.line("#endif")
        return HlsProject(
            top,
            {
                f"{top}.h": header.text(),
                f"{top}.cpp": cpp.text(),
                f"{top}_weights.h": weights.text(),
                "ernnc_support.h": support_header(bool(self.typedefs)),
                "tb.cpp": self._testbench(),
            },
        )

    # -- ops -----------------------------------------------------------------

    def comment(self, op: Operation, src: Source) -> None:
        """A line naming the op and the tensor it computes; constants, which
        go to the weights header, get none."""
        if isinstance(op, arith.ConstantOp | fxp.ConstantOp) or (
            isinstance(op, nn.SplitOp) and split_in_place(op)
        ):
            return
        about = [op.name]
        for key in ("tensor", "matrix"):
            attr = op.attributes.get(key) or op.properties.get(key)
            if isinstance(attr, StringAttr):
                about.append(attr.data)
        src.line(f"// {comment_text(' '.join(about))}")

    def print_ops(self, ops: list[Operation], src: Source) -> None:
        """The ops of a block in order; runs of element-wise ops over the
        same iteration space as one loop (pointwise.py)."""
        pending: dict[SSAValue, Var] = {}  # shapes of values no loop has stored yet

        def shape(op: Operation) -> tuple[tuple[str, ...], tuple[str, ...]]:
            operands = [pending.get(v) or self.vars[v] for v in pointwise_operands(op)]
            runtime, bound = iteration_shape(len(tensor_shape(op.results[0].type)), operands)
            pending[op.results[0]] = Var("", "", runtime, bound)
            return tuple(runtime), tuple(bound)

        for item in pointwise_groups(ops, shape):
            if isinstance(item, list):
                runtime, bound = (list(s) for s in shape(item[0]))
                self.print_pointwise(item, runtime, bound, src)
            else:
                self.comment(item, src)
                self.print_op(item, src)

    def print_op(self, op: Operation, src: Source) -> None:
        method = getattr(self, "_print_" + op.name.replace(".", "_"), None)
        if method is None:
            raise HlsError(f"the HLS backend cannot print '{op.name}'")
        method(op, src)

    def const_table(
        self, v: SSAValue, array: np.ndarray, ctype: str, hint: str, fixed: FixedType | None
    ) -> Var:
        if not self.tables:
            shape = [str(d) for d in array.shape]
            var = Var(self.fresh(hint), ctype, shape, shape, raw=ctype if fixed else None)
            self.vars[v] = var
            return var
        owner = v.owner
        tensor = owner.attributes.get("tensor") if isinstance(owner, Operation) else None
        label = tensor.data if isinstance(tensor, StringAttr) else ""
        name = self.fresh(f"{hint}_{label}_" if label else hint)
        values = array.ravel()
        shape_text = "x".join(str(d) for d in array.shape) or "scalar"
        fmt = f"fixed<{fixed.w},{fixed.i}>" if fixed is not None else ctype
        self.weights.append(f"// {comment_text(label or 'constant')}: {shape_text}, {fmt}")
        store = raw_ctype(fixed.w) if fixed is not None else ctype
        rows = table_rows(values, store)
        self.weights.append(f"static const {store} {name}[{max(len(values), 1)}] = {{")
        self.weights.extend(f"    {r}," for r in rows)
        self.weights.append("};")
        self.weights.append("")
        shape = [str(d) for d in array.shape]
        var = Var(name, ctype, shape, shape, raw=ctype if fixed is not None else None)
        self.vars[v] = var
        if isinstance(owner, Operation) and knob(owner, "partition") > 1:
            self.table_banks.append((name, knob(owner, "partition")))
        return var

    def constant_array(self, op: Operation) -> np.ndarray:
        """A constant's values (only its shape when sizing the design)."""
        if not self.tables:
            return np.broadcast_to(np.int64(0), tensor_shape(op.results[0].type))
        return numpy_from_dense(op.value)  # type: ignore[attr-defined]

    def _print_arith_constant(self, op: arith.ConstantOp, src: Source) -> None:
        arr = self.constant_array(op)
        self.const_table(op.result, arr, self.ctype(op.result.type), "c", None)

    def _print_fxp_constant(self, op: fxp.ConstantOp, src: Source) -> None:
        raw = self.constant_array(op)
        raw = raw.astype(np.int64) if self.tables else raw
        t = fixed_of(op.result.type)
        self.const_table(op.result, raw, self.ctype(op.result.type), "w", t)

    # -- matrix products -------------------------------------------------------

    def _dot(
        self,
        src: Source,
        out: Var,
        acc_type: str,
        rows: str,
        terms: str,
        w: Callable[[str, str], str],
        x: Callable[[str, str], str],
        lead: list[str],
        parallel: int = 1,
        ii: int = 1,
    ) -> None:
        """out[n, m] = sum over k of w(m, k) * x(n, k); ``parallel`` rows at
        once (row m = mm * groups + g, so that each of the P weight banks
        holds the rows of one mm), each summed over k in order."""
        n, g, k = self.fresh("n"), self.fresh("g"), self.fresh("k")
        if parallel == 1:
            src.line(f"for (int {n} = 0; {n} < {product(lead)}; {n}++) {{")
            with src.indent():
                src.line(f"for (int {g} = 0; {g} < {rows}; {g}++) {{")
                with src.indent():
                    src.line(f"{acc_type} acc = 0;")
                    src.line(f"for (int {k} = 0; {k} < {terms}; {k}++) {{")
                    with src.indent():
                        src.line(f"ERNNC_PRAGMA(HLS PIPELINE II={ii})")
                        src.line(f"acc += {w(g, k)} * {x(n, k)};")
                    src.line("}")
                    src.line(f"{out.name}[{n} * {rows} + {g}] = acc;")
                src.line("}")
            src.line("}")
            return
        groups = -(-int(rows) // parallel)
        m = f"mm * {groups} + {g}"
        src.line(f"// {parallel} rows at once")
        src.line(f"for (int {n} = 0; {n} < {product(lead)}; {n}++) {{")
        with src.indent():
            src.line(f"for (int {g} = 0; {g} < {groups}; {g}++) {{")
            with src.indent():
                src.line(f"{acc_type} acc[{parallel}];")
                src.line("ERNNC_PRAGMA(HLS ARRAY_PARTITION variable=acc complete)")
                src.line(f"for (int mm = 0; mm < {parallel}; mm++) acc[mm] = 0;")
                src.line(f"for (int {k} = 0; {k} < {terms}; {k}++) {{")
                with src.indent():
                    src.line(f"ERNNC_PRAGMA(HLS PIPELINE II={ii})")
                    src.line(f"for (int mm = 0; mm < {parallel}; mm++) {{")
                    with src.indent():
                        src.line("ERNNC_PRAGMA(HLS UNROLL)")
                        src.line(f"if ({m} < {rows}) acc[mm] += {w(f'({m})', k)} * {x(n, k)};")
                    src.line("}")
                src.line("}")
                src.line(f"for (int mm = 0; mm < {parallel}; mm++) {{")
                src.line(f"    if ({m} < {rows}) {out.name}[{n} * {rows} + {m}] = acc[mm];")
                src.line("}")
            src.line("}")
        src.line("}")

    def _print_cell_matvec(self, op: cell.MatVecOp, src: Source) -> None:
        wv, xv = self.vars[op.w], self.vars[op.x]
        m, k = tensor_shape(op.w.type)
        out = self.declare(op.result, xv.shape[:-1] + [str(m)], xv.bound[:-1] + [str(m)], "mv", src)
        acc = self.ctype(op.result.type)
        src.line(f"// {comment_text(op.matrix.data)} gates {','.join(op.gate_names)}")
        self._dot(
            src,
            out,
            acc,
            str(m),
            str(k),
            lambda i, j: wv.at(f"{i} * {k} + {j}"),
            lambda n, j: xv.at(f"{n} * {k} + {j}"),
            xv.shape[:-1],
            knob(op, "parallel"),
            knob(op, "ii"),
        )

    def _print_nn_matmul(self, op: nn.MatMulOp, src: Source) -> None:
        a, b = self.vars[op.lhs], self.vars[op.rhs]
        if len(a.shape) != 2 or len(b.shape) != 2:
            raise HlsError("nn.matmul: only 2-D operands are supported by the HLS backend")
        k, n = b.shape
        out = self.declare(op.result, [a.shape[0], n], [a.bound[0], n], "mm", src)
        self._dot(
            src,
            out,
            self.ctype(op.result.type),
            n,
            k,
            lambda i, j: b.at(f"{j} * {n} + {i}"),
            lambda r, j: a.at(f"{r} * {k} + {j}"),
            [a.shape[0]],
        )

    def _print_nn_gemm(self, op: nn.GemmOp, src: Source) -> None:
        if self.is_fixed(op.a):
            raise HlsError("nn.gemm on fixed point: run ernn-quantize, which lowers it")
        a, b = self.vars[op.a], self.vars[op.b]
        ta, tb = op.trans_a.value.data, op.trans_b.value.data
        m = a.shape[1] if ta else a.shape[0]
        k = a.shape[0] if ta else a.shape[1]
        n = b.shape[0] if tb else b.shape[1]
        out = self.declare(op.result, [m, n], [a.bound[1] if ta else a.bound[0], n], "gemm", src)
        alpha, beta = float_literal(op.alpha.value.data), float_literal(op.beta.value.data)

        def body(idx: list[str]) -> list[str]:
            i, j = idx
            av = a.at(f"kk * {m} + {i}" if ta else f"{i} * {k} + kk")
            bv = b.at(f"{j} * {k} + kk" if tb else f"kk * {n} + {j}")
            lines = [
                f"{out.ctype} acc = 0;",
                f"for (int kk = 0; kk < {k}; kk++) acc += {av} * {bv};",
                f"acc = {alpha} * acc;",
            ]
            if op.c is not None:
                c = self.vars[op.c]
                off = 2 - len(c.shape)
                sub = [idx[off + t] if c.shape[t] != "1" else "0" for t in range(len(c.shape))]
                lines.append(f"acc += {beta} * {c.at(flat_index(c.shape, sub))};")
            lines.append(f"{out.name}[{flat_index(out.shape, idx)}] = acc;")
            return lines

        self.loops(src, out.shape, body, pipeline=False)

    def _print_circ_matvec(self, op: circ.MatVecOp, src: Source) -> None:
        """The circulant form, as the dense matrix its generators stand for."""
        m, k = op.shape
        g = len(op.gates)
        gen = op.gen.owner
        t = fixed_of(op.gen.type)
        if self.tables:
            arr = numpy_from_dense(gen.value)  # type: ignore[union-attr]
            dense = expand(
                arr.astype(np.int64) if t else arr, Blocking(g, m // g, k, op.block_size)
            )
        else:
            dense = np.broadcast_to(np.int64(0), (m, k))
        wv = self.const_table(op.gen, dense, self.ctype(op.gen.type), "wc", t)
        xv = self.vars[op.x]
        out = self.declare(op.result, xv.shape[:-1] + [str(m)], xv.bound[:-1] + [str(m)], "mv", src)
        self._dot(
            src,
            out,
            self.ctype(op.result.type),
            str(m),
            str(k),
            lambda i, j: wv.at(f"{i} * {k} + {j}"),
            lambda n, j: xv.at(f"{n} * {k} + {j}"),
            xv.shape[:-1],
            knob(op, "parallel"),
            knob(op, "ii"),
        )

    # -- the FFT form ------------------------------------------------------------

    def _fft_helper(
        self, b: int, data: FixedType | None, frac: int | None, rounding: str, ctype: str
    ) -> tuple[str, str, str]:
        """A b-point radix-2 DIT FFT on (re, im) arrays, bit growth between
        stages: (function, input element type, output element type)."""
        key = (b, data, frac, rounding) if data is not None else (b, ctype)
        if key in self._ffts:
            return self._ffts[key]
        name = self.fresh(f"fft{b}_")
        stages = b.bit_length() - 1
        h = Source()
        if data is not None:
            assert frac is not None
            tw_t = self.fixed_type(FixedType(frac + 2, 2))
            types = [
                self.fixed_type(FixedType(data.w + 1 + s, data.i + 1 + s))
                for s in range(stages + 1)
            ]
            rnd = [
                self.fixed_type(FixedType(data.w + 1 + s, data.i + 1 + s), rounding, "wrap")
                for s in range(stages)
            ]
            tr, ti = twiddles(b, frac)
            tw_re = [float_literal(r * 2.0**-frac) for r in tr]
            tw_im = [float_literal(r * 2.0**-frac) for r in ti]
        else:
            tw_t = ctype
            types = [ctype] * (stages + 1)
            rnd = [ctype] * stages
            j_m = [(j, m) for m in (2**s for s in range(1, stages + 1)) for j in range(m // 2)]
            tw_re = [
                float_literal(float(np.float32(np.cos(2 * np.pi * j / m)))) + "f" for j, m in j_m
            ]
            tw_im = [
                float_literal(float(np.float32(-np.sin(2 * np.pi * j / m)))) + "f" for j, m in j_m
            ]
        order = [int(format(k, f"0{stages}b")[::-1], 2) if stages else 0 for k in range(b)]
        h.line(
            f"// {b}-point radix-2 decimation-in-time FFT; stage s holds {types[0]} grown by s bits"
        )
        h.line(
            f"static void {name}(const {types[0]} in_re[{b}], const {types[0]} in_im[{b}], {types[-1]} out_re[{b}], {types[-1]} out_im[{b}]) {{"
        )
        with h.indent():
            # one unit, a new block every cycle; ernn-schedule's units replicate it
            h.line("ERNNC_PRAGMA(HLS INLINE off)")
            h.line("ERNNC_PRAGMA(HLS PIPELINE II=1)")
            if tw_re:
                h.line(f"static const {tw_t} TW_RE[{len(tw_re)}] = {{{', '.join(tw_re)}}};")
                h.line(f"static const {tw_t} TW_IM[{len(tw_im)}] = {{{', '.join(tw_im)}}};")
            h.line(f"{types[0]} re0[{b}], im0[{b}];")
            h.line("ERNNC_PRAGMA(HLS ARRAY_PARTITION variable=re0 complete)")
            h.line("ERNNC_PRAGMA(HLS ARRAY_PARTITION variable=im0 complete)")
            for k, o in enumerate(order):
                h.line(f"re0[{k}] = in_re[{o}]; im0[{k}] = in_im[{o}];")
            at = 0
            for s in range(stages):
                m = 2 ** (s + 1)
                half = m // 2
                h.line(f"{types[s + 1]} re{s + 1}[{b}], im{s + 1}[{b}];")
                h.line(f"ERNNC_PRAGMA(HLS ARRAY_PARTITION variable=re{s + 1} complete)")
                h.line(f"ERNNC_PRAGMA(HLS ARRAY_PARTITION variable=im{s + 1} complete)")
                h.line(f"for (int g = 0; g < {b // m}; g++) {{")
                with h.indent():
                    h.line("ERNNC_PRAGMA(HLS UNROLL)")
                    h.line(f"for (int j = 0; j < {half}; j++) {{")
                    with h.indent():
                        h.line("ERNNC_PRAGMA(HLS UNROLL)")
                        h.line(f"int p = g * {m} + j, q = p + {half};")
                        h.line(
                            f"{rnd[s]} tr = ({rnd[s]})(re{s}[q] * TW_RE[{at} + j] - im{s}[q] * TW_IM[{at} + j]);"
                        )
                        h.line(
                            f"{rnd[s]} ti = ({rnd[s]})(re{s}[q] * TW_IM[{at} + j] + im{s}[q] * TW_RE[{at} + j]);"
                        )
                        h.line(f"re{s + 1}[p] = re{s}[p] + tr; re{s + 1}[q] = re{s}[p] - tr;")
                        h.line(f"im{s + 1}[p] = im{s}[p] + ti; im{s + 1}[q] = im{s}[p] - ti;")
                    h.line("}")
                h.line("}")
                at += half
            h.line(
                f"for (int k = 0; k < {b}; k++) {{ out_re[k] = re{stages}[k]; out_im[k] = im{stages}[k]; }}"
            )
        h.line("}")
        self.functions.append(h)
        self._ffts[key] = (name, types[0], types[-1])
        return self._ffts[key]

    @staticmethod
    def block_loop_pragmas(op: Operation, src: Source) -> None:
        """A loop over FFT blocks: one block a cycle per unit."""
        src.line("ERNNC_PRAGMA(HLS PIPELINE II=1)")
        units = knob(op, "units")
        if units > 1:
            src.line(f"ERNNC_PRAGMA(HLS UNROLL factor={units})")

    def _fft_of(self, op: circ.RfftOp | circ.IrfftOp) -> tuple[str, str, str]:
        """The FFT helper of ``op``'s block size and formats: (name, stage-0
        type, last-stage type); fixed point rounds as its result's format."""
        b = op.block.value.data
        out_t = self.ctype(op.result.type)
        data = fixed_of(op.input.type)
        if data is None:
            return self._fft_helper(b, None, None, "trn", out_t)
        rt = fixed_of(op.result.type)
        assert rt is not None
        frac = op.twiddle_frac.value.data if op.twiddle_frac is not None else None
        return self._fft_helper(b, data, frac, rt.round_mode, out_t)

    def _print_circ_rfft(self, op: circ.RfftOp, src: Source) -> None:
        b = op.block.value.data
        xv = self.vars[op.input]
        k = int(xv.shape[-1])
        q, f = -(-k // b), b // 2 + 1
        fft, stage0, last = self._fft_of(op)
        out = self.declare(
            op.result,
            xv.shape[:-1] + [str(q), str(f), "2"],
            xv.bound[:-1] + [str(q), str(f), "2"],
            "xf",
            src,
        )
        n, blk = self.fresh("n"), self.fresh("q")
        src.line(f"for (int {n} = 0; {n} < {product(xv.shape[:-1])}; {n}++) {{")
        with src.indent():
            src.line(f"for (int {blk} = 0; {blk} < {q}; {blk}++) {{")
            with src.indent():
                self.block_loop_pragmas(op, src)
                src.line(f"{stage0} re[{b}], im[{b}];")
                src.line(f"{last} fre[{b}], fim[{b}];")
                src.line(f"for (int j = 0; j < {b}; j++) {{")
                src.line(f"    int c = {blk} * {b} + j;")
                src.line(
                    f"    re[j] = c < {k} ? {stage0}({xv.at(f'{n} * {k} + c')}) : {stage0}(0);"
                )
                src.line("    im[j] = 0;")
                src.line("}")
                src.line(f"{fft}(re, im, fre, fim);")
                src.line(f"for (int j = 0; j < {f}; j++) {{")
                src.line(f"    {out.name}[(({n} * {q} + {blk}) * {f} + j) * 2] = fre[j];")
                src.line(f"    {out.name}[(({n} * {q} + {blk}) * {f} + j) * 2 + 1] = fim[j];")
                src.line("}")
            src.line("}")
        src.line("}")

    def _print_circ_mac(self, op: circ.MacOp, src: Source) -> None:
        wv, xv = self.vars[op.lhs], self.vars[op.rhs]
        p, q, f = (int(d) for d in wv.shape[:3])
        lead = xv.shape[:-3]
        out = self.declare(
            op.result,
            lead + [str(p), str(f), "2"],
            xv.bound[:-3] + [str(p), str(f), "2"],
            "acc",
            src,
        )
        acc = self.ctype(op.result.type)
        par = knob(op, "parallel")
        groups = -(-p // par)
        n, g, j, c = (self.fresh(s) for s in "ngfq")
        i = g if par == 1 else ("pp" if groups == 1 else f"(pp * {groups} + {g})")
        src.line(
            f"// {par} output block{'s' if par > 1 else ''} at once, the {f} bins of each "
            f"summed over the {q} input blocks in order"
        )
        src.line(f"for (int {n} = 0; {n} < {product(lead)}; {n}++) {{")
        with src.indent():
            src.line(f"for (int {g} = 0; {g} < {groups}; {g}++) {{")
            with src.indent():
                src.line(f"{acc} ar[{par}][{f}], ai[{par}][{f}];")
                src.line("ERNNC_PRAGMA(HLS ARRAY_PARTITION variable=ar complete dim=0)")
                src.line("ERNNC_PRAGMA(HLS ARRAY_PARTITION variable=ai complete dim=0)")
                src.line(f"for (int pp = 0; pp < {par}; pp++)")
                src.line(f"    for (int {j} = 0; {j} < {f}; {j}++) ar[pp][{j}] = ai[pp][{j}] = 0;")
                src.line(f"for (int {c} = 0; {c} < {q}; {c}++) {{")
                with src.indent():
                    src.line(f"for (int {j} = 0; {j} < {f}; {j}++) {{")
                    with src.indent():
                        src.line(f"ERNNC_PRAGMA(HLS PIPELINE II={knob(op, 'ii')})")
                        src.line(f"for (int pp = 0; pp < {par}; pp++) {{")
                        with src.indent():
                            src.line("ERNNC_PRAGMA(HLS UNROLL)")
                            w = f"(({i} * {q} + {c}) * {f} + {j}) * 2"
                            x = f"(({n} * {q} + {c}) * {f} + {j}) * 2"
                            wr, wi = wv.at(w), wv.at(f"{w} + 1")
                            xr, xi = xv.at(x), xv.at(f"{x} + 1")
                            if p % par:
                                src.line(f"if ({i} >= {p}) continue;")
                            src.line(f"ar[pp][{j}] += {wr} * {xr} - {wi} * {xi};")
                            src.line(f"ai[pp][{j}] += {wr} * {xi} + {wi} * {xr};")
                        src.line("}")
                    src.line("}")
                src.line("}")
                src.line(f"for (int pp = 0; pp < {par}; pp++) {{")
                with src.indent():
                    src.line(f"for (int {j} = 0; {j} < {f}; {j}++) {{")
                    with src.indent():
                        if p % par:
                            src.line(f"if ({i} >= {p}) continue;")
                        src.line(f"{out.name}[(({n} * {p} + {i}) * {f} + {j}) * 2] = ar[pp][{j}];")
                        src.line(
                            f"{out.name}[(({n} * {p} + {i}) * {f} + {j}) * 2 + 1] = ai[pp][{j}];"
                        )
                    src.line("}")
                src.line("}")
            src.line("}")
        src.line("}")

    def _print_circ_irfft(self, op: circ.IrfftOp, src: Source) -> None:
        b = op.block.value.data
        av = self.vars[op.input]
        p, f = int(av.shape[-3]), b // 2 + 1
        rows, gates = op.rows, len(op.gates)
        per = p // gates
        lead = av.shape[:-3]
        out_t = self.ctype(op.result.type)
        out = self.declare(op.result, lead + [str(rows)], av.bound[:-3] + [str(rows)], "y", src)
        fft, stage0, last = self._fft_of(op)
        if fixed_of(op.input.type) is not None:
            # the real part is b * x: the division by b moves the binary point
            scale = lambda v: f"ernnc_from_raw<{out_t}>(ernnc_raw({v}))"
        else:
            scale = lambda v: f"{v} / {b}"
        n, blk = self.fresh("n"), self.fresh("p")
        src.line(f"for (int {n} = 0; {n} < {product(lead)}; {n}++) {{")
        with src.indent():
            src.line(f"for (int {blk} = 0; {blk} < {p}; {blk}++) {{")
            with src.indent():
                self.block_loop_pragmas(op, src)
                src.line(f"{stage0} re[{b}], im[{b}];")
                src.line(f"{last} tre[{b}], tim[{b}];")
                base = f"({n} * {p} + {blk}) * {f}"
                src.line("// the conjugate of the Hermitian-extended bins through the forward FFT")
                src.line(f"for (int j = 0; j < {f}; j++) {{")
                src.line(f"    re[j] = {av.at(f'({base} + j) * 2')};")
                src.line(f"    im[j] = -{av.at(f'({base} + j) * 2 + 1')};")
                src.line("}")
                src.line(f"for (int j = 1; j < {b // 2}; j++) {{")
                src.line(f"    re[{b} - j] = {av.at(f'({base} + j) * 2')};")
                src.line(f"    im[{b} - j] = {av.at(f'({base} + j) * 2 + 1')};")
                src.line("}")
                src.line(f"{fft}(re, im, tre, tim);")
                g, r = self.fresh("g"), self.fresh("r")
                src.line(f"int {g} = {blk} / {per}, {r} = ({blk} % {per}) * {b};")
                src.line(f"for (int j = 0; j < {b}; j++) {{")
                src.line(
                    f"    if ({r} + j < {rows // gates}) {out.name}[{n} * {rows} + {g} * {rows // gates} + {r} + j] = {scale('tre[j]')};"
                )
                src.line("}")
            src.line("}")
        src.line("}")

    # -- layout ops ----------------------------------------------------------------

    def _copy(
        self,
        op: Operation,
        src: Source,
        shape: list[str],
        bound: list[str],
        index: Callable[[list[str]], str],
    ) -> None:
        """result[idx] = input[index(idx)]."""
        xv = self.vars[op.operands[0]]
        out = self.declare(op.results[0], shape, bound, "t", src)
        self.loops(
            src,
            out.shape,
            lambda idx: [f"{out.name}[{flat_index(out.shape, idx)}] = {xv.at(index(idx))};"],
        )

    def _print_nn_transpose(self, op: nn.TransposeOp, src: Source) -> None:
        xv = self.vars[op.input]
        perm = op.prop_values()["perm"]
        inv = [perm.index(a) for a in range(len(perm))]
        self._copy(
            op,
            src,
            [xv.shape[p] for p in perm],
            [xv.bound[p] for p in perm],
            lambda idx: flat_index(xv.shape, [idx[inv[a]] for a in range(len(perm))]),
        )

    def _alias(self, op: Operation, shape: list[str], bound: list[str]) -> None:
        """A view with the same elements in the same order (reshape, squeeze)."""
        xv = self.vars[op.operands[0]]
        runtime, cap = self.shape_of(op.results[0], shape, bound)
        self.vars[op.results[0]] = Var(xv.name, xv.ctype, runtime, cap)

    def _print_nn_reshape(self, op: nn.ReshapeOp, src: Source) -> None:
        xv = self.vars[op.input]
        spec = op.prop_values()["shape"]
        shape, bound = [], []
        for i, d in enumerate(spec):
            if d == 0:
                shape.append(xv.shape[i])
                bound.append(xv.bound[i])
            elif d == -1:
                known = [str(s) for s in spec if s > 0] + [
                    xv.shape[j] for j, s in enumerate(spec) if s == 0
                ]
                known_b = [str(s) for s in spec if s > 0] + [
                    xv.bound[j] for j, s in enumerate(spec) if s == 0
                ]
                shape.append(f"{xv.size} / ({product(known)})")
                bound.append(f"{xv.capacity} / ({product(known_b)})")
            else:
                shape.append(str(d))
                bound.append(str(d))
        self._alias(op, shape, bound)

    def _print_nn_squeeze(self, op: nn.SqueezeOp, src: Source) -> None:
        xv = self.vars[op.input]
        axes = set(op.prop_values()["axes"])
        self._alias(
            op,
            [d for i, d in enumerate(xv.shape) if i not in axes],
            [d for i, d in enumerate(xv.bound) if i not in axes],
        )

    def _print_nn_unsqueeze(self, op: nn.UnsqueezeOp, src: Source) -> None:
        xv = self.vars[op.input]
        shape, bound = list(xv.shape), list(xv.bound)
        for a in sorted(op.prop_values()["axes"]):
            shape.insert(a, "1")
            bound.insert(a, "1")
        self._alias(op, shape, bound)

    def _print_nn_concat(self, op: nn.ConcatOp, src: Source) -> None:
        ins = [self.vars[v] for v in op.inputs]
        axis = op.axis.value.data
        shape = list(ins[0].shape)
        bound = list(ins[0].bound)
        shape[axis] = " + ".join(v.shape[axis] for v in ins)
        bound[axis] = " + ".join(v.bound[axis] for v in ins)
        out = self.declare(op.result, shape, bound, "cat", src)
        offset = "0"
        for v in ins:
            start = offset

            def body(idx: list[str], v: Var = v, start: str = start) -> list[str]:
                dst = list(idx)
                dst[axis] = f"{start} + {idx[axis]}"
                return [
                    f"{out.name}[{flat_index(out.shape, dst)}] = {v.at(flat_index(v.shape, idx))};"
                ]

            self.loops(src, v.shape, body)
            offset = f"{offset} + {v.shape[axis]}"

    def _print_nn_slice(self, op: nn.SliceOp, src: Source) -> None:
        xv = self.vars[op.input]
        p = op.prop_values()
        shape, bound = list(xv.shape), list(xv.bound)
        starts: dict[int, tuple[str, int]] = {}
        for s, e, a, st in zip(p["starts"], p["ends"], p["axes"], p["steps"]):
            d = xv.shape[a]
            begin = f"ernnc_slice_start({d}, {s}LL, {st})"
            shape[a] = f"ernnc_slice_len({d}, {s}LL, {min(e, 2**62)}LL, {st})"
            starts[a] = (begin, st)
        self._ensure_slice_helpers()
        self._copy(
            op,
            src,
            shape,
            bound,
            lambda idx: flat_index(
                xv.shape,
                [
                    f"{starts[a][0]} + {idx[a]} * {starts[a][1]}" if a in starts else idx[a]
                    for a in range(len(idx))
                ],
            ),
        )

    def _ensure_slice_helpers(self) -> None:
        if ("slice",) in self._helper_of:
            return
        h = Source()
        h.lines_(
            [
                "// Python slicing range(n)[s:e:st] for st != 0: its first index and length.",
                "static inline long long ernnc_slice_start(long long n, long long s, int st) {",
                "    if (s < 0) s += n;",
                "    if (st > 0) return s < 0 ? 0 : (s > n ? n : s);",
                "    return s < 0 ? -1 : (s >= n ? n - 1 : s);",
                "}",
                "static inline int ernnc_slice_len(long long n, long long s, long long e, int st) {",
                "    long long b = ernnc_slice_start(n, s, st);",
                "    if (e < 0) e += n;",
                "    if (st > 0) { e = e < 0 ? 0 : (e > n ? n : e); return e > b ? (int)((e - b + st - 1) / st) : 0; }",
                "    e = e < -1 ? -1 : (e >= n ? n - 1 : e);",
                "    return b > e ? (int)((b - e - st - 1) / -st) : 0;",
                "}",
            ]
        )
        self.functions.insert(0, h)
        self._helper_of[("slice",)] = "slice"

    def _print_nn_gather(self, op: nn.GatherOp, src: Source) -> None:
        xv = self.vars[op.input]
        axis = op.axis.value.data
        idx_arr = op.index_array()
        table = ", ".join(str(int(i)) for i in idx_arr.ravel()) or "0"
        name = self.fresh("idx")
        src.line(f"static const long long {name}[{max(idx_arr.size, 1)}] = {{{table}}};")
        ishape = [str(d) for d in idx_arr.shape]
        shape = xv.shape[:axis] + ishape + xv.shape[axis + 1 :]
        bound = xv.bound[:axis] + ishape + xv.bound[axis + 1 :]
        k = len(ishape)

        def index(idx: list[str]) -> str:
            pick = f"{name}[{flat_index(ishape, idx[axis : axis + k]) if k else '0'}]"
            pick = f"({pick} < 0 ? {pick} + {xv.shape[axis]} : {pick})"
            return flat_index(xv.shape, idx[:axis] + [pick] + idx[axis + k :])

        self._copy(op, src, shape, bound, index)

    def _print_nn_split(self, op: nn.SplitOp, src: Source) -> None:
        xv = self.vars[op.input]
        axis = op.axis.value.data
        in_place = split_in_place(op)
        for r, o, s in zip(op.outputs, op.offsets(), op.split_sizes()):
            shape, bound = list(xv.shape), list(xv.bound)
            shape[axis] = bound[axis] = str(s)
            if in_place:
                self.vars[r] = Var(xv.name, xv.ctype, shape, bound, xv.raw)
                self.views[r] = View(op.input, axis, o)
                continue
            out = self.declare(r, shape, bound, "part", src)

            def body(idx: list[str], out: Var = out, o: int = o) -> list[str]:
                srci = list(idx)
                srci[axis] = f"{o} + {idx[axis]}"
                return [
                    f"{out.name}[{flat_index(out.shape, idx)}] = {xv.at(flat_index(xv.shape, srci))};"
                ]

            self.loops(src, out.shape, body)

    def _print_nn_softmax(self, op: nn.SoftmaxOp, src: Source, log: bool = False) -> None:
        xv = self.vars[op.input]
        axis = op.axis.value.data
        out = self.declare(op.result, xv.shape, xv.bound, "sm", src)
        outer = xv.shape[:axis] + xv.shape[axis + 1 :]
        d = xv.shape[axis]

        def body(idx: list[str]) -> list[str]:
            def at(j: str) -> str:
                full = idx[:axis] + [j] + idx[axis:]
                return flat_index(xv.shape, full)

            lines = [
                f"{xv.ctype} mx = {xv.name}[{at('0')}];",
                f"for (int j = 1; j < {d}; j++) mx = {xv.name}[{at('j')}] > mx ? {xv.name}[{at('j')}] : mx;",
                f"{xv.ctype} sum = 0;",
                f"for (int j = 0; j < {d}; j++) sum += std::exp({xv.name}[{at('j')}] - mx);",
            ]
            if log:
                lines.append(
                    f"for (int j = 0; j < {d}; j++) {out.name}[{at('j')}] = {xv.name}[{at('j')}] - mx - std::log(sum);"
                )
            else:
                lines.append(
                    f"for (int j = 0; j < {d}; j++) {out.name}[{at('j')}] = std::exp({xv.name}[{at('j')}] - mx) / sum;"
                )
            return lines

        self.loops(src, outer, body, pipeline=False)

    def _print_nn_log_softmax(self, op: nn.LogSoftmaxOp, src: Source) -> None:
        self._print_nn_softmax(op, src, log=True)  # type: ignore[arg-type]

    # -- the recurrence ------------------------------------------------------------

    def _print_cell_scan(self, op: cell.ScanOp, src: Source) -> None:
        xv = self.vars[op.x]
        t_dim, n_dim = xv.shape[0], xv.shape[1]
        t_bound, n_bound = xv.bound[0], xv.bound[1]
        block = op.block
        states = list(block.args[1:])
        direction = "reverse" if op.is_reverse else "forward"
        src.line(
            f"// ---- {comment_text(op.layer.data)} {direction}: {comment_text(op.kind.data.upper())} time loop, states on chip ----"
        )
        # the sequence of hidden states only where something reads it
        y = (
            self.declare(
                op.y,
                [t_dim, n_dim, str(tensor_shape(op.y.type)[2])],
                [t_bound, n_bound, str(tensor_shape(op.y.type)[2])],
                "y",
                src,
            )
            if op.y.uses
            else None
        )
        finals = [
            self.declare(
                r,
                [n_dim, str(tensor_shape(r.type)[1])],
                [n_bound, str(tensor_shape(r.type)[1])],
                "state",
                src,
            )
            for r in op.finals
        ]
        lens = self.vars[op.lens] if op.lens is not None else None
        inits = op.initial_values()
        split = overlapped(op)
        src.line("{")
        with src.indent():
            # the states live in the final-state buffers across the loop
            for k, (s, fin) in enumerate(zip(states, finals)):
                self.vars[s] = fin
                init = inits[k]
                value = self.vars[init].at("i") if init is not None else "0"
                src.line(f"for (int i = 0; i < {fin.size}; i++) {fin.name}[i] = {value};")
            if split is not None:
                self._print_overlapped_steps(op, split, y, finals, lens, src)
            else:
                x_t = block.args[0]
                xs = self.declare(x_t, [n_dim, xv.shape[2]], [n_bound, xv.bound[2]], "x_t", src)
                tt = self.fresh("t")
                src.line(f"for (int s = 0; s < {t_dim}; s++) {{")
                with src.indent():
                    src.line(f"int {tt} = {f'{t_dim} - 1 - s' if op.is_reverse else 's'};")
                    self._print_x_t(op, xs, tt, src)
                    self.print_ops(list(block.ops)[:-1], src)
                    self._print_state_update(op, y, finals, lens, tt, src)
                src.line("}")
            if lens is not None:
                src.line("// an entry of length 0 runs no step and ends with zero states")
                n = self.fresh("n")
                src.line(f"for (int {n} = 0; {n} < {n_dim}; {n}++) {{")
                with src.indent():
                    src.line(f"if ({lens.at(n)} == 0) {{")
                    for fin in finals:
                        width = int(fin.shape[1])
                        src.line(
                            f"    for (int j = 0; j < {width}; j++) {fin.name}[{n} * {width} + j] = 0;"
                        )
                    src.line("}")
                src.line("}")
        src.line("}")

    def _print_x_t(self, op: cell.ScanOp, xs: Var, tt: str, src: Source) -> None:
        """x_t = x[tt], the step's input."""
        xv = self.vars[op.x]
        self.loops(
            src,
            [xs.size],
            lambda i: [f"{xs.name}[{i[0]}] = {xv.at(f'{tt} * {xs.size} + {i[0]}')};"],
            lanes=knob(op, "lanes"),
        )

    def _print_state_update(
        self,
        op: cell.ScanOp,
        y: Var | None,
        finals: list[Var],
        lens: Var | None,
        tt: str,
        src: Source,
    ) -> None:
        """The end of step tt: the new states where the sequence is still
        running, and y."""
        term = op.block.last_op
        assert isinstance(term, cell.YieldOp)
        n_dim = self.vars[op.x].shape[1]
        lanes = knob(op, "lanes")
        h = tensor_shape(op.y.type)[2]
        widths = [int(fin.shape[1]) for fin in finals]
        n, j = self.fresh("n"), self.fresh("j")
        src.line("// the new states, where the sequence is still running, and y")
        src.line(f"for (int {n} = 0; {n} < {n_dim}; {n}++) {{")
        with src.indent():
            live = f"{tt} < {lens.at(n)}" if lens is not None else "true"
            src.line(f"bool live = {live};")
            src.line(f"for (int {j} = 0; {j} < {max(widths)}; {j}++) {{")
            with src.indent():
                src.line("ERNNC_PRAGMA(HLS PIPELINE II=1)")
                if lanes > 1:
                    src.line(f"ERNNC_PRAGMA(HLS UNROLL factor={lanes})")
                for v, fin, width in zip(term.values, finals, widths):
                    nv = self.vars[v]
                    cond = "live" if width == max(widths) else f"live && {j} < {width}"
                    src.line(
                        f"if ({cond}) {fin.name}[{n} * {width} + {j}] = {nv.at(f'{n} * {width} + {j}')};"
                    )
                if y is not None:
                    new_h = self.vars[term.values[0]].at(f"{n} * {h} + {j}")
                    store = f"{y.name}[({tt} * {n_dim} + {n}) * {h} + {j}] = live ? {y.ctype}({new_h}) : {y.ctype}(0);"
                    src.line(store if h == max(widths) else f"if ({j} < {h}) {store}")
            src.line("}")
        src.line("}")

    def _print_overlapped_steps(
        self,
        op: cell.ScanOp,
        split: Stages,
        y: Var | None,
        finals: list[Var],
        lens: Var | None,
        src: Source,
    ) -> None:
        """The time loop software-pipelined, C-LSTM's ping-pong pipeline: the
        input stage of step 0 first, then in each step a DATAFLOW region of
        two processes, the input stage of step s + 1 (writing one half of
        each ping-pong buffer) beside the recurrent stage of step s (reading
        the other half and owning the states). hardware/stages.py splits the
        ops; the estimator takes the longer stage."""
        xv = self.vars[op.x]
        t_dim, n_dim, n_bound = xv.shape[0], xv.shape[1], xv.bound[1]
        x_t = op.block.args[0]
        base = self.ids(f"{op.layer.data}_{'bwd' if op.is_reverse else 'fwd'}")
        tt = self.ids("t")
        nxt = {v: self.ids(f"{base}_nxt{k}") for k, v in enumerate(split.boundary)}
        # the input stage of step tt, into the nxt buffers
        inner = Source()
        with inner.indent():
            inner.line("if (!run) return;")
            self.params = dict(nxt)
            xs = self.declare(x_t, [n_dim, xv.shape[2]], [n_bound, xv.bound[2]], "x_t", inner)
            self._print_x_t(op, xs, tt, inner)
            self.print_ops(split.input, inner)
            self.params = {}
        buffers = [self.vars[v] for v in split.boundary]
        cur = {v: self.ids(f"{base}_cur{k}") for k, v in enumerate(split.boundary)}
        for v, var in zip(split.boundary, buffers):
            self.vars[v] = Var(cur[v], var.ctype, var.shape, var.bound)
        # the recurrent stage of step tt, from the cur buffers
        rec = Source()
        with rec.indent():
            self.print_ops(split.recurrent, rec)
            self._print_state_update(op, y, finals, lens, tt, rec)
        dims = [arg for arg, _ in self.symbols.values()]

        def used(body: Source) -> list[str]:
            text = "\n".join(body.lines)
            return [d for d in dims if re.search(rf"\b{re.escape(d)}\b", text)]

        x_param = f"const {xv.ctype} {xv.name}[{xv.capacity}]"
        nxt_params = [f"{b.ctype} {nxt[v]}[{b.capacity}]" for v, b in zip(split.boundary, buffers)]
        cur_params = [
            f"const {b.ctype} {cur[v]}[{b.capacity}]" for v, b in zip(split.boundary, buffers)
        ]
        state_params = [f"{f.ctype} {f.name}[{f.capacity}]" for f in finals]
        state_params += [f"{y.ctype} {y.name}[{y.capacity}]"] if y is not None else []
        state_params += [f"const {lens.ctype} {lens.name}[{lens.capacity}]"] if lens else []
        in_dims, rec_dims = used(inner), used(rec)
        # the recurrent stage reads its step only to store y or mask by length
        rec_t = [tt] if re.search(rf"\b{tt}\b", "\n".join(rec.lines)) else []
        in_args = [xv.name, *in_dims, *nxt.values()]
        rec_args = [*cur.values(), *[f.name for f in finals]]
        rec_args += [y.name] if y is not None else []
        rec_args += [lens.name] if lens is not None else []
        rec_args += rec_dims
        what = f"{comment_text(op.layer.data)} {'reverse' if op.is_reverse else 'forward'}"

        fn = Source()
        fn.line(f"// {what}: the input stage of step {tt} (x_t in and what reads only x_t),")
        fn.line("// into one half of the ping-pong buffers; nothing when !run (past the last step)")
        params = ["bool run", f"int {tt}", x_param, *[f"int {d}" for d in in_dims], *nxt_params]
        fn.line(f"static void {base}_input({', '.join(params)}) {{")
        fn.extend(inner)
        fn.line("}")
        fn.line("")
        fn.line(
            f"// {what}: the recurrent stage of step {tt}, from the other half; it owns the states"
        )
        params = [*[f"int {t}" for t in rec_t], *cur_params, *state_params]
        params += [f"int {d}" for d in rec_dims]
        fn.line(f"static void {base}_recurrent({', '.join(params)}) {{")
        fn.extend(rec)
        fn.line("}")
        fn.line("")
        fn.line(
            f"// {what}: one step, the input stage of the next beside the recurrence of this one"
        )
        step_dims = [d for d in dims if d in in_dims or d in rec_dims]
        params = ["bool run", "int t_next", *[f"int {t}" for t in rec_t], x_param]
        params += [f"int {d}" for d in step_dims]
        params += nxt_params + cur_params + state_params
        fn.line(f"static void {base}_step({', '.join(params)}) {{")
        with fn.indent():
            fn.line("ERNNC_PRAGMA(HLS DATAFLOW)")
            fn.line(f"{base}_input(run, t_next, {', '.join(in_args)});")
            fn.line(f"{base}_recurrent({', '.join(rec_t + rec_args)});")
        fn.line("}")
        self.functions.append(fn)

        # the ping-pong buffers: the input stage writes one half while the
        # recurrent stage reads the other
        pp = [self.ids(f"{base}_pingpong{k}") for k in range(len(split.boundary))]
        for name, b, v in zip(pp, buffers, split.boundary):
            src.line(f"static {b.ctype} {name}[2][{b.capacity}];")
            banks = buffer_banks(v)
            if banks > 1:
                src.line(
                    f"ERNNC_PRAGMA(HLS ARRAY_PARTITION variable={name} cyclic factor={banks} dim=2)"
                )
        first = f"{t_dim} - 1" if op.is_reverse else "0"
        src.line(f"// the input stage of the first step, then {t_dim} overlapped steps")
        args = [xv.name, *in_dims, *[f"{p}[0]" for p in pp]]
        src.line(f"{base}_input({t_dim} > 0, {first}, {', '.join(args)});")
        src.line(f"for (int s = 0; s < {t_dim}; s++) {{")
        with src.indent():
            src.line(f"int {tt} = {f'{t_dim} - 1 - s' if op.is_reverse else 's'};")
            args = [
                f"s + 1 < {t_dim}",
                f"{tt} - 1" if op.is_reverse else f"{tt} + 1",
                *rec_t,
                xv.name,
                *step_dims,
                *[f"{p}[(s + 1) & 1]" for p in pp],
                *[f"{p}[s & 1]" for p in pp],
                *[f.name for f in finals],
            ]
            args += [y.name] if y is not None else []
            args += [lens.name] if lens is not None else []
            src.line(f"{base}_step({', '.join(args)});")
        src.line("}")

    # -- testbench -------------------------------------------------------------------

    def _testbench(self) -> str:
        fn = self.func
        ins = list(zip(signature.inputs(fn), fn.body.block.args))
        tb = Source()
        tb.lines_(
            [
                f"// tb.cpp: testbench of {self.top}, generated by ernnc.",
                "// usage: tb INPUTS.bin OUTPUTS.bin [EXPECTED.bin [TOLERANCE]]",
                "// Each file is a sequence of tensors: int32 rank, int64 dims[rank], then the",
                "// elements as float32 (or int32 for integer inputs). Outputs converted out of",
                "// fixed point must equal the expected ones bit for bit; outputs computed in",
                "// float must lie within TOLERANCE * (1 + |expected|) (default 1e-5).",
                "#include <cmath>",
                "#include <cstdio>",
                "#include <cstdlib>",
                "#include <cstring>",
                "#include <vector>",
                f'#include "{self.top}.h"',
                "",
                "struct Tensor {",
                "    std::vector<long long> dims;",
                "    std::vector<float> f;",
                "    std::vector<int> i;",
                "};",
                "",
                "static bool read_tensor(FILE *file, Tensor &t, bool integer) {",
                "    int rank = 0;",
                "    if (fread(&rank, sizeof rank, 1, file) != 1 || rank < 0 || rank > 16) return false;",
                "    t.dims.resize(rank);",
                "    long long n = 1;",
                "    for (int k = 0; k < rank; k++) {",
                "        if (fread(&t.dims[k], sizeof(long long), 1, file) != 1 || t.dims[k] < 0) return false;",
                "        n *= t.dims[k];",
                "    }",
                "    if (integer) {",
                "        t.i.resize(n);",
                "        return fread(t.i.data(), sizeof(int), n, file) == (size_t)n;",
                "    }",
                "    t.f.resize(n);",
                "    return fread(t.f.data(), sizeof(float), n, file) == (size_t)n;",
                "}",
                "",
                "template <class T>",
                "static void write_tensor(FILE *file, const std::vector<long long> &dims, const T *data) {",
                "    int rank = (int)dims.size();",
                "    long long n = 1;",
                "    fwrite(&rank, sizeof rank, 1, file);",
                "    for (long long d : dims) { fwrite(&d, sizeof d, 1, file); n *= d; }",
                "    for (long long e = 0; e < n; e++) { float x = (float)data[e]; fwrite(&x, sizeof x, 1, file); }",
                "}",
                "",
                "int main(int argc, char **argv) {",
                '    if (argc < 3) { fprintf(stderr, "usage: %s INPUTS.bin OUTPUTS.bin [EXPECTED.bin [TOLERANCE]]\\n", argv[0]); return 2; }',
                '    FILE *in = fopen(argv[1], "rb");',
                '    if (!in) { fprintf(stderr, "tb: cannot open %s\\n", argv[1]); return 2; }',
            ]
        )
        with tb.indent():
            for k, (port, arg) in enumerate(ins):
                integer = self.ctype(arg.type) in (
                    "int",
                    "long long",
                    "short",
                    "signed char",
                    "bool",
                )
                tb.line(f"Tensor t{k};")
                tb.line(
                    f'if (!read_tensor(in, t{k}, {str(integer).lower()}) || t{k}.dims.size() != {len(port.dims)}) {{ fprintf(stderr, "tb: bad input {k}\\n"); return 2; }}'
                )
            for name, (arg, macro) in self.symbols.items():
                where = next(
                    (k, j)
                    for k, (p, _) in enumerate(ins)
                    for j, d in enumerate(p.dims)
                    if d == name
                )
                tb.line(f"int {arg} = (int)t{where[0]}.dims[{where[1]}];")
                tb.line(
                    f'if ({arg} > {macro}) {{ fprintf(stderr, "tb: {arg} = %d exceeds {macro} = %d; rebuild with -D{macro}=%d\\n", {arg}, {macro}, {arg}); return 2; }}'
                )
            for k, (port, arg) in enumerate(ins):
                for j, d in enumerate(port.dims):
                    expect = self.symbols[d][0] if isinstance(d, str) else str(d)
                    tb.line(
                        f'if (t{k}.dims[{j}] != {expect}) {{ fprintf(stderr, "tb: input {k} dim {j} is %lld, expected %lld\\n", t{k}.dims[{j}], (long long){expect}); return 2; }}'
                    )
            tb.line("fclose(in);")
            args: list[str] = []
            for k, (port, arg) in enumerate(ins):
                var = self.vars[arg]
                field = (
                    "i"
                    if self.ctype(arg.type) in ("int", "long long", "short", "signed char", "bool")
                    else "f"
                )
                if var.ctype in ("float", "int"):
                    tb.line(f"static {var.ctype} a{k}[{var.capacity}];")
                    tb.line(
                        f"for (size_t e = 0; e < t{k}.{field}.size(); e++) a{k}[e] = t{k}.{field}[e];"
                    )
                else:
                    tb.line(f"static {var.ctype} a{k}[{var.capacity}];")
                    tb.line(
                        f"for (size_t e = 0; e < t{k}.{field}.size(); e++) a{k}[e] = ({var.ctype})t{k}.{field}[e];"
                    )
                args.append(f"a{k}")
            for k, out in enumerate(self.output_shapes):
                tb.line(f"static {out.ctype} o{k}[{out.capacity}];")
                args.append(f"o{k}")
            args += [arg for arg, _ in self.symbols.values()]
            tb.line(f"{self.top}({', '.join(args)});")
            tb.line('FILE *out = fopen(argv[2], "wb");')
            tb.line('if (!out) { fprintf(stderr, "tb: cannot write %s\\n", argv[2]); return 2; }')
            for k, out in enumerate(self.output_shapes):
                dims = ", ".join(f"(long long)({d})" for d in out.shape)
                tb.line(f"std::vector<long long> d{k} = {{{dims}}};")
                tb.line(f"write_tensor(out, d{k}, o{k});")
            tb.line("fclose(out);")
            tb.line("if (argc < 4) return 0;")
            tb.line('FILE *ex = fopen(argv[3], "rb");')
            tb.line('if (!ex) { fprintf(stderr, "tb: cannot open %s\\n", argv[3]); return 2; }')
            exact = ", ".join("true" if e else "false" for e in self.exact)
            tb.line(f"const bool exact[] = {{{exact}}};")
            tb.line("double tol = argc > 4 ? atof(argv[4]) : 1e-5;")
            tb.line("long long bad = 0;")
            for k, out in enumerate(self.output_shapes):
                tb.line(f"Tensor e{k};")
                tb.line(
                    f'if (!read_tensor(ex, e{k}, false) || e{k}.dims != d{k}) {{ fprintf(stderr, "tb: expected output {k} has another shape\\n"); return 2; }}'
                )
                tb.line(f"for (size_t e = 0; e < e{k}.f.size(); e++) {{")
                tb.line(f"    float got = (float)o{k}[e];")
                tb.line(
                    f"    bool ok = exact[{k}] ? std::memcmp(&got, &e{k}.f[e], sizeof got) == 0 : std::fabs((double)got - e{k}.f[e]) <= tol * (1 + std::fabs((double)e{k}.f[e]));"
                )
                tb.line(
                    f'    if (!ok && bad++ < 10) fprintf(stderr, "tb: output {k} element %zu: %.9g, expected %.9g\\n", e, (double)got, (double)e{k}.f[e]);'
                )
                tb.line("}")
            tb.line("fclose(ex);")
            tb.line('if (bad) { fprintf(stderr, "tb: %lld mismatches\\n", bad); return 1; }')
            tb.line('printf("tb: all outputs match\\n");')
            tb.line("return 0;")
        tb.line("}")
        return tb.text()


def emit_hls(
    module: ModuleOp,
    *,
    top: str = "ernnc_top",
    part: str | None = None,
    clock_mhz: float | None = None,
    max_dims: dict[str, int] | None = None,
) -> HlsProject:
    """The project of ``module``'s ``func.func``: files by name, and its manifest
    (also written as ``design.json``). The part and clock default to the
    module's ``ernn.target`` (ernn-schedule), else the KU060 at 200 MHz."""
    target = target_of(module)
    if part is None:
        part = target.part if target is not None else DEFAULT_PART
    if clock_mhz is None:
        clock_mhz = target.clock_mhz if target is not None else DEFAULT_CLOCK_MHZ
    if not re.fullmatch(r"[A-Za-z0-9_.\-]+", part):
        raise HlsError(f"FPGA part {part!r}: expected letters, digits, '-', '_' and '.'")
    if not (math.isfinite(clock_mhz) and clock_mhz > 0):
        raise HlsError(f"clock {clock_mhz} MHz: expected a positive frequency")
    project = CppPrinter(module, top, max_dims).print()
    top = project.top
    period = 1000.0 / clock_mhz
    project.manifest.update(part=part, clock_mhz=clock_mhz)
    project.files["Makefile"] = MAKEFILE.format(top=top, cxxflags=" ".join(CXXFLAGS))
    project.files["build.tcl"] = BUILD_TCL.format(top=top, part=part, period_ns=f"{period:g}")
    project.files["design.json"] = json.dumps(project.manifest, indent=2) + "\n"
    return project


def design_sizes(module: ModuleOp, max_dims: dict[str, int] | None = None) -> dict[SSAValue, int]:
    """Elements of every array the design declares for an SSA value (at the
    dims' bounds): what the estimator sizes buffers by, from the printer
    itself rather than a second account of the layout."""
    printer = CppPrinter(module, "ernnc_top", max_dims, tables=False)
    printer.print()
    macros = {macro: printer.bound_of(name) for name, (_, macro) in printer.symbols.items()}
    return {v: _evaluate(var.capacity, macros) for v, var in printer.vars.items()}


def _evaluate(expr: str, macros: dict[str, int]) -> int:
    """An array extent: integers, bound macros, * / + - and parentheses."""
    text = re.sub(r"[A-Za-z_][A-Za-z0-9_]*", lambda m: str(macros[m.group(0)]), expr)
    if not re.fullmatch(r"[0-9+\-*/() ]*", text):
        raise HlsError(f"cannot size the extent {expr!r}")
    return int(eval(text.replace("/", "//"), {"__builtins__": {}}))
