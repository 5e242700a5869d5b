"""User-facing errors: one line, no traceback."""

from __future__ import annotations


class ErnncError(Exception):
    """An error in the user's input (model, options, files).

    The CLI prints ``ernnc: error: <message>`` and exits with status 1.
    """


def exit_status(prog: str, e: Exception, traceback: bool) -> int:
    """Print one line for a failure and give the exit status: 1 for the user's
    input (ErnncError), 3 for an internal error. With ``traceback``, raise
    instead: an internal error, or an input error that wraps one (a plugin
    pass that crashed)."""
    import sys

    if isinstance(e, ErnncError):
        if traceback and e.__cause__ is not None:
            raise e
        print(f"{prog}: error: {e}", file=sys.stderr)
        return 1
    if traceback:
        raise e
    detail = str(e).strip().splitlines()
    print(
        f"{prog}: internal error: {type(e).__name__}: {detail[0] if detail else ''} "
        "(rerun with --traceback and report it)",
        file=sys.stderr,
    )
    return 3


def node_label(name: str, op_type: str, index: int | None = None) -> str:
    """``node 'lstm_1' (LSTM)``, or ``node #3 (LSTM)`` for an unnamed node."""
    if name:
        return f"node {name!r} ({op_type})"
    return f"node #{index} ({op_type})" if index is not None else f"unnamed {op_type} node"


def parse_error_message(e: Exception) -> str:
    """``file:line:col: message`` of an xDSL ``ParseError`` (one line)."""
    msg = getattr(e, "msg", None) or (str(e).strip().splitlines() or [type(e).__name__])[-1]
    span = getattr(e, "span", None)
    where = span.get_location() if span is not None else ""
    return f"{where}: {msg.strip()}" if where else msg.strip()


def verify_failure_message(module: object, e: Exception) -> str:
    """One line naming the op that fails to verify.

    xDSL's ``VerifyException`` carries only the verifier's text; the op is
    found by verifying each op alone, in program order.
    """
    from xdsl.ir import Operation
    from xdsl.utils.exceptions import VerifyException

    text = (str(e).strip().splitlines() or [type(e).__name__])[0]
    if isinstance(module, Operation):
        for op in module.walk():
            try:
                op.verify(verify_nested_ops=False)
            except VerifyException as inner:
                lines = str(inner).strip().splitlines()
                return f"op '{op.name}': {lines[0] if lines else text}"
            except Exception:  # noqa: BLE001 - a broken op may fail in other ways
                return f"op '{op.name}': {text}"
    return text
