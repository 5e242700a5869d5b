"""NumPy code of the activation functions: the one definition that the
generated models contain and that constant folding evaluates.

Each entry is a list of statements that write ``f(x)`` into the preallocated
array ``{o}`` with the function's ``{alpha}`` and ``{beta}`` parameters and
the constants ``{zero}``, ``{half}`` and ``{one}`` (literals, or names bound to
arrays in a generated model's step loop). ``{x}`` is never modified, and
``{o}`` may be ``{x}`` itself for the functions in ``IN_PLACE``.
"""

from __future__ import annotations

import string
from collections.abc import Callable

import numpy as np

ACTIVATION_CODE: dict[str, tuple[str, ...]] = {
    "Relu": ("np.maximum({x}, {zero}, out={o})",),
    "Tanh": ("np.tanh({x}, out={o})",),
    # sigmoid(x) = (1 + tanh(x / 2)) / 2: one transcendental call, no overflow.
    "Sigmoid": (
        "np.multiply({x}, {half}, out={o})",
        "np.tanh({o}, out={o})",
        "{o} *= {half}",
        "{o} += {half}",
    ),
    "Affine": ("np.multiply({x}, {alpha}, out={o})", "{o} += {beta}"),
    "LeakyRelu": (
        "np.multiply({x}, {alpha}, out={o})",
        "np.copyto({o}, {x}, where={x} >= 0)",
    ),
    "ThresholdedRelu": ("np.multiply({x}, {x} > {alpha}, out={o})",),
    "ScaledTanh": (
        "np.multiply({x}, {beta}, out={o})",
        "np.tanh({o}, out={o})",
        "{o} *= {alpha}",
    ),
    "HardSigmoid": (
        "np.multiply({x}, {alpha}, out={o})",
        "{o} += {beta}",
        "np.clip({o}, {zero}, {one}, out={o})",
    ),
    "Elu": (
        "np.minimum({x}, {zero}, out={o})",
        "np.expm1({o}, out={o})",
        "{o} *= {alpha}",
        "np.copyto({o}, {x}, where={x} > 0)",
    ),
    "Softsign": ("np.abs({x}, out={o})", "{o} += {one}", "np.divide({x}, {o}, out={o})"),
    "Softplus": ("np.logaddexp({x}, {zero}, out={o})",),
}

# The functions whose statements read {x} only before they first write {o}.
IN_PLACE = frozenset(
    {
        "Relu",
        "Tanh",
        "Sigmoid",
        "Affine",
        "ThresholdedRelu",
        "ScaledTanh",
        "HardSigmoid",
        "Softplus",
    }
)

_LITERALS = {"zero": 0.0, "half": 0.5, "one": 1.0}
_DEFAULT_LITERALS = {"zero": "0", "half": "0.5", "one": "1"}


def float_literal(value: float, dtype: np.dtype | type = np.float32) -> str:
    """A Python literal that rounds to exactly ``value`` in ``dtype``."""
    v = np.dtype(dtype).type(value)
    return repr(float(v)) if np.isfinite(v) else f"float({str(float(v))!r})"


def activation_statements(
    fn: str,
    x: str,
    o: str,
    alpha: float,
    beta: float,
    constant: Callable[[float], str] | None = None,
) -> list[str]:
    """The statements of ``fn``; ``constant(value)`` names each float constant
    (default: Python literals; ``alpha`` and ``beta`` rounded to float32)."""
    code = ACTIVATION_CODE[fn]
    values = _LITERALS | {"alpha": float(np.float32(alpha)), "beta": float(np.float32(beta))}
    used = {f for s in code for _, f, _, _ in string.Formatter().parse(s) if f in values}
    if constant is None:
        names = {k: float_literal(values[k]) for k in used & {"alpha", "beta"}}
        names |= {k: _DEFAULT_LITERALS[k] for k in used - {"alpha", "beta"}}
    else:
        names = {k: constant(values[k]) for k in used}
    return [s.format(x=x, o=o, **names) for s in code]


def apply_activation(fn: str, x: np.ndarray, alpha: float = 0.0, beta: float = 0.0) -> np.ndarray:
    """Evaluate an activation with exactly the code that generated models run."""
    x = np.asarray(x)
    out = np.empty_like(x)
    env = {"np": np, "x": x, "o": out}
    for stmt in activation_statements(fn, "x", "o", alpha, beta):
        exec(stmt, env)  # noqa: S102 - our own fixed templates
    return out
