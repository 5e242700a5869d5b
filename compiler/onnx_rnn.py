"""Frontend handlers for ONNX LSTM, GRU and RNN (opset 7 and newer).

Where the ONNX standard is explicit, ernnc follows it; where it is silent or
ambiguous, ernnc follows onnxruntime (see docs/onnx-semantics.md):

- ``activation_alpha``/``activation_beta`` are consumed in order by the
  functions that take a parameter (onnxruntime's reading); an omitted value
  takes the default of the ONNX operator of that name (the standard's
  reading; onnxruntime uses 0 for ThresholdedRelu, Affine and ScaledTanh).
- ``clip`` bounds the gate pre-activations, not the cell state.
- ``input_forget`` sets f = 1 - i after the activation.
"""

from __future__ import annotations

import numpy as np

from ..dialects import ernn
from ..dialects.nn import ACTIVATIONS
from .onnx_import import Importer, Node, handler
from .onnx_values import Dim, Fill, Permuted, Tensor, Value, format_dims, value_kind

GATES = {"LSTM": 4, "GRU": 3, "RNN": 1}
DEFAULT_ACTIVATIONS = {
    "LSTM": ["Sigmoid", "Tanh", "Tanh"],
    "GRU": ["Sigmoid", "Tanh"],
    "RNN": ["Tanh"],
}
OPS: dict[str, type[ernn.RecurrentOp]] = {
    "LSTM": ernn.LSTMOp,
    "GRU": ernn.GRUOp,
    "RNN": ernn.RNNOp,
}
# Defaults of the ONNX operators of the same name (Affine and ScaledTanh from
# the deprecated operators; ScaledTanh had none, 1.0 makes it plain tanh).
PARAM_DEFAULTS: dict[str, tuple[float, float]] = {
    "Affine": (1.0, 0.0),
    "LeakyRelu": (0.01, 0.0),
    "ThresholdedRelu": (1.0, 0.0),
    "ScaledTanh": (1.0, 1.0),
    "HardSigmoid": (0.2, 0.5),
    "Elu": (1.0, 0.0),
}
_CANONICAL = {name.lower(): name for name in ACTIVATIONS}


def resolve_activations(node: Node, op: str, directions: int) -> list[tuple[str, float, float]]:
    names = node.attr("activations", None)
    alphas = [float(a) for a in node.attr("activation_alpha", [])]
    betas = [float(b) for b in node.attr("activation_beta", [])]
    per_dir = len(DEFAULT_ACTIVATIONS[op])
    if names is None:
        names = DEFAULT_ACTIVATIONS[op] * directions
    if len(names) != per_dir * directions:
        raise node.error(
            f"attribute 'activations' = {names}: {op} with {directions} direction(s) "
            f"takes {per_dir * directions} functions"
        )
    out: list[tuple[str, float, float]] = []
    ai = bi = 0
    for raw in names:
        fn = _CANONICAL.get(str(raw).lower())
        if fn is None:
            raise node.error(f"attribute 'activations': unknown function {raw!r}")
        da, db = PARAM_DEFAULTS.get(fn, (0.0, 0.0))
        alpha, beta = 0.0, 0.0
        if ACTIVATIONS[fn] >= 1:
            alpha = alphas[ai] if ai < len(alphas) else da
            ai += 1
        if ACTIVATIONS[fn] >= 2:
            beta = betas[bi] if bi < len(betas) else db
            bi += 1
        out.append((fn, alpha, beta))
    if len(alphas) > ai:
        raise node.error(
            f"attribute 'activation_alpha' = {alphas}: the activations {names} take {ai} value(s)"
        )
    if len(betas) > bi:
        raise node.error(
            f"attribute 'activation_beta' = {betas}: the activations {names} take {bi} value(s)"
        )
    return out


def _static_dims(node: Node, v: Value, what: str, rank: int) -> tuple[int, ...]:
    shape = tuple(v.shape)  # type: ignore[union-attr]
    if len(shape) != rank:
        raise node.error(f"input '{what}' must have rank {rank}, got shape {format_dims(shape)}")
    if not all(isinstance(d, int) for d in shape):
        raise node.error(
            f"input '{what}' has symbolic shape {format_dims(shape)}; ernnc needs it static"
        )
    return shape  # type: ignore[return-value]


