"""What every child object shares: names, labels, owner references, the pod security baseline.

Kept in one place so the label contract (docs/rbac.md, "Labels on child objects") and the restricted
Pod Security Standard are applied identically to Jobs and serving pods.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from modelops import API_GROUP, API_VERSION, KIND

MANAGED_BY = "app.kubernetes.io/managed-by"
APP_NAME = "app.kubernetes.io/name"
DEPLOYMENT_LABEL = f"{API_GROUP}/deployment"
STAGE_LABEL = f"{API_GROUP}/stage"
VERSION_LABEL = f"{API_GROUP}/version"
STAGE_ID_LABEL = f"{API_GROUP}/stage-id"
TRACK_LABEL = f"{API_GROUP}/track"  # stable | canary, serving objects only
CONFIG_HASH_ANNOTATION = f"{API_GROUP}/config-hash"
MANAGER = "modelops"
MAX_NAME = 63

# Workers run as this uid (the worker image's user); serving pods as nobody. fsGroup lets both
# read (and workers write) the model volume without running as root.
WORKER_UID = 10001
SERVING_UID = 65534
MODEL_GID = 10001


@dataclass(frozen=True)
class Owner:
    """The ModelDeployment a child belongs to; enough to name, label and owner-reference it."""

    name: str
    namespace: str
    uid: str

    @classmethod
    def from_body(cls, body: Mapping[str, Any]) -> Owner:
        metadata = body["metadata"]
        return cls(name=metadata["name"], namespace=metadata.get("namespace", "default"), uid=metadata["uid"])


def child_name(owner_name: str, suffix: str) -> str:
    """`<owner>-<suffix>`, cut to 63 characters with a hash tail when longer, so it stays unique
    and deterministic (a retry computes the same name and adopts instead of duplicating)."""
    name = f"{owner_name}-{suffix}" if suffix else owner_name
    if len(name) <= MAX_NAME:
        return name
    digest = hashlib.sha256(name.encode()).hexdigest()[:8]
    return f"{name[: MAX_NAME - 9].rstrip('-')}-{digest}"


def labels(owner: Owner, stage: str, version: int | None = None, **extra: str) -> dict[str, str]:
    """The labels every child object carries (managed-by, name, deployment, stage, version)."""
    result = {
        MANAGED_BY: MANAGER,
        APP_NAME: owner.name,
        DEPLOYMENT_LABEL: owner.name,
        STAGE_LABEL: stage,
    }
    if version is not None:
        result[VERSION_LABEL] = str(version)
    result.update(extra)
    return result


def serving_selector(owner: Owner, track: str | None = None) -> dict[str, str]:
    """Serving pod selector; never includes the version (selectors are immutable, versions change)."""
    result = {APP_NAME: owner.name, DEPLOYMENT_LABEL: owner.name, STAGE_LABEL: "serve"}
    if track:
        result[TRACK_LABEL] = track
    return result


def owner_references(owner: Owner) -> list[dict[str, Any]]:
    """Controller reference to the ModelDeployment: the garbage collector deletes children with it."""
    return [{
        "apiVersion": f"{API_GROUP}/{API_VERSION}",
        "kind": KIND,
        "name": owner.name,
        "uid": owner.uid,
        "controller": True,
        "blockOwnerDeletion": True,
    }]


def metadata(owner: Owner, name: str, object_labels: dict[str, str],
             annotations: dict[str, str] | None = None) -> dict[str, Any]:
    result: dict[str, Any] = {
        "name": name,
        "namespace": owner.namespace,
        "labels": object_labels,
        "ownerReferences": owner_references(owner),
    }
    if annotations:
        result["annotations"] = annotations
    return result


def pod_security_context(run_as_user: int) -> dict[str, Any]:
    """Restricted Pod Security Standard at pod level."""
    return {
        "runAsNonRoot": True,
        "runAsUser": run_as_user,
        "runAsGroup": MODEL_GID,
        "fsGroup": MODEL_GID,
        "seccompProfile": {"type": "RuntimeDefault"},
    }


def container_security_context() -> dict[str, Any]:
    """Restricted Pod Security Standard at container level; the scratch dir (/tmp) is an emptyDir."""
    return {
        "allowPrivilegeEscalation": False,
        "readOnlyRootFilesystem": True,
        "runAsNonRoot": True,
        "capabilities": {"drop": ["ALL"]},
    }


def model_volume(spec: Mapping[str, Any]) -> dict[str, Any]:
    return {"name": "models", "persistentVolumeClaim": {"claimName": spec["storage"]["persistentVolumeClaim"]}}


DEFAULT_SCRATCH_PATH = "/tmp"


def tmp_volume() -> dict[str, Any]:
    return {"name": "tmp", "emptyDir": {}}


def scratch_env(scratch_path: str) -> list[dict[str, str]]:
    """HOME and TMPDIR point at the writable emptyDir (the root filesystem is read-only)."""
    return [{"name": "HOME", "value": scratch_path}, {"name": "TMPDIR", "value": scratch_path}]


def content_hash(*parts: Any) -> str:
    """Stable short hash of JSON-serialisable parts (config-hash annotations, change detection)."""
    text = json.dumps(parts, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def clean_resources(resources: Mapping[str, Any] | None) -> dict[str, Any]:
    """Resources as a Pod spec wants them: only non-empty requests/limits."""
    resources = resources or {}
    return {key: dict(value) for key, value in resources.items() if key in ("requests", "limits") and value}
