"""Typed loader for the stage config both runtimes write (`modelops.contract.stage_config`).

Strict on purpose: an unknown, missing or ill-typed key is an error that names its full path
(`config.hyperparameters.epochs: expected integer >= 1`), because a typo silently falling back to a
default would train the wrong model without anyone noticing.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from modelops.api.vocabulary import (
    ACTIVATIONS,
    COLLECTIVE_IMPLEMENTATIONS,
    DATASET_FORMATS,
    DISTRIBUTION_STRATEGIES,
    OPTIMIZERS,
    STAGES,
    TASKS,
)
from modelops.contract.layout import LayoutError, deployment_dir, version_dir
from modelops.contract.stage_config import DEFAULT_RESULT_PATH
from modelops.workloads.config.dataset_columns import parse_classes, parse_column_settings
from modelops.workloads.config.reader import Reader, invalid, kind
from modelops.workloads.config.schema_rules import SchemaRules, parse_schema_rules
from modelops.workloads.config.user_model import UserModelSpec, names_user_model, parse_user_model
from modelops.workloads.errors import INVALID_CONFIG, WorkloadError
from modelops.workloads.tuning.config import TuningSpec, parse_tuning

__all__ = ["STAGES", "DatasetSpec", "TuningSpec", "WorkloadConfig", "best_effort_result_path", "load_config",
           "parse_config"]
TRANSPORTS = ("auto", "grpc", "rest")  # auto: gRPC when grpcEndpoint is given and answers, else REST
RECIPE_NAMES = ("configured", "balanced", "recent")  # the order recipes are tried in (workloads/data/recipes.py)


@dataclass(frozen=True)
class DeploymentRef:
    namespace: str
    name: str


@dataclass(frozen=True)
class DatasetSpec:
    """One dataset a stage reads; `role` says why (lineage), `max_rows` keeps only the last rows and
    `weight` is the sample weight of its rows in training."""

    uri: str
    label_column: str = "label"
    format: str | None = None
    role: str | None = None
    max_rows: int | None = None
    weight: float = 1.0
    holdout: float | None = None  # a retrain's monitoring rows: this share is held out, never trained on
    # How its columns are read (workloads/data/table_reader.py); None/empty: infer and use every column.
    missing_values: tuple[str, ...] | None = None  # None: data.columns.DEFAULT_MISSING_VALUES
    column_types: Mapping[str, str] = field(default_factory=dict)
    ignore_columns: tuple[str, ...] = ()
    id_column: str | None = None
    weight_column: str | None = None


@dataclass(frozen=True)
class ModelSpec:
    hidden_layers: tuple[int, ...] = (32, 16)
    activation: str = "relu"
    dropout: float = 0.0
    num_classes: int | None = None
    user: UserModelSpec | None = None  # the user's own body-building code; the fields above are then unused


@dataclass(frozen=True)
class EarlyStopping:
    enabled: bool = True
    patience: int = 3
    monitor: str = "val_loss"
    min_delta: float = 0.0


@dataclass(frozen=True)
class Hyperparameters:
    epochs: int = 20
    batch_size: int = 32
    learning_rate: float = 0.001
    optimizer: str = "adam"
    seed: int = 42
    validation_split: float = 0.1
    early_stopping: EarlyStopping = field(default_factory=EarlyStopping)


@dataclass(frozen=True)
class Distribution:
    """`spec.training.distribution` plus the worker count: present only when more than one worker trains."""

    workers: int
    strategy: str = "multiWorkerMirrored"
    communication: str = "auto"
    port: int = 2222


@dataclass(frozen=True)
class RequestSpec:
    batch_size: int | None = None  # rows per request; None: the stage chooses (predict_client.request_rows)
    timeout_seconds: float = 10.0
    retries: int = 3
    transport: str = "auto"


@dataclass(frozen=True)
class RecipeSpec:
    """A degradation retrain's data recipes (`recipes.py`): how many to try, and the metric that picks one."""

    count: int
    metric: str


