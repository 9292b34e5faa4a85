"""load_table on CSV: typed columns, missing cells, string labels, the per-column settings, and every error
path named by file, line and column. Real data: Palmer penguins (CC0; 344 rows, 'NA' for missing)."""

from __future__ import annotations

import csv
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from modelops.workloads.config.stage import DatasetSpec
from modelops.workloads.data.columns import MAX_INTEGER_LEVELS, infer_kind
from modelops.workloads.data.table_reader import load_table
from modelops.workloads.data.table_report import table_report
from modelops.workloads.errors import WorkloadError

PENGUINS = Path(__file__).parent / "data" / "penguins.csv"
MULTICLASS = "multiclass-classification"
SPECIES = DatasetSpec(str(PENGUINS), label_column="species")


def _raw_penguins() -> tuple[list[str], list[list[str]]]:
    with PENGUINS.open(newline="") as handle:
        rows = list(csv.reader(handle))
    return rows[0], rows[1:]


def _csv(tmp_path: Path, text: str, name: str = "data.csv") -> str:
    path = tmp_path / name
    path.write_text(text)
    return str(path)


def _refused(spec: DatasetSpec, task: str | None = MULTICLASS) -> WorkloadError:
    with pytest.raises(WorkloadError) as raised:
        load_table(spec, task)
    assert spec.uri in raised.value.message
    return raised.value


def test_penguins_read_with_kinds_missing_cells_and_string_labels():
    table = load_table(SPECIES, MULTICLASS)
    header, rows = _raw_penguins()
    assert table.rows == len(rows) == 344 and table.dropped_unlabelled == 0
    assert dict(table.kinds) == {"island": "categorical", "bill_length_mm": "numeric", "bill_depth_mm": "numeric",
                                 "flipper_length_mm": "numeric", "body_mass_g": "numeric", "sex": "categorical",
                                 "year": "integer"}
    assert table.feature_names == tuple(h for h in header if h != "species")  # file order
    for name in table.feature_names:  # every 'NA' cell, and only those, is missing
        raw = [row[header.index(name)] for row in rows]
        values = table.columns[name]
        missing = np.array([v is None for v in values]) if table.kinds[name] == "categorical" else np.isnan(values)
        assert missing.tolist() == [cell == "NA" for cell in raw], name
    assert sum(v is None for v in table.columns["sex"]) == 11
    assert table.labels.dtype == object and sorted(set(table.labels)) == ["Adelie", "Chinstrap", "Gentoo"]
    body = [float(row[header.index("body_mass_g")]) for row in rows if row[header.index("body_mass_g")] != "NA"]
    assert np.nansum(table.columns["body_mass_g"]) == pytest.approx(sum(body))
    assert table.features()["sex"][3] == "" and np.isnan(table.features()["bill_length_mm"][3])


def test_rows_without_a_label_are_left_out_counted_and_reported():
    table = load_table(DatasetSpec(str(PENGUINS), label_column="sex"), "binary-classification")
    assert table.rows == 333 and table.dropped_unlabelled == 11
    assert table.kinds["species"] == "categorical" and sorted(set(table.labels)) == ["female", "male"]
    report = table_report(table)
    assert report["droppedUnlabelled"] == 11 and report["rows"] == 333
    assert report["kinds"] == {"categorical": 2, "integer": 1, "numeric": 4}


def test_kind_rule():
    assert infer_kind(["true", "No", None, "YES"]) == "boolean"
    assert infer_kind(["0", "1", "1"]) == "integer"  # 0/1 is an integer-coded column unless stated boolean
    assert infer_kind(["2007", "2008", "2009.0"]) == "integer"
    assert infer_kind([str(i) for i in range(MAX_INTEGER_LEVELS)]) == "integer"
    assert infer_kind([str(i) for i in range(MAX_INTEGER_LEVELS + 1)]) == "numeric"
    assert infer_kind(["1.5", "2", "-3e2"]) == "numeric"
    assert infer_kind(["1.5", "x"]) == "categorical"
    assert infer_kind(["1_000", "2"]) == "categorical"  # Python's float() would take it; a data file means text
    assert infer_kind([None, None]) == "numeric"


def test_stated_types_read_and_check_every_cell(tmp_path):
    table = load_table(replace(SPECIES, column_types={"year": "categorical", "flipper_length_mm": "integer"}),
                       MULTICLASS)
    assert table.kinds["year"] == "categorical" and table.columns["year"][0] == "2007"
    assert table.kinds["flipper_length_mm"] == "integer"
    error = _refused(replace(SPECIES, column_types={"island": "numeric"}))
    assert error.reason == "ColumnTypeMismatch"
    assert error.message.startswith(f"dataset {PENGUINS}: 344 problems: line 2 column 'island': 'Torgersen' is "
                                    "not a number; line 3 column 'island'")
    assert error.message.endswith("; and 334 more")
    path = _csv(tmp_path, "a,b,label\n" + "".join(f"{i},yes,x\n" for i in range(11)) + "2.5,maybe,y\n")
    error = _refused(DatasetSpec(path, column_types={"a": "integer", "b": "boolean"}))
    assert error.reason == "ColumnTypeMismatch"
    assert error.message == (f"dataset {path}: 2 problems: line 13 column 'a': '2.5' is not a whole number; "
                             "line 13 column 'b': 'maybe' is not a boolean (true/false, yes/no, 1/0)")
    flags_csv = _csv(tmp_path, "b,label\n" + "1,x\nno,y\nTRUE,x\n0,y\n" * 3, "flags.csv")
    flags = load_table(DatasetSpec(flags_csv, column_types={"b": "boolean"}), MULTICLASS)
    assert flags.columns["b"][:4].tolist() == [1.0, 0.0, 1.0, 0.0]


