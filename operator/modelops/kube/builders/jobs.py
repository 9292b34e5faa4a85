"""The batch/v1 Jobs that run one workload stage (train | validate | evaluate | prune) of one version.

A stage's worker config travels IN the Job: the JSON sits in a pod-template annotation and a
downward-API volume turns it into the file the worker reads (`--config /etc/modelops/stage/config.json`,
the unchanged worker contract). A stage therefore costs one API write, not a Job plus a ConfigMap.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Mapping, Sequence
from typing import Any

from modelops import API_GROUP
from modelops.api.spec_view import view
from modelops.contract.stage_config import DEFAULT_COMMAND, gang_port, stage_command, stage_workers
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
from modelops.kube.builders.config import STAGE_CONFIG_DIR, STAGE_CONFIG_KEY
from modelops.kube.builders.gang import make_indexed
from modelops.kube.builders.pods import apply_pod_template, stage_pod_template

DEFAULT_TTL_SECONDS = 86400
CONTAINER_NAME = "worker"
STAGE_CONFIG_ANNOTATION = f"{API_GROUP}/stage-config"


def job_name(owner: Owner, stage_id: str) -> str:
    """Deterministic: a retried StartStage finds the Job it already made instead of making a second."""
    return child_name(owner.name, stage_id)


def job_stage_command(spec: Mapping[str, Any], stage: str) -> list[str]:
    """The contract's worker argv, reading its config from the mounted stage ConfigMap."""
    return stage_command(spec, stage, f"{STAGE_CONFIG_DIR}/{STAGE_CONFIG_KEY}")


def build_stage_job(owner: Owner, spec: Mapping[str, Any], stage: str, version: int, stage_id: str, *,
                    config: Mapping[str, Any], ttl_seconds: int = DEFAULT_TTL_SECONDS,
                    scratch_path: str = DEFAULT_SCRATCH_PATH) -> dict[str, Any]:
    """A single-pod Job, or for a gang stage (several training workers, a parallel search) an Indexed Job
    of one pod per member (the chief, index 0, reports); the result comes back through the container's
    termination message. The worker `config` rides in the Job itself (annotation + downward API)."""
    config_mount = {"name": "stage-config", "mountPath": STAGE_CONFIG_DIR, "readOnly": True}
    config_volume = {"name": "stage-config", "downwardAPI": {"items": [{
        "path": STAGE_CONFIG_KEY, "fieldRef": {"fieldPath": f"metadata.annotations['{STAGE_CONFIG_ANNOTATION}']"}}]}}
    job = _worker_job(owner, spec, stage, version, stage_id, job_stage_command(spec, stage), ttl_seconds,
                      scratch_path, extra_mounts=[config_mount], extra_volumes=[config_volume])
    job["spec"]["template"]["metadata"]["annotations"] = {STAGE_CONFIG_ANNOTATION: stage_config_text(config)}
    if stage == "tune":
        job["spec"]["activeDeadlineSeconds"] = tune_deadline_seconds(spec)
    size = stage_workers(spec, stage)
    return make_indexed(job, size, gang_port(spec, stage)) if size > 1 else job


def stage_config_text(config: Mapping[str, Any]) -> str:
    """Compact, key-sorted JSON: the same config always yields the same Job (annotations count
    towards the object's 256 KiB metadata limit; a stage config is a few hundred bytes)."""
    return json.dumps(dict(config), separators=(",", ":"), sort_keys=True)


def tune_deadline_seconds(spec: Mapping[str, Any]) -> int:
    """A search may take every trial's deadline, `parallelism` at a time, plus one stage's own limit for
    loading data and starting up: the Job is never killed while its trials are within their deadlines."""
    tuning = view(spec).tuning
    rounds = math.ceil(tuning.max_trials / tuning.parallelism)
    return int(rounds * tuning.trial_deadline_seconds) + int(spec["training"]["activeDeadlineSeconds"])


def prune_stage_id(version: int, attempt: int = 1) -> str:
    """One Job name per removal attempt: a replayed DeleteVersion adopts, a retry after a failure runs anew."""
    return f"prune-v{version}" if attempt <= 1 else f"prune-v{version}-a{attempt}"


def prune_attempt(stage_id: str) -> int | None:
    """The attempt a prune Job's stage id names (prune_stage_id's inverse); None for anything else."""
    match = re.fullmatch(r"prune-v\d+(?:-a(\d+))?", stage_id)
    return None if match is None else int(match.group(1) or 1)


def build_prune_job(owner: Owner, spec: Mapping[str, Any], version: int, attempt: int = 1,
                    ttl_seconds: int = DEFAULT_TTL_SECONDS, scratch_path: str = DEFAULT_SCRATCH_PATH,
                    record: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """Retention: the operator cannot reach the model volume, so a Job removes the version's directory,
    archiving the version's status record first (`records/<N>.json`; a record is a few KiB).

    Always our own `modelops worker prune` (never the user's command override): deleting files is not
    part of the user's worker contract.
    """
    command = [*DEFAULT_COMMAND, "prune", "--storage-root", spec["storage"]["mountPath"],
               "--namespace", owner.namespace, "--name", owner.name, "--version", str(version)]
    if record is not None:
        command += ["--record-json", json.dumps(dict(record), sort_keys=True, separators=(",", ":"))]
    return _worker_job(owner, spec, "prune", version, prune_stage_id(version, attempt), command, ttl_seconds,
                       scratch_path)


def _worker_job(owner: Owner, spec: Mapping[str, Any], stage: str, version: int, stage_id: str,
                command: list[str], ttl_seconds: int, scratch_path: str,
                extra_mounts: Sequence[dict[str, Any]] = (), extra_volumes: Sequence[dict[str, Any]] = ()
                ) -> dict[str, Any]:
    training = spec["training"]
    object_labels = labels(owner, stage, version, **{STAGE_ID_LABEL: stage_id})
    container = {
        "name": CONTAINER_NAME,
        "image": training["image"],
        "command": command,
        "env": [
            *scratch_env(scratch_path),
            {"name": "PYTHONUNBUFFERED", "value": "1"},
            {"name": "TF_CPP_MIN_LOG_LEVEL", "value": "2"},
        ],
        "resources": clean_resources(training.get("resources")),
        "volumeMounts": [
            {"name": "models", "mountPath": spec["storage"]["mountPath"]},
            *extra_mounts,
            {"name": "tmp", "mountPath": scratch_path},
        ],
        "securityContext": container_security_context(),
        "terminationMessagePath": "/dev/termination-log",
        "terminationMessagePolicy": "FallbackToLogsOnError",
    }
    job = {
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
                    "volumes": [model_volume(spec), *extra_volumes, tmp_volume()],
                },
            },
        },
    }
    apply_pod_template(job["spec"]["template"]["spec"], container, stage_pod_template(spec, stage))
    return job