@dataclass(frozen=True)
class DriftFloor:
    """evaluate: the effect-size floor (monitoring.drift metric and threshold) each tested feature is checked
    against, so the lifecycle decides over every tested feature, not only those the summary lists."""

    metric: str
    threshold: float


@dataclass(frozen=True)
class WorkloadConfig:
    stage: str
    task: str
    deployment: DeploymentRef
    version: int
    storage_root: Path
    dataset: DatasetSpec
    model: ModelSpec = field(default_factory=ModelSpec)
    hyperparameters: Hyperparameters = field(default_factory=Hyperparameters)
    baseline_version: int | None = None
    endpoint: str | None = None
    request: RequestSpec = field(default_factory=RequestSpec)
    result_path: str = DEFAULT_RESULT_PATH
    extra_datasets: tuple[DatasetSpec, ...] = ()
    challenge_dataset: DatasetSpec | None = None
    fingerprint_datasets: tuple[DatasetSpec, ...] = ()
    grpc_endpoint: str | None = None  # TF Serving's gRPC API, "host:port" (the Service's 8500 port)
    distribution: Distribution | None = None
    tuning: TuningSpec | None = None  # the tune stage's search
    tuned_by: int | None = None  # train: the version whose search chose model/hyperparameters
    recipes: RecipeSpec | None = None  # train: data recipes to try (a degradation retrain)
    classes: tuple[str, ...] | None = None  # train/tune: the class order (data/labels.py); None: sorted labels
    positive_class: str | None = None  # train/tune, binary: None means the second class
    schema_rules: SchemaRules = field(default_factory=SchemaRules)  # what a schema anomaly does
    drift_floor: DriftFloor | None = None  # evaluate: the drift rule's effect-size floor

    @property
    def deployment_dir(self) -> Path:
        """`<storageRoot>/<namespace>/<name>/`: holds numbered versions (TF Serving's base path)."""
        return Path(deployment_dir(str(self.storage_root), self.deployment.namespace, self.deployment.name))

    def version_dir(self, version: int | None = None) -> Path:
        number = self.version if version is None else version
        return Path(version_dir(str(self.storage_root), self.deployment.namespace, self.deployment.name, number))


