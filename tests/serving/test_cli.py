"""`modelops serve` as a process: TF Serving's flags, both APIs, metrics path, clean stop;
flag errors exit 2 naming the flag or file."""

from __future__ import annotations

import json
import os
import re
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request

import grpc
import numpy as np
import pytest
import tensorflow as tf
from tensorflow_serving.apis import predict_pb2, prediction_service_pb2_grpc

from modelops.serving.cli import main
from modelops.serving.config import ServedModel, render_model_config, render_monitoring_config


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        # server.cc BuildAndStart's own refusals, and the flags whose files cannot be read
        ([], "Both server_options.model_base_path and server_options.model_config_file are empty!"),
        (["--model_base_path=/m", "--port=0"], "At least one of server_options.grpc_port"),
        (["--model_base_path=/does/not/exist"], "--model_base_path /does/not/exist: not a directory"),
        (["--model_base_path=.", "--monitoring_config_file=/nope.config"], "--monitoring_config_file /nope.config"),
        (["--model_base_path=.", "--rest_api_timeout_in_ms=0"], "--rest_api_timeout_in_ms must be positive"),
        (["--model_base_path=.", "--batching_parameters_file=/b"],
         "batching_parameters_file is set without setting server_options.enable_batching to true"),
    ],
)
def test_bad_flags_fail_to_start_as_tensorflow_model_server_does(argv, message, capsys) -> None:
    """main.cc: "Failed to start server. Error: ..." and return -1 (exit status 255)."""
    assert main(argv) == 255
    assert "Failed to start server. Error:" in capsys.readouterr().err
    main(argv)
    assert message in capsys.readouterr().err


def test_unknown_flags_are_rejected_by_name(capsys) -> None:
    with pytest.raises(SystemExit) as exited:
        main(["--model_base_path=.", "--no_such_flag=1"])
    assert exited.value.code == 255
    assert "unknown argument: --no_such_flag=1" in capsys.readouterr().err


def test_bad_side_files_name_the_file(tmp_path, capsys) -> None:
    batching = tmp_path / "batching.config"
    batching.write_text("max_batch_size { value: 0 }")
    assert main(["--model_base_path=.", "--enable_batching", f"--batching_parameters_file={batching}"]) == 255
    assert f"{batching}: batching parameters: max_batch_size must be >= 1" in capsys.readouterr().err


def free_port() -> int:
    """tensorflow_model_server has no "any free port": the test picks one (tiny race, fine on loopback)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _get(url: str):
    try:
        with urllib.request.urlopen(url, timeout=5) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as error:
        return error.code, error.read()


@pytest.mark.slow
def test_serve_process_speaks_tf_serving_rest_and_grpc(model_bases, tmp_path) -> None:
    config = tmp_path / "models.config"
    config.write_text(render_model_config([ServedModel("scaler", model_bases["scaler"], (2,), {"stable": 2})]))
    monitoring = tmp_path / "monitoring.config"
    monitoring.write_text(render_monitoring_config())
    batching = tmp_path / "batching.config"
    batching.write_text("max_batch_size { value: 8 }\nbatch_timeout_micros { value: 1000 }\n")
    env = {**os.environ, "MODELOPS_REST_API_HOST": "127.0.0.1"}
    command = [
        sys.executable, "-m", "modelops", "serve", f"--port={free_port()}", f"--rest_api_port={free_port()}",
        "--enable_model_warmup=true", "--allow_version_labels_for_unavailable_models=true",
        f"--model_config_file={config}", "--model_config_file_poll_wait_seconds=1",
        f"--monitoring_config_file={monitoring}", "--enable_batching", f"--batching_parameters_file={batching}",
    ]
    process = subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        lines, port = [], None
        deadline = time.monotonic() + 120
        while port is None and time.monotonic() < deadline:
            line = process.stdout.readline()
            assert line, f"serve exited early: {''.join(lines)}"
            lines.append(line)
            found = re.search(r"Exporting HTTP/REST API at:127\.0\.0\.1:(\d+)", line)
            port = int(found.group(1)) if found else None
        assert port is not None
        grpc_ports = [m.group(1) for m in map(re.compile(r"Running gRPC ModelServer at 127\.0\.0\.1:(\d+)").search,
                                                  lines) if m]
        assert len(grpc_ports) == 1
        base = f"http://127.0.0.1:{port}"
        while _get(f"{base}/v1/models/scaler/labels/stable")[0] != 200:
            assert time.monotonic() < deadline
            time.sleep(0.1)
        request = urllib.request.Request(
            f"{base}/v1/models/scaler/labels/stable:predict",
            data=json.dumps({"instances": [[1.0, 2.0, 3.0]]}).encode(), method="POST",
        )
        with urllib.request.urlopen(request, timeout=10) as response:
            assert json.load(response) == {"predictions": [[2.0, 4.0, 6.0]]}
        series = re.compile(rb'modelops_serving_requests_total\{model="scaler",status="200",version="2"\} (\d+)')
        before = int(float(series.search(_get(f"{base}/monitoring/prometheus/metrics")[1]).group(1)))
        with grpc.insecure_channel(f"127.0.0.1:{grpc_ports[0]}") as channel:
            request = predict_pb2.PredictRequest()
            request.model_spec.name, request.model_spec.version_label = "scaler", "stable"
            request.inputs["features"].CopyFrom(tf.make_tensor_proto(np.array([[1.0, 2.0, 3.0]], np.float32)))
            reply = prediction_service_pb2_grpc.PredictionServiceStub(channel).Predict(request, timeout=10)
        assert reply.model_spec.version.value == 2
        np.testing.assert_array_equal(tf.make_ndarray(reply.outputs["scores"]), [[2.0, 4.0, 6.0]])
        status, metrics = _get(f"{base}/monitoring/prometheus/metrics")
        assert status == 200 and int(float(series.search(metrics).group(1))) == before + 1  # gRPC counts too
        # TF Serving's own families, as its exporter writes them (no _total on the counter)
        assert re.search(rb'^:tensorflow:serving:request_count\{model_name="scaler",status="OK"\} [1-9]', metrics, re.M)
        assert b'entrypoint="GRPC"' in metrics
        assert b"# TYPE :tensorflow:cc:saved_model:load_attempt_count counter" in metrics
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=30) == 0
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
