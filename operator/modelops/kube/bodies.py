"""The latest ModelDeployment body the operator knows, per object, ordered by resourceVersion.

Why: a GET before every decision was one API request per observation. The watch already delivers the
body, and every status patch answers with the stored object, so the operator decides from whichever of
the two is newer. A watch event that arrives after our own status write carries an older resourceVersion
and must never replace it (the next decision would undo what we just persisted); `offer` keeps the newer.
The status patch also sends the cached resourceVersion as a precondition (kube/status.py), so a body made
stale by someone else's write costs a 409 and one re-read, never a wrong write.
"""

from __future__ import annotations

import threading
from collections.abc import Mapping
from typing import Any

Key = tuple[str, str]


def key_of(body: Mapping[str, Any]) -> Key:
    meta = body["metadata"]
    return meta.get("namespace", "default"), meta["name"]


def resource_version(body: Mapping[str, Any]) -> str:
    return str((body.get("metadata") or {}).get("resourceVersion") or "")


def newer(candidate: Mapping[str, Any], known: Mapping[str, Any]) -> bool:
    """True if `candidate` is at least as new as `known`. resourceVersions are opaque by contract; the
    API server backed by etcd issues increasing integers (the etcd revision), which is what we compare.
    Anything else (a different storage) falls back to "the later arrival wins"."""
    if (candidate.get("metadata") or {}).get("uid") != (known.get("metadata") or {}).get("uid"):
        return True  # deleted and re-created under the same name: the new object wins
    new, old = resource_version(candidate), resource_version(known)
    if new.isdigit() and old.isdigit():
        return int(new) >= int(old)
    return True


class BodyCache:
    """Thread-safe map (namespace, name) → latest body; bodies are treated as read-only."""

    def __init__(self) -> None:
        self._bodies: dict[Key, Mapping[str, Any]] = {}
        self._guard = threading.Lock()

    def get(self, key: Key) -> Mapping[str, Any] | None:
        with self._guard:
            return self._bodies.get(key)

    def offer(self, body: Mapping[str, Any]) -> Mapping[str, Any]:
        """Keep `body` if it is not older than what we have; return the latest known body."""
        key = key_of(body)
        with self._guard:
            known = self._bodies.get(key)
            if known is None or newer(body, known):
                self._bodies[key] = body
                return body
            return known

    def drop(self, key: Key) -> None:
        with self._guard:
            self._bodies.pop(key, None)

    def __len__(self) -> int:
        return len(self._bodies)
