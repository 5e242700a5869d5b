"""The ``cell`` dialect: the recurrence made explicit (cell level).

``cell.scan`` runs its body once per time step of a sequence. The body's
block arguments are the input at step t followed by the recurrent states; it
yields the new states. The first state is the output of the step:

    %y, %h_T, %c_T = cell.scan %x init(%h0, %c0) lens(%lens) {reverse} ... {
    ^bb0(%x_t: tensor<?x5xf32>, %h: tensor<?x8xf32>, %c: tensor<?x8xf32>):
      ...
      cell.yield %h_next, %c_next : ...
    }

Semantics, for x of shape [T, N, I] and states of shape [N, H]:
- steps run t = 0..T-1, or T-1..0 with ``reverse``;
- states without an initial value start at zero (``init_states`` lists the
  states that ``init`` gives, when it is not all of them in order);
- with ``lens`` ([N], integer), batch entry n only advances at steps
  t < lens[n]: elsewhere its state is held and its output row is zero. For a
  reverse scan this starts each sequence at its own last element. An entry
  of length 0 runs no step and ends with zero states (as onnxruntime does);
- results: the outputs of all steps, shape [T, N, H], then the final states.

``cell.matvec`` is a dense weight-matrix product y[n] = W x[n], the op that
the compression passes replace. ``name`` identifies the matrix
(``layer0.fwd.W``) and ``gates`` lists the gates whose rows it holds, in
order, each ``rows / len(gates)`` rows tall.
"""

from __future__ import annotations

from collections.abc import Sequence

from xdsl.dialects.builtin import ArrayAttr, DenseArrayBase, StringAttr, TensorType, UnitAttr, i64
from xdsl.ir import Attribute, Block, Dialect, Region, SSAValue
from xdsl.irdl import (
    AttrSizedOperandSegments,
    IRDLOperation,
    ParsePropInAttrDict,
    irdl_op_definition,
    operand_def,
    opt_operand_def,
    opt_prop_def,
    prop_def,
    region_def,
    result_def,
    traits_def,
    var_operand_def,
    var_result_def,
)
from xdsl.traits import (
    HasParent,
    IsTerminator,
    Pure,
    RecursivelySpeculatable,
    RecursiveMemoryEffect,
)
from xdsl.utils.exceptions import VerifyException

from .fxp import check_exact, exact_dot, fixed_of
from .shapes import check_shape, tensor_shape


@irdl_op_definition
class ScanOp(IRDLOperation):
    """Run the body over the time axis of ``x`` (see the module docstring)."""

    name = "cell.scan"
    x = operand_def(TensorType)
    inits = var_operand_def(TensorType)
    lens = opt_operand_def(TensorType)
    y = result_def(TensorType)
    finals = var_result_def(TensorType)
    body = region_def("single_block")
    reverse = opt_prop_def(UnitAttr)
    init_states = opt_prop_def(DenseArrayBase.constr(i64))
    kind = prop_def(StringAttr)
    layer = prop_def(StringAttr)

    traits = traits_def(RecursiveMemoryEffect(), RecursivelySpeculatable())
    irdl_options = (AttrSizedOperandSegments(as_property=True), ParsePropInAttrDict())
    assembly_format = (
        "$x (`init` `(` $inits^ `:` type($inits) `)`)?"
        " (`lens` `(` $lens^ `:` type($lens) `)`)?"
        " attr-dict `:` type($x) `->` type(results) $body"
    )

    def __init__(
        self,
        x: SSAValue,
        inits: Sequence[SSAValue],
        lens: SSAValue | None,
        state_types: Sequence[Attribute],
        body: Region,
        *,
        reverse: bool,
        kind: str,
        layer: str,
        init_states: Sequence[int] | None = None,
    ):
        xs = tensor_shape(x.type)
        s0 = state_types[0]
        assert isinstance(s0, TensorType)
        y_type = TensorType(s0.element_type, [xs[0], *s0.get_shape()])
        props: dict[str, Attribute] = {"kind": StringAttr(kind), "layer": StringAttr(layer)}
        if reverse:
            props["reverse"] = UnitAttr()
        if init_states is not None and list(init_states) not in ([], list(range(len(state_types)))):
            props["init_states"] = DenseArrayBase.from_list(i64, list(init_states))
        super().__init__(
            operands=[x, list(inits), [] if lens is None else [lens]],
            result_types=[y_type, list(state_types)],
            regions=[body],
            properties=props,
        )

    @property
    def is_reverse(self) -> bool:
        return self.reverse is not None

    @property
    def block(self) -> Block:
        return self.body.block

    @property
    def num_states(self) -> int:
        return len(self.finals)

    def initial_values(self) -> list[SSAValue | None]:
        """The initial value of each state, None for zero."""
        if self.init_states is None:
            return list(self.inits) if self.inits else [None] * self.num_states
        out: list[SSAValue | None] = [None] * self.num_states
        for k, v in zip(self.init_states.get_values(), self.inits):
            out[int(k)] = v
        return out

    def verify_(self) -> None:
        xs = tensor_shape(self.x.type)
        if len(xs) != 3:
            raise VerifyException("cell.scan: x must be [T, N, I]")
        args = self.block.args
        if len(args) != 1 + self.num_states:
            raise VerifyException(
                f"cell.scan: body takes {len(args)} arguments, expected 1 + {self.num_states} states"
            )
        check_shape("cell.scan x_t", tensor_shape(args[0].type), xs[1:])
        if self.init_states is not None:
            idx = [int(k) for k in self.init_states.get_values()]
            if (
                len(idx) != len(self.inits)
                or sorted(set(idx)) != idx
                or (idx and not 0 <= idx[0] <= idx[-1] < self.num_states)
            ):
                raise VerifyException(
                    "cell.scan: init_states must list one state index per init, ascending"
                )
        elif self.inits and len(self.inits) != self.num_states:
            raise VerifyException(
                "cell.scan: give an initial value for every state, or list them in init_states"
            )
        for i, (arg, fin) in enumerate(zip(args[1:], self.finals)):
            if arg.type != fin.type:
                raise VerifyException(f"cell.scan: state {i} type differs from its result")
            init = self.initial_values()[i]
            if init is not None:
                check_shape(f"cell.scan init {i}", tensor_shape(init.type), tensor_shape(fin.type))
        s0 = tensor_shape(self.finals[0].type)
        check_shape("cell.scan y", tensor_shape(self.y.type), [xs[0], *s0])
        if self.lens is not None:
            check_shape("cell.scan lens", tensor_shape(self.lens.type), [xs[1]])
        term = self.block.last_op
        if not isinstance(term, YieldOp):
            raise VerifyException("cell.scan: body must end with cell.yield")
        if [v.type for v in term.values] != [r.type for r in self.finals]:
            raise VerifyException("cell.scan: yielded types differ from the state types")


