"""TensorFlow Serving: a Deployment per track (stable, canary) and the Services in front of them.

Supported images: tensorflow/serving 2.3 and later (the default is pinned in api/spec_schema.py).
2.3 is where REST learned version labels (`/v1/models/<name>/labels/<label>`, which the readiness
probe uses); `--allow_version_labels_for_unavailable_models` exists since 1.15.

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
    SERVING_CONFIG_VOLUME,
    build_serving_config_map,
    serving_object_name,
)
from modelops.kube.builders.resilience import autoscaling_enabled, container_lifecycle, pod_resilience

GRPC_PORT = 8500
REST_PORT = 8501
CONTAINER_NAME = "tensorflow-serving"


def serving_args() -> list[str]:
    """tensorflow_model_server flags (tensorflow_serving/model_servers/main.cc).

    - `--allow_version_labels_for_unavailable_models`: the config labels the pinned version before the
      server has loaded it; without the flag `ServerCore::ReloadConfig` refuses the very first config
      (FAILED_PRECONDITION "... which is not currently available for inference", server_core.cc) and
      the server exits. The flag only admits a NEW label; ours never moves (one config per version).
    - no `--model_config_file_poll_wait_seconds`: the ConfigMap is immutable, there is nothing to poll.
    """
    return [
        f"--port={GRPC_PORT}",
        f"--rest_api_port={REST_PORT}",
        f"--model_config_file={SERVING_CONFIG_DIR}/{MODELS_CONFIG_KEY}",
        "--allow_version_labels_for_unavailable_models=true",
        f"--monitoring_config_file={SERVING_CONFIG_DIR}/{MONITORING_CONFIG_KEY}",
    ]


def readiness_path(model_name: str, track: str) -> str:
    """Metadata through the track's label: 200 only once the labelled version is AVAILABLE.

    The status path (`/v1/models/<m>/labels/<l>`) answers 200 for a LOADING version too (it reports
    the state in the body, get_model_status_impl.cc), and an httpGet probe reads only the code; the
    metadata path needs a servable handle, which exists only for an AVAILABLE version, else NOT_FOUND
    "Servable not found for request: Specific(<m>, <v>)" -> 404 (http_rest_api_handler.cc,
    get_model_metadata_impl.cc).
    """
    return f"/v1/models/{model_name}/labels/{track}/metadata"


def replicas_for(spec: Mapping[str, Any], track: str) -> int:
    serving = spec["serving"]
    return int(serving["canary"]["replicas"] if track == "canary" else serving["replicas"])


def build_serving_deployment(owner: Owner, spec: Mapping[str, Any], track: str, version: int,
                             scratch_path: str = DEFAULT_SCRATCH_PATH) -> dict[str, Any]:
    """Deployment serving exactly `version`; ready only when that version is AVAILABLE under its label.

    Its pods mount the version's own immutable ConfigMap (builders/config.py), so a new version is a
    new pod template: pods roll onto it and no running server is handed a relabelling config."""
    serving = spec["serving"]
    name = serving_object_name(owner, track)
    object_labels = labels(owner, "serve", version, **{TRACK_LABEL: track})
    config_map = build_serving_config_map(owner, spec, track, version)
    mount_path = spec["storage"]["mountPath"]
    container = {
        "name": CONTAINER_NAME,
        "image": serving["image"],
        "command": ["tensorflow_model_server"],
        "args": serving_args(),
        "ports": [
            {"name": "grpc", "containerPort": GRPC_PORT, "protocol": "TCP"},
            {"name": "http", "containerPort": REST_PORT, "protocol": "TCP"},
        ],
        "readinessProbe": {
            "httpGet": {"path": readiness_path(owner.name, track), "port": REST_PORT},
            "periodSeconds": 5,
            "failureThreshold": 3,
        },
        "env": scratch_env(scratch_path),
        "resources": clean_resources(serving.get("resources")),
        "volumeMounts": [
            {"name": "models", "mountPath": mount_path, "readOnly": True},
            {"name": SERVING_CONFIG_VOLUME, "mountPath": SERVING_CONFIG_DIR, "readOnly": True},
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
                    "annotations": {CONFIG_HASH_ANNOTATION:
                                    config_map["metadata"]["annotations"][CONFIG_HASH_ANNOTATION]},
                },
                "spec": {
                    "automountServiceAccountToken": False,
                    "enableServiceLinks": False,
                    "securityContext": pod_security_context(SERVING_UID),
                    **pod_resilience(owner, spec, track),
                    "containers": [container],
                    "volumes": [
                        model_volume(spec),
                        {"name": SERVING_CONFIG_VOLUME,
                         "configMap": {"name": config_map["metadata"]["name"]}},
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
