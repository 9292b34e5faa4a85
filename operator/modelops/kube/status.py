"""Persist the core's status through the status subresource, and post Kubernetes Events.

Only `status` is ever patched (never spec or metadata), with a JSON merge patch that also nulls keys
the new status dropped (e.g. `stage` when nothing is in flight).
"""

from __future__ import annotations

import logging
import os
import uuid
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from modelops import API_GROUP, API_VERSION, KIND
from modelops.kube.builders.common import DEPLOYMENT_LABEL, MANAGED_BY, MANAGER
from modelops.kube.client import ApiError, KubeApi
from modelops.lifecycle.clock import stamp

log = logging.getLogger(__name__)
COMPONENT = "modelops-operator"
MAX_EVENT_MESSAGE = 1024


def status_merge_patch(old: Mapping[str, Any], new: Mapping[str, Any]) -> dict[str, Any]:
    """RFC 7386 merge patch turning `old` into `new`. A merge patch merges nested objects, so it must
    recurse: a key dropped inside `lastEvaluation` (e.g. a past `error`) is nulled, never left behind."""
    patch: dict[str, Any] = {}
    for key, value in new.items():
        before = old.get(key)
        if before == value:
            continue
        if isinstance(value, Mapping) and isinstance(before, Mapping):
            patch[key] = status_merge_patch(before, value)
        else:
            patch[key] = _without_nulls(value)
    patch.update({key: None for key in old if key not in new})
    return patch


def _without_nulls(value: Any) -> Any:
    """Nulls inside a replaced object would mean "delete" in a merge patch; in a status they mean absent."""
    if isinstance(value, Mapping):
        return {k: _without_nulls(v) for k, v in value.items() if v is not None}
    return value


def patch_status(api: KubeApi, namespace: str, name: str, old: Mapping[str, Any],
                 new: Mapping[str, Any]) -> dict[str, Any] | None:
    """Write the difference; returns the updated object, or None when nothing changed."""
    patch = status_merge_patch(old, new)
    if not patch:
        return None
    return api.patch(KIND, namespace, name, {"status": patch}, subresource="status")


def build_event(owner: Mapping[str, Any], type_: str, reason: str, message: str) -> dict[str, Any]:
    """A core/v1 Event about the ModelDeployment (what `kubectl describe mdep` lists)."""
    meta = owner["metadata"]
    now = stamp(datetime.now(UTC))
    return {
        "apiVersion": "v1",
        "kind": "Event",
        "metadata": {
            "name": f"{meta['name']}.{uuid.uuid4().hex[:16]}",
            "namespace": meta["namespace"],
            "labels": {MANAGED_BY: MANAGER, DEPLOYMENT_LABEL: meta["name"]},
        },
        "involvedObject": {
            "apiVersion": f"{API_GROUP}/{API_VERSION}",
            "kind": KIND,
            "name": meta["name"],
            "namespace": meta["namespace"],
            "uid": meta.get("uid", ""),
            "resourceVersion": meta.get("resourceVersion", ""),
        },
        "type": type_,
        "reason": reason,
        "message": message[:MAX_EVENT_MESSAGE],
        "source": {"component": COMPONENT},
        "reportingComponent": f"{API_GROUP}/operator",
        "reportingInstance": os.environ.get("HOSTNAME", "modelops-operator"),
        "firstTimestamp": now,
        "lastTimestamp": now,
        "count": 1,
    }


def post_event(api: KubeApi, owner: Mapping[str, Any], type_: str, reason: str, message: str) -> None:
    """Post a new Event (no repeat counting: the operator uses `kube.events.EventRecorder`). Events are
    best effort: a failure to post one is logged, never fails the reconcile."""
    try:
        api.create(build_event(owner, type_, reason, message))
    except ApiError as error:
        log.warning("could not post event %s for %s: %s", reason, owner["metadata"]["name"], error)
