"""Healing that is honest (#28), in the pure core: too few unseen rows is Inconclusive (never a pass), drift
acts only when it persists on distinct data, every attempt waits for a new evaluation, and the texts say
which version a retrain would repeat."""

from __future__ import annotations

from typing import Any

from lifecycle_helpers import GOOD, Driver, conditions, measured_drift, sample_spec, started

from modelops.lifecycle import EmitEvent, Reconcile
from modelops.lifecycle.drift_confirmation import confirmation, record_vote
from modelops.lifecycle.records import find_version

BAD = {"accuracy": 0.6}
TRAIN = "t" * 64


def _spec(**overrides: Any) -> dict[str, Any]:
    return sample_spec(**{"retraining.dataset": None, "retraining.cooldown": "1s", **overrides})


def _lineage(live: str, train: str = TRAIN) -> dict[str, Any]:
    fingerprint = {"uri": "/data/x.csv", "rows": 100, "columns": 8, "schema": "s" * 16}
    return {"data": {**fingerprint, "role": "monitoring", "sha256": live},
            "retrainInputs": [{**fingerprint, "role": "training", "sha256": train}]}


def _reasons(d: Driver) -> list[str]:
    return [a.reason for decision in d.history for a in decision.actions if isinstance(a, EmitEvent)]


def _serving(**overrides: Any) -> Driver:
    d = Driver(_spec(**overrides))
    d.to_serving()
    return d


def _retrained(d: Driver, live: str = "a" * 64) -> None:
    """Degrade version 1 and finish its retrain's training (monitoring rows partly held out)."""
    d.evaluate(metrics=BAD, lineage=_lineage(live))
    d.finish(metrics={"loss": 0.2}, lineage={"data": [
        {"role": "training", "sha256": TRAIN, "rows": 100},
        {"role": "monitoring", "sha256": live, "rows": 100, "rowsUsed": 70, "holdout": 0.3, "heldOutRows": 30}]})


def test_a_challenge_on_too_few_unseen_rows_is_inconclusive_and_never_blesses() -> None:
    d = _serving(**{"retraining.holdout": {"fraction": 0.3, "minRows": 20}})
    _retrained(d)
    d.finish(metrics={**GOOD, "accuracy": 0.93}, baselineMetrics=GOOD,
             challenge={"rows": 12, "totalRows": 40, "excludedRows": {"candidate": 28, "baseline": 0},
                        "candidate": {"accuracy": 0.99}, "baseline": BAD})
    record = find_version(d.status, 2)
    assert record["state"] == "Rejected" and record["reason"] == "ChallengeInconclusive"
    assert record["challenge"]["verdict"] == "Inconclusive" and record["challenge"]["passed"] is False
    assert "only 12 monitoring rows neither version was trained on (of 40" in record["message"]
    assert "< retraining.holdout.minRows 20" in record["message"] and d.status["servingVersion"] == 1


def test_an_evaluation_that_left_out_trained_rows_and_has_too_few_left_is_inconclusive_not_recovered() -> None:
    d = _serving()
    _retrained(d)
    d.finish(metrics={**GOOD, "accuracy": 0.93}, baselineMetrics=GOOD,
             challenge={"rows": 30, "candidate": {"accuracy": 0.9}, "baseline": BAD})
    d.serve_ready(2)
    decision = d.evaluate(metrics={"accuracy": 0.95}, rows=5, totalRows=75, excludedRows={"trainedOn": 70},
                          lineage=_lineage("a" * 64))
    last = d.status["lastEvaluation"]
    assert last["verdict"] == "Inconclusive" and last["degraded"] is False and last["reason"] == "Inconclusive"
    assert "only 5 of 75 monitoring rows are unseen by version 2 (70 were trained on)" in last["message"]
    assert "Recovered" not in _reasons(d) and d.status["retrain"]["attempts"] == 1  # the episode stays open
    degraded = next(c for c in d.status["conditions"] if c["type"] == "Degraded")
    assert (degraded["status"], degraded["reason"]) == ("Unknown", "EvaluationInconclusive")
    assert [a.reason for a in decision.actions if isinstance(a, EmitEvent)] == ["EvaluationInconclusive"]
    # enough rows it never saw: judged, and only then Recovered
    d.evaluate(metrics={"accuracy": 0.95}, rows=60, totalRows=130, excludedRows={"trainedOn": 70},
               lineage=_lineage("b" * 64))
    assert d.status["lastEvaluation"]["verdict"] == "Judged" and "Recovered" in _reasons(d)


