"""Multi-worker training in the local runtime: the same worker code as in pods, with a loopback TF_CONFIG.

Two workers and one worker, on the same data and seed, must give models whose validation metrics agree
(batchSize is the global batch, so the gradient steps are the same steps); a member that fails ends the
whole gang at once, reported with that member's own words.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

import pytest

from modelops.contract.reasons import WORKER_FAILED
from modelops.lifecycle import StartStage
from modelops.lifecycle.messages import StageFinished
from modelops.local.executor.gang import member_paths
from modelops.local.executor.stages import StageExecutor
from modelops.local.processes import spawn
from modelops.local.state_store import StateStore
from modelops.workloads.data.synthetic import make_dataset, write_csv

# Validation metrics of 1 and 2 workers may differ by at most this much (float summation order of the
# all-reduce, per-replica loss scaling of the last partial batch); docs/distributed-training.md states it.
TOLERANCE = 0.03


def _train(tmp_path: Path, name: str, spec: dict, timeout: float = 300) -> StageFinished:
    store = StateStore(tmp_path / "state", "default", name)
    executor = StageExecutor(store, spec, tmp_path, "http://127.0.0.1:1")
    executor.start(StartStage("train", 1, "train-v1", {"uri": str(tmp_path / "train.csv")}))
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        finished = executor.poll()
        if finished:
            return finished[0]
        time.sleep(0.1)
    executor.stop_all()
    raise AssertionError(f"{name}: training did not finish in {timeout}s")


def _spec(workers: int) -> dict:
    """A whole spec (the builders read it through the defaulted view, as the runtimes pass it)."""
    return {"task": "binary-classification", "training": {
        "dataset": {"uri": "train.csv"}, "workers": workers, "distribution": {"communication": "auto"},
        "model": {"hiddenLayers": [8]},
        "hyperparameters": {"epochs": 6, "batchSize": 32, "learningRate": 0.02, "validationSplit": 0.2, "seed": 7,
                            "earlyStopping": {"enabled": False}}},
        "validation": {"dataset": {"uri": "train.csv"}, "gates": [{"metric": "accuracy", "threshold": 0.5}]}}


@pytest.mark.slow
def test_two_local_workers_train_the_model_one_worker_trains(tmp_path: Path) -> None:
    x, y, features = make_dataset("binary-classification", 500, 4, 3)
    write_csv(tmp_path / "train.csv", x, y, features)
    single = _train(tmp_path, "single", _spec(1))
    wide = _train(tmp_path, "wide", _spec(2))
    assert single.succeeded and wide.succeeded, (single.result, wide.result)
    print({m: (single.result["metrics"][m], wide.result["metrics"][m]) for m in ("val_loss", "val_accuracy")})
    for metric in ("val_loss", "val_accuracy"):
        assert abs(single.result["metrics"][metric] - wide.result["metrics"][metric]) <= TOLERANCE, metric
    assert wide.result["metrics"]["val_accuracy"] >= 0.8
    assert wide.result["distributed"]["perWorkerBatchSize"] == 16

    stage_dir = tmp_path / "state" / "default" / "wide" / "stages" / "train-v1"
    helper = json.loads((stage_dir / "result-1.json").read_text())  # member 1 reported to its own file only
    assert helper["member"] == 1 and helper["metrics"] == wide.result["metrics"]  # mirrored: the same model
    versions = sorted(p.name for p in (tmp_path / "state" / "models" / "default" / "wide").iterdir())
    assert versions == ["1"], versions  # published once, by the chief; the backup is gone


HELPER_FAILS = """
import json, os, sys, time
config = json.load(open(sys.argv[-1]))
if os.environ["JOB_COMPLETION_INDEX"] == "1":
    json.dump({"error": "worker 1 ran out of data", "reason": "DatasetUnreadable"}, open(config["resultPath"], "w"))
    sys.exit(2)
time.sleep(120)  # the chief would wait for its peer forever
"""


def test_a_failing_member_ends_the_gang_with_its_own_reason(tmp_path: Path) -> None:
    script = tmp_path / "worker.py"
    script.write_text(HELPER_FAILS)
    spec = {**_spec(2), "training": {**_spec(2)["training"], "command": [sys.executable, str(script)]}}
    started = time.monotonic()
    finished = _train(tmp_path, "broken", spec, timeout=60)
    assert not finished.succeeded and time.monotonic() - started < 60
    assert finished.result["reason"] == "DatasetUnreadable" and "ran out of data" in finished.result["error"]
    assert finished.result["reason"] != WORKER_FAILED


def test_a_gang_a_killed_runtime_left_half_started_is_started_again_not_adopted(tmp_path: Path) -> None:
    """A runtime killed while it spawned a gang leaves the chief without its members; adopting it would wait
    for ever (a KerasTuner chief for its tuners). The restarted runtime ends it and reports the stage missing,
    so the core starts the same run again, whole. A gang with every member is adopted as before."""
    executor = StageExecutor(StateStore(tmp_path / "state", "default", "gang"), _spec(2), tmp_path,
                             "http://127.0.0.1:1")
    paths = executor.paths("train-v1")
    sleeper = [sys.executable, "-c", "import time; time.sleep(120)"]
    chief = spawn(sleeper, paths["log"], paths["pid"])
    assert executor.resume("train-v1", "train", 1) is False
    deadline = time.monotonic() + 20
    while chief.alive() and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not chief.alive()

    chief = spawn(sleeper, paths["log"], paths["pid"])
    member = member_paths(paths["dir"], 1)
    helper = spawn(sleeper, member["log"], member["pid"])
    try:
        assert executor.resume("train-v1", "train", 1) is True
        assert chief.alive() and helper.alive()
    finally:
        executor.stop_all()
    assert not chief.alive() and not helper.alive()

    # killed after starting a member but before writing its pid file: found by its config path, adopted
    # with the gang and ended with it, never left running on its own
    member["pid"].unlink()
    chief = spawn(sleeper, paths["log"], paths["pid"])
    unrecorded = subprocess.Popen([*sleeper, "--config", str(member["config"])], start_new_session=True)
    deadline = time.monotonic() + 10  # until the kernel shows its command line (Popen may return before exec)
    while not Path(f"/proc/{unrecorded.pid}/cmdline").read_bytes().endswith(b"config-1.json\0"):
        assert time.monotonic() < deadline
        time.sleep(0.01)
    try:
        assert executor.resume("train-v1", "train", 1) is True
        executor.stop_all()
        assert unrecorded.wait(timeout=20) is not None and not chief.alive()
    finally:
        unrecorded.kill()
