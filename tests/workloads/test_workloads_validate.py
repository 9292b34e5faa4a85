"""Validation metrics against an independent numpy computation, measured for candidate and baseline on the
same data; the gates are the lifecycle core's, applied to what the worker measured."""

from __future__ import annotations

import json

import numpy as np
import pytest

from modelops.lifecycle.gates import Gate, GateOutcome, evaluate_gates
from modelops.workloads.data.synthetic import make_dataset, write_csv

from .conftest import WorkerRun, base_config, predict_in_process, run_worker

pytestmark = pytest.mark.slow


def _numpy_binary(y: np.ndarray, p: np.ndarray) -> dict[str, float]:
    p = p[:, 0].astype(np.float64)
    pred = (p > 0.5).astype(float)
    tp, fp, fn = ((pred == 1) & (y == 1)).sum(), ((pred == 1) & (y == 0)).sum(), ((pred == 0) & (y == 1)).sum()
    precision, recall = tp / (tp + fp), tp / (tp + fn)
    pos, neg = p[y == 1], p[y == 0]
    auc = ((pos[:, None] > neg[None, :]).sum() + 0.5 * (pos[:, None] == neg[None, :]).sum()) / (pos.size * neg.size)
    clipped = np.clip(p, 1e-7, 1 - 1e-7)
    loss = -np.mean(y * np.log(clipped) + (1 - y) * np.log(1 - clipped))
    return {"accuracy": (pred == y).mean(), "precision": precision, "recall": recall,
            "f1": 2 * precision * recall / (precision + recall), "auc": auc, "loss": loss}


def _numpy_multiclass(y: np.ndarray, p: np.ndarray) -> dict[str, float]:
    y = y.astype(int)
    pred = p.argmax(axis=1)
    precisions, recalls, f1s = [], [], []
    for k in range(p.shape[1]):
        tp = ((pred == k) & (y == k)).sum()
        precision = tp / max((pred == k).sum(), 1)
        recall = tp / max((y == k).sum(), 1)
        precisions.append(precision)
        recalls.append(recall)
        f1s.append(2 * precision * recall / (precision + recall) if precision + recall else 0.0)
    loss = -np.mean(np.log(np.clip(p[np.arange(y.size), y].astype(np.float64), 1e-7, 1 - 1e-7)))
    return {"accuracy": (pred == y).mean(), "precision": np.mean(precisions), "recall": np.mean(recalls),
            "f1": np.mean(f1s), "loss": loss}


def _numpy_regression(y: np.ndarray, p: np.ndarray) -> dict[str, float]:
    err = p[:, 0].astype(np.float64) - y
    return {"mse": np.mean(err**2), "rmse": np.sqrt(np.mean(err**2)), "mae": np.mean(np.abs(err)),
            "loss": np.mean(err**2)}


@pytest.mark.parametrize(("fixture", "independent"), [
    ("binary_versions", _numpy_binary), ("multiclass_version", _numpy_multiclass),
    ("regression_version", _numpy_regression)])
def test_validation_metrics_equal_numpy(request, worker, fixture, independent):
    deployment = request.getfixturevalue(fixture)
    run = worker("validate", deployment.task, deployment.holdout_csv, root=deployment.root)
    assert run.code == 0, run.result
    _, y, outputs = predict_in_process(deployment.deployment_dir / "1", deployment.holdout_csv)
    expected = independent(y, outputs)
    assert set(run.result["metrics"]) == set(expected)
    for name, value in expected.items():
        # keras accumulates in float32; a loss of ~1 in float32 carries ~1e-7 relative rounding
        tolerance = 1e-3 if name == "auc" else 1e-6 * max(1.0, abs(value))
        assert abs(run.result["metrics"][name] - value) <= tolerance, (name, run.result["metrics"][name], value)
    stored = json.loads((deployment.deployment_dir / "1" / "validation.json").read_text())
    assert stored["metrics"] == run.result["metrics"] and stored["data"]["rows"] == 400


def _core_gates(result: dict, gates: list[dict], baseline_version: int | None) -> GateOutcome:
    """What the lifecycle core decides from this worker's measurements (the worker never decides)."""
    return evaluate_gates([Gate.from_dict(g) for g in gates], result["metrics"], result["baselineMetrics"],
                          baseline_version=baseline_version)


