"""What a finished stage means for the version it worked on."""

from __future__ import annotations

from typing import Any

from modelops.lifecycle.degradation import EvaluationInput, causes, drift_policy, violations
from modelops.lifecycle.draft import Draft
from modelops.lifecycle.drift import judge_drift
from modelops.lifecycle.gates import Gate, evaluate_gates
from modelops.lifecycle.lineage import inputs_hash
from modelops.lifecycle.model import StageFinished
from modelops.lifecycle.retraining import judge_challenge, track_episode
from modelops.lifecycle.tuning import on_tune_finished


def _error_text(result: dict[str, Any]) -> tuple[str, str]:
    return str(result.get("reason") or "StageFailed"), str(result.get("error") or "the stage failed without a result")


def on_stage_finished(d: Draft, obs: StageFinished) -> None:
    stage = d.in_flight()
    if stage is None or stage["id"] != obs.stage_id:
        return  # stale or repeated result: already handled, or superseded
    d.status.pop("stage", None)
    result = dict(obs.result)
    handler = {"tune": _tune_finished, "train": _train_finished, "validate": _validate_finished,
               "evaluate": _evaluate_finished}
    handler[stage["name"]](d, stage, obs.succeeded and "error" not in result, result)


def _version_failed(d: Draft, record: dict[str, Any], stage: str, result: dict[str, Any]) -> None:
    """One failure, one Warning event: `fail` posts it when the loop stops, else it is posted here."""
    reason, message = _error_text(result)
    record.update(state="Failed", reason=reason, message=f"{stage} failed: {message}")
    if d.status.get("candidateVersion") == record["version"]:
        d.status.pop("candidateVersion", None)
    event_reason, text = f"{stage.capitalize()}Failed", f"version {record['version']} {stage} failed: {message}"
    if record.get("trigger") != "Degradation":
        d.fail(event_reason, text)
    else:
        d.event("Warning", event_reason, text)


def _tune_finished(d: Draft, stage: dict[str, Any], ok: bool, result: dict[str, Any]) -> None:
    record = d.record(stage["version"])
    if record is None:
        return
    if not ok:
        _version_failed(d, record, "tuning", result)
        return
    on_tune_finished(d, record, result)


def _train_finished(d: Draft, stage: dict[str, Any], ok: bool, result: dict[str, Any]) -> None:
    version = stage["version"]
    record = d.record(version)
    if record is None:
        return
    if not ok:
        _version_failed(d, record, "training", result)
        return
    record.update(state="Trained", trainedAt=d.now, reason="Trained", message="training finished",
                  trainMetrics={k: float(v) for k, v in (result.get("metrics") or {}).items()})
    lineage = record.setdefault("lineage", {})
    data = [dict(f) for f in (result.get("lineage") or {}).get("data") or []][:8]
    lineage["data"] = data
    if (digest := inputs_hash(data, str(lineage.get("trainingSpecHash", "")))) is not None and data:
        lineage["inputsHash"] = digest
    d.event("Normal", "Trained", f"version {version} trained")


def _validate_finished(d: Draft, stage: dict[str, Any], ok: bool, result: dict[str, Any]) -> None:
    version = stage["version"]
    record = d.record(version)
    if record is None:
        return
    if not ok:
        _version_failed(d, record, "validation", result)
        return
    metrics = {k: float(v) for k, v in (result.get("metrics") or {}).items()}
    baseline = result.get("baselineMetrics")
    baseline = {k: float(v) for k, v in baseline.items()} if baseline else None
    asked = stage.get("baselineVersion")
    # The core decides with the spec's gates, so a worker can never bless against rules it did not know;
    # a baseline it asked for and did not get fails the change gates instead of skipping them.
    gates = [Gate.from_dict(g) for g in d.spec["validation"].get("gates", [])]
    outcome = evaluate_gates(gates, metrics, baseline, baseline_version=asked)
    record.update(metrics=metrics, validatedAt=d.now, gates=[r.to_dict() for r in outcome.results],
                  message=outcome.message)
    if result.get("lineage"):
        record.setdefault("lineage", {})["validation"] = dict(result["lineage"])
    if asked is not None:
        record["baselineVersion"] = int(asked)
    if baseline:
        record["baselineMetrics"] = baseline
    challenge_failure = judge_challenge(d, record, result) if outcome.passed else None
    if outcome.passed and challenge_failure is None:
        record.update(state="Blessed", reason="GatesPassed")
        d.event("Normal", "Validated", f"version {version}: {outcome.message}")
        return
    if challenge_failure is not None:
        record.update(state="Rejected", reason="ChallengerNotBetter", message=challenge_failure)
    else:
        record.update(state="Rejected", reason="GateFailed")
    d.status.pop("candidateVersion", None)
    d.event("Warning", "CandidateRejected", f"version {version} rejected: {record['message']}")


def _evaluate_finished(d: Draft, stage: dict[str, Any], ok: bool, result: dict[str, Any]) -> None:
    version = stage["version"]
    d.status["evaluations"] = int(d.status.get("evaluations", 0)) + 1
    if not ok:
        _, message = _error_text(result)
        d.status["lastEvaluation"] = {"time": d.now, "version": version, "error": message}
        d.event("Warning", "EvaluationFailed", f"version {version} evaluation failed: {message}")
        return
    record = d.record(version) or {}
    monitoring = d.spec.get("monitoring", {})
    drift = judge_drift(monitoring.get("drift", {}), result.get("drift") or {})
    metrics = {k: float(v) for k, v in (result.get("metrics") or {}).items()}
    found = violations(EvaluationInput(
        rules=list(monitoring.get("degradation", [])), metrics=metrics,
        validation_metrics=record.get("metrics", {}), drift=drift, drift_policy=drift_policy(monitoring),
    ))
    d.status["lastEvaluation"] = {
        "time": d.now, "version": version, "rows": int(result.get("rows", 0)), "metrics": metrics,
        "drift": drift, "degraded": bool(found), "reasons": [m for _, m in found],
        "reason": found[0][0] if found else "Healthy", "causes": causes(found),
    }
    if isinstance(result.get("lineage"), dict):
        lineage = result["lineage"]
        if lineage.get("data"):
            d.status["lastEvaluation"]["data"] = dict(lineage["data"])
        d.status["lastEvaluation"]["retrainInputs"] = [dict(f) for f in lineage.get("retrainInputs") or []][:8]
    if version == d.status.get("canaryVersion"):
        _judge_canary(d, version, found)
    else:
        if found:
            d.event("Warning", "ModelDegraded", f"version {version}: {'; '.join(m for _, m in found)}")
        if version == d.status.get("servingVersion"):
            track_episode(d, version, found, d.status["lastEvaluation"], record.get("metrics", {}))


def _judge_canary(d: Draft, version: int, found: list[tuple[str, str]]) -> None:
    """The post-rollout evaluation promotes a healthy canary and rolls back a degraded one."""
    record = d.record(version)
    if record is None:
        return
    if found:
        record.update(state="Rejected", reason="CanaryDegraded", message="; ".join(m for _, m in found))
        d.status.pop("candidateVersion", None)
        d.event("Warning", "CanaryRolledBack", f"version {version} rolled back: {record['message']}")
    else:
        record["canaryPassed"] = True
        d.event("Normal", "CanaryPromoted", f"version {version} passed its post-rollout evaluation")
