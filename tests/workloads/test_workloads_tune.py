"""The tune stage in-process, on real KerasTuner searches over small data: what it reports, how failed trials
count, that an interrupted search resumes from its directory, and how a config is refused."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from modelops.workloads.config.stage import parse_config
from modelops.workloads.data.synthetic import make_dataset, write_csv
from modelops.workloads.errors import WorkloadError
from modelops.workloads.stages.tune import REPORT_FILE, trial_error, tuning_dir
from modelops.workloads.tuning.search_space import chosen_values

HYPER = {"epochs": 4, "batchSize": 32, "learningRate": 0.01, "optimizer": "adam", "seed": 5, "validationSplit": 0.0,
         "earlyStopping": {"enabled": False}}


def _tuning(**overrides) -> dict:
    return {"algorithm": "random", "maxTrials": 3, "parallelism": 1, "objective": "accuracy", "members": 1,
            "trialDeadline": "5m", "searchSpace": {"learningRate": {"min": 0.005, "max": 0.05}}, **overrides}


@pytest.fixture(scope="module")
def train_csv(tmp_path_factory: pytest.TempPathFactory) -> Path:
    x, y, names = make_dataset("binary-classification", 300, 4, seed=11)
    return write_csv(tmp_path_factory.mktemp("tune") / "train.csv", x, y, names)


@pytest.mark.slow
def test_a_search_reports_its_best_values_and_an_interrupted_one_resumes(worker, train_csv: Path,
                                                                        tmp_path: Path) -> None:
    # bayesian: the first 3 trials are its random initial points, the 2 resumed ones come from the Gaussian process
    run = worker("tune", "binary-classification", train_csv, model={"hiddenLayers": [8]}, hyperparameters=HYPER,
                 tuning=_tuning(algorithm="bayesian"))
    assert run.code == 0, run.result
    result = run.result
    assert result["trials"] == {"total": 3, "completed": 3, "failed": 0}
    assert 0.005 <= result["hyperparameters"]["learningRate"] <= 0.05
    assert set(result["hyperparameters"]) == {"learningRate"}  # only what the search varies
    values = [t["value"] for t in result["bestTrials"]]
    assert values == sorted(values, reverse=True) and result["objective"]["value"] == values[0]
    assert result["objective"] == {"metric": "accuracy", "direction": "max", "value": values[0]}

    # Asked for 5 trials now, the same search directory keeps its 3 finished trials and runs 2 more.
    again = worker("tune", "binary-classification", train_csv, model={"hiddenLayers": [8]}, hyperparameters=HYPER,
                   tuning=_tuning(algorithm="bayesian", maxTrials=5))
    assert again.code == 0 and again.result["trials"]["total"] == 5
    report = json.loads((tmp_path / "models" / "default" / "churn" / ".tuning-v1" / REPORT_FILE).read_text())
    first = {t["trial"]: t["hyperparameters"] for t in result["bestTrials"]}
    resumed = {t["trial"]: t["hyperparameters"] for t in report["allTrials"]}
    assert len(resumed) == 5 and all(resumed[trial] == values for trial, values in first.items())

def test_hyperband_trains_its_brackets_within_max_trials(worker, train_csv: Path) -> None:
    run = worker("tune", "binary-classification", train_csv, model={"hiddenLayers": [8]},
                 hyperparameters={**HYPER, "epochs": 3}, tuning=_tuning(algorithm="hyperband", maxTrials=3))
    assert run.code == 0, run.result
    assert run.result["trials"]["total"] == 3 and run.result["algorithm"] == "hyperband"
    assert not any(k.startswith("tuner/") for k in run.result["hyperparameters"])


def test_every_trial_failing_fails_the_stage_with_the_first_reason(worker, tmp_path: Path) -> None:
    x, y, names = make_dataset("regression", 300, 4, seed=11)
    data = write_csv(tmp_path / "prices.csv", x, y * 1000.0, names)  # large targets: SGD at these rates explodes
    run = worker("tune", "regression", data, model={"hiddenLayers": [8]}, hyperparameters={**HYPER, "optimizer": "sgd"},
                 tuning=_tuning(maxTrials=2, objective="mse", searchSpace={"learningRate": {"min": 5.0, "max": 9.0}}))
    assert run.code == 1
    assert run.result["reason"] == "TrainingDiverged", run.result
    assert run.result["error"].startswith("all 2 trials failed; the first: ")


def test_a_trial_past_its_deadline_fails_and_the_search_goes_on(worker, train_csv: Path, tmp_path: Path) -> None:
    run = worker("tune", "binary-classification", train_csv, model={"hiddenLayers": [8]},
                 hyperparameters={**HYPER, "epochs": 200}, tuning=_tuning(maxTrials=2, trialDeadline="1ms"))
    assert run.code == 1 and run.result["reason"] == "TrialDeadlineExceeded", run.result
    report = json.loads((tmp_path / "models" / "default" / "churn" / ".tuning-v1" / REPORT_FILE).read_text())
    assert report["trials"] == {"total": 2, "completed": 0, "failed": 2}
    assert [t["status"] for t in report["allTrials"]] == ["FAILED", "FAILED"]
    assert "trialDeadline" in report["allTrials"][0]["error"]


def test_trial_errors_keep_their_reason_and_last_line() -> None:
    traceback = "Traceback (most recent call last):\n  File x\nFailedTrialError: [TrainingDiverged] the loss became nan"
    assert trial_error(traceback) == ("TrainingDiverged", "the loss became nan")
    assert trial_error("Traceback...\nValueError: bad shape") == ("TrialFailed", "ValueError: bad shape")
    assert trial_error(None) == ("TrialFailed", "the trial failed without a message")


def _config(tmp_path: Path, **tuning) -> dict:
    return {"stage": "tune", "task": "binary-classification", "deployment": {"name": "churn"}, "version": 2,
            "storageRoot": str(tmp_path), "dataset": {"uri": "train.csv"}, "tuning": _tuning(**tuning)}


def test_hidden_layer_values_fill_in_from_the_spec(tmp_path: Path) -> None:
    cfg = parse_config({**_config(tmp_path, searchSpace={"hiddenLayers": {"layers": {"min": 1, "max": 3}}}),
                        "model": {"hiddenLayers": [32, 16]}})
    assert chosen_values({"layers": 3}, cfg) == {"hiddenLayers": [32, 16, 16]}
    assert chosen_values({"layers": 1, "learningRate": 0.1}, cfg) == {"hiddenLayers": [32], "learningRate": 0.1}
    widths = parse_config({**_config(tmp_path, searchSpace={"hiddenLayers": {"units": {"min": 4, "max": 64}}}),
                           "model": {"hiddenLayers": [32, 16]}})
    assert chosen_values({"units_0": 8, "units_1": 4}, widths) == {"hiddenLayers": [8, 4]}
    assert tuning_dir(cfg) == tmp_path / "default" / "churn" / ".tuning-v2"


@pytest.mark.parametrize(("tuning", "where", "words"), [
    ({"searchSpace": {}}, "config.tuning.searchSpace", "searches nothing"),
    ({"members": 2, "parallelism": 2}, "config.tuning.members", "runs 3 processes, not 2"),
    ({"searchSpace": {"dropout": {"min": 0.5, "max": 0.1}}}, "config.tuning.searchSpace.dropout.min",
     "0.5 is greater than max 0.1"),
    ({"searchSpace": {"optimizer": ["adam", "lion"]}}, "config.tuning.searchSpace.optimizer", "'lion' is not one of"),
    ({"trialDeadline": "soon"}, "config.tuning.trialDeadline", "is not a duration"),
])
def test_a_bad_tuning_config_names_the_key(tmp_path: Path, tuning: dict, where: str, words: str) -> None:
    with pytest.raises(WorkloadError) as caught:
        parse_config(_config(tmp_path, **tuning))
    assert caught.value.message.startswith(f"{where}: ") and words in caught.value.message


def test_only_the_tune_stage_takes_a_search(tmp_path: Path) -> None:
    with pytest.raises(WorkloadError, match=r"config\.tuning: only the tune stage"):
        parse_config({**_config(tmp_path), "stage": "train"})
    config = _config(tmp_path)
    del config["tuning"]
    with pytest.raises(WorkloadError, match=r"config\.tuning: required key is missing"):
        parse_config(config)
