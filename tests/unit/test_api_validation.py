"""Samples validate; invalid documents are rejected with the offending field named, locally and by the schema."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml

from modelops.api import SpecError, parse_duration, parse_model_deployment
from modelops.api.crd import crd_document

ROOT = Path(__file__).resolve().parents[2]
SAMPLES = sorted((ROOT / "manifests" / "samples").glob("*.yaml"))
BASE = yaml.safe_load((ROOT / "manifests" / "samples" / "binary-classification.yaml").read_text())


def _to_jsonschema(node: Any) -> Any:
    """OpenAPI v3 (as the API server reads it) -> JSON Schema draft 4, for an offline structural check."""
    if isinstance(node, list):
        return [_to_jsonschema(n) for n in node]
    if not isinstance(node, dict):
        return node
    out = {k: _to_jsonschema(v) for k, v in node.items()
           if not k.startswith("x-kubernetes") and k not in ("nullable", "default")}
    if node.get("nullable") and "type" in node:
        out["type"] = [node["type"], "null"]
    if node.get("type") == "object" and "properties" in node:
        out["additionalProperties"] = False
    return out


SCHEMA = _to_jsonschema(crd_document()["spec"]["versions"][0]["schema"]["openAPIV3Schema"])
SCHEMA["properties"]["metadata"] = {"type": "object"}


def _schema_errors(doc: dict) -> list[str]:
    validator = jsonschema.Draft4Validator(SCHEMA)
    return [".".join(str(p) for p in e.absolute_path) for e in validator.iter_errors(doc)]


@pytest.mark.parametrize("path", SAMPLES, ids=lambda p: p.name)
def test_samples_are_valid(path: Path) -> None:
    doc = yaml.safe_load(path.read_text())
    assert _schema_errors(doc) == []
    parsed = parse_model_deployment(doc, str(path))
    assert parsed.spec["retention"]["keepVersions"] >= 1  # defaults applied


def test_at_least_one_sample_per_task() -> None:
    tasks = {yaml.safe_load(p.read_text())["spec"]["task"] for p in SAMPLES}
    assert tasks == {"binary-classification", "multiclass-classification", "regression"}


def _with(path: str, value: Any) -> dict:
    doc = copy.deepcopy(BASE)
    node = doc
    *parents, leaf = [int(p) if p.isdigit() else p for p in path.split(".")]
    for key in parents:
        node = node[key]
    if value is _DELETE:
        del node[leaf]
    else:
        node[leaf] = value
    return doc


_DELETE = object()

# (path to change, new value, field the error must name, text the message must contain, schema catches it too)
INVALID = [
    ("spec.task", "clustering", "spec.task", 'unknown task "clustering"', True),
    ("spec.task", _DELETE, "spec.task", "required", True),
    ("spec.storage", _DELETE, "spec.storage", "required", True),
    ("spec.storage.persistentVolumeClaim", "Bad_Name", "spec.storage.persistentVolumeClaim", "not a valid", True),
    ("spec.training.dataset.uri", _DELETE, "spec.training.dataset.uri", "required", True),
    ("spec.training.dataset.format", "parquet", "spec.training.dataset.format", "expected one of csv, tfrecord, npz",
     True),
    ("spec.training.hyperparameters.epochs", 0, "spec.training.hyperparameters.epochs", ">= 1", True),
    ("spec.training.hyperparameters.epochs", "ten", "spec.training.hyperparameters.epochs", "expected an integer",
     True),
    ("spec.training.hyperparameters.batchSize", -32, "spec.training.hyperparameters.batchSize", ">= 1", True),
    ("spec.training.hyperparameters.learningRate", 0, "spec.training.hyperparameters.learningRate", "> 0", True),
    ("spec.training.hyperparameters.optimizer", "lbfgs", "spec.training.hyperparameters.optimizer", "adam", True),
    ("spec.training.model.dropout", 1.0, "spec.training.model.dropout", "< 1", True),
    ("spec.training.model.hiddenLayers", [32, 0], "spec.training.model.hiddenLayers[1]", ">= 1", True),
    ("spec.training.model.activation", "swish", "spec.training.model.activation", "relu", True),
    ("spec.training.model.numClasses", 3, "spec.training.model.numClasses", "multiclass", False),
    ("spec.training.backoffLimit", -1, "spec.training.backoffLimit", ">= 0", True),
    ("spec.training.resources.requests.cpu", [1], "spec.training.resources.requests.cpu",
     "expected a number or a string quantity", False),  # the schema leaves quantities untyped (as a Pod takes them)
    ("spec.training.unknownKnob", 1, "spec.training.unknownKnob", "unknown field", True),
    ("spec.validation.gates.1.metric", "acuracy", "spec.validation.gates[1].metric", 'unknown metric "acuracy"',
     True),
    ("spec.validation.gates.0.metric", "rmse", "spec.validation.gates[0].metric", "not computed for task", False),
    ("spec.validation.gates.0.maxRegression", -0.1, "spec.validation.gates[0].maxRegression", ">= 0", True),
    ("spec.validation.gates.1", {"metric": "auc"}, "spec.validation.gates[1]", "at least one of", False),
    ("spec.validation.gates.1", {"metric": "auc", "min": 0.9, "max": 0.8}, "spec.validation.gates[1].min",
     "greater than max", False),
    ("spec.validation.gates", "accuracy", "spec.validation.gates", "expected a list", True),
    ("spec.serving.replicas", 0, "spec.serving.replicas", ">= 1", True),
    ("spec.serving.pinnedVersion", 0, "spec.serving.pinnedVersion", ">= 1", True),
    ("spec.monitoring.interval", "5 minutes", "spec.monitoring.interval", "duration", True),
    ("spec.monitoring.onDegradation", "Panic", "spec.monitoring.onDegradation", "Retrain, Alert", True),
    ("spec.monitoring.degradation.0", {"metric": "accuracy", "max": 0.9}, "spec.monitoring.degradation[0].max",
     "higher-is-better", False),
    ("spec.monitoring.degradation.1", {"metric": "accuracy", "min": 0.5, "maxDrop": 0.1},
     "spec.monitoring.degradation[1]", "exactly one", False),
    ("spec.monitoring.drift.metric", "chi2", "spec.monitoring.drift.metric", "psi, js, ks", True),
    ("spec.monitoring.drift.correction", "holm", "spec.monitoring.drift.correction", "bonferroni", True),
    ("spec.monitoring.drift.alpha", 0, "spec.monitoring.drift.alpha", "> 0", True),
    ("spec.monitoring.drift.minDriftedShare", 1.5, "spec.monitoring.drift.minDriftedShare", "<= 1", True),
    ("spec.monitoring.drift.minRows", 1, "spec.monitoring.drift.minRows", ">= 2", True),
    ("spec.monitoring.drift", {"metric": "ks", "threshold": 1.5}, "spec.monitoring.drift.threshold", "above 1",
     False),
    ("spec.monitoring.onDrift", "Panic", "spec.monitoring.onDrift", "Retrain, Alert, Ignore", True),
    ("spec.retraining.maxAttempts", 0, "spec.retraining.maxAttempts", ">= 1", True),
    ("spec.retraining.cooldown", 10, "spec.retraining.cooldown", "expected a string", True),
    ("spec.retention.keepVersions", 0, "spec.retention.keepVersions", ">= 1", True),
    ("spec.training.hyperparameters.earlyStopping.enabled", "yes",
     "spec.training.hyperparameters.earlyStopping.enabled", "true or false", True),
    ("metadata.name", "Churn_Model", "metadata.name", "DNS label", False),
]


@pytest.mark.parametrize(("path", "value", "field", "text", "schema_too"), INVALID,
                         ids=[f"{i}-{c[2]}" for i, c in enumerate(INVALID)])
def test_invalid_documents_name_the_field(path: str, value: Any, field: str, text: str, schema_too: bool) -> None:
    doc = _with(path, value)
    with pytest.raises(SpecError) as caught:
        parse_model_deployment(doc)
    matching = [e for e in caught.value.errors if e.startswith(field + ":") or e.startswith(field + " ")]
    assert matching, f"no error names {field}: {caught.value.errors}"
    assert any(text in e for e in matching), matching
    if schema_too:
        assert _schema_errors(doc), f"the CRD schema accepted {path}={value!r}"


def test_every_error_is_reported_at_once() -> None:
    doc = _with("spec.training.hyperparameters.epochs", 0)
    doc["spec"]["serving"]["replicas"] = -1
    with pytest.raises(SpecError) as caught:
        parse_model_deployment(doc)
    assert len(caught.value.errors) == 2 and "spec.serving.replicas" in str(caught.value)


def test_wrong_kind_and_api_version_are_named() -> None:
    doc = copy.deepcopy(BASE)
    doc["apiVersion"], doc["kind"] = "modelops.dev/v1", "Deployment"
    with pytest.raises(SpecError) as caught:
        parse_model_deployment(doc)
    assert [e.split(":")[0] for e in caught.value.errors] == ["apiVersion", "kind"]


@pytest.mark.parametrize(("text", "seconds"), [("30s", 30), ("5m", 300), ("1h30m", 5400), ("250ms", 0.25)])
def test_durations(text: str, seconds: float) -> None:
    assert parse_duration(text) == seconds


@pytest.mark.parametrize("text", ["", "5", "m5", "5 m", "1d"])
def test_bad_durations_are_rejected(text: str) -> None:
    with pytest.raises(ValueError, match="not a duration"):
        parse_duration(text)
