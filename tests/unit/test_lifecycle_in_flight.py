"""In-flight recovery decided once (lifecycle/in_flight.py) and the one StartStage <-> status.stage codec."""

from __future__ import annotations

import dataclasses

from hypothesis import given
from hypothesis import strategies as st
from lifecycle_helpers import GOOD, Driver, conditions, sample_spec, started

from modelops.lifecycle import Reconcile, StageMissing, StartStage
from modelops.lifecycle.in_flight import MAX_RESTARTS
from modelops.lifecycle.records import find_version
from modelops.lifecycle.stage_codec import MalformedStage, stage_action, stage_record
from modelops.local import journal

_datasets = st.lists(st.fixed_dictionaries({"uri": st.text(min_size=1, max_size=8)},
                                           optional={"labelColumn": st.text(max_size=5),
                                                     "weight": st.floats(0, 5), "holdout": st.floats(0, 1)}),
                     max_size=3)
_actions = st.builds(
    StartStage, stage=st.sampled_from(["tune", "train", "validate", "evaluate"]), version=st.integers(1, 10**6),
    stage_id=st.text(min_size=1, max_size=20), dataset=st.fixed_dictionaries({"uri": st.text(min_size=1)}),
    baseline_version=st.none() | st.integers(1, 99), track=st.none() | st.sampled_from(["stable", "canary"]),
    extra_datasets=_datasets.map(tuple), challenge_dataset=st.none() | st.fixed_dictionaries({"uri": st.text()}),
    fingerprint=_datasets.map(tuple),
    hyperparameters=st.none() | st.fixed_dictionaries({"learningRate": st.floats(1e-5, 1)}),
    tuned_by=st.none() | st.integers(1, 99),
)


@given(_actions)
def test_status_stage_and_the_journal_give_back_exactly_the_decided_run(action: StartStage) -> None:
    assert stage_action(stage_record(action, "2026-01-01T00:00:00Z")) == action
    assert journal.decode(journal.encode(action)) == action


def test_the_codec_covers_every_field_of_start_stage() -> None:
    """A field added to StartStage must survive status.stage, or a re-created run would differ."""
    full = StartStage("train", 3, "train-v3", {"uri": "a"}, baseline_version=2, track="canary",
                      extra_datasets=({"uri": "b"},), challenge_dataset={"uri": "c"}, fingerprint=({"uri": "d"},),
                      hyperparameters={"learningRate": 0.1}, tuned_by=2)
    defaults = StartStage("train", 3, "train-v3", {"uri": "a"})
    changed = [f.name for f in dataclasses.fields(StartStage) if getattr(full, f.name) != getattr(defaults, f.name)]
    assert len(changed) == len(dataclasses.fields(StartStage)) - 4  # every optional field is set above
    assert stage_action(stage_record(full)) == full


def test_a_record_without_its_fields_is_refused_naming_the_field() -> None:
    try:
        stage_action({"name": "train", "version": 1})
    except MalformedStage as bad:
        assert "'id'" in str(bad)
    else:
        raise AssertionError("a stage record without an id was accepted")


def test_a_run_that_keeps_vanishing_fails_its_version_with_stage_lost() -> None:
    d = Driver(sample_spec())
    [train] = started(d.feed(Reconcile()))
    for restart in range(1, MAX_RESTARTS + 1):
        assert started(d.feed(StageMissing(train.stage_id))) == [train]
        assert d.status["stage"]["restarts"] == restart
    lost = d.feed(StageMissing(train.stage_id))
    assert started(lost) == [] and d.stage() is None
    record = find_version(d.status, 1)
    assert record["state"] == "Failed" and record["reason"] == "StageLost"
    assert d.status["phase"] == "Failed" and conditions(d.status)["Stalled"] == "True"
    assert "disappeared before reporting a result 4 times" in d.status["message"]


def test_a_lost_evaluation_counts_as_a_failed_evaluation() -> None:
    d = Driver(sample_spec(**{"monitoring.consecutiveErrorLimit": 1}))
    d.to_serving()
    d.advance(300)
    [evaluate] = started(d.feed(Reconcile()))
    for _ in range(MAX_RESTARTS + 1):
        d.feed(StageMissing(evaluate.stage_id))
    assert d.status["evaluationFailures"]["consecutive"] == 1
    assert d.status["servingVersion"] == 1 and conditions(d.status)["Ready"] == "False"
    d.evaluate(metrics=GOOD)
    assert conditions(d.status)["Ready"] == "True"
