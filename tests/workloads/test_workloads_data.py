"""Bad data fails through the CLI entry with the right reason and a message naming file and column (fast:
every check runs before TensorFlow is imported). Feature and label checks against a trained version
live in test_workloads_validate.py."""

from __future__ import annotations

import http.server
import threading
from pathlib import Path

import numpy as np
import pytest

from modelops.workloads.config.stage import DatasetSpec
from modelops.workloads.data.synthetic import make_dataset, write_csv, write_npz
from modelops.workloads.data.table_reader import load_table
from modelops.workloads.errors import WorkloadError

TASK = "binary-classification"


def _csv(tmp_path: Path, text: str, name: str = "data.csv") -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


def _rows(n: int, label: str = "1") -> str:
    return "".join(f"{i}.5,{i * 2},{label}\n" for i in range(n))


@pytest.mark.parametrize(("content", "reason", "fragments"), [
    ("a,b,target\n" + _rows(20), "MissingLabelColumn", ["no label column 'label'", "a, b, target"]),
    ("a,b,label\n" + _rows(5) + "nan,1,0\n" + _rows(6), "NonFiniteValue", ["line 7", "column 'a'"]),
    ("a,b,label\n" + _rows(5) + "1,inf,0\n" + _rows(6), "NonFiniteValue", ["line 7", "column 'b'"]),
    ("", "EmptyDataset", ["file is empty"]),
    ("a,b,label\n", "EmptyDataset", ["no data rows"]),
    ("a,b,label\n" + _rows(9), "TooFewRows", ["9 rows, at least 10"]),
    ("a,b,label\n" + _rows(11) + "1,2,2\n", "LabelOutOfRange", ["column 'label'", "classes ['0', '1']",
                                                                 "row 12: '2'"]),
    ("a,b,label\n" + _rows(11) + "1,2\n", "MalformedDataset", ["line 13 has 2 fields"]),
])
def test_bad_csv_fails_train_with_reason(tmp_path, worker, content, reason, fragments):
    dataset = _csv(tmp_path, content)
    run = worker("train", TASK, dataset)
    assert run.code == 1
    assert run.result["reason"] == reason, run.result
    assert str(dataset) in run.result["error"]
    for fragment in fragments:
        assert fragment in run.result["error"]
    # the full failure report is kept beside the model store, and no version appeared
    deployment = tmp_path / "models" / "default" / "churn"
    assert not (deployment / "1").exists()
    assert len(list((deployment / "failures").glob("train-1-*.json"))) == 1


def test_a_word_makes_a_column_categorical_and_an_empty_cell_is_missing(tmp_path, worker):
    """A word in a column makes it categorical and an empty cell is a missing one: such a table trains."""
    run = worker("train", TASK, _csv(tmp_path, "a,b,label\n" + _rows(12, "0") + "1.0,abc,1\n1.0,,1\n"))
    assert run.code == 0, run.result
    assert run.result["schema"]["kinds"] == {"categorical": 1, "numeric": 1}, run.result["schema"]


def test_multiclass_labels_must_be_non_negative_integers(tmp_path, worker):
    run = worker("train", "multiclass-classification", _csv(tmp_path, "a,b,label\n" + _rows(11) + "1,2,1.5\n"))
    assert run.result["reason"] == "LabelOutOfRange" and "row 12: '1.5'" in run.result["error"]


def test_numclasses_bounds_multiclass_labels(tmp_path, worker):
    run = worker("train", "multiclass-classification", _csv(tmp_path, "a,b,label\n" + _rows(11, "3")),
                 model={"numClasses": 3})
    assert run.result["reason"] == "LabelOutOfRange" and "classes ['0', '1', '2']" in run.result["error"]


def test_missing_file_and_unknown_format(tmp_path, worker):
    run = worker("train", TASK, tmp_path / "nope.csv")
    assert run.result["reason"] == "DatasetUnreadable" and "nope.csv" in run.result["error"]
    run = worker("train", TASK, _csv(tmp_path, "a,label\n", name="data.parquet"))
    assert run.result["reason"] == "InvalidConfig" and "config.dataset.format" in run.result["error"]


def test_npz_checks(tmp_path, worker):
    bad = tmp_path / "bad.npz"
    np.savez(bad, x=np.ones((20, 2)), y=np.r_[np.ones(19), np.nan])
    run = worker("train", TASK, bad)  # a NaN label is an empty one: the row is left out and counted
    assert run.code == 0 and run.result["rows"] == 19 and run.result["droppedUnlabelled"] == 1, run.result
    no_y = tmp_path / "noy.npz"
    np.savez(no_y, x=np.ones((20, 2)))
    assert worker("train", TASK, no_y).result["reason"] == "MissingLabelColumn"


