"""Bounded repeats (lifecycle/repeats.py): a removal that keeps failing and a repair that keeps being undone
stop at the bound, say so in status, one Event and Stalled, and a spec edit grants a fresh budget."""

from __future__ import annotations

from lifecycle_helpers import GOOD, Driver, sample_spec

from modelops.lifecycle import ApplyServing, DeleteVersion, EmitEvent, Reconcile, ServingObserved, VersionPruned
from modelops.lifecycle.conditions import get_condition
from modelops.lifecycle.records import find_version
from modelops.lifecycle.repeat_policy import DEFAULT_REPEAT, RepeatPolicy

POLICY = DEFAULT_REPEAT


def _events(decision, reason: str) -> list[EmitEvent]:
    return [a for a in decision.actions if isinstance(a, EmitEvent) and a.reason == reason]


def _deletes(decision) -> list[DeleteVersion]:
    return [a for a in decision.actions if isinstance(a, DeleteVersion)]


def _to_retained_deletion(d: Driver) -> None:
    d.to_serving()
    d.edit(sample_spec(**{"retention.keepVersions": 1, "training.hyperparameters.epochs": 7}))
    d.finish(metrics={"loss": 0.2})
    d.finish(metrics=GOOD, baselineMetrics=GOOD)
    assert _deletes(d.serve_ready(2)) == [DeleteVersion(1, 1)]


def test_the_backoff_doubles_and_a_quiet_count_is_forgotten() -> None:
    policy = RepeatPolicy(attempts=4, backoff_seconds=10)
    assert [policy.delay_after(n) for n in (1, 2, 3)] == [10, 20, 40]
    assert policy.quiet_seconds == 80
    assert RepeatPolicy(attempts=40, backoff_seconds=60).delay_after(39) == 3600  # never more than an hour


def test_a_removal_that_always_fails_stops_at_the_bound_and_stalls_until_the_spec_is_edited() -> None:
    d = Driver(sample_spec())
    _to_retained_deletion(d)
    issued, waits = [], []
    for _ in range(20):  # far more looks than the bound allows attempts
        if find_version(d.status, 1)["deletion"].get("gaveUp"):
            break
        for action in _deletes(d.feed(Reconcile())):
            issued.append(action.attempt)
            failed = d.feed(VersionPruned(1, False, "permission denied", attempt=action.attempt))
            waits.append(failed.requeue_after)
            d.feed(VersionPruned(1, False, "permission denied", attempt=action.attempt))  # reported twice
        d.advance(d.history[-1].requeue_after or 1)
    assert issued == list(range(1, POLICY.attempts + 1))  # each attempt once, the twice-reported counted once
    assert waits[:-1] == [POLICY.delay_after(n) for n in range(1, POLICY.attempts)]
    deletion = find_version(d.status, 1)["deletion"]
    assert (deletion["failures"], deletion["limit"], deletion["gaveUp"]) == (POLICY.attempts, POLICY.attempts, True)
    gave_up = [e for decision in d.history for e in _events(decision, "PruneGaveUp")]
    assert len(gave_up) == 1 and gave_up[0].type == "Warning" and "permission denied" in gave_up[0].message
    assert len([e for decision in d.history for e in _events(decision, "PruneFailed")]) == POLICY.attempts - 1
    stalled = get_condition(d.status, "Stalled")
    assert (stalled["status"], stalled["reason"]) == ("True", "PruneGaveUp") and "version 1" in stalled["message"]
    assert d.status["phase"] == "Serving"  # version 2 serves on; only the files of version 1 stay

    d.advance(86400)
    quiet = d.feed(Reconcile())
    assert _deletes(quiet) == [] and not _events(quiet, "PruneGaveUp")  # given up: nothing asked, nothing said

    resumed = d.edit(d.spec)  # any spec edit: a fresh budget under a new attempt number
    assert _deletes(resumed) == [DeleteVersion(1, POLICY.attempts + 1)]
    assert get_condition(d.status, "Stalled")["status"] == "False"
    d.feed(VersionPruned(1, True, attempt=POLICY.attempts + 1))
    assert find_version(d.status, 1)["deleted"] is True and "deletion" not in find_version(d.status, 1)


def _drifted(d: Driver):
    """Someone scaled serving to another version (another controller fighting over the Deployment)."""
    return d.feed(ServingObserved(frozenset({1}), {"stable": 7, "canary": None}))


def test_a_repair_that_keeps_being_undone_stops_at_the_bound() -> None:
    d = Driver(sample_spec())
    d.to_serving()
    repairs = 0
    for _ in range(40):  # the runtime looks whenever the Deployment changes and when the core asks
        decision = _drifted(d)
        repairs += len([a for a in decision.actions if isinstance(a, ApplyServing)])
        if (d.status["servingRepairs"]).get("gaveUp"):
            break
        d.advance(decision.requeue_after or 1)
    assert repairs == POLICY.attempts
    shown = d.status["servingRepairs"]
    assert (shown["count"], shown["limit"], shown["gaveUp"]) == (POLICY.attempts, POLICY.attempts, True)
    gave_up = [e for decision in d.history for e in _events(decision, "ServingRepairGaveUp")]
    assert len(gave_up) == 1 and "pinning version 7" in gave_up[0].message
    stalled = get_condition(d.status, "Stalled")
    assert (stalled["status"], stalled["reason"]) == ("True", "ServingRepairGaveUp")
    d.advance(POLICY.quiet_seconds * 2)
    assert not [a for a in _drifted(d).actions if isinstance(a, ApplyServing)]  # gave up: waits for an edit

    d.edit(d.spec)
    assert [a for a in _drifted(d).actions if isinstance(a, ApplyServing)] == [ApplyServing(stable=1)]
    assert d.status["servingRepairs"]["count"] == 1 and get_condition(d.status, "Stalled")["status"] == "False"


def test_a_repair_now_and_then_is_always_made() -> None:
    d = Driver(sample_spec())
    d.to_serving()
    for _ in range(POLICY.attempts * 2):  # deleted by hand once in a while: never given up on
        decision = d.feed(ServingObserved(frozenset(), None))
        assert [a for a in decision.actions if isinstance(a, ApplyServing)] == [ApplyServing(stable=1)]
        assert d.status["servingRepairs"]["count"] == 1
        d.serve_ready(1)
        d.advance(POLICY.quiet_seconds + 1)
    assert get_condition(d.status, "Stalled")["status"] == "False"
