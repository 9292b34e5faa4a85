"""What a finished stage means for the version it worked on."""

from __future__ import annotations

from typing import Any

from modelops.contract.reasons import COMMAND_NOT_FOUND, JOB_REJECTED
from modelops.lifecycle.degradation import (
    HELD_OUT_LABEL,
    EvaluationInput,
    causes,
    drift_policy,
    live_reference,
    violations,
)
from modelops.lifecycle.draft import Draft
from modelops.lifecycle.drift import judge_drift
from modelops.lifecycle.drift_confirmation import confirm_rule, confirmation, record_vote
from modelops.lifecycle.floors import floor_policy, waived_floors
from modelops.lifecycle.gates import Gate
from modelops.lifecycle.lineage import holdout_min_rows, inputs_hash
from modelops.lifecycle.messages import StageFinished
from modelops.lifecycle.recent_gates import judge_gates
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
    # A run that could not even start (refused Job, missing command) stalls under that reason: it names the fix.
    event_reason = reason if reason in (JOB_REJECTED, COMMAND_NOT_FOUND) else f"{stage.capitalize()}Failed"
    text = f"version {record['version']} {stage} failed: {message}"
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
    if isinstance(result.get("recipes"), dict):  # which data recipe won on the held-out rows
        record["recipes"] = dict(result["recipes"])
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
    challenge = result.get("challenge") if record.get("trigger") == "Degradation" else None
    where = str(d.spec.get("retraining", {}).get("changeGatesOn", "recent"))
    outcome = judge_gates(gates, metrics, baseline, asked, challenge, where, holdout_min_rows(d.spec))
    record.update(metrics=metrics, validatedAt=d.now, gates=[r.to_dict() for r in outcome.results],
                  message=outcome.message)
    if result.get("lineage"):
        record.setdefault("lineage", {})["validation"] = dict(result["lineage"])
    if asked is not None:
        record["baselineVersion"] = int(asked)
    if baseline:
        record["baselineMetrics"] = baseline
    unmet = None if outcome.passed else waived_floors(outcome.results, baseline, *floor_policy(d.spec))
    passed = outcome.passed or unmet is not None
    challenge_failure = judge_challenge(d, record, result) if passed else None
    if passed and challenge_failure is None:
        record.update(state="Blessed", reason="GatesPassed")
        recent = (result.get("challenge") or {}).get("candidate") if record.get("challenge") else None
        if recent:  # measured on held-out monitoring rows it never saw: its reference for live values
            record["recentMetrics"] = {k: float(v) for k, v in recent.items()}
        if unmet:  # better beats perfect: it replaces a serving version that misses the same floors
            record.update(reason="BeatsServingBelowFloor", floorsUnmet=unmet,
                          message=f"{outcome.message}; blessed anyway: it beats serving version {asked} on the "
                                  f"floors both miss ({'; '.join(unmet)})")
        d.event("Normal", "Validated", f"version {version}: {record['message']}")
        return
    if challenge_failure is not None:
        record.update(state="Rejected", reason=challenge_failure[0], message=challenge_failure[1])
    else:
        record.update(state="Rejected", reason="GateFailed")
    d.status.pop("candidateVersion", None)
    d.event("Warning", "CandidateRejected", f"version {version} rejected: {record['message']}")


def _too_few_unseen(d: Draft, version: int, result: dict[str, Any]) -> str | None:
    """Why an evaluation cannot judge: it left out rows the version was trained on and too few remain."""
    trained_on = int((result.get("excludedRows") or {}).get("trainedOn") or 0)
    rows, needed = int(result.get("rows", 0)), holdout_min_rows(d.spec)
    if trained_on == 0 or rows >= needed:
        return None
    total = int(result.get("totalRows") or rows + trained_on)
    return (f"only {rows} of {total} monitoring rows are unseen by version {version} ({trained_on} were trained on) "
            f"< retraining.holdout.minRows {needed}: no rule is judged until new labelled rows arrive")


