"""The TensorProto fast path reads and writes exactly what TensorFlow's own codec does."""

from __future__ import annotations

import numpy as np
import pytest
import tensorflow as tf
from tensorflow.core.framework import tensor_pb2
from tensorflow_serving.apis import predict_pb2

from modelops.serving.errors import ServingError
from modelops.serving.grpc_codec import decode_tensors, encode_tensors

ARRAYS = [
    np.arange(12, dtype=np.float32).reshape(3, 4) / 7,
    np.array([[-(2**62), 5]], dtype=np.int64),
    np.array([True, False, True]),
    np.array(2.5, dtype=np.float64),  # a scalar
    np.zeros((0, 3), dtype=np.int32),
    np.array([b"a", "\u00e9".encode(), b""], dtype=object),
]


@pytest.mark.parametrize("array", ARRAYS, ids=lambda a: f"{a.dtype}{list(a.shape)}")
def test_encode_matches_tf_codec_and_decodes_back(array) -> None:
    response = predict_pb2.PredictResponse()
    encode_tensors({"out": array}, response.outputs)
    np.testing.assert_array_equal(tf.make_ndarray(response.outputs["out"]), array)
    assert response.outputs["out"].dtype == tf.make_tensor_proto(array).dtype
    decoded = decode_tensors({"in": tf.make_tensor_proto(array)})["in"]
    assert decoded.dtype == array.dtype and decoded.shape == array.shape
    np.testing.assert_array_equal(decoded, array)


def test_repeated_value_forms_are_read_by_tf_codec() -> None:
    proto = tensor_pb2.TensorProto(dtype=tf.float32.as_datatype_enum, float_val=[1.5, 2.5])
    proto.tensor_shape.dim.add(size=2)
    np.testing.assert_array_equal(decode_tensors({"x": proto})["x"], [1.5, 2.5])


def test_content_of_the_wrong_size_is_invalid_argument() -> None:
    proto = tf.make_tensor_proto(np.ones((2, 2), np.float32))
    proto.tensor_content = proto.tensor_content[:-1]
    with pytest.raises(ServingError) as raised:
        decode_tensors({"x": proto})
    assert raised.value.code == "INVALID_ARGUMENT" and "needs 16" in raised.value.message
