"""Evaluations that keep failing count: after `monitoring.consecutiveErrorLimit` in a row, they act.

A failed evaluation (the stage errored: serving unreachable, data unreadable, a malformed result) says
nothing about the model, so one alone changes nothing. But silence for ever hides a broken loop: the
stable version stayed Ready with Degraded=False while twenty evaluations failed, and a canary was never
promoted nor rolled back. As Argo Rollouts' AnalysisRun `consecutiveErrorLimit` (errors are counted apart
from rule violations, and too many in a row make the analysis an error):

- the serving version: Degraded=Unknown, Ready=False and Stalled=True, all with reason
  EvaluationsFailing; it keeps serving and is evaluated on schedule as before;
- a canary: rolled back (its record Rejected, CanaryEvaluationsFailed); the stable version keeps serving.

The count belongs to one version (status.evaluationFailures) and ends with the first evaluation of it
that returns a result, judged or inconclusive.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from modelops.lifecycle import reasons
from modelops.lifecycle.draft import Draft

MAX_ERROR_TEXT = 500


def on_evaluation_failed(d: Draft, version: int, message: str) -> None:
    """Count one failed evaluation of `version`; at the limit, roll a canary back or warn once."""
    limit = d.view.monitoring.consecutive_error_limit
    entry = d.status.get("evaluationFailures") or {}
    count = int(entry.get("consecutive", 0)) + 1 if entry.get("version") == version else 1
    d.status["evaluationFailures"] = {"version": version, "consecutive": count, "limit": limit,
                                      "lastError": message[:MAX_ERROR_TEXT]}
    if count != limit:
        return  # below the limit nothing acts; beyond it the condition is already set (one Event, not one each)
    text = f"the last {count} evaluations of version {version} failed (monitoring.consecutiveErrorLimit {limit})"
    if version == d.status.get("canaryVersion"):
        _roll_back_canary(d, version, f"{text}: {message}")
        return
    d.event("Warning", reasons.EVALUATIONS_FAILING, f"{text}: {message}; it keeps serving")


def _roll_back_canary(d: Draft, version: int, why: str) -> None:
    """As a degraded canary (stage_results._judge_canary): rejected, so desired serving drops it."""
    record = d.record(version)
    d.status.pop("evaluationFailures", None)
    if record is None:
        return
    record.update(state="Rejected", reason=reasons.CANARY_EVALUATIONS_FAILED, message=why)
    if d.status.get("candidateVersion") == version:
        d.status.pop("candidateVersion", None)
    d.event("Warning", reasons.CANARY_ROLLED_BACK, f"version {version} rolled back: {why}")


def on_evaluation_returned(d: Draft, version: int) -> None:
    """An evaluation of `version` that returned a result (judged or inconclusive) ends its count."""
    if (d.status.get("evaluationFailures") or {}).get("version") == version:
        d.status.pop("evaluationFailures", None)


def forget_stale(d: Draft) -> None:
    """A count of a version that no longer serves nor is a canary means nothing any more."""
    entry = d.status.get("evaluationFailures")
    if entry and entry.get("version") not in (d.status.get("servingVersion"), d.status.get("canaryVersion")):
        d.status.pop("evaluationFailures", None)


def failing(status: Mapping[str, Any]) -> dict[str, Any] | None:
    """The serving version's failure count once it reached its limit, else None."""
    entry = status.get("evaluationFailures") or {}
    if not entry or entry.get("version") != status.get("servingVersion"):
        return None
    return dict(entry) if int(entry.get("consecutive", 0)) >= int(entry.get("limit", 1)) else None


def failing_text(entry: Mapping[str, Any]) -> str:
    return (f"version {entry['version']} keeps serving, but its last {entry['consecutive']} evaluations failed "
            f"(monitoring.consecutiveErrorLimit {entry['limit']}): {entry.get('lastError', '')}; the next "
            "evaluation that returns a result clears this")
