"""Execute the lifecycle core's actions against the API server, and report what they revealed.

Every action is idempotent: deterministic names plus create-or-adopt mean a retried or replayed action
never makes a second Job. `execute` returns follow-up observations (a Job found already finished,
serving already ready) so the caller can feed them straight back into the core.
"""

from __future__ import annotations

import calendar
import logging
import time
import urllib.parse
from collections.abc import Mapping
from typing import Any

from modelops.api.document import ModelDeploymentDoc
from modelops.api.stage_config import build_stage_config
from modelops.kube.builders.common import DEPLOYMENT_LABEL, STAGE_LABEL, Owner
from modelops.kube.builders.config import (
    build_serving_config_map,
    build_stage_config_map,
    serving_config_map_name,
    serving_object_name,
    stage_config_map_name,
)
from modelops.kube.builders.jobs import build_prune_job, build_stage_job, job_name
from modelops.kube.builders.serving import (
    GRPC_PORT,
    REST_PORT,
    build_service,
    build_serving_deployment,
    deployment_rolled_out,
    deployment_version,
)
from modelops.kube.client import ApiError, KubeApi
from modelops.kube.metrics import OperatorMetrics
from modelops.kube.results import job_outcome, read_job_result
from modelops.kube.settings import OperatorSettings
from modelops.kube.status import post_event
from modelops.lifecycle.model import (
    Action,
    ApplyServing,
    CancelStage,
    DeleteVersion,
    EmitEvent,
    Observation,
    ServingObserved,
    StageFinished,
    StartStage,
)

log = logging.getLogger(__name__)


