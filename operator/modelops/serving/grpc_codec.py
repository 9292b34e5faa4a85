"""TensorProto <-> numpy for the gRPC API, and tf.Example lists for Classify / Regress.

TensorFlow's own codec (`tf.make_ndarray`, `tf.make_tensor_proto`) does the work, so every dtype,
`tensor_content` and repeated-field form TF Serving accepts is read the same way here. The one
exception is the hot path of a numeric tensor packed in `tensor_content`, the form every TF client
sends: that is a byte buffer plus a shape, read and written as TF's codec does (little-endian
row-major bytes) without its per-call Python overhead (~200 us per request, measured in
bench/serve.py --grpc, more than the model itself).
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import tensorflow as tf
from tensorflow.core.framework import tensor_pb2, tensor_shape_pb2
from tensorflow_serving.apis import input_pb2

from modelops.serving.errors import invalid

_NUMERIC = {
    np.dtype(np_type): tf.as_dtype(np_type).as_datatype_enum
    for np_type in (np.float32, np.float64, np.int32, np.int64, np.int8, np.int16, np.uint8, np.uint16,
                    np.uint32, np.uint64, np.bool_, np.float16)
}
_NUMPY_BY_ENUM = {enum: dtype for dtype, enum in _NUMERIC.items()}


def decode_tensors(protos: Mapping[str, tensor_pb2.TensorProto]) -> dict[str, np.ndarray]:
    arrays = {}
    for name, proto in protos.items():
        try:
            array = _from_content(proto)
            if array is None:
                array = tf.make_ndarray(proto)
        except (TypeError, ValueError, KeyError) as exc:
            raise invalid(f"input {name!r}: not a valid TensorProto: {exc}") from exc
        arrays[name] = array
    return arrays


def encode_tensors(arrays: Mapping[str, np.ndarray], into: Mapping[str, tensor_pb2.TensorProto]) -> None:
    """Fill a response's `outputs` map (a protobuf map field: CopyFrom into its entries)."""
    for name, array in arrays.items():
        enum = _NUMERIC.get(array.dtype)
        if enum is None:  # strings and the rest: TF's codec
            into[name].CopyFrom(tf.make_tensor_proto(array))
            continue
        proto = into[name]
        proto.dtype = enum
        proto.tensor_shape.dim.extend(tensor_shape_pb2.TensorShapeProto.Dim(size=size) for size in array.shape)
        proto.tensor_content = np.ascontiguousarray(array).astype(array.dtype.newbyteorder("<"), copy=False).tobytes()


def _from_content(proto: tensor_pb2.TensorProto) -> np.ndarray | None:
    """A numeric tensor in `tensor_content`, else None (TF's codec reads the other forms)."""
    dtype = _NUMPY_BY_ENUM.get(proto.dtype)
    if dtype is None or proto.tensor_shape.unknown_rank:
        return None
    content = proto.tensor_content  # each read of a bytes field copies it: read once
    if not content:
        return None
    shape = [dim.size for dim in proto.tensor_shape.dim]
    expected = int(np.prod(shape, dtype=np.int64)) * dtype.itemsize
    if expected != len(content):
        raise ValueError(f"tensor_content holds {len(content)} bytes, shape {shape} of "
                         f"{dtype.name} needs {expected}")
    return np.frombuffer(content, dtype=dtype.newbyteorder("<")).astype(dtype, copy=False).reshape(shape)


def serialized_examples(request_input: input_pb2.Input) -> np.ndarray:
    """The request's tf.Examples as the 1-D string tensor a classify/regress signature reads.
    With `example_list_with_context` the context's features are merged into each example, as TF
    Serving does (serialised messages concatenate into a merge)."""
    kind = request_input.WhichOneof("kind")
    if kind == "example_list":
        examples = [e.SerializeToString() for e in request_input.example_list.examples]
    elif kind == "example_list_with_context":
        context = request_input.example_list_with_context.context.SerializeToString()
        examples = [context + e.SerializeToString() for e in request_input.example_list_with_context.examples]
    else:
        raise invalid("Input is empty")
    if not examples:
        raise invalid("Input is empty")
    return np.array(examples, dtype=object)
