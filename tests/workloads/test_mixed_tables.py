"""Mixed-type tables end to end: numeric, integer, boolean and categorical columns with missing cells and
string labels are trained, gated, served by `modelops serve` and evaluated through REST predict (named
inputs), gRPC Classify and REST `:classify`; the metrics are checked against numpy on the served answers.

The Tables are built in memory here (reading files into them is test_workloads_tables.py's); the stages'
Table functions (`stages/fit.py`, `stages/validate.py`, the evaluate clients) are what a CSV reaches after
`load_table`.
"""

from __future__ import annotations

import json
import urllib.request
from dataclasses import dataclass
from pathlib import Path

import grpc
import numpy as np
import pytest

from modelops.contract.result import write_json
from modelops.lifecycle.gates import Gate, evaluate_gates
from modelops.workloads.clients.grpc_client import GrpcServingClient
from modelops.workloads.clients.rest_client import ServingClient
from modelops.workloads.config.stage import parse_config
from modelops.workloads.data.labels import ClassNames, infer_classes
from modelops.workloads.data.table import Table
from modelops.workloads.model.published import load_version
from modelops.workloads.quality.metrics import compute_metrics, scored_labels
from modelops.workloads.stages.fit import CLASSES_FILE, fit_table
from modelops.workloads.stages.train import REPORT_FILE
from modelops.workloads.stages.validate import model_metrics

from .conftest import NAME, SMALL_MODEL, base_config
from .serve_process import modelops_serve

pytestmark = pytest.mark.slow
QUICK = {"epochs": 25, "batchSize": 32, "learningRate": 0.03, "optimizer": "adam", "seed": 5,
         "validationSplit": 0.0, "earlyStopping": {"enabled": False}}
KINDS = {"bill_length_mm": "numeric", "island": "categorical", "year": "integer", "male": "boolean"}
BINARY, MULTICLASS = 1, 2  # the versions


def penguin_like(rows: int, seed: int, task: str) -> Table:
    """A penguins-shaped table: the species follows bill length and island; ~8% of cells missing."""
    rng = np.random.default_rng(seed)
    bill = rng.normal(45.0, 5.0, rows)
    island = rng.choice(["Biscoe", "Dream", "Torgersen"], rows).astype(object)
    year = rng.integers(2007, 2010, rows).astype(np.float64)
    male = rng.integers(0, 2, rows).astype(np.float64)
    if task == "binary-classification":
        score = (bill - 45.0) / 5.0 + np.select([island == "Dream", island == "Biscoe"], [1.5, -1.0], 0.0)
        labels = np.where(score + rng.normal(0, 0.4, rows) > 0, "Gentoo", "Adelie").astype(object)
    else:
        labels = np.where(bill > 47.0, "Gentoo", np.where(island == "Dream", "Chinstrap", "Adelie")).astype(object)
    for column in (bill, male, year):
        column[rng.random(rows) < 0.08] = np.nan
    island[rng.random(rows) < 0.08] = None
    return Table({"bill_length_mm": bill, "island": island, "year": year, "male": male}, KINDS, labels,
                 f"penguins-{seed}.csv", f"sha-{seed}")


@dataclass
class Trained:
    root: Path
    tables: dict[int, Table]  # the held-out table of each version
    classes: dict[int, ClassNames]


def _config(stage: str, task: str, root: Path, version: int, tmp: Path):
    return parse_config(base_config(stage, task, root, tmp / "unused.csv", version, tmp / f"{stage}.result",
                                    model=SMALL_MODEL, hyperparameters=QUICK))


@pytest.fixture(scope="module")
def trained(tmp_path_factory: pytest.TempPathFactory) -> Trained:
    tmp = tmp_path_factory.mktemp("mixed")
    root, held, names = tmp / "models", {}, {}
    for version, task, positive in ((BINARY, "binary-classification", "Adelie"),
                                    (MULTICLASS, "multiclass-classification", None)):
        table = penguin_like(400, seed=version, task=task)
        # the positive class is the spec's choice: here the FIRST in sorted order, not the default second
        classes = infer_classes(table.labels, task, positive=positive)
        cfg = _config("train", task, root, version, tmp)
        out = cfg.version_dir()
        out.mkdir(parents=True)
        write_json(out / REPORT_FILE, fit_table(cfg, table, classes, out))
        held[version], names[version] = penguin_like(160, seed=10 + version, task=task), classes
    return Trained(root, held, names)


@pytest.fixture(scope="module")
def served(trained: Trained, tmp_path_factory: pytest.TempPathFactory):
    with modelops_serve(tmp_path_factory.mktemp("serve-mixed"), NAME, trained.root / "default" / NAME,
                        (BINARY, MULTICLASS)) as both:
        yield both


def test_the_version_stores_its_classes_and_the_gate_reads_the_positive_class(trained: Trained, tmp_path: Path):
    info = load_version(_config("validate", "binary-classification", trained.root, BINARY, tmp_path), BINARY)
    assert json.loads((info.path / CLASSES_FILE).read_text()) == {"classes": ["Adelie", "Gentoo"],
                                                                 "positiveClass": "Adelie"}
    assert info.classes == trained.classes[BINARY] and info.report["featureKinds"] == KINDS
    metrics = model_metrics(info, trained.tables[BINARY], "species")  # in-process, as the validate stage measures
    outcome = evaluate_gates([Gate.from_dict({"metric": "accuracy", "min": 0.75}),
                              Gate.from_dict({"metric": "auc", "min": 0.8})], metrics, None, baseline_version=None)
    assert outcome.passed, (metrics, outcome)


def _post(url: str, body: dict) -> dict:
    request = urllib.request.Request(url, data=json.dumps(body).encode(), headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=30) as response:
        return json.load(response)


