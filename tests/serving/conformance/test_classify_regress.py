"""gRPC Classify, Regress and MultiInference as TF Serving's tests call them, on the TF1 export
(classify / regress method names) and the TF2 export (every method name is `predict`), with and
without `--enable_signature_method_name_check`."""

from __future__ import annotations

import grpc
import pytest
import pytest_asyncio
from tensorflow_serving.apis import classification_pb2, inference_pb2, predict_pb2, regression_pb2

from modelops.serving.cli import build_parser, settings_from_args

from .api_harness import (
    CLASSIFY,
    DEFAULT,
    DEFAULT_TF2,
    PREDICT,
    REGRESS,
    conformance_server,
    example,
    float_tensor,
    rpc_error,
)

pytestmark = pytest.mark.asyncio(loop_scope="module")


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def stub(tf_serving_bases):
    async with conformance_server(tf_serving_bases) as (predict_stub, _):
        yield predict_stub


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def checking_stub(tf_serving_bases):
    """A server run with --enable_signature_method_name_check."""
    async with conformance_server(tf_serving_bases, enable_signature_method_name_check=True) as (predict_stub, _):
        yield predict_stub


def classify_request(model: str, signature: str, *examples) -> classification_pb2.ClassificationRequest:
    request = classification_pb2.ClassificationRequest()
    request.model_spec.name, request.model_spec.signature_name = model, signature
    request.input.example_list.examples.extend(examples)
    return request


def regress_request(model: str, signature: str, *examples) -> regression_pb2.RegressionRequest:
    request = regression_pb2.RegressionRequest()
    request.model_spec.name, request.model_spec.signature_name = model, signature
    request.input.example_list.examples.extend(examples)
    return request


def multi_request(*tasks: tuple[str, str, str], x: float | None = 2.0) -> inference_pb2.MultiInferenceRequest:
    request = inference_pb2.MultiInferenceRequest()
    for model, signature, method in tasks:
        task = request.tasks.add(method_name=method)
        task.model_spec.name, task.model_spec.signature_name = model, signature
    if x is not None:
        request.input.example_list.examples.append(example(x=x))
    return request


@pytest.mark.parametrize("model", [DEFAULT, DEFAULT_TF2])
async def test_classify(stub, model) -> None:
    """tensorflow_model_server_test.py testClassify / testClassifyTf2: one class, score 3.0."""
    result = await stub.Classify(classify_request(model, "classify_x_to_y", example(x=2.0)), timeout=5)
    assert len(result.result.classifications) == 1
    assert len(result.result.classifications[0].classes) == 1
    assert result.result.classifications[0].classes[0].score == 3.0
    assert result.result.classifications[0].classes[0].label == ""
    assert (result.model_spec.name, result.model_spec.signature_name, result.model_spec.version.value) == (
        model, "classify_x_to_y", 123)


@pytest.mark.parametrize("model", [DEFAULT, DEFAULT_TF2])
async def test_regress(stub, model) -> None:
    """tensorflow_model_server_test.py testRegress / testRegressTf2: one regression, 3.0."""
    result = await stub.Regress(regress_request(model, "regress_x_to_y", example(x=2.0)), timeout=5)
    assert [r.value for r in result.result.regressions] == [3.0]
    assert (result.model_spec.name, result.model_spec.signature_name, result.model_spec.version.value) == (
        model, "regress_x_to_y", 123)


async def test_context_features_merge_into_every_example(stub) -> None:
    """util.cc InputToSerializedExampleTensor: context bytes + example bytes, so x2 from the context
    reaches each example and the example's own x stays (regress_x_to_y2: 0.5x + 3)."""
    request = regression_pb2.RegressionRequest()
    request.model_spec.name, request.model_spec.signature_name = DEFAULT, "regress_x_to_y2"
    request.input.example_list_with_context.context.CopyFrom(example(x=100.0, x2=1.0))
    request.input.example_list_with_context.examples.extend([example(x=2.0), example(x=4.0)])
    result = await stub.Regress(request)
    assert [r.value for r in result.result.regressions] == [4.0, 5.0]


@pytest.mark.parametrize("model", [DEFAULT, DEFAULT_TF2])
async def test_multi_inference_regress_and_classify(stub, model) -> None:
    """tensorflow_model_server_test.py testMultiInference / testMultiInferenceTf2 and
    multi_inference_test.cc RegressAndClassifySignaturesTest: the exact response proto."""
    request = multi_request((model, "regress_x_to_y", REGRESS), (model, "classify_x_to_y", CLASSIFY))
    result = await stub.MultiInference(request, timeout=5)
    expected = inference_pb2.MultiInferenceResponse()
    regression = expected.results.add()
    regression.model_spec.name, regression.model_spec.signature_name = model, "regress_x_to_y"
    regression.model_spec.version.value = 123
    regression.regression_result.regressions.add(value=3.0)
    classification = expected.results.add()
    classification.model_spec.name, classification.model_spec.signature_name = model, "classify_x_to_y"
    classification.model_spec.version.value = 123
    classification.classification_result.classifications.add().classes.add(score=3.0)
    assert result == expected


