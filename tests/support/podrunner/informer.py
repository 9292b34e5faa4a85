"""List+watch one resource into an in-memory cache of raw dicts, in a background thread.

Why: the runner reacts to pods, services, endpoint slices and config maps within a fraction of a
second, the way a kubelet's informers do; relisting on "410 Gone" keeps the cache correct.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable

from support.kuberest import ApiError, KubeRest

log = logging.getLogger(__name__)

Key = tuple[str, str]  # (namespace, name); namespace is "" for cluster-scoped objects
Handler = Callable[[str, dict], None]  # (event type ADDED|MODIFIED|DELETED, object)


def key_of(obj: dict) -> Key:
    metadata = obj["metadata"]
    return metadata.get("namespace", ""), metadata["name"]


class Informer:
    def __init__(self, rest: KubeRest, path: str, on_event: Handler | None = None) -> None:
        self.rest = rest
        self.path = path
        self.on_event = on_event
        self.cache: dict[Key, dict] = {}
        self.synced = threading.Event()
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self._thread = threading.Thread(target=self._run, name=f"informer{path}", daemon=True)

    def start(self) -> Informer:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()

    def join(self, timeout: float = 5.0) -> None:
        self._thread.join(timeout)

    def snapshot(self) -> list[dict]:
        with self._lock:
            return list(self.cache.values())

    def get(self, namespace: str, name: str) -> dict | None:
        with self._lock:
            return self.cache.get((namespace, name))

    def _emit(self, kind: str, obj: dict) -> None:
        if self.on_event is None:
            return
        try:
            self.on_event(kind, obj)
        except Exception:  # a handler bug must not kill the watch loop
            log.exception("handler failed for %s %s", kind, key_of(obj))

    def _relist(self) -> str:
        listing = self.rest.get(self.path)
        fresh = {key_of(item): item for item in listing.get("items", [])}
        with self._lock:
            gone = [obj for key, obj in self.cache.items() if key not in fresh]
            self.cache = fresh
        for obj in gone:
            self._emit("DELETED", obj)
        for obj in fresh.values():
            self._emit("MODIFIED", obj)
        self.synced.set()
        return listing["metadata"]["resourceVersion"]

    def _run(self) -> None:
        resource_version = None
        while not self._stop.is_set():
            try:
                if resource_version is None:
                    resource_version = self._relist()
                for event in self.rest.watch(self.path, resource_version, timeout_seconds=30):
                    if self._stop.is_set():
                        return
                    kind, obj = event["type"], event["object"]
                    if kind == "ERROR":
                        resource_version = None  # usually 410 Gone: our version is too old
                        break
                    resource_version = obj["metadata"]["resourceVersion"]
                    if kind == "BOOKMARK":
                        continue
                    with self._lock:
                        if kind == "DELETED":
                            self.cache.pop(key_of(obj), None)
                        else:
                            self.cache[key_of(obj)] = obj
                    self._emit(kind, obj)
            except ApiError as error:
                if error.status == 410:
                    resource_version = None
                else:
                    log.warning("watch %s failed: %s", self.path, error)
                    self._stop.wait(0.5)
            except Exception as error:  # connection reset, server restarting, ...
                if not self._stop.is_set():
                    log.debug("watch %s interrupted: %s", self.path, error)
                    self._stop.wait(0.5)
