"""The drift decision (lifecycle/drift.py) and its policies: corrections, verdicts, onDrift."""

from __future__ import annotations

import json

import pytest
from hypothesis import given
from hypothesis import strategies as st
from lifecycle_helpers import Driver, conditions, measured_drift, sample_spec, started

from modelops.lifecycle.drift import adjusted_p_values, judge_drift, required_drifted

RULE = {"enabled": True, "alpha": 0.05, "correction": "benjamini-hochberg", "minDriftedShare": 0.0, "minRows": 30,
        "metric": "psi", "threshold": 0.0}
P_VALUES = st.lists(st.floats(min_value=0.0, max_value=1.0), min_size=1, max_size=40).map(sorted)


@given(P_VALUES, st.floats(min_value=0.001, max_value=0.5))
def test_benjamini_hochberg_rejects_exactly_the_step_up_set(p: list[float], alpha: float) -> None:
    m = len(p)
    # The textbook rule: reject the k smallest, k the largest rank with p(k) * m / k <= alpha.
    k = max((i + 1 for i in range(m) if p[i] * m / (i + 1) <= alpha), default=0)
    adjusted = adjusted_p_values(p, m, "benjamini-hochberg")
    assert [q <= alpha for q in adjusted] == [i < k for i in range(m)]
    assert adjusted == sorted(adjusted) and all(0.0 <= q <= 1.0 for q in adjusted)


@given(P_VALUES, st.integers(min_value=0, max_value=20))
def test_bonferroni_multiplies_by_all_tests_including_untold_ones(p: list[float], untold: int) -> None:
    adjusted = adjusted_p_values(p, len(p) + untold, "bonferroni")
    assert adjusted == [min(1.0, x * (len(p) + untold)) for x in p]


def test_missing_tail_p_values_only_make_benjamini_hochberg_stricter() -> None:
    full = [0.001, 0.004, 0.02, 0.03, 0.5, 0.9]
    assert adjusted_p_values(full[:3], len(full), "benjamini-hochberg") >= adjusted_p_values(
        full, len(full), "benjamini-hochberg")[:3]


def test_thirty_features_at_the_single_test_level_are_not_thirty_alarms() -> None:
    # Every feature at p = 0.03 looks drifted one at a time; corrected over 30 features, one is not enough...
    lone = judge_drift(RULE, measured_drift([0.03] + [0.5] * 29))
    assert lone["verdict"] == "NoDrift" and lone["drifted"] == 0
    assert lone["features"][0]["adjustedPValue"] == pytest.approx(0.5)  # step-up: 0.5 * 30 / 30
    # ...while a real shift (tiny p) is found, and names its feature.
    shifted = judge_drift(RULE, measured_drift([1e-8] + [0.5] * 29))
    assert shifted["verdict"] == "Drifted" and shifted["drifted"] == 1 and "f0" in shifted["message"]
    assert [f["drifted"] for f in shifted["features"]] == [True, False, False, False, False]


def test_benjamini_hochberg_finds_several_moderate_shifts_bonferroni_misses() -> None:
    measured = measured_drift([0.003, 0.006, 0.007, 0.008] + [0.6] * 6)
    assert judge_drift(RULE, measured)["drifted"] == 4
    assert judge_drift({**RULE, "correction": "bonferroni"}, measured)["drifted"] == 1


def test_small_samples_are_inconclusive_never_drifted() -> None:
    judged = judge_drift(RULE, measured_drift([1e-9] * 13, rows=29))
    assert judged["verdict"] == "Inconclusive" and "29 live rows < drift.minRows 30" in judged["message"]
    assert judge_drift(RULE, measured_drift([1e-9] * 13, rows=30))["verdict"] == "Drifted"
    assert judge_drift(RULE, measured_drift([]))["verdict"] == "Inconclusive"
    assert judge_drift(RULE, {"maxPsi": 1.57})["verdict"] == "Inconclusive"  # no per-feature tests reported
    assert judge_drift({**RULE, "enabled": False}, measured_drift([1e-9]))["verdict"] == "Disabled"


def test_effect_size_threshold_ignores_significant_but_tiny_shifts() -> None:
    measured = measured_drift([1e-9, 1e-6, 0.7], psi=[0.02, 0.3, 0.01])
    assert judge_drift(RULE, measured)["drifted"] == 2
    floored = judge_drift({**RULE, "threshold": 0.1}, measured)
    assert floored["drifted"] == 1 and [f["drifted"] for f in floored["features"]] == [False, True, False]
    unset = {k: v for k, v in RULE.items() if k != "threshold"}
    assert judge_drift(unset, measured)["drifted"] == 1  # the default floor is PSI 0.1
    assert judge_drift({**RULE, "threshold": 0.1, "metric": "js"}, measured)["drifted"] == 2  # js 0.1 each


