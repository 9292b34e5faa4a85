"""REST as TF Serving's http_rest_api_handler_test.cc, json_tensor_test.cc and
tensorflow_model_server_test.py call it: routing, predict / classify / regress bodies, answers
and error texts, on half_plus_two (y = 0.5x + 2)."""

from __future__ import annotations

import json

import numpy as np
import pytest
import pytest_asyncio

from modelops.serving.codec import encode_predict_response
from modelops.serving.errors import ServingError

from .api_harness import DEFAULT, TWO_VERSIONS, VERSION_LABEL, conformance_server

pytestmark = pytest.mark.asyncio(loop_scope="module")


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def rest(tf_serving_bases):
    async with conformance_server(tf_serving_bases) as (_, session):
        yield session


async def call(session, method: str, path: str, body=None) -> tuple[int, dict]:
    data = body if body is None or isinstance(body, bytes | str) else json.dumps(body)
    async with session.request(method, path, data=data) as response:
        return response.status, json.loads(await response.text() or "null")


PREDICT = f"/v1/models/{TWO_VERSIONS}:predict"


@pytest.mark.parametrize(("method", "path", "fragment"), [
    ("GET", "/v1/foo", "Malformed request"),
    ("POST", "/v1/foo", "Malformed request"),
    ("GET", "/v1/models", "Missing model name"),
    ("GET", "/v1/models/debug/model_name", "Malformed request"),
    ("POST", "/v1/models", "Malformed request"),
    ("GET", "/v1/models/foo:predict", "Malformed request"),
    ("GET", "/v1/models/foo/version/50:predict", "Malformed request"),
    ("POST", "/v1/models/foo/version/50:regress", "Malformed request"),
    ("POST", "/v1/models/foo/versions/HELLO:regress", "Malformed request"),
    ("POST", f"/v1/models/foo/versions/{2**64 - 1}:regress", "Failed to convert version"),
    ("POST", "/v1/models/foo/metadata", "Malformed request"),
    ("POST", "/v1/models/foo/label/some_label:regress", "Malformed request"),
    ("POST", "/v1/models/foo/versions/50/labels/some_label:regress", "Malformed request"),
    ("POST", "/v1/models/foo/versions/some_label:regress", "Malformed request"),
    ("DELETE", f"/v1/models/{DEFAULT}", "Malformed request"),
])
async def test_unsupported_api_calls(rest, method, path, fragment) -> None:
    """http_rest_api_handler_test.cc UnsupportedApiCalls: INVALID_ARGUMENT, i.e. 400."""
    status, body = await call(rest, method, path)
    assert status == 400 and fragment in body["error"]


async def test_paths_outside_v1_have_no_handler(rest) -> None:
    """http_rest_api_handler_test.cc kPathRegex: only (?i)/v1/.* reaches the handler; the HTTP
    server answers anything else 404. The match is case-insensitive."""
    assert (await call(rest, "GET", "/statuspage"))[0] == 404
    status, body = await call(rest, "POST", f"/V1/MODELS/{DEFAULT}:predict", {"instances": [2.0]})
    assert (status, body) == (200, {"predictions": [3.0]})


@pytest.mark.parametrize("path", ["/v1/models/foo:predict", "/v1/models/foo/versions/50:predict",
                                  f"/v1/models/{TWO_VERSIONS}/versions/99:predict"])
async def test_unknown_model_or_version_is_404(rest, path) -> None:
    """http_rest_api_handler_test.cc PredictModelNameVersionErrors: NOT_FOUND."""
    assert (await call(rest, "POST", path, {"instances": [1]}))[0] == 404


@pytest.mark.parametrize(("path", "body", "fragment"), [
    (PREDICT, b"", "JSON Parse error: The document is empty"),
    (PREDICT, b"instances = [1, 2]", "JSON Parse error: Invalid value"),
    (PREDICT, {"instances": ["x", "y"]}, "not of expected type: float"),
    (f"/v1/models/{TWO_VERSIONS}/labels/Version_Nonexistent:predict", {"instances": ["x", "y"]},
     "Unrecognized servable version label"),
    (PREDICT, {"signature_name": 100}, "'signature_name' key must be a string value."),
])
async def test_predict_request_errors(rest, path, body, fragment) -> None:
    """http_rest_api_handler_test.cc PredictRequestErrors: each one INVALID_ARGUMENT (400)."""
    status, answer = await call(rest, "POST", path, body)
    assert status == 400 and fragment in answer["error"]


