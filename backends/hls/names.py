"""Safe C++ identifiers and comments from whatever names an ONNX file holds."""

from __future__ import annotations

import re

CPP_KEYWORDS = frozenset(
    [
        "alignas",
        "alignof",
        "and",
        "and_eq",
        "asm",
        "auto",
        "bitand",
        "bitor",
        "bool",
        "break",
        "case",
        "catch",
        "char",
        "char16_t",
        "char32_t",
        "class",
        "compl",
        "const",
        "constexpr",
        "const_cast",
        "continue",
        "decltype",
        "default",
        "delete",
        "do",
        "double",
        "dynamic_cast",
        "else",
        "enum",
        "explicit",
        "export",
        "extern",
        "false",
        "float",
        "for",
        "friend",
        "goto",
        "if",
        "inline",
        "int",
        "long",
        "mutable",
        "namespace",
        "new",
        "noexcept",
        "not",
        "not_eq",
        "nullptr",
        "operator",
        "or",
        "or_eq",
        "private",
        "protected",
        "public",
        "register",
        "reinterpret_cast",
        "return",
        "short",
        "signed",
        "sizeof",
        "static",
        "static_assert",
        "static_cast",
        "struct",
        "switch",
        "template",
        "this",
        "thread_local",
        "throw",
        "true",
        "try",
        "typedef",
        "typeid",
        "typename",
        "union",
        "unsigned",
        "using",
        "virtual",
        "void",
        "volatile",
        "wchar_t",
        "while",
        "xor",
        "xor_eq",
        "main",
        "NULL",
    ]
)


class Identifiers:
    """Maps names to distinct valid identifiers, deterministically: letters,
    digits and underscores kept, everything else an underscore, a prefix
    where the result would start with a digit or clash with a keyword or a
    reserved name, and a numeric suffix where two names collide."""

    def __init__(self, prefix: str = "") -> None:
        self.prefix = prefix
        self._taken: set[str] = set()
        self._of: dict[str, str] = {}

    def __call__(self, name: str) -> str:
        if name in self._of:
            return self._of[name]
        base = (
            re.sub(r"[^A-Za-z0-9_]", "_", name.encode("ascii", "backslashreplace").decode()) or "x"
        )
        base = re.sub(r"_+", "_", base).strip("_") or "x"
        base = self.prefix + base
        if (
            base[0].isdigit()
            or base in CPP_KEYWORDS
            or base.startswith("__")
            or re.match(r"_[A-Z]", base)
        ):
            base = "v_" + base
        ident, k = base, 1
        while ident in self._taken:
            k += 1
            ident = f"{base}_{k}"
        self._taken.add(ident)
        self._of[name] = ident
        return ident


def comment_text(text: str) -> str:
    """Text safe inside a // comment and a /* */ comment: ASCII, one line, no
    comment delimiters, no trigraph-looking sequences, no line splices."""
    out = text.encode("ascii", "backslashreplace").decode()
    out = out.replace("\\", "\\\\").replace("*/", "* /").replace("/*", "/ *").replace("??", "?\\?")
    return " ".join(out.split())


def string_literal(text: str) -> str:
    """A C++ string literal holding ``text`` (ASCII escapes only)."""
    out = []
    for ch in text:
        if ch in ('"', "\\"):
            out.append("\\" + ch)
        elif " " <= ch <= "~" and ch != "?":
            out.append(ch)
        else:
            for byte in ch.encode("utf-8"):
                out.append(f"\\{byte:03o}")
    return '"' + "".join(out) + '"'
