"""Whatever a worker writes, the core decides without raising: malformed or non-finite results fail with a
named reason (lifecycle/results_parser.py), and a non-finite validation metric fails its gate."""

from __future__ import annotations

import copy
import math

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from lifecycle_helpers import GOOD, Driver, conditions, sample_spec

from modelops.lifecycle import EmitEvent, Reconcile, StageFinished, reasons
from modelops.lifecycle.records import find_version
from modelops.lifecycle.results_parser import parse_stage_result


def _training(d: Driver) -> None:
    d.feed(Reconcile())
    assert d.stage()["name"] == "train"


@pytest.mark.parametrize("loss", [None, float("nan"), float("inf"), -float("inf")])
def test_a_diverged_training_fails_its_version_with_a_named_reason(loss) -> None:
    d = Driver(sample_spec())
    _training(d)
    decision = d.finish(metrics={"loss": loss, "accuracy": 0.5})
    record = find_version(d.status, 1)
    assert record["state"] == "Failed" and record["reason"] == reasons.TRAINING_DIVERGED
    assert "metrics.loss" in record["message"]
    assert d.status["phase"] == "Failed" and d.status["failure"]["reason"] == reasons.TRAINING_FAILED
    assert [a.reason for a in decision.actions if isinstance(a, EmitEvent)].count(reasons.TRAINING_FAILED) == 1
    assert d.stage() is None  # no retry loop: a spec edit recovers


@pytest.mark.parametrize(("result", "field"), [
    ({"metrics": {"loss": "abc"}}, "metrics.loss"),
    ({"metrics": ["loss", 0.3]}, "metrics"),
    ({"metrics": {"loss": True}}, "metrics.loss"),
    ({"metrics": {"loss": 0.3}, "lineage": {"data": "x"}}, "lineage.data"),
])
def test_a_malformed_training_result_fails_naming_the_field(result, field) -> None:
    d = Driver(sample_spec())
    _training(d)
    d.finish(**result)
    record = find_version(d.status, 1)
    assert record["reason"] == reasons.MALFORMED_RESULT and field in record["message"]


def test_a_result_that_is_not_an_object_fails_the_stage() -> None:
    d = Driver(sample_spec())
    _training(d)
    d.feed(StageFinished(d.stage()["id"], True, ["not", "an", "object"]))  # type: ignore[arg-type]
    assert find_version(d.status, 1)["reason"] == reasons.MALFORMED_RESULT


@pytest.mark.parametrize("accuracy", [None, float("nan"), float("inf")])
def test_a_non_finite_validation_metric_fails_its_gate(accuracy) -> None:
    d = Driver(sample_spec())
    _training(d)
    d.finish(metrics={"loss": 0.3})
    d.finish(metrics={**GOOD, "accuracy": accuracy})
    record = find_version(d.status, 1)
    assert record["state"] == "Rejected" and record["reason"] == reasons.GATE_FAILED
    failed = [g for g in record["gates"] if not g["passed"]]
    assert failed and all(g["metric"] == "accuracy" and g["value"] is None for g in failed)
    assert "not finite" in record["message"]
    assert "accuracy" not in record["metrics"]  # status is JSON: no NaN is stored


def test_a_malformed_evaluation_counts_as_a_failed_evaluation() -> None:
    d = Driver(sample_spec())
    d.to_serving()
    decision = d.evaluate(metrics={"accuracy": "abc"}, rows=100)
    assert "metrics.accuracy" in d.status["lastEvaluation"]["error"]
    assert any(isinstance(a, EmitEvent) and a.reason == reasons.EVALUATION_FAILED for a in decision.actions)
    assert d.status["servingVersion"] == 1


def test_a_malformed_drift_summary_fails_the_evaluation() -> None:
    d = Driver(sample_spec())
    d.to_serving()
    d.evaluate(metrics=GOOD, rows=100, drift={"rows": 100, "tested": 2, "ranked": {"pValue": [0.5, "x"]}})
    assert "drift.ranked.pValue[1]" in d.status["lastEvaluation"]["error"]


def test_the_parser_keeps_well_formed_values_typed() -> None:
    outcome = parse_stage_result("validate", True, {"metrics": {"accuracy": 0.9, "loss": None},
                                                    "baselineMetrics": {"accuracy": 1},
                                                    "challenge": {"rows": 50.0, "candidate": {"accuracy": 0.9}}})
    assert outcome.ok
    assert outcome.result["metrics"]["accuracy"] == 0.9 and math.isnan(outcome.result["metrics"]["loss"])
    assert outcome.result["baselineMetrics"] == {"accuracy": 1.0}
    assert outcome.result["challenge"]["rows"] == 50


# Any JSON a worker could write, for any stage: the core never raises and never stores a non-finite number.
json_values = st.recursive(
    st.none() | st.booleans() | st.integers(-5, 10**6) | st.floats(allow_nan=True, allow_infinity=True)
    | st.text(max_size=4),
    lambda children: st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=6), children, max_size=3),
    max_leaves=8,
)
metric_like = st.one_of(st.none(), st.floats(allow_nan=True, allow_infinity=True), st.floats(-1, 2),
                        st.text(max_size=3), st.booleans())
result_fields = st.fixed_dictionaries({}, optional={
    "metrics": st.dictionaries(st.sampled_from(["accuracy", "auc", "loss"]), metric_like, max_size=3) | json_values,
    "baselineMetrics": st.dictionaries(st.sampled_from(["accuracy", "loss"]), metric_like, max_size=2),
    "rows": st.one_of(st.integers(-2, 500), st.floats(allow_nan=True), st.text(max_size=2), st.none()),
    "totalRows": json_values, "excludedRows": json_values, "drift": json_values, "lineage": json_values,
    "challenge": json_values, "objective": json_values, "trials": json_values, "bestTrials": json_values,
})


def _finite_everywhere(value) -> bool:
    if isinstance(value, float):
        return math.isfinite(value)
    if isinstance(value, dict):
        return all(_finite_everywhere(v) for v in value.values())
    if isinstance(value, list):
        return all(_finite_everywhere(v) for v in value)
    return True


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(results=st.lists(result_fields, min_size=4, max_size=4), succeeded=st.booleans())
def test_no_worker_output_makes_the_core_raise(results, succeeded) -> None:
    d = Driver(sample_spec(**{"monitoring.interval": "60s"}))
    d.to_serving()
    d.feed(Reconcile())
    for result in results:
        d.advance(61)
        d.feed(Reconcile())
        if d.stage() is None:
            break
        d.feed(StageFinished(d.stage()["id"], succeeded, copy.deepcopy(result)))
        assert _finite_everywhere(d.status), d.status
    assert d.status["servingVersion"] == 1 and conditions(d.status)["Available"] == "True"


def test_a_non_finite_live_metric_degrades_the_serving_version() -> None:
    d = Driver(sample_spec(**{"monitoring.onDegradation": "Alert"}))
    d.to_serving()
    d.evaluate(metrics={"accuracy": None}, rows=100)
    assert conditions(d.status)["Degraded"] == "True"
    assert d.status["lastEvaluation"]["reason"] == reasons.QUALITY_UNMEASURED
    assert d.status["lastEvaluation"]["metrics"] == {}
