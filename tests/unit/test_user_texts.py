"""The texts users read and act on, per phase and per failure, asserted whole (snapshot style).

Each condition speaks only of its own subject, no text says "None", and one transition is one Event.
If a wording changes on purpose, change it here: these are the words `kubectl describe`, `kubectl get
-o yaml`, `modelops run` and `modelops status` show.
"""

from __future__ import annotations

from typing import Any

from lifecycle_helpers import GOOD, Driver, sample_spec

from modelops.lifecycle import Reconcile, decide_invalid_spec
from modelops.lifecycle.messages import EmitEvent
from modelops.local.status_cli import describe_gates

FIRST_GATES = "passed 2/2 gate checks; 1 change gate skipped: no baseline (first version)"
NOTHING_SERVES = {
    "Available": ("False", "NoVersionServing", "no validated version serves yet"),
    "Degraded": ("False", "NothingServing", "no version serves yet, so none is evaluated"),
}
NOT_STALLED = ("False", "NotStalled", "nothing blocks progress")
RECONCILED = ("False", "Reconciled", "no search, training, validation or rollout is under way")


def events(d: Driver) -> list[tuple[str, str, str]]:
    return [(a.type, a.reason, a.message) for a in d.history[-1].actions if isinstance(a, EmitEvent)]


def conditions(d: Driver) -> dict[str, tuple[str, str, str]]:
    return {c["type"]: (c["status"], c["reason"], c["message"]) for c in d.status["conditions"]}


def _no_none(status: dict[str, Any]) -> None:
    texts = [status["message"], *(c["message"] for c in status["conditions"])]
    assert not [t for t in texts if "None" in t], texts


def test_texts_from_first_training_to_a_healthy_evaluation() -> None:
    d = Driver(sample_spec())
    d.feed(Reconcile())
    assert (d.status["phase"], d.status["message"]) == ("Training", "training version 1")
    assert events(d) == [("Normal", "Training", "training version 1")]
    assert conditions(d) == {**NOTHING_SERVES,
                             "Ready": ("False", "Training", "training version 1"),
                             "Reconciling": ("True", "Training", "training version 1"), "Stalled": NOT_STALLED,
                             "Trained": ("Unknown", "Training", "version 1: training"),
                             "Validated": ("Unknown", "AwaitingTraining", "version 1: waiting for training to finish")}
    _no_none(d.status)

    d.finish(metrics={"loss": 0.3})
    assert events(d) == [("Normal", "Trained", "version 1 trained"), ("Normal", "Validating", "validating version 1")]
    assert conditions(d) == {**NOTHING_SERVES,
                             "Ready": ("False", "Validating", "validating version 1"),
                             "Reconciling": ("True", "Validating", "validating version 1"), "Stalled": NOT_STALLED,
                             "Trained": ("True", "Trained", "version 1 trained"),
                             "Validated": ("Unknown", "Validating", "version 1: validating")}

    d.finish(metrics=GOOD)
    assert events(d) == [("Normal", "Validated", f"version 1: {FIRST_GATES}"),
                         ("Normal", "RollingOut", "serving version 1")]  # no extra "Deploying" event
    assert conditions(d)["Trained"] == ("True", "Trained", "version 1 trained")  # no gate text in Trained
    assert conditions(d)["Validated"] == ("True", "GatesPassed", f"version 1: {FIRST_GATES}")
    assert conditions(d)["Ready"] == ("False", "Deploying", "rolling out version 1")
    assert conditions(d)["Reconciling"] == ("True", "Deploying", "rolling out version 1")
    _no_none(d.status)

    d.serve_ready(1)
    assert (d.status["phase"], d.status["message"]) == ("Serving", "version 1 is serving")
    assert events(d) == [("Normal", "VersionServing", "version 1 is serving")]
    assert conditions(d) == {
        "Available": ("True", "VersionAvailable", "version 1 is available"),
        "Degraded": ("False", "NoEvaluation", "version 1 has not been evaluated yet"),
        "Ready": ("True", "Ready", "version 1 is serving, rolled out and not degraded"),
        "Trained": ("True", "Trained", "version 1 trained"),
        "Validated": ("True", "GatesPassed", f"version 1: {FIRST_GATES}"),
        "Reconciling": RECONCILED, "Stalled": NOT_STALLED,
    }

    d.evaluate(metrics=GOOD)
    assert events(d) == []
    assert conditions(d)["Degraded"] == ("False", "Healthy",
                                         "version 1 passed every degradation rule in its last evaluation")


def test_gate_summary_is_the_same_in_event_condition_record_and_modelops_status() -> None:
    d = Driver(sample_spec())
    d.feed(Reconcile())
    d.finish(metrics={"loss": 0.3})
    d.finish(metrics=GOOD)
    record = d.status["versions"][0]
    assert record["message"] == FIRST_GATES == describe_gates(record["gates"])
    assert events(d)[0][2] == f"version 1: {FIRST_GATES}" == conditions(d)["Validated"][2]


