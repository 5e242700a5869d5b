"""Verifiers of the ernnc dialects reject malformed IR with a clear reason."""

from __future__ import annotations

import numpy as np
import pytest
from xdsl.dialects.builtin import TensorType, f32
from xdsl.ir import Block, Region
from xdsl.utils.exceptions import VerifyException
from xdsl.utils.test_value import create_ssa_value

from ernnc.compiler.driver import parse_mlir
from ernnc.compiler.errors import ErnncError
from ernnc.dialects import cell, nn
from ernnc.dialects.shapes import DYN


def _t(*shape: int) -> TensorType:
    return TensorType(f32, list(shape))


def test_matvec_shapes_are_checked():
    w, x = create_ssa_value(_t(8, 5)), create_ssa_value(_t(DYN, 5))
    op = cell.MatVecOp(w, x, "layer0.fwd.W", ["i", "o"])
    op.verify()
    assert op.result.type == _t(DYN, 8)
    bad = cell.MatVecOp(w, create_ssa_value(_t(DYN, 4)), "m", ["i"])
    with pytest.raises(VerifyException, match="cell.matvec x"):
        bad.verify()
    with pytest.raises(VerifyException, match="split evenly"):
        cell.MatVecOp(w, x, "m", ["i", "o", "f"]).verify()


def test_split_sizes_must_add_up():
    x = create_ssa_value(_t(DYN, 8))
    nn.SplitOp(x, -1, [2, 6]).verify()
    with pytest.raises(VerifyException, match="do not add up"):
        nn.SplitOp(x, -1, [2, 5]).verify()


def test_broadcasting_and_reshape_inference():
    a, b = create_ssa_value(_t(DYN, 4)), create_ssa_value(_t(4))
    assert nn.AddOp(a, b).result.type == _t(DYN, 4)
    with pytest.raises(VerifyException, match="do not broadcast"):
        nn.AddOp(a, create_ssa_value(_t(3)))
    y = create_ssa_value(_t(DYN, DYN, 2, 8))
    assert nn.ReshapeOp(y, shape=[0, 0, -1]).result.type == _t(DYN, DYN, 16)
    assert nn.SliceOp(
        create_ssa_value(_t(DYN, 3)), starts=[-1], ends=[2**63 - 1], axes=[0], steps=[1]
    ).result.type == _t(1, 3)
    assert nn.GatherOp(create_ssa_value(_t(DYN, 3, 8)), 0, np.array(-1)).result.type == _t(3, 8)


def test_activation_parameters_are_checked():
    x = create_ssa_value(_t(2))
    nn.ActOp(x, "LeakyRelu", 0.1).verify()
    with pytest.raises(VerifyException, match="takes 1 parameter"):
        nn.ActOp(x, "LeakyRelu").verify()
    with pytest.raises(VerifyException, match="unknown activation"):
        nn.ActOp(x, "Cosh").verify()


def test_scan_body_must_match_its_states():
    x = create_ssa_value(_t(DYN, DYN, 3))
    block = Block(arg_types=[_t(DYN, 3), _t(DYN, 4)])
    block.add_op(cell.YieldOp(block.args[1]))
    scan = cell.ScanOp(
        x, [], None, [_t(DYN, 4)], Region(block), reverse=False, kind="rnn", layer="layer0"
    )
    scan.verify()
    bad_block = Block(arg_types=[_t(DYN, 3), _t(DYN, 4)])
    bad_block.add_op(cell.YieldOp(bad_block.args[0]))
    bad = cell.ScanOp(
        x, [], None, [_t(DYN, 4)], Region(bad_block), reverse=True, kind="rnn", layer="layer0"
    )
    with pytest.raises(VerifyException, match="yielded types"):
        bad.verify()


def test_parsed_ir_is_verified():
    text = """builtin.module {
  func.func @f(%w: tensor<8x5xf32>, %x: tensor<?x4xf32>) -> tensor<?x8xf32> {
    %0 = cell.matvec %w, %x {matrix = "m", gates = ["i"]} : (tensor<8x5xf32>, tensor<?x4xf32>) -> tensor<?x8xf32>
    func.return %0 : tensor<?x8xf32>
  }
}
"""
    with pytest.raises(ErnncError, match="does not verify.*cell.matvec x"):
        parse_mlir(text, "bad.mlir")
