"""ernnc.train (issue #9): torch-side projection against the compiler's
pass, ADMM against its update rule, and a tiny retraining run whose
compiled accuracy must equal its torch accuracy.

Oracles: the generators that the ernn-block-circulant pass computes on the
exported dense model; ``exact`` flags of the pass; the NumPy model that ernnc
generates; explicit NumPy formulas for the ADMM steps."""

from __future__ import annotations

import numpy as np
import pytest

torch = pytest.importorskip("torch")
from torch import nn

from ernnc.circulant import Blocking, expand, project
from ernnc.compiler.api import compile_module, numpy_model
from ernnc.compiler.pipeline import PipelineOptions
from ernnc.dialects import circ
from ernnc.dialects.constants import constant_value
from ernnc.train import (
    ADMM,
    block_circulant_project,
    circulant_targets,
    export_onnx,
    generators,
    is_block_circulant,
)

torch.set_num_threads(1)

# torch's gate chunks by ONNX gate name (torch LSTM i,f,g,o; GRU r,z,n; ONNX i,o,f,c; z,r,h)
TORCH_GATE = {
    nn.LSTM: {"i": 0, "f": 1, "c": 2, "o": 3},
    nn.GRU: {"r": 0, "z": 1, "h": 2},
    nn.RNN: {"i": 0},
}