def load_config(path: str | Path) -> WorkloadConfig:
    """Read a JSON or YAML config file; every problem is a WorkloadError(InvalidConfig) naming the file."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise WorkloadError(INVALID_CONFIG, f"config file {path}: cannot read: {exc.strerror or exc}") from exc
    try:
        data = json.loads(text) if path.suffix == ".json" else yaml.safe_load(text)
    except (json.JSONDecodeError, yaml.YAMLError) as exc:
        raise WorkloadError(INVALID_CONFIG, f"config file {path}: not valid JSON/YAML: {exc}") from exc
    try:
        return parse_config(data)
    except WorkloadError as exc:
        raise WorkloadError(exc.reason, f"{exc.message} (in {path})") from exc


def parse_config(data: Any) -> WorkloadConfig:
    """Build a WorkloadConfig from a parsed mapping (camelCase keys, as the runtimes write them)."""
    root = Reader(data, "config")
    stage = root.string("stage", choices=STAGES, required=True)
    task = root.string("task", choices=TASKS, required=True)
    dep = root.child("deployment", required=True)
    assert dep is not None
    deployment = DeploymentRef(dep.string("namespace", "default"), dep.string("name", required=True))
    dep.finish()
    version = root.integer("version", minimum=1, required=True)
    storage_root = Path(root.string("storageRoot", required=True))
    try:
        deployment_dir(str(storage_root), deployment.namespace, deployment.name)
    except LayoutError as exc:  # "name: '../x' is not a valid ..." -> config.deployment.name: ...
        raise WorkloadError(INVALID_CONFIG, f"config.deployment.{exc}") from exc
    dataset = _parse_dataset(root.child("dataset", required=True))
    model = _parse_model(root.child("model"), task)
    hyper = _parse_hyperparameters(root.child("hyperparameters"))
    extra = _parse_dataset_list(root.raw("extraDatasets"), "config.extraDatasets")
    challenge_reader = root.child("challengeDataset")
    challenge = _parse_dataset(challenge_reader) if challenge_reader is not None else None
    fingerprint = _parse_dataset_list(root.raw("fingerprintDatasets"), "config.fingerprintDatasets")
    baseline = root.integer("baselineVersion", minimum=1)
    endpoint = root.string("endpoint")
    if endpoint is not None and not endpoint.startswith(("http://", "https://")):
        raise invalid("config.endpoint", f"expected an http(s) URL, got {endpoint!r}")
    grpc_endpoint = root.string("grpcEndpoint")
    if grpc_endpoint is not None and ("://" in grpc_endpoint or ":" not in grpc_endpoint):
        raise invalid("config.grpcEndpoint", f"expected host:port, got {grpc_endpoint!r}")
    if stage == "evaluate" and endpoint is None and grpc_endpoint is None:
        raise invalid("config.endpoint", "required key is missing (evaluate sends data to TF Serving)")
    if baseline is not None and baseline == version:
        raise invalid("config.baselineVersion", f"must differ from config.version ({version})")
    request = _parse_request(root.child("request"))
    if stage == "evaluate" and request.transport == "grpc" and grpc_endpoint is None:
        raise invalid("config.grpcEndpoint", "required key is missing (config.request.transport is grpc)")
    result_path = root.string("resultPath", DEFAULT_RESULT_PATH)
    distribution = _parse_distribution(root.child("distribution"))
    if distribution is not None and stage != "train":
        raise invalid("config.distribution", f"only the train stage runs on several workers, not {stage}")
    tuning = parse_tuning(root.child("tuning"), own_search=model.user is not None)
    if (tuning is None) == (stage == "tune"):
        raise invalid("config.tuning", "required key is missing (the tune stage searches what it says)"
                      if tuning is None else f"only the tune stage searches hyperparameters, not {stage}")
    tuned_by = root.integer("tunedBy", minimum=1)
    recipes = _parse_recipes(root.child("recipes"))
    if recipes is not None and stage != "train":
        raise invalid("config.recipes", f"only the train stage tries data recipes, not {stage}")
    classes, positive = parse_classes(root, task)
    schema_rules = parse_schema_rules(root.child("schemaRules"))
    floor_reader = root.child("driftFloor")
    drift_floor = None
    if floor_reader is not None:
        drift_floor = DriftFloor(floor_reader.string("metric", required=True, choices=("psi", "js", "ks")),
                                 floor_reader.number("threshold", 0.0, minimum=0.0))
        floor_reader.finish()
    root.finish()
    return WorkloadConfig(stage, task, deployment, version, storage_root, dataset, model, hyper,
                          baseline, endpoint, request, result_path, extra, challenge, fingerprint, grpc_endpoint,
                          distribution, tuning, tuned_by, recipes, classes, positive, schema_rules, drift_floor)


def _parse_recipes(reader: Reader | None) -> RecipeSpec | None:
    if reader is None:
        return None
    count = reader.integer("count", 1, minimum=1)
    if count > len(RECIPE_NAMES):
        raise invalid("config.recipes.count", f"at most {len(RECIPE_NAMES)} recipes exist, got {count}")
    spec = RecipeSpec(count, reader.string("metric", required=True))
    reader.finish()
    return spec


def _parse_distribution(reader: Reader | None) -> Distribution | None:
    if reader is None:
        return None
    distribution = Distribution(
        workers=reader.integer("workers", minimum=1, required=True),
        strategy=reader.string("strategy", "multiWorkerMirrored", choices=DISTRIBUTION_STRATEGIES),
        communication=reader.string("communication", "auto", choices=COLLECTIVE_IMPLEMENTATIONS),
        port=reader.integer("port", 2222, minimum=1024),
    )
    reader.finish()
    return distribution


def _parse_dataset(reader: Reader | None) -> DatasetSpec:
    assert reader is not None
    spec = DatasetSpec(reader.string("uri", required=True), reader.string("labelColumn", "label"),
                       reader.string("format", None, choices=DATASET_FORMATS), reader.string("role"),
                       reader.integer("maxRows", None, minimum=1),
                       reader.number("weight", 1.0, minimum=0.0, exclusive_minimum=True),
                       reader.number("holdout", None, minimum=0.0, exclusive_minimum=True, maximum=1.0,
                                     exclusive_maximum=True),
                       **parse_column_settings(reader))
    reader.finish()
    return spec


def _parse_dataset_list(raw: Any, path: str) -> tuple[DatasetSpec, ...]:
    if raw is None:
        return ()
    if not isinstance(raw, list):
        raise invalid(path, f"expected a list, got {kind(raw)}")
    return tuple(_parse_dataset(Reader(item, f"{path}[{i}]")) for i, item in enumerate(raw))


def _parse_model(reader: Reader | None, task: str) -> ModelSpec:
    if reader is None:
        return ModelSpec()
    if names_user_model(reader):
        spec = ModelSpec(user=parse_user_model(reader), num_classes=reader.integer("numClasses", None, minimum=2))
        return _finish_model(reader, spec, task)
    layers_raw = reader.raw("hiddenLayers")
    layers = ModelSpec.hidden_layers
    if layers_raw is not None:
        if not isinstance(layers_raw, list) or not all(
                isinstance(n, int) and not isinstance(n, bool) and n >= 1 for n in layers_raw):
            raise invalid("config.model.hiddenLayers", f"expected a list of integers >= 1, got {layers_raw!r}")
        layers = tuple(layers_raw)
    spec = ModelSpec(layers, reader.string("activation", "relu", choices=ACTIVATIONS),
                     reader.number("dropout", 0.0, minimum=0.0, maximum=1.0, exclusive_maximum=True),
                     reader.integer("numClasses", None, minimum=2))
    return _finish_model(reader, spec, task)


def _finish_model(reader: Reader, spec: ModelSpec, task: str) -> ModelSpec:
    if spec.num_classes is not None and task != "multiclass-classification":
        raise invalid("config.model.numClasses", f"only meaningful for multiclass-classification, not {task}")
    reader.finish()
    return spec


def _parse_hyperparameters(reader: Reader | None) -> Hyperparameters:
    if reader is None:
        return Hyperparameters()
    es_reader = reader.child("earlyStopping")
    early = EarlyStopping()
    if es_reader is not None:
        early = EarlyStopping(es_reader.boolean("enabled", True), es_reader.integer("patience", 3, minimum=0),
                              es_reader.string("monitor", "val_loss"),
                              es_reader.number("minDelta", 0.0, minimum=0.0))
        es_reader.finish()
    hyper = Hyperparameters(
        epochs=reader.integer("epochs", 20, minimum=1),
        batch_size=reader.integer("batchSize", 32, minimum=1),
        learning_rate=reader.number("learningRate", 0.001, minimum=0.0, exclusive_minimum=True),
        optimizer=reader.string("optimizer", "adam", choices=OPTIMIZERS),
        seed=reader.integer("seed", 42, minimum=0),
        validation_split=reader.number("validationSplit", 0.1, minimum=0.0, maximum=1.0, exclusive_maximum=True),
        early_stopping=early,
    )
    reader.finish()
    return hyper


def _parse_request(reader: Reader | None) -> RequestSpec:
    if reader is None:
        return RequestSpec()
    spec = RequestSpec(reader.integer("batchSize", None, minimum=1),
                       reader.number("timeoutSeconds", 10.0, minimum=0.0, exclusive_minimum=True),
                       reader.integer("retries", 3, minimum=0),
                       reader.string("transport", "auto", choices=TRANSPORTS))
    reader.finish()
    return spec


def best_effort_result_path(path: str | Path) -> str:
    """Where to report a config that failed to load: its resultPath if readable, else the default."""
    try:
        text = Path(path).read_text(encoding="utf-8")
        data = json.loads(text) if str(path).endswith(".json") else yaml.safe_load(text)
        value = data.get("resultPath") if isinstance(data, Mapping) else None
        return value if isinstance(value, str) and value else DEFAULT_RESULT_PATH
    except Exception:
        return DEFAULT_RESULT_PATH
