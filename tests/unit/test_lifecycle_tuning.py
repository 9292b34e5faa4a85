"""The optimize step in the core: when a version searches first, what the search's result does, and reuse."""

from __future__ import annotations

from typing import Any

from lifecycle_helpers import GOOD, Driver, conditions, sample_spec, started

from modelops.contract.stage_config import build_stage_config, stage_workers
from modelops.lifecycle import EmitEvent, Reconcile
from modelops.lifecycle.in_flight import in_flight_action
from modelops.lifecycle.records import find_version

SEARCH = {"enabled": True, "maxTrials": 6, "parallelism": 2, "objective": "accuracy",
          "searchSpace": {"learningRate": {"min": 0.001, "max": 0.1}, "hiddenLayers": {"units": {"min": 8, "max": 64}}}}
BEST = {"learningRate": 0.01, "hiddenLayers": [48, 16]}


def _tuned_spec(**overrides: Any) -> dict[str, Any]:
    return sample_spec(**{"training.tuning": SEARCH, "retraining.cooldown": "1s", **overrides})


def _search_result(values: dict[str, Any] = BEST, completed: int = 5, failed: int = 1) -> dict[str, Any]:
    return {"stage": "tune", "version": 1, "algorithm": "bayesian",
            "objective": {"metric": "accuracy", "direction": "max", "value": 0.91}, "hyperparameters": values,
            "trials": {"total": completed + failed, "completed": completed, "failed": failed},
            "bestTrials": [{"trial": "3", "value": 0.91, "hyperparameters": values}]}


def _reasons(decision) -> list[str]:
    return [a.reason for a in decision.actions if isinstance(a, EmitEvent)]


def test_a_tuned_spec_searches_before_it_trains_and_trains_with_the_best_values() -> None:
    d = Driver(_tuned_spec())
    first = d.feed(Reconcile())
    (tune,) = started(first)
    assert (tune.stage, tune.stage_id, tune.version) == ("tune", "tune-v1", 1)
    assert d.status["phase"] == "Tuning" and find_version(d.status, 1)["state"] == "Tuning"
    assert _reasons(first).count("TuningStarted") == 1 and "Tuning" not in _reasons(first)
    assert conditions(d.status)["Trained"] == "Unknown"

    after = d.finish(**_search_result())
    (train,) = started(after)
    assert (train.stage, train.version, dict(train.hyperparameters), train.tuned_by) == ("train", 1, BEST, 1)
    record = find_version(d.status, 1)
    assert record["state"] == "Training" and record["tuning"]["hyperparameters"] == BEST
    assert record["tuning"]["trials"] == {"total": 6, "completed": 5, "failed": 1}
    assert record["tuning"]["summary"].startswith("best accuracy 0.91 after 6 trials (5 completed, 1 failed)")
    assert d.status["phase"] == "Training" and "Tuned" in _reasons(after)
    assert d.status["tuning"]["version"] == 1 and d.status["tuning"]["hyperparameters"] == BEST


def test_the_train_config_carries_the_chosen_values_in_place_of_the_spec() -> None:
    spec = _tuned_spec()
    d = Driver(spec)
    d.feed(Reconcile())
    d.finish(**_search_result())
    action = in_flight_action(d.status)  # what a restarted runtime re-creates: the same values
    assert action is not None and dict(action.hyperparameters) == BEST and action.tuned_by == 1
    config = build_stage_config(spec, "ns", "churn", action, "/models")
    assert config["model"]["hiddenLayers"] == [48, 16] and config["hyperparameters"]["learningRate"] == 0.01
    assert config["hyperparameters"]["epochs"] == spec["training"]["hyperparameters"]["epochs"]
    assert config["tunedBy"] == 1 and "tuning" not in config


def test_the_tune_config_and_gang_size_follow_parallelism() -> None:
    spec = _tuned_spec()
    (tune,) = started(Driver(spec).feed(Reconcile()))
    config = build_stage_config(spec, "ns", "churn", tune, "/models")
    assert config["tuning"]["members"] == 3 and config["tuning"]["maxTrials"] == 6
    assert "enabled" not in config["tuning"] and "tunedBy" not in config
    assert stage_workers(spec, "tune") == 3 and stage_workers(spec, "validate") == 1
    alone = _tuned_spec(**{"training.tuning": {**SEARCH, "parallelism": 1}})
    assert stage_workers(alone, "tune") == 1


def test_a_failed_search_fails_the_first_version_with_the_trials_reason() -> None:
    d = Driver(_tuned_spec())
    d.feed(Reconcile())
    decision = d.finish(False, error="all 6 trials failed; the first: the training loss became nan",
                        reason="TrainingDiverged")
    assert not started(decision)
    record = find_version(d.status, 1)
    assert record["state"] == "Failed" and record["reason"] == "TrainingDiverged"
    assert d.status["phase"] == "Failed" and d.status["failure"]["reason"] == "TuningFailed"
    assert _reasons(decision).count("TuningFailed") == 1
    assert "tuning" not in d.status


def test_a_degradation_retrain_reuses_the_search_unless_retune_is_set() -> None:
    for retune, expected in ((False, "train"), (True, "tune")):
        d = Driver(_tuned_spec(**{"retraining.retune": retune}))
        d.feed(Reconcile())
        d.finish(**_search_result())
        d.finish(metrics={"loss": 0.3})
        d.finish(metrics=GOOD)
        d.serve_ready(1)
        decision = d.evaluate(metrics={"accuracy": 0.6}, rows=100)
        (retrain,) = started(decision)
        assert (retrain.stage, retrain.version) == (expected, 2), retune
        record = find_version(d.status, 2)
        if retune:
            assert d.status["phase"] == "Tuning" and record["state"] == "Tuning"
        else:
            assert dict(retrain.hyperparameters) == BEST and retrain.tuned_by == 1
            assert record["tuning"]["fromVersion"] == 1 and d.status["phase"] == "Retraining"


def test_a_training_spec_edit_searches_again_and_supersedes_a_running_search() -> None:
    spec = _tuned_spec()
    d = Driver(spec)
    d.feed(Reconcile())
    edited = _tuned_spec(**{"training.tuning": {**SEARCH, "maxTrials": 8}})
    decision = d.edit(edited)
    assert [a.stage_id for a in started(decision)] == ["tune-v2"]
    assert find_version(d.status, 1)["reason"] == "Superseded"
    d.finish(**{**_search_result(), "version": 2})
    d.finish(metrics={"loss": 0.3})
    d.finish(metrics=GOOD)
    # the kept search is the edited spec's, so later versions of it reuse version 2's values
    assert d.status["tuning"]["version"] == 2


def test_tuning_off_trains_exactly_the_spec() -> None:
    d = Driver(sample_spec())
    (train,) = started(d.feed(Reconcile()))
    assert train.stage == "train" and train.hyperparameters is None and train.tuned_by is None
    assert "tuning" not in find_version(d.status, 1)