@irdl_op_definition
class YieldOp(IRDLOperation):
    """Terminate a scan body with the next states."""

    name = "cell.yield"
    values = var_operand_def(TensorType)
    traits = traits_def(IsTerminator(), HasParent(ScanOp), Pure())
    assembly_format = "$values attr-dict `:` type($values)"

    def __init__(self, *values: SSAValue):
        super().__init__(operands=[list(values)])


@irdl_op_definition
class MatVecOp(IRDLOperation):
    """Dense y[n, :] = W @ x[n, :] for W of shape [M, K] and x of shape [N, K]."""

    name = "cell.matvec"
    w = operand_def(TensorType)
    x = operand_def(TensorType)
    result = result_def(TensorType)
    matrix = prop_def(StringAttr)
    gates = prop_def(ArrayAttr[StringAttr])
    traits = traits_def(Pure())
    irdl_options = (ParsePropInAttrDict(),)
    assembly_format = "$w `,` $x attr-dict `:` functional-type(operands, results)"

    def __init__(self, w: SSAValue, x: SSAValue, matrix: str, gates: Sequence[str]):
        ws, xs = tensor_shape(w.type), tensor_shape(x.type)
        assert isinstance(x.type, TensorType)
        fw, fx = fixed_of(w.type), fixed_of(x.type)
        element = (
            exact_dot(fw, fx, ws[1]) if fw is not None and fx is not None else x.type.element_type
        )
        super().__init__(
            operands=[w, x],
            result_types=[TensorType(element, [*xs[:-1], ws[0]])],
            properties={
                "matrix": StringAttr(matrix),
                "gates": ArrayAttr([StringAttr(g) for g in gates]),
            },
        )

    @property
    def gate_names(self) -> tuple[str, ...]:
        return tuple(g.data for g in self.gates)

    def verify_(self) -> None:
        ws, xs = tensor_shape(self.w.type), tensor_shape(self.x.type)
        if len(ws) != 2 or len(xs) != 2:
            raise VerifyException("cell.matvec: W must be [M, K] and x [N, K]")
        check_shape("cell.matvec x", [xs[1]], [ws[1]])
        check_shape("cell.matvec result", tensor_shape(self.result.type), [xs[0], ws[0]])
        if not self.gates or ws[0] % len(self.gates):
            raise VerifyException("cell.matvec: rows must split evenly into the listed gates")
        fw, fx = fixed_of(self.w.type), fixed_of(self.x.type)
        if fw is not None and fx is not None:
            check_exact("cell.matvec", self.result.type, exact_dot(fw, fx, ws[1]))


CELL = Dialect("cell", [ScanOp, YieldOp, MatVecOp])

__all__ = ["CELL", "MatVecOp", "ParsePropInAttrDict", "ScanOp", "YieldOp", "prop_def"]