def test_drift_alone_acts_only_when_confirmed_on_distinct_data() -> None:
    d = _serving(**{"monitoring.drift.confirm": {"required": 3, "window": 4}})
    drifted = measured_drift([1e-9, 0.5, 0.8])
    for batch in ("a", "b"):  # two drifted batches: recorded, not acted on
        decision = d.evaluate(metrics={"accuracy": 0.89}, drift=drifted, lineage=_lineage(batch * 64))
        assert started(decision) == [] and d.status["phase"] == "Serving"
        drift = d.status["lastEvaluation"]["drift"]
        assert drift["verdict"] == "Drifted" and drift["confirmed"] is False
    assert "not acted on yet: 2 of the last 2 evaluation(s) on distinct data drifted (3 of 4 needed" in drift["message"]
    # the same batch read again is not new evidence
    d.evaluate(metrics={"accuracy": 0.89}, drift=drifted, lineage=_lineage("b" * 64))
    assert d.status["lastEvaluation"]["drift"]["confirmed"] is False and len(d.status["driftVotes"]) == 2
    decision = d.evaluate(metrics={"accuracy": 0.89}, drift=drifted, lineage=_lineage("c" * 64))
    last = d.status["lastEvaluation"]
    assert last["drift"]["confirmed"] is True and last["reason"] == "DataDrift"
    assert [s.stage for s in started(decision)] == ["train"]


def test_quality_rules_act_at_once_whatever_drift_confirmation_says() -> None:
    d = _serving()
    decision = d.evaluate(metrics=BAD, drift=measured_drift([1e-9, 0.5]), lineage=_lineage("a" * 64))
    assert [s.stage for s in started(decision)] == ["train"] and d.status["lastEvaluation"]["causes"] == ["Quality"]


def test_votes_belong_to_one_version_and_the_window_slides() -> None:
    votes: list[dict[str, Any]] = []
    for sha, drifted in (("a", True), ("b", False), ("c", True), ("d", True), ("e", True)):
        votes = record_vote(votes, 1, sha, drifted, window=4)
    assert [v["sha256"] for v in votes] == ["b", "c", "d", "e"] and confirmation(votes, 3, 4)[0]
    assert record_vote(votes, 2, "f", True, window=4) == [{"version": 2, "sha256": "f", "drifted": True}]


def test_a_new_attempt_waits_for_a_new_evaluation_and_names_the_version_it_would_repeat() -> None:
    d = _serving(**{"retraining.minImprovement": 0.05})
    _retrained(d, live="a" * 64)
    d.finish(metrics={**GOOD, "accuracy": 0.93}, baselineMetrics=GOOD,
             challenge={"rows": 30, "candidate": {"accuracy": 0.61}, "baseline": BAD})
    assert find_version(d.status, 2)["state"] == "Rejected"
    for _ in range(3):  # reconciles, time passes: no attempt without an evaluation in between
        d.advance(5)
        decision = d.feed(Reconcile())
        assert all(s.stage != "train" for s in started(decision))
    # the next evaluation reads the same data version 2 was made from: a repeat, named as the rejected candidate
    if d.stage() is None:
        d.advance(300)
        d.feed(Reconcile())
    d.finish(metrics=BAD, lineage=_lineage("a" * 64))
    assert d.status["retrain"]["waiting"] == "RetrainWouldRepeat" and d.status["retrain"]["repeats"] == 2
    degraded = next(c for c in d.status["conditions"] if c["type"] == "Degraded")
    assert "same data and spec as version 2 (a rejected candidate of this episode)" in degraded["message"]
    assert conditions(d.status)["Degraded"] == "True"


def test_model_degraded_is_posted_when_what_is_wrong_changes_not_at_every_evaluation() -> None:
    d = _serving(**{"monitoring.onDegradation": "Alert"})
    for batch in ("a", "b", "c"):
        d.evaluate(metrics=BAD, lineage=_lineage(batch * 64))
    assert _reasons(d).count("ModelDegraded") == 1
    assert d.status["lastEvaluation"]["stageId"].startswith("evaluate-v1-e")


def _candidate_below_floor(**overrides: Any) -> Driver:
    """Serving v1 scores 0.66 on the validation rows, below the 0.8 floor; v2 scores 0.78 there."""
    d = _serving(**overrides)
    _retrained(d)
    weak, better = {**GOOD, "accuracy": 0.66}, {**GOOD, "accuracy": 0.78}
    d.finish(metrics=better, baselineMetrics=weak, challenge={"rows": 30, "candidate": better, "baseline": weak})
    return d


def test_a_candidate_that_beats_a_serving_version_missing_the_same_floor_replaces_it_and_stays_degraded() -> None:
    d = _candidate_below_floor()
    record = find_version(d.status, 2)
    assert record["state"] == "Blessed" and record["reason"] == "BeatsServingBelowFloor"
    assert record["floorsUnmet"] == ["accuracy 0.78 < min 0.8 (serving 0.66)"]
    d.serve_ready(2)
    assert d.status["servingVersion"] == 2
    degraded = next(c for c in d.status["conditions"] if c["type"] == "Degraded")
    assert (degraded["status"], degraded["reason"]) == ("True", "FloorUnmet") and "accuracy 0.78 < min 0.8" in \
        degraded["message"]
    d.evaluate(metrics={"accuracy": 0.9}, lineage=_lineage("b" * 64))  # healthy live: the floor is still unmet
    assert conditions(d.status)["Degraded"] == "True" and d.status["phase"] == "Degraded"


