"""NumPy code of the activation functions: the one definition that the
generated models contain and that constant folding evaluates.

Each entry is a list of statements that write ``f(x)`` into the preallocated
array ``{o}`` (which may be ``{x}`` itself only where noted) with the
function's ``{alpha}`` and ``{beta}`` parameters. ``{x}`` is never modified.
"""

from __future__ import annotations

import numpy as np

ACTIVATION_CODE: dict[str, tuple[str, ...]] = {
    "Relu": ("np.maximum({x}, 0, out={o})",),
    "Tanh": ("np.tanh({x}, out={o})",),
    # sigmoid(x) = (1 + tanh(x / 2)) / 2: one transcendental call, no overflow.
    "Sigmoid": (
        "np.multiply({x}, 0.5, out={o})",
        "np.tanh({o}, out={o})",
        "{o} *= 0.5",
        "{o} += 0.5",
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
        "np.clip({o}, 0, 1, out={o})",
    ),
    "Elu": (
        "np.minimum({x}, 0, out={o})",
        "np.expm1({o}, out={o})",
        "{o} *= {alpha}",
        "np.copyto({o}, {x}, where={x} > 0)",
    ),
    "Softsign": ("np.abs({x}, out={o})", "{o} += 1", "np.divide({x}, {o}, out={o})"),
    "Softplus": ("np.logaddexp({x}, 0, out={o})",),
}


def float_literal(value: float, dtype: np.dtype | type = np.float32) -> str:
    """A Python literal that rounds to exactly ``value`` in ``dtype``."""
    v = np.dtype(dtype).type(value)
    return repr(float(v)) if np.isfinite(v) else f"float({str(float(v))!r})"


def activation_statements(fn: str, x: str, o: str, alpha: float, beta: float) -> list[str]:
    return [
        s.format(x=x, o=o, alpha=float_literal(alpha), beta=float_literal(beta))
        for s in ACTIVATION_CODE[fn]
    ]


def apply_activation(fn: str, x: np.ndarray, alpha: float = 0.0, beta: float = 0.0) -> np.ndarray:
    """Evaluate an activation with exactly the code that generated models run."""
    x = np.asarray(x)
    out = np.empty_like(x)
    env = {"np": np, "x": x, "o": out}
    for stmt in activation_statements(fn, "x", "o", alpha, beta):
        exec(stmt, env)  # noqa: S102 - our own fixed templates
    return out
