"""Execute the lifecycle core's actions against the API server, and report what they revealed.

Every action is idempotent: deterministic names plus create-or-adopt mean a retried or replayed action
never makes a second Job. `execute` returns follow-up observations (a Job found already finished,
serving already ready) so the caller can feed them straight back into the core.
"""

from __future__ import annotations

import logging
import time
import urllib.parse
from collections.abc import Callable, Mapping
from typing import Any

from modelops.api.document import ModelDeploymentDoc
from modelops.contract.reasons import JOB_REJECTED, SERVING_REJECTED
from modelops.contract.stage_config import build_stage_config, gang_port, stage_workers
from modelops.kube.builders.common import (
    STAGE_ID_LABEL,
    STAGE_LABEL,
    TRACK_LABEL,
    VERSION_LABEL,
    Owner,
    serving_selector,
)
from modelops.kube.builders.config import (
    build_serving_config_map,
    referenced_config_map,
    serving_object_name,
)
from modelops.kube.builders.gang import build_gang_service, gang_service_name
from modelops.kube.builders.jobs import build_prune_job, build_stage_job, job_name, prune_attempt
from modelops.kube.builders.pods import apply_pod_template
from modelops.kube.builders.resilience import serving_policies
from modelops.kube.builders.serving import (
    GRPC_PORT,
    REST_PORT,
    build_service,
    build_serving_deployment,
    deployment_rolled_out,
    deployment_version,
)
from modelops.kube.client import ApiError, KubeApi
from modelops.kube.errors import Refused, is_refusal, refused_object
from modelops.kube.events import EventRecorder
from modelops.kube.metrics import OperatorMetrics
from modelops.kube.results import job_outcome, owned_by, read_job_result
from modelops.kube.settings import OperatorSettings
from modelops.lifecycle.clock import parse_stamp
from modelops.lifecycle.messages import (
    Action,
    ApplyServing,
    CancelStage,
    DeleteVersion,
    EmitEvent,
    Observation,
    ServingObserved,
    StageFinished,
    StartStage,
    VersionPruned,
)
from modelops.lifecycle.records import find_version

log = logging.getLogger(__name__)


