"""Gates and degradation rules judge a metric by the one comparison (lifecycle/bounds.py): same tolerance,
same missing-metric and non-finite semantics. Drawn with NaN, infinities, missing and out-of-range values."""

from __future__ import annotations

import math

from hypothesis import given
from hypothesis import strategies as st

from modelops.api.metrics import ALL_METRICS
from modelops.lifecycle import reasons
from modelops.lifecycle.degradation import EvaluationInput, violations
from modelops.lifecycle.gates import Gate, evaluate_gate

values = st.one_of(st.none(), st.just(float("nan")), st.just(float("inf")), st.just(-float("inf")),
                   st.floats(-2.0, 3.0), st.sampled_from([0.0, 0.05, 0.8, 0.85, 0.9, 0.95, 1.0]))
allowed = st.one_of(st.floats(0.0, 1.0), st.sampled_from([0.0, 0.02, 0.05, 0.1]))


def _metrics(metric: str, value: float | None) -> dict[str, float]:
    return {} if value is None else {metric: value}


def _degraded(rule: dict, live: dict[str, float], reference: dict[str, float]) -> bool:
    found = violations(EvaluationInput(rules=[rule], metrics=live, validation_metrics=reference, drift={}))
    return bool(found)


@given(metric=st.sampled_from(ALL_METRICS), value=values, reference=values, bound=allowed)
def test_max_regression_and_max_drop_agree(metric, value, reference, bound) -> None:
    candidate, baseline = _metrics(metric, value), _metrics(metric, reference)
    [gate] = evaluate_gate(Gate(metric, max_regression=bound), candidate, baseline, baseline_version=1)
    assert gate.passed == (not _degraded({"metric": metric, "maxDrop": bound}, candidate, baseline))
    if value is None or not math.isfinite(value) or reference is None or not math.isfinite(reference):
        assert not gate.passed  # a bound that cannot be checked fails in both


@given(metric=st.sampled_from(ALL_METRICS), value=values, bound=st.floats(-1.0, 2.0),
       kind=st.sampled_from(["min", "max"]))
def test_absolute_bounds_agree(metric, value, bound, kind) -> None:
    candidate = _metrics(metric, value)
    [gate] = evaluate_gate(Gate(metric, **{kind: bound}), candidate, None)
    assert gate.passed == (not _degraded({"metric": metric, kind: bound}, candidate, {}))
    if value is None or not math.isfinite(value):
        assert not gate.passed and gate.value is None


def test_the_reported_disagreement_is_gone() -> None:
    """'accuracy 0.85 is 0.05 worse ... allowed 0.05' no longer marks Degraded while maxRegression 0.05 passes."""
    [gate] = evaluate_gate(Gate("accuracy", max_regression=0.05), {"accuracy": 0.85}, {"accuracy": 0.9}, 1)
    assert gate.passed
    assert not _degraded({"metric": "accuracy", "maxDrop": 0.05}, {"accuracy": 0.85}, {"accuracy": 0.9})
    assert _degraded({"metric": "accuracy", "maxDrop": 0.05}, {"accuracy": 0.84}, {"accuracy": 0.9})


def test_a_non_finite_live_metric_is_a_named_violation() -> None:
    found = violations(EvaluationInput(rules=[{"metric": "accuracy", "min": 0.75}], metrics={"accuracy": math.nan},
                                       validation_metrics={}, drift={}))
    assert found == [(reasons.QUALITY_UNMEASURED, "accuracy (min 0.75): not finite")]
