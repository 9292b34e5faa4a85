"""TensorProto <-> numpy for the gRPC API, and tf.Example lists for Classify / Regress.

Requests are read in every form TF Serving accepts: numeric `tensor_content` (what
`tf.make_tensor_proto` sends) and the typed repeated fields (`float_val`, `int64_val`,
`string_val`, ...), falling back to TensorFlow's own codec (`tf.make_ndarray`) for the rest.
Responses are written as TF Serving writes them: `Tensor::AsProtoField` fills the typed field of the
dtype (servables/tensorflow/predict_util.cc, PostProcessPredictionResult with its default
kAsProtoField option), so clients reading `outputs["y"].float_val` (TF Serving's own
model_servers/tensorflow_model_server_test.py) get the values. `encode_tensors` (tensor_content)
stays for requests a client sends: it is the compact form `tf.make_tensor_proto` produces.
Both hot paths avoid TF's per-call Python overhead (~200 us per request, measured in
bench/serve.py --grpc, more than the model itself).
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import tensorflow as tf
from tensorflow.core.framework import tensor_pb2, tensor_shape_pb2, types_pb2
from tensorflow_serving.apis import input_pb2

from modelops.serving.errors import invalid

_NUMERIC = {
    np.dtype(np_type): tf.as_dtype(np_type).as_datatype_enum
    for np_type in (np.float32, np.float64, np.int32, np.int64, np.int8, np.int16, np.uint8, np.uint16,
                    np.uint32, np.uint64, np.bool_, np.float16)
}
_NUMPY_BY_ENUM = {enum: dtype for dtype, enum in _NUMERIC.items()}
_PACKED_READ_FROM = 64  # values; below, iterating the repeated field is as fast as re-serializing

# Tensor::AsProtoField's field per dtype (tensorflow/core/framework/tensor.cc, ProtoHelper): the
# small integer types share int_val, half precision travels as its bit pattern in half_val.
_FIELD_BY_ENUM = {
    types_pb2.DT_FLOAT: "float_val",
    types_pb2.DT_DOUBLE: "double_val",
    types_pb2.DT_INT32: "int_val",
    types_pb2.DT_INT16: "int_val",
    types_pb2.DT_INT8: "int_val",
    types_pb2.DT_UINT8: "int_val",
    types_pb2.DT_UINT16: "int_val",
    types_pb2.DT_INT64: "int64_val",
    types_pb2.DT_UINT32: "uint32_val",
    types_pb2.DT_UINT64: "uint64_val",
    types_pb2.DT_BOOL: "bool_val",
    types_pb2.DT_HALF: "half_val",
}


def decode_tensors(protos: Mapping[str, tensor_pb2.TensorProto]) -> dict[str, np.ndarray]:
    arrays = {}
    for name, proto in protos.items():
        try:
            array = _from_content(proto)
            if array is None:
                array = _from_typed_field(proto)
            if array is None:
                array = tf.make_ndarray(proto)
        except (TypeError, ValueError, KeyError) as exc:
            # predict_util.cc: Tensor::FromProto failed; our detail follows in parentheses
            raise invalid(f"tensor parsing error: {name} ({exc})") from exc
        arrays[name] = array
    return arrays


def encode_tensors(arrays: Mapping[str, np.ndarray], into: Mapping[str, tensor_pb2.TensorProto]) -> None:
    """Fill a request's `inputs` map with `tensor_content`, as `tf.make_tensor_proto` does (a
    protobuf map field: CopyFrom into its entries)."""
    for name, array in arrays.items():
        enum = _NUMERIC.get(array.dtype)
        if enum is None:  # strings and the rest: TF's codec
            into[name].CopyFrom(tf.make_tensor_proto(array))
            continue
        proto = into[name]
        proto.dtype = enum
        proto.tensor_shape.dim.extend(tensor_shape_pb2.TensorShapeProto.Dim(size=size) for size in array.shape)
        proto.tensor_content = np.ascontiguousarray(array).astype(array.dtype.newbyteorder("<"), copy=False).tobytes()


def encode_proto_fields(arrays: Mapping[str, np.ndarray], into: Mapping[str, tensor_pb2.TensorProto]) -> None:
    """Fill a response's `outputs` map as TF Serving's `Tensor::AsProtoField`: dtype, the full
    shape (present even for a scalar) and every value in the dtype's typed field."""
    for name, array in arrays.items():
        proto = into[name]
        wire = _WIRE_FORMAT.get(array.dtype)
        if wire is not None:  # fixed-width values: the packed field's bytes are the array's own
            proto.MergeFromString(_packed_tensor(array, *wire))
            continue
        if array.dtype == np.object_ or array.dtype.kind in "SU":
            proto.dtype = types_pb2.DT_STRING
            proto.string_val.extend(_as_bytes(value) for value in array.ravel().tolist())
        else:
            enum = _NUMERIC.get(array.dtype)
            if enum is None:  # complex and other rare dtypes: TF's codec
                proto.CopyFrom(tf.make_tensor_proto(array))
                continue
            proto.dtype = enum
            values = array.view(np.uint16) if enum == types_pb2.DT_HALF else array
            getattr(proto, _FIELD_BY_ENUM[enum]).extend(values.ravel().tolist())
        proto.tensor_shape.SetInParent()
        proto.tensor_shape.dim.extend(tensor_shape_pb2.TensorShapeProto.Dim(size=size) for size in array.shape)