def test_one_training_failure_is_one_event() -> None:
    d = Driver(sample_spec())
    d.feed(Reconcile())
    d.finish(False, error="dataset t.csv: line 4 column 'x': empty", reason="NonNumericValue")
    failed = "version 1 training failed: dataset t.csv: line 4 column 'x': empty"
    assert (d.status["phase"], d.status["message"]) == ("Failed", failed)
    assert events(d) == [("Warning", "TrainingFailed", failed)]
    assert conditions(d) == {
        **NOTHING_SERVES,
        "Ready": ("False", "Failed", failed),
        "Reconciling": RECONCILED, "Stalled": ("True", "TrainingFailed", failed),
        "Trained": ("False", "NonNumericValue", "version 1: training failed: dataset t.csv: line 4 column 'x': empty"),
        "Validated": ("Unknown", "NotTrained", "version 1 was not validated: training failed: dataset t.csv: "
                                               "line 4 column 'x': empty"),
    }
    d.feed(Reconcile())
    assert events(d) == []  # nothing new happened: nothing is re-posted


def test_one_validation_failure_is_one_event() -> None:
    d = Driver(sample_spec())
    d.feed(Reconcile())
    d.finish(metrics={"loss": 0.3})
    d.finish(False, error="labels reach 3", reason="LabelOutOfRange")
    assert events(d) == [("Warning", "ValidationFailed", "version 1 validation failed: labels reach 3")]
    assert conditions(d)["Trained"] == ("True", "Trained", "version 1 trained")
    assert conditions(d)["Validated"] == ("False", "LabelOutOfRange", "version 1: validation failed: labels reach 3")


def test_rejected_candidate_texts() -> None:
    d = Driver(sample_spec())
    d.to_serving()
    d.edit(sample_spec(**{"training.hyperparameters.epochs": 5}))
    d.finish(metrics={"loss": 0.3})
    d.finish(metrics={**GOOD, "accuracy": 0.7}, baselineMetrics=GOOD)
    why = ("accuracy 0.7 < min 0.8; accuracy regressed by 0.2 from baseline 0.9 to 0.7 (maxRegression 0.02) "
           "(failed 2/3 gate checks)")
    assert (d.status["phase"], d.status["message"]) == ("Rejected", f"version 2 rejected: {why}; version 1 keeps "
                                                                    "serving")
    assert events(d) == [("Warning", "CandidateRejected", f"version 2 rejected: {why}")]
    assert conditions(d)["Validated"] == ("False", "GateFailed", f"version 2 rejected: {why}")
    assert conditions(d)["Trained"] == ("True", "Trained", "version 2 trained")
    assert conditions(d)["Ready"] == ("True", "Ready", "version 1 is serving, rolled out and not degraded")
    assert describe_gates(d.status["versions"][1]["gates"]) == why


def test_degradation_and_a_failed_retrain_texts() -> None:
    d = Driver(sample_spec())
    d.to_serving()
    d.evaluate(metrics={**GOOD, "accuracy": 0.5})
    reasons = "accuracy 0.5 < min 0.75; accuracy 0.5 is 0.4 worse than at validation (0.9; allowed 0.05)"
    assert events(d) == [("Warning", "ModelDegraded", f"version 1: {reasons}"),
                         ("Normal", "Retraining", "training version 2")]
    assert conditions(d)["Degraded"] == ("True", "QualityBelowFloor", f"version 1: {reasons}")
    d.finish(False, error="out of memory", reason="WorkerFailed")
    assert events(d) == [("Warning", "TrainingFailed", "version 2 training failed: out of memory")]
    assert (d.status["phase"], d.status["message"]) == ("Degraded", "version 1 degraded: accuracy 0.5 < min 0.75")
    assert conditions(d)["Available"] == ("True", "VersionAvailable", "version 1 is available")


def test_failed_evaluation_says_so_and_leaves_degraded_alone() -> None:
    d = Driver(sample_spec())
    d.to_serving()
    d.evaluate(metrics=GOOD)
    before = conditions(d)["Degraded"]
    d.evaluate(error="endpoint down", reason="EndpointUnreachable")
    assert events(d) == [("Warning", "EvaluationFailed", "version 1 evaluation failed: endpoint down")]
    assert conditions(d)["Degraded"] == before


def test_unmonitored_deployment_says_it_is_not_evaluated() -> None:
    d = Driver(sample_spec(**{"monitoring.dataset": None}))
    d.to_serving()
    assert conditions(d)["Degraded"] == ("False", "NotMonitored",
                                         "version 1 is not evaluated: spec.monitoring.dataset is not set")


def test_invalid_spec_is_one_event() -> None:
    decision = decide_invalid_spec(2, Driver(sample_spec()).now, None, ["spec.task: required field is missing"])
    assert [(a.type, a.reason, a.message) for a in decision.actions if isinstance(a, EmitEvent)] == [
        ("Warning", "InvalidSpec", "spec.task: required field is missing")]
