"""What one run learns from, over Tables: extra datasets read against the primary's kinds and order, caps,
the held-out split, weights, row fingerprints that do not depend on a column's kind, and the recipes."""

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


def _config(dataset: dict, extra: list[dict] | None = None, task: str = MULTICLASS) -> WorkloadConfig:
    return parse_config({"stage": "train", "task": task, "deployment": {"name": "penguins"}, "version": 1,
                         "storageRoot": "/models", "dataset": dataset, "extraDatasets": extra or []})


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


def test_extra_data_must_fit_the_primary_columns(tmp_path):
    def half_year(cells: list[str]) -> list[str]:
        return [*cells[:-1], "2007.5"]

    base = {"uri": str(PENGUINS), "labelColumn": "species"}
    bad_year = _config(base, [{"uri": _reordered_penguins(tmp_path, half_year), "labelColumn": "species"}])
    with pytest.raises(WorkloadError, match=r"column 'year': '2007\.5' is not a whole number") as raised:
        load_training_table(bad_year)
    assert raised.value.reason == "ColumnTypeMismatch"
    no_sex = _config(base, [{"uri": str(PENGUINS), "labelColumn": "species", "ignoreColumns": ["sex"]}])
    with pytest.raises(WorkloadError, match=r"missing \['sex'\], unexpected \[\]") as raised:
        load_training_table(no_sex)
    assert raised.value.reason == "FeatureMismatch"


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
    # numbers at the precision the model reads (float32): the hashes of versions the numeric reader trained
    np.testing.assert_array_equal(table_row_hashes(numeric), row_hashes(x.astype(np.float32), y.astype(np.float32)))
