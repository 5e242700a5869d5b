#!/usr/bin/env python3
"""Generate the ernnc test zoo: small torch-exported ONNX recurrent models.

Usage:  python tests/models/make_zoo.py [--out tests/models/zoo] [--only SUBSTR]

Needs torch==2.13.0 (CPU), onnx, onnxruntime, numpy.  Uses the legacy TorchScript
exporter (``torch.onnx.export(..., dynamo=False)``).

Every model is
  * exported with fixed seeds (parameters from torch.manual_seed(crc32(name))),
  * checked with ``onnx.checker.check_model(m, full_check=True)``,
  * run in onnxruntime (CPUExecutionProvider) and compared with the torch module
    (max abs err <= 1e-5) at the export shape and, for dynamic models, at two more
    (T, N) shapes including T=1, N=1.
A model that fails is not written; it is listed under "dropped" in manifest.json
with the reason.  Exports that raise are listed there too.
"""

from __future__ import annotations

import argparse
import hashlib
import io
import json
import os
import sys
import warnings
import zlib

import numpy as np
import onnx
import onnxruntime as ort
import torch
from onnx import helper
from torch import nn
from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence

warnings.filterwarnings("ignore")
torch.set_num_threads(1)

TOL = 1e-5
EXPORT_T, EXPORT_N = 7, 3
EXTRA_SHAPES = [(1, 1), (12, 2)]
CELLS = {"LSTM": nn.LSTM, "GRU": nn.GRU, "RNN": nn.RNN}

# --------------------------------------------------------------------------------------
# specs


def spec(
    name,
    cell,
    layers=1,
    bidir=False,
    bf=False,
    I=5,
    H=8,
    opset=20,
    dynamic=True,
    h0=False,
    packed=None,
    bias=True,
    nonlinearity="tanh",
    classifier=None,
    dropout=0.0,
    head_dropout=0.0,
    n_classes=4,
    fold=True,
    notes="",
):
    return dict(
        name=name,
        cell=cell,
        layers=layers,
        bidir=bidir,
        bf=bf,
        I=I,
        H=H,
        opset=opset,
        dynamic=dynamic,
        h0=h0,
        packed=packed,
        bias=bias,
        nonlinearity=nonlinearity,
        classifier=classifier,
        dropout=dropout,
        head_dropout=head_dropout,
        n_classes=n_classes,
        fold=fold,
        notes=notes,
    )


def tag(layers, bidir, bf):
    return f"l{layers}_{'bi' if bidir else 'uni'}{'_bf' if bf else ''}"