def test_inferred_columns_fail_only_on_non_finite_numbers_and_note_mostly_numeric_text(tmp_path):
    path = _csv(tmp_path, "a,b,label\n" + "".join(f"{i}.5,{i},x\n" for i in range(11)) + "inf,oops,y\n")
    error = _refused(DatasetSpec(path))
    assert error.reason == "NonFiniteValue" and "line 13 column 'a': 'inf' is not a finite number" in error.message
    ok = _csv(tmp_path, "a,b,label\n" + "".join(f"{i}.5,{i},x\n" for i in range(11)) + "1,oops,y\n", "ok.csv")
    table = load_table(DatasetSpec(ok), MULTICLASS)
    assert table.kinds["b"] == "categorical"
    assert "state columnTypes.b: numeric" in " ".join(table_report(table)["notes"])


def test_missing_value_tokens_can_be_replaced(tmp_path):
    path = _csv(tmp_path, "a,c,label\n" + "1,NA,x\n?,red,y\n" * 6)
    table = load_table(DatasetSpec(path, missing_values=("?",)), MULTICLASS)
    assert np.isnan(table.columns["a"]).sum() == 6 and table.kinds["c"] == "categorical"
    assert "NA" in set(table.columns["c"])  # no longer a missing token: a category


def test_id_and_weight_columns_are_kept_apart_from_features(tmp_path):
    rows = "".join(f"r{i},{i % 3},{i}.5,{'ab'[i % 2]}\n" for i in range(12))
    table = load_table(DatasetSpec(_csv(tmp_path, "id,w,a,label\n" + rows), id_column="id", weight_column="w",
                                   ignore_columns=()), MULTICLASS)
    assert table.feature_names == ("a",) and table.ids[:2].tolist() == ["r0", "r1"]
    assert table.weights.tolist() == [float(i % 3) for i in range(12)]
    ignored = load_table(DatasetSpec(_csv(tmp_path, "id,w,a,label\n" + rows, "i.csv"), ignore_columns=("id", "w")),
                         MULTICLASS)
    assert ignored.feature_names == ("a",) and ignored.ids is None and ignored.weights is None


@pytest.mark.parametrize(("body", "settings", "reason", "fragments"), [
    ("id,w,label\n" + "".join(f"r{i},1,x\n" for i in range(11)) + "r12,-0.5,y\n", {"weight_column": "w"},
     "InvalidWeight", ["line 13 column 'w': weight '-0.5' is not a finite number >= 0"]),
    ("id,w,label\n" + "".join(f"r{i},1,x\n" for i in range(11)) + "r12,,y\n", {"weight_column": "w"},
     "InvalidWeight", ["line 13 column 'w': weight missing"]),
    ("id,w,label\n" + "".join(f"r{i},1,x\n" for i in range(11)) + "r3,1,y\n", {"id_column": "id"},
     "InvalidId", ["line 13 column 'id': id 'r3' already used at line 5"]),
    ("id,w,label\n" + "".join(f"r{i},1,x\n" for i in range(11)) + "NA,1,y\n", {"id_column": "id"},
     "InvalidId", ["line 13 column 'id': missing id"]),
    ("id,w,label\n" + "".join(f"r{i},1,x\n" for i in range(12)), {"ignore_columns": ("nope",),
                                                                   "column_types": {"gone": "numeric"}},
     "UnknownColumn", ["2 problems: ignoreColumns names 'nope'; columnTypes names 'gone'", "(columns: id, w, label)"]),
    ("id,w,target\n" + "".join(f"r{i},1,x\n" for i in range(12)), {},
     "MissingLabelColumn", ["no label column 'label' (columns: id, w, target)"]),
    ("id,w,label\n" + "".join(f"r{i},1,{'x' if i < 9 else ''}\n" for i in range(12)), {},
     "TooFewRows", ["9 rows, at least 10 needed (3 rows without a label left out)"]),
    ("id,label\n" + "".join(f"r{i},x\n" for i in range(12)), {"id_column": "id"},
     "MalformedDataset", ["no feature columns left"]),
    ("a,label\n" + "".join(f"{i},x\n" for i in range(11)) + "1,2,3\n", {},
     "MalformedDataset", ["line 13 has 3 fields, the header has 2"]),
])
def test_each_error_is_named(tmp_path, body, settings, reason, fragments):
    error = _refused(DatasetSpec(_csv(tmp_path, body), **settings))
    assert error.reason == reason, error.message
    for fragment in fragments:
        assert fragment in error.message


def test_regression_labels_must_be_finite_numbers(tmp_path):
    path = _csv(tmp_path, "a,label\n" + "".join(f"{i},{i}.5\n" for i in range(11)) + "1,high\n")
    error = _refused(DatasetSpec(path), "regression")
    assert error.reason == "NonNumericValue" and "line 13 column 'label': 'high' is not a number" in error.message
    table = load_table(DatasetSpec(path), MULTICLASS)  # a classifier takes the same column as class names
    assert table.labels.dtype == object and table.labels[0] == "0.5"


def test_integer_coded_labels_stay_numbers(tmp_path):
    table = load_table(DatasetSpec(_csv(tmp_path, "a,label\n" + "".join(f"{i},{i % 3}\n" for i in range(12)))),
                       MULTICLASS)
    assert table.labels.dtype == np.float64 and table.labels[:3].tolist() == [0.0, 1.0, 2.0]


def test_unsupported_formats_are_named_with_the_supported_ones(tmp_path):
    error = _refused(DatasetSpec(_csv(tmp_path, "a,label\n", "data.parquet")))
    assert error.reason == "InvalidConfig"
    assert "Parquet" in error.message and "pyarrow" in error.message and "csv, tfrecord, npz" in error.message
