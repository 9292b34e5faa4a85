"""gRPC `PredictionService/Predict` as TF Serving's own tests call it, on TF Serving's own test
model (half_plus_two, y = 0.5x + 2): responses in typed fields, its checks and their texts."""

from __future__ import annotations

import grpc
import numpy as np
import pytest
import pytest_asyncio
import tensorflow as tf
from tensorflow.core.framework import tensor_pb2, types_pb2
from tensorflow_serving.apis import get_model_metadata_pb2, predict_pb2

from .api_harness import BOTH_VERSIONS, DEFAULT, DEFAULT_TF2, conformance_server, float_tensor, rpc_error

pytestmark = pytest.mark.asyncio(loop_scope="module")


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def stub(tf_serving_bases):
    async with conformance_server(tf_serving_bases) as (predict_stub, _):
        yield predict_stub


def request_for(model: str, signature: str = "", **inputs: tensor_pb2.TensorProto) -> predict_pb2.PredictRequest:
    request = predict_pb2.PredictRequest()
    request.model_spec.name = model
    request.model_spec.signature_name = signature
    for name, proto in inputs.items():
        request.inputs[name].CopyFrom(proto)
    return request


@pytest.mark.parametrize("model", [DEFAULT, DEFAULT_TF2])
async def test_predict_answers_in_float_val(stub, model) -> None:
    """tensorflow_model_server_test_base.py VerifyPredictRequest (testPredictSavedModel): the client
    reads `outputs['y'].float_val`, one value, 0.5 * 2 + 2, and the model_spec names the version."""
    request = request_for(model, "serving_default", x=float_tensor([2.0], [1]))
    request.output_filter.append("y")
    result = await stub.Predict(request, timeout=5)
    assert "y" in result.outputs
    assert result.outputs["y"].dtype == types_pb2.DT_FLOAT
    assert list(result.outputs["y"].float_val) == [3.0]
    assert not result.outputs["y"].tensor_content
    assert (result.model_spec.name, result.model_spec.signature_name, result.model_spec.version.value) == (
        model, "serving_default", 123)


async def test_prediction_success_is_exactly_tf_servings_response(stub) -> None:
    """predict_util_test.cc PredictionSuccess: a scalar in, the whole response proto equal to TF
    Serving's (float_val 3, an empty but present shape, signature_name defaulted)."""
    request = request_for(DEFAULT, x=float_tensor([2.0]))
    request.model_spec.version.value = 123
    response = await stub.Predict(request)
    expected = predict_pb2.PredictResponse()
    expected.model_spec.CopyFrom(request.model_spec)
    expected.model_spec.signature_name = "serving_default"
    expected.outputs["y"].CopyFrom(tensor_pb2.TensorProto(dtype=types_pb2.DT_FLOAT, float_val=[3.0]))
    expected.outputs["y"].tensor_shape.SetInParent()
    assert response == expected
    assert response.outputs["y"].HasField("tensor_shape")


@pytest.mark.parametrize(("signature", "alias", "output"), [
    ("regress_x2_to_y3", "inputs", "outputs"),  # PredictionWithNamedRegressionSignature
    ("classify_x2_to_y3", "inputs", "scores"),  # PredictionWithNamedClassificationSignature
])
async def test_predict_may_call_regress_and_classify_signatures(stub, signature, alias, output) -> None:
    """predict_util_test.cc PredictionWithNamed{Regression,Classification}Signature: "Predict calls
    work with predict, classify, and regress signatures" (y3 = 0.5 * 2 + 3)."""
    response = await stub.Predict(request_for(DEFAULT, signature, **{alias: float_tensor([2.0])}))
    assert list(response.outputs[output].float_val) == [4.0]
    assert response.model_spec.signature_name == signature


