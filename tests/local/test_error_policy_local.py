"""The local runtime's side of the error policy (issue #26): the same reasons and bounds as the operator.

- a `training.command` that does not exist fails version 1 (CommandNotFound) instead of crashing, and the
  runtime keeps running without retrying it (the next spec edit would);
- the state record: one atomic file, a corrupt one falls back to the previous record, neither → a named
  error; a pending action this version cannot decode is skipped with a Warning, not a crash at every start;
- a model server that keeps exiting is restarted with exponential backoff, at most RESTART_LIMIT times,
  the count in status.servingRestarts, then the deployment fails (ServingCrashLoop);
- a serving config deleted under the runtime is repaired on its reconcile, with the core's repair backoff.
"""

from __future__ import annotations

import itertools
import sys
import threading
import time
from pathlib import Path
from typing import Any

import pytest

from modelops.api import parse_model_deployment
from modelops.contract.reasons import COMMAND_NOT_FOUND, SERVING_CRASH_LOOP
from modelops.local import serving_process
from modelops.local.runner import PENDING_ACTION_UNREADABLE, SERVING_RESTARTED, Runner
from modelops.local.serving_process import RESTART_CAP_SECONDS, RESTART_LIMIT, ServingProcess
from modelops.local.state_store import StateRecordError, StateStore, read_jsonl

MISSING = "/nonexistent/bin/modelops-trainer"


def _spec(command: list[str]) -> dict[str, Any]:
    doc = {"apiVersion": "modelops.dev/v1alpha1", "kind": "ModelDeployment",
           "metadata": {"name": "churn", "namespace": "default"},
           "spec": {"task": "binary-classification", "storage": {"persistentVolumeClaim": "models"},
                    "training": {"dataset": {"uri": "train.csv"}, "command": command},
                    "validation": {"dataset": {"uri": "validation.csv"},
                                   "gates": [{"metric": "accuracy", "min": 0.5}]}}}
    return dict(parse_model_deployment(doc).spec)


def _condition(status: dict[str, Any], type_: str) -> dict[str, Any]:
    return next(c for c in status["conditions"] if c["type"] == type_)


def test_a_missing_training_command_fails_the_version_instead_of_crashing(tmp_path: Path) -> None:
    store = StateStore(tmp_path / "state", "default", "churn")
    store.save({}, [{"kind": "Explode"}])  # a pending action from some other version of modelops
    runner = Runner(store, _spec([MISSING, "--fast"]), tmp_path, until="serving")
    assert runner.run() == 1  # `--until serving` cannot be reached: exit 1, not a traceback

    status = store.load_status()
    (record,) = status["versions"]
    assert (record["state"], record["reason"]) == ("Failed", COMMAND_NOT_FOUND)
    assert "spec.training.command" in record["message"] and MISSING in record["message"]
    assert status["phase"] == "Failed" and _condition(status, "Stalled")["reason"] == COMMAND_NOT_FOUND
    events = read_jsonl(store.events_path)
    assert [e["reason"] for e in events if e["type"] == "Warning"].count(COMMAND_NOT_FOUND) == 1
    assert any(e["reason"] == PENDING_ACTION_UNREADABLE and "'Explode'" in e["message"] for e in events)
    assert store.load().pending == []


