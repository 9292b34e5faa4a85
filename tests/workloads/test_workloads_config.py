"""The stage config loader: strict, and every error names the key (fast, no TensorFlow)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from modelops.contract.result import read_result
from modelops.workloads.cli import main as worker_main
from modelops.workloads.config.stage import load_config, parse_config
from modelops.workloads.errors import WorkloadError


def _config(**overrides):
    config = {
        "stage": "train", "task": "binary-classification", "deployment": {"namespace": "default", "name": "churn"},
        "version": 3, "storageRoot": "/models", "dataset": {"uri": "/data/train.csv", "labelColumn": "label",
                                                            "format": None},
        "model": {"hiddenLayers": [32, 16], "activation": "relu", "dropout": 0.0, "numClasses": None},
        "hyperparameters": {"epochs": 20, "batchSize": 32, "learningRate": 0.001, "optimizer": "adam", "seed": 42,
                            "validationSplit": 0.1, "earlyStopping": {"enabled": True, "patience": 3,
                                                                      "monitor": "val_loss", "minDelta": 0.0}},
        "resultPath": "/tmp/result",
    }
    config.update(overrides)
    return config


def test_full_contract_example_parses_into_typed_fields():
    cfg = parse_config(_config(baselineVersion=2, request={"batchSize": 64, "timeoutSeconds": 10, "retries": 3},
                               extraDatasets=[{"uri": "/data/live.csv", "role": "monitoring", "maxRows": 500,
                                               "weight": 2.0}],
                               challengeDataset={"uri": "/data/live.csv"}))
    assert cfg.version == 3 and cfg.hyperparameters.early_stopping.monitor == "val_loss"
    assert cfg.model.hidden_layers == (32, 16) and cfg.dataset.format is None
    assert cfg.version_dir() == Path("/models/default/churn/3") and cfg.baseline_version == 2
    (extra,) = cfg.extra_datasets
    assert (extra.role, extra.max_rows, extra.weight) == ("monitoring", 500, 2.0)
    assert cfg.challenge_dataset is not None and cfg.challenge_dataset.uri == "/data/live.csv"
    assert cfg.request.batch_size == 64
    assert parse_config(_config()).request.batch_size is None  # unset: the evaluate stage chooses


def test_worker_vocabulary_is_the_api_vocabulary():
    """One word list: what the CRD refuses, the worker refuses too (no second hand-written schema)."""
    from modelops.api.spec_schema import TRAINING
    from modelops.api.vocabulary import ACTIVATIONS, OPTIMIZERS

    schema = TRAINING.openapi()["properties"]
    assert tuple(schema["model"]["properties"]["activation"]["enum"]) == ACTIVATIONS
    assert tuple(schema["hyperparameters"]["properties"]["optimizer"]["enum"]) == OPTIMIZERS
    config = _config()
    config["model"]["activation"] = "swish"  # Keras has it; the API does not, so neither does the worker
    with pytest.raises(WorkloadError, match=r"config\.model\.activation: expected one of relu, tanh"):
        parse_config(config)


def test_evaluate_transport_keys():
    both = parse_config(_config(stage="evaluate", endpoint="http://s:8501", grpcEndpoint="s:8500"))
    assert both.grpc_endpoint == "s:8500" and both.request.transport == "auto"
    grpc_only = parse_config(_config(stage="evaluate", grpcEndpoint="s:8500", request={"transport": "grpc"}))
    assert grpc_only.endpoint is None and grpc_only.request.transport == "grpc"


@pytest.mark.parametrize(("mutate", "expected"), [
    (lambda c: c["hyperparameters"].update(epochs=0), "config.hyperparameters.epochs: expected integer >= 1"),
    (lambda c: c["hyperparameters"].update(epochs="20"), "config.hyperparameters.epochs: expected integer"),
    (lambda c: c["hyperparameters"].update(epoch=5), "config.hyperparameters.epoch: unknown key"),
    (lambda c: c.pop("dataset"), "config.dataset: required key is missing"),
    (lambda c: c.update(task="ranking"), "config.task: expected one of"),
    (lambda c: c["model"].update(hiddenLayers=[0]), "config.model.hiddenLayers"),
    (lambda c: c["hyperparameters"]["earlyStopping"].update(patience=-1),
     "config.hyperparameters.earlyStopping.patience"),
    (lambda c: c["hyperparameters"].update(validationSplit=1.0), "config.hyperparameters.validationSplit"),
    (lambda c: c.update(gates=[{"metric": "auc", "min": 1}]), "config.gates: unknown key"),  # the core gates
    (lambda c: c.update(extraDatasets=[{"uri": "/d.csv", "weight": 0}]), "config.extraDatasets[0].weight"),
    (lambda c: c.update(stage="evaluate"), "config.endpoint: required key is missing"),
    (lambda c: c["deployment"].update(name="../etc"), "config.deployment.name"),
    (lambda c: c.update(stage="evaluate", grpcEndpoint="grpc://serving:8500"), "config.grpcEndpoint: expected host"),
    (lambda c: c.update(stage="evaluate", endpoint="http://s:8501", request={"transport": "grpc"}),
     "config.grpcEndpoint: required key is missing (config.request.transport is grpc)"),
    (lambda c: c.update(request={"transport": "http2"}), "config.request.transport: expected one of auto, grpc, rest"),
])
def test_bad_keys_are_named(mutate, expected):
    config = _config()
    mutate(config)
    with pytest.raises(WorkloadError) as raised:
        parse_config(config)
    assert raised.value.reason == "InvalidConfig"
    assert expected in raised.value.message


def test_yaml_file_loads_and_garbage_file_names_the_file(tmp_path):
    good = tmp_path / "stage.yaml"
    good.write_text("stage: validate\ntask: regression\ndeployment: {name: m}\nversion: 1\n"
                    "storageRoot: /m\ndataset: {uri: d.npz}\n")
    assert load_config(good).deployment.namespace == "default"
    bad = tmp_path / "bad.json"
    bad.write_text("{not json")
    with pytest.raises(WorkloadError, match=r"bad\.json: not valid JSON/YAML"):
        load_config(bad)


def test_cli_reports_invalid_config_through_the_result_contract(tmp_path, capsys):
    result_path = tmp_path / "termination-log"
    config_path = tmp_path / "config.json"
    config_path.write_text(json.dumps(_config(resultPath=str(result_path), hyperparameters={"epochs": 0})))
    code = worker_main(["train", "--config", str(config_path)])
    assert code == 1
    result = read_result(result_path.read_text())
    assert result["reason"] == "InvalidConfig"
    assert "config.hyperparameters.epochs" in result["error"]
    assert read_result(capsys.readouterr().out) == result  # also the last line of stdout


def test_cli_rejects_a_config_for_another_stage(tmp_path):
    result_path = tmp_path / "result"
    config_path = tmp_path / "config.yaml"
    config_path.write_text(json.dumps(_config(resultPath=str(result_path))))
    assert worker_main(["validate", "--config", str(config_path)]) == 1
    result = read_result(result_path.read_text())
    assert result["reason"] == "InvalidConfig" and "config.stage" in result["error"]


def test_cli_usage_error_exits_2():
    assert worker_main(["fly", "--config", "x"]) == 2
