"""Degradation policy: small named checks over one evaluation, cert-manager style.

Every bound is judged by the one comparison gates use (lifecycle/bounds.py): the same tolerance, and a
rule whose metric is missing or not finite is violated (`QualityUnmeasured`), never silently passed.
Each check returns a list of (reason, message) for the rules it finds violated; the first one names the
Degraded condition's reason, all of them are recorded in status.lastEvaluation.reasons. Quality rules and
the drift rule stay separate reasons with separate policies (onDegradation, onDrift).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from modelops.lifecycle import reasons
from modelops.lifecycle.bounds import NOT_FINITE, NOT_PRODUCED, BoundCheck, check_max, check_min, check_worsening
from modelops.lifecycle.retrain_policy import DRIFT, QUALITY


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


def _unmeasured(check: BoundCheck, rule: str) -> Violation:
    """A rule that cannot be checked fails, as a gate does (lifecycle/bounds.py)."""
    why = {NOT_PRODUCED: "not produced by the evaluation", NOT_FINITE: "not finite"}.get(
        check.unmeasured, check.unmeasured)
    return reasons.QUALITY_UNMEASURED, f"{check.metric} ({rule}): {why}"


# An absolute bound of a rule: the spec key, its one comparison (bounds.py), the reason and how it reads.
_ABSOLUTE_BOUNDS = (("min", check_min, reasons.QUALITY_BELOW_FLOOR, "<"),  # e.g. accuracy >= 0.75
                    ("max", check_max, reasons.QUALITY_ABOVE_CEILING, ">"))  # e.g. rmse <= 2.0


def _outside_bounds(inp: EvaluationInput) -> list[Violation]:
    """Guards the absolute floors and ceilings of the rules, floors first."""
    out = []
    for key, check_bound, reason, sign in _ABSOLUTE_BOUNDS:
        for rule in inp.rules:
            if rule.get(key) is None:
                continue
            check = check_bound(inp.metrics, rule["metric"], float(rule[key]))
            if check.unmeasured:
                out.append(_unmeasured(check, f"{key} {check.bound:.4g}"))
            elif not check.passed:
                out.append((reason, f"{check.metric} {check.value:.4g} {sign} {key} {check.bound:.4g}"))
    return out


def _dropped_from_validation(inp: EvaluationInput) -> list[Violation]:
    """Guards the live value against the version's own validation value, in the metric's direction."""
    out = []
    for rule in inp.rules:
        if rule.get("maxDrop") is None:
            continue
        check = check_worsening(inp.metrics, inp.validation_metrics, rule["metric"], float(rule["maxDrop"]))
        if check.unmeasured:
            out.append(_unmeasured(check, f"maxDrop {check.bound:.4g} {inp.reference_label}"))
        elif not check.passed:
            out.append((reasons.QUALITY_DROPPED,
                        f"{check.metric} {check.value:.4g} is {check.worse_by:.4g} worse than {inp.reference_label} "
                        f"({check.reference:.4g}; allowed {check.bound:.4g})"))
    return out


def _input_drift(inp: EvaluationInput) -> list[Violation]:
    """Guards the inputs: the dataset drifted at the corrected level, persistently enough to be confirmed
    (drift.confirm, lifecycle/drift_confirmation.py), unless onDrift is Ignore."""
    if (inp.drift_policy == "Ignore" or inp.drift.get("verdict") != "Drifted"
            or not inp.drift.get("confirmed", True)):
        return []
    return [(DRIFT_REASON, f"data drift: {inp.drift.get('message', 'features drifted')}")]


CHECKS: tuple[Callable[[EvaluationInput], list[Violation]], ...] = (
    _outside_bounds, _dropped_from_validation, _input_drift,
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
    """Which kinds of rule fired (Quality, Drift): each kind has its own policy (lifecycle/retrain_policy.py)."""
    kinds = {DRIFT if reason == DRIFT_REASON else QUALITY for reason, _ in found}
    return [k for k in (QUALITY, DRIFT) if k in kinds]
