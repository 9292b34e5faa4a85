"""Metrics as stages really report them (NaN, infinities, null through the JSON result contract, missing,
a string) through the lifecycle core: decide() never raises, a gate metric that is not a finite number
blesses nothing, a judged rule on such a metric degrades, and the gates and the degradation rules judge
the same numbers the same way (lifecycle/bounds.py)."""

from __future__ import annotations

import math

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from lifecycle_helpers import GOOD, Driver, sample_spec

from modelops.lifecycle import Reconcile, StageFinished
from modelops.lifecycle.degradation import EvaluationInput, violations
from modelops.lifecycle.gates import Gate, evaluate_gate
from modelops.lifecycle.records import find_version

SPEC = sample_spec(**{"monitoring.onDegradation": "Alert"})
_odd = st.sampled_from([math.nan, math.inf, -math.inf, None, "n/a"])
metric_values = st.fixed_dictionaries({}, optional={
    "accuracy": st.one_of(st.floats(0.3, 1.0), _odd), "auc": st.one_of(st.floats(0.3, 1.0), _odd),
    "loss": st.one_of(st.floats(0.0, 2.0), _odd),
})


def _finite(value) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def _gates_and_rules_agree(metrics: dict) -> None:
    """The spec's absolute quality rules, checked as gates and as degradation rules on the same numbers."""
    numbers = {k: v for k, v in metrics.items() if isinstance(v, float)}  # null and strings: not measured
    for rule in SPEC["monitoring"]["degradation"]:
        for kind in ("min", "max"):
            if kind in rule:
                [gate] = evaluate_gate(Gate(rule["metric"], **{kind: rule[kind]}), numbers, None)
                violated = violations(EvaluationInput(rules=[{"metric": rule["metric"], kind: rule[kind]}],
                                                      metrics=numbers, validation_metrics={}, drift={}))
                assert gate.passed == (not violated), (rule, numbers)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(validation=metric_values, baseline=metric_values)
def test_a_validation_with_any_metrics_never_raises_and_blesses_only_finite_gate_metrics(validation, baseline):
    d = Driver(sample_spec())
    d.to_serving()
    d.edit(sample_spec(**{"training.hyperparameters.epochs": 9}))
    d.finish(metrics={"loss": 0.2})
    stage = d.stage()
    assert stage is not None and stage["name"] == "validate"
    d.feed(StageFinished(stage["id"], True, {"metrics": validation, "baselineMetrics": baseline}))
    record = find_version(d.status, 2)
    gate_metrics_finite = all(_finite(validation.get(m)) for m in ("accuracy", "auc"))
    if not gate_metrics_finite or not _finite(baseline.get("accuracy")):
        assert record["state"] not in ("Blessed", "Canary", "Serving"), record
    assert d.status["servingVersion"] in (1, 2)
    _gates_and_rules_agree(validation)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(results=st.lists(st.tuples(metric_values, st.booleans()), min_size=1, max_size=12))
def test_evaluations_with_any_metrics_never_raise_and_unmeasured_rules_degrade(results: list) -> None:
    """From a serving version, evaluations report whatever they report (a failed one too): the core keeps
    deciding, and a judged evaluation whose accuracy is not a finite number is degraded, never healthy."""
    d = Driver(SPEC)
    d.to_serving()
    for metrics, succeeded in results:
        d.advance(300)
        d.feed(Reconcile())
        stage = d.stage()
        assert stage is not None and stage["name"] == "evaluate"
        d.feed(StageFinished(stage["id"], succeeded, {"metrics": metrics} if succeeded else {"error": "x"}))
        _gates_and_rules_agree(metrics)
        last = d.status["lastEvaluation"]
        if succeeded and last.get("verdict") == "Judged":
            accuracy = metrics.get("accuracy")
            validated = GOOD["accuracy"]
            expected = not _finite(accuracy) or accuracy < 0.75 - 1e-9 or accuracy < validated - 0.05 - 1e-9
            assert last["degraded"] == expected, (metrics, last)
        assert d.status["servingVersion"] == 1  # Alert: nothing replaces it