def _confirm_drift(d: Draft, version: int, drift: dict[str, Any], data_hash: str | None) -> dict[str, Any]:
    """Count a judged drift verdict toward confirmation (k of the last n evaluations on distinct data)."""
    if drift.get("verdict") not in ("Drifted", "NoDrift"):
        return drift
    required, window = confirm_rule(d.spec.get("monitoring", {}).get("drift", {}))
    votes = record_vote(list(d.status.get("driftVotes") or []), version, data_hash,
                        drift["verdict"] == "Drifted", window)
    d.status["driftVotes"] = votes
    confirmed, text = confirmation(votes, required, window)
    if drift["verdict"] != "Drifted":
        return {**drift, "confirmed": False, "confirmation": text}
    message = drift["message"] + ("" if confirmed else f"; not acted on yet: {text}")
    return {**drift, "confirmed": confirmed, "confirmation": text, "message": message}


def _evaluate_finished(d: Draft, stage: dict[str, Any], ok: bool, result: dict[str, Any]) -> None:
    version = stage["version"]
    d.status["evaluations"] = int(d.status.get("evaluations", 0)) + 1
    previous = d.status.get("lastEvaluation") or {}
    if not ok:
        _, message = _error_text(result)
        d.status["lastEvaluation"] = {"time": d.now, "version": version, "stageId": stage["id"], "error": message}
        d.event("Warning", "EvaluationFailed", f"version {version} evaluation failed: {message}")
        return
    record = d.record(version) or {}
    monitoring = d.spec.get("monitoring", {})
    lineage = result.get("lineage") if isinstance(result.get("lineage"), dict) else {}
    data_hash = (lineage.get("data") or {}).get("sha256")
    inconclusive = _too_few_unseen(d, version, result)
    drift = judge_drift(monitoring.get("drift", {}), result.get("drift") or {})
    if inconclusive is None:
        drift = _confirm_drift(d, version, drift, data_hash)
    metrics = {k: float(v) for k, v in (result.get("metrics") or {}).items()}
    reference, label = live_reference(record)
    found = [] if inconclusive else violations(EvaluationInput(
        rules=list(monitoring.get("degradation", [])), metrics=metrics, validation_metrics=reference,
        drift=drift, drift_policy=drift_policy(monitoring), reference_label=label,
    ))
    evaluation: dict[str, Any] = {
        "time": d.now, "version": version, "stageId": stage["id"], "rows": int(result.get("rows", 0)),
        "metrics": metrics, "drift": drift, "degraded": bool(found), "reasons": [m for _, m in found],
        "reason": "Inconclusive" if inconclusive else (found[0][0] if found else "Healthy"),
        "causes": causes(found), "verdict": "Inconclusive" if inconclusive else "Judged",
        "referenceData": "heldOutRecentRows" if label == HELD_OUT_LABEL else "validation",
    }
    if result.get("totalRows") is not None:
        evaluation["totalRows"] = int(result["totalRows"])
    if isinstance(result.get("excludedRows"), dict):
        evaluation["excludedRows"] = {k: int(v) for k, v in result["excludedRows"].items()}
    if inconclusive:
        evaluation["message"] = inconclusive
    d.status["lastEvaluation"] = evaluation
    if lineage:
        if lineage.get("data"):
            evaluation["data"] = dict(lineage["data"])
        evaluation["retrainInputs"] = [dict(f) for f in lineage.get("retrainInputs") or []][:8]
    if inconclusive:
        if previous.get("message") != inconclusive:
            d.event("Normal", "EvaluationInconclusive", f"version {version}: {inconclusive}")
        return  # neither healthy nor degraded: an open episode stays open, a canary stays a canary
    if version == d.status.get("canaryVersion"):
        _judge_canary(d, version, found)
    else:
        # One warning per change of what is wrong, not one per evaluation while nothing changes.
        if found and (previous.get("version") != version or not previous.get("degraded")
                      or previous.get("reason") != found[0][0]):
            d.event("Warning", "ModelDegraded", f"version {version}: {'; '.join(m for _, m in found)}")
        if version == d.status.get("servingVersion"):
            track_episode(d, version, found, d.status["lastEvaluation"], dict(reference))


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
