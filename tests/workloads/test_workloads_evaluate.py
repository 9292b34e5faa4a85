"""evaluate through a real `modelops serve` process: version-pinned gRPC and REST predictions, metrics
and drift, the transport choice and its fallback."""

from __future__ import annotations

import http.server
import json
import socket
import threading

import numpy as np
import pytest

from modelops.workloads.clients.grpc_client import GrpcServingClient
from modelops.workloads.clients.rest_client import ServingClient
from modelops.workloads.data.synthetic import make_dataset, write_csv
from modelops.workloads.errors import WorkloadError

from .conftest import NAME, first_rows, predict_in_process
from .serve_process import modelops_serve

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def served(binary_versions, tmp_path_factory):
    with modelops_serve(tmp_path_factory.mktemp("serve"), NAME, binary_versions.deployment_dir, (1, 2)) as both:
        yield both


@pytest.mark.parametrize("transport", ["grpc", "rest"])
def test_evaluate_matches_in_process_validation_and_pins_the_version(binary_versions, served, worker, transport):
    accuracy = {}
    for version in (2, 1):
        validated = worker("validate", binary_versions.task, binary_versions.holdout_csv, version=version,
                           root=binary_versions.root)
        evaluated = worker("evaluate", binary_versions.task, binary_versions.holdout_csv, version=version,
                           root=binary_versions.root, endpoint=served.url, grpcEndpoint=served.grpc,
                           request={"batchSize": 64, "timeoutSeconds": 10, "retries": 2, "transport": transport})
        assert evaluated.code == 0, evaluated.result
        assert evaluated.result["rows"] == 400 and evaluated.result["version"] == version
        assert evaluated.result["transport"] == transport
        for name, value in validated.result["metrics"].items():
            assert abs(evaluated.result["metrics"][name] - value) < 1e-6, (version, name)
        accuracy[version] = evaluated.result["metrics"]["accuracy"]
    # the two versions really are different models, so pinning is what made each one match
    assert accuracy[1] < 0.9 < accuracy[2]


def test_shifted_monitoring_data_drifts_and_degrades(binary_versions, served, worker, tmp_path):
    calm = worker("evaluate", binary_versions.task, binary_versions.holdout_csv, version=2,
                  root=binary_versions.root, endpoint=served.url, grpcEndpoint=served.grpc)
    x, y, names = make_dataset("binary-classification", 400, 6, seed=5, shift=1.5)
    shifted = worker("evaluate", binary_versions.task, write_csv(tmp_path / "shifted.csv", x, y, names), version=2,
                     root=binary_versions.root, grpcEndpoint=served.grpc)  # gRPC only: no REST endpoint at all
    assert calm.result["transport"] == shifted.result["transport"] == "grpc"
    assert calm.result["drift"]["maxPsi"] < 0.25 and calm.result["drift"]["maxKs"] < 0.15
    assert shifted.result["drift"]["maxPsi"] > 1.0 and shifted.result["drift"]["maxKs"] > 0.4
    # the summary: every feature's p-value for the lifecycle's correction, the top five by name
    summary = shifted.result["drift"]
    assert summary["rows"] == 400 and summary["tested"] == len(names) == len(summary["ranked"]["pValue"])
    assert max(summary["ranked"]["pValue"]) < 1e-6 < min(calm.result["drift"]["ranked"]["pValue"])
    assert len(summary["features"]) == 5 and summary["driftedFeature"] in names
    assert shifted.result["metrics"]["accuracy"] < calm.result["metrics"]["accuracy"] - 0.1
    reports = sorted((binary_versions.deployment_dir / "2" / "evaluations").glob("*.json"))
    assert len(reports) >= 2
    full = json.loads(reports[-1].read_text())["drift"]  # the report keeps the whole per-feature table
    assert {f["name"] for f in full["features"]} == set(names)
    assert all(f["test"] == "ks" and f["pValue"] < 1e-6 for f in full["features"])

def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_unreachable_endpoint_is_reported(binary_versions, worker):
    run = worker("evaluate", binary_versions.task, binary_versions.holdout_csv, version=2, root=binary_versions.root,
                 endpoint=f"http://127.0.0.1:{_closed_port()}", request={"retries": 1, "timeoutSeconds": 2})
    assert run.code == 1 and run.result["reason"] == "EndpointUnreachable"
    assert "2 attempt(s)" in run.result["error"] and ":predict" in run.result["error"]


