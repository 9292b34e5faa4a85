"""The evaluate stage's gRPC client reads a Predict answer's tensors as TF's codec does, whichever
field the server filled: TF Serving's typed repeated fields, tensor_content, or a broadcast value."""

from __future__ import annotations

import numpy as np
import pytest
import tensorflow as tf
from tensorflow.core.framework import tensor_pb2, tensor_shape_pb2, types_pb2

from modelops.workloads.clients.predict import MAX_REQUEST_ROWS, MIN_REQUEST_ROWS, request_rows
from modelops.workloads.clients.tensor_wire import tensor_to_array


def typed(array: np.ndarray) -> tensor_pb2.TensorProto:
    """As TF Serving answers (Tensor::AsProtoField): values in the dtype's repeated field."""
    proto = tensor_pb2.TensorProto(dtype=tf.as_dtype(array.dtype).as_datatype_enum)
    proto.tensor_shape.CopyFrom(tensor_shape_pb2.TensorShapeProto(
        dim=[tensor_shape_pb2.TensorShapeProto.Dim(size=size) for size in array.shape]))
    field = {np.float32: proto.float_val, np.float64: proto.double_val, np.int64: proto.int64_val,
             np.int32: proto.int_val}[array.dtype.type]
    field.extend(array.ravel().tolist())
    return proto


@pytest.mark.parametrize("array", [
    np.random.default_rng(1).random((300, 3), dtype=np.float32),
    np.random.default_rng(2).random((5, 2, 2)),  # float64
    np.array([[1, -2], [3, 4]], np.int64),
    np.array([7, 8], np.int32),
    np.zeros((0, 4), np.float32),
    np.float32(2.5).reshape(()),
])
def test_typed_fields_and_tensor_content_decode_as_tf_does(array: np.ndarray) -> None:
    for proto in (typed(array), tf.make_tensor_proto(array)):
        decoded = tensor_to_array(proto)
        expected = tf.make_ndarray(proto)
        assert decoded.dtype == expected.dtype and decoded.shape == expected.shape
        np.testing.assert_array_equal(decoded, expected)


def test_a_single_value_stands_for_the_whole_shape_and_strings_go_through_tf() -> None:
    broadcast = tensor_pb2.TensorProto(dtype=types_pb2.DT_FLOAT, float_val=[1.5])
    broadcast.tensor_shape.dim.add(size=4)
    np.testing.assert_array_equal(tensor_to_array(broadcast), np.full(4, 1.5, np.float32))
    words = tf.make_tensor_proto(np.array([b"a", b"bc"], dtype=object))
    assert tensor_to_array(words).tolist() == [b"a", b"bc"]


def test_the_stage_sends_about_the_same_bytes_per_request_whatever_the_width() -> None:
    assert request_rows(8) == MAX_REQUEST_ROWS
    assert request_rows(256) == 256
    assert request_rows(100_000) == MIN_REQUEST_ROWS
    assert request_rows(256) * 256 == request_rows(128) * 128
