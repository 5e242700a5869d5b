"""The precision language of ``--precision`` and ``ernn-quantize``.

    fixed<16,6>
    default=fixed<16,6,RND,SAT>; weights=fixed<12,2>; acc=fixed<32,12>; layer1.state=fixed<18,8>
    auto:16

A spec is a list of ``selector=format`` entries separated by ``;`` (a bare
format sets ``default``). Formats: ``fixed<W,I[,ROUND][,OVERFLOW]>`` with
the ap_fixed meaning (W bits, I integer bits including the sign; rounding
TRN or RND, overflow WRAP or SAT), ``float``, and ``auto[:W]`` (W bits, the
integer bits chosen per tensor from its calibrated range, RND and SAT).

Selectors name a category (``weights``, ``bias``, ``acc``, ``state``,
``act``, ``input``, ``output``, ``default``; ``spectrum`` for the
frequency-domain accumulators of the FFT form, which fall back to ``acc``),
optionally scoped to a layer
and direction (``layer1.state``, ``layer0.fwd.acc``), or one tensor
(``layer0.fwd.W``, ``layer0.fwd.bias``, an input's name). The most specific
selector that names a tensor decides its format.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache

from lark import Lark, Token, Transformer, UnexpectedInput

CATEGORIES = ("weights", "bias", "acc", "spectrum", "state", "act", "input", "output")

_GRAMMAR = r"""
start: (entry (";" entry)*)? ";"?
entry: selector "=" value -> assign
     | value              -> bare
selector: NAME ("." NAME)*
value: FIXED "<" SIGNED_INT "," SIGNED_INT ("," MODE)* ">"  -> fixed
     | FLOAT                                                  -> float
     | AUTO (":" INT)?                                        -> auto
FIXED.2: "fixed"
FLOAT.2: "float"
AUTO.2: "auto"
MODE.2: /(?i:trn|rnd|wrap|sat)/
NAME: /[A-Za-z_][A-Za-z0-9_\-]*/
%import common.SIGNED_INT
%import common.INT
%import common.WS
%ignore WS
"""


class PrecisionError(ValueError):
    """A bad precision spec; ``str()`` is the whole message, possibly with a caret line."""


@dataclass(frozen=True)
class Format:
    kind: str  # "fixed", "float" or "auto"
    width: int = 16
    int_bits: int = 0  # fixed only
    rounding: str = "trn"
    overflow: str = "wrap"

    def __str__(self) -> str:
        if self.kind == "float":
            return "float"
        if self.kind == "auto":
            return f"auto:{self.width}"
        modes = [m.upper() for m, d in ((self.rounding, "trn"), (self.overflow, "wrap")) if m != d]
        return f"fixed<{','.join([str(self.width), str(self.int_bits), *modes])}>"


DEFAULT = Format("fixed", 16, 6, "rnd", "sat")


class _Build(Transformer):
    def selector(self, items: list[Token]) -> str:
        return ".".join(str(t) for t in items)

    def fixed(self, items: list[Token]) -> Format:
        w, i = int(items[1]), int(items[2])
        modes = [str(m).lower() for m in items[3:]]
        rounding = next((m for m in modes if m in ("trn", "rnd")), "trn")
        overflow = next((m for m in modes if m in ("wrap", "sat")), "wrap")
        if (
            len(modes) != len(set(modes))
            or len(modes) > 2
            or sum(m in ("trn", "rnd") for m in modes) > 1
        ):
            raise PrecisionError(
                f"fixed<{w},{i},...>: give at most one rounding and one overflow mode"
            )
        if not 1 <= w <= 64:
            raise PrecisionError(f"fixed<{w},{i}>: the width must lie in [1, 64]")
        if i > w:
            raise PrecisionError(f"fixed<{w},{i}>: {i} integer bits do not fit in {w} bits")
        if w - i > 62:
            raise PrecisionError(f"fixed<{w},{i}>: more than 62 fraction bits")
        return Format("fixed", w, i, rounding, overflow)

    def float(self, items: list[Token]) -> Format:
        return Format("float")

    def auto(self, items: list[Token]) -> Format:
        w = int(items[1]) if len(items) > 1 else 16
        if not 2 <= w <= 64:
            raise PrecisionError(f"auto:{w}: the width must lie in [2, 64]")
        return Format("auto", w, 0, "rnd", "sat")

    def assign(self, items: list) -> tuple[str, Format]:
        return items[0], items[1]

    def bare(self, items: list) -> tuple[str, Format]:
        return "default", items[0]

    def start(self, items: list) -> list[tuple[str, Format]]:
        return items


@cache
def _parser() -> Lark:
    return Lark(_GRAMMAR, parser="lalr")


@dataclass(frozen=True)
class PrecisionSpec:
    rules: tuple[tuple[str, Format], ...]

    @property
    def is_float(self) -> bool:
        return all(f.kind == "float" for _, f in self.rules) if self.rules else False

    def needs_ranges(self) -> bool:
        return any(f.kind == "auto" for _, f in self.rules)

    def lookup(self, names: list[str]) -> tuple[Format, str]:
        """The format of a tensor known by ``names`` (most specific first)
        and the selector that chose it; later rules win over earlier ones."""
        table = dict(self.rules)
        for name in names:
            if name in table:
                return table[name], name
        return table.get("default", DEFAULT), "default"

    def selectors(self) -> list[str]:
        return [s for s, _ in self.rules]


def parse_precision(text: str) -> PrecisionSpec:
    try:
        tree = _parser().parse(text)
        rules = _Build().transform(tree)
    except UnexpectedInput as e:
        column = getattr(e, "column", 0) or 0
        near = text[column - 1 : column + 9] if column else text[:10]
        expected = sorted(getattr(e, "expected", []) or getattr(e, "allowed", []) or [])
        hint = f", expected {', '.join(_pretty(x) for x in expected[:6])}" if expected else ""
        caret = " " * max(column - 1, 0) + "^"
        raise PrecisionError(
            f"syntax error at column {column} near {near!r}{hint}\n  {text}\n  {caret}"
        ) from None
    except PrecisionError:
        raise
    except Exception as e:  # noqa: BLE001 - lark wraps transformer errors
        inner = getattr(e, "orig_exc", e)
        if isinstance(inner, PrecisionError):
            raise inner from None
        raise PrecisionError(str(inner)) from None
    for selector, fmt in rules:
        parts = selector.split(".")
        if parts[-1] == "default" and len(parts) > 1:
            raise PrecisionError(f"selector {selector!r}: 'default' stands alone")
    return PrecisionSpec(tuple(rules))


def _pretty(terminal: str) -> str:
    return {
        "FIXED": "'fixed'",
        "FLOAT": "'float'",
        "AUTO": "'auto'",
        "NAME": "a name",
        "SIGNED_INT": "a number",
        "INT": "a number",
        "MODE": "TRN/RND/WRAP/SAT",
        "LESSTHAN": "'<'",
        "MORETHAN": "'>'",
        "COMMA": "','",
        "SEMICOLON": "';'",
        "EQUAL": "'='",
        "COLON": "':'",
        "DOT": "'.'",
        "$END": "end of input",
    }.get(terminal, terminal)


def tensor_names(
    category: str, layer: str | None = None, direction: str | None = None, name: str | None = None
) -> list[str]:
    """Selector names of a tensor, most specific first."""
    out: list[str] = []
    if name:
        out.append(name)
    if layer and direction:
        out.append(f"{layer}.{direction}.{category}")
    if layer:
        out.append(f"{layer}.{category}")
    if layer and direction:
        out.append(f"{layer}.{direction}")
    if layer:
        out.append(layer)
    out.append(category)
    return out
