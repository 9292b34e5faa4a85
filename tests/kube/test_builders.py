"""Pure builder tests: manifests for Jobs, serving and ConfigMaps from the real sample specs."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from modelops.api import parse_model_deployment
from modelops.kube.builders.common import Owner, child_name
from modelops.kube.builders.config import build_serving_config_map
from modelops.kube.builders.jobs import build_prune_job, build_stage_job, job_name
from modelops.kube.builders.serving import (
    build_service,
    build_serving_deployment,
    deployment_rolled_out,
    deployment_version,
)
from modelops.serving.config import parse_model_config

SAMPLES = Path(__file__).resolve().parents[2] / "manifests" / "samples"
OWNER = Owner(name="churn", namespace="ml", uid="1234-uid")
# A worker config as the runtime builds it (its content only matters to the config tests).
STAGE_CONFIG = {"stage": "train", "version": 1, "storageRoot": "/models", "dataset": {"uri": "/models/t.csv"}}
REQUIRED_LABELS = ("app.kubernetes.io/managed-by", "app.kubernetes.io/name", "modelops.dev/deployment",
                   "modelops.dev/stage")


def sample_spec(name: str = "binary-classification") -> dict:
    return parse_model_deployment(yaml.safe_load((SAMPLES / f"{name}.yaml").read_text())).spec


def assert_child_contract(obj: dict, stage: str) -> None:
    labels = obj["metadata"]["labels"]
    for key in REQUIRED_LABELS:
        assert key in labels, key
    assert labels["app.kubernetes.io/managed-by"] == "modelops"
    assert labels["modelops.dev/stage"] == stage
    (ref,) = obj["metadata"]["ownerReferences"]
    assert ref == {"apiVersion": "modelops.dev/v1alpha1", "kind": "ModelDeployment", "name": "churn",
                   "uid": "1234-uid", "controller": True, "blockOwnerDeletion": True}
    assert obj["metadata"]["namespace"] == "ml"
    assert len(obj["metadata"]["name"]) <= 63


@pytest.mark.parametrize("stage", ["train", "validate", "evaluate"])
def test_stage_job_runs_the_worker_with_restricted_pod_security(stage: str) -> None:
    spec = sample_spec()
    job = build_stage_job(OWNER, spec, stage, 3, f"{stage}-v3", ttl_seconds=600, config=STAGE_CONFIG)
    assert_child_contract(job, stage)
    assert job["metadata"]["name"] == "churn-" + f"{stage}-v3"
    assert job["metadata"]["labels"]["modelops.dev/version"] == "3"
    job_spec = job["spec"]
    assert job_spec["backoffLimit"] == 1 and job_spec["activeDeadlineSeconds"] == 3600
    assert job_spec["ttlSecondsAfterFinished"] == 600
    pod = job_spec["template"]["spec"]
    (container,) = pod["containers"]
    assert container["command"] == ["modelops", "worker", stage, "--config", "/etc/modelops/stage/config.json"]
    assert container["image"] == spec["training"]["image"]
    assert container["terminationMessagePolicy"] == "FallbackToLogsOnError"
    assert container["resources"] == {"requests": {"cpu": "500m", "memory": "1Gi"}, "limits": {"memory": "2Gi"}}
    assert pod["restartPolicy"] == "Never"
    assert pod["securityContext"]["runAsNonRoot"] is True
    assert pod["securityContext"]["seccompProfile"] == {"type": "RuntimeDefault"}
    assert container["securityContext"]["capabilities"] == {"drop": ["ALL"]}
    assert container["securityContext"]["allowPrivilegeEscalation"] is False
    assert container["securityContext"]["readOnlyRootFilesystem"] is True
    mounts = {m["name"]: m["mountPath"] for m in container["volumeMounts"]}
    assert {"name": "TMPDIR", "value": "/tmp"} in container["env"]
    assert mounts == {"models": "/models", "stage-config": "/etc/modelops/stage", "tmp": "/tmp"}
    volumes = {v["name"]: v for v in pod["volumes"]}
    assert volumes["models"]["persistentVolumeClaim"] == {"claimName": "modelops-models"}
    assert "downwardAPI" in volumes["stage-config"]  # the config rides in the Job (see the test below)
    # the pod template carries the same labels, so `kubectl get pods -l modelops.dev/deployment=churn` works
    assert pod and job_spec["template"]["metadata"]["labels"] == job["metadata"]["labels"]


def test_user_command_gets_stage_and_config_appended() -> None:
    spec = sample_spec()
    spec["training"]["command"] = ["python", "-m", "mytrainer"]
    job = build_stage_job(OWNER, spec, "train", 1, "train-v1", config=STAGE_CONFIG)
    command = job["spec"]["template"]["spec"]["containers"][0]["command"]
    assert command == ["python", "-m", "mytrainer", "train", "--config", "/etc/modelops/stage/config.json"]


@pytest.mark.parametrize(("stage", "command"), [
    ("tune", ["python", "-m", "mytrainer", "tune"]),
    ("validate", ["modelops", "worker", "validate"]),
    ("evaluate", ["modelops", "worker", "evaluate"]),
])
def test_a_custom_trainer_only_makes_models_our_worker_judges_them(stage: str, command: list[str]) -> None:
    spec = sample_spec()
    spec["training"]["command"] = ["python", "-m", "mytrainer"]
    job = build_stage_job(OWNER, spec, stage, 1, f"{stage}-v1", config=STAGE_CONFIG)
    (container,) = job["spec"]["template"]["spec"]["containers"]
    assert container["command"] == [*command, "--config", "/etc/modelops/stage/config.json"]
    assert container["image"] == spec["training"]["image"]  # the worker image holds both


def test_names_are_deterministic_and_fit_63_characters() -> None:
    long_owner = Owner(name="a" * 40, namespace="ml", uid="u")
    first = job_name(long_owner, "evaluate-v123456-e9999999999")
    assert first == job_name(long_owner, "evaluate-v123456-e9999999999")
    assert len(first) <= 63
    assert first != job_name(long_owner, "evaluate-v123456-e9999999998")
    assert child_name("churn", "train-v1") == "churn-train-v1"


def test_stage_config_rides_in_the_job_as_an_annotation_mounted_by_the_downward_api() -> None:
    """One write per stage: no ConfigMap; the worker still reads --config /etc/modelops/stage/config.json."""
    config = {"stage": "train", "version": 2, "storageRoot": "/models", "dataset": {"uri": "/models/t.csv"}}
    job = build_stage_job(OWNER, sample_spec(), "train", 2, "train-v2", config=config)
    template = job["spec"]["template"]
    assert json.loads(template["metadata"]["annotations"]["modelops.dev/stage-config"]) == config
    volumes = {v["name"]: v for v in template["spec"]["volumes"]}
    assert volumes["stage-config"] == {"name": "stage-config", "downwardAPI": {"items": [{
        "path": "config.json", "fieldRef": {"fieldPath": "metadata.annotations['modelops.dev/stage-config']"}}]}}
    (container,) = template["spec"]["containers"]
    assert container["command"][-2:] == ["--config", "/etc/modelops/stage/config.json"]
    assert {"name": "stage-config", "mountPath": "/etc/modelops/stage", "readOnly": True} in container["volumeMounts"]
    # the same config always makes the same Job (a replayed StartStage adopts, never differs)
    assert build_stage_job(OWNER, sample_spec(), "train", 2, "train-v2", config=dict(config)) == job


@pytest.mark.parametrize("track", ["stable", "canary"])
def test_serving_config_pins_exactly_one_version_with_its_track_label(track: str) -> None:
    spec = sample_spec()
    cm = build_serving_config_map(OWNER, spec, track, 7)
    assert_child_contract(cm, "serve")
    assert cm["immutable"] is True  # a running server is never handed a config that moves its label
    prefix = "churn-serving-v7-" if track == "stable" else "churn-canary-serving-v7-"
    assert cm["metadata"]["name"].startswith(prefix)
    (model,) = parse_model_config(cm["data"]["models.config"])
    assert model.name == "churn"
    assert model.base_path == "/models/ml/churn"
    assert model.versions == (7,)
    assert dict(model.labels) == {track: 7}
    assert "prometheus_config" in cm["data"]["monitoring.config"]


def test_serving_deployment_is_tf_serving_pinned_and_rolls_on_config_change() -> None:
    spec = sample_spec()
    deployment = build_serving_deployment(OWNER, spec, "stable", 4)
    assert_child_contract(deployment, "serve")
    assert deployment["metadata"]["name"] == "churn"
    assert deployment["spec"]["replicas"] == 2
    assert deployment["spec"]["strategy"]["rollingUpdate"]["maxUnavailable"] == 0
    selector = deployment["spec"]["selector"]["matchLabels"]
    assert "modelops.dev/version" not in selector  # selectors are immutable; versions change
    template = deployment["spec"]["template"]
    assert all(template["metadata"]["labels"][k] == v for k, v in selector.items())
    (container,) = template["spec"]["containers"]
    assert container["image"] == "tensorflow/serving:2.18.0"
    assert container["command"] == ["tensorflow_model_server"]
    assert container["args"] == [
        "--port=8500", "--rest_api_port=8501", "--model_config_file=/etc/modelops/serving/models.config",
        "--allow_version_labels_for_unavailable_models=true",
        "--monitoring_config_file=/etc/modelops/serving/monitoring.config",
    ]
    assert {p["containerPort"] for p in container["ports"]} == {8500, 8501}
    # metadata through the label: 200 only once the labelled version is AVAILABLE
    assert container["readinessProbe"]["httpGet"] == {"path": "/v1/models/churn/labels/stable/metadata",
                                                      "port": 8501}
    volumes = {v["name"]: v for v in template["spec"]["volumes"]}
    assert volumes["serving-config"]["configMap"]["name"] == \
        build_serving_config_map(OWNER, spec, "stable", 4)["metadata"]["name"]
    assert template["spec"]["securityContext"]["runAsNonRoot"] is True
    other = build_serving_deployment(OWNER, spec, "stable", 5)
    hash_key = "modelops.dev/config-hash"
    assert other["spec"]["template"]["metadata"]["annotations"][hash_key] != \
        template["metadata"]["annotations"][hash_key]
    other_volumes = {v["name"]: v for v in other["spec"]["template"]["spec"]["volumes"]}
    assert other_volumes["serving-config"] != volumes["serving-config"]  # a new object, not an edit
    assert build_serving_deployment(OWNER, spec, "stable", 4) == deployment  # pure: same input, same output


def test_canary_deployment_uses_canary_replicas_label_and_own_config() -> None:
    spec = sample_spec("regression")
    canary = build_serving_deployment(Owner("prices", "ml", "u"), spec, "canary", 2)
    assert canary["metadata"]["name"] == "prices-canary"
    assert canary["spec"]["replicas"] == spec["serving"]["canary"]["replicas"]
    assert canary["spec"]["selector"]["matchLabels"]["modelops.dev/track"] == "canary"
    container = canary["spec"]["template"]["spec"]["containers"][0]
    assert container["readinessProbe"]["httpGet"]["path"] == "/v1/models/prices/labels/canary/metadata"
    volumes = {v["name"]: v for v in canary["spec"]["template"]["spec"]["volumes"]}
    assert volumes["serving-config"]["configMap"]["name"].startswith("prices-canary-serving-v2-")


def test_services_keep_port_equal_to_target_port_and_select_by_track() -> None:
    stable, canary = build_service(OWNER, "stable"), build_service(OWNER, "canary")
    assert_child_contract(stable, "serve")
    for service in (stable, canary):
        assert all(p["port"] == p["targetPort"] for p in service["spec"]["ports"])
        assert {p["port"] for p in service["spec"]["ports"]} == {8500, 8501}
    assert "modelops.dev/track" not in stable["spec"]["selector"]  # stable Service reaches canary pods too
    assert canary["spec"]["selector"]["modelops.dev/track"] == "canary"
    assert canary["metadata"]["name"] == "churn-canary"


def test_rolled_out_needs_current_generation_and_all_replicas_available() -> None:
    deployment = build_serving_deployment(OWNER, sample_spec(), "stable", 4)
    deployment["metadata"]["generation"] = 3
    deployment["status"] = {"observedGeneration": 3, "replicas": 2, "updatedReplicas": 2, "availableReplicas": 2}
    assert deployment_rolled_out(deployment) and deployment_version(deployment) == 4
    for stale in ({"observedGeneration": 2}, {"availableReplicas": 1}, {"replicas": 3}):
        assert not deployment_rolled_out({**deployment, "status": {**deployment["status"], **stale}})


def test_prune_job_runs_our_worker_prune_on_the_model_volume_whatever_the_user_command() -> None:
    spec = sample_spec()
    spec["training"]["command"] = ["python", "/app/my_worker.py"]
    job = build_prune_job(OWNER, spec, 3)
    assert_child_contract(job, "prune")
    assert job["metadata"]["name"] == "churn-prune-v3"
    [container] = job["spec"]["template"]["spec"]["containers"]
    assert container["command"] == ["modelops", "worker", "prune", "--storage-root", "/models",
                                    "--namespace", "ml", "--name", "churn", "--version", "3"]
    assert {"name": "models", "mountPath": "/models"} in container["volumeMounts"]
    assert not any(v["name"] == "stage-config" for v in job["spec"]["template"]["spec"]["volumes"])
    archived = build_prune_job(OWNER, spec, 3, record={"version": 3, "state": "Retired"})
    [container] = archived["spec"]["template"]["spec"]["containers"]
    assert container["command"][-2:] == ["--record-json", '{"state":"Retired","version":3}']
