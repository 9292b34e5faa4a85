"""TFRecord files of `tf.train.Example` -> columns of cells (TensorFlow's own format for tabular rows).

Each example is a row and each feature a column, named by its key; columns come in name order (an
Example's features are a map, with no order of their own). A feature's list type states its kind:
float_list -> numeric, int64_list -> integer, bytes_list -> categorical (UTF-8 text). A feature absent
from an example, or present with no value (or an empty bytes value), is a missing cell; more than one
value is an error (a table cell holds one value), as is a feature whose list type changes between
examples. GZIP-compressed files (TFRecordOptions' GZIP) are recognised by their first bytes. Records are
read with tf.data.TFRecordDataset, which checks each record's CRC, so a truncated or corrupt file fails
with the example it stopped at.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

from modelops.workloads.data.columns import Cell
from modelops.workloads.data.problems import Problems
from modelops.workloads.data.raw_columns import RawColumns
from modelops.workloads.data.table import FeatureKind
from modelops.workloads.errors import MALFORMED_DATASET, WorkloadError

GZIP_MAGIC = b"\x1f\x8b"
LIST_KINDS: dict[str, FeatureKind] = {"float_list": "numeric", "int64_list": "integer", "bytes_list": "categorical"}


def read_records(raw: bytes, source: str) -> list[bytes]:
    """The serialized records of a TFRecord file (GZIP or not), CRC-checked by TensorFlow's reader."""
    import tensorflow as tf

    compression = "GZIP" if raw[:2] == GZIP_MAGIC else ""
    records: list[bytes] = []
    with tempfile.TemporaryDirectory(prefix="modelops-tfrecord-") as scratch:
        path = Path(scratch) / "data.tfrecord"
        path.write_bytes(raw)  # one code path for mounted files and downloads (already in memory for the hash)
        try:
            for record in tf.data.TFRecordDataset(str(path), compression_type=compression):
                records.append(bytes(record.numpy()))
        except tf.errors.OpError as exc:
            where = f"after example {len(records)}" if records else "at its first record"
            raise WorkloadError(MALFORMED_DATASET, f"dataset {source}: not a readable TFRecord file ({where}): "
                                                   f"{exc.message}") from exc
    return records


def read_tfrecord(raw: bytes, source: str) -> RawColumns:
    from google.protobuf.message import DecodeError
    from tensorflow.core.example import example_pb2

    examples = []
    malformed = Problems(source, MALFORMED_DATASET)
    for index, record in enumerate(read_records(raw, source)):
        example = example_pb2.Example()
        try:
            example.ParseFromString(record)
        except DecodeError:
            malformed.add(f"example {index + 1} is not a tf.train.Example")
            continue
        examples.append(example)
    malformed.raise_if_any()
    kinds: dict[str, str] = {}
    columns: dict[str, list[Cell]] = {}
    for row, example in enumerate(examples):
        for name, feature in example.features.feature.items():
            list_kind = feature.WhichOneof("kind")
            values = list(getattr(feature, list_kind).value) if list_kind else []
            if not values:
                continue
            kinds.setdefault(name, list_kind)
            if kinds[name] != list_kind:
                malformed.add(f"example {row + 1} feature {name!r}: {list_kind}, earlier examples have "
                              f"{kinds[name]}")
                continue
            if len(values) > 1:
                malformed.add(f"example {row + 1} feature {name!r}: {len(values)} values, a table cell holds one")
                continue
            cell = _cell(values[0], row, name, malformed)
            columns.setdefault(name, [None] * len(examples))[row] = cell
    for name in {n for e in examples for n in e.features.feature}:
        columns.setdefault(name, [None] * len(examples))  # a feature that never holds a value: all missing
    malformed.raise_if_any()
    names = sorted(columns)
    return RawColumns(names, {n: columns[n] for n in names}, len(examples), lambda row: f"example {row + 1}",
                      {n: LIST_KINDS[kinds[n]] for n in names if n in kinds})


def _cell(value: float | int | bytes, row: int, name: str, malformed: Problems) -> Cell:
    if isinstance(value, bytes):
        try:
            text = value.decode("utf-8").strip()
        except UnicodeDecodeError:
            malformed.add(f"example {row + 1} feature {name!r}: bytes that are not UTF-8 text")
            return None
        return text or None
    return float(value) if isinstance(value, float) else int(value)
