"""ONNX LSTM/GRU/RNN semantics on models built with onnx.helper.

These cover what torch never emits: peepholes, clip, input_forget, every
activation function with explicit and omitted parameters, sequence_lens with
reverse and bidirectional runs (including length 0), layout=1,
linear_before_reset=0, weights as Constant nodes or graph inputs, old and new
opsets, optional inputs and outputs left empty.

The oracle is onnxruntime (CPU). Where ernnc's documented reading departs
from onnxruntime (docs/onnx-semantics.md), ernnc is checked against the
float64 NumPy reference below, which is first checked against onnxruntime on
the cases where the two readings agree, and onnxruntime is asserted to
differ, so that the divergence stays documented by a test.
"""

from __future__ import annotations

import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper, numpy_helper

from ernnc.compiler.api import numpy_model
from ernnc.compiler.errors import ErnncError

ort = pytest.importorskip("onnxruntime")

TOL = 1e-5  # max abs error, float32
DIFFERS = 1e-3  # how far apart two outputs must be to count as different
OPSET = onnx.defs.onnx_opset_version()

GATES = {"LSTM": 4, "GRU": 3, "RNN": 1}
INPUTS = {
    "LSTM": ["X", "W", "R", "B", "sequence_lens", "initial_h", "initial_c", "P"],
    "GRU": ["X", "W", "R", "B", "sequence_lens", "initial_h"],
    "RNN": ["X", "W", "R", "B", "sequence_lens", "initial_h"],
}
OUTPUTS = {"LSTM": ["Y", "Y_h", "Y_c"], "GRU": ["Y", "Y_h"], "RNN": ["Y", "Y_h"]}
DEFAULT_ACTS = {
    "LSTM": ["Sigmoid", "Tanh", "Tanh"],
    "GRU": ["Sigmoid", "Tanh"],
    "RNN": ["Tanh"],
}
DIRECTIONS = ["forward", "reverse", "bidirectional"]
OPS = list(GATES)

