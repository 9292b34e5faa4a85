"""TF Serving's gRPC API with real `tensorflow-serving-api` stubs: predict by version / label,
Classify / Regress, metadata, model status, and every error as the gRPC status TF Serving uses."""

from __future__ import annotations

import grpc
import numpy as np
import pytest
import pytest_asyncio
import tensorflow as tf
from tensorflow.core.example import example_pb2, feature_pb2
from tensorflow_serving.apis import (
    classification_pb2,
    get_model_metadata_pb2,
    get_model_status_pb2,
    model_service_pb2_grpc,
    predict_pb2,
    prediction_service_pb2_grpc,
    regression_pb2,
)

from modelops.serving.config import ServedModel

from .conftest import running_server, standard_models

pytestmark = pytest.mark.asyncio(loop_scope="module")
ROWS = np.array([[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]], np.float32)


def style_models(bases: dict[str, str]) -> list[ServedModel]:
    return [ServedModel(name, bases[name], (1,)) for name in ("fixed_batch", "keras", "tf1")]


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def stubs(model_bases):
    async with running_server(model_config_file=None, model_base_path=None) as (server, _, session):
        await server.registry.apply([*standard_models(model_bases), *style_models(model_bases)])
        async with grpc.aio.insecure_channel(f"127.0.0.1:{server.grpc_port}") as channel:
            yield (prediction_service_pb2_grpc.PredictionServiceStub(channel),
                   model_service_pb2_grpc.ModelServiceStub(channel), session)


def predict_request(model: str, inputs: dict[str, np.ndarray], *, version: int | None = None,
                    label: str | None = None, signature: str = "") -> predict_pb2.PredictRequest:
    request = predict_pb2.PredictRequest()
    request.model_spec.name = model
    request.model_spec.signature_name = signature
    if version is not None:
        request.model_spec.version.value = version
    if label is not None:
        request.model_spec.version_label = label
    for name, value in inputs.items():
        request.inputs[name].CopyFrom(tf.make_tensor_proto(value))
    return request


async def expect_error(call, request, code: grpc.StatusCode, fragment: str) -> None:
    with pytest.raises(grpc.aio.AioRpcError) as raised:
        await call(request, timeout=30)
    assert raised.value.code() == code, raised.value.details()
    assert fragment in raised.value.details()


@pytest.mark.parametrize(("version", "label", "served"), [(1, None, 1), (3, None, 3), (None, "stable", 2),
                                                          (None, "canary", 3), (None, None, 3)])
async def test_predict_by_version_label_or_latest(stubs, version, label, served) -> None:
    predict, _, _ = stubs
    reply = await predict.Predict(predict_request("scaler", {"features": ROWS}, version=version, label=label))
    assert reply.model_spec.name == "scaler" and reply.model_spec.version.value == served
    assert reply.model_spec.signature_name == "serving_default"
    np.testing.assert_array_equal(tf.make_ndarray(reply.outputs["scores"]), ROWS * served)


async def test_other_signature_output_filter_and_string_tensors(stubs) -> None:
    predict, _, _ = stubs
    reply = await predict.Predict(predict_request("scaler", {"features": ROWS}, version=2, signature="total"))
    np.testing.assert_array_equal(tf.make_ndarray(reply.outputs["total"]), [6.0, 15.0])
    request = predict_request("multi_output", {"features": np.array([[1.0, 2.0]], np.float32)})
    request.output_filter.append("sum")
    reply = await predict.Predict(request)
    assert list(reply.outputs) == ["sum"] and tf.make_ndarray(reply.outputs["sum"]).tolist() == [3.0]
    reply = await predict.Predict(predict_request("words", {"text": np.array([b"ab", "c\u00e9".encode()])}))
    assert tf.make_ndarray(reply.outputs["upper"]).tolist() == [b"AB", "C\u00e9".encode()]
    assert tf.make_ndarray(reply.outputs["length"]).tolist() == [2, 3]