def test_better_candidate_passes_and_worse_one_fails_max_regression(binary_versions, worker):
    # `min` is a bound both versions pass (the weak one is barely trained: near chance), so only the
    # regression against the baseline can fail the worse one
    gates = [{"metric": "accuracy", "min": 0.3, "maxRegression": 0.02}, {"metric": "loss", "maxRegression": 0.05}]
    better = worker("validate", binary_versions.task, binary_versions.holdout_csv, version=2, baselineVersion=1,
                    root=binary_versions.root)
    assert better.code == 0 and "passed" not in better.result and "gates" not in better.result, better.result
    assert better.result["metrics"]["accuracy"] > better.result["baselineMetrics"]["accuracy"] + 0.02
    assert _core_gates(better.result, gates, 1).passed
    worse = worker("validate", binary_versions.task, binary_versions.holdout_csv, version=1, baselineVersion=2,
                   root=binary_versions.root)
    assert worse.code == 0
    # same data, same models: the two runs measured the same numbers, just swapped
    assert worse.result["metrics"] == better.result["baselineMetrics"]
    outcome = _core_gates(worse.result, gates, 2)
    failed = [g for g in outcome.results if not g.passed]
    assert not outcome.passed and {g.kind for g in failed} == {"maxRegression"} and failed[0].baseline is not None


def test_first_version_has_no_baseline_and_the_change_gate_is_skipped(binary_versions, worker):
    run = worker("validate", binary_versions.task, binary_versions.holdout_csv, version=2, root=binary_versions.root)
    assert run.code == 0 and run.result["baselineMetrics"] is None and run.result["baselineVersion"] is None
    outcome = _core_gates(run.result, [{"metric": "auc", "min": 0.9, "maxRegression": 0.01}], None)
    assert outcome.passed and [g.skipped for g in outcome.results] == [False, True]


def test_challenge_scores_both_versions_on_the_monitoring_rows(binary_versions, worker):
    """A degradation retrain is also compared with the serving version on the data that showed the problem."""
    run = worker("validate", binary_versions.task, binary_versions.holdout_csv, version=2, baselineVersion=1,
                 challengeDataset={"uri": str(binary_versions.holdout_csv), "role": "monitoring"},
                 root=binary_versions.root)
    assert run.code == 0, run.result
    challenge = run.result["challenge"]
    # the same rows as the validation data here, so the challenge must measure exactly the same numbers
    assert challenge["rows"] == run.result["rows"]
    assert challenge["candidate"] == run.result["metrics"] and challenge["baseline"] == run.result["baselineMetrics"]
    assert challenge["data"]["sha256"] == run.result["lineage"]["sha256"]


def test_validation_data_missing_a_trained_column_breaks_the_schema(binary_versions, worker, tmp_path):
    """A missing column is a schema anomaly that fails the stage by default (spec.schemaRules), named."""
    x, y, names = make_dataset("binary-classification", 50, 5, seed=3)
    run = worker("validate", binary_versions.task, write_csv(tmp_path / "five.csv", x, y, names), version=2,
                 root=binary_versions.root)
    assert run.code == 1 and run.result["reason"] == "SchemaViolation", run.result
    assert "column 'f5' (numeric) of the version's schema is missing" in run.result["error"]
    assert [a["kind"] for a in run.result["schemaCheck"]["anomalies"]] == ["missingColumn"]
    history = sorted((binary_versions.deployment_dir / "2" / "validations").glob("*.json"))
    assert json.loads(history[-1].read_text())["reason"] == "SchemaViolation"
    if (binary_versions.deployment_dir / "2" / "validation.json").exists():  # an earlier pass is not replaced
        assert "error" not in json.loads((binary_versions.deployment_dir / "2" / "validation.json").read_text())


def test_labels_beyond_the_trained_classes_are_named_with_their_own_label_column(multiclass_version, tmp_path):
    """The version trained on column 'label'; this data calls it 'kind': validate and evaluate both name
    'kind', the column the user has to fix (evaluate before any request is sent)."""
    x, y, names = make_dataset("multiclass-classification", 60, 6, seed=3)
    y[7] = 3
    path = write_csv(tmp_path / "k4.csv", x, y, names, label_column="kind")
    kind = {"uri": str(path), "labelColumn": "kind"}

    def run_on_kind(stage: str, **extra: object) -> WorkerRun:
        config = base_config(stage, multiclass_version.task, multiclass_version.root, path, 1,
                             tmp_path / f"{stage}.result", **extra)
        return run_worker({**config, "dataset": kind}, tmp_path)

    run = run_on_kind("validate")
    assert run.result["reason"] == "LabelOutOfRange", run.result
    assert "column 'kind': 1 labels are a class this version was not trained on ['0', '1', '2']: row 8: '3'" \
        in run.result["error"] and "'label'" not in run.result["error"]
    run = run_on_kind("evaluate", endpoint="http://127.0.0.1:9",
                      request={"transport": "rest", "retries": 0, "timeoutSeconds": 1})
    assert run.result["reason"] == "LabelOutOfRange", run.result
    assert "column 'kind'" in run.result["error"] and "row 8: '3'" in run.result["error"]


def test_unknown_version_is_model_not_found(binary_versions, worker):
    run = worker("validate", binary_versions.task, binary_versions.holdout_csv, version=9, root=binary_versions.root)
    assert run.code == 1 and run.result["reason"] == "ModelNotFound" and "version 9" in run.result["error"]
