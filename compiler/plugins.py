"""Pass plugins: user passes loaded from a file, a package or an entry point.

    ernnc --load-pass-plugin my_passes.py --passes 'my-pass{k=2},dce' ...
    ernnc-opt --load-pass-plugin my_pkg.passes -p my-pass in.mlir

A plugin module offers the ``ModulePass`` subclasses it defines, or the ones
it lists in ``ERNNC_PASSES``. An installed distribution can offer passes
without a flag, through the ``ernnc.passes`` entry point group; each entry
point names a ``ModulePass`` subclass, a list of them, or a module::

    [project.entry-points."ernnc.passes"]
    my-passes = "my_pkg.passes:MyPass"

Plugin pass names may not clash with ernnc's, xDSL's or another plugin's.
Every failure is an ``ErnncError`` naming the plugin.
"""

from __future__ import annotations

import importlib
import importlib.util
import inspect
import re
import sys
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType

from xdsl.passes import ModulePass

from .errors import ErnncError

ENTRY_POINT_GROUP = "ernnc.passes"

_PASS_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_-]*$")


@dataclass(frozen=True)
class PluginPass:
    cls: type[ModulePass]
    origin: str  # the --load-pass-plugin argument, or "entry point NAME (ernnc.passes)"


_registry: dict[str, PluginPass] = {}
_entry_points_loaded = False


def plugin_passes() -> dict[str, PluginPass]:
    """Every plugin pass loaded so far, entry points included."""
    load_entry_points()
    return dict(_registry)


def plugin_pass_factories() -> dict[str, Callable[[], type[ModulePass]]]:
    """Name -> factory, the form ``PassPipeline.parse_spec`` takes."""
    return {name: _constant(p.cls) for name, p in plugin_passes().items()}


def plugin_origin(name: str) -> str | None:
    p = _registry.get(name)
    return p.origin if p is not None else None


def _constant(cls: type[ModulePass]) -> Callable[[], type[ModulePass]]:
    return lambda: cls


def load_pass_plugin(spec: str) -> list[type[ModulePass]]:
    """Load the passes of a plugin: a ``.py`` file, a package directory or
    an importable module name. Returns the passes it registered."""
    module = _import_plugin(spec)
    passes = _passes_in(module, spec)
    register_passes(passes, spec)
    return passes


def register_passes(passes: Iterable[object], origin: str) -> None:
    """Add plugin passes to the registry, checking their names."""
    builtin = _builtin_pass_names()
    for cls in passes:
        if not (isinstance(cls, type) and issubclass(cls, ModulePass)):
            raise ErnncError(f"pass plugin {origin}: {cls!r} is not a ModulePass subclass")
        name = getattr(cls, "name", None)
        if not isinstance(name, str) or not _PASS_NAME.match(name):
            raise ErnncError(
                f"pass plugin {origin}: {cls.__name__} has no valid pass name "
                f'(give it a class attribute like name = "my-pass"; got {name!r})'
            )
        if inspect.isabstract(cls):
            raise ErnncError(f"pass plugin {origin}: pass {name!r} ({cls.__name__}) has no apply()")
        if name in builtin:
            raise ErnncError(
                f"pass plugin {origin}: pass {name!r} clashes with a built-in pass of that name"
            )
        known = _registry.get(name)
        if known is not None and known.cls is not cls:
            raise ErnncError(
                f"pass plugin {origin}: pass {name!r} clashes with the one from {known.origin}"
            )
        if known is None:
            _registry[name] = PluginPass(cls, origin)


def load_entry_points() -> None:
    """Register the passes of every installed ``ernnc.passes`` entry point (once)."""
    global _entry_points_loaded
    if _entry_points_loaded:
        return
    _entry_points_loaded = True
    from importlib.metadata import entry_points

    for ep in sorted(entry_points(group=ENTRY_POINT_GROUP), key=lambda e: e.name):
        origin = f"entry point {ep.name!r} ({ENTRY_POINT_GROUP}: {ep.value})"
        try:
            value = ep.load()
        except Exception as e:
            raise ErnncError(f"pass plugin {origin}: cannot load: {_one_line(e)}") from e
        if isinstance(value, ModuleType):
            passes = _passes_in(value, origin)
        elif isinstance(value, list | tuple):
            passes = list(value)
        else:
            passes = [value]
        register_passes(passes, origin)


def _builtin_pass_names() -> set[str]:
    from xdsl.transforms import get_all_passes as xdsl_passes

    from ..passes import ernnc_passes

    return set(xdsl_passes()) | set(ernnc_passes())


def _import_plugin(spec: str) -> ModuleType:
    looks_like_path = spec.endswith(".py") or "/" in spec or "\\" in spec or Path(spec).exists()
    if looks_like_path:
        return _import_path(Path(spec), spec)
    try:
        return importlib.import_module(spec)
    except ModuleNotFoundError as e:
        if e.name is not None and (spec == e.name or spec.startswith(e.name + ".")):
            raise ErnncError(f"pass plugin {spec}: no such file or importable module") from None
        raise ErnncError(f"pass plugin {spec}: cannot import: {_one_line(e)}") from e
    except Exception as e:
        raise ErnncError(f"pass plugin {spec}: cannot import: {_one_line(e)}") from e


def _import_path(path: Path, spec: str) -> ModuleType:
    if not path.exists():
        raise ErnncError(f"pass plugin {spec}: no such file")
    search: list[str] | None = None
    if path.is_dir():
        init = path / "__init__.py"
        if not init.exists():
            raise ErnncError(f"pass plugin {spec}: a directory plugin needs an __init__.py")
        name, file, search = path.resolve().name, init, [str(path.resolve())]
    elif path.suffix != ".py":
        raise ErnncError(f"pass plugin {spec}: not a .py file, a package or a module name")
    else:
        name, file = path.stem, path
    file = file.resolve()
    known = sys.modules.get(name)
    if known is not None:
        if Path(getattr(known, "__file__", "") or "").resolve() == file:
            return known
        name = f"ernnc_plugin_{name}_{len(sys.modules)}"  # keep other modules of that name
    mod_spec = importlib.util.spec_from_file_location(name, file, submodule_search_locations=search)
    if mod_spec is None or mod_spec.loader is None:
        raise ErnncError(f"pass plugin {spec}: cannot load {file}")
    module = importlib.util.module_from_spec(mod_spec)
    # registered before running it: dataclasses look their module up by name
    sys.modules[name] = module
    try:
        mod_spec.loader.exec_module(module)
    except Exception as e:
        del sys.modules[name]
        raise ErnncError(f"pass plugin {spec}: cannot import: {_one_line(e)}") from e
    return module


def _passes_in(module: ModuleType, origin: str) -> list[type[ModulePass]]:
    listed = getattr(module, "ERNNC_PASSES", None)
    if listed is not None:
        passes = list(listed)
    else:
        passes = [
            v
            for v in vars(module).values()
            if isinstance(v, type)
            and issubclass(v, ModulePass)
            and v.__module__ == module.__name__
            and not inspect.isabstract(v)
        ]
    if not passes:
        raise ErnncError(
            f"pass plugin {origin}: defines no ModulePass subclass (nor lists any in ERNNC_PASSES)"
        )
    return passes


def _one_line(e: BaseException) -> str:
    if isinstance(e, SyntaxError):
        return f"SyntaxError: {e.msg} ({e.filename}:{e.lineno})"
    lines = str(e).strip().splitlines()
    return f"{type(e).__name__}: {lines[0]}" if lines else type(e).__name__
