"""Load a numeric dataset (CSV, NPZ or all-number TFRecord; path or http(s) URL) for the numeric path.

Every check names the file and, where it can, the line and column: the person reading the CR status
must be able to fix the data without opening the worker's logs.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from modelops.workloads.config.stage import DatasetSpec
from modelops.workloads.data.source import infer_format, read_bytes
from modelops.workloads.errors import (
    EMPTY_DATASET,
    FEATURE_MISMATCH,
    LABEL_OUT_OF_RANGE,
    MALFORMED_DATASET,
    MISSING_LABEL_COLUMN,
    NON_FINITE_VALUE,
    NON_NUMERIC_VALUE,
    TOO_FEW_ROWS,
    WorkloadError,
)

__all__ = ["Dataset", "check_labels", "infer_format", "infer_num_classes", "load_dataset", "read_bytes"]
MIN_ROWS = 10
MAX_LISTED = 10  # problems named in one message; the rest are counted


@dataclass(frozen=True)
class Dataset:
    """Features as float32 [n, f]; labels float32 (binary, regression) or int32 (multiclass)."""

    x: np.ndarray
    y: np.ndarray
    feature_names: tuple[str, ...]
    source: str
    sha256: str
    dtype: str = "number"  # the file's feature type: "number" (CSV text) or the NPZ array's dtype

    @property
    def rows(self) -> int:
        return int(self.x.shape[0])

    def fingerprint(self, spec: DatasetSpec, rows_used: int | None = None) -> dict[str, Any]:
        """What this data was, for lineage: content hash, size, and a hash of its columns and dtypes
        (the names themselves go into the full report, not the 4 KiB summary)."""
        schema = hashlib.sha256(json.dumps([list(self.feature_names), self.dtype]).encode()).hexdigest()[:16]
        entry: dict[str, Any] = {"role": spec.role or "data", "uri": self.source, "sha256": self.sha256,
                                 "rows": self.rows, "rowsUsed": self.rows if rows_used is None else rows_used,
                                 "columns": len(self.feature_names), "schema": schema}
        if spec.max_rows is not None:
            entry["maxRows"] = spec.max_rows
        if spec.weight != 1.0:
            entry["weight"] = spec.weight
        if spec.holdout is not None:
            entry["holdout"] = spec.holdout
        return entry


def load_dataset(spec: DatasetSpec, task: str, *, num_classes: int | None = None,
                 expected_features: Sequence[str] | None = None, min_rows: int = MIN_ROWS) -> Dataset:
    """Read, parse and check one dataset.

    `num_classes` (multiclass) bounds the labels; None means "infer from these labels" (training).
    `expected_features` are the names stored with the version; columns are reordered to match them when
    only the order differs, and any other difference is a FeatureMismatch.
    """
    fmt = infer_format(spec)
    raw = read_bytes(spec.uri)
    source = spec.uri
    lines: list[int] | None = None
    if fmt == "csv":
        x, y, names, lines = _parse_csv(raw, source, spec.label_column)
        dtype = "number"
    elif fmt == "tfrecord":
        x, y, names = _numeric_tfrecord(spec, task, min_rows)
        dtype = "number"
    else:
        x, y, names, dtype = _parse_npz(raw, source)
    where = _locator(lines)
    if x.shape[0] == 0:
        raise WorkloadError(EMPTY_DATASET, f"dataset {source}: has no data rows")
    if x.shape[0] < min_rows:
        raise WorkloadError(TOO_FEW_ROWS, f"dataset {source}: {x.shape[0]} rows, at least {min_rows} needed")
    _check_finite(x, y, names, source, where, label=spec.label_column)
    if expected_features is not None:
        x, names = _align_features(x, names, tuple(expected_features), source)
    labels = check_labels(y, task, num_classes, source, spec.label_column, where)
    return Dataset(x.astype(np.float32), labels, tuple(names), source, hashlib.sha256(raw).hexdigest(), dtype)


def _locator(lines: list[int] | None) -> Callable[[int], str]:
    """How a data row is named in messages: its real CSV line (blank lines skipped count), or `row i`."""
    if lines is None:
        return lambda row: f"row {row}"
    return lambda row: f"line {lines[row]}"


def _parse_csv(raw: bytes, source: str, label_column: str
               ) -> tuple[np.ndarray, np.ndarray, list[str], list[int]]:
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise WorkloadError(MALFORMED_DATASET, f"dataset {source}: not UTF-8 text: {exc}") from exc
    reader = csv.reader(io.StringIO(text))
    header = next((row for row in reader if row), None)
    if header is None:
        raise WorkloadError(EMPTY_DATASET, f"dataset {source}: file is empty (no header row)")
    header = [h.strip() for h in header]
    duplicates = sorted({h for h in header if header.count(h) > 1})
    if duplicates or "" in header:
        what = f"duplicate column {duplicates[0]!r}" if duplicates else "an empty column name"
        raise WorkloadError(MALFORMED_DATASET, f"dataset {source}: header has {what}")
    if label_column not in header:
        raise WorkloadError(MISSING_LABEL_COLUMN, f"dataset {source}: no label column {label_column!r} "
                                                  f"(columns: {', '.join(header)})")
    rows: list[list[str]] = []
    lines: list[int] = []
    malformed: list[str] = []
    for row in reader:
        if not row or all(not cell.strip() for cell in row):
            continue
        if len(row) != len(header):
            malformed.append(f"line {reader.line_num} has {len(row)} fields, the header has {len(header)}")
            continue
        rows.append(row)
        lines.append(reader.line_num)
    if malformed:
        raise WorkloadError(MALFORMED_DATASET, _problems(source, malformed))
    if not rows:
        return np.zeros((0, len(header) - 1)), np.zeros(0), [h for h in header if h != label_column], []
    values = _to_float(rows, lines, header, source)
    label_index = header.index(label_column)
    names = [h for i, h in enumerate(header) if i != label_index]
    return np.delete(values, label_index, axis=1), values[:, label_index], names, lines


def _to_float(rows: list[list[str]], lines: list[int], header: list[str], source: str) -> np.ndarray:
    """Vectorised conversion; on failure name every offending cell (feature or label) by line and column."""
    cells = np.char.strip(np.array(rows, dtype=str))
    try:
        return cells.astype(np.float64)
    except ValueError:
        pass
    problems: list[str] = []
    for r, row in enumerate(cells):
        for c, cell in enumerate(row):
            try:
                float(cell)
            except ValueError:
                what = "empty" if not str(cell) else f"{str(cell)!r} is not a number"
                problems.append(f"line {lines[r]} column {header[c]!r}: {what}")
    raise WorkloadError(NON_NUMERIC_VALUE, _problems(source, problems))


def _problems(source: str, problems: list[str]) -> str:
    """`dataset d.csv: line 3 column 'x': empty; line 3 column 'label': empty`, the first few listed and
    the rest counted, so the message fits the 4 KiB result summary."""
    shown = "; ".join(problems[:MAX_LISTED])
    more = f"; and {len(problems) - MAX_LISTED} more" if len(problems) > MAX_LISTED else ""
    count = f"{len(problems)} problems: " if len(problems) > 1 else ""
    return f"dataset {source}: {count}{shown}{more}"


def _numeric_tfrecord(spec: DatasetSpec, task: str, min_rows: int) -> tuple[np.ndarray, np.ndarray, list[str]]:
    """The numeric path over a TFRecord file, through the typed reader: categorical features or class-name
    labels are refused here (the Table path, table_reader.load_table, takes them)."""
    from modelops.workloads.data.table_reader import load_table

    table = load_table(spec, task, min_rows=min_rows)
    text = [n for n, kind in table.kinds.items() if kind == "categorical"]
    if text or table.labels.dtype.kind != "f":
        what = f"categorical features {text}" if text else f"class-name labels in {spec.label_column!r}"
        raise WorkloadError(NON_NUMERIC_VALUE, f"dataset {spec.uri}: {what}; this stage reads numbers only")
    columns = list(table.columns.values())
    return np.column_stack(columns), table.labels, list(table.feature_names)


def _parse_npz(raw: bytes, source: str) -> tuple[np.ndarray, np.ndarray, list[str], str]:
    try:
        archive = np.load(io.BytesIO(raw), allow_pickle=False)
    except (ValueError, OSError) as exc:
        raise WorkloadError(MALFORMED_DATASET, f"dataset {source}: not a readable .npz archive: {exc}") from exc
    with archive:
        missing = [k for k in ("x", "y") if k not in archive.files]
        if missing:
            raise WorkloadError(MISSING_LABEL_COLUMN if missing == ["y"] else MALFORMED_DATASET,
                                f"dataset {source}: npz has no array {missing[0]!r} (arrays: {archive.files})")
        x, y = archive["x"], archive["y"]
        names_raw = archive["feature_names"] if "feature_names" in archive.files else None
    if x.ndim == 1 and x.shape[0] == 0:
        x = x.reshape(0, 0)
    if x.ndim != 2 or y.ndim != 1 or x.shape[0] != y.shape[0]:
        raise WorkloadError(MALFORMED_DATASET, f"dataset {source}: expected x [n, f] and y [n], got x "
                                               f"{list(x.shape)} and y {list(y.shape)}")
    for key, arr in (("x", x), ("y", y)):
        if arr.dtype.kind not in "biuf":
            raise WorkloadError(NON_NUMERIC_VALUE, f"dataset {source}: array {key!r} has non-numeric dtype {arr.dtype}")
    names = [f"f{i}" for i in range(x.shape[1])] if names_raw is None else [str(n) for n in names_raw]
    if len(names) != x.shape[1] or len(set(names)) != len(names):
        raise WorkloadError(MALFORMED_DATASET, f"dataset {source}: feature_names must be {x.shape[1]} unique "
                                               f"names, got {names}")
    return x.astype(np.float64), y.astype(np.float64), names, str(x.dtype)


def _check_finite(x: np.ndarray, y: np.ndarray, names: list[str], source: str, where: Callable[[int], str],
                  label: str) -> None:
    """NaN or inf poisons training silently; name every bad cell, features and label (CSV: by line)."""
    problems: list[tuple[int, str]] = []
    for values, columns in ((x, names), (y.reshape(-1, 1), [label])):
        for row, col in np.argwhere(~np.isfinite(values)).tolist():
            problems.append((row, f"{where(row)} column {columns[col]!r}: {values[row, col]} is not a finite number"))
    if problems:
        problems.sort(key=lambda p: p[0])  # in file order, a row's features before its label
        raise WorkloadError(NON_FINITE_VALUE, _problems(source, [text for _, text in problems]))


def _align_features(x: np.ndarray, names: list[str], expected: tuple[str, ...], source: str
                    ) -> tuple[np.ndarray, list[str]]:
    if tuple(names) == expected:
        return x, names
    missing = [n for n in expected if n not in names]
    extra = [n for n in names if n not in expected]
    if missing or extra:
        raise WorkloadError(FEATURE_MISMATCH, f"dataset {source}: feature columns differ from the ones the model "
                                              f"was trained on: missing {missing}, unexpected {extra} "
                                              f"(expected {list(expected)})")
    order = [names.index(n) for n in expected]
    return x[:, order], list(expected)


def check_labels(y: np.ndarray, task: str, num_classes: int | None, source: str, column: str,
                 where: Callable[[int], str] | None = None) -> np.ndarray:
    """Labels must fit the task: binary 0/1, multiclass integers 0..K-1, regression any finite value."""
    if task == "regression":
        return y.astype(np.float32)
    if task == "binary-classification":
        bad = np.flatnonzero((y != 0) & (y != 1))
        if bad.size:
            raise _label_error(source, column, bad, y, "binary-classification needs labels 0 or 1", where)
        return y.astype(np.float32)
    not_int = np.flatnonzero((y != np.round(y)) | (y < 0))
    if not_int.size:
        raise _label_error(source, column, not_int, y, "multiclass-classification needs integer labels 0..K-1",
                           where)
    if num_classes is not None:
        too_big = np.flatnonzero(y >= num_classes)
        if too_big.size:
            why = f"the model has {num_classes} classes (0..{num_classes - 1})"
            raise _label_error(source, column, too_big, y, why, where)
    return y.astype(np.int32)


def _label_error(source: str, column: str, bad: np.ndarray, y: np.ndarray, why: str,
                 where: Callable[[int], str] | None) -> WorkloadError:
    """Name the first few offending labels by line (CSV) or row, and count them all."""
    locate = where or (lambda row: f"data row {row + 1}")
    shown = ", ".join(f"{float(y[r]):g} at {locate(int(r))}" for r in bad[:MAX_LISTED])
    more = f", and {bad.size - MAX_LISTED} more" if bad.size > MAX_LISTED else ""
    return WorkloadError(LABEL_OUT_OF_RANGE, f"dataset {source}: label column {column!r} has {bad.size} value(s) "
                                             f"out of range (e.g. {shown}{more}): {why}")


def infer_num_classes(y: np.ndarray, source: str) -> int:
    """Training data defines K for multiclass: labels 0..K-1, at least two classes."""
    k = int(y.max()) + 1 if y.size else 0
    if k < 2:
        raise WorkloadError(LABEL_OUT_OF_RANGE, f"dataset {source}: multiclass-classification needs at least "
                                                f"two classes, labels only reach {k - 1}")
    return k