class Executor:
    def __init__(self, api: KubeApi, settings: OperatorSettings, metrics: OperatorMetrics) -> None:
        self.api = api
        self.settings = settings
        self.metrics = metrics
        self.events = EventRecorder(api)

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
                self.cancel_stage(owner, action.stage_id, gang=is_gang_stage(doc.spec, status, action.stage_id))
            elif isinstance(action, EmitEvent):
                self.events.post(body, action.type, action.reason, action.message)
            elif isinstance(action, DeleteVersion):
                follow_ups += self.delete_version(owner, doc.spec, action, find_version(status, action.version))
            else:  # a new action type the core grew: fail loudly rather than skip silently
                raise TypeError(f"operator cannot execute action {action!r}")
        return follow_ups

    # ------------------------------------------------------------ stages
    def endpoint_for(self, owner: Owner, track: str | None) -> str:
        """The Service of the track the core chose for an evaluation (the canary's own, or stable)."""
        return self.settings.endpoint_template.format(
            service=serving_object_name(owner, track or "stable"), namespace=owner.namespace, port=REST_PORT,
        )

    def grpc_endpoint_for(self, owner: Owner, track: str | None) -> str:
        """The same Service's gRPC port (8500) as host:port, for evaluation with TensorProtos."""
        url = self.settings.endpoint_template.format(
            service=serving_object_name(owner, track or "stable"), namespace=owner.namespace, port=GRPC_PORT,
        )
        return urllib.parse.urlsplit(url).netloc

    def start_stage(self, owner: Owner, doc: ModelDeploymentDoc, status: Mapping[str, Any],
                    action: StartStage) -> list[Observation]:
        spec = doc.spec
        evaluate = action.stage == "evaluate"
        endpoint = self.endpoint_for(owner, action.track) if evaluate else None
        grpc_endpoint = self.grpc_endpoint_for(owner, action.track) if evaluate else None
        config = build_stage_config(spec, owner.namespace, owner.name, action, spec["storage"]["mountPath"],
                                    endpoint=endpoint, grpc_endpoint=grpc_endpoint,
                                    result_path="/dev/termination-log")
        job = build_stage_job(owner, spec, action.stage, action.version, action.stage_id,
                              ttl_seconds=self.settings.job_ttl_seconds, scratch_path=self.settings.scratch_path,
                              config=config)  # the config rides in the Job: one write per stage
        try:
            if stage_workers(spec, action.stage) > 1:  # the pods' hostnames exist once their Service does
                service = build_gang_service(owner, action.stage, action.version, action.stage_id,
                                             job["metadata"]["name"], gang_port(spec, action.stage))
                self._create_or_update(service, {"spec": {"ports": service["spec"]["ports"]}})
            return self._create_or_adopt_job(owner, job, self.finished_stage)
        except ApiError as error:
            if not is_refusal(error):
                raise
            # Asking again would be refused again: the stage failed, with the API server's own words.
            log.warning("%s/%s: %s refused: %s", owner.namespace, owner.name, action.stage_id, error)
            message = f"the API server refused the {action.stage} Job: {error.server_message}"
            return [StageFinished(action.stage_id, False, {"error": message, "reason": JOB_REJECTED})]

    def finished_stage(self, job: Mapping[str, Any]) -> StageFinished | None:
        """StageFinished for a finished Job (reading its pod's termination message), else None."""
        outcome = job_outcome(job)
        if outcome is None:
            return None
        succeeded, result = read_job_result(self.api, job)
        labels = job["metadata"].get("labels") or {}
        self._observe_duration(job, labels.get(STAGE_LABEL, "unknown"), succeeded)
        return StageFinished(labels.get(STAGE_ID_LABEL, ""), succeeded, result)

    def cancel_stage(self, owner: Owner, stage_id: str, gang: bool = True) -> None:
        self.api.delete("Job", owner.namespace, job_name(owner, stage_id))
        self.cleanup_stage(owner, stage_id, gang)

    def cleanup_stage(self, owner: Owner, stage_id: str, gang: bool = True) -> None:
        """A finished gang's headless Service is no longer needed; the Job (which carries its own config)
        stays until its TTL for `kubectl logs`. A single-pod stage has nothing to delete: no request."""
        if not gang:
            return
        try:
            self.api.delete("Service", owner.namespace, gang_service_name(job_name(owner, stage_id)))
        except ApiError as error:
            log.warning("could not delete the Service of stage %s: %s", stage_id, error)

    def _observe_duration(self, job: Mapping[str, Any], stage: str, succeeded: bool) -> None:
        start = (job.get("status") or {}).get("startTime")
        if not start:
            return
        started = parse_stamp(start)
        if started is None:
            return
        self.metrics.stage_duration.labels(stage, "succeeded" if succeeded else "failed").observe(
            max(0.0, time.time() - started.timestamp()))

    # ------------------------------------------------------------ serving
    def apply_serving(self, owner: Owner, spec: Mapping[str, Any], action: ApplyServing) -> ServingObserved:
        """Stable Deployment + Service always; canary Deployment + Service only while a canary runs.
        Create-or-patch every child, so an apply also repairs a child that was deleted or edited.
        A child the API server refuses (4xx) raises Refused: applying it again cannot help."""
        try:
            return self._apply_serving(owner, spec, action)
        except ApiError as error:
            if not is_refusal(error) or error.request is None:
                raise
            kind, name = error.request
            raise Refused(SERVING_REJECTED, refused_object(error, kind, name)) from error

    def _apply_serving(self, owner: Owner, spec: Mapping[str, Any], action: ApplyServing) -> ServingObserved:
        deployments = [self._apply_track(owner, spec, "stable", action.stable)]
        self._apply_service(owner, "stable")
        if action.canary is not None:
            deployments.append(self._apply_track(owner, spec, "canary", action.canary))
            self._apply_service(owner, "canary")
        else:
            for kind in ("Deployment", "Service"):
                self.api.delete(kind, owner.namespace, serving_object_name(owner, "canary"))
            for config_map in self.api.list("ConfigMap", owner.namespace, serving_selector(owner, "canary")):
                self.api.delete("ConfigMap", owner.namespace, config_map["metadata"]["name"])
        self._apply_serving_policies(owner, spec, canary=action.canary is not None)
        return ServingObserved(ready_versions(deployments), {"stable": action.stable, "canary": action.canary})

    def _apply_serving_policies(self, owner: Owner, spec: Mapping[str, Any], canary: bool) -> None:
        """Autoscalers and the disruption budget (builders/resilience.py): apply the wanted, drop the rest."""
        desired, stale = serving_policies(owner, spec, canary)
        for obj in desired:
            self._create_or_update(obj, {"metadata": {"labels": obj["metadata"]["labels"]}, "spec": obj["spec"]})
        for kind, name in stale:
            self.api.delete(kind, owner.namespace, name)

    def _apply_service(self, owner: Owner, track: str) -> None:
        service = build_service(owner, track)
        self._create_or_update(service, {"spec": service["spec"]})

    def _apply_track(self, owner: Owner, spec: Mapping[str, Any], track: str, version: int) -> dict[str, Any]:
        """The version's immutable ConfigMap first (its name is its content, so one that exists is
        already right), then the Deployment that mounts it."""
        config_map = build_serving_config_map(owner, spec, track, version)
        try:
            self.api.create(config_map)
        except ApiError as error:
            if error.status != 409:
                raise
        deployment = build_serving_deployment(owner, spec, track, version, self.settings.scratch_path)
        pod = deployment["spec"]["template"]["spec"]
        apply_pod_template(pod, pod["containers"][0], spec["serving"].get("podTemplate"))
        return self._create_or_update(deployment, {"metadata": {"labels": deployment["metadata"]["labels"]},
                                                   "spec": deployment["spec"]})

    def observe_serving(self, owner: Owner) -> ServingObserved:
        """What serves now (versions of fully rolled-out, ready Deployments) and what the serving
        children that exist pin; a track missing its Deployment, Service or ConfigMap pins nothing.
        Once a track has rolled out, the ConfigMaps of the versions it left are deleted."""
        selector = serving_selector(owner)
        deployments = self.api.list("Deployment", owner.namespace, selector)
        services = {s["metadata"]["name"] for s in self.api.list("Service", owner.namespace, selector)}
        config_maps = {c["metadata"]["name"]: c for c in self.api.list("ConfigMap", owner.namespace, selector)}
        by_name = {d["metadata"]["name"]: d for d in deployments}
        self._delete_left_configs(owner, by_name, config_maps)
        pinned: dict[str, int | None] = {}
        for track in ("stable", "canary"):
            name = serving_object_name(owner, track)
            deployment = by_name.get(name)
            config_map = config_maps.get(referenced_config_map(deployment) or "") if deployment else None
            version = deployment_version(deployment) if deployment is not None else None
            complete = name in services and config_map is not None and version is not None \
                and deployment_version(config_map) == version
            if track == "stable" and not complete:
                return ServingObserved(ready_versions(deployments), None)
            pinned[track] = version if complete else None
            if track == "canary" and not complete and (deployment is not None or name in services):
                return ServingObserved(ready_versions(deployments), None)  # half a canary: re-apply
        return ServingObserved(ready_versions(deployments), pinned)

    def _delete_left_configs(self, owner: Owner, deployments: Mapping[str, Mapping[str, Any]],
                             config_maps: dict[str, Mapping[str, Any]]) -> None:
        """A track's ConfigMaps other than the one its Deployment mounts, once no old pod can still need
        them (the rollout is complete). A track without a Deployment keeps its objects: the next apply
        decides. Deleted entries leave `config_maps`."""
        for track in ("stable", "canary"):
            deployment = deployments.get(serving_object_name(owner, track))
            if deployment is None or not deployment_rolled_out(deployment):
                continue
            mounted = referenced_config_map(deployment)
            for name, config_map in list(config_maps.items()):
                if (config_map["metadata"].get("labels") or {}).get(TRACK_LABEL) == track and name != mounted:
                    self.api.delete("ConfigMap", owner.namespace, name)
                    del config_maps[name]

    # ------------------------------------------------------------ retention
    def delete_version(self, owner: Owner, spec: Mapping[str, Any], action: DeleteVersion,
                       record: Mapping[str, Any] | None = None) -> list[Observation]:
        """The operator never mounts the model volume; a prune Job removes the directory (idempotent,
        deterministic name per attempt, so a re-issued action adopts the Job it already made and
        reports it if it already finished)."""
        job = build_prune_job(owner, spec, action.version, action.attempt, ttl_seconds=self.settings.job_ttl_seconds,
                              scratch_path=self.settings.scratch_path, record=record)
        try:
            return self._create_or_adopt_job(owner, job, self.finished_prune)
        except ApiError as error:
            if not is_refusal(error):
                raise
            message = f"{JOB_REJECTED}: the API server refused the prune Job: {error.server_message}"
            return [VersionPruned(action.version, False, message, action.attempt)]

    def finished_prune(self, job: Mapping[str, Any]) -> VersionPruned | None:
        if job_outcome(job) is None:
            return None
        succeeded, result = read_job_result(self.api, job)
        labels = job["metadata"].get("labels") or {}
        version = int(labels.get(VERSION_LABEL, 0))
        return VersionPruned(version, succeeded, "" if succeeded else str(result.get("error", "")),
                             prune_attempt(str(labels.get(STAGE_ID_LABEL, ""))))

    # ------------------------------------------------------------ helpers
    def _create_or_adopt_job(self, owner: Owner, job: Mapping[str, Any],
                             report: Callable[[Mapping[str, Any]], Observation | None]) -> list[Observation]:
        """Create the Job; if it exists (a retry or a restart) adopt it, and report it if it already finished.
        Only our own: a Job of the same name owned by a deleted predecessor of this ModelDeployment (same
        name, other UID; the garbage collector has not got to it, or it was orphaned) is deleted and
        made again, so its result is never taken for ours."""
        meta = job["metadata"]
        for _ in range(2):
            try:
                self.api.create(job)
                return []
            except ApiError as error:
                if error.status != 409:
                    raise
            existing = self.api.get_or_none("Job", meta["namespace"], meta["name"])
            if existing is None:
                continue  # gone in between: create it now
            if owned_by(existing, owner.uid):
                log.info("adopted existing Job %s/%s", meta["namespace"], meta["name"])
                finished = report(existing)
                return [finished] if finished is not None else []
            log.warning("Job %s/%s belongs to an earlier ModelDeployment %s (uid %s); deleting it",
                        meta["namespace"], meta["name"], owner.name, _owner_uids(existing))
            self.api.delete("Job", meta["namespace"], meta["name"],
                            uid=str(existing["metadata"].get("uid") or "") or None)
        raise ApiError(409, f"Job {meta['namespace']}/{meta['name']} of an earlier owner is still being deleted")

    def _create_or_update(self, obj: Mapping[str, Any], patch: Mapping[str, Any]) -> dict[str, Any]:
        try:
            return self.api.create(obj)
        except ApiError as error:
            if error.status != 409:
                raise
        meta = obj["metadata"]
        return self.api.patch(obj["kind"], meta["namespace"], meta["name"], patch,
                              content_type="application/strategic-merge-patch+json")


def _owner_uids(obj: Mapping[str, Any]) -> str:
    return ",".join(str(ref.get("uid")) for ref in obj["metadata"].get("ownerReferences") or []) or "none"


def is_gang_stage(spec: Mapping[str, Any], status: Mapping[str, Any], stage_id: str) -> bool:
    """Whether `stage_id` (the stage in flight in `status`) runs as a gang with a headless Service to clean
    up; an id that is not the one in flight is unknown, so assume it does."""
    stage = status.get("stage") or {}
    return stage.get("id") != stage_id or stage_workers(spec, str(stage.get("name", ""))) > 1


def ready_versions(deployments: list[Mapping[str, Any]]) -> frozenset[int]:
    return frozenset(v for d in deployments if deployment_rolled_out(d) and (v := deployment_version(d)) is not None)
