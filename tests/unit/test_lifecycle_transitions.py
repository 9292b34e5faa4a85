"""Every lifecycle transition, table-driven: (how we got here, what happened) -> phase, actions, records."""

from __future__ import annotations

import pytest
from lifecycle_helpers import GOOD, Driver, conditions, measured_drift, sample_spec, started

from modelops.lifecycle import ApplyServing, CancelStage, DeleteVersion, EmitEvent, Reconcile
from modelops.lifecycle.records import find_version

BAD = {**GOOD, "accuracy": 0.5}


def test_pending_to_training_starts_version_one() -> None:
    d = Driver(sample_spec())
    decision = d.feed(Reconcile())
    assert d.status["phase"] == "Training"
    [stage] = started(decision)
    assert (stage.stage, stage.version, stage.stage_id) == ("train", 1, "train-v1")
    assert stage.dataset["uri"].endswith("train.csv")
    assert d.status["observedGeneration"] == 1


@pytest.mark.parametrize(
    ("steps", "phase", "version_state"),
    [
        (["train_ok"], "Validating", "Validating"),
        (["train_fail"], "Failed", "Failed"),
        (["train_ok", "validate_pass"], "Deploying", "Blessed"),
        (["train_ok", "validate_fail_gates"], "Rejected", "Rejected"),
        (["train_ok", "validate_error"], "Failed", "Failed"),
        (["train_ok", "validate_pass", "ready"], "Serving", "Serving"),
    ],
)
def test_first_version_transitions(steps: list[str], phase: str, version_state: str) -> None:
    d = Driver(sample_spec())
    d.feed(Reconcile())
    actions = {
        "train_ok": lambda: d.finish(metrics={"loss": 0.2}),
        "train_fail": lambda: d.finish(False, error="dataset /x.csv: no column 'churned'", reason="MissingLabelColumn"),
        "validate_pass": lambda: d.finish(metrics=GOOD),
        "validate_fail_gates": lambda: d.finish(metrics=BAD),
        "validate_error": lambda: d.finish(False, error="boom", reason="ModelNotFound"),
        "ready": lambda: d.serve_ready(1),
    }
    for step in steps:
        actions[step]()
    assert d.status["phase"] == phase
    assert find_version(d.status, 1)["state"] == version_state


def test_validation_uses_serving_version_as_baseline_and_records_every_gate() -> None:
    d = Driver(sample_spec(**{"retraining.changeGatesOn": "validation"}))  # recent rows: test_lifecycle_healing
    d.to_serving()
    d.advance(301)
    d.feed(Reconcile())
    d.finish(metrics={"accuracy": 0.5}, drift={})  # degraded -> retrain v2
    assert d.stage()["id"] == "train-v2"
    decision = d.finish(metrics={"loss": 0.2})
    [validate] = started(decision)
    assert validate.baseline_version == 1
    d.finish(metrics={**GOOD, "accuracy": 0.95}, baselineMetrics=GOOD, baselineVersion=1,
             challenge={"rows": 50, "candidate": {"accuracy": 0.9}, "baseline": {"accuracy": 0.5}})
    record = find_version(d.status, 2)
    kinds = {(g["metric"], g["kind"]) for g in record["gates"]}
    assert kinds == {("accuracy", "min"), ("accuracy", "maxRegression"), ("auc", "min")}
    regression = next(g for g in record["gates"] if g["kind"] == "maxRegression")
    assert regression["baseline"] == pytest.approx(0.9) and regression["diff"] == pytest.approx(0.05)
    assert record["state"] == "Blessed" and record["baselineVersion"] == 1


def test_first_version_skips_change_gates_and_says_so() -> None:
    d = Driver(sample_spec())
    d.to_serving()
    record = find_version(d.status, 1)
    skipped = [g for g in record["gates"] if g["skipped"]]
    assert [g["kind"] for g in skipped] == ["maxRegression"]
    assert "no baseline" in skipped[0]["reason"] and "skipped" in record["message"]


def test_deploying_pins_only_the_blessed_version_then_serving_sets_conditions() -> None:
    d = Driver(sample_spec())
    d.feed(Reconcile())
    d.finish(metrics={"loss": 0.2})
    decision = d.finish(metrics=GOOD)
    assert [a for a in decision.actions if isinstance(a, ApplyServing)] == [ApplyServing(stable=1)]
    assert conditions(d.status)["Available"] == "False"
    d.serve_ready(1)
    assert d.status["servingVersion"] == 1
    assert conditions(d.status) == {"Trained": "True", "Validated": "True", "Available": "True",
                                    "Degraded": "False", "Ready": "True", "Reconciling": "False", "Stalled": "False"}
    assert d.status["primaryMetric"] == "accuracy=0.9"


