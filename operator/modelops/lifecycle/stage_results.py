"""What a finished stage means for the version it worked on."""

from __future__ import annotations

from typing import Any

from modelops.lifecycle import reasons
from modelops.lifecycle.degradation import (
    HELD_OUT_LABEL,
    EvaluationInput,
    causes,
    live_reference,
    violations,
)
from modelops.lifecycle.draft import Draft
from modelops.lifecycle.drift import judge_drift
from modelops.lifecycle.drift_confirmation import confirmation, record_vote
from modelops.lifecycle.evaluation_failures import on_evaluation_failed, on_evaluation_returned
from modelops.lifecycle.floors import floor_policy, waived_floors
from modelops.lifecycle.gates import Gate
from modelops.lifecycle.lineage import inputs_hash
from modelops.lifecycle.messages import StageFinished
from modelops.lifecycle.recent_gates import judge_gates
from modelops.lifecycle.results_parser import StageOutcome, finite_only, parse_stage_result
from modelops.lifecycle.retrain_policy import drift_policy
from modelops.lifecycle.retraining import judge_challenge, track_episode
from modelops.lifecycle.schema_rules import drift_with_schema, judge_schema, note_schema, screen_outcome
from modelops.lifecycle.tuning import on_tune_finished


def on_stage_finished(d: Draft, obs: StageFinished) -> None:
    """Fold a finished run into its version; the result is checked first (results_parser), so a malformed
    or non-finite result is a failure with a reason, never an exception."""
    stage = d.in_flight()
    if stage is None or stage["id"] != obs.stage_id:
        return  # stale or repeated result: already handled, or superseded
    d.status.pop("stage", None)
    outcome = parse_stage_result(stage["name"], obs.succeeded, obs.result)
    handler = {"tune": _tune_finished, "train": _train_finished, "validate": _validate_finished,
               "evaluate": _evaluate_finished}
    outcome = screen_outcome(d.spec, stage["name"], outcome)
    handler[stage["name"]](d, stage, outcome)
    note_schema(d, stage, outcome.result)


def _version_failed(d: Draft, record: dict[str, Any], stage: str, outcome: StageOutcome) -> None:
    """One failure, one Warning event: `fail` posts it when the loop stops, else it is posted here."""
    reason, message = outcome.reason, outcome.message
    record.update(state="Failed", reason=reason, message=f"{stage} failed: {message}")
    if d.status.get("candidateVersion") == record["version"]:
        d.status.pop("candidateVersion", None)
    # A run that could not even start (refused Job, missing command) stalls under that reason: it names the fix.
    unstarted = (reasons.JOB_REJECTED, reasons.COMMAND_NOT_FOUND)
    event_reason = reason if reason in unstarted else reasons.STAGE_FAILURE_EVENT[stage]
    text = f"version {record['version']} {stage} failed: {message}"
    if record.get("trigger") != "Degradation":
        d.fail(event_reason, text)
    else:
        d.event("Warning", event_reason, text)


def _tune_finished(d: Draft, stage: dict[str, Any], outcome: StageOutcome) -> None:
    record = d.record(stage["version"])
    if record is None:
        return
    if not outcome.ok:
        _version_failed(d, record, "tuning", outcome)
        return
    result = outcome.result
    on_tune_finished(d, record, result)


def _train_finished(d: Draft, stage: dict[str, Any], outcome: StageOutcome) -> None:
    version = stage["version"]
    record = d.record(version)
    if record is None:
        return
    if not outcome.ok:
        _version_failed(d, record, "training", outcome)
        return
    result = outcome.result
    record.update(state="Trained", trainedAt=d.now, reason=reasons.TRAINED, message="training finished",
                  trainMetrics=result["metrics"])
    lineage = record.setdefault("lineage", {})
    data = result["lineage"]["data"][:8]
    lineage["data"] = data
    if (digest := inputs_hash(data, str(lineage.get("trainingSpecHash", "")))) is not None and data:
        lineage["inputsHash"] = digest
    if isinstance(result.get("recipes"), dict):  # which data recipe won on the held-out rows
        record["recipes"] = dict(result["recipes"])
    d.event("Normal", reasons.TRAINED, f"version {version} trained")


