"""The batch/v1 Job that runs one workload stage (train | validate | evaluate) of one version."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from modelops.kube.builders.common import (
    DEFAULT_SCRATCH_PATH,
    STAGE_ID_LABEL,
    WORKER_UID,
    Owner,
    child_name,
    clean_resources,
    container_security_context,
    labels,
    metadata,
    model_volume,
    pod_security_context,
    scratch_env,
    tmp_volume,
)
from modelops.kube.builders.config import STAGE_CONFIG_DIR, STAGE_CONFIG_KEY, stage_config_map_name

DEFAULT_COMMAND = ("modelops", "worker")
DEFAULT_TTL_SECONDS = 86400
CONTAINER_NAME = "worker"


def job_name(owner: Owner, stage_id: str) -> str:
    """Deterministic: a retried StartStage finds the Job it already made instead of making a second."""
    return child_name(owner.name, stage_id)


def stage_command(spec: Mapping[str, Any], stage: str) -> list[str]:
    """`modelops worker <stage> --config ...`, or the user's command with the stage and --config appended."""
    base = list(spec["training"].get("command") or DEFAULT_COMMAND)
    return [*base, stage, "--config", f"{STAGE_CONFIG_DIR}/{STAGE_CONFIG_KEY}"]


def build_stage_job(owner: Owner, spec: Mapping[str, Any], stage: str, version: int, stage_id: str,
                    ttl_seconds: int = DEFAULT_TTL_SECONDS,
                    scratch_path: str = DEFAULT_SCRATCH_PATH) -> dict[str, Any]:
    """A single-pod Job; its result comes back through the container's termination message."""
    training = spec["training"]
    object_labels = labels(owner, stage, version, **{STAGE_ID_LABEL: stage_id})
    mount_path = spec["storage"]["mountPath"]
    container = {
        "name": CONTAINER_NAME,
        "image": training["image"],
        "command": stage_command(spec, stage),
        "env": [
            *scratch_env(scratch_path),
            {"name": "PYTHONUNBUFFERED", "value": "1"},
            {"name": "TF_CPP_MIN_LOG_LEVEL", "value": "2"},
        ],
        "resources": clean_resources(training.get("resources")),
        "volumeMounts": [
            {"name": "models", "mountPath": mount_path},
            {"name": "stage-config", "mountPath": STAGE_CONFIG_DIR, "readOnly": True},
            {"name": "tmp", "mountPath": scratch_path},
        ],
        "securityContext": container_security_context(),
        "terminationMessagePath": "/dev/termination-log",
        "terminationMessagePolicy": "FallbackToLogsOnError",
    }
    return {
        "apiVersion": "batch/v1",
        "kind": "Job",
        "metadata": metadata(owner, job_name(owner, stage_id), object_labels),
        "spec": {
            "backoffLimit": int(training["backoffLimit"]),
            "activeDeadlineSeconds": int(training["activeDeadlineSeconds"]),
            "ttlSecondsAfterFinished": int(ttl_seconds),
            "completions": 1,
            "parallelism": 1,
            "template": {
                "metadata": {"labels": dict(object_labels)},
                "spec": {
                    "restartPolicy": "Never",
                    "automountServiceAccountToken": False,
                    "enableServiceLinks": False,
                    "securityContext": pod_security_context(WORKER_UID),
                    "containers": [container],
                    "volumes": [
                        model_volume(spec),
                        {"name": "stage-config",
                         "configMap": {"name": stage_config_map_name(owner, stage_id)}},
                        tmp_volume(),
                    ],
                },
            },
        },
    }
