"""Output targets of ``ernnc-opt -t NAME`` (and of stock ``xdsl-opt`` through
ernnc's ``xdsl.universe`` entry point, see ``universe.py``).

A target is an ``xdsl.utils.target.Target``: a frozen dataclass whose fields
are its options (``-t 'numpy{weights="w.npz"}'``). To add one (the HLS
backend, say), define it here or in its backend package and add its factory
to ``ERNNC_TARGETS``; if it writes files beside ``-o``, add the options to
derive from ``-o`` to ``BESIDE_OUTPUT``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import IO

from xdsl.context import Context
from xdsl.dialects.builtin import ModuleOp
from xdsl.utils.target import Target

from .errors import ErnncError


@dataclass(frozen=True)
class NumpyTarget(Target):
    """The NumPy reference model; its weights go to ``weights`` (a path)."""

    name = "numpy"
    weights: str = ""

    def emit(self, ctx: Context, module: ModuleOp, output: IO[str]) -> None:
        from ..backends.numpy import UnsupportedOpError, emit_numpy
        from ..backends.numpy.npz import save_npz

        if not self.weights:
            raise ErnncError(
                "the numpy target needs a file for its weights: -o FILE (they go beside it), "
                "or -t 'numpy{weights=\"PATH\"}'"
            )
        try:
            emitted = emit_numpy(module)
        except UnsupportedOpError as e:
            raise ErnncError(f"NumPy backend: {e}") from None
        try:
            save_npz(self.weights, emitted.weights)
        except OSError as e:
            raise ErnncError(f"cannot write weights {self.weights}: {e.strerror or e}") from None
        output.write(emitted.source)


def _numpy() -> type[Target]:
    return NumpyTarget


@dataclass(frozen=True)
class HlsTarget(Target):
    """The HLS project's files, one after another, each after a
    ``// ---- <name> ----`` line (``ernnc -o OUT`` writes them as files)."""

    name = "hls"
    top: str = "ernnc_top"

    def emit(self, ctx: Context, module: ModuleOp, output: IO[str]) -> None:
        from ..backends.hls import HlsError, emit_hls

        try:
            project = emit_hls(module, top=self.top)
        except HlsError as e:
            raise ErnncError(f"HLS backend: {e}") from None
        for name, text in sorted(project.files.items()):
            output.write(f"// ---- {name} ----\n{text}")


def _hls() -> type[Target]:
    return HlsTarget


# name -> factory of the Target class. The registration point for new targets.
ERNNC_TARGETS: dict[str, Callable[[], type[Target]]] = {"numpy": _numpy, "hls": _hls}

# target name -> the options it takes from ernnc-opt's -o path, when not given
BESIDE_OUTPUT: dict[str, Callable[[Path], dict[str, str]]] = {
    "numpy": lambda out: {"weights": str(out.with_name("weights.npz"))},
}
