"""A Predict answer's TensorProto as a numpy array, fast whichever field the server filled.

TF Serving answers numeric outputs in the typed repeated fields (`float_val`, ...) rather than
`tensor_content` (tensorflow_serving/servables/tensorflow/predict_util.cc serialises with
`AsProtoField` unless the request asks otherwise); TF's clients read both. Copying a repeated field
element by element (`np.fromiter`, `tf.make_ndarray`) costs ~110 ns a value, ~0.5 ms for 4,096 rows,
as much as the model's own run. But proto3 stores a repeated float/double field *packed*: one
length-delimited run of little-endian values. So the TensorProto is re-serialised (a C-level copy)
and that run is viewed with `np.frombuffer` (the same reader the server uses, serving/grpc_codec.py).
Other dtypes and forms go through TF's own codec.
"""

from __future__ import annotations

import numpy as np
import tensorflow as tf
from tensorflow.core.framework import tensor_pb2, types_pb2

from modelops.serving.grpc_codec import packed_values

# dtypes whose typed field proto3 packs as fixed-width values (serving/grpc_codec.py reads them)
_NUMPY_BY_DTYPE = {types_pb2.DT_FLOAT: np.dtype(np.float32), types_pb2.DT_DOUBLE: np.dtype(np.float64)}


def tensor_to_array(proto: tensor_pb2.TensorProto) -> np.ndarray:
    """The tensor's values in its shape: `tensor_content`, a packed float/double field, or (other
    dtypes, or a single value broadcast over the shape as TF allows) TF's make_ndarray."""
    dtype = _NUMPY_BY_DTYPE.get(proto.dtype)
    if dtype is None or proto.tensor_shape.unknown_rank:
        return tf.make_ndarray(proto)
    shape = [dim.size for dim in proto.tensor_shape.dim]
    count = int(np.prod(shape, dtype=np.int64))
    content = proto.tensor_content  # each read of a bytes field copies it: read once
    values = np.frombuffer(content, dtype=dtype.newbyteorder("<")) if content else packed_values(proto, count)
    if values is None or values.size != count:  # e.g. one value standing for a whole constant tensor
        return tf.make_ndarray(proto)
    return values.astype(dtype, copy=False).reshape(shape)