def test_scheduled_evaluation_waits_for_the_interval() -> None:
    d = Driver(sample_spec())
    d.to_serving()
    assert d.history[-1].requeue_after == pytest.approx(300)
    d.advance(299)
    assert started(d.feed(Reconcile())) == []
    d.advance(1)
    [evaluate] = started(d.feed(Reconcile()))
    assert (evaluate.stage, evaluate.version, evaluate.stage_id) == ("evaluate", 1, "evaluate-v1-e1")


def test_healthy_evaluation_keeps_serving_and_degraded_false() -> None:
    d = Driver(sample_spec())
    d.to_serving()
    d.evaluate(metrics={"accuracy": 0.89}, drift=measured_drift([0.2, 0.6, 0.9], psi=[0.05] * 3), rows=100)
    assert d.status["phase"] == "Serving"
    assert conditions(d.status)["Degraded"] == "False"
    assert d.status["lastEvaluation"]["rows"] == 100


@pytest.mark.parametrize(
    ("metrics", "drift", "reason"),
    [
        ({"accuracy": 0.70}, {}, "QualityBelowFloor"),
        ({"accuracy": 0.84}, {}, "QualityDropped"),  # 0.9 - 0.84 = 0.06 > maxDrop 0.05
        ({"accuracy": 0.89}, measured_drift([1e-6, 0.4, 0.8], psi=[0.4, 0.01, 0.01]), "DataDrift"),
    ],
)
def test_each_degradation_rule_triggers_retraining(metrics: dict, drift: dict, reason: str) -> None:
    d = Driver(sample_spec(**{"monitoring.drift.confirm": {"required": 1}}))  # drift acts on its first alarm
    d.to_serving()
    decision = d.evaluate(metrics=metrics, drift=drift)
    assert d.status["lastEvaluation"]["reason"] == reason
    assert d.status["phase"] == "Retraining"
    [train] = started(decision)
    assert train.version == 2 and train.dataset["uri"].endswith("recent.csv")  # retraining.dataset override
    assert any(isinstance(a, EmitEvent) and a.reason == "ModelDegraded" for a in decision.actions)


def test_alert_policy_only_marks_degraded() -> None:
    d = Driver(sample_spec(**{"monitoring.onDegradation": "Alert"}))
    d.to_serving()
    decision = d.evaluate(metrics={"accuracy": 0.6})
    assert d.status["phase"] == "Degraded" and started(decision) == []
    assert conditions(d.status)["Ready"] == "False"


def test_retrained_version_replaces_serving_and_clears_degraded() -> None:
    d = Driver(sample_spec())
    d.to_serving()
    d.evaluate(metrics={"accuracy": 0.6})
    decision = d.retrain({**GOOD, "accuracy": 0.93}, baseline={**GOOD, "accuracy": 0.6})
    assert [a for a in decision.actions if isinstance(a, ApplyServing)] == [ApplyServing(stable=2)]
    d.serve_ready(1, 2)
    assert d.status["servingVersion"] == 2 and d.status["phase"] == "Serving"
    assert find_version(d.status, 1)["state"] == "Retired"
    assert conditions(d.status)["Degraded"] == "False"
    # the episode ends only when the new version's own evaluation passes the rule that opened it
    assert d.status["retrain"]["attempts"] == 1 and "QualityBelowFloor" in d.status["retrain"]["openedBy"]
    decision = d.evaluate(metrics={"accuracy": 0.93})
    assert d.status["retrain"] == {"attempts": 0}
    assert any(isinstance(a, EmitEvent) and a.reason == "Recovered" for a in decision.actions)


def test_rejected_retrain_keeps_serving_version_and_retries_after_cooldown() -> None:
    d = Driver(sample_spec())
    d.to_serving()
    d.evaluate(metrics={"accuracy": 0.6})
    decision = d.retrain({**GOOD, "accuracy": 0.55}, baseline={**GOOD, "accuracy": 0.6})
    assert not any(isinstance(a, ApplyServing) for a in decision.actions)
    assert d.status["phase"] == "Rejected" and d.status["servingVersion"] == 1
    assert "accuracy" in d.status["message"] and "version 1 keeps serving" in d.status["message"]
    assert any(isinstance(a, EmitEvent) and a.reason == "CandidateRejected" for a in decision.actions)
    d.advance(599)  # cooldown 10m from the attempt; the monitoring interval (5m) runs an evaluation meanwhile
    d.feed(Reconcile())
    assert (d.stage()["name"], d.stage()["version"]) == ("evaluate", 1)
    d.finish(metrics={"accuracy": 0.6})  # still below the floor, but inside the cooldown: no retrain yet
    assert d.stage() is None and d.status["retrain"]["attempts"] == 1
    d.advance(2)
    d.feed(Reconcile())
    assert d.stage()["id"] == "train-v3"
    assert d.status["retrain"]["attempts"] == 2


