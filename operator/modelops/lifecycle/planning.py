"""'What happens next' when no stage is running: a chain of small rules, the first that acts wins."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta

from modelops.api.durations import parse_duration
from modelops.lifecycle.clock import parse_stamp, stamp
from modelops.lifecycle.conditions import condition_is_true
from modelops.lifecycle.degradation import retrain_wanted
from modelops.lifecycle.draft import Draft
from modelops.lifecycle.model import StartStage
from modelops.lifecycle.records import next_version_number, training_hash
from modelops.lifecycle.rollout import rollout_complete


def _start_training(d: Draft, trigger: str) -> None:
    version = next_version_number(d.status)
    dataset = d.spec["training"]["dataset"]
    if trigger == "Degradation":
        dataset = d.spec.get("retraining", {}).get("dataset") or dataset
    d.status["latestVersion"] = version
    d.status["candidateVersion"] = version
    d.status["trainingHash"] = training_hash(d.spec)
    d.status.setdefault("versions", []).append({
        "version": version, "state": "Training", "trigger": trigger, "generation": d.ctx.generation,
        "createdAt": d.now, "reason": "Training", "message": f"training started ({trigger})",
    })
    d.start_stage(StartStage("train", version, f"train-v{version}", dataset))


def _train_first_version(d: Draft) -> bool:
    """Guards the start: nothing trained yet, so train version 1 (or the next number if all failed)."""
    if d.status.get("versions") or d.status.get("failure"):
        return False
    _start_training(d, "Initial")
    return True


def _train_after_spec_change(d: Draft) -> bool:
    """Guards 'the model definition changed': a new version for the new training spec."""
    recorded = d.status.get("trainingHash")
    if recorded is None or recorded == training_hash(d.spec) or d.status.get("failure"):
        return False
    _start_training(d, "SpecChange")
    return True


def _validate_trained_candidate(d: Draft) -> bool:
    """Guards the gate: a trained candidate is validated against whatever serves now."""
    record = d.record(d.status.get("candidateVersion"))
    if record is None or record["state"] != "Trained":
        return False
    record.update(state="Validating", reason="Validating", message="validation started")
    baseline = d.status.get("servingVersion")
    d.start_stage(StartStage("validate", record["version"], f"validate-v{record['version']}",
                             d.spec["validation"]["dataset"], baseline_version=baseline))
    return True


def _retrain_when_degraded(d: Draft) -> bool:
    """Guards recovery: the serving version is degraded by a rule whose policy (onDegradation for quality,
    onDrift for drift) is Retrain, and attempts and cooldown allow it."""
    monitoring = d.spec.get("monitoring", {})
    if (not retrain_wanted(monitoring, d.status.get("lastEvaluation")) or not condition_is_true(d.status, "Degraded")
            or d.status.get("candidateVersion") is not None or d.status.get("failure")
            or d.spec.get("serving", {}).get("pinnedVersion") is not None):
        return False
    retraining = d.spec.get("retraining", {})
    retrain = d.status.setdefault("retrain", {"attempts": 0})
    if retrain.get("attempts", 0) >= retraining.get("maxAttempts", 3):
        d.fail("RetriesExhausted", f"{retrain['attempts']} retraining attempt(s) did not produce a better version; "
                                   "edit the spec (e.g. data or model) to try again")
        return True
    last = parse_stamp(retrain.get("lastAttemptTime"))
    cooldown = parse_duration(retraining.get("cooldown", "10m"))
    if last is not None and (wait := (last - d.ctx.now).total_seconds() + cooldown) > 0:
        d.requeue.append(wait)
        return False
    retrain.update(attempts=retrain.get("attempts", 0) + 1, lastAttemptTime=d.now,
                   reason=(d.status.get("lastEvaluation") or {}).get("reason", "Degraded"))
    _start_training(d, "Degradation")
    return True


def _evaluation_target(d: Draft) -> int | None:
    return d.status.get("canaryVersion") or d.status.get("servingVersion")


def _evaluate_when_due(d: Draft) -> bool:
    """Guards the schedule: the serving (or canary) version is evaluated every monitoring.interval."""
    monitoring = d.spec.get("monitoring", {})
    target = _evaluation_target(d)
    # Never while a rollout is under way: the outgoing version is about to be unloaded.
    if (target is None or not monitoring.get("dataset") or not d.status.get("servingReady", True)
            or not rollout_complete(d)):
        d.status.pop("nextEvaluationTime", None)
        return False
    record = d.record(target) or {}
    last = d.status.get("lastEvaluation") or {}
    anchors = [parse_stamp(record.get("servedAt")), parse_stamp(last.get("time") if last.get("version") == target
                                                                else None)]
    anchor = max((a for a in anchors if a is not None), default=d.ctx.now)
    due = anchor + timedelta(seconds=parse_duration(monitoring.get("interval", "5m")))
    d.status["nextEvaluationTime"] = stamp(due)
    if due > d.ctx.now:
        d.requeue.append((due - d.ctx.now).total_seconds())
        return False
    number = int(d.status.get("evaluations", 0)) + 1
    d.start_stage(StartStage("evaluate", target, f"evaluate-v{target}-e{number}", monitoring["dataset"]))
    return True


NEXT_STEPS: tuple[Callable[[Draft], bool], ...] = (
    _train_first_version,
    _train_after_spec_change,
    _validate_trained_candidate,
    _retrain_when_degraded,
    _evaluate_when_due,
)


def plan_next_stage(d: Draft) -> None:
    if d.in_flight() is not None:
        return
    for step in NEXT_STEPS:
        if step(d):
            return
