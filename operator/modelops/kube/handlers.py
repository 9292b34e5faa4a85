"""Thin kopf handlers: translate watch events into Runtime calls. No lifecycle logic here.

- ModelDeployment watch event                    -> Runtime.observed: Reconcile when the spec generation is not
  yet in status.observedGeneration, on first sight, or when kopf lists (start, HA resume); deleted -> forget
- stage Job finished (label-filtered event)      -> StageFinished (only for the stage in flight)
- serving Deployment status (label-filtered)     -> ServingObserved (also a deleted serving Service/ConfigMap)
- prune Job finished                             -> VersionPruned
Child handlers are `on.event` only: no timers, daemons or delete handlers on children, which would make
kopf add finalizers to them. The ModelDeployment itself gets no finalizer either: children carry owner
references and the garbage collector deletes them with it. It is also driven by `on.event` alone, not
kopf's create/update/resume handlers: those make kopf patch progress and last-handled-configuration
annotations onto every object (one extra API write per change); our generation tracking lives in
`status.observedGeneration`, which the core writes anyway.
"""

from __future__ import annotations

import copy
import logging
from collections.abc import Mapping
from typing import Any

import kopf

from modelops import API_GROUP, API_VERSION, PLURAL
from modelops.kube.builders.common import DEPLOYMENT_LABEL, STAGE_ID_LABEL, STAGE_LABEL
from modelops.kube.client import ApiError
from modelops.kube.results import job_outcome
from modelops.kube.runtime import Runtime
from modelops.kube.settings import OperatorSettings
from modelops.kube.watches import CHILD_WATCHES

log = logging.getLogger(__name__)


def register(registry: kopf.OperatorRegistry, runtime: Runtime, ours: OperatorSettings) -> None:
    """Attach every handler to `registry` (explicit, so importing this module registers nothing)."""

    @kopf.on.startup(registry=registry)
    def startup(**_: Any) -> None:
        runtime.scheduler.start()

    @kopf.on.cleanup(registry=registry)
    def cleanup(**_: Any) -> None:
        runtime.scheduler.stop()

    @kopf.on.event(API_GROUP, API_VERSION, PLURAL, registry=registry)
    def model_deployment_event(type: str | None, body: Mapping[str, Any], **_: Any) -> None:
        # Deletion needs no finalizer (children go by garbage collection); only our bookkeeping ends.
        # Errors are not re-raised: event handlers are not retried by kopf, Runtime schedules its own retry.
        try:
            runtime.observed(type, copy.deepcopy(dict(body)))
        except ApiError as error:
            log.warning("%s/%s: %s (retrying in %ss)", body["metadata"].get("namespace"),
                        body["metadata"].get("name"), error, ours.retry_delay_seconds)

    @kopf.on.event("batch", "v1", "jobs", labels=CHILD_WATCHES["batch", "v1", "jobs"], registry=registry)
    def job_event(type: str, body: Mapping[str, Any], **_: Any) -> None:
        if type == "DELETED" or job_outcome(body) is None:
            return
        labels = body["metadata"].get("labels") or {}
        owner, stage_id = labels.get(DEPLOYMENT_LABEL), labels.get(STAGE_ID_LABEL)
        if not (owner and stage_id):
            return
        if labels.get(STAGE_LABEL) == "prune":
            runtime.version_pruned(body["metadata"]["namespace"], owner, dict(body))
        else:
            runtime.stage_finished(body["metadata"]["namespace"], owner, stage_id, dict(body))

    @kopf.on.event("apps", "v1", "deployments", labels=CHILD_WATCHES["apps", "v1", "deployments"],
                   registry=registry)
    def serving_event(body: Mapping[str, Any], **_: Any) -> None:
        owner = (body["metadata"].get("labels") or {}).get(DEPLOYMENT_LABEL)
        if owner:
            runtime.serving_changed(body["metadata"]["namespace"], owner)

    # A deleted serving Service or ConfigMap must come back: the core compares what it finds with what it wants.
    @kopf.on.event("", "v1", "services", labels=CHILD_WATCHES["", "v1", "services"], registry=registry)
    @kopf.on.event("", "v1", "configmaps", labels=CHILD_WATCHES["", "v1", "configmaps"], registry=registry)
    def serving_child_event(type: str, body: Mapping[str, Any], **_: Any) -> None:
        owner = (body["metadata"].get("labels") or {}).get(DEPLOYMENT_LABEL)
        if type == "DELETED" and owner:
            runtime.serving_changed(body["metadata"]["namespace"], owner)
