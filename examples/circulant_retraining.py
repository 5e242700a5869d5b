"""Recovering accuracy with block-circulant-aware retraining (ADMM), on real data.

    pip install -e '.[train]' && pip install --no-deps aeon   # torch 2.13 CPU; aeon for its data files
    python examples/circulant_retraining.py                   # full run, a few minutes on 2 cores
    python examples/circulant_retraining.py --quick           # the reduced setting CI runs
    python examples/circulant_retraining.py --dataset BasicMotions   # multivariate: W compressed

Two data sets shipped in the aeon wheel (UCR/UEA archive), ``--dataset``:

- ItalyPowerDemand (default): classify a day's 24 hourly power-demand readings as October-March or
  April-September. 67 training days, 1029 test days, so one test sample is 0.1 point. Univariate,
  so each input matrix W is 4H x 1 (3H x 1): block-circulant at any b, not compressed; all the
  compression is in the recurrent matrices R.
- BasicMotions: 6 channels (3-D accelerometer and gyroscope of a smart watch, 100 steps at 10 Hz),
  4 activities, 40 training / 40 test recordings (one test sample is 2.5 points). W is 4H x 6
  (3H x 6) and is compressed too, so retraining has to recover it as well.

Features, classes and sequence length come from the files. For LSTM and GRU classifiers (H=64, a
linear head on the last step) it

1. trains the dense model (float, torch);
2. compiles the dense export with ``ernnc --block-size b``: the compiler projects the weights onto
   block-circulant ones, which is what a dense-trained model gets without retraining ("projected");
3. retrains with ADMM towards block-circulant weights, hard-projects, fine-tunes with the projection
   after every step ("retrained", torch float); as a baseline, fine-tunes the projected dense model
   with the projection after every step for the same number of epochs ("proj.+FT");
4. exports the retrained model (legacy exporter) and compiles it with ernnc at block size b: every
   matrix, W and R, must convert losslessly (``exact`` in report.json), and the generated NumPy
   model must classify the test set as torch does; then again at 16-bit fixed point
   (``--precision auto:16``, the bit-accurate integer model: "quantized");
5. prints the table (mean over seeds) and writes it, with every per-seed number, to OUT/results.json
   and OUT/table.md.

The compiler never imports torch: it only reads the exported ONNX files.
"""

from __future__ import annotations

import argparse
import dataclasses
import importlib.util
import json
import time
import types
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from torch import nn
from torch.nn import functional as F

from ernnc.compiler.cli import main as ernnc_main
from ernnc.train import (
    ADMM,
    Target,
    block_circulant_project,
    circulant_targets,
    export_onnx,
    project_targets,
    ucr,
)

DATASETS = ("ItalyPowerDemand", "BasicMotions")
# fixed point for the "quantized" column: 16 bits, integer bits from the calibrated ranges
PRECISION = "auto:16"


@dataclass(frozen=True)
class Config:
    hidden: int = 64
    batch: int = 16
    dense_epochs: int = 400  # every seed converges (100 at 1e-2 leave some at 91-93%)
    dense_lr: float = 3e-3
    admm_epochs: int = 200  # ADMM phase, Z/U update every `admm_every` epochs
    admm_every: int = 5
    admm_lr: float = 3e-3
    rho: float = 1e-2  # initial penalty, times `rho_growth` per update, up to `rho_max`
    rho_growth: float = 1.5
    rho_max: float = 1e3
    finetune_epochs: int = 30  # after the hard projection, projecting after every step
    finetune_lr: float = 1e-3
    blocks: tuple[int, ...] = (2, 4, 8, 16)
    kinds: tuple[str, ...] = ("LSTM", "GRU")
    seeds: int = 3


QUICK = Config(
    dense_epochs=6,
    dense_lr=1e-2,
    admm_epochs=4,
    admm_every=2,
    finetune_epochs=1,
    blocks=(2, 8),
    seeds=1,
)