@pytest.mark.parametrize(("share", "needed"), [(0.0, 1), (0.1, 1), (0.25, 3), (0.5, 5), (1.0, 10)])
def test_dataset_rule_needs_the_share_of_drifted_features(share: float, needed: int) -> None:
    assert required_drifted(10, share) == needed
    rule = {**RULE, "minDriftedShare": share}
    assert judge_drift(rule, measured_drift([1e-9] * needed + [0.9] * (10 - needed)))["verdict"] == "Drifted"
    if needed > 1:
        assert judge_drift(rule, measured_drift([1e-9] * (needed - 1) + [0.9] * (11 - needed)))["verdict"] == "NoDrift"


DRIFTED = measured_drift([1e-9, 0.5, 0.8])


def _serving(**overrides: object) -> Driver:
    """Serving, with drift acting on its first alarm (confirmation has its own tests)."""
    d = Driver(sample_spec(**{"monitoring.drift.confirm": {"required": 1, "window": 1}, **overrides}))
    d.to_serving()
    return d


def test_on_drift_alert_marks_degraded_without_retraining() -> None:
    d = _serving(**{"monitoring.onDrift": "Alert"})
    decision = d.evaluate(metrics={"accuracy": 0.89}, drift=DRIFTED)
    last = d.status["lastEvaluation"]
    assert last["reason"] == "DataDrift" and last["causes"] == ["Drift"] and last["drift"]["verdict"] == "Drifted"
    assert d.status["phase"] == "Degraded" and conditions(d.status)["Degraded"] == "True" and started(decision) == []


def test_on_drift_ignore_records_the_verdict_but_stays_healthy() -> None:
    d = _serving(**{"monitoring.onDrift": "Ignore"})
    d.evaluate(metrics={"accuracy": 0.89}, drift=DRIFTED)
    last = d.status["lastEvaluation"]
    assert last["drift"]["verdict"] == "Drifted" and last["degraded"] is False and last["reason"] == "Healthy"
    assert d.status["phase"] == "Serving" and conditions(d.status)["Degraded"] == "False"


def test_quality_and_drift_keep_their_own_reasons_and_policies() -> None:
    # Quality alerts only, drift retrains: a drifted evaluation retrains even with onDegradation Alert.
    d = _serving(**{"monitoring.onDegradation": "Alert", "monitoring.onDrift": "Retrain"})
    [train] = started(d.evaluate(metrics={"accuracy": 0.6}, drift=DRIFTED))
    last = d.status["lastEvaluation"]
    assert last["causes"] == ["Quality", "Drift"] and last["reason"] == "QualityBelowFloor"
    assert last["reasons"][0] == "accuracy 0.6 < min 0.75"
    assert last["reasons"][-1].startswith("data drift: 1 of 3 features drifted")
    assert train.version == 2 and d.status["phase"] == "Retraining"
    # Quality alone under Alert does not retrain, whatever onDrift says.
    q = _serving(**{"monitoring.onDegradation": "Alert", "monitoring.onDrift": "Retrain"})
    assert started(q.evaluate(metrics={"accuracy": 0.6}, drift=measured_drift([0.5, 0.8]))) == []
    assert q.status["phase"] == "Degraded" and q.status["lastEvaluation"]["causes"] == ["Quality"]


def test_on_drift_defaults_to_on_degradation() -> None:
    d = _serving(**{"monitoring.onDegradation": "Alert"})
    assert started(d.evaluate(metrics={"accuracy": 0.89}, drift=DRIFTED)) == []
    assert d.status["phase"] == "Degraded"


def test_inconclusive_drift_never_degrades() -> None:
    d = _serving()
    d.evaluate(metrics={"accuracy": 0.89}, drift=measured_drift([1e-12] * 13, rows=12), rows=12)
    assert d.status["lastEvaluation"]["drift"]["verdict"] == "Inconclusive"
    assert d.status["phase"] == "Serving" and conditions(d.status)["Degraded"] == "False"


