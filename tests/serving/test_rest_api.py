"""Conformance with TF Serving's REST API (tensorflow.org/tfx/serving/api_rest): URLs, request and
response shapes, status codes, and every client error answered as `{"error": "..."}`."""

from __future__ import annotations

import json

import pytest
import pytest_asyncio

from .conftest import running_server, standard_models

ROWS = [[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]]

# one server for the module: loading the models once keeps the suite fast
pytestmark = pytest.mark.asyncio(loop_scope="module")


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def api(model_bases):
    async with running_server(
        model_config_file=None, model_base_path=None, metrics_path="/monitoring/prometheus/metrics",
        max_body_bytes=64 * 1024,
    ) as (server, _base, session):
        await server.registry.apply(standard_models(model_bases))
        yield session


async def _json(response):
    assert response.headers["Content-Type"].startswith("application/json")
    return response.status, await response.json()


async def get(session, path):
    async with session.get(path) as response:
        return await _json(response)


async def post(session, path, body):
    data = body if isinstance(body, bytes | str) else json.dumps(body)
    async with session.post(path, data=data) as response:
        return await _json(response)


async def test_model_status_lists_every_version_with_tf_serving_shape(api) -> None:
    status, body = await get(api, "/v1/models/scaler")
    assert status == 200
    by_version = {entry["version"]: entry for entry in body["model_version_status"]}
    assert set(by_version) == {"1", "2", "3", "9"}
    ok = {"error_code": "OK", "error_message": ""}
    assert by_version["2"] == {"version": "2", "state": "AVAILABLE", "status": ok}
    assert by_version["9"]["state"] == "END"
    assert by_version["9"]["status"]["error_code"] != "OK"
    assert "failed to load SavedModel" in by_version["9"]["status"]["error_message"]


async def test_status_by_version_and_by_label(api) -> None:
    assert await get(api, "/v1/models/scaler/versions/3") == (200, {"model_version_status": [
        {"version": "3", "state": "AVAILABLE", "status": {"error_code": "OK", "error_message": ""}}]})
    # TF Serving's status by label does not resolve the label (get_model_status_impl.cc looks only at
    # `version`): every version of the model, whichever label is asked for, even an unknown one
    everything = await get(api, "/v1/models/scaler")
    for label in ("stable", "broken", "gold"):
        assert await get(api, f"/v1/models/scaler/labels/{label}") == everything


@pytest.mark.parametrize(
    ("path", "status", "fragment"),
    [
        ("/v1/models/nope", 404, "Could not find any versions of model nope"),
        ("/v1/models/scaler/versions/7", 404, "Could not find version 7 of model scaler"),
        ("/v1/models/scaler/versions/abc", 400, "Malformed request: GET /v1/models/scaler/versions/abc"),
        ("/v1/models/scaler/metadata/extra", 400, "Malformed request"),
        ("/v2/whatever", 404, "Not found"),
    ],
)
async def test_status_errors(api, path: str, status: int, fragment: str) -> None:
    got_status, body = await get(api, path)
    assert got_status == status
    assert fragment in body["error"]


async def test_metadata_has_model_spec_and_signature_defs(api) -> None:
    status, body = await get(api, "/v1/models/scaler/labels/canary/metadata")
    assert status == 200
    assert body["model_spec"] == {"name": "scaler", "signature_name": "", "version": "3"}
    signatures = body["metadata"]["signature_def"]["signature_def"]
    assert set(signatures) == {"serving_default", "total", "__saved_model_init_op"}  # as TF Serving lists them
    default = signatures["serving_default"]
    assert default["method_name"] == "tensorflow/serving/predict"
    assert default["inputs"]["features"]["dtype"] == "DT_FLOAT"
    assert default["inputs"]["features"]["tensor_shape"] == {
        "dim": [{"size": "-1", "name": ""}, {"size": "3", "name": ""}], "unknown_rank": False}
    assert set(default["outputs"]) == {"scores"}
    # no version given: the latest AVAILABLE version (9 failed to load)
    status, body = await get(api, "/v1/models/scaler/metadata")
    assert body["model_spec"]["version"] == "3"


