"""Serving and retention converge to the desired state on every look, not only when a decision changes."""

from __future__ import annotations

from lifecycle_helpers import GOOD, Driver, sample_spec, started

from modelops.lifecycle import (
    ApplyServing,
    DeleteVersion,
    EmitEvent,
    Reconcile,
    ServingObserved,
    StageFinished,
    StageMissing,
    VersionPruned,
)
from modelops.lifecycle.records import find_version
from modelops.lifecycle.repeat_policy import DEFAULT_REPEAT


def _serving(decision) -> list[ApplyServing]:
    return [a for a in decision.actions if isinstance(a, ApplyServing)]


def test_missing_serving_children_are_re_applied_with_a_warning() -> None:
    d = Driver(sample_spec())
    d.to_serving()
    decision = d.feed(ServingObserved(frozenset(), None))  # someone deleted the Deployment / Service / ConfigMap
    assert _serving(decision) == [ApplyServing(stable=1)]
    [event] = [a for a in decision.actions if isinstance(a, EmitEvent) and a.reason == "ServingRepaired"]
    assert event.type == "Warning" and "missing" in event.message


def test_children_pinning_another_version_are_re_applied_and_matching_ones_left_alone() -> None:
    d = Driver(sample_spec())
    d.to_serving()
    assert _serving(d.feed(ServingObserved(frozenset({1}), {"stable": 1, "canary": None}))) == []
    edited = d.feed(ServingObserved(frozenset({7}), {"stable": 7, "canary": None}))
    assert _serving(edited) == [ApplyServing(stable=1)]
    # a second repair right after the first waits for its backoff (lifecycle/repeats.py), then happens
    early = d.feed(ServingObserved(frozenset({1}), {"stable": 1, "canary": 3}))
    assert _serving(early) == [] and early.requeue_after == DEFAULT_REPEAT.backoff_seconds
    d.advance(DEFAULT_REPEAT.backoff_seconds)
    leftover_canary = d.feed(ServingObserved(frozenset({1}), {"stable": 1, "canary": 3}))
    assert _serving(leftover_canary) == [ApplyServing(stable=1)]


def _to_retained_deletion(d: Driver) -> int:
    """Serve v2 after v1 with keepVersions 1: the core decides to delete v1."""
    d.to_serving()
    d.edit(sample_spec(**{"retention.keepVersions": 1, "training.hyperparameters.epochs": 7}))
    d.finish(metrics={"loss": 0.2})
    d.finish(metrics=GOOD, baselineMetrics=GOOD)
    decision = d.serve_ready(2)
    [delete] = [a for a in decision.actions if isinstance(a, DeleteVersion)]
    return delete.version


def test_a_decided_deletion_is_asked_for_again_until_confirmed() -> None:
    d = Driver(sample_spec())
    version = _to_retained_deletion(d)
    assert version == 1 and find_version(d.status, 1)["deletion"] == {"attempt": 1, "limit": DEFAULT_REPEAT.attempts}
    # the action was lost (crash, API error): every reconcile asks again, with the same attempt
    again = d.feed(Reconcile())
    assert DeleteVersion(1, 1) in again.actions and again.requeue_after is not None
    d.feed(VersionPruned(1, True))
    assert find_version(d.status, 1)["deleted"] is True and "deletion" not in find_version(d.status, 1)
    assert not [a for a in d.feed(Reconcile()).actions if isinstance(a, DeleteVersion)]


def test_a_failed_deletion_is_retried_as_a_new_attempt_and_says_why() -> None:
    d = Driver(sample_spec())
    _to_retained_deletion(d)
    failed = d.feed(VersionPruned(1, False, "permission denied"))
    assert any(isinstance(a, EmitEvent) and a.reason == "PruneFailed" for a in failed.actions)
    deletion = find_version(d.status, 1)["deletion"]
    assert {k: deletion[k] for k in ("attempt", "failures", "limit", "message")} == {
        "attempt": 2, "failures": 1, "limit": DEFAULT_REPEAT.attempts, "message": "permission denied"}
    assert not [a for a in d.feed(Reconcile()).actions if isinstance(a, DeleteVersion)]  # backing off
    d.advance(DEFAULT_REPEAT.backoff_seconds)
    assert DeleteVersion(1, 2) in d.feed(Reconcile()).actions
    # a version whose files are being removed is no longer servable: pinning it fails, naming the field
    d.edit(sample_spec(**{"retention.keepVersions": 1, "training.hyperparameters.epochs": 7,
                          "serving.pinnedVersion": 1}))
    assert d.status["phase"] == "Failed" and "pinnedVersion" in d.status["message"]


def test_in_flight_recovery_starts_the_recorded_stage_again_when_its_run_is_missing() -> None:
    d = Driver(sample_spec())
    [train] = started(d.feed(Reconcile()))
    assert started(d.feed(StageMissing("train-v1"))) == [train]
    d.feed(StageFinished("train-v1", True, {"metrics": {"loss": 0.2}}))
    [validate] = started(d.history[-1])
    assert started(d.feed(StageMissing("train-v1"))) == []  # stale: that run already reported
    assert started(d.feed(StageMissing("validate-v1"))) == [validate]


def test_evaluation_targets_the_track_of_the_version_it_evaluates() -> None:
    d = Driver(sample_spec(**{"serving.canary": {"enabled": True, "replicas": 1}}))
    d.to_serving()
    d.advance(301)
    [evaluate] = started(d.feed(Reconcile()))
    assert (evaluate.version, evaluate.track) == (1, "stable")
    assert started(d.feed(StageMissing(evaluate.stage_id))) == [evaluate]
