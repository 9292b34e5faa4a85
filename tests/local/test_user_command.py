"""`spec.training.command` is honoured locally exactly as in a Job: the user's code gets the stage and
--config appended, and its result (or its failure) means the same as ours, with the same reason codes."""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

from modelops.contract.reasons import WORKER_FAILED
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


def _run(tmp_path: Path, fail: bool) -> tuple[StageFinished, dict]:
    script = tmp_path / "user_worker.py"
    script.write_text(USER_WORKER.replace("{fail}", "yes" if fail else "no"))
    spec = {"task": "regression", "training": {"command": [sys.executable, str(script)], "model": {},
                                               "hyperparameters": {}}}
    store = StateStore(tmp_path / "state", "default", "prices")
    executor = StageExecutor(store, spec, tmp_path, "http://127.0.0.1:1")
    executor.start(StartStage("train", 1, "train-v1", {"uri": "data/train.csv"}))
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        finished = executor.poll()
        if finished:
            seen = json.loads((executor.paths("train-v1")["result"].parent / "result.json.seen").read_text())
            return finished[0], seen
        time.sleep(0.05)
    raise AssertionError("the user command did not finish")


def test_user_command_runs_with_stage_and_config_appended(tmp_path: Path) -> None:
    finished, seen = _run(tmp_path, fail=False)
    assert finished.succeeded and finished.result["metrics"] == {"loss": 0.25}
    assert seen["argv"][-3:-1] == ["train", "--config"] and seen["argv"][-1].endswith("config.json")
    assert seen["dataset"] == str((tmp_path / "data" / "train.csv").resolve())  # resolved like ours


def test_a_failing_user_command_is_reported_with_the_contract_reason(tmp_path: Path) -> None:
    finished, _ = _run(tmp_path, fail=True)
    assert not finished.succeeded and finished.result["reason"] == WORKER_FAILED
    assert "exited with code 3" in finished.result["error"]