async def test_predict_row_format_single_output_is_a_plain_list(api) -> None:
    status, body = await post(api, "/v1/models/scaler/labels/stable:predict", {"instances": ROWS})
    assert status == 200
    assert body == {"predictions": [[2.0, 4.0, 6.0], [8.0, 10.0, 12.0]]}
    # an instance may also name the single input
    status, body = await post(api, "/v1/models/scaler/versions/1:predict",
                              {"instances": [{"features": ROWS[0]}]})
    assert body == {"predictions": [[1.0, 2.0, 3.0]]}
    status, body = await post(api, "/v1/models/scaler:predict", {"instances": [ROWS[0]]})
    assert body == {"predictions": [[3.0, 6.0, 9.0]]}  # latest AVAILABLE = 3


async def test_predict_columnar_format_and_signature_name(api) -> None:
    status, body = await post(api, "/v1/models/scaler/versions/2:predict", {"inputs": ROWS})
    assert (status, body) == (200, {"outputs": [[2.0, 4.0, 6.0], [8.0, 10.0, 12.0]]})
    status, body = await post(api, "/v1/models/scaler/versions/2:predict", {"inputs": {"features": ROWS}})
    assert body == {"outputs": [[2.0, 4.0, 6.0], [8.0, 10.0, 12.0]]}
    status, body = await post(api, "/v1/models/scaler/versions/2:predict",
                              {"signature_name": "total", "instances": ROWS})
    assert (status, body) == (200, {"predictions": [6.0, 15.0]})


async def test_predict_multi_output_rows_are_objects_and_columns_are_a_dict(api) -> None:
    status, body = await post(api, "/v1/models/multi_output:predict", {"instances": [[1.0, 2.0], [3.0, 4.0]]})
    assert (status, body) == (200, {"predictions": [
        {"doubled": [2.0, 4.0], "sum": 3.0}, {"doubled": [6.0, 8.0], "sum": 7.0}]})
    status, body = await post(api, "/v1/models/multi_output:predict", {"inputs": [[1.0, 2.0], [3.0, 4.0]]})
    assert (status, body) == (200, {"outputs": {"doubled": [[2.0, 4.0], [6.0, 8.0]], "sum": [3.0, 7.0]}})


async def test_predict_multi_input_and_string_inputs(api) -> None:
    status, body = await post(api, "/v1/models/multi_input:predict",
                              {"instances": [{"a": [1.0, 2.0], "b": 10}, {"a": [0.5, 0.5], "b": 1}]})
    assert (status, body) == (200, {"predictions": [13.0, 2.0]})
    status, body = await post(api, "/v1/models/multi_input:predict", {"inputs": {"a": [[1.0, 1.0]], "b": [5]}})
    assert (status, body) == (200, {"outputs": [7.0]})
    status, body = await post(api, "/v1/models/words:predict", {"instances": ["abc", {"b64": "aGk="}]})
    assert (status, body) == (200, {"predictions": [{"length": 3, "upper": "ABC"}, {"length": 2, "upper": "HI"}]})


