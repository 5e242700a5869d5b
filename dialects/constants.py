"""Tensor constants: ``arith.constant`` with a dense attribute, to and from
NumPy. Weights are stored as raw little-endian bytes, which xDSL prints as
hex and parses back fast and bit-exactly."""

from __future__ import annotations

import numpy as np
from xdsl.dialects import arith
from xdsl.dialects.builtin import (
    BytesAttr,
    DenseIntOrFPElementsAttr,
    Float32Type,
    Float64Type,
    IntegerType,
    TensorType,
    f32,
    f64,
    i1,
    i32,
    i64,
)
from xdsl.ir import Attribute, SSAValue

_TYPES: dict[np.dtype, Attribute] = {
    np.dtype(np.float32): f32,
    np.dtype(np.float64): f64,
    np.dtype(np.int64): i64,
    np.dtype(np.int32): i32,
    np.dtype(np.int16): IntegerType(16),
    np.dtype(np.int8): IntegerType(8),
    np.dtype(np.bool_): i1,
}


def element_type_of(dtype: np.dtype | type) -> Attribute:
    return _TYPES[np.dtype(dtype)]


def dtype_of(element_type: Attribute) -> np.dtype:
    if isinstance(element_type, Float32Type):
        return np.dtype(np.float32)
    if isinstance(element_type, Float64Type):
        return np.dtype(np.float64)
    if isinstance(element_type, IntegerType):
        width = element_type.width.data
        return np.dtype(np.bool_) if width == 1 else np.dtype(f"int{width}")
    raise ValueError(f"no NumPy dtype for {element_type}")


def dense_from_numpy(array: np.ndarray) -> DenseIntOrFPElementsAttr:
    a = np.asarray(array)
    el = element_type_of(a.dtype)
    data = a.astype(np.int8) if a.dtype == np.bool_ else a
    data = np.ascontiguousarray(data, dtype=data.dtype.newbyteorder("<"))
    return DenseIntOrFPElementsAttr(TensorType(el, list(a.shape)), BytesAttr(data.tobytes()))


def numpy_from_dense(attr: DenseIntOrFPElementsAttr) -> np.ndarray:
    t = attr.get_type()
    assert isinstance(t, TensorType)
    dtype = dtype_of(t.element_type)
    shape = tuple(t.get_shape())
    raw = attr.data.data
    if dtype == np.bool_:
        values = np.frombuffer(raw, dtype=np.int8).astype(np.bool_)
    else:
        values = np.frombuffer(raw, dtype=dtype.newbyteorder("<")).astype(dtype)
    if values.size == 1 and int(np.prod(shape)) != 1:  # splat
        return np.full(shape, values[0], dtype=dtype)
    return values.reshape(shape)


def constant_op(array: np.ndarray) -> arith.ConstantOp:
    return arith.ConstantOp(dense_from_numpy(array))


def constant_value(value: SSAValue) -> np.ndarray | None:
    """The array of ``value`` if it is defined by a tensor ``arith.constant``."""
    owner = value.owner
    if isinstance(owner, arith.ConstantOp) and isinstance(owner.value, DenseIntOrFPElementsAttr):
        return numpy_from_dense(owner.value)
    return None
