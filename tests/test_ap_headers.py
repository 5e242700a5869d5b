"""Locating ap_fixed.h: --ap-include, ERNNC_AP_INCLUDE, XILINX_HLS, hls4ml, in that order.

Everything here uses temporary directories; the hls4ml search is pointed at
fake packages (or at nothing) so the result does not depend on whether the
machine has hls4ml or Vitis installed.
"""

from __future__ import annotations

import importlib.util
import sys
from importlib.machinery import ModuleSpec
from pathlib import Path

import pytest

from ernnc.compiler import ap_headers
from ernnc.compiler.ap_headers import (
    AP_HEADERS_HELP,
    HLS4ML_SUBDIR,
    ap_include_or_skip_reason,
    describe_ap_include,
    find_ap_include,
)
from ernnc.compiler.errors import ErnncError


def headers(d: Path) -> Path:
    d.mkdir(parents=True, exist_ok=True)
    (d / "ap_fixed.h").write_text("// fake\n")
    return d


def fake_hls4ml(root: Path) -> Path:
    """An hls4ml package whose import would fail loudly, with the headers inside."""
    pkg = root / "hls4ml"
    pkg.mkdir(parents=True)
    (pkg / "__init__.py").write_text("raise RuntimeError('hls4ml was imported')\n")
    return headers(pkg / HLS4ML_SUBDIR)


@pytest.fixture
def clean(monkeypatch: pytest.MonkeyPatch) -> pytest.MonkeyPatch:
    """No env configuration and no hls4ml anywhere."""
    monkeypatch.delenv("ERNNC_AP_INCLUDE", raising=False)
    monkeypatch.delenv("XILINX_HLS", raising=False)
    monkeypatch.setattr(ap_headers, "_hls4ml_package_dirs", list)
    return monkeypatch


def test_nothing_found(clean: pytest.MonkeyPatch) -> None:
    assert find_ap_include(None) is None
    assert ap_include_or_skip_reason() == (None, AP_HEADERS_HELP)
    # one line that names every way to provide the headers
    assert "\n" not in AP_HEADERS_HELP
    for what in ("--ap-include", "ERNNC_AP_INCLUDE", "XILINX_HLS", "hls4ml"):
        assert what in AP_HEADERS_HELP


def test_explicit_wins_over_everything(clean: pytest.MonkeyPatch, tmp_path: Path) -> None:
    mine = headers(tmp_path / "mine")
    clean.setenv("ERNNC_AP_INCLUDE", str(headers(tmp_path / "env")))
    clean.setenv("XILINX_HLS", str(tmp_path / "vitis"))
    headers(tmp_path / "vitis" / "include")
    clean.setattr(ap_headers, "_hls4ml_package_dirs", lambda: [tmp_path / "h4"])
    headers(tmp_path / "h4" / HLS4ML_SUBDIR)
    assert find_ap_include(mine) == (mine.resolve(), "--ap-include")
    assert find_ap_include(str(mine)) == (mine.resolve(), "--ap-include")


def test_order_env_then_vitis_then_hls4ml(clean: pytest.MonkeyPatch, tmp_path: Path) -> None:
    env = headers(tmp_path / "env")
    vitis = headers(tmp_path / "vitis" / "include")
    h4 = headers(tmp_path / "h4" / HLS4ML_SUBDIR)
    clean.setattr(ap_headers, "_hls4ml_package_dirs", lambda: [tmp_path / "h4"])
    assert find_ap_include(None) == (h4.resolve(), "hls4ml")
    clean.setenv("XILINX_HLS", str(tmp_path / "vitis"))
    assert find_ap_include(None) == (vitis.resolve(), "XILINX_HLS")
    clean.setenv("ERNNC_AP_INCLUDE", str(env))
    assert find_ap_include(None) == (env.resolve(), "ERNNC_AP_INCLUDE")


def test_environ_argument(clean: pytest.MonkeyPatch, tmp_path: Path) -> None:
    env = headers(tmp_path / "env")
    assert find_ap_include(None, environ={"ERNNC_AP_INCLUDE": str(env)}) == (
        env.resolve(),
        "ERNNC_AP_INCLUDE",
    )


def test_empty_values_are_unset(clean: pytest.MonkeyPatch, tmp_path: Path) -> None:
    clean.setenv("ERNNC_AP_INCLUDE", "")
    clean.setenv("XILINX_HLS", "")
    assert find_ap_include("") is None