@pytest.mark.parametrize(
    ("path", "body", "status", "fragment"),
    [
        ("/v1/models/scaler:predict", b"{not json", 400, "JSON Parse error"),
        ("/v1/models/scaler:predict", b"[1, 2]", 400, "JSON Value: [1,2] Is not object"),
        ("/v1/models/scaler:predict", {"signature_name": "serving_default"}, 400, "Missing 'inputs' or 'instances'"),
        ("/v1/models/scaler:predict", {"instances": ROWS, "inputs": ROWS}, 400,
         "expecting only one of 'inputs' or 'instances' keys"),
        ("/v1/models/scaler:predict", {"instances": []}, 400, "No values in 'instances' array"),
        # shapes are the model's business: its own op error, as TF Serving reports it
        ("/v1/models/multi_input:predict", {"inputs": {"a": [[1.0, 2.0]] * 3, "b": [1, 2]}}, 400,
         "Incompatible shapes: [2] vs. [3]"),
        ("/v1/models/scaler:predict", {"instances": [[1.0, 2.0], [1.0, 2.0, 3.0]]}, 400,
         "Failed to process element: 1 of 'instances' list. "
         "Error: INVALID_ARGUMENT: Expecting tensor size: 2 but got: 3"),
        ("/v1/models/scaler:predict", {"instances": [["a", "b", "c"]]}, 400,
         'JSON Value: "a" Type: String is not of expected type: float'),
        ("/v1/models/scaler:predict", {"instances": [[1.0, None, 3.0]]}, 400,
         "JSON Value: null Type: Null is not of expected type: float"),
        ("/v1/models/scaler:predict", {"instances": [{"x": [1, 2, 3]}]}, 400,
         "JSON object: does not have named input: x"),
        ("/v1/models/scaler:predict", {"signature_name": "nope", "instances": ROWS}, 400,
         'Serving signature name: "nope" not found in signature def'),
        ("/v1/models/multi_input:predict", {"instances": [{"a": [1.0, 2.0]}]}, 400,
         "keys must be equal to: a,b"),
        ("/v1/models/words:predict", {"instances": [1]}, 400,
         "JSON Value: 1 Type: Number is not of expected type: string"),
        ("/v1/models/nope:predict", {"instances": ROWS}, 404, "Servable not found"),
        ("/v1/models/scaler/versions/5:predict", {"instances": ROWS}, 404, "Specific(scaler, 5)"),
        ("/v1/models/scaler/labels/gold:predict", {"instances": ROWS}, 400, "Unrecognized servable version label"),
        ("/v1/models/scaler/versions/9:predict", {"instances": ROWS}, 404,
         "Servable not found for request: Specific(scaler, 9)"),
        ("/v1/models/scaler:classify", {"examples": []}, 400, "'examples' value is an empty array"),
        ("/v1/models/scaler:regress", {"examples": []}, 400, "'examples' value is an empty array"),
        ("/v1/models/scaler:explode", {"instances": ROWS}, 400,
         "Malformed request: POST /v1/models/scaler:explode"),
    ],
)
async def test_predict_errors_are_json_with_the_right_status(api, path, body, status, fragment) -> None:
    got_status, got = await post(api, path, body)
    assert got_status == status
    assert fragment in got["error"]


async def test_payload_over_the_limit_is_413_and_the_server_keeps_serving(api) -> None:
    huge = {"instances": [[1.0, 2.0, 3.0]] * 10000}
    status, body = await post(api, "/v1/models/scaler:predict", huge)
    assert status == 413 and "exceeds 65536" in body["error"]
    async with api.post("/v1/models/scaler:predict", data=_chunks(100 * 1024)) as response:  # no Content-Length
        assert response.status == 413
    status, _ = await post(api, "/v1/models/scaler:predict", {"instances": ROWS})
    assert status == 200


async def _chunks(total: int):
    yield b'{"instances": ['
    for _ in range(total // 1024):
        yield b"[1.0, 2.0, 3.0]," * 64
    yield b"[1.0, 2.0, 3.0]]}"


async def test_wrong_method_is_a_json_error(api) -> None:
    async with api.get("/v1/models/scaler:predict") as response:
        assert response.status == 400  # INVALID_ARGUMENT, http_rest_api_handler.cc
        assert "Malformed request" in (await response.json())["error"]
    async with api.post("/v1/models/scaler") as response:
        assert response.status == 400


async def _metrics(session) -> dict[str, float]:
    async with session.get("/monitoring/prometheus/metrics") as response:
        assert response.status == 200
        text = await response.text()
    samples = {}
    for line in text.splitlines():
        if line and not line.startswith("#"):
            name, value = line.rsplit(" ", 1)
            samples[name] = float(value)
    return samples


async def test_prometheus_metrics_count_requests_by_model_version_status(api) -> None:
    ok = 'modelops_serving_requests_total{model="scaler",status="200",version="1"}'
    bad = 'modelops_serving_requests_total{model="scaler",status="400",version=""}'
    before = await _metrics(api)
    await post(api, "/v1/models/scaler/versions/1:predict", {"instances": ROWS})
    await post(api, "/v1/models/scaler/versions/1:predict", {"instances": ROWS})
    await post(api, "/v1/models/scaler:predict", {"instances": [["one"]]})
    after = await _metrics(api)
    assert after[ok] - before.get(ok, 0.0) == 2
    assert after[bad] - before.get(bad, 0.0) == 1
    assert after['modelops_serving_version_available{model="scaler",version="3"}'] == 1
    assert after['modelops_serving_version_available{model="scaler",version="9"}'] == 0
    assert any(name.startswith("modelops_serving_request_latency_seconds_bucket") for name in after)