def build_specs():
    S = []
    # 1. full grid: cell x layers x bidirectional x batch_first (dynamic, opset 20, no h0)
    for cell in ("LSTM", "GRU", "RNN"):
        for layers in (1, 2):
            for bidir in (False, True):
                for bf in (False, True):
                    S.append(
                        spec(
                            f"{cell.lower()}_{tag(layers, bidir, bf)}_dyn_op20",
                            cell,
                            layers,
                            bidir,
                            bf,
                            notes="grid",
                        )
                    )
    # 2. h0 (and c0) passed as graph inputs
    S += [
        spec("lstm_l1_uni_h0_dyn_op20", "LSTM", h0=True, I=4, H=6),
        spec("lstm_l2_bi_bf_h0_dyn_op20", "LSTM", 2, True, True, h0=True, I=4, H=6),
        spec("gru_l1_uni_h0_dyn_op20", "GRU", h0=True, I=4, H=6),
        spec("gru_l2_bi_h0_dyn_op20", "GRU", 2, True, h0=True, I=4, H=6),
        spec("rnn_l1_bi_h0_dyn_op20", "RNN", 1, True, h0=True, I=4, H=6),
    ]
    # 3. ReLU RNN
    S += [
        spec("rnn_relu_l1_uni_dyn_op20", "RNN", nonlinearity="relu"),
        spec("rnn_relu_l1_bi_dyn_op20", "RNN", 1, True, nonlinearity="relu"),
        spec("rnn_relu_l2_bi_bf_dyn_op20", "RNN", 2, True, True, nonlinearity="relu"),
    ]
    # 4. packed sequences (pack_padded_sequence -> RNN -> pad_packed_sequence)
    S += [
        spec("lstm_l1_uni_packed_sorted_dyn_op20", "LSTM", packed="sorted"),
        spec("lstm_l1_uni_packed_unsorted_dyn_op20", "LSTM", packed="unsorted"),
        spec("lstm_l2_bi_packed_sorted_dyn_op20", "LSTM", 2, True, packed="sorted"),
        spec("lstm_l2_bi_packed_unsorted_dyn_op20", "LSTM", 2, True, packed="unsorted"),
        spec("lstm_l1_uni_packed_unsorted_h0_dyn_op20", "LSTM", h0=True, packed="unsorted"),
        spec("gru_l1_bi_packed_sorted_dyn_op20", "GRU", 1, True, packed="sorted"),
        spec("gru_l1_uni_bf_packed_unsorted_dyn_op20", "GRU", 1, False, True, packed="unsorted"),
        spec("rnn_l1_uni_packed_sorted_dyn_op20", "RNN", packed="sorted"),
        spec("rnn_l1_bi_bf_packed_unsorted_dyn_op20", "RNN", 1, True, True, packed="unsorted"),
        spec(
            "lstm_l1_bi_packed_sorted_static_op20", "LSTM", 1, True, packed="sorted", dynamic=False
        ),
        spec("lstm_l1_uni_packed_unsorted_dyn_op11", "LSTM", packed="unsorted", opset=11),
        spec("lstm_l1_uni_packed_sorted_dyn_op9", "LSTM", packed="sorted", opset=9),
        spec("lstm_l1_uni_packed_unsorted_dyn_op9", "LSTM", packed="unsorted", opset=9),
        spec(
            "lstm_l1_uni_packed_unsorted_static_op9",
            "LSTM",
            packed="unsorted",
            opset=9,
            dynamic=False,
        ),
    ]
    # 5. bias=False
    S += [
        spec("lstm_l1_uni_nobias_dyn_op20", "LSTM", bias=False),
        spec("gru_l1_bi_nobias_dyn_op20", "GRU", 1, True, bias=False),
    ]
    # 6. classifiers
    S += [
        spec("lstm_cls_last_softmax_dyn_op20", "LSTM", I=6, H=12, classifier="last_softmax"),
        spec(
            "gru_cls_bf_last_logsoftmax_dyn_op20",
            "GRU",
            bf=True,
            I=6,
            H=12,
            classifier="last_logsoftmax",
        ),
        spec("lstm_cls_l2_hn_mlp_dyn_op20", "LSTM", 2, I=6, H=12, classifier="hn_mlp", n_classes=3),
        spec(
            "lstm_cls_l2_dropout_dyn_op20",
            "LSTM",
            2,
            I=6,
            H=12,
            dropout=0.2,
            head_dropout=0.3,
            classifier="last_linear",
        ),
        spec("gru_cls_bi_hn_cat_dyn_op20", "GRU", 1, True, I=6, H=12, classifier="hn_cat"),
        spec(
            "lstm_cls_bi_bf_last_softmax_dyn_op20",
            "LSTM",
            1,
            True,
            True,
            I=6,
            H=12,
            classifier="last_softmax",
        ),
        spec(
            "lstm_cls_last_softmax_static_op20",
            "LSTM",
            I=6,
            H=12,
            classifier="last_softmax",
            dynamic=False,
        ),
        spec(
            "lstm_cls_last_softmax_dyn_op9", "LSTM", I=6, H=12, classifier="last_softmax", opset=9
        ),
        spec(
            "gru_cls_bf_last_logsoftmax_dyn_op11",
            "GRU",
            bf=True,
            I=6,
            H=12,
            classifier="last_logsoftmax",
            opset=11,
        ),
    ]
    # 7. static shapes (no dynamic_axes)
    S += [
        spec("lstm_l1_uni_static_op20", "LSTM"),
        spec("gru_l2_bi_static_op20", "GRU", 2, True),
        spec("rnn_l1_uni_bf_static_op20", "RNN", 1, False, True),
        spec("lstm_l2_bi_bf_h0_static_op20", "LSTM", 2, True, True, h0=True),
    ]
    for s in S:
        if "_static_" in s["name"]:
            s["dynamic"] = False
    # 8. other opsets
    for op in (9, 11, 14, 17):
        S.append(spec(f"lstm_l1_uni_dyn_op{op}", "LSTM", opset=op))
    for op in (9, 14):
        S.append(spec(f"gru_l1_bi_bf_dyn_op{op}", "GRU", 1, True, True, opset=op))
    for op in (9, 17):
        S.append(spec(f"rnn_l2_uni_dyn_op{op}", "RNN", 2, opset=op))
    S.append(spec("lstm_l2_bi_h0_dyn_op11", "LSTM", 2, True, h0=True, opset=11))
    S.append(spec("lstm_l1_uni_static_op9", "LSTM", opset=9, dynamic=False))
    # opset 7 (expected to be dropped: ConstantFill)
    S += [
        spec("lstm_l1_uni_dyn_op7", "LSTM", opset=7),
        spec("gru_l1_uni_static_op7", "GRU", opset=7, dynamic=False),
        spec("rnn_l1_uni_h0_static_op7", "RNN", opset=7, h0=True, dynamic=False),
    ]
    # 9. do_constant_folding=False
    S += [
        spec("lstm_l1_bi_nofold_dyn_op20", "LSTM", 1, True, fold=False),
        spec("gru_l2_uni_nofold_dyn_op20", "GRU", 2, False, fold=False),
    ]
    names = [s["name"] for s in S]
    assert len(names) == len(set(names)), "duplicate names"
    return S


