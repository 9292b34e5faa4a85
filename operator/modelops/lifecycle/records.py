"""Version records in status.versions: lookup, allocation and the spec hash that decides 'new model'."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from typing import Any

# States a version reaches only after passing every gate.
BLESSED_STATES = frozenset({"Blessed", "Canary", "Serving", "Retired"})


def training_hash(spec: Mapping[str, Any]) -> str:
    """Fingerprint of what defines a model (task + training). Serving/monitoring edits leave it unchanged."""
    material = json.dumps({"task": spec["task"], "training": spec["training"]}, sort_keys=True)
    return hashlib.sha256(material.encode()).hexdigest()[:16]


def serving_hash(spec: Mapping[str, Any]) -> str:
    material = json.dumps({"serving": spec.get("serving", {}), "storage": spec.get("storage", {})}, sort_keys=True)
    return hashlib.sha256(material.encode()).hexdigest()[:16]


def find_version(status: Mapping[str, Any], version: int | None) -> dict[str, Any] | None:
    if version is None:
        return None
    return next((r for r in status.get("versions", []) if r["version"] == version), None)


def next_version_number(status: Mapping[str, Any]) -> int:
    """Monotonic and never reused: above every number ever recorded or allocated."""
    highest = max((r["version"] for r in status.get("versions", [])), default=0)
    return max(highest, int(status.get("latestVersion") or 0)) + 1


def has_files(record: Mapping[str, Any]) -> bool:
    """False once retention removed, or decided to remove, the version's files."""
    return not record.get("deleted") and not record.get("deletion")


def last_blessed(status: Mapping[str, Any]) -> int | None:
    blessed = [r["version"] for r in status.get("versions", []) if r["state"] in BLESSED_STATES and has_files(r)]
    return max(blessed, default=None)


def is_servable(record: Mapping[str, Any] | None) -> bool:
    return bool(record and record["state"] in BLESSED_STATES and has_files(record))