async def test_requests_in_tensor_content_and_typed_fields_give_the_same_answer(stub) -> None:
    """TF Serving decodes either encoding (Tensor::FromProto); tf.make_tensor_proto clients send
    tensor_content, hand-built protos the typed fields. Both come back in float_val."""
    values = np.array([[1.0], [2.0], [3.0]], np.float32)
    packed = await stub.Predict(request_for(DEFAULT, x=tf.make_tensor_proto(values)))
    typed = await stub.Predict(request_for(DEFAULT, x=float_tensor([1.0, 2.0, 3.0], [3, 1])))
    assert packed.outputs["y"] == typed.outputs["y"]
    assert list(typed.outputs["y"].float_val) == [2.5, 3.0, 3.5]
    assert [d.size for d in typed.outputs["y"].tensor_shape.dim] == [3, 1]
    np.testing.assert_array_equal(tf.make_ndarray(typed.outputs["y"]), values * 0.5 + 2)


async def test_latest_version_serves_unless_one_is_named(stub) -> None:
    """server_core.cc GetServableHandle: no version -> Latest(name) = the highest AVAILABLE one."""
    latest = await stub.Predict(request_for(BOTH_VERSIONS, x=float_tensor([2.0])))
    pinned = request_for(BOTH_VERSIONS, x=float_tensor([2.0]))
    pinned.model_spec.version.value = 123
    assert (latest.model_spec.version.value, (await stub.Predict(pinned)).model_spec.version.value) == (124, 123)


async def test_missing_model_spec_and_empty_inputs_are_invalid(stub) -> None:
    """predict_util_test.cc MissingOrEmptyModelSpec and EmptyInputList: INVALID_ARGUMENT
    (server_core.cc ServableRequestFromModelSpec for a spec without a name)."""
    missing = await rpc_error(stub.Predict, predict_pb2.PredictRequest())
    assert (missing.code(), missing.details()) == (grpc.StatusCode.INVALID_ARGUMENT, "Missing ModelSpec")
    nameless = await rpc_error(stub.Predict, request_for("", x=float_tensor([2.0])))
    assert (nameless.code(), nameless.details()) == (grpc.StatusCode.INVALID_ARGUMENT,
                                                     "ModelSpec has no name specified.")
    empty = request_for(DEFAULT)
    empty.model_spec.version.value = 123
    assert (await rpc_error(stub.Predict, empty)).code() == grpc.StatusCode.INVALID_ARGUMENT


async def test_inputs_that_do_not_match_the_signature(stub) -> None:
    """predict_util_test.cc InputTensorsDontMatchModelSpecInputs: sizes differ -> both sets named."""
    request = request_for(DEFAULT, unknown_key1=tensor_pb2.TensorProto(dtype=types_pb2.DT_STRING,
                                                                       string_val=[b"any_value"]),
                          unknown_key2=float_tensor([1.0], [1]))
    error = await rpc_error(stub.Predict, request)
    assert error.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert "Sent extra: {unknown_key1,unknown_key2}" in error.details()
    assert "Missing but required: {x}" in error.details()


@pytest.mark.parametrize(("proto", "fragment"), [
    (tensor_pb2.TensorProto(dtype=types_pb2.DT_BOOL, bool_val=[True]),
     "Expects arg[0] to be float but bool is provided"),  # PredictionInvalidTensor
    (tensor_pb2.TensorProto(dtype=types_pb2.DT_STRING, string_val=[b"any_value"]),
     "to be float but string is provided"),  # InputTensorsHaveWrongType
])
async def test_wrong_input_dtype(stub, proto, fragment) -> None:
    """predict_util_test.cc PredictionInvalidTensor / InputTensorsHaveWrongType."""
    error = await rpc_error(stub.Predict, request_for(DEFAULT, x=proto))
    assert error.code() == grpc.StatusCode.INVALID_ARGUMENT and fragment in error.details()