def test_rest_predict_takes_named_raw_cells_and_answers_class_names(served):
    rows = [{"bill_length_mm": 39.1, "island": "Torgersen", "year": 2007.0, "male": 1.0},
            {"bill_length_mm": float("nan"), "island": "", "year": float("nan"), "male": float("nan")},
            {"bill_length_mm": 50.0, "island": "Atlantis", "year": 2031.0, "male": 0.0}]  # unseen category
    answer = _post(f"{served.url}/v1/models/{NAME}/versions/{MULTICLASS}:predict", {"instances": rows})
    assert [row["classes"] for row in answer["predictions"]] == [["Adelie", "Chinstrap", "Gentoo"]] * 3
    probabilities = np.array([row["probabilities"] for row in answer["predictions"]])
    assert probabilities.shape == (3, 3) and np.allclose(probabilities.sum(axis=1), 1.0, atol=1e-5)
    columnar = _post(f"{served.url}/v1/models/{NAME}/versions/{MULTICLASS}:predict",
                     {"inputs": {key: [row[key] for row in rows] for key in rows[0]}})
    np.testing.assert_allclose(columnar["outputs"]["probabilities"], probabilities, atol=1e-6)


def _numpy_binary_metrics(y: np.ndarray, p: np.ndarray) -> dict[str, float]:
    """Independent of Keras: counts at the 0.5 threshold, AUC as the Mann-Whitney statistic (ties half)."""
    predicted = p > 0.5
    tp, fp, fn = np.sum(predicted & (y == 1)), np.sum(predicted & (y == 0)), np.sum(~predicted & (y == 1))
    positives, negatives = p[y == 1], p[y == 0]
    wins = (positives[:, None] > negatives[None, :]).sum() + 0.5 * (positives[:, None] == negatives[None, :]).sum()
    clipped = np.clip(p, 1e-7, 1 - 1e-7)
    return {"accuracy": float(np.mean(predicted == (y == 1))), "precision": tp / (tp + fp), "recall": tp / (tp + fn),
            "auc": wins / (positives.size * negatives.size),
            "loss": float(-np.mean(y * np.log(clipped) + (1 - y) * np.log(1 - clipped)))}


def test_evaluate_clients_send_named_features_and_the_metrics_match_numpy(trained: Trained, served):
    table, classes = trained.tables[BINARY], trained.classes[BINARY]
    features = table.features()
    rest = ServingClient(served.url, NAME, output_key="probabilities").predict(features, BINARY, batch_size=64)
    via_grpc = GrpcServingClient(served.grpc, NAME, output_key="probabilities").predict(features, BINARY,
                                                                                        batch_size=64)
    np.testing.assert_allclose(rest, via_grpc, atol=1e-6)
    y = scored_labels("binary-classification", table.labels, classes)
    assert y.sum() == np.sum(table.labels == "Adelie")  # 1 = the positive class, here the first name
    metrics = compute_metrics("binary-classification", y, rest)
    expected = _numpy_binary_metrics(y, rest[:, 0].astype(np.float64))
    for name, value in expected.items():
        assert metrics[name] == pytest.approx(value, abs=2e-3), name
    assert metrics["accuracy"] >= 0.75


def _example(row: dict[str, object]):
    from tensorflow.core.example import example_pb2

    example = example_pb2.Example()
    for name, value in row.items():
        feature = example.features.feature[name]
        if isinstance(value, str):
            feature.bytes_list.value.append(value.encode())
        elif KINDS[name] in ("integer", "boolean"):
            feature.int64_list.value.append(int(value))
        else:
            feature.float_list.value.append(float(value))
    return example


def _present_cells(table: Table, row: int) -> dict[str, object]:
    """The row as a client would write an Example: missing cells are left out."""
    cells: dict[str, object] = {}
    for name, values in table.columns.items():
        value = values[row]
        if value is not None and not (isinstance(value, float) and np.isnan(value)):
            cells[name] = value
    return cells


def test_grpc_classify_and_rest_classify_answer_the_same_as_predict(trained: Trained, served):
    from tensorflow_serving.apis import classification_pb2, prediction_service_pb2_grpc

    table, classes = trained.tables[BINARY], trained.classes[BINARY]
    rows = [_present_cells(table, i) for i in range(40)]
    assert any(len(row) < len(KINDS) for row in rows)  # some cells are missing
    predicted = ServingClient(served.url, NAME, output_key="probabilities").predict(
        {name: values[:40] for name, values in table.features().items()}, BINARY)[:, 0]

    request = classification_pb2.ClassificationRequest()
    request.model_spec.name, request.model_spec.signature_name = NAME, "classify"
    request.model_spec.version.value = BINARY
    request.input.example_list.examples.extend(_example(row) for row in rows)
    with grpc.insecure_channel(served.grpc) as channel:
        reply = prediction_service_pb2_grpc.PredictionServiceStub(channel).Classify(request, timeout=30)
    got = [[(c.label, c.score) for c in item.classes] for item in reply.result.classifications]
    assert all([label for label, _ in item] == list(classes.names) for item in got)
    np.testing.assert_allclose([item[classes.positive][1] for item in got], predicted, atol=1e-5)
    np.testing.assert_allclose([sum(score for _, score in item) for item in got], 1.0, atol=1e-5)

    as_json = [{k: (v if isinstance(v, str) or KINDS[k] == "numeric" else int(v)) for k, v in row.items()}
               for row in rows]
    answer = _post(f"{served.url}/v1/models/{NAME}/versions/{BINARY}:classify",
                   {"signature_name": "classify", "examples": as_json})
    assert [[label for label, _ in item] for item in answer["results"]] == [list(classes.names)] * 40
    np.testing.assert_allclose([item[classes.positive][1] for item in answer["results"]], predicted, atol=1e-5)
