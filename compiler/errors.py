"""User-facing errors: one line, no traceback."""

from __future__ import annotations


class ErnncError(Exception):
    """An error in the user's input (model, options, files).

    The CLI prints ``ernnc: error: <message>`` and exits with status 1.
    """


def node_label(name: str, op_type: str, index: int | None = None) -> str:
    """``node 'lstm_1' (LSTM)``, or ``node #3 (LSTM)`` for an unnamed node."""
    if name:
        return f"node {name!r} ({op_type})"
    return f"node #{index} ({op_type})" if index is not None else f"unnamed {op_type} node"