def test_auto_falls_back_to_rest_when_grpc_does_not_answer(binary_versions, served, worker):
    run = worker("evaluate", binary_versions.task, binary_versions.holdout_csv, version=2, root=binary_versions.root,
                 endpoint=served.url, grpcEndpoint=f"127.0.0.1:{_closed_port()}", request={"timeoutSeconds": 1})
    assert run.code == 0 and run.result["transport"] == "rest"
    forced = worker("evaluate", binary_versions.task, binary_versions.holdout_csv, version=2,
                    root=binary_versions.root, endpoint=served.url, grpcEndpoint=f"127.0.0.1:{_closed_port()}",
                    request={"transport": "grpc", "retries": 1, "timeoutSeconds": 2})
    assert forced.code == 1 and forced.result["reason"] == "EndpointUnreachable"
    assert "2 attempt(s)" in forced.result["error"] and "UNAVAILABLE" in forced.result["error"]


def test_grpc_client_streams_many_batches_in_order_and_reports_unknown_versions(binary_versions, served):
    x, _, expected = predict_in_process(binary_versions.deployment_dir / "2", binary_versions.holdout_csv)
    client = GrpcServingClient(served.grpc, NAME, concurrency=3, output_key="probabilities")
    np.testing.assert_allclose(client.predict(x, version=2, batch_size=7), expected, atol=1e-6)  # 58 batches
    with pytest.raises(WorkloadError) as raised:
        client.predict(first_rows(x, 10), version=7)
    assert raised.value.reason == "ModelNotFound" and "NOT_FOUND" in raised.value.message


class _FlakyPredictServer(http.server.ThreadingHTTPServer):
    """Answers 503 to the first `failures` requests, then predicts with the real SavedModel."""

    def __init__(self, version_dir, failures: int) -> None:
        import tensorflow as tf

        self.signature = tf.saved_model.load(str(version_dir)).signatures["serving_default"]
        self.failures, self.requests, self.lock = failures, 0, threading.Lock()
        server = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                with server.lock:
                    server.requests += 1
                    fail = server.requests <= server.failures
                if fail:
                    self._send(503, {"error": "model is loading"})
                    return
                columns = {name: tf.constant([row[name] for row in body["instances"]], dtype=tf.float32)
                           for name in body["instances"][0]}  # one object per row, one key per feature
                outputs = server.signature(**columns)
                self._send(200, {"predictions": outputs["probabilities"].numpy().tolist()})

            def _send(self, status: int, payload: dict) -> None:
                data = json.dumps(payload).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args) -> None:
                pass

        super().__init__(("127.0.0.1", 0), Handler)


@pytest.mark.parametrize(("failures", "retries", "succeeds"), [(2, 3, True), (3, 2, False)])
def test_client_retries_503_with_backoff(binary_versions, failures, retries, succeeds):
    server = _FlakyPredictServer(binary_versions.deployment_dir / "2", failures)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        client = ServingClient(f"http://127.0.0.1:{server.server_address[1]}", NAME, retries=retries,
                               backoff_seconds=0.01, concurrency=1)
        x, _, expected = predict_in_process(binary_versions.deployment_dir / "2", binary_versions.holdout_csv)
        if succeeds:
            answered = client.predict(first_rows(x, 50), version=2, batch_size=50)
            np.testing.assert_allclose(answered, expected[:50], atol=1e-6)
        else:
            with pytest.raises(WorkloadError, match="HTTP 503: model is loading") as raised:
                client.predict(first_rows(x, 50), version=2, batch_size=50)
            assert raised.value.reason == "EndpointUnreachable"
        assert server.requests == failures + (1 if succeeds else 0)
    finally:
        server.shutdown()
        server.server_close()


def test_monitoring_data_with_other_features_breaks_the_schema(binary_versions, worker, tmp_path):
    """A renamed column: the trained one missing (fails by default), the new one extra; both named."""
    x, y, names = make_dataset("binary-classification", 40, 6, seed=4)
    renamed = [*names[:-1], "tenure"]
    run = worker("evaluate", binary_versions.task, write_csv(tmp_path / "renamed.csv", x, y, renamed), version=2,
                 root=binary_versions.root, endpoint=f"http://127.0.0.1:{_closed_port()}")
    assert run.code == 1 and run.result["reason"] == "SchemaViolation", run.result
    assert "column 'f5' (numeric) of the version's schema is missing" in run.result["error"]
    assert sorted(a["kind"] for a in run.result["schemaCheck"]["anomalies"]) == ["extraColumn", "missingColumn"]
    failures = sorted((binary_versions.deployment_dir / "2" / "evaluations").glob("*.json"))
    assert json.loads(failures[-1].read_text())["reason"] == "SchemaViolation"
