"""Every phase and failure a GitOps user can meet, as the ModelDeployment objects the API server serves.

Each scenario drives the real lifecycle core (the same `decide` both runtimes run) to a state, wraps the
status in an object with the generation the API server would show, and states what a GitOps user expects
kstatus (Flux `wait`, kpt, cli-utils) and Argo CD to conclude. Nothing here is a hand-written status.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from unit.lifecycle_helpers import GOOD, T0, Driver, sample_spec

from modelops.lifecycle import Reconcile, ServingObserved, decide_invalid_spec

BAD = {**GOOD, "accuracy": 0.5}
SEARCH = {"enabled": True, "maxTrials": 4, "parallelism": 1, "objective": "accuracy",
          "searchSpace": {"learningRate": {"min": 0.001, "max": 0.1}}}


@dataclass(frozen=True)
class Scenario:
    name: str
    build: Callable[[], tuple[dict[str, Any], int]]  # -> (status, metadata.generation)
    kstatus: str  # Current | InProgress | Failed
    argocd: str  # Healthy | Progressing | Degraded

    def object(self) -> dict[str, Any]:
        status, generation = self.build()
        return {"apiVersion": "modelops.dev/v1alpha1", "kind": "ModelDeployment",
                "metadata": {"name": self.name, "namespace": "ml", "generation": generation, "uid": "u-1"},
                "spec": {}, "status": status}


def _driven(spec: dict[str, Any], *steps: Callable[[Driver], Any]) -> Callable[[], tuple[dict[str, Any], int]]:
    def build() -> tuple[dict[str, Any], int]:
        d = Driver(spec)
        d.feed(Reconcile())
        for step in steps:
            step(d)
        return d.status, d.generation
    return build


def _train(d: Driver) -> None:
    d.finish(metrics={"loss": 0.3})


def _validate(metrics: dict[str, float]) -> Callable[[Driver], Any]:
    """Finish validation with these metrics, the serving version (if any) scoring GOOD beside them."""
    def finish(d: Driver) -> None:
        baseline = GOOD if d.stage().get("baselineVersion") else None
        d.finish(metrics=metrics, baselineMetrics=baseline)
    return finish


def _ready(d: Driver) -> None:
    d.serve_ready(d.status["rollout"]["stable"])


def _serving(d: Driver) -> None:
    _train(d)
    _validate(GOOD)(d)
    _ready(d)


def _degrade(d: Driver) -> None:
    d.evaluate(metrics={"accuracy": 0.6})


def _edit_not_observed(d: Driver) -> None:
    d.generation += 1  # the user applied a change; the operator has not reconciled it yet


def _edited_training(d: Driver) -> None:
    d.edit(sample_spec(**{"training.hyperparameters.epochs": 60}))


def _serving_not_answering(d: Driver) -> None:
    d.feed(ServingObserved(frozenset(), {"stable": d.status["rollout"]["stable"], "canary": None}))


def _canary_ready(d: Driver) -> None:
    rollout = d.status["rollout"]
    d.feed(ServingObserved(frozenset({rollout["stable"], rollout["canary"]}), dict(rollout)))


def _invalid_spec() -> tuple[dict[str, Any], int]:
    decision = decide_invalid_spec(3, T0, None, ["spec.training.hyperparameters.epochs: must be >= 1"])
    return decision.status, 3


def _fail(reason: str) -> Callable[[Driver], Any]:
    return lambda d: d.finish(False, error=f"the stage failed ({reason})", reason=reason)


def _retries_exhausted(d: Driver) -> None:
    d.finish(False, error="out of memory", reason="OOMKilled")
    d.advance(5)
    d.feed(Reconcile())


def _evaluating(d: Driver) -> None:
    d.advance(301)
    d.feed(Reconcile())
    assert d.stage()["name"] == "evaluate"


def _evaluations_fail(times: int) -> Callable[[Driver], Any]:
    """`times` scheduled evaluations in a row fail to run (monitoring.consecutiveErrorLimit defaults to 4)."""
    def fail(d: Driver) -> None:
        for _ in range(times):
            if d.stage() is None:
                d.advance(301)
                d.feed(Reconcile())
            d.finish(False, error="connection refused", reason="EndpointUnreachable")
    return fail


def _rejected_retrain(d: Driver) -> None:
    d.retrain({**GOOD, "accuracy": 0.55}, baseline={**GOOD, "accuracy": 0.6})


SPEC = sample_spec()
ALERT = sample_spec(**{"monitoring.onDegradation": "Alert"})
ONE_RETRY = sample_spec(**{"retraining.maxAttempts": 1, "retraining.cooldown": "1s"})
TUNED = sample_spec(**{"training.tuning": SEARCH})
CANARY = sample_spec(**{"serving.canary": {"enabled": True, "replicas": 1}})
CANARY_EDITED = sample_spec(**{"serving.canary": {"enabled": True, "replicas": 1},
                                "training.hyperparameters.epochs": 60})

SCENARIOS: tuple[Scenario, ...] = (
    Scenario("tuning", _driven(TUNED), "InProgress", "Progressing"),
    Scenario("training", _driven(SPEC), "InProgress", "Progressing"),
    Scenario("validating", _driven(SPEC, _train), "InProgress", "Progressing"),
    Scenario("deploying", _driven(SPEC, _train, _validate(GOOD)), "InProgress", "Progressing"),
    Scenario("serving", _driven(SPEC, _serving), "Current", "Healthy"),
    Scenario("serving-while-evaluating", _driven(SPEC, _serving, _evaluating), "Current", "Healthy"),
    Scenario("serving-not-answering", _driven(SPEC, _serving, _serving_not_answering),
             "InProgress", "Progressing"),
    Scenario("edit-not-yet-observed", _driven(SPEC, _serving, _edit_not_observed), "InProgress", "Progressing"),
    Scenario("retraining-after-spec-edit", _driven(SPEC, _serving, _edited_training), "InProgress", "Progressing"),
    Scenario("canary", _driven(CANARY, _serving, lambda d: d.edit(CANARY_EDITED), _train, _validate(GOOD),
                               _canary_ready), "InProgress", "Progressing"),
    Scenario("degraded-retraining", _driven(SPEC, _serving, _degrade), "InProgress", "Degraded"),
    Scenario("degraded-retrain-rejected-cooldown", _driven(SPEC, _serving, _degrade, _rejected_retrain),
             "InProgress", "Degraded"),
    Scenario("degraded-alert-only", _driven(ALERT, _serving, _degrade), "Failed", "Degraded"),
    Scenario("rejected-first-version", _driven(SPEC, _train, _validate(BAD)), "Failed", "Degraded"),
    Scenario("rejected-spec-edit-old-serves", _driven(SPEC, _serving, _edited_training, _train, _validate(BAD)),
             "Failed", "Degraded"),
    Scenario("failed-training", _driven(SPEC, _fail("MissingLabel")), "Failed", "Degraded"),
    Scenario("failed-validation", _driven(SPEC, _train, _fail("ModelNotFound")), "Failed", "Degraded"),
    Scenario("failed-retries-exhausted", _driven(ONE_RETRY, _serving, _degrade, _retries_exhausted),
             "Failed", "Degraded"),
    Scenario("failed-invalid-spec", _invalid_spec, "Failed", "Degraded"),
    Scenario("evaluations-failing", _driven(SPEC, _serving, _evaluations_fail(4)), "Failed", "Degraded"),
    Scenario("canary-evaluations-failed", _driven(CANARY, _serving, lambda d: d.edit(CANARY_EDITED), _train,
                                                  _validate(GOOD), _canary_ready, _evaluations_fail(4), _ready),
             "Failed", "Degraded"),
)