async def test_shapes_are_left_to_the_model_in_every_export_style(stubs) -> None:
    """TF Serving does not check declared shapes: each model accepts what its ops accept, on gRPC
    and REST alike, and rejects the rest with its own error text."""
    predict, _, session = stubs
    two_rows = np.ones((2, 3), np.float32)  # fixed_batch declares [1, 3]
    reply = await predict.Predict(predict_request("fixed_batch", {"features": two_rows}))
    np.testing.assert_array_equal(tf.make_ndarray(reply.outputs["doubled"]), two_rows * 2)
    wide = np.ones((1, 5), np.float32)  # tf1 declares x as [?, 2] under an element-wise multiply
    reply = await predict.Predict(predict_request("tf1", {"x": wide}))
    np.testing.assert_array_equal(tf.make_ndarray(reply.outputs["y"]), wide * 3)
    async with session.post("/v1/models/tf1:predict", json={"instances": [[1.0] * 5]}) as response:
        assert response.status == 200 and await response.json() == {"predictions": [[3.0] * 5]}
    async with session.post("/v1/models/fixed_batch:predict", json={"instances": [[1.0] * 3] * 2}) as response:
        assert response.status == 200
    reply = await predict.Predict(predict_request("keras", {"features": ROWS}))
    np.testing.assert_allclose(tf.make_ndarray(reply.outputs["output_0"]), [[6.0, 7.0], [15.0, 16.0]])
    # a Dense kernel of 3 rows cannot take 2 features: the model says so, TF Serving's way
    await expect_error(predict.Predict, predict_request("keras", {"features": np.ones((1, 2), np.float32)}),
                       grpc.StatusCode.INVALID_ARGUMENT, "Matrix size-incompatible: In[0]: [1,2], In[1]: [3,2]")
    async with session.post("/v1/models/keras:predict", json={"instances": [[1.0, 2.0]]}) as response:
        assert response.status == 400
        assert "Matrix size-incompatible: In[0]: [1,2], In[1]: [3,2]" in (await response.json())["error"]


def _example(x: list[float]) -> example_pb2.Example:
    return example_pb2.Example(features=feature_pb2.Features(
        feature={"x": feature_pb2.Feature(float_list=feature_pb2.FloatList(value=x))}))


async def test_classify_and_regress_on_signatures_that_allow_them(stubs) -> None:
    predict, _, _ = stubs
    request = classification_pb2.ClassificationRequest()
    request.model_spec.name, request.model_spec.signature_name = "tf1", "classify"
    request.input.example_list.examples.extend([_example([1.0, 1.0]), _example([-2.0, 0.0])])
    reply = await predict.Classify(request)
    first, second = reply.result.classifications
    assert [c.label for c in first.classes] == ["neg", "pos"]
    assert first.classes[1].score == pytest.approx(1 / (1 + np.exp(-6.0)), rel=1e-5)
    assert second.classes[0].score == pytest.approx(1 - 1 / (1 + np.exp(6.0)), rel=1e-5)
    regress = regression_pb2.RegressionRequest()
    regress.model_spec.name, regress.model_spec.signature_name = "tf1", "regress"
    context = regress.input.example_list_with_context
    context.context.CopyFrom(_example([5.0, 5.0]))  # overridden by each example's own value of x
    context.examples.extend([_example([1.0, 2.0]), _example([0.5, 0.5])])
    reply = await predict.Regress(regress)
    assert [r.value for r in reply.result.regressions] == pytest.approx([9.0, 3.0])
    assert reply.model_spec.signature_name == "regress" and reply.model_spec.version.value == 1
    not_a_classifier = classification_pb2.ClassificationRequest()
    not_a_classifier.model_spec.name = "scaler"
    not_a_classifier.input.example_list.examples.append(_example([1.0, 1.0]))
    # without --enable_signature_method_name_check TF Serving checks the tensors, not the method
    await expect_error(predict.Classify, not_a_classifier, grpc.StatusCode.INVALID_ARGUMENT,
                       "No classification inputs found in SignatureDef")


