"""``ernnc-opt``: ``xdsl-opt`` with ernnc's dialects, passes and targets, an
ONNX frontend, pass plugins and one-line errors.

    ernnc-opt model.onnx -p 'convert-ernn-to-cell,ernn-fuse-gates,dce' -o cell.mlir
    ernnc-opt cell.mlir -t numpy -o out/model_ref.py     # weights go to out/weights.npz

ernnc's dialects, passes and targets come from its ``xdsl.universe`` entry
point (``universe.py``), which ``xDSLOptMain`` loads like ``xdsl-opt`` does;
this class adds only what ``xdsl-opt`` cannot have: plugins, the ONNX frontend
and the error handling.
"""

from __future__ import annotations

import argparse
import io
import os
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import IO, NoReturn

from xdsl.dialects.builtin import ModuleOp
from xdsl.passes import ModulePass, PassPipeline
from xdsl.utils.arg_spec import parse_spec
from xdsl.utils.exceptions import (
    ArgSpecParseError,
    DiagnosticException,
    ParseError,
    PassFailedException,
    VerifyException,
)
from xdsl.xdsl_opt_main import xDSLOptMain

from .context import ernnc_dialects
from .errors import ErnncError, parse_error_message, verify_failure_message

PROG = "ernnc-opt"

EPILOG = """\
{passes}

targets (-t):
  mlir                            the IR (default)
  numpy                           the NumPy reference model; its weights go to weights.npz beside -o
  hls                             the HLS project's files, each after a '// ---- <name> ----' line
  xDSL's                          {xdsl_targets}

examples:
  ernnc-opt model.onnx -p 'convert-ernn-to-cell,ernn-fuse-gates,canonicalize,cse,dce' -o cell.mlir
  ernnc-opt cell.mlir -p 'ernn-block-circulant{{block=8}},ernn-circulant-to-fft,canonicalize,dce'
  ernnc-opt lowered.mlir -t numpy -o model_ref.py
  ernnc-opt --load-pass-plugin my_pass.py -p 'my-pass,dce' cell.mlir
"""


class _Buffer(io.StringIO):
    """The output, kept until the run succeeds (xDSL closes its stream)."""

    def close(self) -> None:
        pass


