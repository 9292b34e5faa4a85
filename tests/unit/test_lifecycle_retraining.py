"""Retraining that heals: lineage, retraining on what changed, no pointless retrains, bounded episodes."""

from __future__ import annotations

from typing import Any

from lifecycle_helpers import GOOD, Driver, conditions, measured_drift, sample_spec, started

from modelops.lifecycle import EmitEvent, Reconcile
from modelops.lifecycle.records import find_version

TRAIN, LIVE, LIVE2 = "t" * 64, "m" * 64, "n" * 64
BAD = {"accuracy": 0.6}  # violates the sample's floor (0.75) and maxDrop rules


def _spec(**overrides: Any) -> dict[str, Any]:
    """The sample without an explicit retraining.dataset: retrains learn from training + monitoring data."""
    return sample_spec(**{"retraining.dataset": None, "retraining.cooldown": "1s", **overrides})


def _fingerprint(sha: str, role: str) -> dict[str, Any]:
    """What a worker reports; monitoring rows a retrain reads are held out in part (retraining.holdout)."""
    found = {"role": role, "uri": f"/data/{role}.csv", "sha256": sha, "rows": 100, "rowsUsed": 100, "columns": 8,
             "schema": "s" * 16}
    return {**found, "holdout": 0.3, "rowsUsed": 70, "heldOutRows": 30} if role == "monitoring" else found


def _evaluate(d: Driver, metrics: dict[str, float], live: str = LIVE, train: str = TRAIN):
    """An evaluation that measured the live data and what a retrain would read."""
    return d.evaluate(metrics=metrics, lineage={"data": _fingerprint(live, "monitoring"),
                                                "retrainInputs": [_fingerprint(train, "training")]})


def _serve_first(d: Driver) -> None:
    d.feed(Reconcile())
    d.finish(metrics={"loss": 0.3}, lineage={"data": [_fingerprint(TRAIN, "training")]})
    d.finish(metrics=GOOD)
    d.serve_ready(1)


def _train_and_validate(d: Driver, shas: list[tuple[str, str]], challenge: dict[str, float]) -> None:
    d.finish(metrics={"loss": 0.2}, lineage={"data": [_fingerprint(s, r) for s, r in shas]})
    d.finish(metrics={**GOOD, "accuracy": 0.93}, baselineMetrics=GOOD,
             challenge={"rows": 100, "candidate": challenge, "baseline": BAD})


def _reasons(d: Driver) -> list[str]:
    return [a.reason for decision in d.history for a in decision.actions if isinstance(a, EmitEvent)]


def test_every_version_records_its_data_lineage_and_spec_hash() -> None:
    d = Driver(_spec())
    _serve_first(d)
    lineage = find_version(d.status, 1)["lineage"]
    assert lineage["data"][0]["sha256"] == TRAIN and lineage["trainingSpecHash"]
    assert lineage["inputsHash"]


def test_degradation_retrain_learns_from_training_and_the_monitoring_data_and_heals() -> None:
    d = Driver(_spec())
    _serve_first(d)
    _evaluate(d, BAD)
    [train] = started(d.history[-1])
    assert train.stage == "train" and train.dataset["role"] == "training"
    assert [e["role"] for e in train.extra_datasets] == ["monitoring"]
    _train_and_validate(d, [(TRAIN, "training"), (LIVE, "monitoring")], challenge={"accuracy": 0.9})
    record = find_version(d.status, 2)
    assert record["state"] == "Blessed" and record["challenge"]["passed"] is True
    assert record["challenge"]["improvement"] > 0
    d.serve_ready(2)
    assert d.status["retrain"]["attempts"] == 1  # the episode is still open until v2 passes the rule
    _evaluate(d, {"accuracy": 0.92})
    assert d.status["retrain"] == {"attempts": 0} and "Recovered" in _reasons(d)
    assert conditions(d.status)["Degraded"] == "False"


