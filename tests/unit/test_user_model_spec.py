"""`spec.training.model` naming a user module: what admission accepts, how the stage config carries it to
the worker (with a search's values), and which stages a custom `spec.training.command` runs."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import pytest
import yaml

from modelops.api import SpecError, parse_model_deployment
from modelops.contract.stage_config import build_stage_config, stage_command
from modelops.lifecycle.messages import StartStage
from modelops.lifecycle.tuning import search_record, values_text
from modelops.local.executor.stages import StageExecutor
from modelops.local.state_store import StateStore
from modelops.workloads.config.stage import parse_config
from modelops.workloads.errors import WorkloadError

ROOT = Path(__file__).resolve().parents[2]
BASE = yaml.safe_load((ROOT / "manifests" / "samples" / "binary-classification.yaml").read_text())


def _spec(model: dict[str, Any], **training: Any) -> dict[str, Any]:
    doc = copy.deepcopy(BASE)
    doc["spec"]["training"]["model"] = model
    doc["spec"]["training"].update(training)
    return parse_model_deployment(doc).spec


def test_a_module_or_a_path_on_the_volume_is_accepted_and_the_builtin_defaults_are_not_added() -> None:
    by_module = _spec({"module": "team.models.churn", "function": "make_body"})
    assert by_module["training"]["model"] == {"module": "team.models.churn", "function": "make_body"}
    for path in ("code/churn.py", "/models/code/churn.py"):
        assert _spec({"path": path})["training"]["model"] == {"path": path}
    # the built-in model still gets its documented shape from the worker when nothing is set
    assert _spec({})["training"]["model"] == {}


def test_tuning_a_module_needs_no_search_space_but_may_search_the_platforms_fit_settings() -> None:
    spec = _spec({"path": "code/churn.py"}, tuning={"enabled": True, "maxTrials": 3})
    assert spec["training"]["tuning"]["enabled"]
    _spec({"path": "code/churn.py"}, tuning={"enabled": True, "searchSpace": {"learningRate": {"min": 0.001,
                                                                                               "max": 0.1}}})


@pytest.mark.parametrize(("model", "field"), [
    ({"module": "team.models.churn", "hiddenLayers": [8]}, "spec.training.model.module"),
    ({"path": "churn.py", "module": "churn"}, "spec.training.model.path"),
    ({"function": "build"}, "spec.training.model.function"),
    ({"path": "../other/churn.py"}, "spec.training.model.path"),
    ({"path": "/etc/churn.py"}, "spec.training.model.path"),
    ({"path": "churn.txt"}, "spec.training.model.path"),
    ({"module": "team/models"}, "spec.training.model.module"),
])
def test_a_bad_model_block_is_refused_naming_its_field(model: dict[str, Any], field: str) -> None:
    with pytest.raises(SpecError) as caught:
        _spec(model)
    assert [e.split(":")[0] for e in caught.value.errors] == [field]


def _action(stage: str, hyperparameters: dict[str, Any] | None = None) -> StartStage:
    return StartStage(stage, 2, f"{stage}-v2", {"uri": "data/train.csv", "labelColumn": "churned"},
                      hyperparameters=hyperparameters, tuned_by=1 if hyperparameters else None)


def test_the_stage_config_carries_the_module_and_the_values_a_search_chose_for_its_hp_calls() -> None:
    spec = _spec({"path": "code/churn.py"}, tuning={"enabled": True})
    chosen = {"learningRate": 0.02, "moduleValues": {"units": 24, "activation": "tanh"}}
    config = build_stage_config(spec, "default", "churn", _action("train", chosen), "/models")
    assert config["model"] == {"path": "code/churn.py", "values": {"units": 24, "activation": "tanh"}}
    assert config["hyperparameters"]["learningRate"] == 0.02 and config["tunedBy"] == 1
    parsed = parse_config(config)
    assert parsed.model.user is not None and parsed.model.user.values == {"units": 24, "activation": "tanh"}
    assert parsed.model.user.file(Path("/models")) == Path("/models/code/churn.py")
    # the search itself starts from the module's own defaults, with no searchSpace of ours
    tune = parse_config(build_stage_config(spec, "default", "churn", _action("tune"), "/models"))
    assert tune.tuning is not None and tune.tuning.search_space.is_empty() and tune.model.user.values == {}


def test_a_worker_config_naming_two_models_or_bad_values_is_refused() -> None:
    spec = _spec({"path": "code/churn.py"})
    config = build_stage_config(spec, "default", "churn", _action("train"), "/models")
    for model, where in (({"path": "c.py", "dropout": 0.1}, "config.model.dropout"),
                         ({"module": "c", "values": {"units": [8, 16]}}, "config.model.values.units"),
                         ({"module": "c", "path": "c.py"}, "config.model.path")):
        with pytest.raises(WorkloadError) as caught:
            parse_config({**config, "model": model})
        assert caught.value.reason == "InvalidConfig" and caught.value.message.startswith(where)


def test_the_search_record_and_its_summary_keep_the_modules_own_names() -> None:
    spec = _spec({"path": "code/churn.py"}, tuning={"enabled": True})
    result = {"objective": {"value": 0.91}, "trials": {"total": 3, "completed": 3, "failed": 0},
              "hyperparameters": {"moduleValues": {"units": 24, "dropout": 0.125}}}
    record = search_record(spec, result)
    assert record["hyperparameters"] == {"moduleValues": {"units": 24, "dropout": 0.125}}
    assert values_text(record["hyperparameters"]) == "dropout=0.125, units=24"


@pytest.mark.parametrize(("stage", "users"), [("train", True), ("tune", True), ("validate", False),
                                              ("evaluate", False)])
def test_a_custom_command_runs_only_the_stages_that_make_models(stage: str, users: bool) -> None:
    spec = _spec({}, command=["python", "-m", "mytrainer"])
    argv = stage_command(spec, stage, "/etc/config.json")
    expected = ["python", "-m", "mytrainer"] if users else ["modelops", "worker"]
    assert argv == [*expected, stage, "--config", "/etc/config.json"]


def test_the_local_runtime_resolves_a_module_path_against_the_manifest(tmp_path: Path) -> None:
    spec = _spec({"path": "code/churn.py"})
    executor = StageExecutor(StateStore(tmp_path / "state", "default", "churn"), spec, tmp_path, "http://x:1")
    config = executor.build_config(_action("train"))
    assert config["model"]["path"] == str(tmp_path / "code" / "churn.py")
