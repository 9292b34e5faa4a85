"""A typed, defaulted view of the spec fields the lifecycle core and the builders decide on.

Defaults are stated ONCE, in the schema (api/spec_schema.py): `view(spec)` runs the schema's own
defaulting (`normalize`) over the spec and then only reads, never supplies, a value, so a default can
never again be re-typed as `.get(key, default)` in a rule module and drift from the CRD's. Durations are
parsed to seconds here too. Optional fields without a default stay None.

    v = view(spec)
    v.monitoring.drift.threshold, v.retraining.cooldown_seconds, v.serving.pinned_version
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from modelops.api.durations import parse_duration
from modelops.api.schema import Node, normalize
from modelops.api.spec_schema import SPEC


@dataclass(frozen=True)
class DriftRuleView:
    enabled: bool
    alpha: float
    correction: str
    min_drifted_share: float
    min_rows: int
    metric: str
    threshold: float
    confirm_required: int
    confirm_window: int


@dataclass(frozen=True)
class MonitoringView:
    interval_seconds: float
    dataset: Mapping[str, Any] | None
    degradation: tuple[Mapping[str, Any], ...]
    drift: DriftRuleView
    on_degradation: str
    on_drift: str | None  # unset: the same as on_degradation (lifecycle/retrain_policy.py)
    consecutive_error_limit: int


@dataclass(frozen=True)
class RetrainingView:
    dataset: Mapping[str, Any] | None
    include: tuple[str, ...] | None
    max_rows: int | None
    monitoring_weight: float
    min_improvement: float
    max_recipes: int
    change_gates_on: str
    challenge_alpha: float
    holdout_fraction: float
    holdout_min_rows: int
    max_attempts: int
    cooldown_seconds: float
    retune: bool


@dataclass(frozen=True)
class ServingView:
    pinned_version: int | None
    replicas: int
    canary_enabled: bool
    canary_replicas: int


@dataclass(frozen=True)
class ValidationView:
    dataset: Mapping[str, Any]
    gates: tuple[Mapping[str, Any], ...]
    floor_policy: str


@dataclass(frozen=True)
class TuningView:
    enabled: bool
    algorithm: str
    max_trials: int
    parallelism: int
    objective: str
    trial_deadline_seconds: float
    port: int


@dataclass(frozen=True)
class TrainingView:
    dataset: Mapping[str, Any]
    workers: int
    distribution_port: int


@dataclass(frozen=True)
class RetentionView:
    keep_versions: int
    keep_records: int


@dataclass(frozen=True)
class SpecView:
    task: str
    training: TrainingView
    monitoring: MonitoringView
    retraining: RetrainingView
    serving: ServingView
    validation: ValidationView
    tuning: TuningView
    retention: RetentionView


def defaulted(spec: Mapping[str, Any], node: Node = SPEC) -> dict[str, Any]:
    """The spec with every schema default applied (what the API server stores after defaulting)."""
    errors: list[str] = []
    return normalize(node, dict(spec), "spec", errors) or {}


def drift_rule(raw: Mapping[str, Any]) -> DriftRuleView:
    """monitoring.drift alone (e.g. a rule written in a test), defaulted by its own schema node."""
    node = SPEC.properties["monitoring"].properties["drift"]  # type: ignore[attr-defined]
    return _drift(defaulted(raw, node))


def _drift(raw: Mapping[str, Any]) -> DriftRuleView:
    confirm = raw["confirm"]
    return DriftRuleView(bool(raw["enabled"]), float(raw["alpha"]), str(raw["correction"]),
                         float(raw["minDriftedShare"]), int(raw["minRows"]), str(raw["metric"]),
                         float(raw["threshold"]), int(confirm["required"]), int(confirm["window"]))


def _monitoring(raw: Mapping[str, Any]) -> MonitoringView:
    return MonitoringView(parse_duration(raw["interval"]), raw.get("dataset"), tuple(raw["degradation"]),
                          _drift(raw["drift"]), str(raw["onDegradation"]), raw.get("onDrift"),
                          int(raw["consecutiveErrorLimit"]))


def _retraining(raw: Mapping[str, Any]) -> RetrainingView:
    include = raw.get("include")
    return RetrainingView(raw.get("dataset"), tuple(include) if include else None, raw.get("maxRows"),
                          float(raw["monitoringWeight"]), float(raw["minImprovement"]), int(raw["maxRecipes"]),
                          str(raw["changeGatesOn"]), float(raw["challengeAlpha"]), float(raw["holdout"]["fraction"]),
                          int(raw["holdout"]["minRows"]), int(raw["maxAttempts"]), parse_duration(raw["cooldown"]),
                          bool(raw["retune"]))


def _tuning(raw: Mapping[str, Any]) -> TuningView:
    return TuningView(bool(raw["enabled"]), str(raw["algorithm"]), int(raw["maxTrials"]), int(raw["parallelism"]),
                      str(raw["objective"]), parse_duration(raw["trialDeadline"]), int(raw["port"]))


def view(spec: Mapping[str, Any]) -> SpecView:
    """The typed view of a (validated) spec; fields it leaves out take the schema's defaults."""
    full = defaulted(spec)
    serving, validation, retention = full["serving"], full["validation"], full["retention"]
    return SpecView(
        task=str(full["task"]),
        training=TrainingView(full["training"]["dataset"], int(full["training"]["workers"]),
                              int(full["training"]["distribution"]["port"])),
        monitoring=_monitoring(full["monitoring"]),
        retraining=_retraining(full["retraining"]),
        serving=ServingView(serving.get("pinnedVersion"), int(serving["replicas"]),
                            bool(serving["canary"]["enabled"]), int(serving["canary"]["replicas"])),
        validation=ValidationView(validation["dataset"], tuple(validation["gates"]), str(validation["floorPolicy"])),
        tuning=_tuning(full["training"]["tuning"]),
        retention=RetentionView(int(retention["keepVersions"]), int(retention["keepRecords"])),
    )