@pytest.mark.parametrize(("path", "body", "expected"), [
    (PREDICT, {"instances": [[1.0, 2.0], [3.0, 4.0]]}, {"predictions": [[2.5, 3.0], [3.5, 4.0]]}),
    (f"/v1/models/{TWO_VERSIONS}/versions/123:predict", {"instances": [1.0, 2.0]}, {"predictions": [2.5, 3.0]}),
    (f"/v1/models/{TWO_VERSIONS}/labels/{VERSION_LABEL}:predict", {"instances": [1.0, 2.0]},
     {"predictions": [2.5, 3.0]}),
    (f"/v1/models/{TWO_VERSIONS}/versions/123:predict", {"signature_name": "serving_default", "instances": [3.0, 4.0]},
     {"predictions": [3.5, 4.0]}),
    (f"/v1/models/{TWO_VERSIONS}/versions/123:predict", {"signature_name": "serving_default", "inputs": [3.0, 4.0]},
     {"outputs": [3.5, 4.0]}),
    (f"/v1/models/{DEFAULT}:predict", {"instances": [2.0, 3.0, 4.0]}, {"predictions": [3.0, 3.5, 4.0]}),
    (f"/v1/models/{DEFAULT}:predict", {"inputs": [2.0, 3.0, 4.0]}, {"outputs": [3.0, 3.5, 4.0]}),
])
async def test_predict(rest, path, body, expected) -> None:
    """http_rest_api_handler_test.cc Predict (latest, version, label, signature, columnar) and
    tensorflow_model_server_test.py testPredictREST / testPredictColumnarREST."""
    assert await call(rest, "POST", path, body) == (200, expected)


@pytest.mark.parametrize(("verb", "path_tail", "x", "expected"), [
    ("regress", "", 80.0, {"results": [42.0]}),
    ("regress", "/versions/123", 80.0, {"results": [42.0]}),
    ("regress", f"/labels/{VERSION_LABEL}", 80.0, {"results": [42.0]}),
    ("classify", "", 20.0, {"results": [[["", 12.0]]]}),
    ("classify", f"/labels/{VERSION_LABEL}", 10.0, {"results": [[["", 7.0]]]}),
])
async def test_classify_and_regress(rest, verb, path_tail, x, expected) -> None:
    """http_rest_api_handler_test.cc Regress / Classify: the `examples` body and `results` answer."""
    signature = "regress_x_to_y" if verb == "regress" else "classify_x_to_y"
    body = {"signature_name": signature, "examples": [{"x": x}]}
    assert await call(rest, "POST", f"/v1/models/{TWO_VERSIONS}{path_tail}:{verb}", body) == (200, expected)


async def test_classify_and_regress_rest_as_the_model_server_test(rest) -> None:
    """tensorflow_model_server_test.py testClassifyREST / testRegressREST."""
    classify = {"signature_name": "classify_x_to_y", "examples": [{"x": 2.0}]}
    assert await call(rest, "POST", f"/v1/models/{DEFAULT}:classify", classify) == (200, {"results": [[["", 3.0]]]})
    regress = {"signature_name": "regress_x_to_y", "examples": [{"x": 2.0}]}
    assert await call(rest, "POST", f"/v1/models/{DEFAULT}:regress", regress) == (200, {"results": [3.0]})


async def test_context_example_is_merged(rest) -> None:
    """json_tensor.cc FillClassifyRegressRequestFromJson: `context` goes with every example."""
    body = {"signature_name": "regress_x_to_y2", "context": {"x2": 1.0}, "examples": [{"x": 2.0}, {"x": 4.0}]}
    assert await call(rest, "POST", f"/v1/models/{DEFAULT}:regress", body) == (200, {"results": [4.0, 5.0]})


