"""Degradation policy: small named checks over one evaluation, cert-manager style.

Each check returns a list of (reason, message) for the rules it finds violated; the first one names the
Degraded condition's reason, all of them are recorded in status.lastEvaluation.reasons. Quality rules and
the drift rule stay separate reasons with separate policies (onDegradation, onDrift).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from modelops.api.metrics import worsening
from modelops.lifecycle import reasons


@dataclass(frozen=True)
class EvaluationInput:
    """Everything the checks need, gathered once."""

    rules: list[Mapping[str, Any]]
    metrics: Mapping[str, float]
    validation_metrics: Mapping[str, float]
    drift: Mapping[str, Any]  # the judged drift (lifecycle.drift.judge_drift), verdict included
    drift_policy: str = "Retrain"
    reference_label: str = "at validation"  # where validation_metrics were measured (see live_reference)


Violation = tuple[str, str]
DRIFT_REASON = reasons.DATA_DRIFT


def _below_floor(inp: EvaluationInput) -> list[Violation]:
    """Guards an absolute floor on a higher-is-better metric (e.g. accuracy >= 0.75)."""
    out = []
    for rule in inp.rules:
        value = inp.metrics.get(rule["metric"])
        if rule.get("min") is not None and value is not None and value < rule["min"]:
            out.append((reasons.QUALITY_BELOW_FLOOR, f"{rule['metric']} {value:.4g} < min {rule['min']:.4g}"))
    return out


def _above_ceiling(inp: EvaluationInput) -> list[Violation]:
    """Guards an absolute ceiling on a lower-is-better metric (e.g. rmse <= 2.0)."""
    out = []
    for rule in inp.rules:
        value = inp.metrics.get(rule["metric"])
        if rule.get("max") is not None and value is not None and value > rule["max"]:
            out.append((reasons.QUALITY_ABOVE_CEILING, f"{rule['metric']} {value:.4g} > max {rule['max']:.4g}"))
    return out


def _dropped_from_validation(inp: EvaluationInput) -> list[Violation]:
    """Guards the live value against the version's own validation value, in the metric's direction."""
    out = []
    for rule in inp.rules:
        metric, allowed = rule["metric"], rule.get("maxDrop")
        value, reference = inp.metrics.get(metric), inp.validation_metrics.get(metric)
        if allowed is None or value is None or reference is None:
            continue
        drop = worsening(metric, value, reference)
        if drop > allowed:
            out.append((reasons.QUALITY_DROPPED, f"{metric} {value:.4g} is {drop:.4g} worse than {inp.reference_label} "
                                          f"({reference:.4g}; allowed {allowed:.4g})"))
    return out


def _input_drift(inp: EvaluationInput) -> list[Violation]:
    """Guards the inputs: the dataset drifted at the corrected level, persistently enough to be confirmed
    (drift.confirm, lifecycle/drift_confirmation.py), unless onDrift is Ignore."""
    if (inp.drift_policy == "Ignore" or inp.drift.get("verdict") != "Drifted"
            or not inp.drift.get("confirmed", True)):
        return []
    return [(DRIFT_REASON, f"data drift: {inp.drift.get('message', 'features drifted')}")]


CHECKS: tuple[Callable[[EvaluationInput], list[Violation]], ...] = (
    _below_floor, _above_ceiling, _dropped_from_validation, _input_drift,
)


def violations(inp: EvaluationInput) -> list[Violation]:
    return [v for check in CHECKS for v in check(inp)]


HELD_OUT_LABEL = "on its held-out recent rows"


def live_reference(record: Mapping[str, Any]) -> tuple[Mapping[str, float], str]:
    """What `maxDrop` compares a version's live value with, and where it was measured: a version made for
    the recent world (a degradation retrain) was measured on held-out monitoring rows it never saw, a
    truer reference for live data than the static validation set; any other version, its validation."""
    recent = record.get("recentMetrics")
    if recent:
        return recent, HELD_OUT_LABEL
    return record.get("metrics", {}), "at validation"


def causes(found: list[Violation]) -> list[str]:
    """Which kinds of rule fired (Quality, Drift): each kind has its own policy."""
    kinds = {"Drift" if reason == DRIFT_REASON else "Quality" for reason, _ in found}
    return [k for k in ("Quality", "Drift") if k in kinds]


def drift_policy(monitoring: Mapping[str, Any]) -> str:
    """monitoring.onDrift, defaulting to onDegradation (what drift did before it had its own policy)."""
    return str(monitoring.get("onDrift") or monitoring.get("onDegradation", "Retrain"))


def retrain_wanted(monitoring: Mapping[str, Any], evaluation: Mapping[str, Any] | None) -> bool:
    """Whether the latest evaluation's fired rules ask for retraining under their own policies."""
    if not evaluation or not evaluation.get("degraded"):
        return False
    fired = evaluation.get("causes")
    if fired is None:  # recorded before evaluations said which kind fired
        return monitoring.get("onDegradation", "Retrain") == "Retrain"
    return (("Quality" in fired and monitoring.get("onDegradation", "Retrain") == "Retrain")
            or ("Drift" in fired and drift_policy(monitoring) == "Retrain"))