def _validate_finished(d: Draft, stage: dict[str, Any], outcome: StageOutcome) -> None:
    version = stage["version"]
    record = d.record(version)
    if record is None:
        return
    if not outcome.ok:
        _version_failed(d, record, "validation", outcome)
        return
    result = outcome.result
    metrics, baseline = result["metrics"], result["baselineMetrics"]  # NaN where not finite: fails its gate
    asked = stage.get("baselineVersion")
    # The core decides with the spec's gates, so a worker can never bless against rules it did not know;
    # a baseline it asked for and did not get fails the change gates instead of skipping them.
    gates = [Gate.from_dict(g) for g in d.view.validation.gates]
    challenge = result.get("challenge") if record.get("trigger") == "Degradation" else None
    where = d.view.retraining.change_gates_on
    outcome = judge_gates(gates, metrics, baseline, asked, challenge, where, d.view.retraining.holdout_min_rows)
    record.update(metrics=finite_only(metrics), validatedAt=d.now, gates=[r.to_dict() for r in outcome.results],
                  message=outcome.message)
    if result.get("lineage"):
        record.setdefault("lineage", {})["validation"] = dict(result["lineage"])
    if asked is not None:
        record["baselineVersion"] = int(asked)
    if baseline:
        record["baselineMetrics"] = finite_only(baseline)
    unmet = None if outcome.passed else waived_floors(outcome.results, baseline, *floor_policy(d.view))
    passed = outcome.passed or unmet is not None
    challenge_failure = judge_challenge(d, record, result) if passed else None
    if passed and challenge_failure is None:
        record.update(state="Blessed", reason=reasons.GATES_PASSED)
        recent = (result.get("challenge") or {}).get("candidate") if record.get("challenge") else None
        if recent:  # measured on held-out monitoring rows it never saw: its reference for live values
            record["recentMetrics"] = dict(recent)
        if unmet:  # better beats perfect: it replaces a serving version that misses the same floors
            record.update(reason=reasons.BEATS_SERVING_BELOW_FLOOR, floorsUnmet=unmet,
                          message=f"{outcome.message}; blessed anyway: it beats serving version {asked} on the "
                                  f"floors both miss ({'; '.join(unmet)})")
        d.event("Normal", reasons.VALIDATED, f"version {version}: {record['message']}")
        return
    if challenge_failure is not None:
        record.update(state="Rejected", reason=challenge_failure[0], message=challenge_failure[1])
    else:
        record.update(state="Rejected", reason=reasons.GATE_FAILED)
    d.status.pop("candidateVersion", None)
    d.event("Warning", reasons.CANDIDATE_REJECTED, f"version {version} rejected: {record['message']}")


def _too_few_unseen(d: Draft, version: int, result: dict[str, Any]) -> str | None:
    """Why an evaluation cannot judge: it left out rows the version was trained on and too few remain."""
    trained_on = int((result.get("excludedRows") or {}).get("trainedOn") or 0)
    rows, needed = int(result.get("rows", 0)), d.view.retraining.holdout_min_rows
    if trained_on == 0 or rows >= needed:
        return None
    total = int(result.get("totalRows") or rows + trained_on)
    return (f"only {rows} of {total} monitoring rows are unseen by version {version} ({trained_on} were trained on) "
            f"< retraining.holdout.minRows {needed}: no rule is judged until new labelled rows arrive")


def _confirm_drift(d: Draft, version: int, drift: dict[str, Any], data_hash: str | None) -> dict[str, Any]:
    """Count a judged drift verdict toward confirmation (k of the last n evaluations on distinct data)."""
    if drift.get("verdict") not in ("Drifted", "NoDrift"):
        return drift
    required, window = d.view.monitoring.drift.confirm_required, d.view.monitoring.drift.confirm_window
    votes = record_vote(list(d.status.get("driftVotes") or []), version, data_hash,
                        drift["verdict"] == "Drifted", window)
    d.status["driftVotes"] = votes
    confirmed, text = confirmation(votes, required, window)
    if drift["verdict"] != "Drifted":
        return {**drift, "confirmed": False, "confirmation": text}
    message = drift["message"] + ("" if confirmed else f"; not acted on yet: {text}")
    return {**drift, "confirmed": confirmed, "confirmation": text, "message": message}


