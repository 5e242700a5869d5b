"""IR-level tests: tests/filecheck/*.mlir, each with RUN lines as in lit."""

from __future__ import annotations

from pathlib import Path

import pytest
from conftest import run_filecheck_file

FILES = sorted((Path(__file__).parent / "filecheck").glob("*.mlir"))


@pytest.mark.parametrize("path", FILES, ids=[p.name for p in FILES])
def test_filecheck(path):
    run_filecheck_file(path)
