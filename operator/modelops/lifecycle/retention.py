"""Which version directories may go: only beyond keepVersions and never one that serves or could."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from modelops.lifecycle.records import has_files, last_blessed


def protected_versions(status: Mapping[str, Any], pinned: int | None) -> set[int]:
    """Versions that serve, may serve next or are being worked on: retention never removes their files and
    status.versions never drops their records (lifecycle/record_trim.py)."""
    rollout = status.get("rollout") or {}
    stage = status.get("stage") or {}
    candidates = (status.get("servingVersion"), status.get("canaryVersion"), status.get("candidateVersion"),
                  pinned, rollout.get("stable"), rollout.get("canary"), stage.get("version"))
    return {int(v) for v in candidates if v is not None}


def versions_to_delete(status: Mapping[str, Any], keep: int, protected: Iterable[int | None]) -> list[int]:
    """Oldest first; protects serving, canary, pinned, rollout targets, in-flight and the last blessed version."""
    guard = {v for v in protected if v is not None}
    blessed = last_blessed(status)
    if blessed is not None:
        guard.add(blessed)
    alive = sorted((r["version"] for r in status.get("versions", []) if has_files(r)), reverse=True)
    kept_by_count = set(alive[:keep])
    return sorted(v for v in alive if v not in kept_by_count and v not in guard)
