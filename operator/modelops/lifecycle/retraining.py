"""Retraining that heals: bounded degradation episodes, no pointless retrains, champion/challenger.

An episode opens when an evaluation of the serving version violates a rule, and ends only when a
later evaluation passes every rule that opened it: a new version that degrades on the same rule
continues the episode, so `maxAttempts` and `cooldown` really bound it. A retrain whose inputs
(data fingerprints + training spec) equal those of the serving version or of an attempt already made
in this episode would train the same model again: it is not started (`RetrainWouldRepeat`).
"""

from __future__ import annotations

from typing import Any

from modelops.api.metrics import PRIMARY_METRIC, worsening
from modelops.lifecycle import reasons
from modelops.lifecycle.clock import parse_stamp
from modelops.lifecycle.degradation import EvaluationInput, violations
from modelops.lifecycle.draft import Draft
from modelops.lifecycle.gates import TOLERANCE
from modelops.lifecycle.lineage import version_inputs, would_be_inputs

WOULD_REPEAT = reasons.RETRAIN_WOULD_REPEAT
NOT_BETTER, INCONCLUSIVE = reasons.CHALLENGER_NOT_BETTER, reasons.CHALLENGE_INCONCLUSIVE


def episode(d: Draft) -> dict[str, Any]:
    return d.status.setdefault("retrain", {"attempts": 0})


def _violated_metric(d: Draft, evaluation: dict[str, Any], validation_metrics: dict[str, float]) -> str:
    """The metric the challenger must beat the champion on: the first quality rule (spec order) the
    evaluation violated; for a drift-only episode the task's primary metric."""
    for rule in d.view.monitoring.degradation:
        found = violations(EvaluationInput(rules=[rule], metrics=evaluation.get("metrics", {}),
                                           validation_metrics=validation_metrics, drift={}))
        if found:
            return str(rule["metric"])
    return PRIMARY_METRIC[d.spec["task"]]


def track_episode(d: Draft, version: int, found: list[tuple[str, str]], evaluation: dict[str, Any],
                  validation_metrics: dict[str, float]) -> None:
    """Fold one evaluation of the serving version into the episode: open, continue or close it."""
    current = episode(d)
    opened_by = current.get("openedBy")
    if opened_by:
        if any(reason in opened_by for reason, _ in found):
            return  # the rule that opened it is still violated: same episode, attempts keep counting
        d.status["retrain"] = {"attempts": 0}
        d.event("Normal", reasons.RECOVERED, f"version {version} passes the rules that opened the degradation "
                                       f"episode ({', '.join(opened_by)})")
        current = episode(d)
    if found:
        current.update(openedBy=sorted({reason for reason, _ in found}), openedAt=d.now, version=version,
                       metric=_violated_metric(d, evaluation, validation_metrics), attempts=0)


def _repeated_by(d: Draft) -> int | None:
    """The version a retrain now would duplicate: the serving one, or an attempt of this episode."""
    wanted = would_be_inputs(d.spec, d.status.get("lastEvaluation") or {})
    if wanted is None:
        return None
    serving = d.status.get("servingVersion")
    opened = episode(d).get("openedAt") or ""
    for record in reversed(d.status.get("versions", [])):
        in_episode = record.get("trigger") == "Degradation" and str(record.get("createdAt", "")) >= opened
        if (record["version"] == serving or in_episode) and version_inputs(record) == wanted:
            return int(record["version"])
    return None


def retrain_blocked(d: Draft) -> bool:
    """True when attempts, cooldown or a repeat rule out a retrain now (it records why)."""
    retraining = d.view.retraining
    current = episode(d)
    if current.get("attempts", 0) >= retraining.max_attempts:
        d.fail(reasons.RETRIES_EXHAUSTED, f"{current['attempts']} retraining attempt(s) did not produce a version that "
                                   "passes the violated rules; edit the spec (e.g. data or model) to try again")
        return True
    last = parse_stamp(current.get("lastAttemptTime"))
    cooldown = retraining.cooldown_seconds
    if last is not None and (wait := (last - d.ctx.now).total_seconds() + cooldown) > 0:
        d.requeue.append(wait)
        return True
    # Every attempt rests on its own evidence: after one, wait for an evaluation that read the data anew
    # (what it fingerprints is what the next attempt would read, so the repeat check below is current).
    if int(d.status.get("evaluations", 0)) <= int(current.get("lastAttemptEvaluation", -1)):
        return True
    repeated = _repeated_by(d)
    if repeated is not None:
        if current.get("waiting") != WOULD_REPEAT or current.get("repeats") != repeated:
            current.update(waiting=WOULD_REPEAT, repeats=repeated)
            d.event("Warning", WOULD_REPEAT, f"not retraining: it would read exactly the data and spec "
                                             f"{repeat_subject(d.status, repeated)} was made from; add new "
                                             "labelled data or edit spec.training to retrain")
        return True
    current.pop("waiting", None)
    current.pop("repeats", None)
    return False