@pytest.mark.parametrize(("body", "fragment"), [
    ({"signature_name": ["hello"], "examples": [{"names": ["foo", "bar"]}]}, "'signature_name' key must be a string"),
    ({"context": [{"names": ["foo", "bar"]}]}, "Example must be JSON object"),
    ({"examples": {"names": ["foo", "bar"]}}, "list/array"),
    ({"examples": [[{"names": ["foo", "bar"]}]]}, "Example must be JSON object"),
    ({"examples": [{"names": [10, None]}]}, "names has element with unexpected JSON type: Null"),
    ({"examples": [{"names": [10, 10.0]}]}, "feature: names expecting type: int64"),
    ({"examples": [{"names": [10, {"test": 10}]}]}, "names has element with unexpected JSON type: Object"),
    ({"examples": [{"names": [[10], 20]}]}, "names has element with unexpected JSON type: Array"),
    ({"examples": [{"names": [20, 18446744073709551603]}]}, "Only int64_t is supported"),
    ({"signature_name": "regress_x_to_y"}, "key 'examples' is expected and was not found"),
    ({"examples": []}, "'examples' value is an empty array"),
])
async def test_example_json_errors(rest, body, fragment) -> None:
    """json_tensor_test.cc ClassifyRegressRequestTest.JsonErrors, over :regress."""
    status, answer = await call(rest, "POST", f"/v1/models/{DEFAULT}:regress", body)
    assert status == 400 and fragment in answer["error"]


@pytest.mark.parametrize(("body", "fragment"), [
    ({"signature_name": 5, "instances": [[1, 2], [3, 4], [5, 6, 7]]}, "must be a string value"),
    ({"instances": [[1, 2], [3, 4], [5, 6, 7]], "inputs": [[1, 2], [3, 4], [5, 6, 7]]}, "Not formatted correctly"),
    ({"instances": [[1, 2], [3, 4], [5, 6, 7]]}, "Expecting tensor size"),
    ({"instances": [[1, 2], [3, 4], [[5, 6]]]}, "Expecting shape"),
    ({"instances": [1, [1]]}, "Expecting shape"),
    ({"instances": [[1, 2], ["a", "b"]]}, "not of expected type"),
    ({"instances": [[1.0, True]]}, "JSON Value: true Type: True is not of expected type: float"),
    ({"instances": [{"x": 1.0}, [2.0]]}, "Expecting object but got list"),
    ({"instances": [[1.0], {"x": [2.0]}]}, "Expecting value/list but got object"),
    ({"inputs": {"y": [1.0]}}, "Missing named input: x in 'inputs' object."),
    ({"inputs": [[1.0, 2.0], [3.0]]}, "Encountered list at unexpected size: 1 at level: 1 expected size: 2"),
])
async def test_json_tensor_errors(rest, body, fragment) -> None:
    """json_tensor_test.cc SingleUnnamedTensorErrors and the FillTensorProto / instances checks."""
    status, answer = await call(rest, "POST", f"/v1/models/{DEFAULT}:predict", body)
    assert status == 400 and fragment in answer["error"]


async def test_float_answers_are_written_as_decimals(rest) -> None:
    """json_tensor.cc WriteDecimal: a float32 prints as its short decimal (0.5 * 0.2 + 2 = 2.1 in
    float32 reads 2.1, not 2.0999999046325684)."""
    status, body = await call(rest, "POST", f"/v1/models/{DEFAULT}:predict", {"instances": [0.2]})
    assert (status, body) == (200, {"predictions": [2.1]})
    status, body = await call(rest, "POST", f"/v1/models/{DEFAULT}:regress",
                              {"signature_name": "regress_x_to_y", "examples": [{"x": 0.2}]})
    assert (status, body) == (200, {"results": [2.1]})


