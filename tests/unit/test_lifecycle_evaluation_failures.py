"""Evaluations that keep failing count (monitoring.consecutiveErrorLimit, as Argo Rollouts'), driven
through the lifecycle core: the serving version keeps serving but says it is blind; a canary is rolled back."""

from __future__ import annotations

from lifecycle_helpers import GOOD, Driver, conditions, sample_spec, started

from modelops.lifecycle import ApplyServing, EmitEvent, Reconcile
from modelops.lifecycle.records import find_version

UNREACHABLE = "POST http://serving:8501/v1/models/m:predict: connection refused"


def _fail_evaluation(d: Driver) -> list[EmitEvent]:
    """Let the interval pass, start the evaluation it schedules, and have it fail; the events it caused."""
    d.advance(300)
    [evaluate] = started(d.feed(Reconcile()))
    decision = d.finish(False, error=UNREACHABLE, reason="EndpointUnreachable")
    assert evaluate.stage == "evaluate"
    return [a for a in decision.actions if isinstance(a, EmitEvent)]


def _reasons(events: list[EmitEvent]) -> list[str]:
    return [e.reason for e in events]


def _condition(status: dict, type_: str) -> dict:
    return next(c for c in status["conditions"] if c["type"] == type_)


def test_failed_evaluations_of_the_serving_version_stall_it_once_and_it_keeps_serving() -> None:
    d = Driver(sample_spec())  # consecutiveErrorLimit defaults to 4 (api/limits_schema.py)
    d.to_serving()
    below = [_fail_evaluation(d) for _ in range(3)]
    assert conditions(d.status)["Ready"] == "True" and conditions(d.status)["Stalled"] == "False"
    assert d.status["evaluationFailures"]["consecutive"] == 3
    assert all(_reasons(events) == ["EvaluationFailed"] for events in below)

    at_limit = _fail_evaluation(d)
    assert _reasons(at_limit) == ["EvaluationFailed", "EvaluationsFailing"]
    beyond = [_fail_evaluation(d) for _ in range(16)]  # 20 in all
    assert all("EvaluationsFailing" not in _reasons(events) for events in beyond)  # one warning, not one each

    assert d.status["evaluationFailures"] == {"version": 1, "consecutive": 20, "limit": 4, "lastError": UNREACHABLE}
    assert conditions(d.status) | {} == {**conditions(d.status), "Ready": "False", "Degraded": "Unknown",
                                         "Stalled": "True", "Available": "True"}
    for type_ in ("Ready", "Degraded", "Stalled"):
        assert _condition(d.status, type_)["reason"] == "EvaluationsFailing"
        assert "last 20 evaluations failed" in _condition(d.status, type_)["message"]
    assert d.status["servingVersion"] == 1 and d.status["phase"] == "Serving"
    assert find_version(d.status, 1)["state"] == "Serving"
    assert d.stage() is None  # no retrain: a failed evaluation says nothing about the model
    assert not any(isinstance(a, ApplyServing) for h in d.history[-40:] for a in h.actions)


def test_an_evaluation_that_returns_clears_the_count_and_the_conditions() -> None:
    d = Driver(sample_spec(**{"monitoring.consecutiveErrorLimit": 2}))
    d.to_serving()
    for _ in range(5):
        _fail_evaluation(d)
    assert conditions(d.status)["Ready"] == "False"
    d.evaluate(metrics=GOOD)
    assert "evaluationFailures" not in d.status
    assert conditions(d.status)["Ready"] == "True" and conditions(d.status)["Stalled"] == "False"
    assert _condition(d.status, "Degraded")["reason"] == "Healthy"


def test_failures_must_be_consecutive() -> None:
    d = Driver(sample_spec(**{"monitoring.consecutiveErrorLimit": 3}))
    d.to_serving()
    for _ in range(10):  # fail, fail, succeed: never three in a row
        _fail_evaluation(d)
        _fail_evaluation(d)
        d.evaluate(metrics=GOOD)
        assert conditions(d.status)["Ready"] == "True"
    assert "evaluationFailures" not in d.status


def test_a_judged_degradation_stays_true_while_later_evaluations_fail() -> None:
    d = Driver(sample_spec(**{"monitoring.onDegradation": "Alert", "monitoring.consecutiveErrorLimit": 2}))
    d.to_serving()
    d.evaluate(metrics={**GOOD, "accuracy": 0.6})
    assert conditions(d.status)["Degraded"] == "True"
    for _ in range(3):
        _fail_evaluation(d)
    assert conditions(d.status)["Degraded"] == "True"  # known bad is not made unknown by a broken evaluation
    assert conditions(d.status)["Ready"] == "False" and conditions(d.status)["Stalled"] == "True"


def test_failed_evaluations_of_a_canary_roll_it_back_and_the_stable_version_stays() -> None:
    d = Driver(sample_spec(**{"serving.canary": {"enabled": True, "replicas": 1}}))
    d.to_serving()
    d.evaluate(metrics={"accuracy": 0.6})
    d.retrain({**GOOD, "accuracy": 0.93}, baseline=GOOD)
    d.serve_ready(1, 2)
    assert d.status["canaryVersion"] == 2
    evaluated, rollbacks = [], []
    for _ in range(20):
        if d.stage() is None:  # serving version 1 again starts its evaluation at once; else wait for one
            d.advance(300)
            d.feed(Reconcile())
        stage = d.stage()
        assert stage is not None and stage["name"] == "evaluate"
        evaluated.append(stage["version"])
        decision = d.finish(False, error=UNREACHABLE)
        if ApplyServing(stable=1) in decision.actions:
            rollbacks.append(len(evaluated))
            assert "CanaryRolledBack" in _reasons([a for a in decision.actions if isinstance(a, EmitEvent)])
            d.serve_ready(1)
    assert evaluated == [2] * 4 + [1] * 16 and rollbacks == [4]  # consecutiveErrorLimit's default
    record = find_version(d.status, 2)
    assert record["state"] == "Rejected" and record["reason"] == "CanaryEvaluationsFailed"
    assert "last 4 evaluations of version 2 failed" in record["message"]
    assert d.status["servingVersion"] == 1 and "canaryVersion" not in d.status
    assert d.status["rollout"] == {"stable": 1}
    assert find_version(d.status, 1)["state"] == "Serving"
    assert d.status["evaluationFailures"]["version"] == 1  # the later failures count for version 1
    assert conditions(d.status)["Available"] == "True" and conditions(d.status)["Stalled"] == "True"


def test_a_failed_evaluation_keeps_the_last_judgement_so_a_degraded_version_still_retrains() -> None:
    d = Driver(sample_spec())  # onDegradation Retrain, cooldown 10m
    d.to_serving()
    d.evaluate(metrics={**GOOD, "accuracy": 0.6})
    assert d.stage()["id"] == "train-v2"
    d.retrain({**GOOD, "accuracy": 0.6})  # the retrain is rejected; the next waits for the cooldown
    assert find_version(d.status, 2)["state"] == "Rejected"
    _fail_evaluation(d)
    last = d.status["lastEvaluation"]
    assert last["error"] == UNREACHABLE and last["degraded"] and last["version"] == 1
    assert conditions(d.status)["Degraded"] == "True"
    assert _condition(d.status, "Stalled")["reason"] != "DegradedNoRetrain"
    d.advance(301)
    d.feed(Reconcile())
    assert d.stage()["id"] == "train-v3"  # the degradation is still being worked on