# --------------------------------------------------------------------------------------
# modules


class Net(nn.Module):
    """x [, lengths] [, h0 [, c0]] -> (y, h_n [, c_n])  or  -> classifier output."""

    def __init__(self, s):
        super().__init__()
        self.s = s
        kw = dict(
            input_size=s["I"],
            hidden_size=s["H"],
            num_layers=s["layers"],
            bidirectional=s["bidir"],
            batch_first=s["bf"],
            bias=s["bias"],
            dropout=s["dropout"],
        )
        if s["cell"] == "RNN":
            kw["nonlinearity"] = s["nonlinearity"]
        self.rnn = CELLS[s["cell"]](**kw)
        D = 2 if s["bidir"] else 1
        c = s["classifier"]
        if c is not None:
            self.drop = nn.Dropout(s["head_dropout"]) if s["head_dropout"] else None
            if c in ("last_softmax", "last_logsoftmax", "last_linear"):
                self.fc = nn.Linear(D * s["H"], s["n_classes"])
            elif c == "hn_mlp":
                self.fc1 = nn.Linear(s["H"], 16)
                self.act = nn.ReLU()
                self.fc2 = nn.Linear(16, s["n_classes"])
            elif c == "hn_cat":
                self.fc = nn.Linear(2 * s["H"], s["n_classes"])
            else:
                raise ValueError(c)

    def forward(self, x, *rest):
        s = self.s
        rest = list(rest)
        lengths = rest.pop(0) if s["packed"] else None
        hx = None
        if s["h0"]:
            hx = (rest[0], rest[1]) if s["cell"] == "LSTM" else rest[0]
        inp = x
        if lengths is not None:
            inp = pack_padded_sequence(
                x, lengths, batch_first=s["bf"], enforce_sorted=(s["packed"] == "sorted")
            )
        out = self.rnn(inp, hx) if hx is not None else self.rnn(inp)
        y, st = out
        if lengths is not None:
            y, _ = pad_packed_sequence(y, batch_first=s["bf"])
        c = s["classifier"]
        if c is None:
            return (y,) + (tuple(st) if s["cell"] == "LSTM" else (st,))
        h_n = st[0] if s["cell"] == "LSTM" else st
        if c.startswith("last"):
            if self.drop is not None:
                y = self.drop(y)
            last = y[:, -1] if s["bf"] else y[-1]
            z = self.fc(last)
            if c == "last_softmax":
                return torch.softmax(z, dim=-1)
            if c == "last_logsoftmax":
                return torch.log_softmax(z, dim=-1)
            return z
        if c == "hn_mlp":
            return self.fc2(self.act(self.fc1(h_n[-1])))
        if c == "hn_cat":
            return self.fc(torch.cat([h_n[-2], h_n[-1]], dim=1))
        raise ValueError(c)


