"""Persist the core's status through the status subresource (Events: kube/events.py).

Only `status` is ever patched (never spec or metadata), with a JSON merge patch that also nulls keys
the new status dropped (e.g. `stage` when nothing is in flight). The operator decides from a cached body
(the watch event's, or the answer to its own last patch) instead of a fresh GET, so the patch carries that
body's `metadata.resourceVersion` as a precondition: if anyone wrote the object since, the API server
answers 409 and the runtime re-reads and decides again, never persisting a decision made on stale state.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from modelops import KIND
from modelops.kube.client import KubeApi


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
                 new: Mapping[str, Any], resource_version: str | None = None) -> dict[str, Any] | None:
    """Write the difference; returns the updated object, or None when nothing changed. With
    `resource_version`, the write only lands on exactly that version of the object (else ApiError 409)."""
    patch: dict[str, Any] = {"status": status_merge_patch(old, new)}
    if not patch["status"]:
        return None
    if resource_version:
        patch["metadata"] = {"resourceVersion": resource_version}
    return api.patch(KIND, namespace, name, patch, subresource="status")
