"""A tiny driver for the lifecycle core: feeds observations and remembers what came out."""

from __future__ import annotations

import copy
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import yaml

from modelops.api import parse_model_deployment
from modelops.lifecycle import (
    Context,
    Decision,
    DeleteVersion,
    Observation,
    Reconcile,
    ServingObserved,
    StageFinished,
    VersionPruned,
    decide,
)
from modelops.lifecycle.messages import StartStage

SAMPLES = Path(__file__).resolve().parents[2] / "manifests" / "samples"
T0 = datetime(2026, 1, 1, tzinfo=UTC)


def sample_spec(name: str = "binary-classification", **overrides: Any) -> dict[str, Any]:
    doc = yaml.safe_load((SAMPLES / f"{name}.yaml").read_text())
    for dotted, value in overrides.items():
        node = doc["spec"]
        *parents, leaf = dotted.split(".")
        for key in parents:
            node = node.setdefault(key, {})
        if value is None:
            node.pop(leaf, None)
        else:
            node[leaf] = value
    return parse_model_deployment(doc).spec


GOOD = {"accuracy": 0.9, "auc": 0.93, "precision": 0.9, "recall": 0.9, "f1": 0.9, "loss": 0.3}


@dataclass
class Driver:
    spec: dict[str, Any]
    generation: int = 1
    now: datetime = T0
    status: dict[str, Any] = field(default_factory=dict)
    history: list[Decision] = field(default_factory=list)

    def feed(self, observation: Observation) -> Decision:
        decision = decide(Context(self.spec, self.generation, self.now), copy.deepcopy(self.status), observation)
        self.status = decision.status
        self.history.append(decision)
        return decision

    def advance(self, seconds: float) -> None:
        self.now += timedelta(seconds=seconds)

    def edit(self, spec: dict[str, Any]) -> Decision:
        self.spec, self.generation = spec, self.generation + 1
        return self.feed(Reconcile())

    def stage(self) -> dict[str, Any] | None:
        return self.status.get("stage")

    def finish(self, succeeded: bool = True, **result: Any) -> Decision:
        stage = self.stage()
        assert stage is not None, f"no stage in flight (phase {self.status.get('phase')})"
        return self.feed(StageFinished(stage["id"], succeeded, result))

    def serve_ready(self, *versions: int) -> Decision:
        """What a healthy runtime reports: these versions answer, the children pin the last rollout."""
        rollout = self.status.get("rollout") or {}
        pinned = {"stable": rollout["stable"], "canary": rollout.get("canary")} if rollout else None
        return self.feed(ServingObserved(frozenset(versions), pinned))

    def prune_all(self, decision: Decision) -> list[int]:
        """Confirm every DeleteVersion of `decision`, as a runtime does once the files are gone."""
        versions = [a.version for a in decision.actions if isinstance(a, DeleteVersion)]
        for version in versions:
            self.feed(VersionPruned(version, True))
        return versions

    def to_serving(self, metrics: dict[str, float] | None = None) -> None:
        """Drive a fresh deployment through train → validate → deploy → serving."""
        self.feed(Reconcile())
        self.finish(metrics={"loss": 0.3})
        self.finish(metrics=metrics or GOOD)
        self.serve_ready(self.status["rollout"]["stable"])

    def evaluate(self, seconds: float = 300, **result: Any) -> Decision:
        """Let the monitoring interval pass and finish the evaluation it starts with `result`."""
        self.advance(seconds)
        self.feed(Reconcile())
        return self.finish(**result)

    def retrain(self, validation: dict[str, float], baseline: dict[str, float] | None = GOOD,
                challenge: dict[str, Any] | None = None) -> Decision:
        """Finish the retraining run in flight, then its validation with these metrics; the challenge on
        the monitoring data defaults to the same comparison as on the validation data."""
        self.finish(metrics={"loss": 0.2})
        if challenge is None and baseline is not None:
            challenge = {"rows": 100, "candidate": validation, "baseline": baseline}
        return self.finish(metrics=validation, baselineMetrics=baseline, challenge=challenge)


def started(decision: Decision) -> list[StartStage]:
    return [a for a in decision.actions if isinstance(a, StartStage)]


def conditions(status: dict[str, Any]) -> dict[str, str]:
    return {c["type"]: c["status"] for c in status.get("conditions", [])}


def measured_drift(p_values: list[float], psi: list[float] | None = None, rows: int = 500) -> dict[str, Any]:
    """The evaluate stage's drift summary for features f0, f1, ... with these p-values (ascending)."""
    p_values = sorted(p_values)
    psi = psi if psi is not None else [0.5] * len(p_values)
    features = [{"name": f"f{i}", "type": "numeric", "test": "ks", "statistic": 0.1, "pValue": p, "psi": e,
                 "js": 0.1, "ks": 0.1} for i, (p, e) in enumerate(zip(p_values, psi, strict=True))]
    return {"rows": rows, "tested": len(p_values),
            "ranked": {"pValue": p_values, "psi": psi, "js": [0.1] * len(psi), "ks": [0.1] * len(psi)},
            "features": features[:5], "maxPsi": max(psi, default=0.0), "maxKs": 0.1, "maxJs": 0.1,
            "driftedFeature": "f0" if p_values else None}