# --------------------------------------------------------------------------------------
# inputs / io description


def io_names(s):
    ins = ["x"]
    if s["packed"]:
        ins.append("lengths")
    if s["h0"]:
        ins.append("h0")
        if s["cell"] == "LSTM":
            ins.append("c0")
    if s["classifier"] is None:
        outs = ["y", "h_n"] + (["c_n"] if s["cell"] == "LSTM" else [])
    else:
        outs = [
            "log_probs"
            if s["classifier"] == "last_logsoftmax"
            else "probs"
            if s["classifier"] == "last_softmax"
            else "logits"
        ]
    return ins, outs


def dyn_axes(s):
    ins, outs = io_names(s)
    seq = {0: "N", 1: "T"} if s["bf"] else {0: "T", 1: "N"}
    d = {}
    for n in ins + outs:
        if n in ("x", "y"):
            d[n] = dict(seq)
        elif n == "lengths":
            d[n] = {0: "N"}
        elif n in ("h0", "c0", "h_n", "c_n"):
            d[n] = {1: "N"}
        else:
            d[n] = {0: "N"}
    return d


def lengths_for(s, T, N, rng):
    """sorted: descending, lengths[0] == T.  unsorted: any order, max == T.  All in [1, T]."""
    ls = rng.randint(1, T + 1, size=N)
    if s["packed"] == "sorted":
        ls[0] = T
        ls = np.sort(ls)[::-1].copy()
    else:
        ls[rng.randint(N)] = T
        if N > 1 and np.all(np.diff(ls) <= 0):  # make sure it is really not sorted
            ls = ls[::-1].copy()
    return ls.astype(np.int64)


def make_inputs(s, T, N, seed):
    rng = np.random.RandomState(seed)
    D = 2 if s["bidir"] else 1
    xs = (N, T, s["I"]) if s["bf"] else (T, N, s["I"])
    arrs = [rng.uniform(-2, 2, size=xs).astype(np.float32)]
    if s["packed"]:
        arrs.append(lengths_for(s, T, N, rng))
    if s["h0"]:
        arrs.append(rng.uniform(-1, 1, size=(s["layers"] * D, N, s["H"])).astype(np.float32))
        if s["cell"] == "LSTM":
            arrs.append(rng.uniform(-1, 1, size=(s["layers"] * D, N, s["H"])).astype(np.float32))
    return arrs


def seed_of(name):
    return zlib.crc32(name.encode()) & 0x7FFFFFFF


def dims(vi):
    return [
        d.dim_param if d.HasField("dim_param") else int(d.dim_value)
        for d in vi.type.tensor_type.shape.dim
    ]


DTYPE = {1: "float32", 6: "int32", 7: "int64"}


def describe(m):
    inits = {i.name for i in m.graph.initializer}
    ins = {
        vi.name: {"shape": dims(vi), "dtype": DTYPE.get(vi.type.tensor_type.elem_type, "?")}
        for vi in m.graph.input
        if vi.name not in inits
    }
    outs = {
        vi.name: {"shape": dims(vi), "dtype": DTYPE.get(vi.type.tensor_type.elem_type, "?")}
        for vi in m.graph.output
    }
    rnn_nodes = []
    for n in m.graph.node:
        if n.op_type in ("LSTM", "GRU", "RNN"):
            attrs = {}
            for a in n.attribute:
                v = helper.get_attribute_value(a)
                if isinstance(v, bytes):
                    v = v.decode()
                elif isinstance(v, list):
                    v = [x.decode() if isinstance(x, bytes) else x for x in v]
                attrs[a.name] = v
            slots = ["X", "W", "R", "B", "sequence_lens", "initial_h", "initial_c", "P"]
            rnn_nodes.append(
                {
                    "op": n.op_type,
                    "attrs": attrs,
                    "inputs_present": [slots[i] for i, x in enumerate(n.input) if x],
                }
            )
    return ins, outs, rnn_nodes


