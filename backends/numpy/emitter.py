"""The NumPy backend: print a module at the cell level (or below) as a
standalone Python file that needs only NumPy and its weights file.

The printer has one method per op (``_print_<dialect>_<op>``). Scans get a
function each. Inside a scan, the ops that depend only on the input and on
values from outside (the input projection W x_t, its bias, its spectra) are
hoisted and computed for all time steps at once; the rest runs per step into
buffers allocated before the loop, so a step is a handful of NumPy calls with
``out=``. Yielded states swap buffers instead of being copied.

Spectra (the ``circ`` FFT form, [M, Q, F, 2] in the IR) are held as complex
arrays laid out [F, M, Q], frequency first, so that the frequency-domain MAC
is one batched matmul over the bins (``Wf[f] @ Xf[f]``). The DFTs of the
length-b blocks are small real matmuls (``ernnc.circulant.real_dft``).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
from xdsl.dialects import arith, func
from xdsl.dialects.builtin import (
    ModuleOp,
    TensorType,
)
from xdsl.ir import Block, Operation, SSAValue

from ...circulant import Blocking, expand, real_dft, real_idft, spectra
from ...dialects import cell, circ, fxp, nn, signature
from ...dialects.constants import dtype_of, numpy_from_dense
from ...dialects.fxp import FixedType, fixed_of
from ...dialects.shapes import DYN, tensor_shape
from ...fixedpoint import runtime_source, twiddles
from .activations import IN_PLACE, activation_statements, float_literal
from .gates import is_float_module, prepare_float
from .source import Names, Source

INT64_MAX = 2**63 - 1


class UnsupportedOpError(Exception):
    """The module holds an op the NumPy backend cannot print."""


@dataclass
class Emitted:
    source: str
    weights: dict[str, np.ndarray]


def _dtype_expr(t: object) -> str:
    """NumPy dtype of a tensor type; fixed point is held as raw int64."""
    assert isinstance(t, TensorType)
    if isinstance(t.element_type, FixedType):
        return "np.int64"
    return "np." + dtype_of(t.element_type).name.replace("bool", "bool_")


def _fixed(v: SSAValue) -> FixedType | None:
    return fixed_of(v.type)


def _modes(t: FixedType) -> str:
    return f"{t.round_mode == 'rnd'}, {t.overflow_mode == 'sat'}"


def _complex_expr(t: object) -> str:
    assert isinstance(t, TensorType)
    return "np.complex128" if dtype_of(t.element_type) == np.float64 else "np.complex64"


def _shape_expr(shape: tuple[int, ...], dyn: list[str]) -> str:
    """A shape tuple where symbolic dims come, in order, from ``dyn``."""
    it = iter(dyn)
    parts = [next(it) if d == DYN else str(d) for d in shape]
    return "(" + ", ".join(parts) + ("," if len(parts) == 1 else "") + ")"


def constant_array(v: SSAValue) -> np.ndarray | None:
    """The value of a constant: floats for arith.constant, raw int64 for fxp.constant."""
    owner = v.owner
    if isinstance(owner, arith.ConstantOp):
        return numpy_from_dense(owner.value)  # type: ignore[arg-type]
    if isinstance(owner, fxp.ConstantOp):
        return numpy_from_dense(owner.value).astype(np.int64)
    return None


def _is_weight_of(v: SSAValue, cls: type[Operation], field_name: str) -> bool:
    uses = [u.operation for u in v.uses]
    return (
        isinstance(v.owner, arith.ConstantOp | fxp.ConstantOp)
        and bool(uses)
        and all(isinstance(u, cls) and getattr(u, field_name) is v for u in uses)
    )


def is_matvec_weight(v: SSAValue) -> bool:
    """A constant read only as matvec weights (stored in a derived form)."""
    return (
        _is_weight_of(v, cell.MatVecOp, "w")
        or _is_weight_of(v, circ.MatVecOp, "gen")
        or _is_weight_of(v, circ.MacOp, "lhs")
    )


def _is_transposed_gemm_b(v: SSAValue) -> bool:
    """A constant read only as a Gemm's transposed B (stored transposed)."""
    return _is_weight_of(v, nn.GemmOp, "b") and all(
        u.operation.trans_b.value.data
        for u in v.uses  # type: ignore[attr-defined]
    )


def is_spectral(v: SSAValue) -> bool:
    """A value in the frequency domain (held as complex [F, M, Q], or as raw
    int64 [2, F, M, Q] in fixed point)."""
    op = v.owner
    if isinstance(op, circ.RfftOp | circ.MacOp):
        return True
    if isinstance(op, fxp.CastOp):
        return is_spectral(op.input)
    return isinstance(op, nn.AddOp | nn.SubOp) and is_spectral(op.lhs)


@dataclass
class _Scope:
    """How values are referenced and where results go while printing ops."""

    names: Names
    src: Source
    # value -> expression to use when it is an operand (defaults to its name)
    refs: dict[SSAValue, str] = field(default_factory=dict)
    # results that are written into a preallocated buffer of that name
    buffers: dict[SSAValue, str] = field(default_factory=dict)
    # results that are whole sequences (hoisted out of a scan loop)
    sequence: set[SSAValue] = field(default_factory=set)
    # weights.npz key -> local name bound to that array
    weight_locals: dict[str, str] = field(default_factory=dict)
    # the batch size inside a scan step ("N"), else None
    batch: str | None = None
    # inside a scan step: (literal, dtype) -> name of a 0-d array bound before
    # the loop (a NumPy ufunc converts a Python float operand on every call)
    constants: dict[tuple[str, str], str] | None = None
    # inside a scan step: the values the step yields, and the buffers
    # allocated for one value (not views, not shared with a state)
    yielded: set[SSAValue] = field(default_factory=set)
    roots: set[str] = field(default_factory=set)
    # inside a scan step: values [N, F] are held transposed, as [F, N] arrays
    fm: bool = False

    def step_shape(self, v: SSAValue) -> str:
        """The shape expression of a step buffer for ``v``."""
        shape = tensor_shape(v.type)
        if self.fm:
            return _shape_expr(shape[::-1], ["N"])
        return _shape_expr(shape, ["N"])

    def ref(self, v: SSAValue) -> str:
        if v in self.refs:
            return self.refs[v]
        return self.buffers.get(v) or self.names[v]

    def weight(self, key: str) -> str:
        return self.weight_locals.get(key, f"w[{key!r}]")

    def buffered(self, v: SSAValue) -> bool:
        return v in self.buffers

    def constant(self, value: float, dtype: str) -> str:
        """A float constant as an operand: a literal, or in a step the name of
        a 0-d array of ``dtype``."""
        literal = float_literal(value, np.dtype(dtype[3:]))
        if self.constants is None:
            return literal
        key = (literal, dtype)
        if key not in self.constants:
            name = _CONSTANT_NAMES.get(float(literal), f"k{len(self.constants)}")
            if name in self.constants.values():
                name = f"{name}_{dtype[3:]}"
            self.constants[key] = name
        return self.constants[key]

    def constant_lines(self) -> list[str]:
        return [f"{n} = np.array({lit}, {dt})" for (lit, dt), n in (self.constants or {}).items()]


_CONSTANT_NAMES = {0.0: "zero", 0.5: "half", 1.0: "one"}


