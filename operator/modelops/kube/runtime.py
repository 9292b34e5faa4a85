"""The operator's reconcile loop for one ModelDeployment: observe → decide → persist status → act.

Every entry point (kopf handlers, the requeue scheduler) goes through `Runtime.handle`, which holds a
per-object lock: Job, Deployment and ModelDeployment events arrive on different kopf workers, and two
decisions on one object must never interleave. The lifecycle rules live only in `modelops.lifecycle`;
this module just feeds it observations and executes what it returns.

Errors (kube/errors.py): a transient failure is retried after a per-object exponential backoff; a
persistent refusal fails the deployment with the API server's own message (lifecycle/refusals.py) and
parks the object — no retry, and no decision on child events or timers — until its spec generation
changes (or kopf re-lists it: start, resume, an expired watch).

Request economy: decisions start from the cached body (kube/bodies.py: the watch event's or our own last
status patch's, whichever is newer), not from a GET; a ModelDeployment event leads to a decision only
when its spec generation is not yet observed (`status.observedGeneration`), on first sight, or when kopf
(re-)lists the objects (start, resume after an HA pause, a watch that expired). Our own status patches
come back as watch events with an observed generation: they never cause another decision.
"""

from __future__ import annotations

import contextlib
import copy
import logging
import threading
from collections.abc import Callable, Iterator, Mapping
from datetime import UTC, datetime
from typing import Any

from modelops import KIND
from modelops.api import SpecError, parse_model_deployment
from modelops.api.document import ModelDeploymentDoc
from modelops.kube.bodies import BodyCache
from modelops.kube.builders.common import Owner
from modelops.kube.builders.jobs import job_name
from modelops.kube.client import ApiError, KubeApi
from modelops.kube.errors import Backoff, Refused, is_transient, refusal_text
from modelops.kube.executor import Executor, is_gang_stage
from modelops.kube.metrics import OperatorMetrics
from modelops.kube.results import owned_by
from modelops.kube.scheduler import Key, Scheduler
from modelops.kube.settings import OperatorSettings
from modelops.kube.status import patch_status
from modelops.kube.strays import cancel_strays
from modelops.lifecycle import (
    Context,
    EmitEvent,
    Observation,
    Reconcile,
    StageFinished,
    StageMissing,
    decide,
    decide_invalid_spec,
)
from modelops.lifecycle.refusals import decide_refused

log = logging.getLogger(__name__)
MAX_STEPS = 16  # follow-up observations per handle(); a loop longer than this is a bug, not progress
ATTEMPTS = 3  # decisions per handle() when our status write finds the object changed (409): re-read, decide again

# Given the fresh object, the observation to feed (None = nothing to do).
Observe = Callable[[Mapping[str, Any]], Observation | None]


