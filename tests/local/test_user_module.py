"""Your own model, our lifecycle (issue #25): the bundled `examples/own-model` under the real `modelops run`.

The user wrote one file, `model/two_branch.py`: a functional Keras body with two branches over named inputs
and five `hp` calls. With no other user code, the runtime searches those hp calls with KerasTuner, trains
the best values, gates the candidate, serves it and evaluates it; the served predictions on the live rows
give the evaluation's accuracy when scored here independently.
"""

from __future__ import annotations

import csv
import json
import shutil
import subprocess
import sys
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from .harness import REPO, LocalDeployment, condition, last_evaluation, version_states

pytestmark = pytest.mark.slow
EXAMPLE = REPO / "examples" / "own-model"
NAME = "own-model"
OWN_HP = {"usage_units", "account_units", "activation", "dropout", "joined_units"}  # model/two_branch.py's calls


@pytest.fixture
def own_model(tmp_path: Path) -> Iterator[LocalDeployment]:
    deployment = LocalDeployment(tmp_path / "ws", "modeldeployment.yaml", NAME)
    deployment.example = deployment.workspace / NAME
    shutil.copytree(EXAMPLE, deployment.example, ignore=shutil.ignore_patterns("data", "__pycache__"))
    manifest = deployment.example / "modeldeployment.yaml"
    manifest.write_text(manifest.read_text().replace("maxTrials: 3", "maxTrials: 2").replace("interval: 5s",
                                                                                             "interval: 2s"))
    subprocess.run([sys.executable, str(deployment.example / "generate_data.py")], check=True, capture_output=True)
    try:
        yield deployment
    finally:
        deployment.cleanup()


def _post(url: str, body: dict[str, Any]) -> dict[str, Any]:
    request = urllib.request.Request(url, json.dumps(body).encode(), {"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=30) as response:
        return json.loads(response.read())


def _served_probabilities(deployment: LocalDeployment, rows: list[dict[str, str]], label: str) -> np.ndarray:
    """REST predict with `instances` as objects: each feature under its column's name (the served signature)."""
    instances = [{c: float(v) for c, v in row.items() if c != label} for row in rows]
    predictions = _post(f"{deployment.model_url}:predict", {"instances": instances})["predictions"]
    return np.array([p["probabilities"] for p in predictions], dtype=float)[:, -1]


def test_a_users_two_branch_model_is_tuned_trained_validated_served_and_evaluated(own_model: LocalDeployment
                                                                                  ) -> None:
    own_model.start()
    status = own_model.wait_for("an evaluation of version 1", lambda s: last_evaluation(s).get("version") == 1
                                and "degraded" in last_evaluation(s), timeout=400)
    assert version_states(status) == {1: "Serving"} and condition(status, "Ready")["status"] == "True"

    record = status["versions"][0]
    search = record["tuning"]  # the search varied the module's own hp calls, nothing of ours
    assert search["trials"] == {"total": 2, "completed": 2, "failed": 0}
    chosen = search["hyperparameters"]["moduleValues"]
    assert set(search["hyperparameters"]) == {"moduleValues"} and set(chosen) == OWN_HP
    assert status["tuning"]["hyperparameters"] == search["hyperparameters"]
    assert all(g["passed"] for g in record["gates"]) and record["metrics"]["auc"] >= 0.85

    version = own_model.state / "models" / "default" / NAME / "1"
    report = json.loads((version / "report.json").read_text())
    assert report["model"]["user"] == {"path": str(own_model.example / "model" / "two_branch.py"),
                                       "function": "build", "values": chosen}

    evaluation = last_evaluation(status)
    assert evaluation["degraded"] is False and evaluation["metrics"]["accuracy"] >= 0.8
    with (own_model.example / "data" / "live.csv").open(newline="") as handle:
        rows = list(csv.DictReader(handle))
    labels = np.array([int(row["churned"]) for row in rows])
    probabilities = _served_probabilities(own_model, rows, "churned")
    accuracy = float(np.mean((probabilities > 0.5).astype(int) == labels))
    assert accuracy == pytest.approx(evaluation["metrics"]["accuracy"], abs=1e-6)  # float32; a row is 0.0025
    assert own_model.interrupt() in (0, 130)