async def test_model_metadata_is_the_signature_def_map(stubs) -> None:
    predict, _, _ = stubs
    request = get_model_metadata_pb2.GetModelMetadataRequest(metadata_field=["signature_def"])
    request.model_spec.name, request.model_spec.version_label = "scaler", "stable"
    reply = await predict.GetModelMetadata(request)
    assert reply.model_spec.version.value == 2
    signatures = get_model_metadata_pb2.SignatureDefMap()
    assert reply.metadata["signature_def"].Unpack(signatures)
    # every SignatureDef of the MetaGraph, TF2's init op included (get_model_metadata_impl.cc)
    assert set(signatures.signature_def) == {"serving_default", "total", "__saved_model_init_op"}
    features = signatures.signature_def["serving_default"].inputs["features"]
    assert features.dtype == tf.float32.as_datatype_enum
    assert [d.size for d in features.tensor_shape.dim] == [-1, 3]
    request.metadata_field[:] = ["signature_def", "owner"]
    await expect_error(predict.GetModelMetadata, request, grpc.StatusCode.INVALID_ARGUMENT,
                       "Metadata field owner is not supported")


async def test_model_status_reports_each_version_state_and_load_error(stubs) -> None:
    _, models, _ = stubs
    request = get_model_status_pb2.GetModelStatusRequest()
    request.model_spec.name = "scaler"
    reply = await models.GetModelStatus(request)
    states = {s.version: (get_model_status_pb2.ModelVersionStatus.State.Name(s.state), s.status.error_code)
              for s in reply.model_version_status}
    assert states == {9: ("END", 2), 3: ("AVAILABLE", 0), 2: ("AVAILABLE", 0), 1: ("AVAILABLE", 0)}  # 2 = UNKNOWN
    broken = next(s for s in reply.model_version_status if s.version == 9)
    assert "failed to load SavedModel" in broken.status.error_message
    # get_model_status_impl.cc looks only at `version`: a label still lists every version
    request.model_spec.version_label = "canary"
    reply = await models.GetModelStatus(request)
    assert [s.version for s in reply.model_version_status] == [9, 3, 2, 1]


@pytest.mark.parametrize(
    ("model", "inputs", "where", "code", "fragment"),
    [
        ("nope", {"features": ROWS}, {}, grpc.StatusCode.NOT_FOUND, "Servable not found for request: Latest(nope)"),
        ("scaler", {"features": ROWS}, {"version": 5}, grpc.StatusCode.NOT_FOUND, "Specific(scaler, 5)"),
        ("scaler", {"features": ROWS}, {"label": "gold"}, grpc.StatusCode.INVALID_ARGUMENT,
         "Unrecognized servable version label: gold"),
        ("scaler", {"features": ROWS}, {"version": 9}, grpc.StatusCode.NOT_FOUND,
         "Servable not found for request: Specific(scaler, 9)"),
        ("scaler", {"features": ROWS.astype(np.float64)}, {}, grpc.StatusCode.INVALID_ARGUMENT,
         "Expects arg[0] to be float but double is provided"),
        ("scaler", {"x": ROWS}, {}, grpc.StatusCode.INVALID_ARGUMENT,
         "input tensor alias not found in signature: x. Inputs expected to be in the set {features}."),
        ("multi_input", {"a": np.ones((1, 2), np.float32)}, {}, grpc.StatusCode.INVALID_ARGUMENT,
         "Missing but required: {b}."),
        ("multi_input", {"a": np.ones((3, 2), np.float32), "b": np.array([1, 2])}, {},
         grpc.StatusCode.INVALID_ARGUMENT, "Incompatible shapes: [2] vs. [3]"),
        ("scaler", {"features": ROWS}, {"signature": "nope"}, grpc.StatusCode.FAILED_PRECONDITION,
         'Serving signature key "nope" not found.'),
    ],
)
async def test_errors_are_tf_serving_status_codes(stubs, model, inputs, where, code, fragment) -> None:
    predict, _, _ = stubs
    await expect_error(predict.Predict, predict_request(model, inputs, **where), code, fragment)


async def test_a_malformed_tensor_is_invalid_argument_and_the_server_keeps_serving(stubs) -> None:
    predict, _, _ = stubs
    request = predict_request("scaler", {})
    request.inputs["features"].dtype = tf.float32.as_datatype_enum
    request.inputs["features"].tensor_shape.dim.add(size=4)
    request.inputs["features"].tensor_content = b"\x00" * 3  # 3 bytes cannot be 4 floats
    with pytest.raises(grpc.aio.AioRpcError) as raised:
        await predict.Predict(request, timeout=30)
    assert raised.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    reply = await predict.Predict(predict_request("scaler", {"features": ROWS}, version=1))
    assert reply.model_spec.version.value == 1