class Seq(nn.Module):
    """A recurrent module with a linear head on every step, seq-first."""

    def __init__(self, rnn: nn.RNNBase, classes: int = 3):
        super().__init__()
        self.rnn = rnn
        self.head = nn.Linear(rnn.hidden_size * (2 if rnn.bidirectional else 1), classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y, _ = self.rnn(x)
        return self.head(y)


def _export(model: nn.Module, features: int, path) -> None:
    export_onnx(
        model,
        torch.zeros(5, 2, features),
        path,
        input_names=["x"],
        output_names=["y"],
        dynamic_axes={"x": {0: "T", 1: "N"}, "y": {0: "T", 1: "N"}},
    )


def _torch_name(matrix: str) -> str:
    """layer1.bwd.R -> weight_hh_l1_reverse"""
    layer, direction, kind = matrix.split(".")
    suffix = "_reverse" if direction == "bwd" else ""
    return f"weight_{'ih' if kind == 'W' else 'hh'}_l{layer[5:]}{suffix}"


def _pass_generators(path, b: int) -> dict[str, tuple[tuple[str, ...], np.ndarray, bool]]:
    module = compile_module(path, "circulant", PipelineOptions(block_size=str(b)))
    out = {}
    for op in module.walk():
        if isinstance(op, circ.MatVecOp):
            out[op.matrix.data] = (op.gate_names, constant_value(op.gen), op.exact is not None)
    return out


CASES = [
    (nn.LSTM, {"input_size": 5, "hidden_size": 12, "num_layers": 2}, 4),
    (nn.LSTM, {"input_size": 16, "hidden_size": 16, "bidirectional": True}, 8),
    (nn.GRU, {"input_size": 7, "hidden_size": 10, "num_layers": 2, "bidirectional": True}, 4),
    (nn.GRU, {"input_size": 3, "hidden_size": 20}, 16),
    (nn.RNN, {"input_size": 9, "hidden_size": 13, "num_layers": 2}, 2),
    (nn.RNN, {"input_size": 4, "hidden_size": 8, "nonlinearity": "relu"}, 8),
]


@pytest.mark.parametrize("cls,kw,b", CASES, ids=lambda c: getattr(c, "__name__", None))
def test_projection_agrees_with_the_pass_bit_for_bit(cls, kw, b, tmp_path):
    torch.manual_seed(0)
    model = Seq(cls(**kw)).eval()
    with torch.no_grad():
        for p in model.parameters():
            p.normal_()  # dense random weights, no structure
    path = tmp_path / "dense.onnx"
    _export(model, kw["input_size"], path)
    ours = generators(model.rnn, b)
    theirs = _pass_generators(path, b)
    # every recurrent matrix was compressed, none of them losslessly
    assert sorted(_torch_name(m) for m in theirs) == sorted(ours)
    gates = {"LSTM": 4, "GRU": 3, "RNN": 1}[cls.__name__]
    for matrix, (gate_names, gen, exact) in theirs.items():
        assert not exact
        torch_gen = ours[_torch_name(matrix)]
        p = torch_gen.shape[0] // gates
        chunks = [TORCH_GATE[cls][g] for g in gate_names]
        reordered = np.concatenate([torch_gen[c * p : (c + 1) * p] for c in chunks])
        np.testing.assert_array_equal(reordered, gen, err_msg=matrix)


@pytest.mark.parametrize("cls,kw,b", CASES, ids=lambda c: getattr(c, "__name__", None))
def test_projected_module_exports_exactly_block_circulant(cls, kw, b, tmp_path):
    torch.manual_seed(1)
    model = Seq(cls(**kw)).eval()
    targets = block_circulant_project(model, b)
    assert {t.name for t in targets} == {
        f"rnn.{n}" for n, _ in model.rnn.named_parameters() if n.startswith("weight")
    }
    assert is_block_circulant(model, b)
    path = tmp_path / "bc.onnx"
    _export(model, kw["input_size"], path)
    flags = {m: exact for m, (_, _, exact) in _pass_generators(path, b).items()}
    assert flags and all(flags.values()), flags
    x = np.random.default_rng(2).standard_normal((11, 3, kw["input_size"])).astype(np.float32)
    with torch.no_grad():
        want = model(torch.from_numpy(x)).numpy()
    got = numpy_model(path, options=PipelineOptions(block_size=str(b))).run({"x": x})["y"]
    np.testing.assert_allclose(got, want, atol=2e-5, rtol=1e-4)


def test_projection_is_the_nearest_block_circulant_matrix_gate_by_gate():
    torch.manual_seed(3)
    lstm = nn.LSTM(6, 10)
    w = lstm.weight_hh_l0.detach().numpy().copy()
    block_circulant_project(lstm, 4)
    got = lstm.weight_hh_l0.detach().numpy()
    # oracle: each torch gate (10 rows) projected on its own
    want = np.concatenate(
        [
            expand(
                project(w[g * 10 : (g + 1) * 10], Blocking(1, 10, 10, 4)), Blocking(1, 10, 10, 4)
            )
            for g in range(4)
        ]
    )
    np.testing.assert_array_equal(got, want)
    # blocking the stacked 40 x 10 matrix as one gate would be different
    assert not np.array_equal(
        got, expand(project(w, Blocking(1, 40, 10, 4)), Blocking(1, 40, 10, 4))
    )


def test_targets_options():
    model = Seq(nn.GRU(4, 6))
    assert circulant_targets(model, 1) == []
    assert [t.name for t in circulant_targets(model, 2, linear=True)][-1] == "head.weight"
    bare = nn.Linear(8, 6)
    (t,) = circulant_targets(bare, 4)
    assert t.blocking == Blocking(1, 6, 8, 4)
    with pytest.raises(ValueError, match="proj_size"):
        circulant_targets(nn.LSTM(4, 8, proj_size=2), 2)
    with pytest.raises(ValueError, match="at least 1"):
        circulant_targets(model, 0)


def test_admm_steps_follow_the_update_rule():
    torch.manual_seed(4)
    lstm = nn.LSTM(3, 8)
    admm = ADMM(lstm, 4, rho=0.5, growth=2.0, rho_max=1.5)
    bl = {t.name: t.blocking for t in admm.targets}
    w = {t.name: t.param.detach().numpy().astype(np.float64) for t in admm.targets}
    u = {n: np.zeros_like(v) for n, v in w.items()}
    z = {n: expand(project(w[n], bl[n]), bl[n]) for n in w}
    rho = 0.5
    for step in range(3):
        with torch.no_grad():
            for t in admm.targets:  # stand-in for training: move W
                t.param.add_(0.1 * torch.randn_like(t.param))
        w = {t.name: t.param.detach().numpy().astype(np.float64) for t in admm.targets}
        pen = 0.5 * rho * sum(((w[n] - z[n] + u[n]) ** 2).sum() for n in w)
        assert float(admm.penalty().detach()) == pytest.approx(pen, rel=1e-5)
        admm.update()
        new_rho = min(rho * 2.0, 1.5)
        for n in w:
            z[n] = expand(project(w[n] + u[n], bl[n]), bl[n])
            u[n] = (u[n] + w[n] - z[n]) * rho / new_rho
        rho = new_rho
        assert admm.rho == rho
        for t, zt, ut in zip(admm.targets, admm.z, admm.u):
            np.testing.assert_allclose(zt.numpy(), z[t.name], atol=1e-6)
            np.testing.assert_allclose(ut.numpy(), u[t.name], atol=1e-6)
    # gradient of the penalty is rho (W - Z + U)
    admm.penalty().backward()
    for t, zt, ut in zip(admm.targets, admm.z, admm.u):
        np.testing.assert_allclose(
            t.param.grad.numpy(), (rho * (t.param - zt + ut)).detach().numpy(), rtol=1e-5, atol=1e-7
        )


def _synthetic(n: int, seed: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Noisy sine sequences; the class is which of 3 frequencies."""
    g = torch.Generator().manual_seed(seed)
    y = torch.randint(0, 3, (n,), generator=g)
    t = torch.arange(20, dtype=torch.float32)[:, None]
    phase = 6.28 * torch.rand(n, generator=g)
    freq = torch.tensor([0.3, 0.7, 1.3])[y]
    x = torch.sin(freq * t + phase) + 0.3 * torch.randn(20, n, generator=g)
    return x[:, :, None].repeat(1, 1, 4) * torch.tensor([1.0, -0.5, 0.25, 2.0]), y


class LastStep(nn.Module):
    def __init__(self, rnn: nn.RNNBase, classes: int = 3):
        super().__init__()
        self.rnn = rnn
        self.head = nn.Linear(rnn.hidden_size, classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y, _ = self.rnn(x)
        return self.head(y[-1])


@pytest.mark.parametrize("cls", [nn.LSTM, nn.GRU])
def test_admm_converges_to_an_exactly_block_circulant_model(cls, tmp_path):
    b = 8
    x, y = _synthetic(256, 0)
    xt, yt = _synthetic(300, 1)
    torch.manual_seed(0)
    model = LastStep(cls(4, 16))
    opt = torch.optim.Adam(model.parameters(), lr=1e-2)
    admm = ADMM(model, b, rho=1e-2, growth=1.6, rho_max=1e3)
    for epoch in range(60):
        for i in range(0, 256, 32):
            loss = nn.functional.cross_entropy(model(x[:, i : i + 32]), y[i : i + 32])
            loss = loss + admm.penalty()
            opt.zero_grad()
            loss.backward()
            opt.step()
        if epoch % 3 == 2:
            admm.update()
    assert not is_block_circulant(model, b)
    assert admm.residual() < 0.02  # W has been pulled onto its projection
    admm.project()
    assert is_block_circulant(model, b)
    model.eval()
    with torch.no_grad():
        logits = model(xt).numpy()
    torch_acc = float((logits.argmax(1) == yt.numpy()).mean())
    assert torch_acc > 0.8  # chance is 1/3
    path = tmp_path / "admm.onnx"
    export_onnx(
        model,
        xt[:, :2],
        path,
        input_names=["x"],
        output_names=["logits"],
        dynamic_axes={"x": {0: "T", 1: "N"}, "logits": {0: "N"}},
    )
    flags = [exact for _, _, exact in _pass_generators(path, b).values()]
    assert flags and all(flags)
    got = numpy_model(path, options=PipelineOptions(block_size=str(b))).run({"x": xt.numpy()})
    compiled_acc = float((got["logits"].argmax(1) == yt.numpy()).mean())
    assert compiled_acc == torch_acc
    np.testing.assert_allclose(got["logits"], logits, atol=1e-4, rtol=1e-4)