class Executor:
    def __init__(self, api: KubeApi, settings: OperatorSettings, metrics: OperatorMetrics) -> None:
        self.api = api
        self.settings = settings
        self.metrics = metrics

    # ------------------------------------------------------------ dispatch
    def execute(self, body: Mapping[str, Any], doc: ModelDeploymentDoc, status: Mapping[str, Any],
                actions: list[Action]) -> list[Observation]:
        owner = Owner.from_body(body)
        follow_ups: list[Observation] = []
        for action in actions:
            if isinstance(action, StartStage):
                follow_ups += self.start_stage(owner, doc, status, action)
            elif isinstance(action, ApplyServing):
                follow_ups.append(self.apply_serving(owner, doc.spec, action))
            elif isinstance(action, CancelStage):
                self.cancel_stage(owner, action.stage_id)
            elif isinstance(action, EmitEvent):
                post_event(self.api, body, action.type, action.reason, action.message)
            elif isinstance(action, DeleteVersion):
                self.delete_version(owner, doc.spec, action)
            else:  # a new action type the core grew: fail loudly rather than skip silently
                raise TypeError(f"operator cannot execute action {action!r}")
        return follow_ups

    # ------------------------------------------------------------ stages
    def endpoint_for(self, owner: Owner, status: Mapping[str, Any], version: int) -> str:
        """The Service an evaluation talks to: the canary's own Service when it targets the canary."""
        track = "canary" if status.get("canaryVersion") == version else "stable"
        return self.settings.endpoint_template.format(
            service=serving_object_name(owner, track), namespace=owner.namespace, port=REST_PORT,
        )

    def grpc_endpoint_for(self, owner: Owner, status: Mapping[str, Any], version: int) -> str:
        """The same Service's gRPC port (8500) as host:port, for evaluation with TensorProtos."""
        track = "canary" if status.get("canaryVersion") == version else "stable"
        url = self.settings.endpoint_template.format(
            service=serving_object_name(owner, track), namespace=owner.namespace, port=GRPC_PORT,
        )
        return urllib.parse.urlsplit(url).netloc

    def start_stage(self, owner: Owner, doc: ModelDeploymentDoc, status: Mapping[str, Any],
                    action: StartStage) -> list[Observation]:
        spec = doc.spec
        evaluate = action.stage == "evaluate"
        endpoint = self.endpoint_for(owner, status, action.version) if evaluate else None
        grpc_endpoint = self.grpc_endpoint_for(owner, status, action.version) if evaluate else None
        config = build_stage_config(spec, owner.namespace, owner.name, action, spec["storage"]["mountPath"],
                                    endpoint=endpoint, grpc_endpoint=grpc_endpoint,
                                    result_path="/dev/termination-log")
        config_map = build_stage_config_map(owner, action.stage, action.version, action.stage_id, config)
        self._create_or_update(config_map, {"data": config_map["data"]})
        job = build_stage_job(owner, spec, action.stage, action.version, action.stage_id,
                              ttl_seconds=self.settings.job_ttl_seconds, scratch_path=self.settings.scratch_path)
        try:
            self.api.create(job)
            return []
        except ApiError as error:
            if error.status != 409:
                raise
        # AlreadyExists: a retry or a restart. Adopt it; if it already finished, report that now.
        existing = self.api.get("Job", owner.namespace, job["metadata"]["name"])
        log.info("adopted existing Job %s/%s", owner.namespace, job["metadata"]["name"])
        finished = self.finished_stage(existing)
        return [finished] if finished else []

    def finished_stage(self, job: Mapping[str, Any]) -> StageFinished | None:
        """StageFinished for a finished Job (reading its pod's termination message), else None."""
        outcome = job_outcome(job)
        if outcome is None:
            return None
        succeeded, result = read_job_result(self.api, job)
        labels = job["metadata"].get("labels") or {}
        self._observe_duration(job, labels.get(STAGE_LABEL, "unknown"), succeeded)
        return StageFinished(labels.get("modelops.dev/stage-id", ""), succeeded, result)

    def cancel_stage(self, owner: Owner, stage_id: str) -> None:
        self.api.delete("Job", owner.namespace, job_name(owner, stage_id))
        self.api.delete("ConfigMap", owner.namespace, stage_config_map_name(owner, stage_id))

    def cleanup_stage(self, owner: Owner, stage_id: str) -> None:
        """A finished stage's config is no longer needed; the Job stays until its TTL for `kubectl logs`."""
        try:
            self.api.delete("ConfigMap", owner.namespace, stage_config_map_name(owner, stage_id))
        except ApiError as error:
            log.warning("could not delete stage config %s: %s", stage_id, error)

    def _observe_duration(self, job: Mapping[str, Any], stage: str, succeeded: bool) -> None:
        start = (job.get("status") or {}).get("startTime")
        if not start:
            return
        started = calendar.timegm(time.strptime(start, "%Y-%m-%dT%H:%M:%SZ"))
        self.metrics.stage_duration.labels(stage, "succeeded" if succeeded else "failed").observe(
            max(0.0, time.time() - started))

    # ------------------------------------------------------------ serving
    def apply_serving(self, owner: Owner, spec: Mapping[str, Any], action: ApplyServing) -> ServingObserved:
        """Stable Deployment + Service always; canary Deployment + Service only while a canary runs."""
        deployments = [self._apply_track(owner, spec, "stable", action.stable)]
        self._create_if_missing(build_service(owner, "stable"))
        if action.canary is not None:
            deployments.append(self._apply_track(owner, spec, "canary", action.canary))
            self._create_if_missing(build_service(owner, "canary"))
        else:
            for kind, name in (("Deployment", serving_object_name(owner, "canary")),
                               ("Service", serving_object_name(owner, "canary")),
                               ("ConfigMap", serving_config_map_name(owner, "canary"))):
                self.api.delete(kind, owner.namespace, name)
        return ServingObserved(ready_versions(deployments))

    def _apply_track(self, owner: Owner, spec: Mapping[str, Any], track: str, version: int) -> dict[str, Any]:
        config_map = build_serving_config_map(owner, spec, track, version)
        self._create_or_update(config_map, {"metadata": {"labels": config_map["metadata"]["labels"],
                                                         "annotations": config_map["metadata"]["annotations"]},
                                            "data": config_map["data"]})
        deployment = build_serving_deployment(owner, spec, track, version, self.settings.serving_poll_seconds,
                                              self.settings.scratch_path)
        return self._create_or_update(deployment, {"metadata": {"labels": deployment["metadata"]["labels"]},
                                                   "spec": deployment["spec"]})

    def observe_serving(self, owner: Owner) -> ServingObserved:
        """What serves now: versions of the serving Deployments that are fully rolled out and ready."""
        deployments = self.api.list("Deployment", owner.namespace,
                                    {DEPLOYMENT_LABEL: owner.name, STAGE_LABEL: "serve"})
        return ServingObserved(ready_versions(deployments))

    # ------------------------------------------------------------ retention
    def delete_version(self, owner: Owner, spec: Mapping[str, Any], action: DeleteVersion) -> None:
        """The operator never mounts the model volume; a prune Job removes the directory (idempotent,
        deterministic name, so a replayed action adopts the Job it already made)."""
        job = build_prune_job(owner, spec, action.version,
                              ttl_seconds=self.settings.job_ttl_seconds, scratch_path=self.settings.scratch_path)
        self._create_if_missing(job)

    # ------------------------------------------------------------ helpers
    def _create_or_update(self, obj: Mapping[str, Any], patch: Mapping[str, Any]) -> dict[str, Any]:
        try:
            return self.api.create(obj)
        except ApiError as error:
            if error.status != 409:
                raise
        meta = obj["metadata"]
        return self.api.patch(obj["kind"], meta["namespace"], meta["name"], patch,
                              content_type="application/strategic-merge-patch+json")

    def _create_if_missing(self, obj: Mapping[str, Any]) -> None:
        try:
            self.api.create(obj)
        except ApiError as error:
            if error.status != 409:
                raise


def ready_versions(deployments: list[Mapping[str, Any]]) -> frozenset[int]:
    return frozenset(v for d in deployments if deployment_rolled_out(d) and (v := deployment_version(d)) is not None)
