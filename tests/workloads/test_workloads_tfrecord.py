"""load_table on TFRecord files of tf.train.Example (written here with TensorFlow's own writer, plain and
GZIP) and on NPZ archives: the same Table contract as CSV."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import tensorflow as tf

from modelops.workloads.config.stage import DatasetSpec
from modelops.workloads.data.synthetic import make_dataset, write_npz
from modelops.workloads.data.table_reader import load_table
from modelops.workloads.errors import WorkloadError

PENGUINS = Path(__file__).parent / "data" / "penguins.csv"
MULTICLASS = "multiclass-classification"


def _feature(kind: str, value: object) -> tf.train.Feature:
    if kind == "float":
        return tf.train.Feature(float_list=tf.train.FloatList(value=[value]))
    if kind == "int":
        return tf.train.Feature(int64_list=tf.train.Int64List(value=[value]))
    return tf.train.Feature(bytes_list=tf.train.BytesList(value=[str(value).encode()]))


def _write(path: Path, rows: list[dict[str, tf.train.Feature]], compression: str | None = None) -> str:
    with tf.io.TFRecordWriter(str(path), options=compression) as writer:
        for row in rows:
            writer.write(tf.train.Example(features=tf.train.Features(feature=row)).SerializeToString())
    return str(path)


def _penguin_examples() -> list[dict[str, tf.train.Feature]]:
    """Every penguin as a tf.Example: measurements as floats, year as int64, text as bytes; NA left out."""
    lines = PENGUINS.read_text().splitlines()
    header = lines[0].split(",")
    kinds = {"bill_length_mm": "float", "bill_depth_mm": "float", "flipper_length_mm": "float",
             "body_mass_g": "float", "year": "int", "species": "bytes", "island": "bytes", "sex": "bytes"}
    examples = []
    for line in lines[1:]:
        cells = dict(zip(header, line.split(","), strict=True))
        parse = {"float": float, "int": int, "bytes": str}
        examples.append({name: _feature(kind, parse[kind](cells[name])) for name, kind in kinds.items()
                         if cells[name] != "NA"})
    return examples


@pytest.mark.parametrize("compression", [None, "GZIP"])
def test_tfrecord_round_trip_matches_the_csv(tmp_path, compression):
    path = _write(tmp_path / "penguins.tfrecord", _penguin_examples(), compression)
    table = load_table(DatasetSpec(path, label_column="species"), MULTICLASS)
    from_csv = load_table(DatasetSpec(str(PENGUINS), label_column="species"), MULTICLASS)
    assert table.feature_names == tuple(sorted(from_csv.feature_names))  # a tf.Example's features have no order
    assert dict(table.kinds) == dict(from_csv.kinds)
    assert table.rows == 344 and table.labels.tolist() == from_csv.labels.tolist()
    for name in table.feature_names:
        ours, theirs = table.columns[name], from_csv.columns[name]
        if table.kinds[name] == "categorical":
            assert ours.tolist() == theirs.tolist(), name  # missing -> None in both
        else:  # float_list is float32
            np.testing.assert_array_equal(ours, theirs.astype(np.float32).astype(np.float64), err_msg=name)
    assert sum(v is None for v in table.columns["sex"]) == 11 and np.isnan(table.columns["body_mass_g"]).sum() == 2


def test_tfrecord_missing_label_is_dropped_and_stated_types_apply(tmp_path):
    rows = [{"a": _feature("int", i % 4), "label": _feature("bytes", "yes" if i % 2 else "no")} for i in range(12)]
    rows += [{"a": _feature("int", 1)}, {"a": _feature("int", 2), "label": tf.train.Feature()}]
    path = _write(tmp_path / "d.tfrecords", rows)
    table = load_table(DatasetSpec(path, column_types={"a": "categorical"}), "binary-classification")
    assert table.dropped_unlabelled == 2 and table.rows == 12
    assert table.kinds["a"] == "categorical" and table.columns["a"][:3].tolist() == ["0", "1", "2"]


@pytest.mark.parametrize(("rows", "fragment"), [
    ([{"a": tf.train.Feature(float_list=tf.train.FloatList(value=[1.0, 2.0]))}], "example 1 feature 'a': 2 values"),
    ([{"a": _feature("float", 1.0)}, {"a": _feature("int", 1)}],
     "example 2 feature 'a': int64_list, earlier examples have float_list"),
])
def test_tfrecord_cells_hold_one_value_of_one_type(tmp_path, rows, fragment):
    labelled = [{**row, "label": _feature("bytes", "x")} for row in rows]
    path = _write(tmp_path / "bad.tfrecord", labelled * 6)
    with pytest.raises(WorkloadError, match=fragment) as raised:
        load_table(DatasetSpec(path), MULTICLASS)
    assert raised.value.reason == "MalformedDataset" and path in raised.value.message


def test_a_corrupt_tfrecord_names_where_it_stops(tmp_path):
    path = tmp_path / "cut.tfrecord"
    _write(path, [{"a": _feature("float", float(i)), "label": _feature("int", i % 2)} for i in range(20)])
    path.write_bytes(path.read_bytes()[:-7])
    with pytest.raises(WorkloadError, match="not a readable TFRecord file \\(after example 19\\)") as raised:
        load_table(DatasetSpec(str(path)), MULTICLASS)
    assert raised.value.reason == "MalformedDataset"


def test_an_all_number_tfrecord_reads_as_numeric_columns_and_text_as_a_category(tmp_path):
    x, y, _ = make_dataset("binary-classification", 30, 2, seed=3)
    rows = [{"f0": _feature("float", a), "f1": _feature("float", b), "label": _feature("int", int(t))}
            for (a, b), t in zip(x.tolist(), y.tolist(), strict=True)]
    table = load_table(DatasetSpec(_write(tmp_path / "n.tfrecord", rows)), "binary-classification")
    assert dict(table.kinds) == {"f0": "numeric", "f1": "numeric"}  # float_list is numeric whatever its values
    np.testing.assert_array_equal(np.column_stack([table.columns["f0"], table.columns["f1"]]),
                                  x.astype(np.float32).astype(np.float64))
    np.testing.assert_array_equal(table.labels, y)
    text = [{**row, "c": _feature("bytes", "red")} for row in rows]
    table = load_table(DatasetSpec(_write(tmp_path / "t.tfrecord", text)), "binary-classification")
    assert table.kinds["c"] == "categorical" and set(table.columns["c"]) == {"red"}


def test_npz_reads_as_numeric_columns(tmp_path):
    x, y, names = make_dataset("binary-classification", 40, 3, seed=2)
    path = write_npz(tmp_path / "d.npz", x, y, names)
    table = load_table(DatasetSpec(str(path)), "binary-classification")
    assert table.feature_names == tuple(names) and set(table.kinds.values()) == {"numeric"}
    np.testing.assert_array_equal(np.column_stack(list(table.columns.values())), x.astype(np.float64))
    np.testing.assert_array_equal(table.labels, y)
    holes = tmp_path / "holes.npz"
    np.savez(holes, x=np.where(np.arange(40)[:, None] % 7 == 0, np.nan, x), y=np.r_[y[:-1], np.nan],
             feature_names=np.array(names))
    table = load_table(DatasetSpec(str(holes)), "binary-classification")
    assert table.dropped_unlabelled == 1 and int(np.isnan(table.columns[names[0]]).sum()) == 6
    text_labels = tmp_path / "text.npz"
    np.savez(text_labels, x=x, y=np.where(y > 0, "churned", "stayed"))
    assert set(load_table(DatasetSpec(str(text_labels)), "binary-classification").labels) == {"churned", "stayed"}