def test_csv_and_npz_round_trip_exactly(tmp_path):
    x, y, names = make_dataset(TASK, 50, 4, seed=5)
    from_csv = load_table(DatasetSpec(str(write_csv(tmp_path / "d.csv", x, y, names))), TASK)
    from_npz = load_table(DatasetSpec(str(write_npz(tmp_path / "d.npz", x, y, names))), TASK)
    assert from_csv.feature_names == from_npz.feature_names == ("f0", "f1", "f2", "f3")
    assert set(from_csv.kinds.values()) == set(from_npz.kinds.values()) == {"numeric"}
    for name, column in zip(names, x.T, strict=True):  # repr in the CSV: every float64 comes back exactly
        np.testing.assert_array_equal(from_csv.columns[name], column)
        np.testing.assert_array_equal(from_npz.columns[name], column)
    np.testing.assert_array_equal(from_csv.labels, y)
    np.testing.assert_array_equal(from_npz.labels, y)


def test_dataset_over_http_on_loopback(tmp_path):
    x, y, names = make_dataset("regression", 30, 3, seed=1)
    write_csv(tmp_path / "served.csv", x, y, names)

    class Quiet(http.server.SimpleHTTPRequestHandler):
        def __init__(self, *args, **kwargs):
            super().__init__(*args, directory=str(tmp_path), **kwargs)

        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Quiet)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        base = f"http://127.0.0.1:{server.server_address[1]}"
        data = load_table(DatasetSpec(f"{base}/served.csv"), "regression")
        assert data.rows == 30 and np.array_equal(data.labels, y) and data.source == f"{base}/served.csv"
        with pytest.raises(WorkloadError, match="cannot download") as raised:
            load_table(DatasetSpec(f"{base}/missing.csv"), "regression")
        assert raised.value.reason == "DatasetUnreadable"
    finally:
        server.shutdown()
        server.server_close()


def test_an_empty_label_drops_its_row_and_a_stated_number_column_names_every_bad_cell(tmp_path):
    """An empty label is no label: the row is left out and counted (its empty feature cell is then moot);
    a column stated numeric refuses text, each cell named by the line an editor shows."""
    path = _csv(tmp_path, "a,b,label\n" + _rows(12) + "1.0,,\n" + _rows(2) + "x,2,1\n\ny,3,0\n")
    table = load_table(DatasetSpec(str(path)), TASK)
    assert table.dropped_unlabelled == 1 and table.rows == 16 and table.kinds["a"] == "categorical"
    with pytest.raises(WorkloadError) as raised:
        load_table(DatasetSpec(str(path), column_types={"a": "numeric"}), TASK)
    assert raised.value.reason == "ColumnTypeMismatch"
    assert raised.value.message == (f"dataset {path}: 2 problems: line 17 column 'a': 'x' is not a number; "
                                    "line 19 column 'a': 'y' is not a number")


def test_every_malformed_line_and_non_finite_value_is_named(tmp_path):
    path = _csv(tmp_path, "a,b,label\n" + _rows(11) + "1,2\n1,2,3,4\n")
    with pytest.raises(WorkloadError, match=r"2 problems: line 13 has 2 fields.*; line 14 has 4 fields") as raised:
        load_table(DatasetSpec(str(path)), TASK)
    assert raised.value.reason == "MalformedDataset"
    path = _csv(tmp_path, "a,b,label\n\n" + _rows(11) + "inf,1,0\n" + "".join("nan,1,0\n" for _ in range(12)))
    with pytest.raises(WorkloadError) as raised:  # "nan" is not a missing-value token by default ("NaN" is)
        load_table(DatasetSpec(str(path)), TASK)
    message = raised.value.message
    assert raised.value.reason == "NonFiniteValue" and "13 problems: line 14 column 'a': 'inf' is not a finite number" \
        in message and "line 15 column 'a': 'nan' is not a finite number" in message and "; and 3 more" in message
    path = _csv(tmp_path, "a,b,label\n" + _rows(11) + "1,2,inf\n", name="label.csv")
    with pytest.raises(WorkloadError, match="line 13 column 'label': 'inf' is not a finite number") as raised:
        load_table(DatasetSpec(str(path)), TASK)
    assert raised.value.reason == "NonFiniteValue"
    path = _csv(tmp_path, "a,b,label\n" + _rows(11) + "nan,2,1\n", name="tokens.csv")
    table = load_table(DatasetSpec(str(path), missing_values=["nan"]), TASK)  # the tokens are the dataset's
    assert table.rows == 12 and np.isnan(table.columns["a"]).sum() == 1