class Runtime:
    def __init__(self, api: KubeApi, settings: OperatorSettings, metrics: OperatorMetrics) -> None:
        self.api = api
        self.settings = settings
        self.metrics = metrics
        self.executor = Executor(api, settings, metrics)
        self.scheduler = Scheduler(self._requeued, workers=4)
        self._locks: dict[Key, tuple[threading.Lock, int]] = {}  # lock and how many hold or wait for it
        self._locks_guard = threading.Lock()
        self.bodies = BodyCache()
        self.backoff = Backoff(settings.retry_delay_seconds, settings.retry_max_delay_seconds)
        self._parked: dict[Key, int] = {}  # generation whose persistent refusal stopped the loop
        self._resync: set[Key] = set()  # listed by kopf (start, resume): look for stray Jobs once

    # ------------------------------------------------------------ entry points
    def observed(self, event_type: str | None, body: Mapping[str, Any]) -> None:
        """A ModelDeployment watch event (type None: kopf's listing at start, resume or re-watch)."""
        meta = body["metadata"]
        key = (meta["namespace"], meta["name"])
        if event_type == "DELETED":
            self.forget(*key)
            return
        with self._lock(key):
            first_sight = self.bodies.get(key) is None
            latest = self.bodies.offer(body)
            if event_type is None:
                self._parked.pop(key, None)  # a re-list tries once more (at most every watch timeout)
                self._resync.add(key)
            if event_type is None or first_sight or spec_unobserved(latest):
                self._handle(key, "reconcile", lambda _: Reconcile())

    def reconcile(self, namespace: str, name: str) -> None:
        """Created, edited, resumed or woken up: look at the world, then decide."""
        self.handle(namespace, name, "reconcile", lambda body: Reconcile())

    def stage_finished(self, namespace: str, name: str, stage_id: str, job: Mapping[str, Any]) -> None:
        """A stage Job finished. Its pod is only read when the Job is the stage in flight."""

        def observe(body: Mapping[str, Any]) -> Observation | None:
            in_flight = ((body.get("status") or {}).get("stage") or {}).get("id")
            # A predecessor's Job of the same name (deleted and re-created ModelDeployment) is not our result.
            ours = owned_by(job, str(body["metadata"].get("uid", "")))
            return self.executor.finished_stage(job) if in_flight == stage_id and ours else None

        self.handle(namespace, name, "stage-finished", observe)

    def version_pruned(self, namespace: str, name: str, job: Mapping[str, Any]) -> None:
        """A retention (prune) Job finished: confirm or retry the deletion in the core."""
        self.handle(namespace, name, "prune-finished", lambda body: self.executor.finished_prune(job)
                    if owned_by(job, str(body["metadata"].get("uid", ""))) else None)

    def serving_changed(self, namespace: str, name: str) -> None:
        def observe(body: Mapping[str, Any]) -> Observation | None:
            return self.executor.observe_serving(Owner.from_body(body))

        self.handle(namespace, name, "serving", observe)

    def forget(self, namespace: str, name: str) -> None:
        key = (namespace, name)
        self.scheduler.cancel(key)
        self.metrics.forget(namespace, name)
        self.bodies.drop(key)
        self.backoff.succeeded(key)
        self._parked.pop(key, None)
        self._resync.discard(key)

    # ------------------------------------------------------------ the loop
    def handle(self, namespace: str, name: str, kind: str, observe: Observe) -> None:
        key = (namespace, name)
        with self._lock(key):
            self._handle(key, kind, observe)

    def _handle(self, key: Key, kind: str, observe: Observe) -> None:
        """Observe and decide from the cached body (a GET only on a cache miss or after a 409)."""
        self.metrics.reconciles.labels(kind).inc()
        body: Mapping[str, Any] | None = None
        try:
            for attempt in range(ATTEMPTS):
                body = self._body(key)
                if body is None or body["metadata"].get("deletionTimestamp"):
                    self.forget(*key)
                    return
                if self._parked.get(key) == body["metadata"].get("generation"):
                    return  # refused for this spec: nothing is asked again until it changes
                self._parked.pop(key, None)
                observation = observe(body)
                if observation is None:
                    return
                try:
                    self._run(body, observation)
                    self.backoff.succeeded(key)
                    return
                except StaleBody:
                    log.info("%s/%s changed under our decision; reading it again", *key)
                    self.bodies.drop(key)
                    if attempt == ATTEMPTS - 1:
                        raise
        except Exception as error:
            self.metrics.errors.labels(kind, type(error).__name__).inc()
            if is_transient(error) or body is None:
                delay = self.backoff.failed(key)
                log.warning("%s/%s: %s (%s; retrying in %.0fs)", *key, error, kind, delay)
                self.scheduler.schedule(key, delay)
            else:
                log.warning("%s/%s: %s refused: %s", *key, kind, error, exc_info=not isinstance(error, (ApiError,
                                                                                                       Refused)))
                self._refuse(key, body, error)
        finally:
            # A phase series from the first observation on, even when no decision could be made or
            # stored (a refused spec, a failing API call): a deployment stuck there must be visible.
            if (latest := self.bodies.get(key)) is not None:
                self.metrics.observe_status(*key, latest.get("status") or {})

    def _body(self, key: Key) -> Mapping[str, Any] | None:
        body = self.bodies.get(key)
        if body is None:
            fetched = self.api.get_or_none(KIND, *key)
            body = self.bodies.offer(fetched) if fetched is not None else None
        return body

    def _patch_status(self, body: Mapping[str, Any], old: Mapping[str, Any],
                      new: Mapping[str, Any]) -> Mapping[str, Any] | None:
        """Persist only onto the version we decided from; remember what the API server stored."""
        meta = body["metadata"]
        try:
            updated = patch_status(self.api, meta["namespace"], meta["name"], old, new,
                                   resource_version=meta.get("resourceVersion"))
        except ApiError as error:
            if error.status == 409:
                raise StaleBody(409, str(error)) from error
            raise
        return self.bodies.offer(updated) if updated is not None else None

    def _run(self, body: Mapping[str, Any], first: Observation) -> None:
        namespace, name = body["metadata"]["namespace"], body["metadata"]["name"]
        try:
            doc = parse_model_deployment(body)
        except SpecError as error:
            self._invalid_spec(body, error)
            return
        status: dict[str, Any] = copy.deepcopy(dict(body.get("status") or {}))
        pending: list[Observation] = [first]
        if isinstance(first, Reconcile):
            if (namespace, name) in self._resync:  # a CancelStage lost in a crash leaves its Job running
                cancel_strays(self.api, self.executor, Owner.from_body(body), status)
                self._resync.discard((namespace, name))
            pending += self._observe_in_flight(body, doc, status)
        # Level-triggered: compare the serving children with what is wanted — looked at only after this
        # round's actions ran, so a look taken before a serving edit was applied is not "repaired" again.
        look_at_serving = isinstance(first, Reconcile)
        requeue: float | None = None
        for _ in range(MAX_STEPS):
            if not pending and look_at_serving:
                look_at_serving = False
                if status.get("rollout"):
                    pending.append(self.executor.observe_serving(Owner.from_body(body)))
            if not pending:
                break
            observation = pending.pop(0)
            decision = decide(self._context(doc), status, observation)
            before = status
            updated = self._patch_status(body, status, decision.status)
            if updated is not None:
                body = updated
            # What the API server stored (after schema pruning) is what the next decision must see.
            status = copy.deepcopy(dict(updated.get("status") or {})) if updated is not None else decision.status
            pending += self.executor.execute(body, doc, status, decision.actions)
            if isinstance(observation, StageFinished) and observation.stage_id:
                self.executor.cleanup_stage(Owner.from_body(body), observation.stage_id,
                                            is_gang_stage(doc.spec, before, observation.stage_id))
            if decision.requeue_after is not None:  # the soonest any decision of the round asked for
                requeue = decision.requeue_after if requeue is None else min(requeue, decision.requeue_after)
        else:
            log.error("%s/%s: still had observations after %d steps; stopping this round", namespace, name,
                      MAX_STEPS)
        if requeue is not None:
            self.scheduler.schedule((namespace, name), requeue)
        self.metrics.observe_status(namespace, name, status)

    def _observe_in_flight(self, body: Mapping[str, Any], doc: ModelDeploymentDoc,
                           status: Mapping[str, Any]) -> list[Observation]:
        """On a plain Reconcile, look at the stage recorded in status: report its Job if it finished while we
        were not looking, or tell the core it is missing (the core decides whether it is started again,
        lifecycle/in_flight.py). The deterministic Job name makes this safe to repeat."""
        stage = status.get("stage")
        if not stage:
            return []
        owner = Owner.from_body(body)
        job = self.api.get_or_none("Job", owner.namespace, job_name(owner, stage["id"]))
        if job is not None and not owned_by(job, owner.uid):
            job = None  # a predecessor's: starting the stage replaces it (executor._create_or_adopt_job)
        if job is not None:
            finished = self.executor.finished_stage(job)
            return [finished] if finished else []
        return [StageMissing(str(stage["id"]))]

    def _context(self, doc: ModelDeploymentDoc) -> Context:
        return Context(doc.spec, doc.generation, datetime.now(UTC), self.settings.repeat)

    def _invalid_spec(self, body: Mapping[str, Any], error: SpecError) -> None:
        meta = body["metadata"]
        status = dict(body.get("status") or {})
        decision = decide_invalid_spec(int(meta.get("generation", 1)), datetime.now(UTC), status, error.errors)
        if decision.status != status:
            self._patch_status(body, status, decision.status)
        for action in decision.actions:
            if isinstance(action, EmitEvent):
                self.executor.events.post(body, action.type, action.reason, action.message)

    def _refuse(self, key: Key, body: Mapping[str, Any], error: BaseException) -> None:
        """Fail the deployment with the refusal's own words and park it until its spec changes. If even
        that status write is refused, the Event alone says it; a transient failure of it retries later."""
        reason, message = (error.reason, error.message) if isinstance(error, Refused) else refusal_text(error)
        body = self.bodies.get(key) or body  # our own status writes before the refusal are in the cache
        generation = int(body["metadata"].get("generation", 1))
        self._parked[key] = generation
        status = copy.deepcopy(dict(body.get("status") or {}))
        try:
            doc = parse_model_deployment(body)
            decision = decide_refused(self._context(doc), status, reason, message)
            self._patch_status(body, status, decision.status)
            events = [(a.type, a.reason, a.message) for a in decision.actions if isinstance(a, EmitEvent)]
        except Exception as failure:  # the refusal must reach the resource one way or another
            if is_transient(failure):
                self._parked.pop(key, None)
                self.bodies.drop(key)
                self.scheduler.schedule(key, self.backoff.failed(key))
                return
            log.warning("%s/%s: could not record the refusal in status: %s", *key, failure)
            events = [("Warning", reason, message)]
        for type_, event_reason, text in events:
            self.executor.events.post(body, type_, event_reason, text)

    # ------------------------------------------------------------ plumbing
    @contextlib.contextmanager
    def _lock(self, key: Key) -> Iterator[None]:
        """The object's lock; its entry goes when nobody holds or waits for it, so the map stays as small
        as the number of objects being worked on (deleted objects leave nothing behind)."""
        with self._locks_guard:
            lock, users = self._locks.get(key) or (threading.Lock(), 0)
            self._locks[key] = (lock, users + 1)
        try:
            with lock:
                yield
        finally:
            with self._locks_guard:
                lock, users = self._locks[key]
                if users == 1:
                    del self._locks[key]
                else:
                    self._locks[key] = (lock, users - 1)

    def _requeued(self, key: Key) -> None:
        try:
            self.reconcile(*key)
        except ApiError as error:
            log.warning("requeued reconcile of %s/%s failed: %s", *key, error)


class StaleBody(ApiError):
    """Our status write found a newer object than the one we decided from (HTTP 409); callers that
    retry on ApiError retry on this too."""


def spec_unobserved(body: Mapping[str, Any]) -> bool:
    """A spec generation the core has not decided on yet (the core sets status.observedGeneration)."""
    generation = (body.get("metadata") or {}).get("generation")
    return generation is not None and (body.get("status") or {}).get("observedGeneration") != generation
