"""The serving pod the operator builds, run the way the test pod runner runs it (`tensorflow_model_server`
becomes `modelops serve` with the same flags), on the files of the ConfigMap the operator builds.

`modelops serve` enforces TF Serving's label rules (`ServerCore::UpdateModelVersionLabelMap`,
tensorflow_serving/model_servers/server_core.cc: labels are assigned before models load, so a label on a
version that is not AVAILABLE yet is refused on the very first config unless the server runs with
--allow_version_labels_for_unavailable_models). So this test fails if the rendered config or the pod's
flags would keep a real tensorflow/serving pod from starting, and its readiness probe is checked to turn
green only once the pinned version serves under its label.
"""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from pathlib import Path

import pytest
import yaml
from serving.models import save_scaler
from support.podrunner.podspec import resolve_argv
from support.processes import free_port, start_process, wait_until

from modelops.api import parse_model_deployment
from modelops.contract.layout import deployment_dir
from modelops.kube.builders.common import Owner
from modelops.kube.builders.config import SERVING_CONFIG_DIR, build_serving_config_map
from modelops.kube.builders.serving import build_serving_deployment

pytestmark = pytest.mark.slow
SAMPLE = Path(__file__).resolve().parents[2] / "manifests" / "samples" / "binary-classification.yaml"
OWNER = Owner(name="churn", namespace="ml", uid="u")
ALLOW_FLAG = "--allow_version_labels_for_unavailable_models=true"


def _get(url: str) -> tuple[int, dict]:
    try:
        with urllib.request.urlopen(url, timeout=5) as response:
            return response.status, json.loads(response.read() or b"{}")
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read() or b"{}")
    except (OSError, ValueError):
        return 0, {}


def _pod_command(tmp_path: Path, track: str, version: int) -> tuple[list[str], int]:
    """The serving container's argv as the pod runner would run it, on a local copy of the ConfigMap
    and free ports; returns (argv, rest_port)."""
    spec = parse_model_deployment(yaml.safe_load(SAMPLE.read_text())).spec
    spec["storage"]["mountPath"] = str(tmp_path / "models")
    save_scaler(deployment_dir(spec["storage"]["mountPath"], OWNER.namespace, OWNER.name), version)
    config_dir = tmp_path / f"{track}-v{version}"
    config_dir.mkdir()
    for key, text in build_serving_config_map(OWNER, spec, track, version)["data"].items():
        (config_dir / key).write_text(text)
    (container,) = build_serving_deployment(OWNER, spec, track, version)["spec"]["template"]["spec"]["containers"]
    grpc_port, rest_port = free_port(), free_port()
    args = [arg.replace(SERVING_CONFIG_DIR, str(config_dir)) for arg in container["args"]]
    args = [f"--port={grpc_port}" if a.startswith("--port=") else
            f"--rest_api_port={rest_port}" if a.startswith("--rest_api_port=") else a for a in args]
    argv = resolve_argv({**container, "args": args}, {})
    probe = container["readinessProbe"]["httpGet"]["path"]
    assert probe == f"/v1/models/{OWNER.name}/labels/{track}/metadata"
    return argv, rest_port


@pytest.mark.parametrize(("track", "version"), [("stable", 3), ("canary", 2)])
def test_the_operators_serving_pod_starts_and_is_ready_only_under_its_label(tmp_path, track, version) -> None:
    argv, port = _pod_command(tmp_path, track, version)
    assert ALLOW_FLAG in argv
    server = start_process(f"serve-{track}", argv, tmp_path / "serve.log")
    try:
        base = f"http://127.0.0.1:{port}/v1/models/{OWNER.name}"
        wait_until(lambda: _get(f"{base}/labels/{track}/metadata")[0] == 200 or not server.alive(), 120, 0.25,
                   "the readiness probe to pass")
        assert server.alive(), server.log_tail()
        code, status = _get(f"{base}/labels/{track}")
        assert code == 200 and status["model_version_status"][0]["version"] == str(version)
        assert status["model_version_status"][0]["state"] == "AVAILABLE"
    finally:
        server.stop()


def test_without_the_flag_tf_serving_refuses_the_first_config(tmp_path) -> None:
    """Guards the flag: the same pod without it is what tensorflow_model_server refuses at start-up."""
    argv, port = _pod_command(tmp_path, "stable", 3)
    argv.remove(ALLOW_FLAG)
    server = start_process("serve-no-flag", argv, tmp_path / "serve.log")
    try:
        wait_until(lambda: not server.alive(), 120, 0.25, "the server to refuse its config and exit")
        assert server.stop() != 0
        assert "which is not currently available for inference" in server.log_tail()
        assert _get(f"http://127.0.0.1:{port}/v1/models/{OWNER.name}")[0] == 0
    finally:
        server.stop()