async def test_multi_inference_two_regressions(stub) -> None:
    """multi_inference_test.cc MultipleValidRegressSignaturesTest: y = 0.5x + 2 and y2 = 0.5x + 3."""
    result = await stub.MultiInference(multi_request((DEFAULT, "regress_x_to_y", REGRESS),
                                                     (DEFAULT, "regress_x_to_y2", REGRESS)))
    assert [r.regression_result.regressions[0].value for r in result.results] == [3.0, 4.0]


@pytest.mark.parametrize(("request_", "code", "fragment"), [
    (multi_request((DEFAULT, "regress_x_to_y", REGRESS), x=None), grpc.StatusCode.INVALID_ARGUMENT,
     "Input is empty"),  # MissingInputTest
    (multi_request((DEFAULT, "ThisSignatureDoesNotExist", REGRESS)), grpc.StatusCode.INVALID_ARGUMENT,
     "signature not found"),  # UndefinedSignatureTest
    (multi_request((DEFAULT, "regress_x_to_y", REGRESS), ("ModelDoesNotExist", "regress_x_to_y", REGRESS)),
     grpc.StatusCode.INVALID_ARGUMENT, "must access the same model name"),  # InconsistentModelSpecsInRequestTest
    (multi_request((DEFAULT, "regress_x_to_y", REGRESS), (DEFAULT, "regress_x_to_y", REGRESS)),
     grpc.StatusCode.INVALID_ARGUMENT, "Duplicate evaluation of signature: regress_x_to_y"),
    (multi_request((DEFAULT, "serving_default", PREDICT)), grpc.StatusCode.UNIMPLEMENTED,
     "Unsupported signature"),  # UsupportedSignatureTypeTest
])
async def test_multi_inference_errors(stub, request_, code, fragment) -> None:
    """multi_inference_test.cc: the code and text of each rejected request."""
    error = await rpc_error(stub.MultiInference, request_)
    assert error.code() == code and fragment in error.details()


async def test_empty_input_and_unknown_signature(stub) -> None:
    """classifier_test.cc / regressor_test.cc ("Input is empty"); classifier.cc GetClassificationSignatureDef
    ("No signature was found with the name: ...")."""
    empty = await rpc_error(stub.Classify, classify_request(DEFAULT, "classify_x_to_y"))
    assert (empty.code(), empty.details()) == (grpc.StatusCode.INVALID_ARGUMENT, "Input is empty.")
    unknown = await rpc_error(stub.Regress, regress_request(DEFAULT, "nope", example(x=2.0)))
    assert (unknown.code(), unknown.details()) == (grpc.StatusCode.INVALID_ARGUMENT,
                                                   "No signature was found with the name: nope")


async def test_signature_tensors_are_checked_without_the_method_name_flag(stub) -> None:
    """classifier.cc PreProcessClassification runs without the flag: a regression signature has
    neither `classes` nor `scores`, and a predict signature has no `inputs` tensor."""
    error = await rpc_error(stub.Classify, classify_request(DEFAULT, "regress_x_to_y", example(x=2.0)))
    assert error.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert error.details().startswith('Expected classification signature outputs to contain at least one of '
                                      '"classes" or "scores". Signature was: ')
    error = await rpc_error(stub.Regress, regress_request(DEFAULT, "serving_default", example(x=2.0)))
    assert error.details().startswith("No regression inputs found in SignatureDef: ")


async def test_method_name_check_flag(stub, checking_stub) -> None:
    """main.cc --enable_signature_method_name_check (default false); classifier.cc / regressor.cc
    messages when on. TF2 exports say `predict`, so only the unchecked server classifies them."""
    request = classify_request(DEFAULT_TF2, "classify_x_to_y", example(x=2.0))
    assert (await stub.Classify(request)).result.classifications[0].classes[0].score == 3.0
    error = await rpc_error(checking_stub.Classify, request)
    assert (error.code(), error.details()) == (
        grpc.StatusCode.INVALID_ARGUMENT,
        f"Expected classification signature method_name to be {CLASSIFY}. Was: {PREDICT}")
    error = await rpc_error(checking_stub.Regress, regress_request(DEFAULT_TF2, "regress_x_to_y", example(x=2.0)))
    assert error.details() == f"Expected regression signature method_name to be {REGRESS}. Was: {PREDICT}"
    # the TF1 export's own method names pass the check
    checked = await checking_stub.Regress(regress_request(DEFAULT, "regress_x_to_y", example(x=2.0)))
    assert [r.value for r in checked.result.regressions] == [3.0]
    # predict_util.cc VerifySignature accepts predict, classify and regress signatures
    predict = predict_pb2.PredictRequest()
    predict.model_spec.name, predict.model_spec.signature_name = DEFAULT, "classify_x2_to_y3"
    predict.inputs["inputs"].CopyFrom(float_tensor([2.0]))
    assert list((await checking_stub.Predict(predict)).outputs["scores"].float_val) == [4.0]


@pytest.mark.parametrize(("argv", "checked"), [
    ([], False), (["--enable_signature_method_name_check"], True),
    (["--enable_signature_method_name_check=false"], False), (["--enable_signature_method_name_check=true"], True),
])
async def test_method_name_check_is_a_tf_serving_flag_default_off(argv, checked) -> None:
    """main.cc: `--enable_signature_method_name_check` (bool, default false) reaches the server."""
    settings = settings_from_args(build_parser().parse_args(["--model_base_path=.", *argv]))
    assert settings.enable_signature_method_name_check is checked