def _evaluate_finished(d: Draft, stage: dict[str, Any], outcome: StageOutcome) -> None:
    version = stage["version"]
    d.status["evaluations"] = int(d.status.get("evaluations", 0)) + 1
    previous = d.status.get("lastEvaluation") or {}
    if not outcome.ok:
        message = outcome.message
        # A failed run judges nothing: the last judgement of this version stands (its verdict still decides
        # Degraded and retraining), marked with the error; another version's judgement does not carry over.
        judged = {k: v for k, v in previous.items() if k != "error"} if previous.get("version") == version else {}
        d.status["lastEvaluation"] = {**judged, "time": d.now, "version": version, "stageId": stage["id"],
                                      "error": message}
        d.event("Warning", reasons.EVALUATION_FAILED, f"version {version} evaluation failed: {message}")
        on_evaluation_failed(d, version, message)
        return
    on_evaluation_returned(d, version)
    result = outcome.result
    record = d.record(version) or {}
    monitoring = d.view.monitoring
    lineage = result["lineage"]
    data_hash = (lineage.get("data") or {}).get("sha256")
    inconclusive = _too_few_unseen(d, version, result)
    drift = judge_drift(monitoring.drift, result["drift"])
    drift = drift_with_schema(drift, judge_schema(d.spec.get("schemaRules") or {}, result.get("schemaCheck")))
    if inconclusive is None:
        drift = _confirm_drift(d, version, drift, data_hash)
    metrics = result["metrics"]
    reference, label = live_reference(record)
    found = [] if inconclusive else violations(EvaluationInput(
        rules=list(monitoring.degradation), metrics=metrics, validation_metrics=reference,
        drift=drift, drift_policy=drift_policy(monitoring), reference_label=label,
    ))
    evaluation: dict[str, Any] = {
        "time": d.now, "version": version, "stageId": stage["id"], "rows": result["rows"],
        "metrics": finite_only(metrics), "drift": drift, "degraded": bool(found), "reasons": [m for _, m in found],
        "reason": "Inconclusive" if inconclusive else (found[0][0] if found else "Healthy"),
        "causes": causes(found), "verdict": "Inconclusive" if inconclusive else "Judged",
        "referenceData": "heldOutRecentRows" if label == HELD_OUT_LABEL else "validation",
    }
    if result.get("totalRows") is not None:
        evaluation["totalRows"] = result["totalRows"]
    if result.get("excludedRows") is not None:
        evaluation["excludedRows"] = dict(result["excludedRows"])
    if inconclusive:
        evaluation["message"] = inconclusive
    d.status["lastEvaluation"] = evaluation
    if lineage:
        if lineage.get("data"):
            evaluation["data"] = dict(lineage["data"])
        evaluation["retrainInputs"] = lineage["retrainInputs"][:8]
    if inconclusive:
        if previous.get("message") != inconclusive:
            d.event("Normal", reasons.EVALUATION_INCONCLUSIVE, f"version {version}: {inconclusive}")
        return  # neither healthy nor degraded: an open episode stays open, a canary stays a canary
    if version == d.status.get("canaryVersion"):
        _judge_canary(d, version, found)
    else:
        # One warning per change of what is wrong, not one per evaluation while nothing changes.
        if found and (previous.get("version") != version or not previous.get("degraded")
                      or previous.get("reason") != found[0][0]):
            d.event("Warning", reasons.MODEL_DEGRADED, f"version {version}: {'; '.join(m for _, m in found)}")
        if version == d.status.get("servingVersion"):
            track_episode(d, version, found, d.status["lastEvaluation"], dict(reference))


def _judge_canary(d: Draft, version: int, found: list[tuple[str, str]]) -> None:
    """The post-rollout evaluation promotes a healthy canary and rolls back a degraded one."""
    record = d.record(version)
    if record is None:
        return
    if found:
        record.update(state="Rejected", reason=reasons.CANARY_DEGRADED, message="; ".join(m for _, m in found))
        d.status.pop("candidateVersion", None)
        d.event("Warning", reasons.CANARY_ROLLED_BACK, f"version {version} rolled back: {record['message']}")
    else:
        record["canaryPassed"] = True
        d.event("Normal", reasons.CANARY_PROMOTED, f"version {version} passed its post-rollout evaluation")
