"""Python API: compile in-process, without the CLI or an output directory.

from ernnc.compiler.api import compile_module, numpy_model
ref = numpy_model("model.onnx")          # the generated model, loaded
outputs = ref.run({"X": x})
"""

from __future__ import annotations

import types
from pathlib import Path

import onnx
from xdsl.dialects.builtin import ModuleOp
from xdsl.utils.exceptions import PassFailedException

from .context import make_context
from .errors import ErnncError
from .onnx_import import import_onnx, load_model
from .pipeline import STAGES, PipelineOptions, default_pipeline, parse_passes

ModelLike = str | Path | onnx.ModelProto | bytes


def import_model(model: ModelLike) -> ModuleOp:
    """The model-level module of an ONNX model (path, bytes or ModelProto)."""
    if isinstance(model, onnx.ModelProto):
        proto = model
    elif isinstance(model, bytes):
        from .onnx_import import parse_model

        proto = parse_model(model)
    else:
        proto = load_model(model)
    return import_onnx(proto)


def lower(module: ModuleOp, stage: str, options: PipelineOptions | None = None) -> ModuleOp:
    """Run the default pipeline on a model-level module up to ``stage`` (in place)."""
    if stage not in STAGES:
        raise ValueError(f"unknown stage {stage!r}")
    ctx = make_context()
    order = list(STAGES)
    for name, spec in default_pipeline(options or PipelineOptions()):
        if order.index(name) > order.index(stage):
            break
        for p in parse_passes(spec):
            try:
                p.apply(ctx, module)
            except PassFailedException as e:
                raise ErnncError(f"pass '{p.name}': {e}") from None
        module.verify()
    return module


def compile_module(
    model: ModelLike, stage: str = "fft", options: PipelineOptions | None = None
) -> ModuleOp:
    return lower(import_model(model), stage, options)


def run_passes(module: ModuleOp, pipeline: str) -> ModuleOp:
    """Apply a pass pipeline string to ``module`` in place, verifying after
    each pass; errors are ``ErnncError``s naming the pass (and the op)."""
    from .pipeline import PassRunner

    PassRunner(make_context()).run(parse_passes(pipeline), module)
    return module


def numpy_model(
    model: ModelLike | ModuleOp, stage: str = "fft", options: PipelineOptions | None = None
) -> types.ModuleType:
    """The generated NumPy model, loaded in memory (``.run(inputs)``)."""
    from ..backends.numpy import emit_numpy, load_emitted

    module = model if isinstance(model, ModuleOp) else compile_module(model, stage, options)
    return load_emitted(emit_numpy(module))
