"""Per-object wake-ups: the lifecycle core's `requeue_after` (evaluations, cooldowns, retries).

One thread and one heap for all objects instead of a kopf timer/daemon per ModelDeployment: kopf puts
a finalizer on objects with daemons or timers, and we need none (children go by garbage collection).
Only the latest schedule per object counts; on restart the resume handler re-derives every schedule
from status, so nothing here needs persisting.
"""

from __future__ import annotations

import heapq
import logging
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

log = logging.getLogger(__name__)
Key = tuple[str, str]


class Scheduler:
    def __init__(self, callback: Callable[[Key], None], workers: int = 4,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self._callback = callback
        self._clock = clock  # injectable so tests decide what "due" means without sleeping
        self._due: dict[Key, float] = {}
        self._heap: list[tuple[float, Key]] = []
        self._wakeup = threading.Condition()
        self._stopped = False
        self._pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="modelops-requeue")
        self._thread = threading.Thread(target=self._loop, name="modelops-scheduler", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        with self._wakeup:
            self._stopped = True
            self._wakeup.notify_all()
        self._pool.shutdown(wait=False, cancel_futures=True)

    def schedule(self, key: Key, delay: float) -> None:
        """Run the callback for `key` after `delay` seconds, replacing any earlier schedule."""
        when = self._clock() + max(0.0, delay)
        with self._wakeup:
            self._due[key] = when
            heapq.heappush(self._heap, (when, key))
            self._wakeup.notify_all()

    def cancel(self, key: Key) -> None:
        with self._wakeup:
            self._due.pop(key, None)

    def pending(self, key: Key) -> float | None:
        """Seconds until `key` wakes up, or None."""
        with self._wakeup:
            when = self._due.get(key)
        return None if when is None else max(0.0, when - self._clock())

    def take_due(self) -> list[Key]:
        """Keys whose time has come by the clock, earliest first, each removed from the schedule; entries
        replaced or cancelled since they were pushed are dropped."""
        with self._wakeup:
            return self._take_due_locked(self._clock())

    def _take_due_locked(self, now: float) -> list[Key]:
        ready: list[Key] = []
        while self._heap and self._heap[0][0] <= now:
            when, key = heapq.heappop(self._heap)
            if self._due.get(key) == when:
                del self._due[key]
                ready.append(key)
        return ready

    def _loop(self) -> None:
        while True:
            with self._wakeup:
                if self._stopped:
                    return
                now = self._clock()
                ready = self._take_due_locked(now)
                if not ready:
                    self._wakeup.wait((self._heap[0][0] - now) if self._heap else None)
                    continue
            for key in ready:
                self._pool.submit(self._run, key)

    def _run(self, key: Key) -> None:
        try:
            self._callback(key)
        except Exception:  # the callback reschedules itself on errors; never kill the thread
            log.exception("scheduled reconcile of %s/%s failed", *key)