# Ops whose results calibration observes: the ones ernn-quantize casts.
_OBSERVED = (
    cell.MatVecOp,
    cell.ScanOp,
    circ.MatVecOp,
    circ.MacOp,
    circ.IrfftOp,
    nn.AddOp,
    nn.SubOp,
    nn.MulOp,
    nn.ActOp,
    nn.GemmOp,
    nn.MatMulOp,
)


def observed_values(module: ModuleOp) -> list[SSAValue]:
    """The values calibration records, in a fixed order (function arguments
    first, then op results in walk order)."""
    out: list[SSAValue] = []
    for op in module.walk():
        if isinstance(op, func.FuncOp):
            out.extend(a for a in op.body.block.args if _is_float_tensor(a))
        elif isinstance(op, _OBSERVED):
            out.extend(r for r in op.results if _is_float_tensor(r))
    return out


def _is_float_tensor(v: SSAValue) -> bool:
    return isinstance(v.type, TensorType) and v.type.element_type.name in ("f32", "f64")  # type: ignore[union-attr]


class ModelPrinter:
    def __init__(
        self,
        module: ModuleOp,
        observe: bool = False,
        *,
        weights_file: str = "weights.npz",
        float_companion: str | None = None,
        feature_major: bool = True,
    ):
        # steps may hold their values transposed (ScanPrinter._feature_major)
        self.feature_major = feature_major
        # the weights file beside the model, and a float model to compare with
        self.weights_file = weights_file
        self.float_companion = float_companion
        try:
            self.func = signature.main_func(module)
        except ValueError as e:
            raise UnsupportedOpError(str(e)) from None
        # value -> index in the calibration record, when observing
        self.observe: dict[SSAValue, int] = (
            {v: i for i, v in enumerate(observed_values(module))} if observe else {}
        )
        # rounding op -> index of its overflow counter, when counting
        self.stats: dict[Operation, int] = {}
        self.names = Names()
        self.weights: dict[str, np.ndarray] = {}
        self._weight_of: dict[tuple[SSAValue | None, str], str] = {}
        self.helpers: list[Source] = []
        self._scans = 0

    # -- weights ----------------------------------------------------------

    def weight(
        self,
        value: SSAValue,
        form: str = "",
        derive: Callable[[np.ndarray], np.ndarray] | None = None,
    ) -> str:
        """Key in weights.npz of a constant, or of ``derive(constant)`` (named
        by ``form``: matvecs store W.T, circulant ones the spectra)."""
        key = (value, form)
        if key not in self._weight_of:
            arr = constant_array(value)
            assert arr is not None
            if derive is not None:
                arr = np.ascontiguousarray(derive(arr))
            name = f"c{len(self.weights)}"
            self.weights[name] = arr
            self._weight_of[key] = name
        return self._weight_of[key]

    def table(self, name: str, make: Callable[[], np.ndarray]) -> str:
        """Key of a fixed table (DFT matrices) shared by all ops."""
        key = (None, name)
        if key not in self._weight_of:
            self.weights[name] = np.ascontiguousarray(make())
            self._weight_of[key] = name
        return name

    def matvec_weight(self, op: cell.MatVecOp | circ.MatVecOp, rows: bool = False) -> str:
        """Key of a matvec's weights: W.T [K, M] for x @ W.T, or with ``rows``
        W [M, K] for W @ x (circulant ones expanded to the dense matrix)."""
        if isinstance(op, cell.MatVecOp):
            if rows:
                return self.weight(op.w, "rows")
            return self.weight(op.w, "T", lambda a: a.T)
        m, k = op.shape
        bl = Blocking(len(op.gates), m // len(op.gates), k, op.block_size)
        if rows:
            return self.weight(op.gen, "dense", lambda g: expand(g, bl))
        return self.weight(op.gen, "dense.T", lambda g: expand(g, bl).T)

    def spectra_weight(self, op: circ.MacOp) -> str:
        """[P, Q, F, 2] spectra stored as complex [F, Q, P] for xf[f] @ wf[f]
        (fixed point: raw [2, F, Q, P], real and imaginary parts)."""
        if _fixed(op.lhs) is not None:
            return self.weight(op.lhs, "spectra", lambda a: a.transpose(3, 2, 1, 0))

        def layout(a: np.ndarray) -> np.ndarray:
            c = a[..., 0] + 1j * a[..., 1]
            return c.transpose(2, 1, 0).astype(
                np.complex128 if a.dtype == np.float64 else np.complex64
            )

        return self.weight(op.lhs, "spectra", layout)

    def twiddle_tables(self, b: int, frac: int) -> tuple[str, str]:
        tw = twiddles(b, frac)
        return self.table(f"tw{b}_{frac}_re", lambda: tw[0]), self.table(
            f"tw{b}_{frac}_im", lambda: tw[1]
        )

    def count_overflows(self) -> None:
        """Make every rounding op count the values it saturates or wraps, in
        the generated module's ``_stats`` (one [overflows, values] per op)."""
        ops = [op for op in self.func.walk() if isinstance(op, fxp.CastOp | fxp.PwlOp | fxp.LutOp)]
        rounding = [op for op in ops if _fixed(op.results[0]) is not None]
        self.stats = {op: i for i, op in enumerate(rounding)}

    def has_fixed(self) -> bool:
        return any(
            isinstance(t, TensorType) and isinstance(t.element_type, FixedType)
            for op in self.func.walk()
            for t in op.result_types
        )

    # -- module -----------------------------------------------------------

    def print(self) -> Emitted:
        body = Source()
        with body.indent():
            self._print_signature_checks(body)
            scope = _Scope(self.names, body)
            for op in self.func.body.block.ops:
                self.print_op(op, scope)
        return Emitted(self._assemble(body), self.weights)

    def input_specs(self) -> list[tuple[str, str, list[int | str]]]:
        return [(p.name, _dtype_expr(p.type), list(p.dims)) for p in signature.inputs(self.func)]

    def output_names(self) -> list[str]:
        return [p.name for p in signature.outputs(self.func)]

    def _print_signature_checks(self, body: Source) -> None:
        body.line("w = _weights() if weights is None else weights")
        body.line("dims = {}")
        for arg, (name, dtype, dims) in zip(self.func.body.block.args, self.input_specs()):
            body.line(
                f"{self.names[arg]} = _input(inputs, {name!r}, {dtype}, {tuple(dims)!r}, dims)"
            )
            if arg in self.observe:
                body.line(f"_observe({self.observe[arg]}, {self.names[arg]})")

    def _assemble(self, body: Source) -> str:
        out = Source()
        ins = ", ".join(f"{n!r} {d[3:]} {list(s)}" for n, d, s in self.input_specs())
        outs = ", ".join(repr(n) for n in self.output_names())
        # names are arbitrary text: nothing in them may end or escape the docstring
        ins, outs = (
            " ".join(t.replace("\\", "\\\\").replace('"', '\\"').split()) for t in (ins, outs)
        )
        out.lines_(
            [
                '"""NumPy reference model generated by ernnc. Needs only NumPy and weights.npz.',
                "",
                f"Inputs:  {ins}",
                f"Outputs: {outs}",
                "",
                "    import model_ref; outputs = model_ref.run({'name': array, ...})",
                "    python model_ref.py --inputs in.npz --outputs out.npz",
                '"""',
                "",
                "import argparse",
                "import os",
                "",
                "import numpy as np",
                "",
                f"WEIGHTS = os.path.join(os.path.dirname(os.path.abspath(__file__)), {self.weights_file!r})",
                f"INPUTS = {[n for n, _, _ in self.input_specs()]!r}",
                f"OUTPUTS = {self.output_names()!r}",
                "_cache = {}",
                "",
                "",
                "def _weights():",
                '    if "w" not in _cache:',
                "        with np.load(WEIGHTS) as f:",
                '            _cache["w"] = {k: f[k] for k in f.files}',
                '    return _cache["w"]',
                "",
                "",
                "def _input(inputs, name, dtype, shape, dims):",
                '    """Check one input against the model\'s signature; bind symbolic dims."""',
                "    if name not in inputs:",
                '        raise ValueError(f"missing input {name!r}; the model takes {INPUTS}")',
                "    a = np.asarray(inputs[name])",
                "    if np.dtype(dtype).kind in 'iu' and a.dtype.kind not in 'iu':",
                '        raise ValueError(f"input {name!r} must be integer, got {a.dtype}")',
                "    if a.ndim != len(shape):",
                '        raise ValueError(f"input {name!r} must have rank {len(shape)}, got shape {a.shape}")',
                "    for k, (want, got) in enumerate(zip(shape, a.shape)):",
                "        if isinstance(want, int) and want != got:",
                '            raise ValueError(f"input {name!r} dim {k} must be {want}, got {got}")',
                "        if isinstance(want, str) and dims.setdefault(want, got) != got:",
                '            raise ValueError(f"input {name!r} dim {k} ({want}) is {got}, elsewhere {dims[want]}")',
                "    return np.ascontiguousarray(a, dtype=dtype)",
                *(
                    [
                        "_ranges = {}",
                        "",
                        "",
                        "def _observe(k, v):",
                        '    """Record the range of a value (calibration)."""',
                        "    v = np.asarray(v)",
                        "    v = v.view(v.real.dtype) if v.dtype.kind == 'c' else v",
                        "    if v.size:",
                        "        lo, hi = float(v.min()), float(v.max())",
                        "        r = _ranges.get(k)",
                        "        _ranges[k] = (lo, hi) if r is None else (min(r[0], lo), max(r[1], hi))",
                    ]
                    if self.observe
                    else []
                ),
                *(["", "", *runtime_source().splitlines()] if self.has_fixed() else []),
                *(
                    ["", f"_stats = [[0, 0] for _ in range({len(self.stats)})]"]
                    if self.stats
                    else []
                ),
                "",
                "",
                "def _pad(x, n):",
                '    """x as 2-D [rows, n], its last axis zero-padded to n."""',
                "    x = x.reshape(-1, x.shape[-1])",
                "    if x.shape[1] == n:",
                "        return x",
                "    out = np.zeros((x.shape[0], n), x.dtype)",
                "    out[:, : x.shape[1]] = x",
                "    return out",
            ]
        )
        for h in self.helpers:
            out.line("")
            out.line("")
            out.lines_(h.lines)
        out.line("")
        out.line("")
        out.line("def run(inputs, weights=None):")
        out.line('    """Run the model on a dict of arrays keyed by the ONNX input names."""')
        out.lines_(body.lines)
        out.lines_(
            [
                "",
                "",
                *self._float_companion_lines(),
                "def main(argv=None):",
                '    p = argparse.ArgumentParser(description="Run the ernnc NumPy reference model.")',
                '    p.add_argument("--inputs", required=True, help=".npz file keyed by input name")',
                '    p.add_argument("--outputs", required=True, help=".npz file to write")',
                *(
                    [
                        '    p.add_argument("--float", action="store_true", help="run the float model instead")'
                    ]
                    if self.float_companion
                    else []
                ),
                "    a = p.parse_args(argv)",
                "    with np.load(a.inputs) as f:",
                "        inputs = {k: f[k] for k in f.files}",
                (
                    "    np.savez(a.outputs, **(run_float(inputs) if a.float else run(inputs)))"
                    if self.float_companion
                    else "    np.savez(a.outputs, **run(inputs))"
                ),
                "",
                "",
                'if __name__ == "__main__":',
                "    main()",
            ]
        )
        return out.text()

    def _float_companion_lines(self) -> list[str]:
        if not self.float_companion:
            return []
        return [
            "def run_float(inputs):",
            f'    """The float model that this bit-accurate one quantizes ({self.float_companion}),',
            '    on the same inputs, to compare with."""',
            "    import importlib.util",
            "",
            f'    path = os.path.join(os.path.dirname(os.path.abspath(__file__)), "{self.float_companion}")',
            '    spec = importlib.util.spec_from_file_location("model_float", path)',
            "    module = importlib.util.module_from_spec(spec)",
            "    spec.loader.exec_module(module)",
            "    return module.run(inputs)",
            "",
            "",
        ]

    # -- step buffers -----------------------------------------------------

    def declare_buffers(self, op: Operation, scope: _Scope) -> None:
        """Allocate, before a scan's loop, the buffers its step writes into."""
        src, n = scope.src, scope.names
        r = op.results[0] if op.results else None
        if r is not None and _fixed(r) is not None:
            return  # the bit-accurate model computes fixed-point values out of place
        if isinstance(op, circ.RfftOp):
            k, b = tensor_shape(op.input.type)[-1], op.block.value.data
            q, f = -(-k // b), b // 2 + 1
            dtype = _dtype_expr(op.input.type)
            src.line(f"{n[r]}_r = np.empty((N, {q}, {2 * f}), {dtype})")
            if k % b:
                src.line(f"{n[r]}_p = np.zeros((N, {q * b}), {dtype})")
            src.line(f"{n[r]} = {n[r]}_r.view({_complex_expr(op.input.type)}).transpose(2, 0, 1)")
            scope.buffers[r] = n[r]  # type: ignore[index]
        elif isinstance(op, circ.IrfftOp):
            s = tensor_shape(op.input.type)
            p, b = s[-3], op.block.value.data
            dtype = _dtype_expr(op.result.type)
            src.line(
                f"{n[r]}_c = np.empty((N, {p}, {b // 2 + 1}), {_complex_expr(op.result.type)})"
            )
            if scope.buffers.get(op.input) == f"{n[r]}_f":  # the MAC writes there
                src.line(f"{n[r]}_f = {n[r]}_c.transpose(2, 0, 1)")
            src.line(f"{n[r]}_y = np.empty((N, {p}, {b}), {dtype})")
            if op.rows == p * b:
                src.line(f"{n[r]} = {n[r]}_y.reshape(N, {p * b})")
            else:
                src.line(f"{n[r]} = np.empty((N, {op.rows}), {dtype})")
            scope.buffers[r] = n[r]  # type: ignore[index]
        elif r is not None and is_spectral(r):
            user = r.get_user_of_unique_use() if r.has_one_use() else None
            if isinstance(user, circ.IrfftOp) and _fixed(user.result) is None and not self.observe:
                # straight into the inverse transform's [N, P, F] input, seen as [F, N, P]
                scope.buffers[r] = f"{n[user.result]}_f"
                return
            s = tensor_shape(r.type)
            src.line(f"{n[r]} = np.empty(({s[-2]}, N, {s[-3]}), {_complex_expr(r.type)})")
            scope.buffers[r] = n[r]
        elif isinstance(op, _BUFFERED):
            assert r is not None
            donor = self._donor(op, scope)
            if donor is not None:  # computed in place: the operand is dead after this op
                scope.buffers[r] = scope.buffers[donor]
                return
            src.line(f"{n[r]} = np.empty({scope.step_shape(r)}, {_dtype_expr(r.type)})")
            scope.buffers[r] = n[r]
            scope.roots.add(n[r])

    @staticmethod
    def _donor(op: Operation, scope: _Scope) -> SSAValue | None:
        """An operand of an element-wise step op whose buffer the result can
        take: read by this op only, of the result's shape and type, its memory
        seen by no other value (a split part: of a value read by the split
        only), and for a yielded result a buffer of its own."""
        if isinstance(op, nn.ActOp) and op.function not in IN_PLACE:
            return None
        if not isinstance(op, _IN_PLACE):
            return None
        r = op.results[0]

        def exclusive(v: SSAValue) -> bool:
            if v not in scope.buffers or not v.has_one_use():
                return False
            owner = v.owner
            return not isinstance(owner, nn.SplitOp) or exclusive(owner.input)

        for v in op.operands:
            if (
                v.type == r.type
                and v not in scope.yielded
                and exclusive(v)
                and (r not in scope.yielded or scope.buffers[v] in scope.roots)
            ):
                return v
        return None

    # -- ops --------------------------------------------------------------

    def print_op(self, op: Operation, scope: _Scope) -> None:
        method = getattr(self, "_print_" + op.name.replace(".", "_"), None)
        if method is None:
            raise UnsupportedOpError(f"the NumPy backend cannot print '{op.name}'")
        method(op, scope)
        for r in op.results:
            if r in self.observe and not isinstance(op, cell.ScanOp):
                scope.src.line(
                    f"_observe({self.observe[r]}, {scope.buffers.get(r, scope.names[r])})"
                )

    def _assign(self, scope: _Scope, result: SSAValue, expr: str) -> None:
        scope.src.line(f"{scope.names[result]} = {expr}")

    def _ufunc(self, scope: _Scope, result: SSAValue, fn: str, args: list[str]) -> None:
        if result in scope.buffers:
            scope.src.line(f"{fn}({', '.join(args)}, out={scope.buffers[result]})")
            return
        fresh = self._fresh_operand(result, scope)
        if fresh is not None:  # over a hoisted temporary read by this op only
            self._assign(scope, result, f"{fn}({', '.join(args)}, out={scope.ref(fresh)})")
            return
        self._assign(scope, result, f"{fn}({', '.join(args)})")

    @staticmethod
    def _fresh_operand(result: SSAValue, scope: _Scope) -> SSAValue | None:
        """In a scan's hoisted part, an operand of ``result``'s op that is a
        new array of the result's shape and type, read by that op only."""
        op = result.owner
        if not scope.sequence or not isinstance(op, nn.AddOp | nn.SubOp | nn.MulOp | nn.DivOp):
            return None
        for v in op.operands:
            if (
                v in scope.sequence
                and v.type == result.type
                and v.has_one_use()
                and isinstance(v.owner, _FRESH)
                and _fixed(v) is None
            ):
                return v
        return None

    def _axis(self, op: Operation, axis: int, value: SSAValue) -> int:
        """Axes inside scan bodies count from the end, so that the same code
        works on one step [N, F] and on a hoisted sequence [T, N, F]."""
        rank = len(tensor_shape(value.type))
        return axis - rank if isinstance(op.parent_op(), cell.ScanOp) else axis

    def _print_arith_constant(self, op: arith.ConstantOp, scope: _Scope) -> None:
        arr = numpy_from_dense(op.value)  # type: ignore[arg-type]
        if arr.ndim == 0:
            if arr.dtype.kind == "f":  # a 0-d array: ufuncs take it as is
                self._assign(
                    scope,
                    op.result,
                    f"np.array({float_literal(arr.item(), arr.dtype)}, np.{arr.dtype.name})",
                )
            else:
                self._assign(
                    scope,
                    op.result,
                    f"np.{arr.dtype.name.replace('bool', 'bool_')}({arr.item()!r})",
                )
            return
        if is_matvec_weight(op.result) or _is_transposed_gemm_b(op.result):
            return  # its readers read a derived copy from the weights file
        self._assign(scope, op.result, scope.weight(self.weight(op.result)))

    def _print_fxp_constant(self, op: fxp.ConstantOp, scope: _Scope) -> None:
        if is_matvec_weight(op.result):
            return
        self._assign(scope, op.result, scope.weight(self.weight(op.result)))

    def _print_fxp_cast(self, op: fxp.CastOp, scope: _Scope) -> None:
        x, src_t, dst_t = scope.ref(op.input), _fixed(op.input), _fixed(op.result)
        stats = self._stats_arg(op)
        if src_t is None:
            assert dst_t is not None
            expr = f"fx_from_float({x}, {dst_t.w}, {dst_t.f}, {_modes(dst_t)}{stats})"
        elif dst_t is None:
            expr = f"fx_to_float({x}, {src_t.f}, {_dtype_expr(op.result.type)})"
        else:
            expr = f"fx_cast({x}, {src_t.f}, {dst_t.w}, {dst_t.f}, {_modes(dst_t)}{stats})"
        self._assign(scope, op.result, expr)

    def _stats_arg(self, op: Operation) -> str:
        """With overflow counting on, the counter of this cast."""
        return f", stats=_stats[{self.stats[op]}]" if op in self.stats else ""

    def _print_fxp_pwl(self, op: fxp.PwlOp, scope: _Scope) -> None:
        fin, fout = _fixed(op.input), _fixed(op.result)
        fs, fc = _fixed(op.slopes), _fixed(op.intercepts)
        assert fin and fout and fs and fc
        lo = round(op.lo.value.data * 2**fin.f)
        args = (
            f"{scope.ref(op.input)}, {fin.f}, {lo}, {fin.f + op.step}, {scope.ref(op.slopes)}, {fs.f}, "
            f"{scope.ref(op.intercepts)}, {fc.f}, {fout.w}, {fout.f}, {_modes(fout)}{self._stats_arg(op)}"
        )
        self._assign(scope, op.result, f"fx_pwl({args})")

    def _print_fxp_lut(self, op: fxp.LutOp, scope: _Scope) -> None:
        fin, fout, ft = _fixed(op.input), _fixed(op.result), _fixed(op.table)
        assert fin and fout and ft
        lo = round(op.lo.value.data * 2**fin.f)
        lut = f"fx_lut({scope.ref(op.input)}, {lo}, {fin.f + op.step}, {scope.ref(op.table)})"
        self._assign(
            scope,
            op.result,
            f"fx_cast({lut}, {ft.f}, {fout.w}, {fout.f}, {_modes(fout)}{self._stats_arg(op)})",
        )

    def _print_func_return(self, op: func.ReturnOp, scope: _Scope) -> None:
        items = ", ".join(
            f"{n!r}: {scope.ref(v)}" for n, v in zip(self.output_names(), op.arguments)
        )
        scope.src.line(f"return {{{items}}}")

    def _binary(fn: str) -> Callable[[ModelPrinter, Operation, _Scope], None]:  # type: ignore[misc]
        def printer(self: ModelPrinter, op: Operation, scope: _Scope) -> None:
            a, b = op.operands
            out = _fixed(op.results[0])
            if out is not None and fn != "np.multiply":
                # exact sum: bring both to the result's binary point first
                args = [self._aligned(scope.ref(v), _fixed(v), out.f) for v in (a, b)]  # type: ignore[arg-type]
                self._assign(scope, op.results[0], f"{fn}({args[0]}, {args[1]})")
                return
            lhs, rhs = scope.ref(a), scope.ref(b)
            out = scope.buffers.get(op.results[0])
            if out is not None and _AUGMENTED.get(fn):  # in place: out op= other operand
                if out == rhs and fn in ("np.add", "np.multiply"):
                    lhs, rhs = rhs, lhs  # the same sum, the same product
                if out == lhs:
                    scope.src.line(f"{out} {_AUGMENTED[fn]} {rhs}")
                    return
            self._ufunc(scope, op.results[0], fn, [lhs, rhs])

        return printer

    @staticmethod
    def _aligned(x: str, t: FixedType, f: int) -> str:
        return x if t.f == f else f"fx_align({x}, {t.f}, {f})"

    _print_nn_add = _binary("np.add")
    _print_nn_sub = _binary("np.subtract")
    _print_nn_mul = _binary("np.multiply")
    _print_nn_div = _binary("np.divide")

    def _print_nn_act(self, op: nn.ActOp, scope: _Scope) -> None:
        alpha, beta = op.params()
        out = scope.buffers.get(op.result)
        if out is None:
            out = scope.names[op.result]
            scope.src.line(f"{out} = np.empty_like({scope.ref(op.input)})")
        dtype = _dtype_expr(op.result.type)
        statements = activation_statements(
            op.function,
            scope.ref(op.input),
            out,
            alpha,
            beta,
            (lambda v: scope.constant(v, dtype)) if scope.constants is not None else None,
        )
        for s in statements:  # in place: np.multiply(o, k, out=o) as o *= k
            m = re.fullmatch(
                rf"np\.(multiply|add)\({re.escape(out)}, (\w+), out={re.escape(out)}\)", s
            )
            if m:
                s = f"{out} {'*=' if m[1] == 'multiply' else '+='} {m[2]}"
            scope.src.line(s)

    def _print_nn_clip(self, op: nn.ClipOp, scope: _Scope) -> None:
        lo, hi = op.bounds()
        t = _fixed(op.input)
        if t is not None:  # the bounds, rounded to the input's format
            raw = [None if v is None else int(np.floor(v * 2.0**t.f + 0.5)) for v in (lo, hi)]
            self._assign(scope, op.result, f"np.clip({scope.ref(op.input)}, {raw[0]}, {raw[1]})")
            return
        dtype = _dtype_expr(op.result.type)
        args = [
            scope.ref(op.input),
            "None" if lo is None else scope.constant(lo, dtype),
            "None" if hi is None else scope.constant(hi, dtype),
        ]
        self._ufunc(scope, op.result, "np.clip", args)

    def _print_nn_softmax(self, op: nn.SoftmaxOp, scope: _Scope) -> None:
        x, axis = scope.ref(op.input), op.axis.value.data
        n = scope.names[op.result]
        scope.src.line(f"{n} = np.exp({x} - {x}.max(axis={axis}, keepdims=True))")
        scope.src.line(f"{n} /= {n}.sum(axis={axis}, keepdims=True)")

    def _print_nn_log_softmax(self, op: nn.LogSoftmaxOp, scope: _Scope) -> None:
        x, axis = scope.ref(op.input), op.axis.value.data
        n = scope.names[op.result]
        scope.src.line(f"{n} = {x} - {x}.max(axis={axis}, keepdims=True)")
        scope.src.line(f"{n} -= np.log(np.exp({n}).sum(axis={axis}, keepdims=True))")

    def _print_nn_cast(self, op: nn.CastOp, scope: _Scope) -> None:
        self._assign(
            scope, op.result, f"{scope.ref(op.input)}.astype({_dtype_expr(op.result.type)})"
        )

    def _print_nn_matmul(self, op: nn.MatMulOp, scope: _Scope) -> None:
        out = _fixed(op.result)
        if out is not None:
            self._assign(
                scope, op.result, f"fx_dot({scope.ref(op.lhs)}, {scope.ref(op.rhs)}, {out.w <= 53})"
            )
            return
        self._assign(scope, op.result, f"np.matmul({scope.ref(op.lhs)}, {scope.ref(op.rhs)})")

    def _print_nn_gemm(self, op: nn.GemmOp, scope: _Scope) -> None:
        a = scope.ref(op.a) + (".T" if op.trans_a.value.data else "")
        if isinstance(op.b.owner, arith.ConstantOp) and op.trans_b.value.data:
            b = scope.weight(self.weight(op.b, "T", lambda a: a.T))
        else:
            b = scope.ref(op.b) + (".T" if op.trans_b.value.data else "")
        expr = f"{a} @ {b}"
        alpha, beta = op.alpha.value.data, op.beta.value.data
        if alpha != 1.0:
            expr = f"{float_literal(alpha)} * ({expr})"
        if op.c is not None:
            c = scope.ref(op.c)
            expr += f" + {c}" if beta == 1.0 else f" + {float_literal(beta)} * {c}"
        self._assign(scope, op.result, expr)

    def _print_nn_transpose(self, op: nn.TransposeOp, scope: _Scope) -> None:
        perm = op.prop_values()["perm"]
        self._assign(scope, op.result, f"np.transpose({scope.ref(op.input)}, {perm!r})")

    def _print_nn_reshape(self, op: nn.ReshapeOp, scope: _Scope) -> None:
        x = scope.ref(op.input)
        spec = op.prop_values()["shape"]
        dims = [f"{x}.shape[{i}]" if d == 0 else str(d) for i, d in enumerate(spec)]
        self._assign(
            scope, op.result, f"{x}.reshape({', '.join(dims)}{',' if len(dims) == 1 else ''})"
        )

    def _print_nn_squeeze(self, op: nn.SqueezeOp, scope: _Scope) -> None:
        axes = op.prop_values()["axes"]
        self._assign(scope, op.result, f"np.squeeze({scope.ref(op.input)}, axis={tuple(axes)!r})")

    def _print_nn_unsqueeze(self, op: nn.UnsqueezeOp, scope: _Scope) -> None:
        axes = op.prop_values()["axes"]
        self._assign(scope, op.result, f"np.expand_dims({scope.ref(op.input)}, {tuple(axes)!r})")

    def _print_nn_concat(self, op: nn.ConcatOp, scope: _Scope) -> None:
        parts = ", ".join(scope.ref(v) for v in op.inputs)
        self._assign(scope, op.result, f"np.concatenate([{parts}], axis={op.axis.value.data})")

    def _print_nn_slice(self, op: nn.SliceOp, scope: _Scope) -> None:
        p = op.prop_values()
        rank = len(tensor_shape(op.input.type))
        idx = [":"] * rank
        for s, e, a, st in zip(p["starts"], p["ends"], p["axes"], p["steps"]):
            end = "" if e >= INT64_MAX or (st < 0 and e <= -INT64_MAX) else str(e)
            idx[a] = f"{s}:{end}" + (f":{st}" if st != 1 else "")
        self._assign(scope, op.result, f"{scope.ref(op.input)}[{', '.join(idx)}]")

    def _print_nn_gather(self, op: nn.GatherOp, scope: _Scope) -> None:
        idx = op.index_array()
        index = repr(int(idx)) if idx.ndim == 0 else f"np.array({idx.tolist()!r})"
        self._assign(
            scope, op.result, f"np.take({scope.ref(op.input)}, {index}, axis={op.axis.value.data})"
        )

    def _print_nn_split(self, op: nn.SplitOp, scope: _Scope) -> None:
        x = scope.ref(op.input)
        axis = self._axis(op, op.axis.value.data, op.input)
        lead = "..., " if axis < 0 else ":, " * axis
        if scope.fm:  # the features are the first axis
            lead = ""
        for r, o, s in zip(op.outputs, op.offsets(), op.split_sizes()):
            if r in scope.buffers:  # a view of the input buffer, made once
                continue
            self._assign(scope, r, f"{x}[{lead}{o}:{o + s}]")

    def _matvec(
        self, op: cell.MatVecOp | circ.MatVecOp, scope: _Scope, x_value: SSAValue, w_value: SSAValue
    ) -> None:
        if is_matvec_weight(w_value):
            wt = scope.weight(self.matvec_weight(op))
        else:
            wt = f"{scope.ref(w_value)}.T"
        x = scope.ref(x_value)
        out = _fixed(op.results[0])
        if out is not None:  # exact integer products and sums
            k, m = tensor_shape(x_value.type)[-1], tensor_shape(op.results[0].type)[-1]
            dot = f"fx_dot({x}.reshape(-1, {k}), {wt}, {out.w <= 53})"
            self._assign(scope, op.results[0], f"{dot}.reshape({x}.shape[:-1] + ({m},))")
            return
        if x_value in scope.sequence:
            k, m = tensor_shape(x_value.type)[-1], tensor_shape(op.results[0].type)[-1]
            self._assign(
                scope,
                op.results[0],
                f"({x}.reshape(-1, {k}) @ {wt}).reshape({x}.shape[:-1] + ({m},))",
            )
            return
        if scope.fm:  # [M, N] = W [M, K] @ x [K, N]
            if is_matvec_weight(w_value):
                rows = _rows_layout(op)
                w = scope.weight(self.matvec_weight(op, rows)) + ("" if rows else ".T")
            else:
                w = scope.ref(w_value)
            self._ufunc(scope, op.results[0], "np.matmul", [w, x])
            return
        self._ufunc(scope, op.results[0], "np.matmul", [x, wt])

    def _print_cell_matvec(self, op: cell.MatVecOp, scope: _Scope) -> None:
        self._matvec(op, scope, op.x, op.w)

    def _print_circ_matvec(self, op: circ.MatVecOp, scope: _Scope) -> None:
        """The circulant form, computed as its definition: the dense matrix the
        generators stand for (expanded once, when the weights are written)."""
        self._matvec(op, scope, op.x, op.gen)

    def _print_circ_rfft(self, op: circ.RfftOp, scope: _Scope) -> None:
        k, b = tensor_shape(op.input.type)[-1], op.block.value.data
        q = -(-k // b)
        x, r = scope.ref(op.input), op.result
        out = _fixed(r)
        if out is not None:  # the butterflies, bit for bit: [2, F, M, Q]
            assert op.twiddle_frac is not None
            frac = op.twiddle_frac.value.data
            twr, twi = (scope.weight(t) for t in self.twiddle_tables(b, frac))
            call = (
                f"fx_rfft(_pad({x}, {q * b}), {b}, {twr}, {twi}, {frac}, {out.round_mode == 'rnd'})"
            )
            self._assign(scope, r, f"{call}.transpose(0, 3, 1, 2)")
            return
        dft = scope.weight(
            self.table(f"dft{b}", lambda: real_dft(b).astype(dtype_of(op.input.type.element_type)))
        )  # type: ignore[attr-defined]
        if r in scope.buffers:
            name = scope.buffers[r]
            if k % b:
                scope.src.line(f"{name}_p[:, :{k}] = {x}")
                x = f"{name}_p"
            scope.src.line(f"np.matmul({x}.reshape(N, {q}, {b}), {dft}, out={name}_r)")
            return
        complex_t = _complex_expr(op.input.type)
        self._assign(
            scope,
            r,
            f"(_pad({x}, {q * b}).reshape(-1, {q}, {b}) @ {dft}).view({complex_t}).transpose(2, 0, 1)",
        )

    def _print_circ_mac(self, op: circ.MacOp, scope: _Scope) -> None:
        wf = scope.weight(self.spectra_weight(op))
        out = _fixed(op.result)
        if out is not None:  # (a + ib)(c + id), exact, over [2, F, M, Q] x [2, F, Q, P]
            x, e = scope.ref(op.rhs), out.w <= 53
            re = f"fx_dot({x}[0], {wf}[0], {e}) - fx_dot({x}[1], {wf}[1], {e})"
            im = f"fx_dot({x}[0], {wf}[1], {e}) + fx_dot({x}[1], {wf}[0], {e})"
            self._assign(scope, op.result, f"np.stack([{re}, {im}])")
            return
        self._ufunc(scope, op.result, "np.matmul", [scope.ref(op.rhs), wf])

    def _print_circ_irfft(self, op: circ.IrfftOp, scope: _Scope) -> None:
        s = tensor_shape(op.input.type)
        p, b, rows = s[-3], op.block.value.data, op.rows
        gates, per = len(op.gates), s[-3] // len(op.gates)
        acc, r = scope.ref(op.input), op.result
        keep = None
        if rows != p * b:  # the real rows of each gate
            spans = ", ".join(f"{g * per * b}:{g * per * b + rows // gates}" for g in range(gates))
            keep = f"np.r_[{spans}]"
        lead = "T, -1" if op.input in scope.sequence else "-1"
        out = _fixed(r)
        if out is not None:  # b x the inverse transform; dividing by b moves the point
            assert op.twiddle_frac is not None
            frac = op.twiddle_frac.value.data
            twr, twi = (scope.weight(t) for t in self.twiddle_tables(b, frac))
            rnd = out.round_mode == "rnd"
            call = f"fx_irfft({acc}.transpose(0, 2, 3, 1), {b}, {twr}, {twi}, {frac}, {rnd})"
            expr = f"{call}.reshape(-1, {p * b})" + (f"[:, {keep}]" if keep else "")
            self._assign(scope, r, f"{expr}.reshape({lead}, {rows})")
            return
        dtype = dtype_of(op.result.type.element_type)  # type: ignore[attr-defined]
        idft = scope.weight(self.table(f"idft{b}", lambda: real_idft(b).astype(dtype)))
        real_t = _dtype_expr(op.result.type)
        if r in scope.buffers:
            name = scope.buffers[r]
            if acc != f"{name}_f":
                scope.src.line(f"np.copyto({name}_c, {acc}.transpose(1, 2, 0))")
            scope.src.line(f"np.matmul({name}_c.view({real_t}), {idft}, out={name}_y)")
            if keep is not None:
                scope.src.line(f"np.take({name}_y.reshape(N, {p * b}), {keep}, axis=1, out={name})")
            return
        expr = f"(np.ascontiguousarray({acc}.transpose(1, 2, 0)).view({real_t}) @ {idft})"
        if keep is not None:
            expr += f".reshape(-1, {p * b})[:, {keep}]"
        self._assign(scope, r, f"{expr}.reshape({lead}, {rows})")

    def _print_cell_scan(self, op: cell.ScanOp, scope: _Scope) -> None:
        ScanPrinter(self, op).print(scope)


_MATVECS = (cell.MatVecOp, circ.MatVecOp)
_ELEMENTWISE = (nn.AddOp, nn.SubOp, nn.MulOp, nn.DivOp, nn.ActOp, nn.ClipOp)
_HOISTABLE = (
    *_MATVECS,
    circ.RfftOp,
    circ.MacOp,
    circ.IrfftOp,
    *_ELEMENTWISE,
    nn.SplitOp,
    fxp.CastOp,
    fxp.PwlOp,
    fxp.LutOp,
)
_BUFFERED = (*_MATVECS, circ.MacOp, *_ELEMENTWISE)
_STEP_BUFFERED = (*_BUFFERED, circ.RfftOp, circ.IrfftOp)
# step ops that a feature-major step ([F, N] arrays) prints
_FEATURE_MAJOR = (*_MATVECS, *_ELEMENTWISE, nn.SplitOp)
# A feature-major step reads a constant W [M, K] as stored (rows: OpenBLAS's
# dot-product kernels) from K = 256 on, below that as the F-ordered view W.T.T
# (its axpy kernels), which measured faster at K = 128 for N = 1 and 32.
_ROWS_FROM_K = 256


def _rows_layout(op: cell.MatVecOp | circ.MatVecOp) -> bool:
    return tensor_shape(op.x.type)[-1] >= _ROWS_FROM_K


# in-place forms of the binary ufuncs
_AUGMENTED = {"np.add": "+=", "np.subtract": "-=", "np.multiply": "*=", "np.divide": "/="}
# hoisted ops whose result is a new array
_FRESH = (cell.MatVecOp, circ.MatVecOp, circ.IrfftOp, nn.AddOp, nn.SubOp, nn.MulOp, nn.DivOp)
# element-wise ops that may write their result over an operand
_IN_PLACE = (nn.AddOp, nn.SubOp, nn.MulOp, nn.DivOp, nn.ActOp, nn.ClipOp)


class ScanPrinter:
    """Prints one ``cell.scan`` as a function and calls it."""

    def __init__(self, model: ModelPrinter, scan: cell.ScanOp):
        self.model = model
        self.scan = scan
        self.block: Block = scan.block
        self.names = Names()
        model._scans += 1
        self.fn = f"_scan{model._scans - 1}_{scan.layer.data}_{'bwd' if scan.is_reverse else 'fwd'}"

    def free_values(self) -> list[SSAValue]:
        """Values from outside the body that the body uses, in first-use order."""
        inside: set[Operation] = set(self.block.walk())
        seen: list[SSAValue] = []
        for op in self.block.walk():
            for v in op.operands:
                owner = v.owner
                defined_inside = (
                    owner in inside if isinstance(owner, Operation) else owner is self.block
                )
                if not defined_inside and v not in seen:
                    seen.append(v)
        return seen

    def print(self, outer: _Scope) -> None:
        scan, block = self.scan, self.block
        free = [v for v in self.free_values() if not is_matvec_weight(v)]
        x_t, states = block.args[0], list(block.args[1:])
        ops = [op for op in block.ops if not isinstance(op, cell.YieldOp)]
        term = block.last_op
        assert isinstance(term, cell.YieldOp)

        # Which ops run once over the whole sequence.
        hoisted: list[Operation] = []
        seq_values: set[SSAValue] = {x_t}
        outside = set(self.free_values())
        for op in ops:
            if isinstance(op, _HOISTABLE) and all(
                v in seq_values or v in outside for v in op.operands
            ):
                hoisted.append(op)
                seq_values.update(op.results)
        steps = [op for op in ops if op not in hoisted]
        fm = self._feature_major(steps, outside)

        src = Source()
        n = self.names
        state_names = [f"s{k}" for k in range(len(states))]
        params = (
            ["x", "lens"] + [f"init{k}" for k in range(len(states))] + ["w"] + [n[v] for v in free]
        )
        src.line(f"def {self.fn}({', '.join(params)}):")
        with src.indent():
            src.line(
                f'"""{scan.kind.data.upper()} {scan.layer.data}, '
                f'{"reverse" if scan.is_reverse else "forward"}: outputs of all steps, final states."""'
            )
            src.line("T, N = x.shape[0], x.shape[1]")
            dtype = _dtype_expr(scan.finals[0].type)
            weights = self._bind_weights(src, steps if fm else [])
            # The hoisted part, on sequences with a leading time axis.
            n.set(x_t, "x")
            seq_scope = _Scope(n, src, sequence=seq_values, weight_locals=weights)
            for op in hoisted:
                self.model.print_op(op, seq_scope)
            # Step buffers, allocated once.
            step = _Scope(
                n,
                src,
                weight_locals=weights,
                batch="N",
                constants={},
                yielded=set(term.values),
                fm=fm,
            )
            if fm:
                src.line("# The step holds its values transposed, features x batch.")
            for v in seq_values:
                if is_spectral(v):
                    lead = ":, :, " if _fixed(v) is not None else ":, "
                    step.refs[v] = f"{n[v]}[{lead}t * N : t * N + N]"
                else:
                    step.refs[v] = f"{n[v]}[t]" + (".T" if fm else "")
            if fm:  # the step's own views of values from outside: column vectors, transposes
                read = {
                    v
                    for op in steps
                    for k, v in enumerate(op.operands)
                    if v in outside and not (isinstance(op, _MATVECS) and k == 0)
                }
                for v in free:
                    rank = len(tensor_shape(v.type))
                    if v in read and rank:
                        view = "[:, None]" if rank == 1 else ".T"
                        src.line(f"{n[v]} = {n[v]}{view}")
            for s, name in zip(states, state_names):
                step.refs[s] = name
            for op in steps:
                if isinstance(op, _STEP_BUFFERED):
                    self.model.declare_buffers(op, step)
                elif isinstance(op, nn.SplitOp) and op.input in step.buffers:
                    if op.input in step.yielded:
                        continue  # its buffer swaps with a state: views made in the step
                    # views of a buffer that never swaps, made once
                    base = step.buffers[op.input]
                    lead = "" if fm else "..., "
                    for r, o, size in zip(op.outputs, op.offsets(), op.split_sizes()):
                        src.line(f"{n[r]} = {base}[{lead}{o}:{o + size}]")
                        step.buffers[r] = n[r]
            # Each yielded value gets a buffer of its own to swap with its state.
            yield_bufs: list[str] = []
            for k, v in enumerate(term.values):
                buf = step.buffers.get(v)
                if buf is None or buf in yield_bufs or not isinstance(v.owner, _BUFFERED):
                    buf = f"next{k}"
                    src.line(f"{buf} = np.empty({step.step_shape(v)}, {dtype})")
                yield_bufs.append(buf)
            inits = scan.initial_values()
            for k, (s, name) in enumerate(zip(states, state_names)):
                if inits[k] is None:
                    src.line(f"{name} = np.zeros({step.step_shape(s)}, {dtype})")
                else:
                    src.line(f"{name} = np.array(init{k}{'.T' if fm else ''}, {dtype})")
            y_used = bool(scan.y.uses)
            if y_used:  # every step writes its y[t]
                src.line(
                    f"y = np.empty({_shape_expr(tensor_shape(scan.y.type), ['T', 'N'])}, {dtype})"
                )
            # Unmasked, the first yielded value (the output) is computed in y[t].
            in_y = y_used and step.buffers.get(term.values[0]) == yield_bufs[0]
            y_t = "y[t].T" if fm else "y[t]"
            order = "range(T - 1, -1, -1)" if scan.is_reverse else "range(T)"
            # The loops go to a source of their own: the step's constants,
            # found while printing it, are bound before them.
            prologue, src = src, src.nested()
            step.src = src

            def loop(masked: bool) -> None:
                src.line(f"for t in {order}:")
                with src.indent():
                    if in_y and not masked:
                        src.line(f"{yield_bufs[0]} = {y_t}")
                    for op in steps:
                        self.model.print_op(op, step)
                    for k, v in enumerate(term.values):
                        if step.buffers.get(v) != yield_bufs[k]:
                            src.line(f"np.copyto({yield_bufs[k]}, {step.ref(v)})")
                    if masked:
                        for k, name in enumerate(state_names):
                            src.line(f"np.copyto({yield_bufs[k]}, {name}, where=hold[t])")
                    if y_used:
                        if masked:
                            src.line(f"np.multiply({yield_bufs[0]}, live[t], out={y_t})")
                        elif not in_y:
                            src.line(f"y[t] = {yield_bufs[0]}{'.T' if fm else ''}")
                    swaps, bufs = ", ".join(state_names), ", ".join(yield_bufs)
                    src.line(f"{swaps}, {bufs} = {bufs}, {swaps}")
                if in_y and not masked and not fm:  # (feature-major states are copied at the end)
                    src.line(f"{state_names[0]} = {state_names[0]}.copy()  # not a view of y")

            if scan.lens is not None:
                src.line("lens = np.asarray(lens)")
                src.line("if lens.size and (lens.min() < 0 or lens.max() > T):")
                src.line(
                    '    raise ValueError(f"sequence lengths must lie in [0, {T}], got {lens.tolist()}")'
                )
                src.line("if (lens >= T).all():")
                with src.indent():
                    loop(masked=False)
                src.line("else:")
                with src.indent():
                    batch_axis = "None, :" if fm else ":, None"
                    src.line(f"live = (np.arange(T)[:, None] < lens[None, :])[:, {batch_axis}]")
                    src.line("hold = ~live")
                    src.line(f"live = live.astype({dtype})")
                    loop(masked=True)
                    src.line("empty = lens == 0  # no step ran: the final states are zero")
                    for name in state_names:
                        src.line(f"{name}[{':, ' if fm else ''}empty] = 0")
            else:
                loop(masked=False)
            finals = [f"{name}.T.copy()" if fm else name for name in state_names]
            src.line(f"return {'y' if y_used else 'None'}, {', '.join(finals)}")
            prologue.lines_(step.constant_lines())
            prologue.extend(src)
        self.model.helpers.append(prologue)

        args = [outer.ref(scan.x), outer.ref(scan.lens) if scan.lens is not None else "None"]
        args += [outer.ref(v) if v is not None else "None" for v in scan.initial_values()]
        args += ["w"] + [outer.ref(v) for v in free]
        results = [outer.names[scan.y]] + [outer.names[r] for r in scan.finals]
        outer.src.line(f"{', '.join(results)} = {self.fn}({', '.join(args)})")
        for r in scan.results:
            if r in self.model.observe and (r is not scan.y or scan.y.uses):
                outer.src.line(f"_observe({self.model.observe[r]}, {outer.names[r]})")

    def _feature_major(self, steps: list[Operation], outside: set[SSAValue]) -> bool:
        """Whether the step can hold its values transposed, [F, N]: a float step
        of matvecs, element-wise ops and splits of the features, on [N, F]
        values. Then the gates are contiguous rows whatever the batch, and a
        matvec is W @ x, which OpenBLAS runs faster than x @ W.T for a batch
        (1.4x at H = 1024, N = 32)."""
        if not steps or not self.model.feature_major:
            return False
        for s in self.block.args[1:]:
            if len(tensor_shape(s.type)) != 2:
                return False
        for op in steps:
            if not isinstance(op, _FEATURE_MAJOR) or any(
                not _is_float_tensor(r) for r in op.results
            ):
                return False
            if isinstance(op, nn.SplitOp) and op.axis.value.data != 1:
                return False
            if any(len(tensor_shape(r.type)) != 2 for r in op.results):
                return False
            for k, v in enumerate(op.operands):
                if isinstance(op, _MATVECS) and k == 0:
                    if v not in outside or any(
                        not isinstance(u.operation, _MATVECS) or u.index != 0 for u in v.uses
                    ):
                        return False  # a matrix that the step also reads as data
                    continue
                rank = len(tensor_shape(v.type))
                if rank > 2 or (rank != 2 and v not in outside):
                    return False
        return True

    def _bind_weights(self, src: Source, feature_major: list[Operation]) -> dict[str, str]:
        """Bind the weights the body reads to locals at the top of the function
        (``feature_major``: the step ops of a feature-major step)."""
        keys: list[str] = []
        for op in self.block.walk():
            if isinstance(op, cell.MatVecOp | circ.MatVecOp) and is_matvec_weight(op.operands[0]):
                rows = op in feature_major and _rows_layout(op)
                keys.append(self.model.matvec_weight(op, rows))
            elif isinstance(op, circ.MacOp) and is_matvec_weight(op.lhs):
                keys.append(self.model.spectra_weight(op))
            elif isinstance(op, circ.RfftOp | circ.IrfftOp) and op.twiddle_frac is not None:
                keys.extend(
                    self.model.twiddle_tables(op.block.value.data, op.twiddle_frac.value.data)
                )
            elif isinstance(op, circ.RfftOp):
                b = op.block.value.data
                keys.append(
                    self.model.table(
                        f"dft{b}",
                        lambda b=b, op=op: real_dft(b).astype(dtype_of(op.input.type.element_type)),
                    )
                )  # type: ignore[attr-defined]
            elif isinstance(op, circ.IrfftOp):
                b = op.block.value.data
                keys.append(
                    self.model.table(
                        f"idft{b}",
                        lambda b=b, op=op: real_idft(b).astype(
                            dtype_of(op.result.type.element_type)
                        ),
                    )
                )  # type: ignore[attr-defined]
        weights: dict[str, str] = {}
        for key in keys:
            if key not in weights:
                weights[key] = f"w_{key}"
                src.line(f"w_{key} = w[{key!r}]")
        return weights


def emit_numpy(
    module: ModuleOp,
    observe: bool = False,
    *,
    weights_file: str = "weights.npz",
    float_companion: str | None = None,
    count_overflows: bool = False,
    optimize: bool = True,
) -> Emitted:
    """The module as a NumPy model. ``optimize``: print a float module's scans
    from a copy rewritten for fewer NumPy calls per step (``gates``), with
    the same results bit for bit (never when observing ranges), and let float
    steps hold their values transposed (matvecs as W @ x: the same values up
    to the summation order of BLAS)."""
    if optimize and not observe and is_float_module(module):
        module = prepare_float(module)
    printer = ModelPrinter(
        module,
        observe,
        weights_file=weights_file,
        float_companion=float_companion,
        feature_major=optimize,
    )
    if count_overflows:
        printer.count_overflows()
    return printer.print()


__all__ = ["Emitted", "UnsupportedOpError", "emit_numpy", "spectra"]
