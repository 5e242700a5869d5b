"""ernnc.train.ucr: the .ts reader (NumPy only, no torch, no aeon import)."""

from __future__ import annotations

import importlib.util
import sys

import numpy as np
import pytest

from ernnc.train import ucr

TOY = """# a comment
@problemName Toy
@timeStamps false
@univariate false
@dimensions 2
@classLabel true up down
@data
1,2,3:4,5,6:up

0.5,0.25,1:-1,-2,-3e1:down
"""


def _write(folder, name: str, train: str, test: str) -> None:
    (folder / name).mkdir()
    (folder / name / f"{name}_TRAIN.ts").write_text(train)
    (folder / name / f"{name}_TEST.ts").write_text(test)


def test_reads_a_multivariate_set(tmp_path):
    _write(tmp_path, "Toy", TOY, TOY.replace(":up", ":down", 1))
    d = ucr.load("Toy", tmp_path)
    assert d.classes == ["up", "down"]
    np.testing.assert_array_equal(
        d.train.x,
        np.array([[[1, 4], [2, 5], [3, 6]], [[0.5, -1], [0.25, -2], [1, -30]]], np.float32),
    )
    assert d.train.x.dtype == np.float32 and d.train.y.tolist() == [0, 1]
    assert d.test.y.tolist() == [1, 1]


@pytest.mark.parametrize(
    "text,message",
    [
        (TOY.replace("4,5,6", "4,?,6"), "missing values"),
        (TOY.replace("4,5,6", "4,5"), "unequal length"),
        (TOY.replace(":down", ":left"), "not among the declared classes"),
        (TOY.replace("@classLabel true up down", "@classLabel false"), "not a classification"),
        (TOY.replace("@data\n", ""), "no @data"),
        (TOY.replace("0.5,0.25,1", "0.5,0.25,1,7"), "unequal length"),
    ],
)
def test_rejects_what_it_cannot_read(tmp_path, text, message):
    _write(tmp_path, "Toy", text, TOY)
    with pytest.raises(ValueError, match=message):
        ucr.load("Toy", tmp_path)


def test_missing_files_are_named(tmp_path):
    with pytest.raises(FileNotFoundError, match="Nope_TRAIN.ts"):
        ucr.load("Nope", tmp_path)


@pytest.mark.skipif(
    importlib.util.find_spec("aeon") is None, reason="aeon (--no-deps) not installed"
)
def test_italy_power_demand_from_the_aeon_wheel():
    d = ucr.load("ItalyPowerDemand")
    assert d.train.x.shape == (67, 24, 1) and d.test.x.shape == (1029, 24, 1)
    assert d.classes == ["1", "2"]
    assert np.bincount(d.test.y).tolist() == [513, 516]
    # each series is z-normalised in the UCR archive
    np.testing.assert_allclose(d.test.x.mean(1), 0, atol=1e-5)
    assert "aeon" not in sys.modules


def test_the_reader_needs_no_torch():
    import subprocess

    code = "import sys; from ernnc.train import ucr; print(sorted(m for m in ('torch', 'aeon') if m in sys.modules))"
    r = subprocess.run([sys.executable, "-c", code], check=False, capture_output=True, text=True)
    assert r.stdout.strip() == "[]", r.stdout + r.stderr
