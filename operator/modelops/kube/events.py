"""Kubernetes Events the way `kubectl describe` expects them: one Event per occurrence, counted.

Posting the same (object, type, reason, message) again bumps `count` and `lastTimestamp` of the Event
already posted instead of creating a duplicate (the convention of client-go's event correlator), so
`kubectl describe mdep` shows `x3 over 10m` and not three identical lines. Either way it costs one API
request. The cache is in memory: after an operator restart the next occurrence starts a new Event.
"""

from __future__ import annotations

import logging
import os
import threading
import uuid
from collections import OrderedDict
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from typing import Any

from modelops import API_GROUP, API_VERSION, KIND
from modelops.kube.builders.common import DEPLOYMENT_LABEL, MANAGED_BY, MANAGER
from modelops.kube.client import ApiError, KubeApi
from modelops.lifecycle.clock import stamp

log = logging.getLogger(__name__)
COMPONENT = "modelops-operator"
MAX_EVENT_MESSAGE = 1024
MAX_REMEMBERED = 4096
EventKey = tuple[str, str, str, str, str]


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


class EventRecorder:
    """Posts Events for ModelDeployments, counting repeats; best effort (a failure is only logged)."""

    def __init__(self, api: KubeApi, *, max_remembered: int = MAX_REMEMBERED,
                 now: Callable[[], datetime] = lambda: datetime.now(UTC)) -> None:
        self.api, self.now, self.max_remembered = api, now, max_remembered
        self._posted: OrderedDict[EventKey, tuple[str, int]] = OrderedDict()
        self._guard = threading.Lock()

    @staticmethod
    def key(owner: Mapping[str, Any], type_: str, reason: str, message: str) -> EventKey:
        meta = owner["metadata"]
        return (meta["namespace"], meta["name"], str(meta.get("uid", "")), f"{type_}/{reason}",
                message[:MAX_EVENT_MESSAGE])

    def post(self, owner: Mapping[str, Any], type_: str, reason: str, message: str) -> None:
        key = self.key(owner, type_, reason, message)
        with self._guard:
            previous = self._posted.get(key)
        try:
            if previous is not None and self._bump(key, *previous):
                return
            event = build_event(owner, type_, reason, message)
            event["firstTimestamp"] = event["lastTimestamp"] = stamp(self.now())
            created = self.api.create(event)
            self._remember(key, str((created.get("metadata") or {}).get("name") or event["metadata"]["name"]), 1)
        except ApiError as error:
            log.warning("could not post event %s for %s: %s", reason, owner["metadata"]["name"], error)

    def _bump(self, key: EventKey, name: str, count: int) -> bool:
        """Count one more occurrence on the Event already posted; False when it is gone (expired)."""
        patch = {"count": count + 1, "lastTimestamp": stamp(self.now())}
        try:
            self.api.patch("Event", key[0], name, patch)
        except ApiError as error:
            if error.status != 404:
                raise
            with self._guard:
                self._posted.pop(key, None)
            return False
        self._remember(key, name, count + 1)
        return True

    def _remember(self, key: EventKey, name: str, count: int) -> None:
        with self._guard:
            self._posted[key] = (name, count)
            self._posted.move_to_end(key)
            while len(self._posted) > self.max_remembered:
                self._posted.popitem(last=False)
