"""``ernnc-opt``: an xdsl-opt that knows ernnc's dialects, passes, the ONNX
frontend and the NumPy target.

    ernnc-opt model.onnx -p 'convert-ernn-to-cell,ernn-fuse-gates,dce' -o cell.mlir
    ernnc-opt cell.mlir -t numpy -o out/model_ref.py     # weights go to out/weights.npz
"""

from __future__ import annotations

import argparse
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import IO

from xdsl.context import Context
from xdsl.dialects.builtin import ModuleOp
from xdsl.utils.target import Target
from xdsl.xdsl_opt_main import xDSLOptMain

from .context import ernnc_dialects


@dataclass(frozen=True)
class NumpyTarget(Target):
    """The NumPy reference model; its weights go to ``weights`` (a path)."""

    name = "numpy"
    weights: str = ""

    def emit(self, ctx: Context, module: ModuleOp, output: IO[str]) -> None:
        from ..backends.numpy import emit_numpy
        from ..backends.numpy.npz import save_npz

        if not self.weights:
            raise ValueError("the numpy target needs -o FILE (its weights go beside it)")
        emitted = emit_numpy(module)
        save_npz(self.weights, emitted.weights)
        output.write(emitted.source)


class ErnncOptMain(xDSLOptMain):
    version_format = "ernnc-opt (xdsl {xdsl_version})"

    def register_all_dialects(self) -> None:
        super().register_all_dialects()
        for name, factory in ernnc_dialects().items():
            if name not in self.ctx.registered_dialect_names:
                self.ctx.register_dialect(name, factory)  # type: ignore[arg-type]

    def register_all_passes(self) -> None:
        super().register_all_passes()
        from ..passes import ernnc_passes

        for name, factory in ernnc_passes().items():
            self.register_pass(name, factory)

    def register_all_frontends(self) -> None:
        super().register_all_frontends()

        def onnx_frontend(io: IO[bytes]) -> ModuleOp:
            from .onnx_import import import_onnx, parse_model

            return import_onnx(parse_model(io.read(), self.get_input_name()))

        self.available_frontends["onnx"] = onnx_frontend

    def register_all_targets(self) -> None:
        super().register_all_targets()
        self.available_targets["numpy"] = lambda: NumpyTarget

    def output_resulting_program(self, prog: ModuleOp) -> str:
        if self.args.target.split("{")[0] == "numpy" and "weights" not in self.args.target:
            if self.args.output_file is None:
                raise ValueError("the numpy target needs -o FILE (its weights go beside it)")
            weights = Path(self.args.output_file).with_name("weights.npz")
            self.args.target = f'numpy{{weights="{weights}"}}'
        return super().output_resulting_program(prog)

    def register_all_arguments(self, arg_parser: argparse.ArgumentParser) -> None:
        super().register_all_arguments(arg_parser)
        arg_parser.add_argument(
            "--traceback", action="store_true", help="show tracebacks of errors"
        )


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    try:
        ErnncOptMain(description="ernnc modular optimizer driver", args=args).run()
        return 0
    except SystemExit as e:
        return int(e.code or 0)
    except Exception as e:  # noqa: BLE001 - one line per error, as a compiler does
        if "--traceback" in args:
            raise
        from .errors import ErnncError

        lines = [ln for ln in str(e).strip().splitlines() if ln.strip()]
        kind = "error" if isinstance(e, ErnncError | ValueError) else type(e).__name__
        print(
            f"ernnc-opt: {kind}: {' '.join(lines[:3]) if lines else type(e).__name__}",
            file=sys.stderr,
        )
        return 1


if __name__ == "__main__":
    sys.exit(main())
