"""What one run learns from, over Tables: extra datasets read against the primary's kinds and order and checked
against its features (each schema anomaly a named outcome under spec.schemaRules), caps, the held-out split,
weights, row fingerprints that do not depend on a column's kind, and the recipes."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from modelops.workloads.config.stage import DatasetSpec, WorkloadConfig, parse_config
from modelops.workloads.data.recipes import recipe_table
from modelops.workloads.data.row_identity import row_hashes, table_row_hashes
from modelops.workloads.data.synthetic import make_dataset, write_csv
from modelops.workloads.data.table_reader import load_table
from modelops.workloads.data.training_set import load_training_table
from modelops.workloads.errors import WorkloadError

PENGUINS = Path(__file__).parent / "data" / "penguins.csv"
MULTICLASS = "multiclass-classification"


def _config(dataset: dict, extra: list[dict] | None = None, task: str = MULTICLASS,
            rules: dict | None = None) -> WorkloadConfig:
    return parse_config({"stage": "train", "task": task, "deployment": {"name": "penguins"}, "version": 1,
                         "storageRoot": "/models", "dataset": dataset, "extraDatasets": extra or [],
                         "schemaRules": rules or {}})


def _reordered_penguins(tmp_path: Path, edit=lambda cells: cells) -> str:
    """The penguins with their columns in reverse order (and `edit` applied to each row's cells)."""
    lines = PENGUINS.read_text().splitlines()
    out = [",".join(reversed(lines[0].split(",")))]
    out += [",".join(reversed(edit(line.split(",")))) for line in lines[1:]]
    path = tmp_path / "live.csv"
    path.write_text("\n".join(out) + "\n")
    return str(path)


def test_training_table_learns_from_both_and_holds_out_monitoring_rows(tmp_path):
    live = _reordered_penguins(tmp_path)
    cfg = _config({"uri": str(PENGUINS), "labelColumn": "species", "role": "training"},
                  [{"uri": live, "labelColumn": "species", "role": "monitoring", "weight": 2.0, "holdout": 0.25}])
    data = load_training_table(cfg)
    assert data.feature_names == data.table.feature_names  # the extra's columns put in the primary's order
    held = data.held.rows
    assert held == sum(round(0.25 * n) for n in (152, 68, 124))  # stratified: a quarter of each species
    assert data.rows == 344 + 344 - held and data.roles.sum() == 344 - held
    assert data.table.weights[:344].tolist() == [1.0] * 344 and set(data.table.weights[344:]) == {2.0}
    assert [e["rowsUsed"] for e in data.lineage] == [344, 344 - held] and data.lineage[1]["heldOutRows"] == held
    assert data.reference is data.held
    np.testing.assert_array_equal(data.reference_hashes, table_row_hashes(data.held))
    np.testing.assert_array_equal(data.trained_hashes[:344], table_row_hashes(data.primary))
    species = {s: (data.held.labels == s).sum() for s in ("Adelie", "Chinstrap", "Gentoo")}
    assert species == {"Adelie": 38, "Chinstrap": 17, "Gentoo": 31}


def _live(tmp_path: Path, column: str, value: str, every: int = 10) -> str:
    """The penguins with `column` set to `value` on every `every`-th row (a new column when it has none)."""
    lines = PENGUINS.read_text().splitlines()
    header = lines[0].split(",")
    added = column not in header
    out = [",".join([*header, column] if added else header)]
    for row, line in enumerate(lines[1:]):
        cells = line.split(",")
        cell = value if row % every == 0 else ("x" if added else cells[header.index(column)])
        out.append(",".join([*cells, cell] if added else [cell if i == header.index(column) else c
                                                          for i, c in enumerate(cells)]))
    path = tmp_path / f"live-{column}.csv"
    path.write_text("\n".join(out) + "\n")
    return str(path)


def _retrain(extra: dict, rules: dict | None = None):
    base = {"uri": str(PENGUINS), "labelColumn": "species"}
    return load_training_table(_config(base, [{"labelColumn": "species", "role": "monitoring", **extra}],
                                       rules=rules))


@pytest.mark.parametrize(("kind", "extra", "rule", "message"), [
    ("missingColumn", {"ignoreColumns": ["sex"]}, "Fail", "column 'sex' (categorical) of the version's schema "
                                                          "is missing from"),
    ("extraColumn", {"column": ("tag", "y")}, "Accept", "column 'tag' (categorical) is not in the version's schema"),
    ("typeChange", {"column": ("year", "2007.5")}, "Fail", "column 'year': trained as integer, read as numeric "
                                                           "(344 of 344 cells, e.g. '2007.5'"),
    ("unseenCategory", {"column": ("island", "Atlantis")}, "Drift", "'Atlantis'"),
])
def test_retraining_data_against_the_primary_is_a_named_anomaly_under_the_rules(tmp_path, kind, extra, rule,
                                                                                message):
    """Each anomaly of the monitoring data is named in the train result's schemaCheck with its default rule's
    outcome; the other way round (Fail <-> Accept/Drift) the outcome follows the spec, never a crash."""
    column = extra.pop("column", None)
    uri = _live(tmp_path, *column) if column else str(PENGUINS)
    spec = {"uri": uri, **extra}
    fails = {"Fail": "Accept", "Accept": "Fail", "Drift": "Fail"}
    for action in (rule, fails[rule]):
        if action == "Fail":
            with pytest.raises(WorkloadError) as raised:
                _retrain(spec, {kind: "Fail"})
            assert raised.value.reason == "SchemaViolation" and message in raised.value.message
            assert raised.value.details["schemaCheck"]["counts"] == {kind: 1}
            continue
        data = _retrain(spec, {kind: action})
        check = data.schema_check
        assert check["version"] == 1 and check["counts"] == {kind: 1} and message in check["anomalies"][0]["message"]
        assert data.table.feature_names == data.primary.feature_names  # conformed to the primary's columns
        assert data.rows == 688 and dict(data.table.kinds) == dict(data.primary.kinds)
        if kind == "missingColumn":
            assert all(v is None for v in data.table.columns["sex"][344:])  # all missing, as reported
        if kind == "unseenCategory":
            assert check["anomalies"][0]["count"] == 35 and "Atlantis" in set(data.table.columns["island"][344:])


def test_a_type_change_accepted_is_converted_as_reported_and_own_column_types_still_fail_the_read(tmp_path):
    uri = _live(tmp_path, "body_mass_g", "heavy")
    data = _retrain({"uri": uri}, {"typeChange": "Accept"})
    anomaly = data.schema_check["anomalies"][0]
    assert (anomaly["column"], anomaly["kind"], anomaly["examples"][0]) == ("body_mass_g", "typeChange", "heavy")
    live_mass = data.table.columns["body_mass_g"][344:]
    assert data.table.kinds["body_mass_g"] == "numeric" and np.isnan(live_mass[::10]).all()  # "heavy": missing
    assert live_mass[1:3].tolist() == data.primary.columns["body_mass_g"][1:3].tolist()  # the rest as read
    with pytest.raises(WorkloadError, match=r"line 2 column 'body_mass_g': 'heavy' is not a number") as raised:
        _retrain({"uri": uri, "columnTypes": {"body_mass_g": "numeric"}}, {"typeChange": "Accept"})
    assert raised.value.reason == "ColumnTypeMismatch"  # the dataset's own statement is checked, not a rule's
    clean = _retrain({"uri": _reordered_penguins(tmp_path)})
    assert clean.schema_check["counts"] == {} and clean.schema_check["anomalies"] == []


def test_weight_column_times_dataset_weight_and_caps_keep_the_last_rows(tmp_path):
    path = tmp_path / "w.csv"
    path.write_text("a,w,label\n" + "".join(f"{i},{i % 3},{'xy'[i % 2]}\n" for i in range(30)))
    cfg = _config({"uri": str(path), "weightColumn": "w"},
                  [{"uri": str(path), "weightColumn": "w", "weight": 0.5, "maxRows": 12, "role": "monitoring"}])
    data = load_training_table(cfg)
    assert data.rows == 42
    assert data.table.weights[:30].tolist() == [float(i % 3) for i in range(30)]
    assert data.table.weights[30:].tolist() == [0.5 * (i % 3) for i in range(18, 30)]
    assert data.table.columns["a"][30:].tolist() == [float(i) for i in range(18, 30)]
    recent = recipe_table(data, "recent")
    assert recent.rows == 12 and recent.table.columns["a"].tolist() == [float(i) for i in range(18, 30)]
    balanced = recipe_table(data, "balanced")
    training, monitoring = balanced.table.weights[:30].sum(), balanced.table.weights[30:].sum()
    assert monitoring == pytest.approx(training) and training == 30.0  # monitoring rows weighted up to match
    assert recipe_table(data, "configured") is data


def test_row_hashes_do_not_depend_on_a_columns_kind(tmp_path):
    spec = DatasetSpec(str(PENGUINS), label_column="species")
    inferred = load_table(spec, MULTICLASS)
    as_text = load_table(replace(spec, column_types={"year": "categorical", "body_mass_g": "categorical"}),
                         MULTICLASS)
    assert inferred.kinds["year"] == "integer" and as_text.kinds["year"] == "categorical"
    hashes = table_row_hashes(inferred)
    np.testing.assert_array_equal(hashes, table_row_hashes(as_text))
    distinct_lines = set(PENGUINS.read_text().splitlines()[1:])  # equal rows <-> equal text, here
    assert len(set(hashes.tolist())) == len(distinct_lines)
    twins = tmp_path / "twins.csv"  # rows 1 and 2 are one row written two ways; row 3 differs in its label
    twins.write_text("year,island,label\n2007,Dream,x\n2007.0, Dream ,x\n2007,Dream,y\n" + "2008,Biscoe,x\n" * 9)
    for types in ({}, {"year": "categorical"}):
        table = load_table(DatasetSpec(str(twins), column_types=types), MULTICLASS)
        row = table_row_hashes(table)
        assert row[0] == row[1] != row[2], types
    x, y, names = make_dataset("binary-classification", 25, 3, seed=4)
    numeric = load_table(DatasetSpec(str(write_csv(tmp_path / "n.csv", x, y, names))), "binary-classification")
    # numbers at the precision the model reads (float32): the hashes versions published before Tables recorded
    np.testing.assert_array_equal(table_row_hashes(numeric), row_hashes(x.astype(np.float32), y.astype(np.float32)))