# Number of parameters (alpha, beta) each function takes.
N_PARAMS = {
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
FUNCTIONS = list(N_PARAMS)
# Explicit, non-default parameters for the functions that take them.
EXPLICIT = {
    "Affine": (0.7, 0.2),
    "LeakyRelu": (0.3,),
    "ThresholdedRelu": (0.2,),
    "ScaledTanh": (1.3, 0.6),
    "HardSigmoid": (0.3, 0.4),
    "Elu": (0.8,),
}
# Defaults for omitted alpha/beta. The standard: "the same as of corresponding
# ONNX operators" (Affine and ScaledTanh were experimental operators; Affine
# had alpha=1, beta=0, ScaledTanh had no defaults and ernnc takes 1, 1).
STANDARD_DEFAULTS = {
    "Affine": (1.0, 0.0),
    "LeakyRelu": (0.01, 0.0),
    "ThresholdedRelu": (1.0, 0.0),
    "ScaledTanh": (1.0, 1.0),
    "HardSigmoid": (0.2, 0.5),
    "Elu": (1.0, 0.0),
}
# onnxruntime: 0 for the functions it has no default for.
ORT_DEFAULTS = {
    **STANDARD_DEFAULTS,
    "Affine": (0.0, 0.0),
    "ThresholdedRelu": (0.0, 0.0),
    "ScaledTanh": (0.0, 0.0),
}


# -- model building ----------------------------------------------------------


def num_dirs(direction: str) -> int:
    return 2 if direction == "bidirectional" else 1


def make_data(
    op: str,
    *,
    direction: str = "forward",
    T: int = 5,
    N: int = 3,
    I: int = 4,
    H: int = 5,
    seed: int = 0,
    scale: float = 0.5,
    B: bool = True,
    seq: list[int] | None = None,
    h0: bool = False,
    c0: bool = False,
    P: bool = False,
    layout: int = 0,
) -> dict[str, np.ndarray]:
    """Random inputs keyed by ONNX input name (only the ones present)."""
    rng = np.random.default_rng(seed)
    D, g = num_dirs(direction), GATES[op]

    def rnd(*shape: int, s: float = 1.0) -> np.ndarray:
        return (rng.standard_normal(shape) * s).astype(np.float32)

    a = {
        "X": rnd(N, T, I) if layout else rnd(T, N, I),
        "W": rnd(D, g * H, I, s=scale),
        "R": rnd(D, g * H, H, s=scale),
    }
    if B:
        a["B"] = rnd(D, 2 * g * H, s=scale)
    if seq is not None:
        a["sequence_lens"] = np.array(seq, dtype=np.int32)
    state = (N, D, H) if layout else (D, N, H)
    if h0:
        a["initial_h"] = rnd(*state)
    if c0:
        a["initial_c"] = rnd(*state)
    if P:
        a["P"] = rnd(D, 3 * H, s=scale)
    return a


def build(
    op: str,
    arrays: dict[str, np.ndarray],
    *,
    direction: str = "forward",
    attrs: dict | None = None,
    where: dict[str, str] | None = None,
    outputs: list[str] | None = None,
    opset: int = OPSET,
    layout: int | None = None,
) -> tuple[onnx.ModelProto, dict[str, np.ndarray]]:
    """A one-node model and the feeds of its graph inputs.

    Absent optional inputs are written as ''. ``where`` says how an input is
    given: 'input' (graph input), 'initializer' or 'constant' (a Constant
    node). Defaults: X, sequence_lens and initial states are graph inputs,
    W, R, B and P initializers.
    """
    names = INPUTS[op]
    last = max(names.index(n) for n in arrays)
    node_inputs = [n if n in arrays else "" for n in names[: last + 1]]
    where = {"W": "initializer", "R": "initializer", "B": "initializer", "P": "initializer"} | (
        where or {}
    )
    graph_inputs, inits, nodes, feeds = [], [], [], {}
    for name, arr in arrays.items():
        how = where.get(name, "input")
        if how == "input":
            elem = helper.np_dtype_to_tensor_dtype(arr.dtype)
            graph_inputs.append(helper.make_tensor_value_info(name, elem, list(arr.shape)))
            feeds[name] = arr
        elif how == "initializer":
            inits.append(numpy_helper.from_array(arr, name))
        elif how == "constant":
            nodes.append(
                helper.make_node(
                    "Constant", [], [name], value=numpy_helper.from_array(arr, name + "_value")
                )
            )
        else:
            raise AssertionError(how)
    D, H = arrays["R"].shape[0], arrays["R"].shape[2]
    x = arrays["X"].shape
    lay = layout or 0
    T, N = (x[1], x[0]) if lay else (x[0], x[1])
    shapes = {
        "Y": [N, T, D, H] if lay else [T, D, N, H],
        "Y_h": [N, D, H] if lay else [D, N, H],
        "Y_c": [N, D, H] if lay else [D, N, H],
    }
    outs = OUTPUTS[op] if outputs is None else outputs
    attributes = {"hidden_size": H, "direction": direction, **(attrs or {})}
    if layout is not None:
        attributes["layout"] = layout
    nodes.append(helper.make_node(op, node_inputs, outs, **attributes))
    graph_outputs = [
        helper.make_tensor_value_info(o, TensorProto.FLOAT, shapes[std])
        for o, std in zip(outs, OUTPUTS[op])
        if o
    ]
    graph = helper.make_graph(nodes, "g", graph_inputs, graph_outputs, initializer=inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset)])
    onnx.checker.check_model(model, full_check=True)
    return model, feeds


# -- running and comparing ---------------------------------------------------


