"""docs/api.md and docs/writing-a-pass.md stay true to the code: their Python
examples run, every ernnc.* name they mention imports, and the pass shown in
writing-a-pass.md is the one in examples/custom_pass."""

from __future__ import annotations

import importlib
import re
import sys
import types

import pytest
from conftest import REPO

from ernnc.compiler import plugins

DOCS = [REPO / "docs" / "api.md", REPO / "docs" / "writing-a-pass.md"]
EXAMPLE = REPO / "examples" / "custom_pass" / "choose_block_size.py"


def _python_blocks(text: str) -> list[str]:
    blocks = re.findall(r"^( *)```python\n(.*?)^\1```", text, flags=re.DOTALL | re.MULTILINE)
    return ["\n".join(ln[len(indent) :] for ln in body.splitlines()) for indent, body in blocks]


@pytest.fixture
def fresh_plugin_registry():
    saved = dict(plugins._registry)
    yield
    plugins._registry.clear()
    plugins._registry.update(saved)


@pytest.mark.parametrize("doc", DOCS, ids=[d.name for d in DOCS])
def test_python_examples_run(doc, monkeypatch, fresh_plugin_registry, capsys):
    monkeypatch.chdir(REPO)
    blocks = _python_blocks(doc.read_text())
    assert blocks
    for block in blocks:
        module = types.ModuleType("doc_example")  # dataclasses look their module up
        monkeypatch.setitem(sys.modules, module.__name__, module)
        exec(compile(block, f"{doc.name} example", "exec"), module.__dict__)  # noqa: S102


def _resolve(dotted: str) -> object:
    parts = dotted.split(".")
    for i in range(len(parts), 0, -1):
        try:
            obj = importlib.import_module(".".join(parts[:i]))
        except ModuleNotFoundError:
            continue
        for attr in parts[i:]:
            obj = getattr(obj, attr)
        return obj
    raise ModuleNotFoundError(dotted)


@pytest.mark.parametrize("doc", DOCS, ids=[d.name for d in DOCS])
def test_every_ernnc_name_mentioned_exists(doc):
    names = set(re.findall(r"`(ernnc(?:\.\w+)+)", doc.read_text()))
    assert names
    for name in sorted(names):
        _resolve(name.split(":")[0])


def test_the_pass_shown_is_the_example_plugin():
    shown = _python_blocks((REPO / "docs" / "writing-a-pass.md").read_text())[0]
    strip = [re.sub(r"\s+# option .*$", "", ln).rstrip() for ln in shown.splitlines()]
    source = EXAMPLE.read_text()
    body = source[source.index("from dataclasses import dataclass") :]
    assert "\n".join(strip).strip() == body.strip()