def test_strict_floors_and_floors_the_serving_version_meets_still_reject() -> None:
    strict = _candidate_below_floor(**{"validation.floorPolicy": "Strict"})
    assert find_version(strict.status, 2)["state"] == "Rejected"
    d = _serving()
    _retrained(d)
    d.finish(metrics={**GOOD, "accuracy": 0.78}, baselineMetrics=GOOD,
             challenge={"rows": 30, "candidate": {"accuracy": 0.78}, "baseline": BAD})
    assert find_version(d.status, 2)["state"] == "Rejected" and "floorsUnmet" not in find_version(d.status, 2)


def test_a_retrained_versions_live_reference_is_its_value_on_held_out_recent_rows() -> None:
    d = _serving()
    _retrained(d)
    recent = {**GOOD, "accuracy": 0.85}  # on held-out live rows; the old world's validation set says 0.93
    d.finish(metrics={**GOOD, "accuracy": 0.93}, baselineMetrics=GOOD,
             challenge={"rows": 30, "candidate": recent, "baseline": BAD})
    assert find_version(d.status, 2)["recentMetrics"]["accuracy"] == 0.85
    d.serve_ready(2)
    d.evaluate(metrics={"accuracy": 0.83}, lineage=_lineage("b" * 64))  # 0.10 below validation, 0.02 below recent
    last = d.status["lastEvaluation"]
    assert last["degraded"] is False and last["referenceData"] == "heldOutRecentRows"
    d.evaluate(metrics={"accuracy": 0.78}, lineage=_lineage("c" * 64))
    assert "accuracy 0.78 is 0.07 worse than on its held-out recent rows (0.85; allowed 0.05)" in \
        d.status["lastEvaluation"]["reasons"]


def test_a_challenger_that_wins_only_by_chance_is_rejected() -> None:
    d = _serving()
    _retrained(d)
    d.finish(metrics={**GOOD, "accuracy": 0.93}, baselineMetrics=GOOD,
             challenge={"rows": 150, "candidate": {"accuracy": 0.53}, "baseline": {"accuracy": 0.5}, "pValue": 0.31})
    record = find_version(d.status, 2)
    assert record["state"] == "Rejected" and record["reason"] == "ChallengerNotBetter"
    assert "not better than chance (paired test p 0.31 > retraining.challengeAlpha 0.05)" in record["message"]
    assert record["challenge"]["improvement"] > 0 and record["challenge"]["pValue"] == 0.31


def test_a_degradation_candidates_change_gates_read_the_recent_rows_and_floors_the_validation_set() -> None:
    # Concept shift: on the old world's validation rows v2 is worse than v1 (0.85 vs 0.9, maxRegression 0.02),
    # on the held-out recent rows it is far better (0.9 vs 0.6).
    results = {}
    for where in ("recent", "validation", "both"):
        d = _serving(**{"retraining.changeGatesOn": where})
        _retrained(d)
        d.finish(metrics={**GOOD, "accuracy": 0.85}, baselineMetrics=GOOD,
                 challenge={"rows": 30, "candidate": {**GOOD, "accuracy": 0.9}, "baseline": {**GOOD, "accuracy": 0.6}})
        results[where] = find_version(d.status, 2)
    recent = results["recent"]
    assert recent["state"] == "Blessed"
    assert {(g["kind"], g["data"]) for g in recent["gates"]} == {
        ("min", "validation"), ("maxRegression", "heldOutRecentRows")}
    assert results["validation"]["state"] == results["both"]["state"] == "Rejected"
    assert "accuracy regressed by 0.05 from baseline 0.9 to 0.85" in results["both"]["message"]


def test_a_validation_window_reads_the_newest_rows_of_an_appended_file() -> None:
    spec = _spec()
    spec["validation"]["dataset"]["lastRows"] = 200
    d = Driver(spec)
    d.feed(Reconcile())
    [validate] = started(d.finish(metrics={"loss": 0.3}))
    assert validate.stage == "validate" and validate.dataset["maxRows"] == 200 and "lastRows" not in validate.dataset


def test_a_degradation_retrain_asks_for_data_recipes_and_records_the_one_kept() -> None:
    from modelops.contract.stage_config import build_stage_config

    d = _serving(**{"retraining.maxRecipes": 3})
    [train] = started(d.evaluate(metrics=BAD, lineage=_lineage("a" * 64)))
    config = build_stage_config(d.spec, "default", "churn", train, "/models")
    assert config["recipes"] == {"count": 3, "metric": "accuracy"}  # the first quality rule's metric
    assert [e["holdout"] for e in config["extraDatasets"]] == [0.3]
    first = Driver(_spec(**{"retraining.maxRecipes": 3}))
    [initial] = started(first.feed(Reconcile()))
    assert "recipes" not in build_stage_config(first.spec, "default", "churn", initial, "/models")
    chosen = {"metric": "accuracy", "heldOutRows": 30, "chosen": "recent",
              "tried": [{"name": "configured", "rows": 170, "value": 0.55}, {"name": "recent", "rows": 70,
                                                                             "value": 0.9}]}
    d.finish(metrics={"loss": 0.2}, recipes=chosen, lineage={"data": []})
    assert find_version(d.status, 2)["recipes"]["chosen"] == "recent"