def repeat_subject(status: dict[str, Any], version: int) -> str:
    """How a repeated version is named: the serving one, or a rejected candidate of this episode."""
    if version == status.get("servingVersion"):
        return f"version {version} (the serving version)"
    state = next((str(r.get("state", "")).lower() for r in status.get("versions", []) if r["version"] == version),
                 "earlier")
    return f"version {version} (a {state} candidate of this episode)"


def judge_challenge(d: Draft, record: dict[str, Any], result: dict[str, Any]) -> tuple[str, str] | None:
    """Champion/challenger for a degradation retrain: on the monitoring rows NEITHER version was trained on
    (the validate stage leaves the others out), the candidate must beat the serving version by
    `retraining.minImprovement` in the violated rule's metric; fewer unseen rows than
    `retraining.holdout.minRows` cannot tell, so the candidate is not blessed (Inconclusive).
    Returns (reason, message) of the failure, or None when it passed (or no challenge was asked for)."""
    if record.get("trigger") != "Degradation" or not record.get("challengeRequested"):
        return None
    metric = str(episode(d).get("metric") or PRIMARY_METRIC[d.spec["task"]])
    required = d.view.retraining.min_improvement
    challenge = result.get("challenge") or {}
    candidate = (challenge.get("candidate") or {}).get(metric)
    serving = (challenge.get("baseline") or {}).get(metric)
    rows, needed = int(challenge.get("rows") or 0), d.view.retraining.holdout_min_rows
    entry: dict[str, Any] = {"metric": metric, "candidate": candidate, "serving": serving,
                             "minImprovement": required, "rows": rows, "minRows": needed}
    for key in ("totalRows", "excludedRows"):
        if challenge.get(key) is not None:
            entry[key] = challenge[key]
    if rows < needed:
        entry.update(passed=False, improvement=None, verdict="Inconclusive")
        record["challenge"] = entry
        excluded = challenge.get("excludedRows") or {}
        return INCONCLUSIVE, (f"challenge inconclusive: only {rows} monitoring rows neither version was trained on "
                              f"(of {challenge.get('totalRows', rows)}; the candidate learned from "
                              f"{excluded.get('candidate', 0)}, the serving version from {excluded.get('baseline', 0)})"
                              f" < retraining.holdout.minRows {needed}")
    if candidate is None or serving is None:
        entry.update(passed=False, improvement=None, verdict="Failed")
        record["challenge"] = entry
        return NOT_BETTER, f"challenge on the monitoring data: no {metric} came back for both versions"
    improvement = -worsening(metric, float(candidate), float(serving))
    alpha, p_value = d.view.retraining.challenge_alpha, challenge.get("pValue")
    beyond_chance = p_value is None or float(p_value) <= alpha  # a worker that reports no test is not held to one
    passed = improvement >= required - TOLERANCE and beyond_chance
    entry.update(improvement=improvement, passed=passed, verdict="Passed" if passed else "Failed")
    if p_value is not None:
        entry.update(pValue=float(p_value), alpha=alpha)
    record["challenge"] = entry
    if passed:
        return None
    shown = f"on {rows} unseen monitoring rows {metric} {float(candidate):.4g} vs serving {float(serving):.4g}"
    if improvement < required - TOLERANCE:
        return NOT_BETTER, f"{shown}: improvement {improvement:.4g} < required {required:.4g}"
    return NOT_BETTER, (f"{shown}: not better than chance (paired test p {float(p_value):.3g} > "
                        f"retraining.challengeAlpha {alpha:g})")
