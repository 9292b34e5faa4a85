"""A user's own model module under the platform's stages: every way loading or calling it can fail names the
spec field and the file (with the line), and a search varies the module's own hp calls, whose best values
the train stage then builds with."""

from __future__ import annotations

import json
import textwrap
from pathlib import Path

import keras
import pytest

from modelops.workloads.config.user_model import UserModelSpec
from modelops.workloads.data.synthetic import make_dataset, write_csv
from modelops.workloads.errors import WorkloadError
from modelops.workloads.model.user_module import load_function, user_body, user_hyperparameters

TWO_BRANCHES = '''
import keras


def build(inputs, hp):
    usage = keras.layers.Concatenate()([inputs["f0"], inputs["f1"]])
    usage = keras.layers.Dense(hp.Int("usage_units", 4, 16, step=4), activation="relu")(usage)
    account = keras.layers.Concatenate()([inputs["f2"], inputs["f3"]])
    account = keras.layers.Dense(hp.Int("account_units", 4, 16, step=4), activation="relu")(account)
    return keras.layers.Concatenate()([usage, account])
'''


def _module(tmp_path: Path, source: str, name: str = "body.py") -> UserModelSpec:
    (tmp_path / name).write_text(textwrap.dedent(source))
    return UserModelSpec(path=name)


def _failure(spec: UserModelSpec, root: Path, task: str = "binary-classification") -> str:
    with pytest.raises(WorkloadError) as caught:
        body = user_body(spec, root, task, 3)
        assert body is not None
        body({name: keras.Input(shape=(1,), name=name) for name in ("f0", "f1")}, None)
    assert caught.value.reason == "UserModelInvalid"
    return caught.value.message


@pytest.mark.parametrize(("source", "field", "expected"), [
    ("def build(inputs, hp):\n    return inputs[\n", "spec.training.model.path", "body.py line 2: syntax error"),
    ("import not_installed_anywhere\n", "spec.training.model.path",
     "raised ModuleNotFoundError: No module named 'not_installed_anywhere' (body.py line 1)"),
    ("def make(inputs, hp):\n    pass\n", "spec.training.model.function",
     "has no function 'build' (its functions: make)"),
    ("def build(inputs):\n    pass\n", "spec.training.model.function", "build(inputs) cannot be called as "
     "build(inputs, hp)"),
    ("def build(inputs, hp):\n    return 'dense'\n", "spec.training.model.function",
     "build returned str; expected a Keras tensor"),
    ("def build(inputs, hp):\n    raise ValueError('units must be even')\n", "spec.training.model.function",
     "build(inputs, hp) raised ValueError: units must be even (body.py line 2)"),
    ("import keras\ndef build(inputs, hp):\n    return keras.ops.stack([inputs['f0'], inputs['f1']], axis=1)\n",
     "spec.training.model.function", "returned a tensor of shape (None, 2, 1); the task's output layer (Dense(1, "
     "sigmoid) of binary-classification) takes [batch, units]"),
])
def test_a_broken_module_is_named_with_its_field_file_and_line(tmp_path: Path, source: str, field: str,
                                                             expected: str) -> None:
    message = _failure(_module(tmp_path, source, name="body.py"), tmp_path)
    assert message.startswith(f"{field}: ") and expected in message, message
    assert str(tmp_path / "body.py") in message or "body.py line" in message


def test_a_missing_file_or_module_names_where_it_was_looked_for(tmp_path: Path) -> None:
    message = _failure(UserModelSpec(path="code/nowhere.py"), tmp_path)
    missing = tmp_path / "code" / "nowhere.py"
    assert message == f"spec.training.model.path: {missing}: no such file on the storage volume"
    message = _failure(UserModelSpec(module="team_models.nowhere"), tmp_path)
    assert message.startswith("spec.training.model.module: no module named 'team_models' in the worker image")


def test_a_keras_model_taking_the_prepared_dict_is_a_body_too(tmp_path: Path) -> None:
    spec = _module(tmp_path, '''
        import keras

        def build(inputs, hp):
            named = {name: keras.Input(shape=(1,), name=name) for name in inputs}
            joined = keras.layers.Concatenate()(list(named.values()))
            return keras.Model(named, keras.layers.Dense(hp.Choice("units", [3, 5]))(joined))
    ''', name="as_model.py")
    body = user_body(spec, tmp_path, "regression", None)
    assert body is not None
    prepared = {name: keras.Input(shape=(1,), name=name) for name in ("f0", "f1")}
    assert tuple(body(prepared, user_hyperparameters({"units": 5})).shape) == (None, 5)  # a trial's value
    assert tuple(body(prepared, None).shape) == (None, 3)  # outside a search: spec values, else the first choice
    assert load_function(spec, tmp_path) is load_function(spec, tmp_path)  # imported once per process


HYPER = {"epochs": 3, "batchSize": 32, "learningRate": 0.02, "optimizer": "adam", "seed": 5, "validationSplit": 0.0,
         "earlyStopping": {"enabled": False}}


@pytest.mark.slow
def test_a_search_varies_the_modules_own_hp_and_training_builds_with_the_best(worker, tmp_path: Path) -> None:
    (tmp_path / "code").mkdir()
    (tmp_path / "code" / "two_branches.py").write_text(TWO_BRANCHES)
    x, y, names = make_dataset("binary-classification", 300, 4, seed=11)
    data = write_csv(tmp_path / "train.csv", x, y, names)
    model = {"path": str(tmp_path / "code" / "two_branches.py")}
    tuning = {"algorithm": "random", "maxTrials": 2, "parallelism": 1, "objective": "accuracy", "members": 1,
              "trialDeadline": "5m"}
    tuned = worker("tune", "binary-classification", data, model=model, hyperparameters=HYPER, tuning=tuning)
    assert tuned.code == 0, tuned.result
    best = tuned.result["hyperparameters"]["moduleValues"]
    assert set(best) == {"usage_units", "account_units"}  # the module's names, nothing of ours
    tried = [t["hyperparameters"]["moduleValues"] for t in tuned.result["bestTrials"]]
    assert len(tried) == 2 and tried[0] == best

    trained = worker("train", "binary-classification", data, model={**model, "values": best}, hyperparameters=HYPER,
                     tunedBy=1)
    assert trained.code == 0, trained.result
    report = json.loads((tmp_path / "models" / "default" / "churn" / "1" / "report.json").read_text())
    assert report["model"]["user"] == {**model, "function": "build", "values": best}
    units_a, units_b = best["usage_units"], best["account_units"]
    # preprocessing.py: one Normalization per numeric feature (mean, variance, count), and each prepared
    # feature is [batch, 2] (value, missing indicator): a branch of two features reads 4 inputs
    normalization, head = 4 * 3, units_a + units_b + 1
    assert report["model"]["parameters"] == normalization + 5 * units_a + 5 * units_b + head
    assert report["tuning"]["hyperparameters"] == {"moduleValues": best}