def test_every_verdict_has_the_same_keys() -> None:
    # The operator merge-patches status: a key missing from a later verdict would keep a stale value.
    verdicts = [judge_drift(RULE, measured_drift([1e-9, 0.5])), judge_drift(RULE, measured_drift([0.5, 0.6])),
                judge_drift(RULE, measured_drift([1e-9], rows=3)), judge_drift({**RULE, "enabled": False},
                                                                            measured_drift([1e-9]))]
    assert [v["verdict"] for v in verdicts] == ["Drifted", "NoDrift", "Inconclusive", "Disabled"]
    assert all(set(v) == set(verdicts[0]) for v in verdicts)
    assert verdicts[2]["drifted"] == 0 and verdicts[2]["features"][0]["drifted"] is False


def test_a_feature_is_named_as_drifted_only_when_one_drifted() -> None:
    assert judge_drift(RULE, measured_drift([0.5, 0.6]))["driftedFeature"] is None
    assert judge_drift(RULE, measured_drift([1e-9, 0.6]))["driftedFeature"] == "f0"


def test_features_tied_on_p_value_read_in_column_order() -> None:
    import numpy as np

    from modelops.workloads.drift.measure import compute_drift
    from modelops.workloads.drift.profile import build_profile

    names = [f"f{i}" for i in range(12)]
    column = np.linspace(0.0, 1.0, 200)
    table = np.column_stack([column] * 12)  # identical columns: identical p-values
    report = compute_drift(build_profile(table, names, seed=1), table[:100], names)
    assert [f["name"] for f in report["features"]] == names  # f2 before f10, not f10 before f2


# ---------------------------------------------------------------- every tested feature counts (issue #26)
def _report(p_values: list[float], effects: list[float]) -> dict:
    """A worker's drift report (measure.compute_drift's shape), features most significant first."""
    pairs = sorted(zip(p_values, effects, strict=True))
    features = [{"name": f"f{i}", "type": "numeric", "test": "ks", "statistic": 0.1, "pValue": p, "psi": e,
                 "js": e, "ks": e} for i, (p, e) in enumerate(pairs)]
    return {"rows": 5000, "referenceRows": 5000, "features": features, "maxPsi": max(effects, default=0.0),
            "maxJs": 0.0, "maxKs": 0.0, "driftedFeature": None}


def _summarized(p_values: list[float], effects: list[float], threshold: float) -> dict:
    """What the evaluate stage reports for the drift rule's floor, after a JSON round trip."""
    from modelops.workloads.config.stage import DriftFloor
    from modelops.workloads.drift.measure import summarize_drift
    summary = summarize_drift(_report(p_values, effects), floor=DriftFloor("psi", threshold))
    return json.loads(json.dumps(summary))


def _decided_with_full_knowledge(p_values: list[float], effects: list[float], rule: dict) -> int:
    pairs = sorted(zip(p_values, effects, strict=True))
    adjusted = adjusted_p_values([p for p, _ in pairs], len(pairs), rule["correction"])
    return sum(1 for q, (_, e) in zip(adjusted, pairs, strict=True) if q <= rule["alpha"] and e >= rule["threshold"])


@pytest.mark.parametrize("features", [50, 60, 150])
def test_negligible_effects_never_drift_whatever_the_feature_count(features: int) -> None:
    rule = {**RULE, "threshold": 0.1}
    verdict = judge_drift(rule, _summarized([1e-12] * features, [0.01] * features, 0.1))
    assert verdict["verdict"] == "NoDrift" and verdict["drifted"] == 0


FEATURE = st.tuples(st.sampled_from([1e-12, 1e-6, 0.001, 0.02, 0.3, 0.9]), st.sampled_from([0.0, 0.05, 0.1, 0.2, 1.5]))


@given(st.integers(1, 180).flatmap(lambda n: st.lists(FEATURE, min_size=n, max_size=n)),
       st.sampled_from([0.05, 0.1, 0.25]), st.sampled_from(["bonferroni", "benjamini-hochberg"]))
def test_drift_decision_uses_every_tested_feature_not_only_the_summarized(features, threshold, correction) -> None:
    """Invariant to the feature count above the summary's 50 effect sizes: the verdict from the worker's
    summary equals the one decided with every feature's p-value and effect size in hand."""
    p_values, effects = [p for p, _ in features], [e for _, e in features]
    rule = {**RULE, "threshold": threshold, "correction": correction}
    verdict = judge_drift(rule, _summarized(p_values, effects, threshold))
    assert verdict["drifted"] == _decided_with_full_knowledge(p_values, effects, rule)
