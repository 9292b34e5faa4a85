"""The schema of a version: inferred from a Table, JSON round trip, checks of later data, the stage gate."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from modelops.contract.result import render_summary
from modelops.workloads.config.schema_rules import SchemaRules
from modelops.workloads.data import schema as schema_module
from modelops.workloads.data.labels import ClassNames
from modelops.workloads.data.schema import (
    Schema,
    SchemaError,
    infer_schema,
    read_schema,
    schema_summary,
    write_schema,
)
from modelops.workloads.data.schema_check import MAX_CHECK_BYTES, Anomaly, check_table, conform_table, findings
from modelops.workloads.data.schema_gate import check_against_version
from modelops.workloads.data.table import Table
from modelops.workloads.errors import SCHEMA_VIOLATION, WorkloadError

NAN = float("nan")


def penguin_table(rows: int = 40, seed: int = 0, *, islands: tuple[str, ...] = ("Biscoe", "Dream", "Torgersen"),
                  sex_missing: float = 0.05, drop: tuple[str, ...] = (), **override: np.ndarray) -> Table:
    """A small mixed-type table shaped like Palmer penguins: numeric, integer, boolean and categorical columns."""
    rng = np.random.default_rng(seed)
    sex = np.array([None if rng.random() < sex_missing else str(rng.choice(["female", "male"])) for _ in range(rows)],
                   dtype=object)
    columns = {
        "bill_length_mm": np.round(rng.normal(44.0, 5.0, rows), 1),
        "year": rng.integers(2007, 2010, rows).astype(np.float64),
        "tagged": (rng.random(rows) < 0.4).astype(np.float64),
        "island": np.array([str(rng.choice(islands)) for _ in range(rows)], dtype=object),
        "sex": sex,
    }
    kinds = {"bill_length_mm": "numeric", "year": "integer", "tagged": "boolean", "island": "categorical",
             "sex": "categorical"}
    for name, values in override.items():
        columns[name] = values
        kinds[name] = "categorical" if values.dtype == object else kinds.get(name, "numeric")
    for name in drop:
        columns.pop(name)
        kinds.pop(name)
    labels = np.array([str(rng.choice(["Adelie", "Chinstrap", "Gentoo"])) for _ in range(rows)], dtype=object)
    return Table(columns, kinds, labels, "penguins.csv", "sha", dropped_unlabelled=2)


CLASSES = ClassNames(("Adelie", "Chinstrap", "Gentoo"))


def training_table() -> Table:
    table = penguin_table(200)
    table.columns["bill_length_mm"][[3, 7]] = NAN  # two missing numeric cells
    return table


@pytest.fixture(scope="module")
def trained() -> Schema:
    return infer_schema(training_table(), "multiclass-classification", "species", CLASSES)


def test_inferred_schema_has_kinds_vocabularies_ranges_and_missing_rates(trained: Schema) -> None:
    bill, year, tagged, island, sex = trained.features
    assert [f.kind for f in trained.features] == ["numeric", "integer", "boolean", "categorical", "categorical"]
    assert bill.missing == 2 and bill.missing_rate == pytest.approx(0.01)
    values = training_table().columns["bill_length_mm"]
    assert (bill.minimum, bill.maximum) == (np.nanmin(values), np.nanmax(values))
    assert (bill.mean, bill.std) == (pytest.approx(np.nanmean(values)), pytest.approx(np.nanstd(values)))
    assert (year.minimum, year.maximum) == (2007.0, 2009.0)
    assert dict(tagged.vocabulary).keys() == {"0", "1"}
    assert sum(c for _, c in island.vocabulary) == 200 and island.known_values == {"Biscoe", "Dream", "Torgersen"}
    counts = [c for _, c in island.vocabulary]
    assert counts == sorted(counts, reverse=True)  # most frequent first
    assert sex.missing > 0 and sum(c for _, c in sex.vocabulary) == 200 - sex.missing
    assert trained.label.classes == CLASSES and sum(trained.label.class_counts) == 200


def test_schema_json_round_trip(tmp_path: Path, trained: Schema) -> None:
    path = write_schema(tmp_path, trained)
    assert path == tmp_path / "schema.json"
    assert read_schema(tmp_path) == trained
    assert json.loads(path.read_text())["features"][3]["vocabulary"][0]["count"] > 0
    masses = replace(penguin_table(30), labels=np.linspace(3000.0, 6000.0, 30))
    regression = infer_schema(masses, "regression", "mass", None)
    (tmp_path / "r").mkdir()
    write_schema(tmp_path / "r", regression)
    assert read_schema(tmp_path / "r") == regression and regression.label.classes is None
    assert (regression.label.minimum, regression.label.maximum) == (3000.0, 6000.0)


def test_a_version_without_schema_reads_none_and_a_broken_one_is_named(tmp_path: Path) -> None:
    assert read_schema(tmp_path) is None
    (tmp_path / "schema.json").write_text('{"format": 1, "features": [{"name": "a", "kind": "text"}], "label": {}}')
    with pytest.raises(SchemaError, match=r"schema.json.*features\[0\]\.kind.*'text'"):
        read_schema(tmp_path)


def test_vocabulary_is_bounded_with_the_rest_counted(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(schema_module, "VOCABULARY_LIMIT", 5)
    ids = np.array([f"id{i % 12}" for i in range(60)], dtype=object)
    schema = infer_schema(penguin_table(60, customer=ids), "multiclass-classification", "species", CLASSES)
    customer = schema.feature("customer")
    assert customer is not None and len(customer.vocabulary) == 5
    assert (customer.other_values, customer.other_rows) == (7, 35)
    assert any("customer" in note for note in schema.notes)


def test_summary_counts_kinds_and_names_classes(trained: Schema) -> None:
    summary = schema_summary(trained)
    assert summary["kinds"] == {"numeric": 1, "integer": 1, "boolean": 1, "categorical": 2}
    assert summary["classes"] == ["Adelie", "Chinstrap", "Gentoo"] and summary["numClasses"] == 3
    assert summary["rows"] == 200 and summary["droppedUnlabelled"] == 2 and summary["featuresWithMissing"] == 2
    assert len(json.dumps(summary)) < 400


def test_clean_data_has_no_anomalies(trained: Schema) -> None:
    assert check_table(trained, penguin_table(50, seed=9)) == []


def _only(anomalies: list[Anomaly]) -> Anomaly:
    assert len(anomalies) == 1, anomalies
    return anomalies[0]


def test_missing_column_is_named(trained: Schema) -> None:
    found = _only(check_table(trained, penguin_table(30, seed=1, drop=("island",))))
    assert (found.column, found.kind, found.count, found.rows) == ("island", "missingColumn", 30, 30)
    assert "'island'" in found.message and "penguins.csv" in found.message


def test_extra_column_is_named(trained: Schema) -> None:
    found = _only(check_table(trained, penguin_table(30, seed=1, flipper=np.ones(30))))
    assert (found.column, found.kind) == ("flipper", "extraColumn")


def test_type_change_names_the_first_offending_row(trained: Schema) -> None:
    text = np.array([None, "long", "44.1"] + ["short"] * 27, dtype=object)
    found = _only(check_table(trained, penguin_table(30, seed=1, bill_length_mm=text)))
    assert (found.column, found.kind, found.count, found.example_row) == ("bill_length_mm", "typeChange", 29, 2)
    assert found.examples[0] == "short" and "trained as numeric, read as categorical" in found.message


def test_narrower_kinds_are_not_a_type_change(trained: Schema) -> None:
    table = penguin_table(30, seed=1)
    kinds = {**table.kinds, "bill_length_mm": "integer", "tagged": "integer"}  # whole numbers, 0/1 flags
    table = Table({**table.columns, "bill_length_mm": np.round(table.columns["bill_length_mm"])}, kinds,
                  table.labels, table.source, table.sha256)
    assert check_table(trained, table) == []
    kinds = {**kinds, "tagged": "numeric"}
    flags = table.columns["tagged"].copy()
    flags[4] = 2.5
    changed = _only(check_table(trained, Table({**table.columns, "tagged": flags}, kinds, table.labels, "x", "s")))
    assert (changed.column, changed.kind) == ("tagged", "typeChange")


def test_unseen_categories_are_counted_with_examples(trained: Schema) -> None:
    table = penguin_table(40, seed=2, islands=("Biscoe", "Atlantis", "Atlantis", "Mars"))
    found = _only(check_table(trained, table))
    islands = table.columns["island"].tolist()
    unseen = [i for i, v in enumerate(islands) if v in ("Atlantis", "Mars")]
    assert (found.column, found.kind, found.count) == ("island", "unseenCategory", len(unseen))
    assert found.example_row == unseen[0] + 1 and found.examples[0] == "Atlantis"
    assert set(found.examples) == {"Atlantis", "Mars"}


def test_missing_values_surge_beyond_the_margin(trained: Schema) -> None:
    sex_rate = trained.feature("sex").missing_rate  # type: ignore[union-attr]
    table = penguin_table(100, seed=3, sex_missing=sex_rate + 0.3)
    found = _only(check_table(trained, table))
    missing = sum(v is None for v in table.columns["sex"].tolist())
    assert (found.column, found.kind, found.count) == ("sex", "missingValues", missing)
    assert check_table(trained, table, margin=0.9) == []  # within a wider margin: no anomaly
    numbers = penguin_table(20, seed=3)
    numbers.columns["bill_length_mm"][:5] = NAN  # 25 % against 1 % in training
    assert _only(check_table(trained, numbers)).column == "bill_length_mm"


def test_findings_stay_bounded_and_count_every_anomaly(trained: Schema) -> None:
    extra = {f"extra_{i}_{'x' * 60}": np.ones(10) for i in range(30)}
    table = penguin_table(10, seed=4, drop=("island",), **extra)
    anomalies = check_table(trained, table)
    block = findings(7, anomalies, table.rows)
    assert block["counts"] == {"extraColumn": 30, "missingColumn": 1}
    assert block["anomalies"][0]["kind"] == "missingColumn"  # failing kinds first
    assert len(json.dumps(block["anomalies"])) <= MAX_CHECK_BYTES
    assert block["more"] == 31 - len(block["anomalies"])
    drift = {"rows": 500, "tested": 60, "ranked": {"pValue": [0.5] * 200, "psi": [0.1] * 50}}
    text = render_summary({"stage": "evaluate", "version": 7, "metrics": {"accuracy": 0.9}, "rows": 10,
                           "drift": drift, "schemaCheck": block})
    assert json.loads(text)["schemaCheck"] == block  # never dropped from the 4 KiB summary


def test_conform_table_gives_the_model_its_columns(trained: Schema) -> None:
    text = np.array(["41.5", "long"] + [None] * 8, dtype=object)
    table = penguin_table(10, seed=5, drop=("island",), bill_length_mm=text, flipper=np.ones(10))
    conformed = conform_table(trained, table)
    assert conformed.feature_names == trained.feature_names
    assert conformed.columns["island"].tolist() == [None] * 10
    assert conformed.columns["bill_length_mm"][0] == 41.5 and np.isnan(conformed.columns["bill_length_mm"][1:]).all()
    assert conformed.kinds["bill_length_mm"] == "numeric"


def test_gate_fails_on_a_fail_rule_and_passes_the_rest(tmp_path: Path, trained: Schema) -> None:
    write_schema(tmp_path, trained)
    broken = penguin_table(20, seed=6, drop=("island",))
    with pytest.raises(WorkloadError) as caught:
        check_against_version(tmp_path, 3, broken, SchemaRules())
    assert caught.value.reason == SCHEMA_VIOLATION and "'island'" in caught.value.message
    assert caught.value.to_dict()["schemaCheck"]["anomalies"][0]["kind"] == "missingColumn"
    accept = SchemaRules({"missingColumn": "Accept", "typeChange": "Fail", "unseenCategory": "Drift",
                          "missingValues": "Drift", "extraColumn": "Accept"})
    table, block = check_against_version(tmp_path, 3, broken, accept)
    assert block is not None and block["version"] == 3 and block["counts"] == {"missingColumn": 1}
    assert table.feature_names == trained.feature_names
    assert check_against_version(tmp_path / "none", 3, broken, SchemaRules()) == (broken, None)