class Classifier(nn.Module):
    """One recurrent layer, a linear head on the last step; x is [T, N, features]."""

    def __init__(self, kind: str, features: int, hidden: int, classes: int):
        super().__init__()
        self.rnn: nn.RNNBase = getattr(nn, kind)(features, hidden)
        self.head = nn.Linear(hidden, classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y, _ = self.rnn(x)
        return self.head(y[-1])


@dataclass(frozen=True)
class Data:
    x_train: torch.Tensor  # [T, N, D]
    y_train: torch.Tensor
    x_test: np.ndarray  # [T, N, D] float32, as the compiled model takes it
    y_test: np.ndarray
    classes: int


def load_data(name: str = DATASETS[0]) -> Data:
    """A set shipped in the aeon wheel; features and classes come from the files."""
    d = ucr.load(name)

    def seq_first(a: np.ndarray) -> np.ndarray:
        return np.ascontiguousarray(a.transpose(1, 0, 2))

    return Data(
        torch.from_numpy(seq_first(d.train.x)),
        torch.from_numpy(d.train.y),
        seq_first(d.test.x),
        d.test.y,
        len(d.classes),
    )


def batches(data: Data, batch: int, seed: int) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
    order = torch.randperm(data.y_train.numel(), generator=torch.Generator().manual_seed(seed))
    for i in range(0, len(order), batch):
        idx = order[i : i + batch]
        yield data.x_train[:, idx], data.y_train[idx]


def fit(
    model: nn.Module,
    data: Data,
    cfg: Config,
    epochs: int,
    lr: float,
    seed: int,
    *,
    admm: ADMM | None = None,
    admm_every: int = 1,
    project_each_step: list[Target] | None = None,
) -> None:
    """Adam on cross-entropy (+ the ADMM penalty); optionally re-project after every step."""
    opt = torch.optim.Adam(model.parameters(), lr=lr)
    model.train()
    for epoch in range(epochs):
        for x, y in batches(data, cfg.batch, seed * 100_003 + epoch):
            loss = F.cross_entropy(model(x), y)
            if admm is not None:
                loss = loss + admm.penalty()
            opt.zero_grad()
            loss.backward()
            opt.step()
            if project_each_step:
                project_targets(project_each_step)
        if admm is not None and epoch % admm_every == admm_every - 1:
            admm.update()
    model.eval()


def torch_accuracy(model: nn.Module, data: Data) -> float:
    with torch.no_grad():
        pred = model(torch.from_numpy(data.x_test)).argmax(1).numpy()
    return float((pred == data.y_test).mean())


def export(model: nn.Module, data: Data, path: Path) -> Path:
    return export_onnx(
        model,
        data.x_train[:, :2],
        path,
        input_names=["x"],
        output_names=["logits"],
        dynamic_axes={"x": {0: "T", 1: "N"}, "logits": {0: "N"}},
    )


def _load(path: Path) -> types.ModuleType:
    spec = importlib.util.spec_from_file_location(f"ref_{path.parent.name}", path)
    assert spec and spec.loader
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


@dataclass(frozen=True)
class Compiled:
    predictions: np.ndarray  # class per test sequence
    accuracy: float
    exact: bool  # every compressed matrix converted losslessly
    ratio_recurrent: float
    ratio_model: float
    # per kind of matrix, "W" (input) and "R" (recurrent), over every layer and direction:
    # ratio, exact (every one lossless) and the largest relative projection error
    matrices: dict[str, dict]


def compile_and_score(
    onnx_path: Path, b: int, data: Data, calib: Path, out: Path, extra: Sequence[str] = ()
) -> Compiled:
    """``ernnc ONNX -o OUT --block-size b`` (the real CLI, in process), then the
    generated model on the test set."""
    argv = [str(onnx_path), "-o", str(out), "--block-size", str(b), "--calib", str(calib), "-q"]
    if ernnc_main([*argv, *extra]) != 0:
        raise RuntimeError(f"ernnc {' '.join(argv + list(extra))} failed")
    report = json.loads((out / "report.json").read_text())
    comp = report["compression"]
    pred = np.asarray(_load(out / "model_ref.py").run({"x": data.x_test})["logits"]).argmax(1)
    matrices = {}
    for kind in ("W", "R"):
        group = [m for m in comp["matrices"] if m["name"].rsplit(".", 1)[-1] == kind]
        matrices[kind] = {
            "ratio": sum(m["params_dense"] for m in group)
            / sum(m["params_compressed"] for m in group),
            "exact": all(m["exact"] for m in group if m["block"] > 1),
            "rel_error": max(m["rel_error"] for m in group),
        }
    return Compiled(
        pred,
        float((pred == data.y_test).mean()),
        all(m["exact"] for m in comp["matrices"] if m["block"] > 1),
        comp["recurrent"]["ratio"],
        comp["model"]["ratio"],
        matrices,
    )


def quantized(onnx_path: Path, b: int, data: Data, calib: Path, out: Path) -> Compiled:
    """The bit-accurate fixed-point model (integers throughout, 16-bit tensors)."""
    return compile_and_score(onnx_path, b, data, calib, out, ["--precision", PRECISION])


def run_one(
    kind: str, seed: int, data: Data, cfg: Config, out: Path, log: Callable[[str], None]
) -> list[dict]:
    """Every block size for one (model kind, seed)."""
    calib = out / "calib.npz"
    torch.manual_seed(seed)
    dense = Classifier(kind, data.x_train.shape[2], cfg.hidden, data.classes)
    t0 = time.perf_counter()
    fit(dense, data, cfg, cfg.dense_epochs, cfg.dense_lr, seed)
    dense_acc = torch_accuracy(dense, data)
    log(f"{kind} seed {seed}: dense {100 * dense_acc:.2f}% ({time.perf_counter() - t0:.1f}s)")
    tag = f"{kind.lower()}-s{seed}"
    dense_onnx = export(dense, data, out / f"{tag}-dense.onnx")
    rows = []
    for b in cfg.blocks:
        t0 = time.perf_counter()
        # what ernnc makes of the dense model: its own projection
        projected = compile_and_score(dense_onnx, b, data, calib, out / f"{tag}-dense-b{b}")
        # the same projection on the torch side, for the cross-check
        torch_projected = clone(dense)
        block_circulant_project(torch_projected.rnn, b)

        retrained = clone(dense)
        admm = ADMM(retrained.rnn, b, rho=cfg.rho, growth=cfg.rho_growth, rho_max=cfg.rho_max)
        fit(
            retrained, data, cfg, cfg.admm_epochs, cfg.admm_lr, seed + 1,
            admm=admm, admm_every=cfg.admm_every,
        )  # fmt: skip
        residual = admm.residual()
        admm.project()
        hard_acc = torch_accuracy(retrained, data)
        fit(
            retrained, data, cfg, cfg.finetune_epochs, cfg.finetune_lr, seed + 2,
            project_each_step=admm.targets,
        )  # fmt: skip
        retrained_acc = torch_accuracy(retrained, data)

        # baseline with the same budget: projected fine-tuning from the dense model
        baseline = clone(torch_projected)
        targets = circulant_targets(baseline.rnn, b)
        fit(baseline, data, cfg, cfg.admm_epochs, cfg.admm_lr, seed + 1, project_each_step=targets)
        fit(
            baseline, data, cfg, cfg.finetune_epochs, cfg.finetune_lr, seed + 2,
            project_each_step=targets,
        )  # fmt: skip

        onnx_path = export(retrained, data, out / f"{tag}-admm-b{b}.onnx")
        compiled = compile_and_score(onnx_path, b, data, calib, out / f"{tag}-admm-b{b}")
        quant = quantized(onnx_path, b, data, calib, out / f"{tag}-admm-b{b}-fixed")
        row = {
            "kind": kind,
            "seed": seed,
            "block": b,
            "dense": dense_acc,
            "projected": projected.accuracy,
            "projected_torch": torch_accuracy(torch_projected, data),
            "admm_residual": residual,
            "admm_hard_projection": hard_acc,
            "retrained": retrained_acc,
            "retrained_compiled": compiled.accuracy,
            "retrained_exact": compiled.exact,
            "retrained_exact_W": compiled.matrices["W"]["exact"],
            "retrained_exact_R": compiled.matrices["R"]["exact"],
            # what ernnc's projection loses of the dense model's W and R (relative Frobenius)
            "projected_error_W": projected.matrices["W"]["rel_error"],
            "projected_error_R": projected.matrices["R"]["rel_error"],
            "quantized": quant.accuracy,
            # test sequences the fixed-point model classifies as the float one does
            "quantized_agreement": float((quant.predictions == compiled.predictions).mean()),
            "projected_finetune": torch_accuracy(baseline, data),
            "ratio_W": compiled.matrices["W"]["ratio"],
            "ratio_R": compiled.matrices["R"]["ratio"],
            "ratio_recurrent": compiled.ratio_recurrent,
            "ratio_model": compiled.ratio_model,
        }
        rows.append(row)
        log(
            f"  b={b:<2} projected {100 * row['projected']:.2f}%  retrained "
            f"{100 * retrained_acc:.2f}% (compiled {100 * compiled.accuracy:.2f}%, "
            f"exact {compiled.exact})  quantized {100 * quant.accuracy:.2f}%  proj.+FT "
            f"{100 * row['projected_finetune']:.2f}%  ({time.perf_counter() - t0:.1f}s)"
        )
    return rows


def clone(model: Classifier) -> Classifier:
    """A copy with the same weights, in eval mode."""
    copy = Classifier(
        type(model.rnn).__name__,
        model.rnn.input_size,
        model.rnn.hidden_size,
        model.head.out_features,
    )
    copy.load_state_dict(model.state_dict())
    return copy.eval()


COLUMNS = [
    ("dense", "dense float"),
    ("projected", "projected"),
    ("retrained", "retrained"),
    ("quantized", f"retrained + {PRECISION} fixed"),
    ("projected_finetune", "proj.+FT (baseline)"),
]


def table(rows: list[dict]) -> str:
    """Markdown: mean test accuracy over seeds (± std with several seeds)."""
    # a univariate W (4H x 1, 3H x 1) is circulant at any b and not compressed (ratio 1):
    # its own ratio is shown only when some W is compressed
    show_w = any(r["ratio_W"] != 1.0 for r in rows)
    ratios = "ratio (W / recurrent / model)" if show_w else "ratio (recurrent / model)"
    head = ["model", "b", ratios, *(title for _, title in COLUMNS)]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for kind in dict.fromkeys(r["kind"] for r in rows):
        for b in dict.fromkeys(r["block"] for r in rows):
            group = [r for r in rows if r["kind"] == kind and r["block"] == b]
            ratio = f"{group[0]['ratio_recurrent']:.2f}x / {group[0]['ratio_model']:.2f}x"
            if show_w:
                ratio = f"{group[0]['ratio_W']:.2f}x / {ratio}"
            cells = [kind, str(b), ratio]
            for key, _ in COLUMNS:
                v = 100 * np.array([r[key] for r in group], dtype=np.float64)
                cells.append(f"{v.mean():.2f}" + (f" ± {v.std(ddof=1):.2f}" if len(v) > 1 else ""))
            lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> dict:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--quick", action="store_true", help="the reduced setting (a few epochs)")
    p.add_argument("--dataset", choices=DATASETS, default=DATASETS[0], help="default %(default)s")
    p.add_argument("--out", type=Path, default=Path("retraining-out"), help="output directory")
    p.add_argument("--seeds", type=int, help="number of seeds (default 3; 1 with --quick)")
    p.add_argument(
        "--first-seed", type=int, default=0, help="seeds FIRST, FIRST+1, ... (default 0)"
    )
    p.add_argument("--blocks", help="block sizes, e.g. 2,4,8,16")
    p.add_argument("-q", "--quiet", action="store_true")
    args = p.parse_args(argv)
    cfg = QUICK if args.quick else Config()
    if args.seeds:
        cfg = dataclasses.replace(cfg, seeds=args.seeds)
    if args.blocks:
        cfg = dataclasses.replace(cfg, blocks=tuple(int(b) for b in args.blocks.split(",")))
    log = (lambda s: None) if args.quiet else (lambda s: print(s, flush=True))
    torch.set_num_threads(1)  # two threads on small matrices are slower and erratic here
    out = args.out
    out.mkdir(parents=True, exist_ok=True)
    data = load_data(args.dataset)
    np.savez(out / "calib.npz", x=data.x_train.numpy())  # calibration: the training set
    t0 = time.perf_counter()
    rows = [
        row
        for kind in cfg.kinds
        for seed in range(args.first_seed, args.first_seed + cfg.seeds)
        for row in run_one(kind, seed, data, cfg, out, log)
    ]
    seconds = time.perf_counter() - t0
    md = table(rows)
    notes = [
        (
            f"{args.dataset}: {data.y_train.numel()} training / {len(data.y_test)} test "
            f"sequences of {data.x_test.shape[0]} steps x {data.x_test.shape[2]} features, "
            f"{data.classes} classes; "
            f"test accuracy in %, mean over {cfg.seeds} seed(s); {seconds:.0f} s on "
            f"{torch.get_num_threads()} torch thread(s)."
        ),
    ]
    result = {
        "dataset": args.dataset,
        "features": data.x_test.shape[2],
        "classes": data.classes,
        "test_samples": len(data.y_test),
        "config": dataclasses.asdict(cfg),
        "first_seed": args.first_seed,
        "seconds": seconds,
        "rows": rows,
    }
    (out / "results.json").write_text(json.dumps(result, indent=1))
    (out / "table.md").write_text(md + "\n\n" + "\n".join(notes) + "\n")
    print(md + "\n\n" + "\n".join(notes))
    return result


if __name__ == "__main__":
    main()