# dtype -> (DataType, TensorProto field number, little-endian numpy type of its packed encoding):
# float_val = 5 (fixed32), double_val = 6 (fixed64), bool_val = 11 (varints 0/1, one byte each)
_WIRE_FORMAT = {
    np.dtype(np.float32): (types_pb2.DT_FLOAT, 5, "<f4"),
    np.dtype(np.float64): (types_pb2.DT_DOUBLE, 6, "<f8"),
    np.dtype(np.bool_): (types_pb2.DT_BOOL, 11, "u1"),
}
_FIELD_NUMBER = {enum: (number, np.dtype(layout)) for enum, number, layout in _WIRE_FORMAT.values()}


def _packed_tensor(array: np.ndarray, enum: int, field_number: int, layout: str) -> bytes:
    """A serialized TensorProto {dtype, tensor_shape, packed values}: protobuf parses the packed
    bytes in C, ~20x faster than extending the repeated field from Python floats."""
    shape = tensor_shape_pb2.TensorShapeProto(
        dim=[tensor_shape_pb2.TensorShapeProto.Dim(size=size) for size in array.shape]).SerializeToString()
    payload = np.ascontiguousarray(array).astype(layout, copy=False).tobytes()
    return b"".join((_key(1, 0), _varint(enum), _key(2, 2), _varint(len(shape)), shape,
                     _key(field_number, 2), _varint(len(payload)), payload))


def _key(field_number: int, wire_type: int) -> bytes:
    return _varint(field_number << 3 | wire_type)


def _varint(value: int) -> bytes:
    out = bytearray()
    while value > 0x7F:
        out.append(value & 0x7F | 0x80)
        value >>= 7
    out.append(value)
    return bytes(out)


def packed_values(proto: tensor_pb2.TensorProto, count: int) -> np.ndarray | None:
    """The typed field's values straight from the packed wire bytes (the mirror of
    _packed_tensor), or None when they are not all in packed chunks or are not `count` values.
    Reading the repeated field value by value costs ~110 ns each; this is one C-level copy."""
    number, layout = _FIELD_NUMBER[proto.dtype]
    data, position, chunks = proto.SerializeToString(), 0, []
    while position < len(data):
        key, position = _read_varint(data, position)
        field, wire_type = key >> 3, key & 7
        if wire_type == 0:
            _, position = _read_varint(data, position)
        elif wire_type in (1, 5):
            if field == number:
                return None  # an unpacked value
            position += 8 if wire_type == 1 else 4
        elif wire_type == 2:
            size, position = _read_varint(data, position)
            if field == number:
                chunks.append(data[position:position + size])
            position += size
        else:
            return None
    values = np.frombuffer(b"".join(chunks), dtype=layout)
    return values if len(values) == count else None


def _read_varint(data: bytes, position: int) -> tuple[int, int]:
    result = shift = 0
    while True:
        byte = data[position]
        position += 1
        result |= (byte & 0x7F) << shift
        if byte < 0x80:
            return result, position
        shift += 7


def _as_bytes(value: object) -> bytes:
    if isinstance(value, bytes):
        return value
    return str(value).encode()


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


def _from_typed_field(proto: tensor_pb2.TensorProto) -> np.ndarray | None:
    """A numeric tensor with exactly one value per element in its typed field, else None (TF's
    codec handles the short forms, e.g. one value repeated over the shape)."""
    dtype = _NUMPY_BY_ENUM.get(proto.dtype)
    field = _FIELD_BY_ENUM.get(proto.dtype)
    if dtype is None or field is None or proto.tensor_content or proto.tensor_shape.unknown_rank:
        return None
    values = getattr(proto, field)
    shape = [dim.size for dim in proto.tensor_shape.dim]
    if len(values) != int(np.prod(shape, dtype=np.int64)):
        return None
    if proto.dtype == types_pb2.DT_HALF:
        return np.array(values, dtype=np.uint16).view(np.float16).reshape(shape)
    if proto.dtype in _FIELD_NUMBER and len(values) > _PACKED_READ_FROM:
        packed = packed_values(proto, len(values))
        if packed is not None:
            return packed.astype(dtype).reshape(shape)
    return np.array(values, dtype=dtype).reshape(shape)


def serialized_examples(request_input: input_pb2.Input) -> np.ndarray:
    """The request's tf.Examples as the 1-D string tensor a classify/regress signature reads.
    With `example_list_with_context` the context's features are merged into each example, as TF
    Serving does (serialised messages concatenate into a merge); no example at all is TF Serving's
    "Input is empty." (servables/tensorflow/util.cc, InputToSerializedExampleTensor)."""
    kind = request_input.WhichOneof("kind")
    if kind == "example_list":
        examples = [e.SerializeToString() for e in request_input.example_list.examples]
    elif kind == "example_list_with_context":
        context = request_input.example_list_with_context.context.SerializeToString()
        examples = [context + e.SerializeToString() for e in request_input.example_list_with_context.examples]
    else:
        examples = []
    if not examples:
        raise invalid("Input is empty.")
    return np.array(examples, dtype=object)
