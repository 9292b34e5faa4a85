"""Nothing the local runtime writes grows with the number of evaluations (issue #26): the event and
evaluation logs keep their newest lines, finished stage directories beyond the newest few are removed."""

from __future__ import annotations

import os
from pathlib import Path

from modelops.api import parse_model_deployment
from modelops.local.bounded_files import BoundedJsonl, prune_stage_dirs
from modelops.local.runner import Runner
from modelops.local.state_store import StateStore, read_jsonl


def test_a_bounded_log_keeps_its_newest_lines_across_restarts(tmp_path: Path) -> None:
    path = tmp_path / "events.jsonl"
    log = BoundedJsonl(path, keep=10)
    for n in range(21):
        log.append({"n": n})
    assert [r["n"] for r in read_jsonl(path)] == list(range(11, 21))  # 21 > 2 * 10: the newest 10 stay
    again = BoundedJsonl(path, keep=10)  # a restarted runtime counts what is there
    for n in range(21, 32):
        again.append({"n": n})
    assert [r["n"] for r in read_jsonl(path)] == list(range(22, 32))
    assert len(path.read_text().splitlines()) == 10


def test_finished_stage_directories_beyond_the_newest_go_but_never_the_one_in_flight(tmp_path: Path) -> None:
    stages = tmp_path / "stages"
    for n in range(30):
        directory = stages / f"evaluate-v1-{n}"
        directory.mkdir(parents=True)
        (directory / "result.json").write_text("{}")
        os.utime(directory, (1_000_000 + n, 1_000_000 + n))
    removed = prune_stage_dirs(stages, keep=5, protect={"evaluate-v1-0"})
    assert len(removed) == 24 and "evaluate-v1-0" not in removed
    assert sorted(p.name for p in stages.iterdir()) == sorted(
        ["evaluate-v1-0", *(f"evaluate-v1-{n}" for n in range(25, 30))])
    assert prune_stage_dirs(tmp_path / "missing", keep=5, protect=()) == []


def test_the_runtime_writes_its_events_and_history_through_the_bound(tmp_path: Path) -> None:
    doc = {"apiVersion": "modelops.dev/v1alpha1", "kind": "ModelDeployment",
           "metadata": {"name": "churn", "namespace": "default"},
           "spec": {"task": "binary-classification", "storage": {"persistentVolumeClaim": "models"},
                    "training": {"dataset": {"uri": "train.csv"}},
                    "validation": {"dataset": {"uri": "validation.csv"},
                                   "gates": [{"metric": "accuracy", "min": 0.5}]}}}
    store = StateStore(tmp_path / "state", "default", "churn")
    runner = Runner(store, parse_model_deployment(doc).spec, tmp_path)
    runner._events.keep = runner._history.keep = 4
    previous: dict = {}
    for n in range(100):  # a hundred evaluations, each with its Event
        runner._event("Normal", "Evaluated", f"evaluation {n}")
        current = {"lastEvaluation": {"version": 1, "time": f"t{n}", "metrics": {"accuracy": 0.9}}}
        runner._record_history(previous, current)
        previous = current
    events, history = read_jsonl(store.events_path), read_jsonl(store.history_path)
    assert 4 <= len(events) <= 8 and events[-1]["message"] == "evaluation 99"
    assert 4 <= len(history) <= 8 and history[-1]["time"] == "t99"
