"""The activation code the NumPy backend prints (defined in ``ernnc.activations``)."""

from ...activations import (
    ACTIVATION_CODE,
    IN_PLACE,
    activation_statements,
    apply_activation,
    float_literal,
)

__all__ = [
    "ACTIVATION_CODE",
    "IN_PLACE",
    "activation_statements",
    "apply_activation",
    "float_literal",
]