def test_exhausted_retries_fail_and_a_spec_edit_recovers() -> None:
    spec = sample_spec(**{"retraining.maxAttempts": 1, "retraining.cooldown": "1s"})
    d = Driver(spec)
    d.to_serving()
    d.evaluate(metrics={"accuracy": 0.6})
    d.finish(False, error="out of memory", reason="OOMKilled")  # the one retrain attempt fails
    d.advance(5)
    d.feed(Reconcile())
    assert d.status["phase"] == "Failed"
    assert "retraining attempt" in d.status["message"]
    assert d.status["servingVersion"] == 1 and conditions(d.status)["Available"] == "True"
    edited = sample_spec(**{"retraining.maxAttempts": 1, "retraining.cooldown": "1s",
                            "training.hyperparameters.epochs": 60})
    decision = d.edit(edited)
    assert d.status["phase"] != "Failed"
    assert [s.stage for s in started(decision)] == ["train"]


def test_serving_only_edit_reapplies_serving_without_training() -> None:
    d = Driver(sample_spec())
    d.to_serving()
    decision = d.edit(sample_spec(**{"serving.replicas": 4}))
    assert started(decision) == []
    assert [a for a in decision.actions if isinstance(a, ApplyServing)] == [ApplyServing(stable=1)]
    assert d.status["observedGeneration"] == 2


def test_training_edit_supersedes_running_training_and_starts_new_version() -> None:
    d = Driver(sample_spec())
    d.feed(Reconcile())
    decision = d.edit(sample_spec(**{"training.hyperparameters.epochs": 5}))
    assert CancelStage("train-v1") in decision.actions
    assert find_version(d.status, 1)["reason"] == "Superseded"
    assert [s.stage_id for s in started(decision)] == ["train-v2"]


def test_pinned_version_rolls_back_and_holds_rollouts() -> None:
    d = Driver(sample_spec())
    d.to_serving()
    d.evaluate(metrics={"accuracy": 0.6})
    d.retrain({**GOOD, "accuracy": 0.93}, baseline=GOOD)
    d.serve_ready(2)
    decision = d.edit(sample_spec(**{"serving.pinnedVersion": 1}))
    assert [a for a in decision.actions if isinstance(a, ApplyServing)] == [ApplyServing(stable=1)]
    d.serve_ready(1)
    assert d.status["servingVersion"] == 1 and "pinned" in d.status["message"]


def test_pin_to_unknown_or_rejected_version_fails_naming_the_field() -> None:
    d = Driver(sample_spec())
    d.to_serving()
    d.edit(sample_spec(**{"serving.pinnedVersion": 9}))
    assert d.status["phase"] == "Failed"
    assert d.status["message"].startswith("spec.serving.pinnedVersion")
    assert d.status["servingVersion"] == 1


def test_canary_is_promoted_by_a_healthy_evaluation() -> None:
    d = Driver(sample_spec(**{"serving.canary": {"enabled": True, "replicas": 1}}))
    d.to_serving()
    d.evaluate(metrics={"accuracy": 0.6})
    decision = d.retrain({**GOOD, "accuracy": 0.93}, baseline=GOOD)
    assert ApplyServing(stable=1, canary=2) in decision.actions
    d.serve_ready(1, 2)
    assert d.status["canaryVersion"] == 2
    d.advance(300)
    [evaluate] = started(d.feed(Reconcile()))
    assert evaluate.version == 2
    decision = d.finish(metrics={"accuracy": 0.92})
    assert ApplyServing(stable=2) in decision.actions
    d.serve_ready(2)
    assert d.status["servingVersion"] == 2 and "canaryVersion" not in d.status


def test_degraded_canary_is_rolled_back() -> None:
    d = Driver(sample_spec(**{"serving.canary": {"enabled": True, "replicas": 1}}))
    d.to_serving()
    d.evaluate(metrics={"accuracy": 0.6})
    d.retrain({**GOOD, "accuracy": 0.93}, baseline=GOOD)
    d.serve_ready(1, 2)
    decision = d.evaluate(metrics={"accuracy": 0.5})
    assert ApplyServing(stable=1) in decision.actions
    assert find_version(d.status, 2)["state"] == "Rejected"
    assert find_version(d.status, 2)["reason"] == "CanaryDegraded"
    assert d.status["servingVersion"] == 1


