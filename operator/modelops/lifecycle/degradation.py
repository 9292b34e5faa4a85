"""Degradation policy: small named checks over one evaluation, cert-manager style.

Each check returns a list of (reason, message) for the rules it finds violated; the first one names the
Degraded condition's reason, all of them are recorded in status.lastEvaluation.reasons.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from modelops.api.metrics import worsening


@dataclass(frozen=True)
class EvaluationInput:
    """Everything the checks need, gathered once."""

    rules: list[Mapping[str, Any]]
    drift_rule: Mapping[str, Any]
    metrics: Mapping[str, float]
    validation_metrics: Mapping[str, float]
    drift: Mapping[str, Any]


Violation = tuple[str, str]


def _below_floor(inp: EvaluationInput) -> list[Violation]:
    """Guards an absolute floor on a higher-is-better metric (e.g. accuracy >= 0.75)."""
    out = []
    for rule in inp.rules:
        value = inp.metrics.get(rule["metric"])
        if rule.get("min") is not None and value is not None and value < rule["min"]:
            out.append(("QualityBelowFloor", f"{rule['metric']} {value:.4g} < min {rule['min']:.4g}"))
    return out


def _above_ceiling(inp: EvaluationInput) -> list[Violation]:
    """Guards an absolute ceiling on a lower-is-better metric (e.g. rmse <= 2.0)."""
    out = []
    for rule in inp.rules:
        value = inp.metrics.get(rule["metric"])
        if rule.get("max") is not None and value is not None and value > rule["max"]:
            out.append(("QualityAboveCeiling", f"{rule['metric']} {value:.4g} > max {rule['max']:.4g}"))
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
            out.append(("QualityDropped", f"{metric} {value:.4g} is {drop:.4g} worse than at validation "
                                          f"({reference:.4g}; allowed {allowed:.4g})"))
    return out


def _input_drift(inp: EvaluationInput) -> list[Violation]:
    """Guards the inputs: any feature drifting past the threshold (PSI or KS) against the training profile."""
    if not inp.drift_rule.get("enabled", True) or not inp.drift:
        return []
    metric = inp.drift_rule.get("metric", "psi")
    value = inp.drift.get("maxPsi" if metric == "psi" else "maxKs")
    threshold = inp.drift_rule.get("threshold", 0.25)
    if value is None or value <= threshold:
        return []
    feature = inp.drift.get("driftedFeature", "?")
    return [("DataDrift", f"feature {feature} drifted: {metric} {value:.3g} > {threshold:.3g}")]


CHECKS: tuple[Callable[[EvaluationInput], list[Violation]], ...] = (
    _below_floor, _above_ceiling, _dropped_from_validation, _input_drift,
)


def violations(inp: EvaluationInput) -> list[Violation]:
    return [v for check in CHECKS for v in check(inp)]
