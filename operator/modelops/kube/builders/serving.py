"""TensorFlow Serving: a Deployment per track (stable, canary) and the Services in front of them.

The Service `<name>` selects every serving pod of the deployment, so a canary gets a traffic share of
canary / (stable + canary) replicas; `<name>-canary` selects only the canary, so an evaluation of the
candidate reaches exactly it.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from modelops.kube.builders.common import (
    CONFIG_HASH_ANNOTATION,
    DEFAULT_SCRATCH_PATH,
    SERVING_UID,
    TRACK_LABEL,
    VERSION_LABEL,
    Owner,
    clean_resources,
    container_security_context,
    content_hash,
    labels,
    metadata,
    model_volume,
    pod_security_context,
    scratch_env,
    serving_selector,
    tmp_volume,
)
from modelops.kube.builders.config import (
    MODELS_CONFIG_KEY,
    MONITORING_CONFIG_KEY,
    SERVING_CONFIG_DIR,
    serving_config_data,
    serving_config_map_name,
    serving_object_name,
)
from modelops.kube.builders.resilience import autoscaling_enabled, container_lifecycle, pod_resilience

GRPC_PORT = 8500
REST_PORT = 8501
CONTAINER_NAME = "tensorflow-serving"


def serving_args(poll_seconds: int = 30) -> list[str]:
    return [
        f"--port={GRPC_PORT}",
        f"--rest_api_port={REST_PORT}",
        f"--model_config_file={SERVING_CONFIG_DIR}/{MODELS_CONFIG_KEY}",
        f"--model_config_file_poll_wait_seconds={poll_seconds}",
        f"--monitoring_config_file={SERVING_CONFIG_DIR}/{MONITORING_CONFIG_KEY}",
    ]


def replicas_for(spec: Mapping[str, Any], track: str) -> int:
    serving = spec["serving"]
    return int(serving["canary"]["replicas"] if track == "canary" else serving["replicas"])


def build_serving_deployment(owner: Owner, spec: Mapping[str, Any], track: str, version: int,
                             poll_seconds: int = 30, scratch_path: str = DEFAULT_SCRATCH_PATH) -> dict[str, Any]:
    """Deployment serving exactly `version`; ready only when that version is AVAILABLE under its label."""
    serving = spec["serving"]
    name = serving_object_name(owner, track)
    object_labels = labels(owner, "serve", version, **{TRACK_LABEL: track})
    config_hash = content_hash(serving_config_data(owner, spec, track, version))
    mount_path = spec["storage"]["mountPath"]
    container = {
        "name": CONTAINER_NAME,
        "image": serving["image"],
        "command": ["tensorflow_model_server"],
        "args": serving_args(poll_seconds),
        "ports": [
            {"name": "grpc", "containerPort": GRPC_PORT, "protocol": "TCP"},
            {"name": "http", "containerPort": REST_PORT, "protocol": "TCP"},
        ],
        "readinessProbe": {
            "httpGet": {"path": f"/v1/models/{owner.name}/labels/{track}", "port": REST_PORT},
            "periodSeconds": 5,
            "failureThreshold": 3,
        },
        "env": scratch_env(scratch_path),
        "resources": clean_resources(serving.get("resources")),
        "volumeMounts": [
            {"name": "models", "mountPath": mount_path, "readOnly": True},
            {"name": "serving-config", "mountPath": SERVING_CONFIG_DIR, "readOnly": True},
            {"name": "tmp", "mountPath": scratch_path},
        ],
        "securityContext": container_security_context(),
        "lifecycle": container_lifecycle(),
    }
    deployment_spec: dict[str, Any] = {}
    if not autoscaling_enabled(spec):  # else the HorizontalPodAutoscaler owns the replica count
        deployment_spec["replicas"] = replicas_for(spec, track)
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": metadata(owner, name, object_labels),
        "spec": {
            **deployment_spec,
            "selector": {"matchLabels": serving_selector(owner, track)},
            "strategy": {"type": "RollingUpdate", "rollingUpdate": {"maxUnavailable": 0, "maxSurge": 1}},
            "template": {
                "metadata": {
                    "labels": dict(object_labels),
                    # A new config (another version) changes the hash, which rolls the pods.
                    "annotations": {CONFIG_HASH_ANNOTATION: config_hash},
                },
                "spec": {
                    "automountServiceAccountToken": False,
                    "enableServiceLinks": False,
                    "securityContext": pod_security_context(SERVING_UID),
                    **pod_resilience(owner, spec, track),
                    "containers": [container],
                    "volumes": [
                        model_volume(spec),
                        {"name": "serving-config",
                         "configMap": {"name": serving_config_map_name(owner, track)}},
                        tmp_volume(),
                    ],
                },
            },
        },
    }


def build_service(owner: Owner, track: str = "stable") -> dict[str, Any]:
    """`<name>` routes to all serving pods; `<name>-canary` to the canary only. port == targetPort."""
    object_labels = labels(owner, "serve", **{TRACK_LABEL: track})
    return {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": metadata(owner, serving_object_name(owner, track), object_labels),
        "spec": {
            "type": "ClusterIP",
            "selector": serving_selector(owner, "canary" if track == "canary" else None),
            "ports": [
                {"name": "http", "port": REST_PORT, "targetPort": REST_PORT, "protocol": "TCP"},
                {"name": "grpc", "port": GRPC_PORT, "targetPort": GRPC_PORT, "protocol": "TCP"},
            ],
        },
    }


def deployment_version(deployment: Mapping[str, Any]) -> int | None:
    """The version a serving Deployment pins (its label), or None when it is not ours."""
    value = (deployment.get("metadata", {}).get("labels") or {}).get(VERSION_LABEL)
    try:
        return int(value) if value is not None else None
    except ValueError:
        return None


def deployment_rolled_out(deployment: Mapping[str, Any]) -> bool:
    """True when the Deployment's current template is fully rolled out and every replica is ready.

    Readiness of a pod means its readiness probe saw the pinned version AVAILABLE under its label.
    """
    spec = deployment.get("spec") or {}
    status = deployment.get("status") or {}
    generation = deployment.get("metadata", {}).get("generation", 0)
    wanted = int(spec.get("replicas", 1))
    return (
        int(status.get("observedGeneration", 0)) >= int(generation)
        and int(status.get("updatedReplicas", 0)) >= wanted
        and int(status.get("availableReplicas", 0)) >= wanted
        and int(status.get("replicas", 0)) == int(status.get("updatedReplicas", 0))
    )
