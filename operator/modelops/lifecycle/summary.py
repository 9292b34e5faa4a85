"""Derive phase, conditions, message and the printer-column metric from the records, after every decision.

Phase is computed, never stored as a transition of its own, so it cannot disagree with the records.
"""

from __future__ import annotations

from typing import Any

from modelops.api.metrics import PRIMARY_METRIC
from modelops.lifecycle import reasons
from modelops.lifecycle.conditions import condition_is_true, set_condition
from modelops.lifecycle.draft import Draft
from modelops.lifecycle.evaluation_failures import failing, failing_text, forget_stale
from modelops.lifecycle.messages import EmitEvent
from modelops.lifecycle.progress import set_progress_conditions
from modelops.lifecycle.retraining import WOULD_REPEAT, repeat_subject
from modelops.lifecycle.rollout import rollout_complete
from modelops.lifecycle.texts import (
    ConditionText,
    available_condition,
    degraded_condition,
    ready_condition,
    trained_condition,
    validated_condition,
    would_repeat_condition,
)
from modelops.lifecycle.tuning import search_started_text


def _latest(d: Draft) -> dict[str, Any] | None:
    versions = d.status.get("versions") or []
    return versions[-1] if versions else None


def derive_phase(d: Draft) -> tuple[str, str]:
    status = d.status
    failure = status.get("failure")
    if failure:
        return "Failed", failure["message"]
    stage = d.in_flight()
    if stage is not None:
        record = d.record(stage["version"]) or {}
        if stage["name"] == "tune":
            return "Tuning", search_started_text(d.spec, stage["version"])
        if stage["name"] == "train":
            retraining = record.get("trigger") == "Degradation"
            return ("Retraining" if retraining else "Training"), f"training version {stage['version']}"
        if stage["name"] == "validate":
            return "Validating", f"validating version {stage['version']}"
    if not rollout_complete(d):
        rollout = status.get("rollout", {})
        return "Deploying", f"rolling out version {rollout.get('canary') or rollout.get('stable')}"
    latest = _latest(d)
    if latest is not None and latest["state"] == "Rejected" and status.get("candidateVersion") is None:
        held = status.get("servingVersion")
        keep = f"; version {held} keeps serving" if held else ""
        return "Rejected", f"version {latest['version']} rejected: {latest.get('message', '')}{keep}"
    if condition_is_true(status, "Degraded"):
        degraded = next((c for c in status.get("conditions", []) if c["type"] == "Degraded"), {})
        why = ((status.get("lastEvaluation") or {}).get("reasons") or [str(degraded.get("reason", "degraded"))])[0]
        if (status.get("retrain") or {}).get("waiting") == WOULD_REPEAT:
            why += f"; not retraining: it would repeat the data and spec of {_repeat_subject(status)}"
        return "Degraded", f"version {status.get('servingVersion')} degraded: {why}"
    if status.get("servingVersion"):
        if (failures := failing(status)) is not None:
            return "Serving", failing_text(failures)
        pinned = d.view.serving.pinned_version
        note = " (pinned)" if pinned else ""
        return "Serving", f"version {status['servingVersion']} is serving{note}"
    return "Pending", "waiting for the first version"


def _repeat_subject(status: dict[str, Any]) -> str:
    repeats = (status.get("retrain") or {}).get("repeats")
    return "the serving version" if repeats is None else repeat_subject(status, int(repeats))


def _set(d: Draft, type_: str, text: ConditionText) -> None:
    set_condition(d.status, type_, *text, d.ctx.generation, d.now)


def _set_conditions(d: Draft) -> None:
    status = d.status
    latest = _latest(d)
    if latest is not None:
        _set(d, "Trained", trained_condition(latest))
        _set(d, "Validated", validated_condition(latest))
    if condition_is_true(status, "Degraded") and (status.get("retrain") or {}).get("waiting") == WOULD_REPEAT:
        _set(d, "Degraded", would_repeat_condition(status.get("servingVersion"), status.get("lastEvaluation") or {},
                                                   WOULD_REPEAT, _repeat_subject(status)))
    serving = status.get("servingVersion")
    available = bool(serving) and status.get("servingReady", True)
    _set(d, "Available", available_condition(serving, available))
    ready = available and not condition_is_true(status, "Degraded") and not status.get("failure") \
        and rollout_complete(d)
    failures = failing(status)
    if ready and failures is not None:  # it answers, but nobody can tell whether its model is still good
        _set(d, "Ready", (False, reasons.EVALUATIONS_FAILING, failing_text(failures)))
    else:
        _set(d, "Ready", ready_condition(ready, serving, status.get("phase", "Pending"), status.get("message", "")))
    set_progress_conditions(d, status.get("phase", "Pending"), status.get("message", ""))


def refresh_degraded(d: Draft) -> None:
    """Degraded follows the latest evaluation of the serving version; a new version starts healthy.
    Evaluations that keep failing make it Unknown, unless the last one that judged found it degraded."""
    forget_stale(d)
    serving = d.status.get("servingVersion")
    text = degraded_condition(d.spec, serving, d.status.get("lastEvaluation") or {},
                              (d.record(serving) or {}).get("floorsUnmet") or ())
    if (failures := failing(d.status)) is not None and not condition_is_true(d.status, "Degraded"):
        text = None, reasons.EVALUATIONS_FAILING, failing_text(failures)
    if text is not None:
        _set(d, "Degraded", text)


def _primary_metric(d: Draft) -> None:
    name = PRIMARY_METRIC[d.spec["task"]]
    record = d.record(d.status.get("servingVersion")) or {}
    value = (record.get("metrics") or {}).get(name)
    if value is not None:
        d.status["primaryMetric"] = f"{name}={value:.4g}"


def summarize(d: Draft, previous_phase: str | None) -> None:
    phase, message = derive_phase(d)
    d.status["phase"], d.status["message"] = phase, message
    _set_conditions(d)
    _primary_metric(d)
    if phase != previous_phase and not _already_reported(d, phase):
        warning = phase in ("Failed", "Rejected", "Degraded")
        d.event("Warning" if warning else "Normal", phase, message)


# Events that already announce a phase: one Event per transition, so the phase is not posted again.
_ANNOUNCED_BY: dict[str, frozenset[str]] = {
    "Tuning": frozenset({reasons.TUNING_STARTED}),
    "Serving": frozenset({reasons.VERSION_SERVING}),
    "Deploying": frozenset({reasons.ROLLING_OUT, reasons.SERVING_REPAIRED}),
    "Rejected": frozenset({reasons.CANDIDATE_REJECTED, reasons.CANARY_ROLLED_BACK}),
    # a retrain that failed returns to Degraded: the failure event is that transition
    "Degraded": frozenset({reasons.MODEL_DEGRADED, WOULD_REPEAT, *reasons.STAGE_FAILURE_EVENT.values()}),
}


def _already_reported(d: Draft, phase: str) -> bool:
    emitted = {a.reason for a in d.actions if isinstance(a, EmitEvent)}
    announcing = set(_ANNOUNCED_BY.get(phase, ()))
    if phase == "Failed" and d.status.get("failure"):
        announcing.add(d.status["failure"]["reason"])
    return bool(emitted & announcing)