async def test_status_and_metadata(rest) -> None:
    """http_rest_api_handler_test.cc GetStatus and GetModelMetadata (the signature names and
    methods of saved_model_half_plus_two_2_versions_metadata.json)."""
    ok = {"model_version_status": [{"version": "123", "state": "AVAILABLE",
                                    "status": {"error_code": "OK", "error_message": ""}}]}
    assert await call(rest, "GET", f"/v1/models/{TWO_VERSIONS}") == (200, ok)
    assert await call(rest, "GET", f"/v1/models/{TWO_VERSIONS}/versions/123") == (200, ok)
    status, body = await call(rest, "GET", f"/v1/models/{TWO_VERSIONS}/metadata")
    assert status == 200
    assert body["model_spec"] == {"name": TWO_VERSIONS, "signature_name": "", "version": "123"}
    methods = {name: sig["method_name"] for name, sig in body["metadata"]["signature_def"]["signature_def"].items()}
    assert methods == {
        "serving_default": "tensorflow/serving/predict",
        "classify_x_to_y": "tensorflow/serving/classify", "classify_x2_to_y3": "tensorflow/serving/classify",
        "regress_x_to_y": "tensorflow/serving/regress", "regress_x_to_y2": "tensorflow/serving/regress",
        "regress_x2_to_y3": "tensorflow/serving/regress",
    }


async def test_cors_preflight(rest) -> None:
    """http_server.cc: OPTIONS with an http(s) Origin is OK, without it FAILED_PRECONDITION (400);
    no CORS headers unless --rest_api_enable_cors_support."""
    async with rest.options(PREDICT, headers={"Origin": "https://example.com"}) as response:
        assert response.status == 200 and "Access-Control-Allow-Origin" not in response.headers
    status, body = await call(rest, "OPTIONS", PREDICT)
    assert (status, body) == (400, {"error": "Origin header is missing in CORS preflight"})


async def test_cors_headers_with_the_flag(tf_serving_bases) -> None:
    """http_rest_api_util.cc AddCORSHeaders under --rest_api_enable_cors_support (main.cc), on
    answers and errors alike."""
    async with conformance_server(tf_serving_bases, rest_api_enable_cors_support=True) as (_, session):
        for path, body in ((f"/v1/models/{DEFAULT}:predict", {"instances": [2.0]}), ("/v1/models/nope:predict", {})):
            async with session.post(path, json=body) as response:
                assert response.headers["Access-Control-Allow-Origin"] == "*"
                assert response.headers["Access-Control-Allow-Methods"] == "POST, GET"
                assert response.headers["Access-Control-Allow-Headers"] == "Content-Type"


@pytest.mark.parametrize(("outputs", "row_format", "fragment"), [
    ({}, True, "empty tensor map"),
    ({"tensor": np.array([1 + 2j, 3j], np.complex64)}, True, "tensor type: complex64"),
    ({"tensor": np.array(1, np.int32)}, True, "no shape information"),
    ({"a": np.zeros((2, 1), np.float32), "b": np.zeros((3,), np.float32)}, True, "inconsistent batch size"),
])
async def test_response_tensors_without_a_json_form(outputs, row_format, fragment) -> None:
    """json_tensor_test.cc FromJsonSingleTensorErrors / inconsistent batch size (MakeJsonFromTensors)."""
    with pytest.raises(ServingError) as raised:
        encode_predict_response(outputs, row_format)
    assert raised.value.code == "INVALID_ARGUMENT" and fragment in raised.value.message


async def test_bytes_outputs_are_base64() -> None:
    """json_tensor.cc IsNamedTensorBytes: a string output named *_bytes is written {"b64": ...}
    (json_tensor_test.cc "str_tensor_bytes"); other strings as text."""
    outputs = {"str_tensor_bytes": np.array([b"hello", b"world"], dtype=object),
               "str_tensor": np.array([b"tf", b"serving"], dtype=object)}
    assert encode_predict_response(outputs, row_format=True) == {"predictions": [
        {"str_tensor_bytes": {"b64": "aGVsbG8="}, "str_tensor": "tf"},
        {"str_tensor_bytes": {"b64": "d29ybGQ="}, "str_tensor": "serving"}]}
