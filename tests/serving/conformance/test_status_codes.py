"""Status codes as TF Serving reports them: the canonical code over gRPC, its HTTP status
(http_server.cc ToHTTPStatusCode) over REST, and the same HTTP status in our Prometheus
`status` label whichever protocol carried the request."""

from __future__ import annotations

import asyncio
import os
import re

import grpc
import pytest
from tensorflow_serving.apis import predict_pb2, prediction_service_pb2_grpc

from modelops.serving.config import BatchingOptions, ServedModel
from modelops.serving.errors import ServingError
from modelops.serving.registry import VersionState

from ..conftest import running_server
from .api_harness import DEFAULT, conformance_server, float_tensor, rpc_error

# model_servers/http_server.cc ToHTTPStatusCode, case by case
TF_SERVING_HTTP_STATUS = {
    "OK": 200, "CANCELLED": 499, "UNKNOWN": 500, "INVALID_ARGUMENT": 400, "DEADLINE_EXCEEDED": 504,
    "NOT_FOUND": 404, "ALREADY_EXISTS": 409, "PERMISSION_DENIED": 403, "RESOURCE_EXHAUSTED": 429,
    "FAILED_PRECONDITION": 400, "ABORTED": 409, "OUT_OF_RANGE": 400, "UNIMPLEMENTED": 501, "INTERNAL": 500,
    "UNAVAILABLE": 503, "DATA_LOSS": 500, "UNAUTHENTICATED": 401,
}
METRICS = "/monitoring/prometheus/metrics"


@pytest.mark.parametrize(("code", "http_status"), sorted(TF_SERVING_HTTP_STATUS.items()))
def test_every_canonical_code_maps_as_tf_serving(code, http_status) -> None:
    """http_server.cc ToHTTPStatusCode: DEADLINE_EXCEEDED is 504, RESOURCE_EXHAUSTED 429,
    UNIMPLEMENTED 501, UNAVAILABLE 503, ... (and anything unknown 500)."""
    assert ServingError(code, "x").http_status == http_status
    assert ServingError("NOT_A_CODE", "x").http_status == 500


def predict_request(model: str, *, version: int | None = None, label: str | None = None) -> predict_pb2.PredictRequest:
    request = predict_pb2.PredictRequest()
    request.model_spec.name = model
    if version is not None:
        request.model_spec.version.value = version
    if label is not None:
        request.model_spec.version_label = label
    request.inputs["x"].CopyFrom(float_tensor([2.0], [1]))
    return request


async def test_version_and_label_errors_over_both_protocols(tf_serving_bases) -> None:
    """server_core.cc GetModelVersionForLabel: unknown label -> INVALID_ARGUMENT (400, as
    http_rest_api_handler_test.cc PredictRequestErrors asserts); core/basic_manager.cc: a model with
    no version loaded yet -> NOT_FOUND "Servable not found for request: Latest(name)", a pinned
    version that failed to load -> NOT_FOUND "... Specific(name, version)". The Prometheus status
    label carries the same HTTP status for gRPC calls."""
    async with conformance_server(tf_serving_bases, metrics_path=METRICS) as (stub, rest):
        cases = [
            (predict_request(DEFAULT, label="gold"), f"/v1/models/{DEFAULT}/labels/gold:predict",
             grpc.StatusCode.INVALID_ARGUMENT, 400, "Unrecognized servable version label: gold"),
            (predict_request(DEFAULT, version=5), f"/v1/models/{DEFAULT}/versions/5:predict",
             grpc.StatusCode.NOT_FOUND, 404, f"Servable not found for request: Specific({DEFAULT}, 5)"),
            (predict_request("nope"), "/v1/models/nope:predict",
             grpc.StatusCode.NOT_FOUND, 404, "Servable not found for request: Latest(nope)"),
        ]
        for request, path, code, http_status, message in cases:
            error = await rpc_error(stub.Predict, request)
            assert (error.code(), error.details()) == (code, message)
            async with rest.post(path, json={"instances": [2.0]}) as response:
                assert response.headers["Content-Type"].startswith("application/json")
                assert (response.status, await response.json()) == (http_status, {"error": message})
        async with rest.get(METRICS) as response:
            text = await response.text()
        for status, count in (("400", 2), ("404", 4)):
            found = [float(v) for v in re.findall(rf'modelops_serving_requests_total{{[^}}]*status="{status}"[^}}]*}} '
                                                  r"(\S+)", text)]
            assert sum(found) == count, (status, text)


async def test_models_without_an_available_version_are_not_found(tf_serving_bases, tmp_path) -> None:
    """core/basic_manager.cc: only AVAILABLE versions can serve; before the first load (empty base
    path) and for a version that failed to load, requests are NOT_FOUND, not UNAVAILABLE."""
    empty, broken = tmp_path / "empty", tmp_path / "broken"
    empty.mkdir()
    os.makedirs(broken / "7")
    (broken / "7" / "saved_model.pb").write_bytes(b"not a SavedModel")
    async with running_server(model_config_file=None, model_base_path=None) as (server, _, rest):
        # a config with a model that has no version yet does not return (ServerCore waits for every new
        # model's first version, as tensorflow_model_server's start-up does): ask while it waits
        configuring = asyncio.ensure_future(server.registry.apply(
            [ServedModel("waiting", str(empty), ()), ServedModel("broken", str(broken), (7,))]))
        while not server.registry.has_model("broken") or \
                server.registry.status("broken")[0].state is not VersionState.END:
            await asyncio.sleep(0.05)
        async with grpc.aio.insecure_channel(f"127.0.0.1:{server.grpc_port}") as channel:
            stub = prediction_service_pb2_grpc.PredictionServiceStub(channel)
            for request, message in ((predict_request("waiting"), "Servable not found for request: Latest(waiting)"),
                                     (predict_request("broken", version=7),
                                      "Servable not found for request: Specific(broken, 7)")):
                error = await rpc_error(stub.Predict, request)
                assert (error.code(), error.details()) == (grpc.StatusCode.NOT_FOUND, message)
        async with rest.post("/v1/models/waiting:predict", json={"instances": [1.0]}) as response:
            assert response.status == 404
        assert not configuring.done()
        configuring.cancel()


async def test_request_over_the_timeout(tf_serving_bases) -> None:
    """A request past its deadline: DEADLINE_EXCEEDED over gRPC, 504 over REST (ToHTTPStatusCode;
    --rest_api_timeout_in_ms sets the REST deadline as http_rest_api_handler.cc's run_options)."""
    never_fills = BatchingOptions(max_batch_size=64, batch_timeout_micros=60_000_000, num_batch_threads=1)
    async with conformance_server(tf_serving_bases, batching=never_fills, timeout_seconds=0.5) as (stub, rest):
        error = await rpc_error(lambda r: stub.Predict(r, timeout=0.3), predict_request(DEFAULT))
        assert error.code() == grpc.StatusCode.DEADLINE_EXCEEDED
        async with rest.post(f"/v1/models/{DEFAULT}:predict", json={"instances": [2.0]}) as response:
            assert response.status == 504 and "error" in await response.json()