def run_ort(model: onnx.ModelProto, feeds: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    so = ort.SessionOptions()
    so.log_severity_level = 4  # only fatal: some tests expect ORT errors
    sess = ort.InferenceSession(model.SerializeToString(), so, providers=["CPUExecutionProvider"])
    return {o.name: v for o, v in zip(sess.get_outputs(), sess.run(None, feeds))}


def run_ernnc(model: onnx.ModelProto, feeds: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    return numpy_model(model).run(dict(feeds))


def max_diff(a: dict[str, np.ndarray], b: dict[str, np.ndarray]) -> float:
    keys = set(a) & set(b)
    assert keys, "no common outputs"
    return max(float(np.max(np.abs(np.asarray(a[k]) - np.asarray(b[k])))) for k in keys)


def assert_close(got: dict[str, np.ndarray], want: dict[str, np.ndarray], what: str = "") -> None:
    missing = set(want) - set(got)
    assert not missing, f"{what}: outputs {sorted(missing)} missing"
    for k, value in want.items():
        g, w = np.asarray(got[k]), np.asarray(value)
        assert g.shape == w.shape, f"{what} {k}: shape {g.shape}, expected {w.shape}"
        err = float(np.max(np.abs(g - w))) if g.size else 0.0
        assert err <= TOL, f"{what} {k}: max abs error {err:.3g} > {TOL}"


def check_against_ort(model, feeds) -> dict[str, np.ndarray]:
    want = run_ort(model, feeds)
    assert_close(run_ernnc(model, feeds), want, "ernnc vs onnxruntime")
    return want


# -- an independent NumPy reference (float64) --------------------------------


def act(fn: str, x: np.ndarray, a: float, b: float) -> np.ndarray:
    """The activation functions as the LSTM/GRU/RNN operator docs define them."""
    if fn == "Relu":
        return np.maximum(x, 0)
    if fn == "Tanh":
        return np.tanh(x)
    if fn == "Sigmoid":
        return 1 / (1 + np.exp(-x))
    if fn == "Affine":
        return a * x + b
    if fn == "LeakyRelu":
        return np.where(x >= 0, x, a * x)
    if fn == "ThresholdedRelu":
        return np.where(x > a, x, 0.0)
    if fn == "ScaledTanh":
        return a * np.tanh(b * x)
    if fn == "HardSigmoid":
        return np.clip(a * x + b, 0, 1)
    if fn == "Elu":
        return np.where(x >= 0, x, a * (np.exp(np.minimum(x, 0)) - 1))
    if fn == "Softsign":
        return x / (1 + np.abs(x))
    if fn == "Softplus":
        return np.logaddexp(0, x)
    raise AssertionError(fn)


def resolve(
    names: list[str], alphas: list[float], betas: list[float], defaults: dict
) -> list[tuple[str, float, float]]:
    """alpha/beta consumed in order by the functions that take one."""
    ai = bi = 0
    out = []
    for fn in names:
        da, db = defaults.get(fn, (0.0, 0.0))
        a = b = 0.0
        if N_PARAMS[fn] >= 1:
            a = alphas[ai] if ai < len(alphas) else da
            ai += 1
        if N_PARAMS[fn] >= 2:
            b = betas[bi] if bi < len(betas) else db
            bi += 1
        out.append((fn, a, b))
    return out


def reference(
    op: str,
    arrays: dict[str, np.ndarray],
    *,
    direction: str = "forward",
    acts: list[tuple[str, float, float]] | None = None,
    clip: float | None = None,
    input_forget: int = 0,
    linear_before_reset: int = 0,
    zero_length: str = "hold",
    clip_cell: bool = False,
) -> dict[str, np.ndarray]:
    """The ONNX equations, one batch entry and one step at a time (layout 0).

    ``clip`` bounds the gate pre-activations (and, with ``clip_cell``, the
    input of h(C) too, the other reading of the standard's wording);
    ``input_forget`` sets f = 1 - i; a sequence of length 0 keeps its initial
    state (``zero_length='hold'``) or returns zeros ('zero').
    """
    X = arrays["X"].astype(np.float64)
    T, N, _ = X.shape
    D, _, H = arrays["R"].shape
    g = GATES[op]
    k = len(DEFAULT_ACTS[op])
    if acts is None:
        acts = [(fn, 0.0, 0.0) for fn in DEFAULT_ACTS[op] * D]
    cl = (lambda v: np.clip(v, -clip, clip)) if clip else (lambda v: v)
    seq = arrays.get("sequence_lens", np.full(N, T))
    Y = np.zeros((T, D, N, H))
    Yh = np.zeros((D, N, H))
    Yc = np.zeros((D, N, H))
    for d in range(D):
        rev = direction == "reverse" or d == 1
        F = [lambda x, e=e: act(e[0], x, e[1], e[2]) for e in acts[d * k : (d + 1) * k]]
        W = arrays["W"][d].astype(np.float64)
        R = arrays["R"][d].astype(np.float64)
        B = arrays["B"][d].astype(np.float64) if "B" in arrays else np.zeros(2 * g * H)
        Wb, Rb = B[: g * H], B[g * H :]
        P = arrays["P"][d].astype(np.float64) if "P" in arrays else np.zeros(3 * H)
        for n in range(N):
            L = int(seq[n])
            h = (
                arrays["initial_h"][d, n].astype(np.float64)
                if "initial_h" in arrays
                else np.zeros(H)
            )
            c = (
                arrays["initial_c"][d, n].astype(np.float64)
                if "initial_c" in arrays
                else np.zeros(H)
            )
            if L == 0 and zero_length == "zero":
                h, c = np.zeros(H), np.zeros(H)
            for t in range(L - 1, -1, -1) if rev else range(L):
                x = X[t, n]
                if op == "RNN":
                    h = F[0](cl(W @ x + R @ h + Wb + Rb))
                elif op == "GRU":
                    xw = W @ x + Wb
                    z = F[0](cl(xw[:H] + R[:H] @ h + Rb[:H]))
                    r = F[0](cl(xw[H : 2 * H] + R[H : 2 * H] @ h + Rb[H : 2 * H]))
                    if linear_before_reset:
                        pre = xw[2 * H :] + r * (R[2 * H :] @ h + Rb[2 * H :])
                    else:
                        pre = xw[2 * H :] + R[2 * H :] @ (r * h) + Rb[2 * H :]
                    hh = F[1](cl(pre))
                    h = (1 - z) * hh + z * h
                else:
                    gi, go, gf, gc = np.split(W @ x + R @ h + Wb + Rb, 4)
                    i = F[0](cl(gi + P[:H] * c))
                    f = 1 - i if input_forget else F[0](cl(gf + P[2 * H :] * c))
                    c = f * c + i * F[1](cl(gc))
                    o = F[0](cl(go + P[H : 2 * H] * c))
                    h = o * F[2](cl(c) if clip_cell else c)
                Y[t, d, n] = h
            Yh[d, n], Yc[d, n] = h, c
    out = {"Y": Y, "Y_h": Yh}
    if op == "LSTM":
        out["Y_c"] = Yc
    return out


# -- 1. peepholes -------------------------------------------------------------


@pytest.mark.parametrize("states", [False, True], ids=["zero-state", "initial-state"])
@pytest.mark.parametrize("direction", DIRECTIONS)
def test_lstm_peepholes(direction, states):
    a = make_data("LSTM", direction=direction, P=True, h0=states, c0=states, scale=1.0)
    model, feeds = build("LSTM", a, direction=direction)
    want = check_against_ort(model, feeds)
    no_p = build("LSTM", {k: v for k, v in a.items() if k != "P"}, direction=direction)
    assert max_diff(want, run_ort(*no_p)) > DIFFERS, "P has no effect: the test is void"


def test_lstm_peepholes_with_sequence_lens():
    a = make_data("LSTM", direction="bidirectional", P=True, h0=True, c0=True, seq=[5, 2, 4])
    check_against_ort(*build("LSTM", a, direction="bidirectional"))


# -- 2. clip ------------------------------------------------------------------


@pytest.mark.parametrize("direction", ["forward", "bidirectional"])
@pytest.mark.parametrize("op", OPS)
def test_clip(op, direction):
    clip = 0.5
    a = make_data(op, direction=direction, scale=3.0, h0=True, c0=op == "LSTM", T=6)
    model, feeds = build(op, a, direction=direction, attrs={"clip": clip})
    want = check_against_ort(model, feeds)
    unclipped = run_ort(*build(op, a, direction=direction))
    assert max_diff(want, unclipped) > DIFFERS, "clip changes nothing: the test is void"
    assert_close(reference(op, a, direction=direction, clip=clip), want, "reference")
    if op == "LSTM":
        # The cell state exceeds the threshold, so clipping the input of
        # h(C) would show: ernnc (like onnxruntime) clips gate inputs only.
        other = reference(op, a, direction=direction, clip=clip, clip_cell=True)
        assert max_diff(other, want) > DIFFERS


# -- 3. input_forget -----------------------------------------------------------


@pytest.mark.parametrize("peep", [False, True], ids=["no-P", "P"])
@pytest.mark.parametrize("direction", DIRECTIONS)
def test_lstm_input_forget(direction, peep):
    a = make_data("LSTM", direction=direction, P=peep, h0=True, c0=True, scale=1.0)
    model, feeds = build("LSTM", a, direction=direction, attrs={"input_forget": 1})
    want = check_against_ort(model, feeds)
    assert max_diff(want, run_ort(*build("LSTM", a, direction=direction))) > DIFFERS
    got = reference("LSTM", a, direction=direction, input_forget=1)
    assert_close(got, want, "reference")


# -- 4. activation functions ---------------------------------------------------


SLOTS = [(op, k) for op in OPS for k in range(len(DEFAULT_ACTS[op]))]


@pytest.mark.parametrize("fn", FUNCTIONS)
@pytest.mark.parametrize("op,slot", SLOTS, ids=[f"{op}-slot{k}" for op, k in SLOTS])
def test_activation_in_slot(op, slot, fn):
    """Each function in each activation slot, with explicit alpha/beta."""
    names = list(DEFAULT_ACTS[op])
    names[slot] = fn
    params = EXPLICIT.get(fn, ())
    attrs = {"activations": names}
    if len(params) >= 1:
        attrs["activation_alpha"] = [params[0]]
    if len(params) >= 2:
        attrs["activation_beta"] = [params[1]]
    # Short and small: unbounded functions in GRU's z slot make h grow fast.
    a = make_data(op, T=3, h0=True, seed=slot, scale=0.3)
    model, feeds = build(op, a, attrs=attrs)
    want = check_against_ort(model, feeds)
    assert max(np.abs(v).max() for v in want.values()) < 10, "outputs too large for TOL"
    if fn != DEFAULT_ACTS[op][slot]:
        assert max_diff(want, run_ort(*build(op, a))) > DIFFERS, "activation has no effect"
    acts = resolve(names, attrs.get("activation_alpha", []), attrs.get("activation_beta", []), {})
    assert_close(reference(op, a, acts=acts), want, "reference")


# Mixed lists: functions with and without parameters; bidirectional lists
# are twice as long. The positional reading (alpha[k] for function k) would
# give different numbers in most of these.
MIXED = [
    ("RNN", "bidirectional", ["LeakyRelu", "ScaledTanh"], [0.2, 0.9], [0.7]),
    ("RNN", "bidirectional", ["Relu", "HardSigmoid"], [0.35], [0.45]),
    ("RNN", "bidirectional", ["LeakyRelu", "LeakyRelu"], [0.3], []),  # 2nd: default 0.01
    ("GRU", "forward", ["HardSigmoid", "Elu"], [], []),  # all defaults
    ("GRU", "bidirectional", ["Sigmoid", "Elu", "HardSigmoid", "Softsign"], [0.6, 0.25], [0.45]),
    ("GRU", "reverse", ["Softsign", "Affine"], [0.8], []),  # Affine beta omitted: 0
    ("LSTM", "forward", ["Sigmoid", "ThresholdedRelu", "Elu"], [0.1, 0.5], []),
    (
        "LSTM",
        "bidirectional",
        ["HardSigmoid", "Tanh", "Affine", "Sigmoid", "ScaledTanh", "LeakyRelu"],
        [0.25, 0.5, 1.1, 0.05],
        [0.55, 0.1, 0.8],
    ),
    (
        "LSTM",
        "bidirectional",
        ["Sigmoid", "Softplus", "Softsign", "HardSigmoid", "Relu", "Tanh"],
        [0.15],
        [0.6],
    ),
]


@pytest.mark.parametrize(
    "op,direction,names,alphas,betas", MIXED, ids=[f"{m[0]}-{'-'.join(m[2])}" for m in MIXED]
)
def test_activation_lists(op, direction, names, alphas, betas):
    attrs = {"activations": names}
    if alphas:
        attrs["activation_alpha"] = alphas
    if betas:
        attrs["activation_beta"] = betas
    a = make_data(op, direction=direction, T=4, h0=True, c0=op == "LSTM")
    model, feeds = build(op, a, direction=direction, attrs=attrs)
    want = check_against_ort(model, feeds)
    acts = resolve(names, alphas, betas, STANDARD_DEFAULTS)
    assert_close(reference(op, a, direction=direction, acts=acts), want, "reference")


def test_thresholded_relu_at_threshold():
    """The RNN operators' doc says ThresholdedRelu(x) = x if x >= alpha, the
    ThresholdedRelu operator x > alpha. onnxruntime and ernnc use x > alpha."""
    a = make_data("RNN", T=2, N=1, I=3, H=2)
    a["W"][:] = 0
    a["R"][:] = 0
    a["B"][:] = 0
    a["B"][0, :2] = 0.5  # every pre-activation is exactly 0.5
    attrs = {"activations": ["ThresholdedRelu"], "activation_alpha": [0.5]}
    want = check_against_ort(*build("RNN", a, attrs=attrs))
    assert not np.any(want["Y"])


def test_softplus_large_input():
    """onnxruntime's Softplus overflows (log(1 + exp(100)) = inf in float32);
    ernnc's stays finite."""
    a = make_data("RNN", T=1, N=1, I=3, H=2)
    a["W"][:] = 0
    a["R"][:] = 0
    a["B"][:] = 0
    a["B"][0, :2] = [50.0, 100.0]
    model, feeds = build("RNN", a, attrs={"activations": ["Softplus"]})
    got = run_ernnc(model, feeds)
    np.testing.assert_allclose(got["Y_h"].ravel(), [50.0, 100.0], rtol=1e-6)
    assert np.isinf(run_ort(model, feeds)["Y_h"]).any(), "onnxruntime now finite: update docs"


@pytest.mark.parametrize("op", ["LSTM", "GRU"])
def test_activation_names_case_insensitive(op):
    """onnxruntime's LSTM and GRU match names case-insensitively (its RNN
    kernel does not); ernnc does for all three."""
    names = ["sigmoid", "TANH", "tanh"][: len(DEFAULT_ACTS[op])]
    a = make_data(op, h0=True)
    check_against_ort(*build(op, a, attrs={"activations": names}))


def test_excess_activation_parameters_rejected():
    """onnxruntime ignores alpha/beta values that no function consumes; ernnc
    rejects them (they are most likely a mistake in the model)."""
    a = make_data("RNN", T=3)
    attrs = {"activations": ["LeakyRelu"], "activation_alpha": [0.3, 0.5]}
    model, feeds = build("RNN", a, attrs=attrs)
    with pytest.raises(ErnncError, match="activation_alpha"):
        run_ernnc(model, feeds)


# -- 5. omitted alpha/beta where ernnc and onnxruntime differ -------------------

DIVERGENT = [
    ("RNN", "forward", ["ThresholdedRelu"], [], []),
    ("RNN", "forward", ["Affine"], [], []),
    ("RNN", "forward", ["ScaledTanh"], [], []),
    ("RNN", "bidirectional", ["Affine", "Affine"], [0.5], [0.1]),  # 2nd Affine: defaults
    ("GRU", "forward", ["Sigmoid", "ThresholdedRelu"], [], []),
    ("GRU", "forward", ["Sigmoid", "ScaledTanh"], [1.5], []),  # beta omitted
    ("GRU", "bidirectional", ["Sigmoid", "Affine", "Sigmoid", "Tanh"], [], []),
    ("LSTM", "forward", ["Sigmoid", "Affine", "Tanh"], [], []),
    ("LSTM", "forward", ["Sigmoid", "Tanh", "ScaledTanh"], [], []),
    (
        "LSTM",
        "bidirectional",
        ["Sigmoid", "Tanh", "ThresholdedRelu", "Sigmoid", "Affine", "ScaledTanh"],
        [0.5],
        [],
    ),
]


@pytest.mark.parametrize(
    "op,direction,names,alphas,betas",
    DIVERGENT,
    ids=[f"{m[0]}-{'-'.join(m[2])}-{len(m[3])}a{len(m[4])}b" for m in DIVERGENT],
)
def test_omitted_parameters_diverge_from_ort(op, direction, names, alphas, betas):
    """ernnc takes the ONNX operators' defaults (the standard's wording);
    onnxruntime takes 0 for ThresholdedRelu, Affine and ScaledTanh."""
    attrs = {"activations": names}
    if alphas:
        attrs["activation_alpha"] = alphas
    if betas:
        attrs["activation_beta"] = betas
    a = make_data(op, direction=direction, T=4, h0=True, c0=op == "LSTM", scale=1.0)
    model, feeds = build(op, a, direction=direction, attrs=attrs)
    got = run_ernnc(model, feeds)
    standard = resolve(names, alphas, betas, STANDARD_DEFAULTS)
    assert_close(got, reference(op, a, direction=direction, acts=standard), "ernnc vs reference")
    ort_out = run_ort(model, feeds)
    ort_reading = resolve(names, alphas, betas, ORT_DEFAULTS)
    assert_close(ort_out, reference(op, a, direction=direction, acts=ort_reading), "ORT reading")
    assert max_diff(got, ort_out) > DIFFERS, "onnxruntime now agrees: update the docs"


# -- 6. sequence_lens ------------------------------------------------------------


@pytest.mark.parametrize("seq", [[5, 3, 1], [2, 5, 4]], ids=["desc", "mixed"])
@pytest.mark.parametrize("direction", DIRECTIONS)
@pytest.mark.parametrize("op", OPS)
def test_sequence_lens(op, direction, seq):
    lstm = op == "LSTM"
    a = make_data(op, direction=direction, seq=seq, h0=True, c0=lstm, P=lstm)
    want = check_against_ort(*build(op, a, direction=direction))
    full = {k: v for k, v in a.items() if k != "sequence_lens"}
    assert max_diff(want, run_ort(*build(op, full, direction=direction))) > DIFFERS


@pytest.mark.parametrize("how", ["input", "initializer"])
@pytest.mark.parametrize("op", OPS)
def test_sequence_lens_all_full(op, how):
    """Every length = T: the same numbers as without sequence_lens."""
    a = make_data(op, direction="bidirectional", seq=[5, 5, 5], h0=True)
    want = check_against_ort(*build(op, a, direction="bidirectional", where={"sequence_lens": how}))
    full = {k: v for k, v in a.items() if k != "sequence_lens"}
    assert_close(want, run_ort(*build(op, full, direction="bidirectional")), "ORT")


@pytest.mark.parametrize("T,N", [(1, 1), (1, 3), (7, 1)])
@pytest.mark.parametrize("op", OPS)
def test_small_shapes(op, T, N):
    seq = [max(1, T - 2 * n) for n in range(N)]
    a = make_data(op, direction="bidirectional", T=T, N=N, I=3, H=4, seq=seq, h0=True)
    check_against_ort(*build(op, a, direction="bidirectional"))


@pytest.mark.parametrize("seq", [[0, 5, 2], [0, 0, 0]], ids=["one-zero", "all-zero"])
@pytest.mark.parametrize("direction", ["forward", "bidirectional"])
@pytest.mark.parametrize("op", OPS)
def test_zero_length_without_initial_state(op, direction, seq):
    """Without initial states a length-0 entry gives zeros everywhere, in
    ernnc and in onnxruntime."""
    a = make_data(op, direction=direction, seq=seq)
    want = check_against_ort(*build(op, a, direction=direction))
    for v in want.values():
        assert not np.any(v[:, :, 0] if v.ndim == 4 else v[:, 0])


@pytest.mark.parametrize("direction", ["forward", "reverse", "bidirectional"])
@pytest.mark.parametrize("op", OPS)
def test_zero_length_with_initial_state_ends_at_zero(op, direction):
    """A length-0 entry runs no step and, as in onnxruntime (the standard is
    silent), its final states are zero even when initial states are given."""
    seq = [0, 5, 2]
    lstm = op == "LSTM"
    a = make_data(op, direction=direction, seq=seq, h0=True, c0=lstm)
    model, feeds = build(op, a, direction=direction)
    want = reference(op, a, direction=direction, zero_length="zero")
    assert np.any(a["initial_h"][:, 0])  # the initial state is not already zero
    got = run_ernnc(model, feeds)
    assert_close(got, want, "ernnc vs reference")
    assert not np.any(got["Y_h"][:, 0])
    assert_close(run_ort(model, feeds), want, "ORT")


@pytest.mark.parametrize("seq", [[6, 2, 3], [-1, 2, 3]], ids=["above-T", "negative"])
def test_sequence_lens_out_of_range(seq):
    """Both reject lengths outside [0, T] when the model runs."""
    a = make_data("GRU", seq=seq)
    model, feeds = build("GRU", a)
    with pytest.raises(ValueError, match="sequence lengths"):
        run_ernnc(model, feeds)
    with pytest.raises(Exception, match="sequence_lens"):
        run_ort(model, feeds)


# -- 7. layout=1 ------------------------------------------------------------------


@pytest.mark.parametrize("direction", DIRECTIONS)
@pytest.mark.parametrize("op", OPS)
def test_layout_1(op, direction):
    """onnxruntime rejects layout=1: run it on the layout-0 model with the
    inputs transposed, and transpose its outputs back."""
    lstm = op == "LSTM"
    a = make_data(op, direction=direction, layout=1, seq=[4, 5, 2], h0=True, c0=lstm, P=lstm)
    model, feeds = build(op, a, direction=direction, layout=1)
    got = run_ernnc(model, feeds)
    a0 = dict(a)
    a0["X"] = a["X"].transpose(1, 0, 2)
    for s in ("initial_h", "initial_c"):
        if s in a:
            a0[s] = a[s].transpose(1, 0, 2)
    want = run_ort(*build(op, a0, direction=direction, layout=0))
    want = {
        k: (v.transpose(2, 0, 1, 3) if k == "Y" else v.transpose(1, 0, 2)) for k, v in want.items()
    }
    assert_close(got, want, "ernnc layout=1 vs onnxruntime layout=0")


# -- 8. GRU linear_before_reset ---------------------------------------------------


@pytest.mark.parametrize("direction", DIRECTIONS)
@pytest.mark.parametrize("lbr", [0, 1])
def test_gru_linear_before_reset(lbr, direction):
    a = make_data("GRU", direction=direction, h0=True, scale=1.0)
    want = check_against_ort(
        *build("GRU", a, direction=direction, attrs={"linear_before_reset": lbr})
    )
    other = run_ort(*build("GRU", a, direction=direction, attrs={"linear_before_reset": 1 - lbr}))
    assert max_diff(want, other) > DIFFERS
    ref = reference("GRU", a, direction=direction, linear_before_reset=lbr)
    assert_close(ref, want, "reference")


# -- 9. initial states --------------------------------------------------------------


@pytest.mark.parametrize("how", ["input", "initializer", "constant"])
@pytest.mark.parametrize("op", OPS)
def test_initial_states(op, how):
    lstm = op == "LSTM"
    a = make_data(op, direction="bidirectional", h0=True, c0=lstm, seq=[5, 1, 3])
    where = {"initial_h": how, "initial_c": how}
    want = check_against_ort(*build(op, a, direction="bidirectional", where=where))
    no_state = {k: v for k, v in a.items() if k not in ("initial_h", "initial_c")}
    assert max_diff(want, run_ort(*build(op, no_state, direction="bidirectional"))) > DIFFERS


@pytest.mark.parametrize("peep", [False, True], ids=["no-P", "P"])
@pytest.mark.parametrize("given", ["initial_h", "initial_c"])
@pytest.mark.parametrize("direction", DIRECTIONS)
def test_lstm_one_initial_state(direction, given, peep):
    """Only one of initial_h/initial_c: the other starts at zero."""
    a = make_data("LSTM", direction=direction, h0=True, c0=True, P=peep)
    missing = "initial_c" if given == "initial_h" else "initial_h"
    one = {k: v for k, v in a.items() if k != missing}
    want = check_against_ort(*build("LSTM", one, direction=direction))
    zeros = dict(a)
    zeros[missing] = np.zeros_like(a[missing])
    assert_close(want, run_ort(*build("LSTM", zeros, direction=direction)), "ORT zero state")
    assert max_diff(want, run_ort(*build("LSTM", a, direction=direction))) > DIFFERS


# -- 10. where the weights come from ---------------------------------------------------


@pytest.mark.parametrize("how", ["initializer", "constant", "input"])
@pytest.mark.parametrize("op", OPS)
def test_weights_source(op, how):
    lstm = op == "LSTM"
    a = make_data(op, direction="bidirectional", P=lstm, h0=True, seq=[5, 3, 4])
    where = {k: how for k in ("W", "R", "B", "P")}
    model, feeds = build(op, a, direction="bidirectional", where=where)
    if how == "input":
        assert {"W", "R", "B"} <= set(feeds)
    check_against_ort(model, feeds)


def test_runtime_weights_are_read_at_run_time():
    """Weights given as graph inputs are not baked in: new values, new outputs."""
    a = make_data("GRU", h0=True)
    where = {"W": "input", "R": "input", "B": "input"}
    model, feeds = build("GRU", a, where=where)
    ref = numpy_model(model)
    for seed in (1, 2):
        b = make_data("GRU", h0=True, seed=seed)
        feeds2 = {**feeds, "W": b["W"], "R": b["R"], "B": b["B"]}
        assert_close(ref.run(dict(feeds2)), run_ort(model, feeds2), f"seed {seed}")


# -- 11. opsets ------------------------------------------------------------------------


@pytest.mark.parametrize("opset", sorted({7, 14, OPSET}))
@pytest.mark.parametrize("op", OPS)
def test_opsets(op, opset):
    lstm = op == "LSTM"
    a = make_data(op, direction="bidirectional", seq=[5, 2, 3], h0=True, c0=lstm, P=lstm)
    check_against_ort(*build(op, a, direction="bidirectional", opset=opset))


@pytest.mark.parametrize("op", OPS)
def test_opset_below_7_rejected(op):
    """onnxruntime has no kernel for LSTM-1, GRU-1/3, RNN-1; ernnc says so."""
    model, feeds = build(op, make_data(op), opset=1)
    with pytest.raises(ErnncError, match="opset 1"):
        run_ernnc(model, feeds)


def test_opset_newer_than_onnx_knows_rejected():
    """A newer opset may have changed the op; the installed onnx cannot say how."""
    model, feeds = build("GRU", make_data("GRU"), opset=OPSET + 1)
    with pytest.raises(ErnncError, match=f"opset {OPSET + 1} .* supports 7 to {OPSET}"):
        run_ernnc(model, feeds)


# -- 12. optional inputs and outputs -------------------------------------------------


@pytest.mark.parametrize("direction", DIRECTIONS)
@pytest.mark.parametrize("op", OPS)
def test_bias_absent_sequence_lens_present(op, direction):
    """X, W, R, '', sequence_lens (and P after two more '' for LSTM)."""
    lstm = op == "LSTM"
    a = make_data(op, direction=direction, B=False, seq=[3, 5, 1], P=lstm)
    model, feeds = build(op, a, direction=direction)
    node = model.graph.node[-1]
    assert node.input[3] == ""
    check_against_ort(model, feeds)


UNNAMED = [
    ("RNN", ["", "Y_h"]),
    ("RNN", ["Y"]),
    ("GRU", ["", "Y_h"]),
    ("GRU", ["Y", ""]),
    ("LSTM", ["", "Y_h"]),
    ("LSTM", ["", "", "Y_c"]),
    ("LSTM", ["Y", "", "Y_c"]),
    ("LSTM", ["", "Y_h", "Y_c"]),
]


@pytest.mark.parametrize(
    "op,outputs", UNNAMED, ids=[f"{o}-{'/'.join(x or '_' for x in y)}" for o, y in UNNAMED]
)
def test_unnamed_outputs(op, outputs):
    a = make_data(op, direction="bidirectional", seq=[5, 2, 4], h0=True)
    model, feeds = build(op, a, direction="bidirectional", outputs=outputs)
    got = run_ernnc(model, feeds)
    assert set(got) == {o for o in outputs if o}
    want = run_ort(model, feeds)
    assert_close(got, want, "ernnc vs onnxruntime")
    full = run_ort(*build(op, a, direction="bidirectional"))
    assert_close(got, {k: full[k] for k in got}, "vs all outputs named")
