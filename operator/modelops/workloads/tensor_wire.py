"""A Predict answer's TensorProto as a numpy array, fast whichever field the server filled.

TF Serving answers numeric outputs in the typed repeated fields (`float_val`, ...) rather than
`tensor_content` (tensorflow_serving/servables/tensorflow/predict_util.cc serialises with
`AsProtoField` unless the request asks otherwise); TF's clients read both. Copying a repeated field
element by element (`np.fromiter`, `tf.make_ndarray`) costs ~110 ns a value, ~0.5 ms for 4,096 rows,
as much as the model's own run. But proto3 stores a repeated float/double field *packed*: one
length-delimited run of little-endian values. So the TensorProto is re-serialised (a C-level copy)
and that run is viewed with `np.frombuffer`. Other dtypes and forms go through TF's own codec.
"""

from __future__ import annotations

import numpy as np
import tensorflow as tf
from tensorflow.core.framework import tensor_pb2, types_pb2

# tensorflow/core/framework/tensor.proto: field numbers of the packed fixed-width repeated fields
_FIXED_FIELDS = {types_pb2.DT_FLOAT: (5, np.dtype("<f4")), types_pb2.DT_DOUBLE: (6, np.dtype("<f8"))}
_NUMPY_BY_DTYPE = {types_pb2.DT_FLOAT: np.dtype(np.float32), types_pb2.DT_DOUBLE: np.dtype(np.float64)}
_LENGTH_DELIMITED, _VARINT, _FIXED64, _FIXED32 = 2, 0, 1, 5


def tensor_to_array(proto: tensor_pb2.TensorProto) -> np.ndarray:
    """The tensor's values in its shape: `tensor_content`, a packed float/double field, or (other
    dtypes, or a single value broadcast over the shape as TF allows) TF's make_ndarray."""
    fixed = _FIXED_FIELDS.get(proto.dtype)
    if fixed is None or proto.tensor_shape.unknown_rank:
        return tf.make_ndarray(proto)
    shape = [dim.size for dim in proto.tensor_shape.dim]
    count = int(np.prod(shape, dtype=np.int64))
    dtype = _NUMPY_BY_DTYPE[proto.dtype]
    content = proto.tensor_content  # each read of a bytes field copies it: read once
    values = np.frombuffer(content, dtype=fixed[1]) if content else _packed_values(proto.SerializeToString(), *fixed)
    if values.size != count:  # e.g. one value standing for a whole constant tensor
        return tf.make_ndarray(proto)
    return values.astype(dtype, copy=False).reshape(shape)


def _packed_values(message: bytes, field_number: int, dtype: np.dtype) -> np.ndarray:
    """Every value of one packed repeated fixed-width field of a serialised message."""
    chunks: list[np.ndarray] = []
    position, end = 0, len(message)
    while position < end:
        key, position = _varint(message, position)
        number, wire_type = key >> 3, key & 7
        if wire_type == _LENGTH_DELIMITED:
            length, position = _varint(message, position)
            if number == field_number:
                chunks.append(np.frombuffer(message, dtype=dtype, count=length // dtype.itemsize, offset=position))
            position += length
        elif wire_type == _VARINT:
            _, position = _varint(message, position)
        elif wire_type == _FIXED64:
            position += 8
        elif wire_type == _FIXED32:
            position += 4
        else:
            raise ValueError(f"TensorProto: unexpected wire type {wire_type} of field {number}")
    if len(chunks) == 1:
        return chunks[0]
    return np.concatenate(chunks) if chunks else np.empty(0, dtype)


def _varint(data: bytes, position: int) -> tuple[int, int]:
    result = shift = 0
    while True:
        byte = data[position]
        position += 1
        result |= (byte & 0x7F) << shift
        if byte < 0x80:
            return result, position
        shift += 7
