"""Read a finished stage Job's result: the worker's JSON summary from its pod's termination message.

What the result MEANS (success, failure, which reason) is the contract's `stage_outcome`, shared
with the local runtime; this module only finds the text and the Job's own verdict.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from modelops.contract.gang import CHIEF_INDEX
from modelops.contract.reasons import COMMAND_NOT_FOUND, WORKER_FAILED
from modelops.contract.result import stage_outcome
from modelops.kube.client import KubeApi

JOB_NAME_LABEL = "batch.kubernetes.io/job-name"
LEGACY_JOB_NAME_LABEL = "job-name"
COMPLETION_INDEX_ANNOTATION = "batch.kubernetes.io/job-completion-index"


def owned_by(obj: Mapping[str, Any], uid: str) -> bool:
    """Whether `obj` has an owner reference to the object with this UID. Names are reused (a deleted and
    re-created ModelDeployment, a Job deleted and made again under the same name), UIDs never are."""
    return any(ref.get("uid") == uid for ref in (obj.get("metadata") or {}).get("ownerReferences") or [])


def job_outcome(job: Mapping[str, Any]) -> bool | None:
    """True when the Job completed, False when it failed, None while it runs."""
    for condition in (job.get("status") or {}).get("conditions") or []:
        if condition.get("status") != "True":
            continue
        if condition.get("type") == "Complete":
            return True
        if condition.get("type") == "Failed":
            return False
    return None


def _failed_condition(job: Mapping[str, Any]) -> tuple[str, str]:
    for condition in (job.get("status") or {}).get("conditions") or []:
        if condition.get("type") == "Failed" and condition.get("status") == "True":
            return condition.get("reason") or WORKER_FAILED, condition.get("message") or "the Job failed"
    return WORKER_FAILED, "the Job failed"


def _terminated(pod: Mapping[str, Any]) -> Mapping[str, Any] | None:
    for status in (pod.get("status") or {}).get("containerStatuses") or []:
        terminated = (status.get("state") or {}).get("terminated")
        if terminated:
            return terminated
    return None


# What a container runtime reports when the container's command cannot be started (no such file, not
# executable): containerd/CRI-O `StartError`, dockershim `ContainerCannotRun`.
START_ERRORS = frozenset({"StartError", "ContainerCannotRun"})


def start_error(pods: list[Mapping[str, Any]]) -> str | None:
    """The runtime's message when a pod's command could not be started, else None."""
    for pod in pods:
        terminated = _terminated(pod)
        if terminated is not None and terminated.get("reason") in START_ERRORS:
            return str(terminated.get("message") or terminated["reason"])
    return None


def latest_termination_message(pods: list[Mapping[str, Any]], want_success: bool) -> str | None:
    """The message of the most recently finished pod, preferring the exit code matching the Job."""
    finished = [(pod, t) for pod in pods if (t := _terminated(pod)) is not None]
    matching = [(p, t) for p, t in finished if (t.get("exitCode", 1) == 0) == want_success] or finished
    matching.sort(key=lambda item: str(item[1].get("finishedAt") or ""))
    return matching[-1][1].get("message") if matching else None


def read_job_result(api: KubeApi, job: Mapping[str, Any]) -> tuple[bool, dict[str, Any]]:
    """(succeeded, result) of a finished Job. A missing or unreadable message becomes an error result
    that says why, so the lifecycle core records a reason instead of waiting forever."""
    succeeded = bool(job_outcome(job))
    meta = job["metadata"]
    pods = api.list("Pod", meta["namespace"], {JOB_NAME_LABEL: meta["name"]})
    if not pods:
        pods = api.list("Pod", meta["namespace"], {LEGACY_JOB_NAME_LABEL: meta["name"]})
    if meta.get("uid"):  # a predecessor's pods under the same Job name (deleted, not yet collected) are not ours
        pods = [pod for pod in pods if owned_by(pod, meta["uid"])]
    if succeeded and (job.get("spec") or {}).get("completionMode") == "Indexed":
        pods = [p for p in pods if (p["metadata"].get("annotations") or {}).get(COMPLETION_INDEX_ANNOTATION)
                == str(CHIEF_INDEX)]  # only the chief reports; the other workers' summaries are for logs
    message = latest_termination_message(pods, succeeded)
    reason, detail = _failed_condition(job) if not succeeded else (WORKER_FAILED, "")
    if not succeeded and (cannot_start := start_error(pods)) is not None:
        # the same reason the local runtime gives (local/executor/stages.py command_not_found)
        reason, detail = COMMAND_NOT_FOUND, f"its command cannot be run: {cannot_start}"
    return stage_outcome(succeeded, message, f"Job {meta['name']}", failure_reason=reason, failure_detail=detail)
