"""The TensorProto fast paths read and write exactly what TensorFlow's own codec does: requests in
tensor_content or typed fields, responses in typed fields as TF Serving's Tensor::AsProtoField."""

from __future__ import annotations

import numpy as np
import pytest
import tensorflow as tf
from tensorflow.core.framework import tensor_pb2, tensor_shape_pb2, types_pb2
from tensorflow_serving.apis import predict_pb2

from modelops.serving.errors import ServingError
from modelops.serving.grpc_codec import decode_tensors, encode_proto_fields, encode_tensors

ARRAYS = [
    np.arange(12, dtype=np.float32).reshape(3, 4) / 7,
    np.array([[-(2**62), 5]], dtype=np.int64),
    np.array([True, False, True]),
    np.array(2.5, dtype=np.float64),  # a scalar
    np.zeros((0, 3), dtype=np.int32),
    np.array([b"a", "\u00e9".encode(), b""], dtype=object),
    np.linspace(-3, 3, 700, dtype=np.float32).reshape(7, 100),  # past the packed-read threshold
    np.arange(300, dtype=np.float64) / 3,
    np.arange(200) % 3 == 0,
    np.array([1.5, -2.25], dtype=np.float16),
    np.array([[1, 2], [3, 4]], dtype=np.uint8),
]
# Tensor::AsProtoField's typed field per dtype (tensorflow/core/framework/tensor.cc)
FIELD = {types_pb2.DT_FLOAT: "float_val", types_pb2.DT_DOUBLE: "double_val", types_pb2.DT_INT64: "int64_val",
         types_pb2.DT_INT32: "int_val", types_pb2.DT_UINT8: "int_val", types_pb2.DT_BOOL: "bool_val",
         types_pb2.DT_STRING: "string_val", types_pb2.DT_HALF: "half_val"}


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


@pytest.mark.parametrize("array", ARRAYS, ids=lambda a: f"{a.dtype}{list(a.shape)}")
def test_responses_fill_the_typed_field_as_tf_serving(array) -> None:
    """predict_util.cc PostProcessPredictionResult (kAsProtoField): every value in the dtype's
    field, no tensor_content, the shape present; TF's codec and ours read it back."""
    response = predict_pb2.PredictResponse()
    encode_proto_fields({"out": array}, response.outputs)
    proto = response.outputs["out"]
    expected = tensor_pb2.TensorProto(dtype=tf.as_dtype(array.dtype if array.dtype != object else tf.string)
                                      .as_datatype_enum)
    values = array.view(np.uint16) if array.dtype == np.float16 else array
    getattr(expected, FIELD[expected.dtype]).extend(values.ravel().tolist())
    expected.tensor_shape.SetInParent()
    expected.tensor_shape.dim.extend(tensor_shape_pb2.TensorShapeProto.Dim(size=n) for n in array.shape)
    assert proto == expected and not proto.tensor_content and proto.HasField("tensor_shape")
    np.testing.assert_array_equal(tf.make_ndarray(proto), array)
    decoded = decode_tensors({"in": tensor_pb2.TensorProto.FromString(proto.SerializeToString())})["in"]
    assert decoded.dtype == array.dtype and decoded.shape == array.shape
    np.testing.assert_array_equal(decoded, array)