# --------------------------------------------------------------------------------------
# export + verify


def export(s):
    torch.manual_seed(seed_of(s["name"]))
    net = Net(s).eval()
    ins, outs = io_names(s)
    args = tuple(
        torch.from_numpy(a) for a in make_inputs(s, EXPORT_T, EXPORT_N, seed_of(s["name"]) + 1)
    )
    f = io.BytesIO()
    kw = dict(dynamo=False, input_names=ins, output_names=outs, do_constant_folding=s["fold"])
    if s["opset"] != 20:
        kw["opset_version"] = s["opset"]
    if s["dynamic"]:
        kw["dynamic_axes"] = dyn_axes(s)
    with torch.no_grad():
        torch.onnx.export(net, args, f, **kw)
    return net, f.getvalue()


def verify(s, net, blob):
    m = onnx.load_from_string(blob)
    onnx.checker.check_model(m, full_check=True)
    so = ort.SessionOptions()
    so.intra_op_num_threads = 1
    so.inter_op_num_threads = 1
    so.log_severity_level = 3
    sess = ort.InferenceSession(blob, so, providers=["CPUExecutionProvider"])
    ins, outs = io_names(s)
    shapes = [(EXPORT_T, EXPORT_N)] + (EXTRA_SHAPES if s["dynamic"] else [])
    errs = []
    for T, N in shapes:
        arrs = make_inputs(s, T, N, seed_of(s["name"]) + 1000 * T + N)
        with torch.no_grad():
            ref = net(*[torch.from_numpy(a) for a in arrs])
        if isinstance(ref, torch.Tensor):
            ref = (ref,)
        got = sess.run(outs, dict(zip(ins, arrs)))
        e = 0.0
        for name, r, g in zip(outs, ref, got):
            r = r.numpy()
            if r.shape != g.shape:
                raise AssertionError(
                    f"{name} shape torch {r.shape} vs ort {g.shape} at T={T} N={N}"
                )
            e = max(e, float(np.max(np.abs(r - g))) if r.size else 0.0)
        if not e <= TOL:
            raise AssertionError(f"max abs err {e:.3g} > {TOL} at T={T} N={N}")
        errs.append(e)
    return shapes, errs


