"""The xDSL context that knows every dialect ernnc's IR may contain."""

from __future__ import annotations

from xdsl.context import Context


def ernnc_dialects() -> dict[str, object]:
    """Name -> factory of ernnc's own dialects (imported lazily)."""

    def ernn():
        from ..dialects.ernn import ERNN

        return ERNN

    def nn():
        from ..dialects.nn import NN

        return NN

    def cell():
        from ..dialects.cell import CELL

        return CELL

    def circ():
        from ..dialects.circ import CIRC

        return CIRC

    def fxp():
        from ..dialects.fxp import FXP

        return FXP

    return {"ernn": ernn, "nn": nn, "cell": cell, "circ": circ, "fxp": fxp}


def make_context() -> Context:
    from xdsl.dialects.arith import Arith
    from xdsl.dialects.builtin import Builtin
    from xdsl.dialects.func import Func

    ctx = Context()
    for d in (Builtin, Arith, Func):
        ctx.load_dialect(d)
    for name, factory in ernnc_dialects().items():
        ctx.register_dialect(name, factory)  # type: ignore[arg-type]
    return ctx
