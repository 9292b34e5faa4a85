"""The state directory: atomic files, torn-line tolerance, generation bookkeeping, one runtime at a time."""

from __future__ import annotations

import json

import pytest

from modelops.lifecycle.messages import ApplyServing, CancelStage, DeleteVersion, EmitEvent, StartStage
from modelops.local import journal
from modelops.local.state_store import (
    StateError,
    StateStore,
    append_jsonl,
    discover,
    read_json,
    read_jsonl,
    write_json_atomic,
)


def test_atomic_write_leaves_no_temp_files_and_reads_back(tmp_path):
    path = tmp_path / "a" / "status.json"
    write_json_atomic(path, {"phase": "Serving", "servingVersion": 2})
    write_json_atomic(path, {"phase": "Degraded", "servingVersion": 2})
    assert read_json(path) == {"phase": "Degraded", "servingVersion": 2}
    assert [p.name for p in path.parent.iterdir()] == ["status.json"]


def test_corrupt_json_is_an_error_naming_the_file(tmp_path):
    path = tmp_path / "status.json"
    path.write_text("{not json")
    with pytest.raises(StateError, match=str(path)):
        read_json(path)


def test_torn_last_history_line_is_skipped(tmp_path):
    path = tmp_path / "history.jsonl"
    append_jsonl(path, {"version": 1, "metrics": {"accuracy": 0.9}})
    with open(path, "a") as handle:
        handle.write('{"version": 1, "metr')  # the runtime was killed mid-write
    assert read_jsonl(path) == [{"version": 1, "metrics": {"accuracy": 0.9}}]


def test_generation_bumps_only_when_the_spec_changes(tmp_path):
    store = StateStore(tmp_path, "default", "churn")
    spec = {"task": "regression", "training": {"hyperparameters": {"epochs": 3}}}
    assert store.generation_for(spec) == 1
    assert store.generation_for(json.loads(json.dumps(spec))) == 1
    spec["training"]["hyperparameters"]["epochs"] = 4
    assert store.generation_for(spec) == 2


def test_second_runtime_on_the_same_deployment_is_refused(tmp_path):
    store = StateStore(tmp_path, "default", "churn")
    fd = store.lock()
    try:
        with pytest.raises(StateError, match="already driving"):
            StateStore(tmp_path, "default", "churn").lock()
    finally:
        import os

        os.close(fd)
    os.close(StateStore(tmp_path, "default", "churn").lock())  # released: a restart may lock again


def test_discover_finds_deployments_but_not_model_versions(tmp_path):
    StateStore(tmp_path, "default", "churn").save_status({"phase": "Serving"})
    StateStore(tmp_path, "team-a", "prices").save_status({"phase": "Training"})
    (tmp_path / "models" / "default" / "churn" / "1").mkdir(parents=True)
    assert [(s.namespace, s.name) for s in discover(tmp_path)] == [("default", "churn"), ("team-a", "prices")]


def test_stage_ids_cannot_escape_the_state_directory(tmp_path):
    with pytest.raises(StateError, match="not usable"):
        StateStore(tmp_path, "default", "churn").stage_dir("../../etc")


@pytest.mark.parametrize("action", [
    StartStage("validate", 3, "validate-v3", {"uri": "data/v.csv", "labelColumn": "y"}, baseline_version=2),
    StartStage("train", 4, "train-v4", {"uri": "t.csv", "role": "training"},
               extra_datasets=({"uri": "live.csv", "role": "monitoring", "weight": 2.0},)),
    StartStage("evaluate", 2, "evaluate-v2-e9", {"uri": "live.csv"}, track="canary",
               fingerprint=({"uri": "t.csv", "role": "training"},)),
    ApplyServing(stable=2, canary=3),
    CancelStage("train-v4-a2"),
    DeleteVersion(1),
    DeleteVersion(1, attempt=3),
    EmitEvent("Warning", "Degraded", "accuracy 0.61 < min 0.8"),
])
def test_pending_actions_round_trip_through_json(tmp_path, action):
    store = StateStore(tmp_path, "default", "churn")
    store.save_pending([journal.encode(action)])
    assert [journal.decode(r) for r in store.load_pending()] == [action]
    store.clear_pending()
    assert store.load_pending() == []


def test_unknown_pending_action_names_its_kind():
    with pytest.raises(ValueError, match="'Explode'"):
        journal.decode({"kind": "Explode"})


def test_history_gets_one_line_per_evaluation_not_one_per_superseded_flag(tmp_path):
    from types import SimpleNamespace

    from modelops.local.bounded_files import HISTORY_KEPT, BoundedJsonl
    from modelops.local.runner import Runner

    store = StateStore(tmp_path, "default", "churn")
    runner = SimpleNamespace(store=store, _history=BoundedJsonl(store.history_path, HISTORY_KEPT))
    evaluation = {"time": "t1", "version": 1, "stageId": "evaluate-v1-e1", "metrics": {"accuracy": 0.9}}
    Runner._record_history(runner, {}, {"lastEvaluation": evaluation})
    Runner._record_history(runner, {"lastEvaluation": evaluation},
                           {"lastEvaluation": {**evaluation, "superseded": True}})  # a rollout marks it
    Runner._record_history(runner, {"lastEvaluation": {**evaluation, "superseded": True}},
                           {"lastEvaluation": {**evaluation, "time": "t2", "stageId": "evaluate-v1-e2"}})
    assert [line["stageId"] for line in read_jsonl(store.history_path)] == ["evaluate-v1-e1", "evaluate-v1-e2"]