def _check_shape(node: Node, v: Value, what: str, want: tuple[Dim, ...]) -> None:
    got = tuple(v.shape)  # type: ignore[union-attr]
    ok = len(got) == len(want) and all(
        g == w or isinstance(g, str) or isinstance(w, str) for g, w in zip(got, want)
    )
    if not ok:
        raise node.error(
            f"input '{what}' has shape {format_dims(got)}, expected {format_dims(want)}"
        )


@handler("LSTM", "GRU", "RNN")
def recurrent(imp: Importer, node: Node) -> list[Value]:
    op = node.op_type
    gates = GATES[op]
    direction = node.attr("direction", "forward")
    if direction not in ernn.DIRECTIONS:
        raise node.error(
            f"attribute 'direction' = {direction!r} is not one of {list(ernn.DIRECTIONS)}"
        )
    d = 2 if direction == "bidirectional" else 1
    layout = node.attr("layout", 0) if imp.opset >= 14 else 0
    if layout not in (0, 1):
        raise node.error(f"attribute 'layout' = {layout} must be 0 or 1")
    clip = node.attr("clip", None)
    if clip is not None and not clip > 0:
        raise node.error(f"attribute 'clip' = {clip} must be positive")
    extra: dict[str, int] = {}
    if op == "LSTM":
        extra["input_forget"] = int(node.attr("input_forget", 0))
        if extra["input_forget"] not in (0, 1):
            raise node.error(f"attribute 'input_forget' = {extra['input_forget']} must be 0 or 1")
    if op == "GRU":
        extra["linear_before_reset"] = int(node.attr("linear_before_reset", 0))
        if extra["linear_before_reset"] not in (0, 1):
            raise node.error(
                f"attribute 'linear_before_reset' = {extra['linear_before_reset']} must be 0 or 1"
            )
    activations = resolve_activations(node, op, d)

    x = node.input(0, "X")
    w, r = node.input(1, "W"), node.input(2, "R")
    ws = _static_dims(node, w, "W", 3)
    rs = _static_dims(node, r, "R", 3)
    hidden = rs[2]
    h_attr = node.attr("hidden_size", None)
    if h_attr is not None and h_attr != hidden:
        raise node.error(f"attribute 'hidden_size' = {h_attr} but R has shape {format_dims(rs)}")
    if ws[0] != d or ws[1] != gates * hidden:
        raise node.error(
            f"input 'W' has shape {format_dims(ws)}, expected [{d}, {gates * hidden}, input_size] "
            f"for {direction} {op} with hidden_size {hidden}"
        )
    if rs != (d, gates * hidden, hidden):
        raise node.error(
            f"input 'R' has shape {format_dims(rs)}, expected [{d}, {gates * hidden}, {hidden}]"
        )
    xs = tuple(x.shape)  # type: ignore[union-attr]
    if len(xs) != 3:
        raise node.error(f"input 'X' must have rank 3, got shape {format_dims(xs)}")
    t_dim, n_dim = (xs[1], xs[0]) if layout else (xs[0], xs[1])
    if isinstance(xs[2], int) and xs[2] != ws[2]:
        raise node.error(f"input 'X' has shape {format_dims(xs)} but W expects input size {ws[2]}")
    for v, what in ((x, "X"), (w, "W"), (r, "R")):
        if np.dtype(v.dtype) != np.float32:  # type: ignore[union-attr]
            raise node.error(
                f"input '{what}' has element type {v.dtype}; ernnc compiles float32 RNNs"
            )  # type: ignore[union-attr]

    names = ["X", "W", "R", "B", "sequence_lens", "initial_h", "initial_c", "P"]
    n_inputs = 8 if op == "LSTM" else 6
    if node.num_inputs > n_inputs:
        raise node.error(f"has {node.num_inputs} inputs; {op} takes at most {n_inputs}")
    optional: dict[str, Value | None] = {
        n: node.optional_input(i) for i, n in enumerate(names[:n_inputs])
    }

    state_shape: tuple[Dim, ...] = (n_dim, d, hidden) if layout else (d, n_dim, hidden)
    if optional["B"] is not None:
        _check_shape(node, optional["B"], "B", (d, 2 * gates * hidden))
    if optional.get("P") is not None:
        _check_shape(node, optional["P"], "P", (d, 3 * hidden))
    if optional["sequence_lens"] is not None:
        _check_shape(node, optional["sequence_lens"], "sequence_lens", (n_dim,))
    for s in ("initial_h", "initial_c"):
        v = optional.get(s)
        if v is not None:
            _check_shape(node, v, s, state_shape)
            if isinstance(v, Fill) and v.value == 0:
                optional[s] = None  # zero is the default initial state

    # A batch permutation on the inputs (torch's packed-sequence sort) commutes
    # with the recurrence: run on the unpermuted data, permute the results.
    perm = _common_permutation(node, x, optional, layout)
    if perm is not None:
        x = x.base  # type: ignore[union-attr]
        optional = {k: (v.base if isinstance(v, Permuted) else v) for k, v in optional.items()}

    lens = optional["sequence_lens"]
    if lens is not None:
        if np.dtype(lens.dtype).kind != "i":  # type: ignore[union-attr]
            raise node.error(f"input 'sequence_lens' has element type {lens.dtype}; expected int32")  # type: ignore[union-attr]

    def operand(name: str, i: int) -> list:
        v = optional.get(name)
        if v is None:
            return []
        return [imp.materialize(v, f"{node.label}: input '{name}'")]

    layer = imp.next_layer()
    props = ernn.recurrent_properties(
        hidden_size=hidden,
        direction=direction,
        layout=layout,
        activations=activations,
        clip=clip,
        layer=layer,
        onnx_node=node.name or f"{op}_{layer}",
        **extra,
    )
    xv = imp.materialize(x, f"{node.label}: input 'X'")
    operands = [
        xv,
        node.operand(1, "W"),
        node.operand(2, "R"),
        operand("B", 3),
        operand("sequence_lens", 4),
        operand("initial_h", 5),
    ]
    if op == "LSTM":
        operands += [operand("initial_c", 6), operand("P", 7)]
    cls = OPS[op]
    result_types = cls.infer_result_types(xv, hidden, d, layout)
    rnn = cls.build(operands=operands, result_types=result_types, properties=props)
    imp.emit(rnn)

    y_shape: tuple[Dim, ...] = (n_dim, t_dim, d, hidden) if layout else (t_dim, d, n_dim, hidden)
    outs: list[Value] = [imp.tensor(rnn.results[0], y_shape, np.float32)]
    outs += [imp.tensor(res, state_shape, np.float32) for res in rnn.results[1:]]
    if perm is not None:
        pid, origin = perm
        outs = [
            Permuted(outs[0], pid, 2, origin),  # type: ignore[arg-type]
            *(Permuted(o, pid, 1, origin) for o in outs[1:]),  # type: ignore[arg-type]
        ]
    return outs


def _common_permutation(
    node: Node, x: Value, optional: dict[str, Value | None], layout: int
) -> tuple[int, str] | None:
    batch_axes = {"X": 1, "sequence_lens": 0, "initial_h": 1, "initial_c": 1}
    found: dict[str, Permuted] = {}
    for name, v in [("X", x), *optional.items()]:
        if isinstance(v, Permuted):
            if name not in batch_axes or layout:
                raise node.error(
                    f"input '{name}' is {value_kind(v)} (from {v.origin}), which is not supported here"
                )
            if v.axis != batch_axes[name]:
                raise node.error(
                    f"input '{name}' is permuted along axis {v.axis}, not its batch axis"
                )
            found[name] = v
    if not found:
        return None
    perms = {v.perm for v in found.values()}
    if len(perms) > 1 or "X" not in found:
        raise node.error("inputs are batch-permuted inconsistently")
    for name in ("sequence_lens", "initial_h", "initial_c"):
        v = optional.get(name)
        if v is not None and not isinstance(v, Permuted | Fill):
            raise node.error(
                f"input 'X' is batch-permuted (from {found['X'].origin}) but input '{name}' is not"
            )
    return found["X"].perm, found["X"].origin


__all__ = ["Tensor", "recurrent", "resolve_activations"]
