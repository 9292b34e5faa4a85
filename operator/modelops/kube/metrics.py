"""Operator metrics on their own Prometheus registry (so nothing global leaks into the endpoint)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, start_http_server

from modelops.api.metrics import UNIT_FAMILY
from modelops.api.status_schema import PHASES

__all__ = ["PHASES", "OperatorMetrics"]


_FAMILIES = {
    "score_ratio": "score between 0 and 1 (accuracy, precision, recall, f1, auc)",
    "loss": "loss (the training objective, in its own unit)",
    "error": "error in the label's unit (rmse, mae)",
    "squared_error": "error in the label's unit squared (mse)",
}


class OperatorMetrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.reconciles = Counter("modelops_reconciles_total", "Reconciles run, by observation kind.",
                                  ["kind"], registry=self.registry)
        self.errors = Counter("modelops_reconcile_errors_total", "Reconciles that raised, by error type.",
                              ["kind", "error"], registry=self.registry)
        self.phase = Gauge("modelops_deployment_phase", "1 for the current phase of each ModelDeployment.",
                           ["namespace", "name", "phase"], registry=self.registry)
        self.serving_version = Gauge("modelops_serving_version", "Version serving with label stable.",
                                     ["namespace", "name"], registry=self.registry)
        # Validation (per version) and live (latest evaluation) metrics, one gauge per unit: a ratio and
        # an RMSE on one axis (or in one alert threshold) would mean nothing.
        self.quality = {family: Gauge(f"modelops_model_{family}", f"Validation {what} of a version.",
                                      ["namespace", "name", "version", "metric"], registry=self.registry)
                        for family, what in _FAMILIES.items()}
        self.live_quality = {family: Gauge(f"modelops_live_{family}", f"{what.capitalize()} in the latest "
                                           "scheduled evaluation.", ["namespace", "name", "metric"],
                                           registry=self.registry)
                             for family, what in _FAMILIES.items()}
        self.drift = Gauge("modelops_drift", "Largest feature drift in the latest evaluation.",
                           ["namespace", "name", "statistic"], registry=self.registry)
        self.retrained = Gauge("modelops_retrained_versions", "Versions trained because the serving model degraded.",
                               ["namespace", "name"], registry=self.registry)
        self.stage_duration = Histogram(
            "modelops_stage_duration_seconds", "Wall-clock time of stage Jobs, start to result.",
            ["stage", "outcome"], registry=self.registry,
            buckets=(1, 5, 15, 30, 60, 120, 300, 600, 1800, 3600, 7200),
        )

    def serve(self, port: int, host: str = "0.0.0.0") -> None:
        start_http_server(port, addr=host, registry=self.registry)

    def observe_status(self, namespace: str, name: str, status: Mapping[str, Any]) -> None:
        """Refresh the per-deployment gauges from a status dict (the single source of truth)."""
        current = status.get("phase") or "Pending"  # a series from the first observation, before any status
        for phase in PHASES:
            self.phase.labels(namespace, name, phase).set(1 if phase == current else 0)
        if isinstance(status.get("servingVersion"), int):
            self.serving_version.labels(namespace, name).set(status["servingVersion"])
        kept: set[tuple[str, ...]] = set()
        for record in status.get("versions") or []:
            if record.get("deleted"):
                continue
            for metric, value in (record.get("metrics") or {}).items():
                if isinstance(value, (int, float)) and metric in UNIT_FAMILY:
                    labels = (namespace, name, str(record.get("version")), metric)
                    self.quality[UNIT_FAMILY[metric]].labels(*labels).set(value)
                    kept.add(labels)
        # A pruned (or trimmed) version's series go with it: one series per version ever made would grow forever.
        for gauge in self.quality.values():
            for labels in _series(gauge):
                if labels[:2] == (namespace, name) and labels not in kept:
                    gauge.remove(*labels)
        versions = status.get("versions") or []
        self.retrained.labels(namespace, name).set(sum(1 for r in versions if r.get("trigger") == "Degradation"))
        evaluation = status.get("lastEvaluation") or {}
        for metric, value in (evaluation.get("metrics") or {}).items():
            if isinstance(value, (int, float)) and metric in UNIT_FAMILY:
                self.live_quality[UNIT_FAMILY[metric]].labels(namespace, name, metric).set(value)
        for key, statistic in (("maxPsi", "psi"), ("maxKs", "ks")):
            value = (evaluation.get("drift") or {}).get(key)
            if isinstance(value, (int, float)):
                self.drift.labels(namespace, name, statistic).set(value)

    def forget(self, namespace: str, name: str) -> None:
        """Drop a deleted deployment's series so dashboards do not show ghosts."""
        gauges = (self.phase, self.serving_version, *self.quality.values(), *self.live_quality.values(), self.drift,
                  self.retrained)
        for gauge in gauges:
            for labels in _series(gauge):
                if labels[:2] == (namespace, name):
                    gauge.remove(*labels)


def _series(gauge: Gauge) -> list[tuple[str, ...]]:
    """The label values of every series of `gauge` (prometheus_client keeps them in `_metrics`; it has no
    public listing, and `remove(*labels)` is the documented way to drop one)."""
    with gauge._lock:
        return list(gauge._metrics)
