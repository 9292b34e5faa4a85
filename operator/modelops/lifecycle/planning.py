"""'What happens next' when no stage is running: a chain of small rules, the first that acts wins."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any

from modelops.lifecycle import reasons
from modelops.lifecycle.clock import parse_stamp, stamp
from modelops.lifecycle.conditions import condition_is_true
from modelops.lifecycle.draft import Draft
from modelops.lifecycle.lineage import TRAINING, model_spec_hash, retraining_datasets
from modelops.lifecycle.messages import StartStage
from modelops.lifecycle.records import next_version_number, training_hash
from modelops.lifecycle.retrain_policy import may_retrain, retrain_wanted
from modelops.lifecycle.retraining import episode, retrain_blocked
from modelops.lifecycle.rollout import rollout_complete
from modelops.lifecycle.tuning import reused_values, search_started_text, search_wanted


def _datasets(d: Draft, trigger: str) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """What a version learns from: the training data, or for a degradation retrain the retraining inputs."""
    if trigger == "Degradation":
        return retraining_datasets(d.view)
    return {**d.view.training.dataset, "role": TRAINING}, []


def _start_training(d: Draft, trigger: str) -> None:
    """A new version: it searches hyperparameters first when tuning asks for it, else trains right away."""
    version = next_version_number(d.status)
    d.status["latestVersion"] = version
    d.status["candidateVersion"] = version
    d.status["trainingHash"] = training_hash(d.spec)
    record: dict[str, Any] = {
        "version": version, "state": "Training", "trigger": trigger, "generation": d.ctx.generation,
        "createdAt": d.now, "reason": "Training", "message": f"training started ({trigger})",
        "lineage": {"trainingSpecHash": model_spec_hash(d.spec)},
    }
    d.status.setdefault("versions", []).append(record)
    dataset, extra = _datasets(d, trigger)
    if search_wanted(d, trigger):
        text = search_started_text(d.spec, version)
        record.update(state="Tuning", reason=reasons.TUNING, message=f"{text} ({trigger})")
        d.event("Normal", reasons.TUNING_STARTED, text)
        d.start_stage(StartStage("tune", version, f"tune-v{version}", dataset, extra_datasets=tuple(extra)))
        return
    reused = reused_values(d)
    if reused is not None:
        record["tuning"] = reused
    _start_train_stage(d, record, dataset, extra)


def _start_train_stage(d: Draft, record: dict[str, Any], dataset: dict[str, Any],
                       extra: list[dict[str, Any]]) -> None:
    """Train `record`'s version, with the values its search (or a reused one) chose in place of the spec's."""
    version, tuning = record["version"], record.get("tuning") or {}
    values = dict(tuning.get("hyperparameters") or {}) or None
    tuned_by = int(tuning.get("fromVersion", version)) if values else None
    d.start_stage(StartStage("train", version, f"train-v{version}", dataset, extra_datasets=tuple(extra),
                             hyperparameters=values, tuned_by=tuned_by))


def _train_tuned_candidate(d: Draft) -> bool:
    """Guards the step after the search: a Tuned candidate trains with the best trial's values."""
    record = d.record(d.status.get("candidateVersion"))
    if record is None or record["state"] != "Tuned":
        return False
    record.update(state="Training", reason=reasons.TRAINING, message="training with the tuned hyperparameters")
    dataset, extra = _datasets(d, str(record.get("trigger", "Initial")))
    _start_train_stage(d, record, dataset, extra)
    return True


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
    """Guards the gate: a trained candidate is validated against whatever serves now, and a degradation
    retrain also against the serving version on the monitoring data that revealed the problem."""
    record = d.record(d.status.get("candidateVersion"))
    if record is None or record["state"] != "Trained":
        return False
    record.update(state="Validating", reason=reasons.VALIDATING, message="validation started")
    baseline = d.status.get("servingVersion")
    challenge = None
    if record.get("trigger") == "Degradation" and baseline is not None:
        challenge = d.view.monitoring.dataset
        record["challengeRequested"] = challenge is not None
    validation = {k: v for k, v in d.spec["validation"]["dataset"].items() if k != "lastRows"}
    if d.spec["validation"]["dataset"].get("lastRows"):  # a window: the newest rows of an appended file
        validation["maxRows"] = int(d.spec["validation"]["dataset"]["lastRows"])
    d.start_stage(StartStage("validate", record["version"], f"validate-v{record['version']}",
                             validation, baseline_version=baseline,
                             challenge_dataset=dict(challenge) if challenge else None))
    return True


def _retrain_when_degraded(d: Draft) -> bool:
    """Guards recovery: the serving version is degraded by a rule whose policy (onDegradation for quality,
    onDrift for drift) is Retrain, and attempts, cooldown and 'would it train anything new' allow it."""
    if (not retrain_wanted(d.view.monitoring, d.status.get("lastEvaluation"))
            or not condition_is_true(d.status, "Degraded")
            or d.status.get("candidateVersion") is not None or d.status.get("failure")
            or d.view.serving.pinned_version is not None):
        return False
    if retrain_blocked(d):
        return bool(d.status.get("failure"))
    current = episode(d)
    current.update(attempts=current.get("attempts", 0) + 1, lastAttemptTime=d.now,
                   lastAttemptEvaluation=int(d.status.get("evaluations", 0)),
                   reason=(d.status.get("lastEvaluation") or {}).get("reason", reasons.DEGRADED))
    _start_training(d, "Degradation")
    return True


def _evaluation_target(d: Draft) -> int | None:
    return d.status.get("canaryVersion") or d.status.get("servingVersion")


def _evaluate_when_due(d: Draft) -> bool:
    """Guards the schedule: the serving (or canary) version is evaluated every monitoring.interval."""
    monitoring = d.view.monitoring
    target = _evaluation_target(d)
    # Never while a rollout is under way: the outgoing version is about to be unloaded.
    if (target is None or not monitoring.dataset or not d.status.get("servingReady", True)
            or not rollout_complete(d)):
        d.status.pop("nextEvaluationTime", None)
        return False
    record = d.record(target) or {}
    last = d.status.get("lastEvaluation") or {}
    anchors = [parse_stamp(record.get("servedAt")), parse_stamp(last.get("time") if last.get("version") == target
                                                                else None)]
    anchor = max((a for a in anchors if a is not None), default=d.ctx.now)
    due = anchor + timedelta(seconds=monitoring.interval_seconds)
    d.status["nextEvaluationTime"] = stamp(due)
    if due > d.ctx.now:
        d.requeue.append((due - d.ctx.now).total_seconds())
        return False
    number = int(d.status.get("evaluations", 0)) + 1
    track = "canary" if target == d.status.get("canaryVersion") else "stable"
    fingerprint = (retraining_datasets(d.view)[0],) if may_retrain(monitoring) else ()
    d.start_stage(StartStage("evaluate", target, f"evaluate-v{target}-e{number}", monitoring.dataset,
                             track=track, fingerprint=fingerprint))
    return True


NEXT_STEPS: tuple[Callable[[Draft], bool], ...] = (
    _train_first_version,
    _train_after_spec_change,
    _train_tuned_candidate,
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
