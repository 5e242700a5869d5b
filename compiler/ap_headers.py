"""Finding the Xilinx arbitrary-precision headers (``ap_fixed.h``) for C simulation.

Searched in this order, the first hit wins:

1. ``--ap-include DIR`` (the ``explicit`` argument), else ``$ERNNC_AP_INCLUDE``;
2. ``$XILINX_HLS/include`` (a Vitis HLS installation);
3. the copy in an installed ``hls4ml`` distribution,
   ``hls4ml/templates/vivado/ap_types/``, located by file path: hls4ml is
   never imported (its ``__init__`` pulls in TensorFlow/Keras machinery).

A directory the user named (option or ERNNC_AP_INCLUDE) that lacks
``ap_fixed.h`` is an error, not a reason to look elsewhere: silently
compiling against other headers than the ones asked for hides mistakes.
``$XILINX_HLS`` is only a place to look (Vitis sets it for other reasons).
"""

from __future__ import annotations

import importlib.util
import os
import site
import sys
from collections.abc import Iterable, Mapping
from pathlib import Path

from .errors import ErnncError

ENV_VAR = "ERNNC_AP_INCLUDE"
HEADER = "ap_fixed.h"
HLS4ML_SUBDIR = Path("templates", "vivado", "ap_types")

AP_HEADERS_HELP = (
    f"{HEADER} not found: pass --ap-include DIR or set {ENV_VAR}=DIR (or XILINX_HLS), "
    "or install the headers with `pip install --no-deps hls4ml==1.3.0`"
)


def _has_header(d: Path) -> bool:
    return (d / HEADER).is_file()


def _named_dir(value: str | os.PathLike[str], what: str) -> Path:
    """A directory the user named: it must hold ap_fixed.h."""
    d = Path(value).expanduser()
    if not _has_header(d):
        reason = "no such directory" if not d.is_dir() else f"no {HEADER} in it"
        raise ErnncError(
            f"{what} {str(value)!r}: {reason} (give the directory containing {HEADER})"
        )
    return d.resolve()


def _hls4ml_package_dirs() -> list[Path]:
    """Directories that may be an installed ``hls4ml`` package, without importing it.

    ``find_spec`` of a top-level name only asks the path finders; it runs no
    code of the package. Scanning the site and sys.path directories as well
    covers a spec that is odd (a stale sys.modules entry, a namespace shim).
    """
    dirs: list[Path] = []
    try:
        spec = importlib.util.find_spec("hls4ml")
    except (ImportError, ValueError):  # ValueError: sys.modules entry without __spec__
        spec = None
    if spec is not None:
        dirs += [Path(p) for p in spec.submodule_search_locations or ()]
        if spec.origin and spec.origin not in ("namespace", "built-in", "frozen"):
            dirs.append(Path(spec.origin).parent)
    roots: list[str] = []
    try:
        roots += site.getsitepackages()
    except AttributeError:  # some embedded/virtualenv builds lack it
        pass
    user_site = site.getusersitepackages() if site.ENABLE_USER_SITE else None
    if isinstance(user_site, str):
        roots.append(user_site)
    roots += [p for p in sys.path if p]
    dirs += [Path(r) / "hls4ml" for r in roots]
    return _unique(dirs)


def _unique(paths: Iterable[Path]) -> list[Path]:
    seen: set[str] = set()
    out: list[Path] = []
    for p in paths:
        key = os.path.normcase(os.path.abspath(p))
        if key not in seen:
            seen.add(key)
            out.append(p)
    return out


def find_ap_include(
    explicit: str | os.PathLike[str] | None = None,
    environ: Mapping[str, str] | None = None,
) -> tuple[Path, str] | None:
    """(directory containing ap_fixed.h, where it came from) or None.

    The source is one of ``"--ap-include"``, ``"ERNNC_AP_INCLUDE"``,
    ``"XILINX_HLS"``, ``"hls4ml"``. Raises ErnncError when a directory the
    user named lacks the header.
    """
    env = os.environ if environ is None else environ
    if explicit is not None and str(explicit) != "":
        return _named_dir(explicit, "--ap-include"), "--ap-include"
    if env.get(ENV_VAR):
        return _named_dir(env[ENV_VAR], ENV_VAR), ENV_VAR
    if env.get("XILINX_HLS"):
        d = Path(env["XILINX_HLS"]).expanduser() / "include"
        if _has_header(d):
            return d.resolve(), "XILINX_HLS"
    for pkg in _hls4ml_package_dirs():
        d = pkg / HLS4ML_SUBDIR
        if _has_header(d):
            return d.resolve(), "hls4ml"
    return None


def describe_ap_include(found: tuple[Path, str]) -> str:
    """One line for logs: which headers a C simulation compiles against."""
    d, source = found
    return f"{HEADER} from {source}: {d}"


def ap_include_or_skip_reason(
    explicit: str | os.PathLike[str] | None = None,
) -> tuple[Path | None, str]:
    """For tests: (directory, description) when found, else (None, why) to skip with.

    A misconfigured ERNNC_AP_INCLUDE becomes the skip reason rather than an
    exception at collection time, so the message reaches the test report.
    """
    try:
        found = find_ap_include(explicit)
    except ErnncError as e:
        return None, str(e)
    if found is None:
        return None, AP_HEADERS_HELP
    return found[0], describe_ap_include(found)
