"""Hyperparameter search in the local runtime: KerasTuner's distributed mode on loopback, end to end.

The tuned churn example trains with plain SGD at learning rate 8.0, which diverges: the same spec without
tuning is rejected by its gates. With a search over the learning rate and layer width (4 trials, 2 at
once: a chief oracle process and 2 tuner processes) the candidate passes. The runtime is SIGKILLed while
the search runs: the restarted runtime adopts the search's processes, so there is one search, not two.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from local.harness import LocalDeployment, version_states

MANIFEST, NAME = "tuned-modeldeployment.yaml", "churn-tuned"
GATE = 0.80  # the example's accuracy gate


@pytest.fixture
def tuned(tmp_path: Path):
    deployment = LocalDeployment.create(tmp_path / "ws", MANIFEST, NAME)
    yield deployment
    deployment.cleanup()


@pytest.mark.slow
def test_a_search_in_parallel_trials_finds_a_candidate_the_untuned_spec_cannot(tuned: LocalDeployment,
                                                                               tmp_path: Path) -> None:
    tuned.start("--until", "serving")
    tuned.wait_for("the search to run", lambda s: s.get("phase") == "Tuning", timeout=60)
    tuned.kill()  # the runtime dies mid-search; the chief and its tuners keep going
    tuned.start("--until", "serving")
    assert tuned.exit_code(timeout=300) == 0, tuned.log()[-4000:]

    status = tuned.status()
    record = status["versions"][0]
    assert version_states(status) == {1: "Serving"} and status["servingVersion"] == 1
    search = record["tuning"]
    assert search["trials"]["total"] == 4 and search["trials"]["completed"] >= 1
    assert 0.01 <= search["hyperparameters"]["learningRate"] <= 0.5
    assert search["objective"]["metric"] == "accuracy" and search["objective"]["value"] >= GATE
    assert record["metrics"]["accuracy"] >= GATE  # the gate the untuned spec fails, below
    stages = sorted(p.name for p in (tuned.dir / "stages").iterdir())
    assert stages == ["train-v1", "tune-v1", "validate-v1"]  # one search, adopted across the restart
    assert (tuned.dir / "stages" / "tune-v1" / "config-2.json").exists()  # a chief and 2 tuners
    events = [json.loads(line) for line in (tuned.dir / "events.jsonl").read_text().splitlines()]
    assert sum(e["reason"] == "TuningStarted" and not e.get("replayed") for e in events) == 1
    assert sum(e["reason"] == "Tuned" for e in events) == 1

    version = tuned.state / "models" / "default" / NAME / "1"
    report = json.loads((version / "report.json").read_text())
    assert report["tuning"]["hyperparameters"] == search["hyperparameters"]
    assert report["hyperparameters"]["learningRate"] == search["hyperparameters"]["learningRate"]
    assert len(report["tuning"]["allTrials"]) == 4
    trial_logs = sorted(p.name for p in (version / "logs" / "tuning").iterdir())
    assert len(trial_logs) == 4 and any((version / "logs" / "tuning").rglob("events.out.tfevents.*"))
    assert not list(version.parent.glob(".tuning-*"))  # the search state went once the version was published
    shown = subprocess.run([sys.executable, "-m", "modelops", "status", NAME, "--state-dir", str(tuned.state)],
                           capture_output=True, text=True, check=True).stdout
    assert f"1        {search['summary']}" in shown.split("Tuning:")[1]

    # The same spec without the search: the diverging learning rate cannot pass the gates.
    untuned = LocalDeployment.create(tmp_path / "untuned", MANIFEST, NAME)
    try:
        doc = yaml.safe_load((untuned.example / MANIFEST).read_text())
        doc["spec"]["training"]["tuning"]["enabled"] = False
        (untuned.example / MANIFEST).write_text(yaml.safe_dump(doc))
        shutil.copytree(tuned.example / "data", untuned.example / "data", dirs_exist_ok=True)
        untuned.start("--until", "serving")
        assert untuned.exit_code(timeout=300) == 1, untuned.log()[-4000:]
        plain = untuned.status()["versions"][0]
        assert plain["state"] == "Rejected" and "tuning" not in plain
        assert plain["metrics"]["accuracy"] < GATE <= record["metrics"]["accuracy"]
    finally:
        untuned.cleanup()

