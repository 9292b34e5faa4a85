"""Thin kopf handlers: translate watch events into Runtime calls. No lifecycle logic here.

- ModelDeployment create / resume / spec update  -> Reconcile; deleted -> forget its schedule and metrics
- stage Job finished (label-filtered event)      -> StageFinished (only for the stage in flight)
- serving Deployment status (label-filtered)     -> ServingObserved (also a deleted serving Service/ConfigMap)
- prune Job finished                             -> VersionPruned
Child handlers are `on.event` only: no timers, daemons or delete handlers on children, which would make
kopf add finalizers to them. The ModelDeployment itself gets no finalizer either: children carry owner
references and the garbage collector deletes them with it.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import kopf

from modelops import API_GROUP, API_VERSION, PLURAL
from modelops.kube.builders.common import DEPLOYMENT_LABEL, MANAGED_BY, MANAGER, STAGE_ID_LABEL, STAGE_LABEL
from modelops.kube.client import ApiError
from modelops.kube.results import job_outcome
from modelops.kube.runtime import Runtime
from modelops.kube.settings import OperatorSettings

OURS = {MANAGED_BY: MANAGER}


def register(registry: kopf.OperatorRegistry, runtime: Runtime, ours: OperatorSettings) -> None:
    """Attach every handler to `registry` (explicit, so importing this module registers nothing)."""

    @kopf.on.startup(registry=registry)
    def startup(**_: Any) -> None:
        runtime.scheduler.start()

    @kopf.on.cleanup(registry=registry)
    def cleanup(**_: Any) -> None:
        runtime.scheduler.stop()

    @kopf.on.resume(API_GROUP, API_VERSION, PLURAL, registry=registry)
    @kopf.on.create(API_GROUP, API_VERSION, PLURAL, registry=registry)
    @kopf.on.update(API_GROUP, API_VERSION, PLURAL, field="spec", registry=registry)
    def model_deployment_changed(namespace: str, name: str, **_: Any) -> None:
        try:
            runtime.reconcile(namespace, name)
        except ApiError as error:
            raise kopf.TemporaryError(str(error), delay=ours.retry_delay_seconds) from error

    @kopf.on.event(API_GROUP, API_VERSION, PLURAL, registry=registry)
    def model_deployment_event(type: str, namespace: str, name: str, **_: Any) -> None:
        # Deletion needs no finalizer (children go by garbage collection); only our bookkeeping ends.
        if type == "DELETED":
            runtime.forget(namespace, name)

    @kopf.on.event("batch", "v1", "jobs", labels=OURS, registry=registry)
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

    @kopf.on.event("apps", "v1", "deployments", labels={**OURS, STAGE_LABEL: "serve"}, registry=registry)
    def serving_event(body: Mapping[str, Any], **_: Any) -> None:
        owner = (body["metadata"].get("labels") or {}).get(DEPLOYMENT_LABEL)
        if owner:
            runtime.serving_changed(body["metadata"]["namespace"], owner)

    # A deleted serving Service or ConfigMap must come back: the core compares what it finds with what it wants.
    @kopf.on.event("", "v1", "services", labels={**OURS, STAGE_LABEL: "serve"}, registry=registry)
    @kopf.on.event("", "v1", "configmaps", labels={**OURS, STAGE_LABEL: "serve"}, registry=registry)
    def serving_child_event(type: str, body: Mapping[str, Any], **_: Any) -> None:
        owner = (body["metadata"].get("labels") or {}).get(DEPLOYMENT_LABEL)
        if type == "DELETED" and owner:
            runtime.serving_changed(body["metadata"]["namespace"], owner)