async def test_output_filter_must_name_outputs_once(stub) -> None:
    """predict_util_test.cc OutputFiltersDontMatchModelSpecOutputs."""
    request = request_for(DEFAULT, x=float_tensor([2.0]))
    request.output_filter.append("output_filter")
    error = await rpc_error(stub.Predict, request)
    assert error.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert "output tensor alias not found in signature: output_filter" in error.details()
    request.output_filter[:] = ["y"]
    assert list((await stub.Predict(request)).outputs["y"].float_val) == [3.0]
    request.output_filter.append("y")
    error = await rpc_error(stub.Predict, request)
    assert (error.code(), error.details()) == (grpc.StatusCode.INVALID_ARGUMENT, "duplicate output tensor alias: y")


async def test_unknown_signature_is_failed_precondition(stub) -> None:
    """predict_util.cc RunPredict ("Serving signature key ... not found."), the code
    tensorflow_model_server_test.py _TestBadModel expects for a model without the signature."""
    error = await rpc_error(stub.Predict, request_for(DEFAULT, "nope", x=float_tensor([2.0])))
    assert (error.code(), error.details()) == (grpc.StatusCode.FAILED_PRECONDITION,
                                               'Serving signature key "nope" not found.')


async def test_long_error_messages_are_cut_at_1024_characters(stub) -> None:
    """grpc_status_util.cc ToGRPCStatus: message over 1024 characters -> first 1024 + '...TRUNCATED'."""
    alias = "a" * 2000
    error = await rpc_error(stub.Predict, request_for(DEFAULT, **{alias: float_tensor([2.0])}))
    assert error.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert len(error.details()) == 1024 + len("...TRUNCATED") and error.details().endswith("...TRUNCATED")
    assert error.details().startswith(f"input tensor alias not found in signature: {alias[:100]}")


async def test_model_metadata(stub) -> None:
    """tensorflow_model_server_test.py testGetModelMetadata: model_spec names the model and
    version, one metadata entry `signature_def` holding every SignatureDef (the TF2 export's
    __saved_model_init_op too, as saved_model_half_plus_two_tf2_2_versions_metadata.json lists it);
    get_model_metadata_impl.cc: at least one field, only `signature_def`."""
    request = get_model_metadata_pb2.GetModelMetadataRequest(metadata_field=["signature_def"])
    request.model_spec.name = DEFAULT_TF2
    result = await stub.GetModelMetadata(request, timeout=5)
    assert (result.model_spec.name, result.model_spec.version.value) == (DEFAULT_TF2, 123)
    assert list(result.metadata) == ["signature_def"]
    signatures = get_model_metadata_pb2.SignatureDefMap()
    result.metadata["signature_def"].Unpack(signatures)
    assert set(signatures.signature_def) == {"__saved_model_init_op", "classify_x2_to_y3", "classify_x_to_y",
                                             "regress_x2_to_y3", "regress_x_to_y", "regress_x_to_y2",
                                             "serving_default"}
    assert {sig.method_name for name, sig in signatures.signature_def.items() if name[0] != "_"} == {
        "tensorflow/serving/predict"}
    del request.metadata_field[:]
    error = await rpc_error(stub.GetModelMetadata, request)
    assert error.details() == "GetModelMetadataRequest must specify at least one metadata_field"
    request.metadata_field.append("owner")
    error = await rpc_error(stub.GetModelMetadata, request)
    assert (error.code(), error.details()) == (grpc.StatusCode.INVALID_ARGUMENT,
                                               "Metadata field owner is not supported")


async def test_servable_and_names_are_checked_before_tensors_are_parsed(stub) -> None:
    """predict_util.cc order: the servable (NOT_FOUND) and input aliases come before
    Tensor::FromProto ("tensor parsing error: <alias>")."""
    broken = tensor_pb2.TensorProto(dtype=types_pb2.DT_FLOAT, tensor_content=b"\x00" * 3)
    broken.tensor_shape.dim.add().size = 1
    assert (await rpc_error(stub.Predict, request_for("nope", x=broken))).code() == grpc.StatusCode.NOT_FOUND
    error = await rpc_error(stub.Predict, request_for(DEFAULT, x=broken))
    assert error.code() == grpc.StatusCode.INVALID_ARGUMENT and error.details().startswith("tensor parsing error: x")
