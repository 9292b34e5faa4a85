"""The tensorflow/serving image's entrypoint runs `modelops serve` on the pod's own IP, reachable by Service name."""

from __future__ import annotations

import json

import pytest
from support.controlplane import ControlPlane
from support.kubetest import condition, new_namespace, pods_of, wait_for
from support.podrunner.runner import PodRunner

pytestmark = [pytest.mark.cluster, pytest.mark.slow]


def test_tf_serving_deployment_answers_predictions_through_its_service(
        control_plane: ControlPlane, pod_runner: PodRunner) -> None:
    from serving.models import save_scaler  # tiny real SavedModel: version v answers features * v

    rest = control_plane.rest
    namespace = new_namespace(rest, "tfs")
    save_scaler(str(pod_runner.pvc_path(namespace, "models") / "iris"), 2)
    labels = {"app": "iris"}
    serving = {"name": "serving", "image": "tensorflow/serving:2.16.1",  # no command: the image entrypoint
               "env": [{"name": "MODEL_NAME", "value": "iris"}],
               "readinessProbe": {"httpGet": {"path": "/v1/models/iris", "port": 8501}, "periodSeconds": 1},
               "volumeMounts": [{"name": "models", "mountPath": "/models"}]}
    rest.post(f"/apis/apps/v1/namespaces/{namespace}/deployments", {"metadata": {"name": "iris"}, "spec": {
        "replicas": 1, "selector": {"matchLabels": labels}, "template": {"metadata": {"labels": labels}, "spec": {
            "containers": [serving],
            "volumes": [{"name": "models", "persistentVolumeClaim": {"claimName": "models"}}]}}}})
    rest.post(f"/api/v1/namespaces/{namespace}/services", {"metadata": {"name": "iris"}, "spec": {
        "selector": labels, "ports": [{"port": 8501, "targetPort": 8501}]}})
    wait_for(rest, f"/apis/apps/v1/namespaces/{namespace}/deployments/iris",
             lambda d: d.get("status", {}).get("readyReplicas") == 1, 120, "TF Serving pod to be Ready")

    script = (
        "import json, urllib.request, pathlib\n"
        "body = json.dumps({'instances': [[1.0, 2.0, 3.0]]}).encode()\n"
        f"url = 'http://iris.{namespace}.svc:8501/v1/models/iris:predict'\n"
        "answer = urllib.request.urlopen(urllib.request.Request(url, data=body), timeout=10).read().decode()\n"
        "pathlib.Path('/dev/termination-log').write_text(answer)\n"
    )
    rest.post(f"/apis/batch/v1/namespaces/{namespace}/jobs", {"metadata": {"name": "client"}, "spec": {
        "backoffLimit": 0, "template": {"spec": {"restartPolicy": "Never", "containers": [{
            "name": "client", "image": "python:3.11-slim", "command": ["python", "-c", script],
            "terminationMessagePolicy": "FallbackToLogsOnError"}]}}}})
    wait_for(rest, f"/apis/batch/v1/namespaces/{namespace}/jobs/client",
             lambda j: condition(j, "Complete") == "True", 60, "the client Job to get a prediction")
    [client_pod] = pods_of(rest, namespace, "job-name=client")
    answer = json.loads(client_pod["status"]["containerStatuses"][0]["state"]["terminated"]["message"])
    assert answer == {"predictions": [[2.0, 4.0, 6.0]]}
    [server_pod] = pods_of(rest, namespace, "app=iris")
    assert f"{server_pod['status']['podIP']}:8501" in pod_runner.logs(namespace, server_pod["metadata"]["name"])[
        "serving"]