def test_after_a_missing_command_the_runtime_keeps_running_and_asks_nothing_more(tmp_path: Path) -> None:
    store = StateStore(tmp_path / "state", "default", "churn")
    runner = Runner(store, _spec([MISSING]), tmp_path)  # until "forever", as `modelops run` runs by default
    outcome: list[int] = []
    thread = threading.Thread(target=lambda: outcome.append(runner.run()), daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while (store.load_status().get("phase") != "Failed") and time.monotonic() < deadline:
        time.sleep(0.1)
    assert store.load_status()["versions"][0]["reason"] == COMMAND_NOT_FOUND
    events, record = len(read_jsonl(store.events_path)), store.state_path.read_bytes()
    time.sleep(2)  # eight ticks of the loop: it runs on, deciding and writing nothing
    assert thread.is_alive() and not outcome
    assert len(read_jsonl(store.events_path)) == events and store.state_path.read_bytes() == record
    assert runner.stages.running == {}  # no stage started again
    runner.stop_requested = "test"
    thread.join(10)
    assert outcome == [130]


def test_the_state_record_is_one_file_and_a_corrupt_one_falls_back_or_names_itself(tmp_path: Path) -> None:
    store = StateStore(tmp_path, "default", "churn")
    store.save({"phase": "Training", "latestVersion": 1}, [{"kind": "CancelStage", "stage_id": "train-v1"}])
    store.save({"phase": "Serving", "latestVersion": 1}, [])
    assert sorted(p.name for p in store.dir.iterdir()) == ["state.json", "state.prev.json"]
    assert store.load().status["phase"] == "Serving"

    store.state_path.write_text('{"status": {"phase": "Serv')  # e.g. a disk that lost the tail
    recovered = store.load()
    assert recovered.status["phase"] == "Training" and recovered.pending[0]["kind"] == "CancelStage"
    assert str(store.state_path) in recovered.recovered and (store.dir / "state.corrupt.json").exists()

    store.state_path.write_text("[]")
    store.previous_state_path.write_text("not json")
    with pytest.raises(StateRecordError, match=r"state\.json: not a state record") as raised:
        store.load()
    assert "state.prev.json" in str(raised.value) and "Move" in str(raised.value)


def test_a_legacy_state_directory_is_read_and_replaced_by_the_record(tmp_path: Path) -> None:
    store = StateStore(tmp_path, "default", "churn")
    store.dir.mkdir(parents=True)
    (store.dir / "status.json").write_text('{"phase": "Serving"}')
    (store.dir / "pending.json").write_text('[{"kind": "DeleteVersion", "version": 1}]')
    assert store.load().pending == [{"kind": "DeleteVersion", "version": 1}]
    store.save(store.load_status(), [])
    assert sorted(p.name for p in store.dir.iterdir()) == ["state.json"]


class _Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def monotonic(self) -> float:
        return self.now


def test_a_dying_model_server_is_restarted_with_backoff_then_left_down(tmp_path: Path, monkeypatch) -> None:
    clock = _Clock()
    monkeypatch.setattr(serving_process, "time", clock)
    real_spawn = serving_process.spawn
    spawned: list[float] = []

    def dying_server(argv: list[str], log: Path, pid: Path, env: dict | None = None):
        spawned.append(clock.now)  # a real process, exiting at once as a broken `modelops serve` would
        child = real_spawn([sys.executable, "-c", "raise SystemExit(1)"], log, pid, env=env)
        deadline = time.monotonic() + 10
        while child.alive() and time.monotonic() < deadline:
            time.sleep(0.01)
        return child

    monkeypatch.setattr(serving_process, "spawn", dying_server)
    serving = ServingProcess(StateStore(tmp_path, "default", "churn"), port=0)
    serving.dir.mkdir(parents=True)
    serving.model_config.write_text("model_config_list {}")
    # the runner checks every 0.3 s while the pin is not loaded: 10 minutes of checks
    for _ in range(2000):
        serving.ensure_running()
        clock.now += 0.3
    gaps = [round(b - a, 1) for a, b in itertools.pairwise(spawned)]
    assert len(spawned) == RESTART_LIMIT + 1 and serving.restarts == RESTART_LIMIT and serving.gave_up
    assert gaps[:5] == [1.2, 2.1, 4.2, 8.1, 16.2]  # 1, 2, 4, 8, 16 s on the 0.3 s grid
    assert all(gap <= RESTART_CAP_SECONDS + 0.3 for gap in gaps) and gaps[-1] > 59


def test_restarts_are_shown_in_status_and_their_bound_fails_the_deployment(tmp_path: Path) -> None:
    store = StateStore(tmp_path / "state", "default", "churn")
    runner = Runner(store, _spec([MISSING]), tmp_path)
    runner.generation = 1
    runner.serving.restarts = 3
    runner._record_restarts()
    status = store.load_status()
    assert status["servingRestarts"]["count"] == 3 and status["servingRestarts"]["limit"] == RESTART_LIMIT
    assert [e["reason"] for e in read_jsonl(store.events_path)] == [SERVING_RESTARTED]

    runner.serving.restarts = RESTART_LIMIT
    runner._record_restarts()  # the count first
    runner._record_restarts()  # then, the server still down: the bound
    status = store.load_status()
    assert status["servingRestarts"]["count"] == RESTART_LIMIT
    assert status["phase"] == "Failed" and status["failure"]["reason"] == SERVING_CRASH_LOOP
    assert _condition(status, "Stalled")["reason"] == SERVING_CRASH_LOOP
    runner._record_restarts()
    assert [e["reason"] for e in read_jsonl(store.events_path)].count(SERVING_CRASH_LOOP) == 1


def test_a_missing_serving_config_is_repaired_with_the_cores_backoff(tmp_path: Path) -> None:
    from datetime import UTC, datetime, timedelta

    from modelops.lifecycle import Context, Reconcile, ServingObserved, StageFinished, decide
    from modelops.lifecycle.repeat_policy import DEFAULT_REPEAT

    spec = _spec(["python", "-c", "pass"])
    clock = [datetime(2026, 1, 1, tzinfo=UTC)]
    status: dict[str, Any] = {}
    served = ServingObserved(frozenset({1}), {"stable": 1, "canary": None})
    for observation in (Reconcile(), "train", "validate", served):  # the core's own path to serving version 1
        if isinstance(observation, str):
            observation = StageFinished(status["stage"]["id"], True, {"metrics": {"loss": 0.3, "accuracy": 0.9}})
        status = decide(Context(spec, 1, clock[0]), status, observation).status
    store = StateStore(tmp_path / "state", "default", "churn")
    runner = Runner(store, spec, tmp_path, now=lambda: clock[0])
    runner.generation, runner.status, runner._serving_reported = 1, status, frozenset({1})
    applied: list[tuple[int, int | None]] = []
    runner.serving.apply = lambda stable, canary=None: applied.append((stable, canary))  # no server in this test

    runner._look_for_serving_drift()  # the serving config is gone: repaired at once
    runner._look_for_serving_drift()  # still gone (nothing wrote it): the next repair waits for its backoff
    assert applied == [(1, None)] and runner.status["servingRepairs"]["count"] == 1
    clock[0] += timedelta(seconds=DEFAULT_REPEAT.backoff_seconds)
    runner._look_for_serving_drift()
    assert applied == [(1, None), (1, None)] and runner.status["servingRepairs"]["count"] == 2
    assert [e["reason"] for e in read_jsonl(store.events_path)].count("ServingRepaired") == 2