def test_retention_deletes_oldest_but_never_serving_or_last_blessed() -> None:
    d = Driver(sample_spec(**{"retention.keepVersions": 1, "retraining.cooldown": "1s"}))
    d.to_serving()
    deleted: list[int] = []
    for _ in range(3):
        d.advance(300)
        d.feed(Reconcile())
        d.finish(metrics={"accuracy": 0.6})
        d.finish(metrics={"loss": 0.2})
        d.finish(metrics={**GOOD, "accuracy": 0.95}, baselineMetrics={**GOOD, "accuracy": 0.6},
                 challenge={"rows": 50, "candidate": {"accuracy": 0.95}, "baseline": {"accuracy": 0.6}})
        decision = d.serve_ready(d.status["rollout"]["stable"])
        assert all(find_version(d.status, a.version)["deletion"]["attempt"] == 1
                   for a in decision.actions if isinstance(a, DeleteVersion))
        deleted += d.prune_all(decision)
    assert d.status["servingVersion"] == 4
    assert deleted == [1, 2, 3]
    assert all(find_version(d.status, v)["deleted"] and "deletion" not in find_version(d.status, v)
               for v in deleted)


def test_version_numbers_are_never_reused_after_failures() -> None:
    d = Driver(sample_spec())
    d.feed(Reconcile())
    d.finish(False, error="bad", reason="NonFiniteValue")
    d.edit(sample_spec(**{"training.hyperparameters.epochs": 3}))
    assert d.stage()["version"] == 2
    assert [v["version"] for v in d.status["versions"]] == [1, 2]


def test_stale_and_repeated_results_are_ignored() -> None:
    d = Driver(sample_spec())
    d.feed(Reconcile())
    first = d.finish(metrics={"loss": 0.2})
    from modelops.lifecycle import StageFinished

    again = d.feed(StageFinished("train-v1", True, {"metrics": {"loss": 0.2}}))
    assert started(first) and not again.actions
    assert d.status["stage"]["id"] == "validate-v1"


def test_condition_transition_time_moves_only_on_flip() -> None:
    d = Driver(sample_spec())
    d.to_serving()
    before = {c["type"]: c["lastTransitionTime"] for c in d.status["conditions"]}
    d.advance(100)
    d.feed(Reconcile())
    after = {c["type"]: c["lastTransitionTime"] for c in d.status["conditions"]}
    assert before == after
    d.advance(200)
    d.feed(Reconcile())
    d.finish(metrics={"accuracy": 0.6})
    flipped = {c["type"]: c["lastTransitionTime"] for c in d.status["conditions"]}
    assert flipped["Degraded"] != before["Degraded"] and flipped["Available"] == before["Available"]


def test_in_flight_action_rebuilds_the_exact_stage_after_a_restart() -> None:
    from modelops.lifecycle import in_flight_action

    d = Driver(sample_spec())
    d.to_serving()
    d.evaluate(metrics={"accuracy": 0.6})
    [train] = started(d.history[-1])
    assert in_flight_action(d.status) == train
    [validate] = started(d.finish(metrics={"loss": 0.2}))
    assert in_flight_action(d.status) == validate and validate.baseline_version == 1
    d.finish(metrics=GOOD, baselineMetrics=GOOD)
    assert in_flight_action(d.status) is None


def test_no_evaluation_of_the_outgoing_version_during_a_rollout() -> None:
    d = Driver(sample_spec())
    d.to_serving()
    d.evaluate(metrics={"accuracy": 0.6})
    d.finish(metrics={"loss": 0.2})
    d.advance(600)  # an evaluation of version 1 is overdue by now
    decision = d.finish(metrics={**GOOD, "accuracy": 0.93}, baselineMetrics=GOOD,
                        challenge={"rows": 50, "candidate": {"accuracy": 0.93}, "baseline": {"accuracy": 0.6}})
    assert ApplyServing(stable=2) in decision.actions and started(decision) == []
    assert d.status["phase"] == "Deploying"
    d.serve_ready(2)
    assert d.stage() is None  # the new version's evaluation waits one interval after it started serving


def test_invalid_spec_fails_once_keeps_serving_and_a_valid_edit_recovers() -> None:
    from modelops.lifecycle import decide_invalid_spec

    d = Driver(sample_spec())
    d.to_serving()
    errors = ["spec.training.hyperparameters.epochs: 0 must be >= 1"]
    first = decide_invalid_spec(2, d.now, d.status, errors)
    assert first.status["phase"] == "Failed" and first.status["message"] == errors[0]
    assert [(a.type, a.reason) for a in first.actions] == [("Warning", "InvalidSpec")]
    assert first.status["servingVersion"] == 1 and conditions(first.status)["Ready"] == "False"
    again = decide_invalid_spec(2, d.now, first.status, errors)
    assert again.actions == [] and again.status == first.status
    d.status, d.generation = first.status, 2
    d.edit(sample_spec(**{"serving.replicas": 3}))  # generation 3, valid
    assert d.status["phase"] == "Serving" and "failure" not in d.status
