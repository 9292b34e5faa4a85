"""Read a finished stage Job's result: the worker's JSON summary from its pod's termination message."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from modelops.kube.client import KubeApi
from modelops.workloads.result import read_result

JOB_NAME_LABEL = "batch.kubernetes.io/job-name"
LEGACY_JOB_NAME_LABEL = "job-name"


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
            return condition.get("reason") or "JobFailed", condition.get("message") or "the Job failed"
    return "JobFailed", "the Job failed"


def _terminated(pod: Mapping[str, Any]) -> Mapping[str, Any] | None:
    for status in (pod.get("status") or {}).get("containerStatuses") or []:
        terminated = (status.get("state") or {}).get("terminated")
        if terminated:
            return terminated
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
    message = latest_termination_message(pods, succeeded)
    if not succeeded:
        reason, detail = _failed_condition(job)
        if message:
            try:
                result = read_result(message)
                if "error" in result:
                    return False, result
            except ValueError:
                pass
            detail = f"{detail}; last output: {message.strip()[-500:]}"
        return False, {"error": detail, "reason": reason}
    if not message:
        return False, {"error": f"Job {meta['name']} completed but its pod left no termination message",
                       "reason": "NoResult"}
    try:
        result = read_result(message)
    except ValueError as error:
        return False, {"error": f"Job {meta['name']}: {error}", "reason": "UnreadableResult"}
    return "error" not in result, result