class ErnncOptMain(xDSLOptMain):
    version_format = "ernnc-opt (xdsl {xdsl_version})"

    def register_all_dialects(self) -> None:
        super().register_all_dialects()  # every xdsl.universe, ernnc's included
        missing = set(ernnc_dialects()) - set(self.ctx.registered_dialect_names)
        if missing:
            raise ErnncError(
                f"xDSL does not know ernnc's dialects ({', '.join(sorted(missing))}): its "
                "xdsl.universe entry point is not installed; reinstall ernnc (pip install -e .)"
            )

    def register_all_passes(self) -> None:
        super().register_all_passes()
        from .plugins import plugin_passes

        for name, plugin in plugin_passes().items():
            if name in self.available_passes:  # a pass of another xdsl.universe
                raise ErnncError(f"pass plugin {plugin.origin}: pass {name!r} is already defined")
            self.register_pass(name, lambda cls=plugin.cls: cls)

    def register_all_frontends(self) -> None:
        super().register_all_frontends()

        def mlir_frontend(stream: IO[bytes]) -> ModuleOp:
            from xdsl.parser import Parser

            from .driver import _guard_mlir_text

            name = self.get_input_name()
            try:
                text = stream.read().decode("utf-8")
            except UnicodeDecodeError as e:
                raise ErnncError(f"{name}: not UTF-8 text ({e.reason} at byte {e.start})") from None
            _guard_mlir_text(text, name)  # the lexer hangs on an unterminated string
            return Parser(self.ctx, text, name).parse_module(not self.args.no_implicit_module)

        def onnx_frontend(stream: IO[bytes]) -> ModuleOp:
            from .onnx_import import import_onnx, parse_model

            return import_onnx(parse_model(stream.read(), self.get_input_name()))

        self.available_frontends["mlir"] = mlir_frontend
        self.available_frontends["onnx"] = onnx_frontend

    def register_all_arguments(self, arg_parser: argparse.ArgumentParser) -> None:
        super().register_all_arguments(arg_parser)
        from xdsl.targets import get_all_targets

        from .passinfo import pass_listing

        arg_parser.prog = PROG
        arg_parser.allow_abbrev = False  # --load-pass-plugin is read before parsing
        arg_parser.error = _usage_error  # type: ignore[method-assign]
        arg_parser.formatter_class = argparse.RawDescriptionHelpFormatter
        arg_parser.epilog = EPILOG.format(
            passes=pass_listing(),
            xdsl_targets=", ".join(t for t in get_all_targets() if t != "mlir"),
        )
        for action in arg_parser._actions:  # xDSL's help lists ~140 pass names in one line
            if "--passes" in action.option_strings:
                action.help = "pass pipeline: 'pass{option=value ...},pass,...' (passes below)"
            elif "--target" in action.option_strings:
                action.help = "output target (default mlir; targets below)"
        arg_parser.add_argument(
            "--load-pass-plugin",
            action="append",
            default=[],
            metavar="PATH|MODULE",
            help="load the passes of a .py file, package directory or module (repeatable)",
        )
        arg_parser.add_argument(
            "--traceback", action="store_true", help="show Python tracebacks of errors"
        )

    def get_input_stream(self) -> tuple[IO[bytes], str]:
        path = self.args.input_file
        if path is not None:
            p = Path(path)
            if not p.exists():
                raise ErnncError(f"{path}: no such file")
            if p.is_dir():
                raise ErnncError(f"{path}: is a directory")
        try:
            return super().get_input_stream()
        except OSError as e:
            raise ErnncError(f"{path}: cannot read: {e.strerror or e}") from None

    def prepare_input(self) -> tuple[list[tuple[IO[bytes], int]], str]:
        try:
            return super().prepare_input()
        except ValueError as e:
            if "file extension" not in str(e):
                raise
            raise ErnncError(
                f"{self.get_input_name()}: unknown kind of input file; "
                f"give -f with one of {', '.join(self.available_frontends)}"
            ) from None

    def prepare_output(self) -> IO[str]:
        if self.args.output_file is None:
            return sys.stdout
        self.buffer = _Buffer()
        return self.buffer

    def write_output(self) -> None:
        """Write -o once everything succeeded, so a failure leaves no file."""
        buffer: _Buffer | None = getattr(self, "buffer", None)
        if buffer is None:
            return
        try:
            Path(self.args.output_file).write_text(buffer.getvalue(), encoding="utf-8")
        except OSError as e:
            raise ErnncError(f"cannot write {self.args.output_file}: {e.strerror or e}") from None

    def setup_pipeline(self) -> None:
        from .pass_spec import instantiate_pipeline, normalize_pipeline

        passes = instantiate_pipeline(self.available_passes, self.args.passes)
        self.args.passes = normalize_pipeline(self.args.passes)
        super().setup_pipeline()  # parses again, cannot fail now; builds xDSL's callback
        inner = self.pipeline.callback
        verify = not self.args.disable_verify and not self.args.verify_diagnostics

        def callback(prev: ModulePass | None, module: ModuleOp, nxt: ModulePass | None) -> None:
            try:
                if inner is not None:
                    inner(prev, module, nxt)
            except VerifyException as e:
                if not verify:
                    raise
                what = (
                    f"the IR does not verify after pass '{prev.name}'"
                    if prev is not None
                    else f"{self.get_input_name()}: the input IR does not verify"
                )
                raise ErnncError(f"{what}: {verify_failure_message(module, e)}") from e

        self.pipeline = PassPipeline(tuple(passes), callback)

    def apply_passes(self, prog: ModuleOp) -> None:
        """``PassPipeline.apply``, naming the pass that fails."""
        passes, callback = self.pipeline.passes, self.pipeline.callback
        assert callback is not None
        callback(None, prog, passes[0] if passes else None)
        for i, p in enumerate(passes):
            try:
                p.apply(self.ctx, prog)
            except ErnncError:
                raise
            except (PassFailedException, VerifyException) as e:
                if self.args.verify_diagnostics and isinstance(e, VerifyException):
                    raise
                lines = str(e).strip().splitlines()
                raise ErnncError(
                    f"pass '{p.name}': {lines[0] if lines else type(e).__name__}"
                ) from e
            except Exception as e:
                if self.args.traceback:
                    raise
                from .plugins import plugin_origin

                origin = plugin_origin(p.name)
                lines = str(e).strip().splitlines()
                raise ErnncError(
                    f"pass '{p.name}'{f' (plugin {origin})' if origin else ''} crashed: "
                    f"{type(e).__name__}: {lines[0] if lines else ''} (rerun with --traceback)"
                ) from e
            callback(p, prog, passes[i + 1] if i + 1 < len(passes) else None)

    def output_resulting_program(self, prog: ModuleOp) -> str:
        import dataclasses

        from .pass_spec import from_spec_checked
        from .targets import BESIDE_OUTPUT, ERNNC_TARGETS

        spec = parse_spec(self.args.target)
        if spec.name not in ERNNC_TARGETS:
            return super().output_resulting_program(prog)
        target = from_spec_checked(self.available_targets[spec.name](), spec, "target")  # type: ignore[call-arg]
        derive = BESIDE_OUTPUT.get(spec.name)
        if derive is not None and self.args.output_file is not None:
            options = derive(Path(self.args.output_file))
            given = {k.replace("-", "_") for k in spec.parameters}
            target = dataclasses.replace(
                target, **{k: v for k, v in options.items() if k not in given}
            )
        out = io.StringIO()
        target.emit(self.ctx, prog, out)
        return out.getvalue()