@pytest.mark.parametrize("source", ["--ap-include", "ERNNC_AP_INCLUDE"])
def test_named_dir_without_header_is_an_error(
    clean: pytest.MonkeyPatch, tmp_path: Path, source: str
) -> None:
    # a usable fallback exists: it must not be used silently
    clean.setattr(ap_headers, "_hls4ml_package_dirs", lambda: [tmp_path / "h4"])
    headers(tmp_path / "h4" / HLS4ML_SUBDIR)
    empty = tmp_path / "empty"
    empty.mkdir()
    for bad, why in ((empty, "no ap_fixed.h in it"), (tmp_path / "missing", "no such directory")):
        if source == "--ap-include":
            with pytest.raises(ErnncError) as e:
                find_ap_include(bad)
        else:
            clean.setenv("ERNNC_AP_INCLUDE", str(bad))
            with pytest.raises(ErnncError) as e:
                find_ap_include(None)
        msg = str(e.value)
        assert source in msg and str(bad) in msg and why in msg and "\n" not in msg


def test_bad_env_becomes_the_skip_reason(clean: pytest.MonkeyPatch, tmp_path: Path) -> None:
    clean.setenv("ERNNC_AP_INCLUDE", str(tmp_path))
    path, reason = ap_include_or_skip_reason()
    assert path is None and "ERNNC_AP_INCLUDE" in reason and "no ap_fixed.h" in reason


def test_vitis_without_headers_falls_through(clean: pytest.MonkeyPatch, tmp_path: Path) -> None:
    # XILINX_HLS is a place to look, not a request: an install without include/ is skipped
    clean.setenv("XILINX_HLS", str(tmp_path / "vitis"))
    (tmp_path / "vitis").mkdir()
    assert find_ap_include(None) is None
    h4 = headers(tmp_path / "h4" / HLS4ML_SUBDIR)
    clean.setattr(ap_headers, "_hls4ml_package_dirs", lambda: [tmp_path / "h4"])
    assert find_ap_include(None) == (h4.resolve(), "hls4ml")


def test_skip_reason_when_found(clean: pytest.MonkeyPatch, tmp_path: Path) -> None:
    env = headers(tmp_path / "env")
    clean.setenv("ERNNC_AP_INCLUDE", str(env))
    path, text = ap_include_or_skip_reason()
    assert path == env.resolve()
    assert text == describe_ap_include((env.resolve(), "ERNNC_AP_INCLUDE"))
    assert "ERNNC_AP_INCLUDE" in text and str(env.resolve()) in text


def test_hls4ml_found_by_spec_without_importing(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.delenv("ERNNC_AP_INCLUDE", raising=False)
    monkeypatch.delenv("XILINX_HLS", raising=False)
    monkeypatch.delitem(sys.modules, "hls4ml", raising=False)
    want = fake_hls4ml(tmp_path)
    monkeypatch.syspath_prepend(str(tmp_path))  # ahead of any real hls4ml
    assert find_ap_include(None) == (want.resolve(), "hls4ml")
    assert "hls4ml" not in sys.modules


def test_hls4ml_found_by_scanning_site_dirs(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.delenv("ERNNC_AP_INCLUDE", raising=False)
    monkeypatch.delenv("XILINX_HLS", raising=False)
    want = fake_hls4ml(tmp_path / "site")
    real_find_spec = importlib.util.find_spec

    def no_hls4ml(name: str, package: str | None = None) -> ModuleSpec | None:
        return None if name == "hls4ml" else real_find_spec(name, package)

    monkeypatch.setattr(importlib.util, "find_spec", no_hls4ml)
    monkeypatch.setattr(ap_headers.site, "getsitepackages", lambda: [str(tmp_path / "site")])
    assert find_ap_include(None) == (want.resolve(), "hls4ml")


def test_hls4ml_spec_error_is_not_fatal(monkeypatch: pytest.MonkeyPatch) -> None:
    # find_spec raises ValueError for a sys.modules entry whose __spec__ is None
    monkeypatch.setitem(sys.modules, "hls4ml", type(sys)("hls4ml"))
    sys.modules["hls4ml"].__spec__ = None
    assert isinstance(ap_headers._hls4ml_package_dirs(), list)
