"""Shared fixtures: stage configs, an in-process CLI runner, and real trained versions (trained once per session).

Training runs through the same CLI entry the Jobs use (`modelops.workloads.cli.main`) in-process, so
TensorFlow is imported once for the whole directory.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from modelops.contract.result import read_result
from modelops.workloads.cli import main as worker_main
from modelops.workloads.data.synthetic import make_dataset, write_csv

FEATURES = 6
NAME = "churn"


@dataclass
class WorkerRun:
    code: int
    result: dict[str, Any]
    stdout_last_line: str


def base_config(stage: str, task: str, root: Path, dataset: Path | str, version: int, result_path: Path,
                **extra: Any) -> dict[str, Any]:
    config: dict[str, Any] = {
        "stage": stage, "task": task, "deployment": {"namespace": "default", "name": NAME},
        "version": version, "storageRoot": str(root), "dataset": {"uri": str(dataset), "labelColumn": "label"},
        "resultPath": str(result_path),
    }
    config.update(extra)
    return config


def run_worker(config: dict[str, Any], workdir: Path, capsys: pytest.CaptureFixture[str] | None = None
               ) -> WorkerRun:
    """Write the config, run `modelops worker <stage> --config FILE` in-process, read the result back."""
    workdir.mkdir(parents=True, exist_ok=True)
    config_path = workdir / f"{config['stage']}-{config['version']}-config.json"
    config_path.write_text(json.dumps(config))
    code = worker_main([config["stage"], "--config", str(config_path)])
    last_line = ""
    if capsys is not None:
        out = capsys.readouterr().out.strip().splitlines()
        last_line = out[-1] if out else ""
    return WorkerRun(code, read_result(Path(config["resultPath"]).read_text()), last_line)


@pytest.fixture
def worker(tmp_path: Path) -> Callable[..., WorkerRun]:
    """Run one stage on files under tmp_path: worker(stage, task, dataset, version=1, **config extras)."""

    def run(stage: str, task: str, dataset: Path | str, version: int = 1, root: Path | None = None,
            **extra: Any) -> WorkerRun:
        config = base_config(stage, task, root or tmp_path / "models", dataset, version,
                             tmp_path / f"{stage}-{version}.result", **extra)
        return run_worker(config, tmp_path)

    return run


@dataclass
class TrainedDeployment:
    """A storage root holding real trained versions, plus the data they were trained / checked on."""

    root: Path
    task: str
    train_csv: Path
    holdout_csv: Path
    workdir: Path
    train_results: dict[int, WorkerRun]

    @property
    def deployment_dir(self) -> Path:
        return self.root / "default" / NAME


SMALL_MODEL = {"hiddenLayers": [16], "activation": "relu", "dropout": 0.0, "numClasses": None}


def _train_versions(base: Path, task: str, versions: dict[int, dict[str, Any]], rows: int = 500
                    ) -> TrainedDeployment:
    x, y, names = make_dataset(task, rows, FEATURES, seed=1)
    hx, hy, _ = make_dataset(task, 400, FEATURES, seed=2)
    train_csv = write_csv(base / "train.csv", x, y, names)
    holdout_csv = write_csv(base / "holdout.csv", hx, hy, names)
    results = {}
    for version, hyper in versions.items():
        config = base_config("train", task, base / "models", train_csv, version, base / f"train-{version}.result",
                             model=SMALL_MODEL, hyperparameters=hyper)
        run = run_worker(config, base)
        assert run.code == 0, run.result
        results[version] = run
    return TrainedDeployment(base / "models", task, train_csv, holdout_csv, base, results)


GOOD = {"epochs": 12, "batchSize": 32, "learningRate": 0.02, "optimizer": "adam", "seed": 7,
        "validationSplit": 0.2, "earlyStopping": {"enabled": True, "patience": 3, "monitor": "val_loss"}}
WEAK = {"epochs": 1, "batchSize": 64, "learningRate": 0.0001, "optimizer": "sgd", "seed": 3,
        "validationSplit": 0.0, "earlyStopping": {"enabled": False}}


@pytest.fixture(scope="session")
def binary_versions(tmp_path_factory: pytest.TempPathFactory) -> TrainedDeployment:
    """Version 1 barely trained (the worse model), version 2 trained properly (the better one)."""
    return _train_versions(tmp_path_factory.mktemp("binary"), "binary-classification", {1: WEAK, 2: GOOD})


@pytest.fixture(scope="session")
def multiclass_version(tmp_path_factory: pytest.TempPathFactory) -> TrainedDeployment:
    return _train_versions(tmp_path_factory.mktemp("multiclass"), "multiclass-classification", {1: GOOD}, rows=700)


@pytest.fixture(scope="session")
def regression_version(tmp_path_factory: pytest.TempPathFactory) -> TrainedDeployment:
    return _train_versions(tmp_path_factory.mktemp("regression"), "regression", {1: GOOD})


def predict_in_process(version_dir: Path, csv_path: Path) -> tuple[dict[str, np.ndarray], np.ndarray, np.ndarray]:
    """(features by column name, y, model outputs) by calling the SavedModel's serving_default directly."""
    import tensorflow as tf

    data = np.genfromtxt(csv_path, delimiter=",", names=True)
    features = {name: data[name].astype(np.float32) for name in data.dtype.names if name != "label"}
    y = data["label"]
    signature = tf.saved_model.load(str(version_dir)).signatures["serving_default"]
    answer = signature(**{name: tf.constant(values) for name, values in features.items()})  # one input per column
    outputs = (answer["predictions"] if "predictions" in answer else answer["probabilities"]).numpy()
    return features, y, outputs


def first_rows(features: dict[str, np.ndarray], rows: int) -> dict[str, np.ndarray]:
    return {name: values[:rows] for name, values in features.items()}
