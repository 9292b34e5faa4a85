"""Rules a schema cannot express: metric/task fit, bound consistency, cross-field requirements.

Each rule is a small function that appends `path: problem` messages; `semantic_errors` runs them all so a
user sees every mistake in one go.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from modelops.api.metrics import METRICS_BY_TASK, higher_is_better

Spec = Mapping[str, Any]


def _metric_fits_task(metric: str, task: str, path: str, errors: list[str]) -> None:
    allowed = METRICS_BY_TASK.get(task, ())
    if allowed and metric not in allowed:
        errors.append(f'{path}: metric "{metric}" is not computed for task {task} '
                      f"(expected one of {', '.join(allowed)})")


def _gates(spec: Spec, errors: list[str]) -> None:
    """Every gate names a metric of the task and at least one consistent bound."""
    for i, gate in enumerate(spec.get("validation", {}).get("gates", []) or []):
        path = f"spec.validation.gates[{i}]"
        _metric_fits_task(gate["metric"], spec["task"], f"{path}.metric", errors)
        if all(gate.get(k) is None for k in ("min", "max", "maxRegression")):
            errors.append(f"{path}: needs at least one of min, max or maxRegression")
        lo, hi = gate.get("min"), gate.get("max")
        if lo is not None and hi is not None and lo > hi:
            errors.append(f"{path}.min: {lo:g} is greater than max {hi:g}")


def _degradation_rules(spec: Spec, errors: list[str]) -> None:
    """Exactly one bound per rule, pointing in the metric's bad direction."""
    for i, rule in enumerate(spec.get("monitoring", {}).get("degradation", []) or []):
        path = f"spec.monitoring.degradation[{i}]"
        metric = rule["metric"]
        _metric_fits_task(metric, spec["task"], f"{path}.metric", errors)
        bounds = [k for k in ("min", "max", "maxDrop") if rule.get(k) is not None]
        if len(bounds) != 1:
            errors.append(f"{path}: needs exactly one of min, max or maxDrop (got {len(bounds)})")
            continue
        if metric not in METRICS_BY_TASK.get(spec["task"], ()):
            continue
        if bounds[0] == "min" and not higher_is_better(metric):
            errors.append(f'{path}.min: "{metric}" is lower-is-better; a floor never fires, use max')
        if bounds[0] == "max" and higher_is_better(metric):
            errors.append(f'{path}.max: "{metric}" is higher-is-better; a ceiling never fires, use min')


def _model(spec: Spec, errors: list[str]) -> None:
    """numClasses only makes sense for multiclass; val_loss needs a held-out split."""
    training = spec.get("training", {})
    if training.get("model", {}).get("numClasses") is not None and spec["task"] != "multiclass-classification":
        errors.append("spec.training.model.numClasses: only allowed for task multiclass-classification")
    hyper = training.get("hyperparameters", {})
    early = hyper.get("earlyStopping", {})
    if early.get("enabled") and early.get("monitor") == "val_loss" and not hyper.get("validationSplit"):
        errors.append("spec.training.hyperparameters.earlyStopping.monitor: val_loss needs validationSplit > 0 "
                      "(or monitor: loss)")
    if training.get("command") == []:
        errors.append("spec.training.command: must not be an empty list (omit it to use the worker image)")


def _serving(spec: Spec, errors: list[str]) -> None:
    """A canary needs somewhere to go; a pinned version must be a plausible number."""
    serving = spec.get("serving", {})
    if serving.get("canary", {}).get("enabled") and not spec.get("monitoring", {}).get("dataset"):
        errors.append("spec.serving.canary.enabled: a canary is promoted by an evaluation; "
                      "set spec.monitoring.dataset")


def _drift(spec: Spec, errors: list[str]) -> None:
    """A threshold on a bounded effect size (js, ks: 0..1) above 1 could never be reached."""
    drift = spec.get("monitoring", {}).get("drift", {})
    threshold, metric = drift.get("threshold"), drift.get("metric", "psi")
    if threshold is not None and metric in ("js", "ks") and threshold > 1:
        errors.append(f"spec.monitoring.drift.threshold: {threshold:g} is above 1, the largest {metric} "
                      "possible; no feature could ever drift")


RULES: tuple[Callable[[Spec, list[str]], None], ...] = (_gates, _degradation_rules, _model, _serving, _drift)


def semantic_errors(spec: Spec) -> list[str]:
    errors: list[str] = []
    for rule in RULES:
        rule(spec, errors)
    return errors
