"""The dataset column settings and the class settings: from the spec into the stage config (one builder),
and read back strictly by the worker (every problem names its key)."""

from __future__ import annotations

import pytest

from modelops.api.vocabulary import COLUMN_TYPES
from modelops.contract.stage_config import build_stage_config
from modelops.lifecycle.messages import StartStage
from modelops.workloads.config.stage import parse_config
from modelops.workloads.data.table import FEATURE_KINDS
from modelops.workloads.errors import WorkloadError

DATASET = {"uri": "/data/penguins.csv", "labelColumn": "species", "missingValues": ["", "NA", "?"],
           "columnTypes": {"year": "categorical"}, "ignoreColumns": ["row"], "idColumn": "tag",
           "weightColumn": "w"}


def _config(task: str = "binary-classification", dataset: dict | None = None, **top):
    return {"stage": "train", "task": task, "deployment": {"name": "penguins"}, "version": 1,
            "storageRoot": "/models", "dataset": dataset or {"uri": "/data/d.csv"}, **top}


def test_column_types_are_the_table_kinds():
    assert COLUMN_TYPES == FEATURE_KINDS


def test_settings_parse_into_the_dataset_spec():
    cfg = parse_config(_config("multiclass-classification", DATASET, classes=["Adelie", "Chinstrap", "Gentoo"]))
    spec = cfg.dataset
    assert spec.missing_values == ("", "NA", "?") and dict(spec.column_types) == {"year": "categorical"}
    assert (spec.ignore_columns, spec.id_column, spec.weight_column) == (("row",), "tag", "w")
    assert cfg.classes == ("Adelie", "Chinstrap", "Gentoo") and cfg.positive_class is None
    plain = parse_config(_config()).dataset
    assert plain.missing_values is None and not plain.column_types and plain.ignore_columns == ()


@pytest.mark.parametrize(("config", "expected"), [
    (_config(dataset={"uri": "/d.csv", "columnTypes": {"year": "date"}}),
     "config.dataset.columnTypes.year: expected one of numeric, integer, boolean, categorical, got 'date'"),
    (_config(dataset={"uri": "/d.csv", "labelColumn": "sex", "idColumn": "sex"}),
     "config.dataset.idColumn: 'sex' is already the labelColumn"),
    (_config(dataset={"uri": "/d.csv", "weightColumn": "w", "ignoreColumns": ["w"]}),
     "config.dataset.ignoreColumns: 'w' is the weightColumn; it cannot also be ignored"),
    (_config(dataset={"uri": "/d.csv", "ignoreColumns": ["a", "a"]}),
     "config.dataset.ignoreColumns: 'a' is listed more than once"),
    (_config(dataset={"uri": "/d.csv", "missingValues": "NA"}),
     "config.dataset.missingValues: expected a list of strings, got 'NA'"),
    (_config("regression", classes=["a", "b"]), "config.classes: only meaningful for classification"),
    (_config(classes=["a", "b", "c"]), "config.classes: binary-classification needs exactly 2 classes, got 3"),
    (_config(classes=["no", "yes"], positiveClass="maybe"),
     "config.positiveClass: 'maybe' is not one of config.classes ['no', 'yes']"),
    (_config("multiclass-classification", positiveClass="a"),
     "config.positiveClass: only meaningful for binary-classification"),
])
def test_bad_settings_are_named(config, expected):
    with pytest.raises(WorkloadError) as raised:
        parse_config(config)
    assert raised.value.reason == "InvalidConfig" and expected in raised.value.message


def test_the_stage_config_carries_settings_and_classes():
    spec = {"task": "binary-classification", "storage": {"persistentVolumeClaim": "models", "mountPath": "/models"},
            "validation": {"dataset": DATASET, "gates": []},  # the builder reads the defaulted spec: it must be whole
            "training": {"dataset": DATASET, "model": {}, "hyperparameters": {}, "classes": ["female", "male"],
                         "positiveClass": "female"}}
    train = build_stage_config(spec, "default", "penguins", StartStage("train", 1, "train-v1", DATASET), "/models")
    assert train["classes"] == ["female", "male"] and train["positiveClass"] == "female"
    assert train["dataset"]["columnTypes"] == {"year": "categorical"} and train["dataset"]["idColumn"] == "tag"
    cfg = parse_config(train)
    assert cfg.positive_class == "female" and cfg.dataset.weight_column == "w"
    validate = build_stage_config(spec, "default", "penguins", StartStage("validate", 1, "validate-v1", DATASET),
                                  "/models")
    assert "classes" not in validate  # later stages read the classes stored with the version
