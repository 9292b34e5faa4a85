"""Derive phase, conditions, message and the printer-column metric from the records, after every decision.

Phase is computed, never stored as a transition of its own, so it cannot disagree with the records.
"""

from __future__ import annotations

from typing import Any

from modelops.api.metrics import PRIMARY_METRIC
from modelops.lifecycle.conditions import condition_is_true, set_condition
from modelops.lifecycle.draft import Draft
from modelops.lifecycle.retraining import WOULD_REPEAT
from modelops.lifecycle.rollout import rollout_complete


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
        why = (status.get("lastEvaluation") or {}).get("reasons", ["degraded"])[0]
        if (status.get("retrain") or {}).get("waiting") == WOULD_REPEAT:
            why += "; not retraining: it would repeat the serving version's data and spec"
        return "Degraded", why
    if status.get("servingVersion"):
        pinned = d.spec.get("serving", {}).get("pinnedVersion")
        note = " (pinned)" if pinned else ""
        return "Serving", f"version {status['servingVersion']} serving{note}"
    return "Pending", "waiting for the first version"


def _set_conditions(d: Draft) -> None:
    status, gen, now = d.status, d.ctx.generation, d.now
    latest = _latest(d)
    if latest is not None:
        state = latest["state"]
        trained = None if state == "Training" else not (state == "Failed" and "trainedAt" not in latest)
        set_condition(status, "Trained", trained, "Trained" if trained else state,
                      f"version {latest['version']}: {latest.get('message', state)}", gen, now)
        validated = {"Blessed": True, "Canary": True, "Serving": True, "Retired": True,
                     "Rejected": False}.get(state)
        if state == "Failed" and "trainedAt" in latest:
            validated = False
        set_condition(status, "Validated", validated, latest.get("reason", state),
                      f"version {latest['version']}: {latest.get('message', state)}", gen, now)
    if condition_is_true(status, "Degraded") and (status.get("retrain") or {}).get("waiting") == WOULD_REPEAT:
        reasons = "; ".join((status.get("lastEvaluation") or {}).get("reasons", []))
        set_condition(status, "Degraded", True, WOULD_REPEAT,
                      f"{reasons}; a retrain would read the same data and spec as the serving version: add new "
                      "labelled data or edit spec.training", gen, now)
    serving = status.get("servingVersion")
    available = bool(serving) and status.get("servingReady", True)
    set_condition(status, "Available", available, "VersionAvailable" if available else "NoVersionServing",
                  f"version {serving} is available" if available else "no blessed version serves", gen, now)
    ready = available and not condition_is_true(status, "Degraded") and not status.get("failure") \
        and rollout_complete(d)
    set_condition(status, "Ready", ready, "Ready" if ready else "NotReady", status.get("message", ""), gen, now)


def refresh_degraded(d: Draft) -> None:
    """Degraded follows the latest evaluation of the serving version; a new version starts healthy."""
    status, serving = d.status, d.status.get("servingVersion")
    last = status.get("lastEvaluation") or {}
    if last.get("version") == serving and "error" not in last and not last.get("superseded"):
        degraded = bool(last.get("degraded"))
        set_condition(status, "Degraded", degraded, last.get("reason", "Healthy"),
                      "; ".join(last.get("reasons", [])) or f"version {serving} healthy", d.ctx.generation, d.now)
    elif last.get("superseded") or not last:
        set_condition(status, "Degraded", False, "NewVersionServing" if last else "NoEvaluation",
                      "no evaluation of the serving version yet", d.ctx.generation, d.now)


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
    if phase != previous_phase:
        warning = phase in ("Failed", "Rejected", "Degraded")
        d.event("Warning" if warning else "Normal", phase, message)
