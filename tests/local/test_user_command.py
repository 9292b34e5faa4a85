"""`spec.training.command` is honoured locally exactly as in a Job: the user's code gets the stage and
--config appended, and its result (or its failure) means the same as ours, with the same reason codes."""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

from modelops.contract.reasons import MODEL_NOT_FOUND, WORKER_FAILED
from modelops.lifecycle import StartStage
from modelops.lifecycle.messages import StageFinished
from modelops.local.executor.stages import StageExecutor
from modelops.local.state_store import StateStore

USER_WORKER = """
import json, sys
stage, flag, path = sys.argv[-3:]
config = json.load(open(path))
json.dump({"argv": sys.argv[1:], "dataset": config["dataset"]["uri"]}, open(config["resultPath"] + ".seen", "w"))
if "{fail}" == "yes":
    sys.exit(3)
json.dump({"stage": stage, "version": config["version"], "metrics": {"loss": 0.25}}, open(config["resultPath"], "w"))
"""


def _run(tmp_path: Path, fail: bool, stage: str = "train") -> tuple[StageFinished, dict | None]:
    script = tmp_path / "user_worker.py"
    script.write_text(USER_WORKER.replace("{fail}", "yes" if fail else "no"))
    spec = {"task": "regression",  # a whole spec: the builders read it through the defaulted view
            "training": {"command": [sys.executable, str(script)], "dataset": {"uri": "data/train.csv"},
                         "model": {}, "hyperparameters": {}},
            "validation": {"dataset": {"uri": "data/validation.csv"}, "gates": [{"metric": "mae", "max": 1.0}]}}
    store = StateStore(tmp_path / "state", "default", "prices")
    executor = StageExecutor(store, spec, tmp_path, "http://127.0.0.1:1")
    stage_id = f"{stage}-v1"
    executor.start(StartStage(stage, 1, stage_id, {"uri": "data/train.csv"}))
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        finished = executor.poll()
        if finished:
            seen = executor.paths(stage_id)["result"].parent / "result.json.seen"
            return finished[0], json.loads(seen.read_text()) if seen.exists() else None
        time.sleep(0.05)
    raise AssertionError("the stage did not finish")


def test_user_command_runs_with_stage_and_config_appended(tmp_path: Path) -> None:
    finished, seen = _run(tmp_path, fail=False)
    assert finished.succeeded and finished.result["metrics"] == {"loss": 0.25}
    assert seen["argv"][-3:-1] == ["train", "--config"] and seen["argv"][-1].endswith("config.json")
    assert seen["dataset"] == str((tmp_path / "data" / "train.csv").resolve())  # resolved like ours


def test_a_failing_user_command_is_reported_with_the_contract_reason(tmp_path: Path) -> None:
    finished, _ = _run(tmp_path, fail=True)
    assert not finished.succeeded and finished.result["reason"] == WORKER_FAILED
    assert "exited with code 3" in finished.result["error"]


def test_validation_of_a_custom_trainers_version_runs_our_worker_not_the_command(tmp_path: Path) -> None:
    """A custom trainer implements training only: our worker validates whatever it published (here nothing
    was published, so ours reports ModelNotFound; the user's script is never started)."""
    finished, seen = _run(tmp_path, fail=False, stage="validate")
    assert seen is None
    assert not finished.succeeded and finished.result["reason"] == MODEL_NOT_FOUND, finished.result