def test_a_retrain_on_exactly_what_the_serving_version_was_made_from_is_not_started() -> None:
    d = Driver(_spec(**{"retraining.include": ["training"]}))
    _serve_first(d)
    decision = _evaluate(d, BAD)
    assert started(decision) == [] and d.status.get("candidateVersion") is None
    degraded = next(c for c in d.status["conditions"] if c["type"] == "Degraded")
    assert degraded["status"] == "True" and degraded["reason"] == "RetrainWouldRepeat"
    assert d.status["phase"] == "Degraded" and "would repeat" in d.status["message"]
    assert _reasons(d).count("RetrainWouldRepeat") == 1
    for _ in range(3):  # time passes, reconciles come: no retrain, no repeated event, serving untouched
        d.advance(60)
        d.feed(Reconcile())
    assert _reasons(d).count("RetrainWouldRepeat") == 1 and d.status["servingVersion"] == 1
    assert [v["version"] for v in d.status["versions"]] == [1]
    # new training data arrives: the next evaluation sees it and the normal path resumes
    if d.stage():
        d.finish(metrics=BAD, lineage={"data": _fingerprint(LIVE, "monitoring"),
                                       "retrainInputs": [_fingerprint("x" * 64, "training")]})
    else:
        _evaluate(d, BAD, train="x" * 64)
    assert d.stage() is not None and d.stage()["name"] == "train"


def test_a_challenger_that_does_not_beat_the_champion_on_the_monitoring_data_is_rejected() -> None:
    d = Driver(_spec(**{"retraining.minImprovement": 0.05}))
    _serve_first(d)
    _evaluate(d, BAD)
    _train_and_validate(d, [(TRAIN, "training"), (LIVE, "monitoring")], challenge={"accuracy": 0.62})
    record = find_version(d.status, 2)
    assert record["state"] == "Rejected" and record["reason"] == "ChallengerNotBetter"
    challenge = record["challenge"]
    assert (challenge["candidate"], challenge["serving"], challenge["metric"]) == (0.62, 0.6, "accuracy")
    assert challenge["passed"] is False and d.status["servingVersion"] == 1
    # the same inputs again would train the same rejected model: not retried
    d.advance(30)
    _evaluate(d, BAD)
    assert d.status["retrain"].get("waiting") == "RetrainWouldRepeat" and d.status["retrain"]["attempts"] == 1


def test_a_new_version_degrading_on_the_same_rule_continues_the_episode_until_max_attempts() -> None:
    d = Driver(_spec(**{"retraining.maxAttempts": 2}))
    _serve_first(d)
    for attempt, live in ((1, LIVE), (2, LIVE2)):
        _evaluate(d, BAD, live=live)
        assert d.status["retrain"]["attempts"] == attempt
        _train_and_validate(d, [(TRAIN, "training"), (live, "monitoring")], challenge={"accuracy": 0.9})
        d.serve_ready(attempt + 1)
    _evaluate(d, BAD, live="z" * 64)  # version 3 degrades on the same rule: the episode is exhausted
    assert d.status["phase"] == "Failed" and d.status["failure"]["reason"] == "RetriesExhausted"
    assert d.status["servingVersion"] == 3 and [v["version"] for v in d.status["versions"]] == [1, 2, 3]


def test_a_drift_retrain_under_alert_for_quality_still_guards_against_repeats() -> None:
    """onDegradation Alert + onDrift Retrain: evaluations still fingerprint what a retrain would read, so
    identical data makes one retrain, not one per cooldown until maxAttempts (issue #26)."""
    d = Driver(_spec(**{"monitoring.onDegradation": "Alert", "monitoring.onDrift": "Retrain",
                        "monitoring.drift.confirm": {"required": 1, "window": 1}, "retraining.maxAttempts": 5}))
    _serve_first(d)
    drifted = measured_drift([1e-9, 0.5, 0.8])
    for _ in range(6):
        d.advance(300)
        d.feed(Reconcile())
        if d.stage() is None:
            continue
        if d.stage()["name"] == "evaluate":
            assert d.stage()["fingerprint"], "an evaluation must fingerprint the retrain inputs"
            d.finish(metrics=GOOD, drift=drifted, lineage={"data": _fingerprint(LIVE, "monitoring"),
                                                           "retrainInputs": [_fingerprint(TRAIN, "training")]})
        if d.stage() is not None and d.stage()["name"] == "train":
            _train_and_validate(d, [(TRAIN, "training"), (LIVE, "monitoring")], challenge={"accuracy": 0.9})
            d.serve_ready(d.status["rollout"]["stable"])
    retrains = [r["version"] for r in d.status["versions"] if r.get("trigger") == "Degradation"]
    assert retrains == [2]
    assert d.status["retrain"].get("waiting") == "RetrainWouldRepeat"
    assert conditions(d.status)["Stalled"] == "True"