def _usage_error(message: str) -> NoReturn:
    raise ErnncError(message)


def _plugin_args(args: Sequence[str]) -> list[str]:
    """The --load-pass-plugin values, read before the tool is built: the
    plugins' passes must be registered before the pipeline is parsed."""
    found: list[str] = []
    for i, a in enumerate(args):
        if a == "--":
            break
        if a == "--load-pass-plugin":
            if i + 1 >= len(args):
                raise ErnncError("argument --load-pass-plugin: expected one argument")
            found.append(args[i + 1])
        elif a.startswith("--load-pass-plugin="):
            found.append(a.split("=", 1)[1])
    return found


def _message(e: BaseException) -> str:
    if isinstance(e, ErnncError):
        return str(e)
    if isinstance(e, ParseError):
        return parse_error_message(e)
    if isinstance(e, ArgSpecParseError):
        lines = [ln.strip() for ln in str(e.args[0] if e.args else e).splitlines() if ln.strip()]
        return f"cannot parse {lines[2] if len(lines) > 2 else 'the spec'!r}: {lines[-1]}"
    if isinstance(e, DiagnosticException | ValueError):
        lines = str(e).strip().splitlines()
        return lines[0] if lines else type(e).__name__
    lines = str(e).strip().splitlines()
    return (
        f"internal error: {type(e).__name__}: {lines[0] if lines else ''} "
        "(rerun with --traceback and report it)"
    )


def main(argv: list[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    try:
        from .plugins import load_pass_plugin

        for spec in _plugin_args(args):
            load_pass_plugin(spec)
        tool = ErnncOptMain(description="ernnc's modular optimizer driver", args=args)
        tool.run()
        tool.write_output()
        return 0
    except SystemExit as e:  # --help, --version, --shrink
        return e.code if isinstance(e.code, int) else 0 if e.code is None else 1
    except KeyboardInterrupt:
        print(f"{PROG}: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:  # the reader left early: ernnc-opt --help | head
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0
    except (Exception, ArgSpecParseError) as e:
        if "--traceback" in args:
            raise
        print(f"{PROG}: error: {_message(e)}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