def entry(s, blob, shapes, errs):
    m = onnx.load_from_string(blob)
    ins, outs, rnn_nodes = describe(m)
    _, onames = io_names(s)
    e = {
        "file": s["name"] + ".onnx",
        "cell": s["cell"],
        "layers": s["layers"],
        "bidirectional": s["bidir"],
        "batch_first": s["bf"],
        "hidden": s["H"],
        "input_size": s["I"],
        "opset": s["opset"],
        "dynamic": s["dynamic"],
        "h0_input": s["h0"],
        "packed": bool(s["packed"]),
        "classifier": s["classifier"] is not None,
        "inputs": ins,
        "outputs": onames,
        "output_shapes": {k: v["shape"] for k, v in outs.items()},
        "test_shapes": [{"T": T, "N": N} for T, N in shapes],
        "bias": s["bias"],
        "do_constant_folding": s["fold"],
        "ir_version": m.ir_version,
        "size_bytes": len(blob),
        "sha256": hashlib.sha256(blob).hexdigest(),
        "max_abs_err_vs_torch": float(f"{max(errs):.1e}"),
        "node_ops": [n.op_type for n in m.graph.node],
        "rnn_nodes": rnn_nodes,
    }
    if s["cell"] == "RNN":
        e["nonlinearity"] = s["nonlinearity"]
    if s["packed"]:
        e["enforce_sorted"] = s["packed"] == "sorted"
        e["lengths_rule"] = (
            "sorted_desc_max_eq_T" if s["packed"] == "sorted" else "any_order_max_eq_T"
        )
    if s["classifier"]:
        e["classifier_kind"] = s["classifier"]
        e["n_classes"] = s["n_classes"]
    if s["dropout"] or s["head_dropout"]:
        e["dropout"] = {"rnn": s["dropout"], "head": s["head_dropout"], "mode": "eval"}
    notes = []
    if s["notes"] and s["notes"] != "grid":
        notes.append(s["notes"])
    if s["notes"] == "grid":
        notes.append("cross-product grid model")
    if s["packed"]:
        notes.append(
            "lengths: int64 [N], values in [1, T], max(lengths) == T (pad_packed_sequence "
            "without total_length returns max(lengths) steps)"
            + (
                "; must be sorted descending (torch enforce_sorted=True)"
                if s["packed"] == "sorted"
                else "; any order (enforce_sorted=False)"
            )
        )
    if s["classifier"]:
        notes.append(f"classifier head: {s['classifier']}")
    if s["dropout"] or s["head_dropout"]:
        notes.append("exported in eval mode: dropout disappears")
    if not s["fold"]:
        notes.append(
            "do_constant_folding=False: raw torch params are initializers, reordered in-graph"
        )
    if not s["dynamic"]:
        notes.append("static shapes (no dynamic_axes)")
    n_init_in = sum(vi.name in {i.name for i in m.graph.initializer} for vi in m.graph.input)
    if n_init_in:
        e["initializers_in_graph_inputs"] = n_init_in
        notes.append(
            f"{n_init_in} initializers are also listed in graph.input (ir_version "
            f"{m.ir_version}, opset < 9: no constant folding); 'inputs' omits them"
        )
    e["notes"] = "; ".join(notes)
    return e


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument(
        "--out", default=os.path.join(os.path.dirname(os.path.abspath(__file__)), "zoo")
    )
    ap.add_argument("--only", default=None)
    a = ap.parse_args()
    os.makedirs(a.out, exist_ok=True)
    entries, dropped = [], []
    for s in build_specs():
        if a.only and a.only not in s["name"]:
            continue
        stage = "export"
        blob = None
        try:
            net, blob = export(s)
            stage = "verify"
            shapes, errs = verify(s, net, blob)
        except Exception as ex:  # noqa: BLE001
            msg = f"{stage}: {type(ex).__name__}: {str(ex).splitlines()[0] if str(ex) else ''}"[
                :400
            ]
            d = {"name": s["name"], "reason": msg}
            if blob is not None:
                try:
                    d["node_ops"] = [n.op_type for n in onnx.load_from_string(blob).graph.node]
                except Exception:  # noqa: BLE001
                    pass
            dropped.append(d)
            print(f"DROP {s['name']}: {msg}", file=sys.stderr)
            continue
        path = os.path.join(a.out, s["name"] + ".onnx")
        with open(path, "wb") as fh:
            fh.write(blob)
        entries.append(entry(s, blob, shapes, errs))
        print(f"ok   {s['name']:45s} {len(blob):7d} B  err {max(errs):.1e}", file=sys.stderr)
    manifest = {
        "generator": "make_zoo.py",
        "torch": torch.__version__.split("+")[0],
        "onnx": onnx.__version__,
        "onnxruntime": ort.__version__,
        "tolerance": TOL,
        "export_shape": {"T": EXPORT_T, "N": EXPORT_N},
        "models": entries,
        "dropped": dropped,
    }
    if a.only:  # partial run: do not clobber the full manifest
        print(
            f"{len(entries)} models written, {len(dropped)} dropped (manifest not written)",
            file=sys.stderr,
        )
        return
    with open(os.path.join(a.out, "manifest.json"), "w") as fh:
        json.dump(manifest, fh, indent=1)
        fh.write("\n")
    print(f"{len(entries)} models written, {len(dropped)} dropped", file=sys.stderr)


if __name__ == "__main__":
    main()
