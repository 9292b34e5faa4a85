"""The bundled `examples/penguins` (issue #25) under the real `modelops run`: a real mixed-type table.

String label, string features, missing cells: the example trains, passes its gates, serves and is evaluated
on the live rows it did not train on. The served model takes raw named features (`instances` as objects,
missing cells as TF Serving's JSON can carry them: "" for text, NaN for numbers), answers class names
beside the probabilities, and TF Serving's Classify API (REST `:classify`) works on it. The evaluation's
metrics are recomputed here with numpy from what the server answers for the same rows.
"""

from __future__ import annotations

import csv
import json
import math
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
EXAMPLE = REPO / "examples" / "penguins"
NAME = "penguins"
LABEL = "species"
CLASSES = ["Adelie", "Chinstrap", "Gentoo"]
TEXT = ("island", "sex")
NUMBERS = ("bill_length_mm", "bill_depth_mm", "flipper_length_mm", "body_mass_g")  # `year` is ignored


@pytest.fixture
def penguins(tmp_path: Path) -> Iterator[LocalDeployment]:
    deployment = LocalDeployment(tmp_path / "ws", "modeldeployment.yaml", NAME)
    deployment.example = deployment.workspace / NAME
    shutil.copytree(EXAMPLE, deployment.example, ignore=shutil.ignore_patterns("data", "__pycache__"))
    manifest = deployment.example / "modeldeployment.yaml"
    manifest.write_text(manifest.read_text().replace("epochs: 40", "epochs: 12").replace("interval: 10s",
                                                                                         "interval: 2s"))
    deployment.generate()
    try:
        yield deployment
    finally:
        deployment.cleanup()


def _post(url: str, body: dict[str, Any]) -> dict[str, Any]:
    request = urllib.request.Request(url, json.dumps(body).encode(), {"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=30) as response:
        return json.loads(response.read())


def _rows(path: Path) -> list[dict[str, str]]:
    with path.open(newline="") as handle:
        return list(csv.DictReader(handle))


def _instance(row: dict[str, str]) -> dict[str, Any]:
    """A CSV row as the served signature takes it: text as is ("" when missing), numbers as floats (NaN)."""
    instance: dict[str, Any] = {c: "" if row[c] == "NA" else row[c] for c in TEXT}
    instance.update({c: math.nan if row[c] == "NA" else float(row[c]) for c in NUMBERS})
    return instance


def _macro_f1(labels: np.ndarray, predicted: np.ndarray, k: int) -> float:
    scores = []
    for c in range(k):
        true_positive = np.sum((predicted == c) & (labels == c))
        precision = true_positive / max(np.sum(predicted == c), 1)
        recall = true_positive / max(np.sum(labels == c), 1)
        scores.append(0.0 if precision + recall == 0 else 2 * precision * recall / (precision + recall))
    return float(np.mean(scores))


def test_penguins_train_gate_serve_answer_class_names_and_evaluate(penguins: LocalDeployment) -> None:
    penguins.start()
    status = penguins.wait_for("an evaluation of version 1", lambda s: last_evaluation(s).get("version") == 1
                               and "degraded" in last_evaluation(s), timeout=240)
    assert version_states(status) == {1: "Serving"} and condition(status, "Ready")["status"] == "True"
    record = status["versions"][0]
    assert all(g["passed"] for g in record["gates"]), record["gates"]

    # the version's schema, inferred from the training file: in the status and in `modelops status`
    train = _rows(penguins.example / "data" / "train.csv")
    schema = record["schema"]
    assert schema["classes"] == CLASSES and schema["rows"] == len(train)
    assert schema["kinds"] == {"numeric": len(NUMBERS), "categorical": len(TEXT)}
    shown = subprocess.run([sys.executable, "-m", "modelops", "status", NAME, "--state-dir", str(penguins.state)],
                           check=True, capture_output=True, text=True).stdout
    assert f"6 features (4 numeric, 2 categorical), {len(train)} rows" in shown
    assert "3 classes: Adelie, Chinstrap, Gentoo" in shown

    # REST predict, `instances` as objects: one with a missing sex and missing measurements
    live = _rows(penguins.example / "data" / "live.csv")
    assert any("NA" in row.values() for row in live)  # the split kept missing cells in the monitoring rows
    holed = {**_instance(live[0]), "sex": "", "bill_depth_mm": math.nan, "body_mass_g": math.nan}
    answer = _post(f"{penguins.model_url}:predict", {"instances": [holed, _instance(live[1])]})["predictions"]
    assert [p["classes"] for p in answer] == [CLASSES, CLASSES]
    assert all(sum(p["probabilities"]) == pytest.approx(1.0, abs=1e-4) for p in answer)

    # TF Serving's Classify API on the `classify` signature: tf.Examples in, (class, score) pairs out.
    # A missing cell is a feature left out of the example; measurements are JSON decimals (float_list).
    examples = [{k: v for k, v in _instance(row).items() if v != "" and not (isinstance(v, float) and math.isnan(v))}
                for row in live[:4]]
    results = _post(f"{penguins.model_url}:classify", {"signature_name": "classify", "examples": examples})["results"]
    assert [[name for name, _ in result] for result in results] == [CLASSES] * 4
    served = _post(f"{penguins.model_url}:predict", {"instances": [_instance(row) for row in live[:4]]})
    for result, prediction in zip(results, served["predictions"], strict=True):
        assert [score for _, score in result] == pytest.approx(prediction["probabilities"], abs=1e-5)

    # the evaluation scored every live row; its metrics equal numpy's on the served predictions
    evaluation = last_evaluation(status)
    assert evaluation["rows"] == len(live) and evaluation["degraded"] is False
    predictions = _post(f"{penguins.model_url}:predict", {"instances": [_instance(r) for r in live]})["predictions"]
    probabilities = np.array([p["probabilities"] for p in predictions], dtype=float)
    labels = np.array([CLASSES.index(row[LABEL]) for row in live])
    predicted = probabilities.argmax(axis=1)
    metrics = evaluation["metrics"]
    assert metrics["accuracy"] == pytest.approx(float(np.mean(predicted == labels)), abs=1e-6)
    assert metrics["f1"] == pytest.approx(_macro_f1(labels, predicted, len(CLASSES)), abs=1e-4)
    cross_entropy = -np.mean(np.log(np.clip(probabilities[np.arange(len(labels)), labels], 1e-7, 1.0)))
    assert metrics["loss"] == pytest.approx(float(cross_entropy), abs=1e-4)
    assert penguins.interrupt() in (0, 130)
