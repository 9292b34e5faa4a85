"""Every Job ever created in a namespace, recorded from one watch: a test that asks "was a stage's Job made
twice?" must count Job UIDs, not names. Names are deterministic, so a second create of the same name gets
409 and a by-name check can never fail; a Job deleted and made again shows up here as a second UID."""

from __future__ import annotations

import threading
import time
from collections import defaultdict

from support.kuberest import KubeRest


class JobRecorder:
    """Every Job ever created in a namespace (uid per stage id), from one watch, so a Job deleted and made
    again for the same stage id is caught even if it no longer exists at the end."""

    def __init__(self, rest: KubeRest, namespace: str) -> None:
        self.rest, self.path = rest, f"/apis/batch/v1/namespaces/{namespace}/jobs"
        self.uids: dict[str, set[str]] = defaultdict(set)
        self._stop = threading.Event()
        self._version = rest.get(self.path)["metadata"]["resourceVersion"]
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                for event in self.rest.watch(self.path, self._version, 20):
                    job = event.get("object") or {}
                    meta = job.get("metadata") or {}
                    self._version = meta.get("resourceVersion", self._version)
                    stage_id = (meta.get("labels") or {}).get("modelops.dev/stage-id")
                    if event.get("type") in ("ADDED", "MODIFIED") and stage_id:
                        self.uids[stage_id].add(meta["uid"])
            except Exception:  # a dropped watch resumes from the last version
                time.sleep(0.5)

    def stop(self) -> None:
        self._stop.set()
