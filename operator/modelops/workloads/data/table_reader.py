"""`load_table`: one dataset (CSV, TFRecord or NPZ; a path or an http(s) URL) -> a checked Table.

The order of work, each step failing with every problem named (file, line/example/row, column):
1. read the file into columns of cells (csv_reader, tfrecord_reader, npz_reader);
2. check the dataset's settings against the header: the label column and every column named by
   columnTypes, ignoreColumns, idColumn and weightColumn must exist;
3. drop the rows whose label cell is missing and count them (`Table.dropped_unlabelled`, shown in the
   stage report): a label is never guessed;
4. type each feature column: the version's kind when the caller passes `kinds` (data read against a
   trained version), else the stated `columnTypes`, else the kind the format states (TFRecord, NPZ),
   else the rule of columns.py; a stated kind is checked on every cell, never coerced;
5. the labels: regression needs finite numbers; classification keeps all-number labels as numbers
   (integer-coded classes, which must be finite) and otherwise reads every label as class-name text; the
   ids (present and unique) and weights (finite, >= 0).
Every stage reads its data here: train (`training_set.load_training_table`, extra datasets with the
primary's kinds), validate and evaluate (then checked against the version's schema, `schema_gate.py`).
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from typing import Any

import numpy as np

from modelops.workloads.config.stage import DatasetSpec
from modelops.workloads.data.columns import (
    DEFAULT_MISSING_VALUES,
    Locate,
    convert,
    infer_kind,
    numbers_share,
    parse_number,
    text_of,
)
from modelops.workloads.data.csv_reader import read_csv
from modelops.workloads.data.npz_reader import read_npz
from modelops.workloads.data.problems import Problems, problem_message
from modelops.workloads.data.raw_columns import RawColumns
from modelops.workloads.data.source import infer_format, read_bytes
from modelops.workloads.data.table import FeatureKind, Table
from modelops.workloads.data.tfrecord_reader import read_tfrecord
from modelops.workloads.errors import (
    COLUMN_TYPE_MISMATCH,
    EMPTY_DATASET,
    INVALID_ID,
    INVALID_WEIGHT,
    MALFORMED_DATASET,
    MISSING_LABEL_COLUMN,
    NON_FINITE_VALUE,
    NON_NUMERIC_VALUE,
    TOO_FEW_ROWS,
    UNKNOWN_COLUMN,
    WorkloadError,
)

MIN_ROWS = 10
MOSTLY_NUMBERS = 0.9  # an inferred categorical column with at least this share of numbers gets a note


def load_table(spec: DatasetSpec, task: str | None = None, *, kinds: Mapping[str, FeatureKind] | None = None,
               min_rows: int = MIN_ROWS) -> Table:
    """Read and check one dataset. `task` decides how labels are read (None: as classification);
    `kinds` are a trained version's feature kinds, applied like stated columnTypes."""
    raw = read_bytes(spec.uri)
    fmt = infer_format(spec)
    source = spec.uri
    if fmt == "csv":
        columns = read_csv(raw, source, DEFAULT_MISSING_VALUES if spec.missing_values is None else spec.missing_values)
    elif fmt == "tfrecord":
        columns = read_tfrecord(raw, source)
    else:
        columns = read_npz(raw, source, spec.label_column)
    return build_table(columns, spec, task, source, hashlib.sha256(raw).hexdigest(), kinds=kinds,
                       min_rows=min_rows)


def build_table(raw: RawColumns, spec: DatasetSpec, task: str | None, source: str, sha256: str, *,
                kinds: Mapping[str, FeatureKind] | None = None, min_rows: int = MIN_ROWS) -> Table:
    """Steps 2-5 on a file's columns of cells (whatever reader produced them)."""
    _check_named_columns(raw, spec, source)
    if raw.rows == 0:
        raise WorkloadError(EMPTY_DATASET, f"dataset {source}: has no data rows")
    label_cells = raw.cells[spec.label_column]
    kept = [row for row, cell in enumerate(label_cells) if cell is not None]
    dropped = raw.rows - len(kept)
    if len(kept) < min_rows:
        unlabelled = f" ({dropped} rows without a label left out)" if dropped else ""
        raise WorkloadError(TOO_FEW_ROWS, f"dataset {source}: {len(kept)} rows, at least {min_rows} needed"
                                          f"{unlabelled}")
    locate: Locate = (lambda row: raw.locate(kept[row])) if dropped else raw.locate  # a kept row -> its line
    excluded = {spec.label_column, spec.id_column, spec.weight_column, *spec.ignore_columns}
    names = [n for n in raw.names if n not in excluded]
    if not names:
        raise WorkloadError(MALFORMED_DATASET, f"dataset {source}: no feature columns left (columns: "
                                               f"{', '.join(raw.names)}; label, id, weight and ignored excluded)")
    cells = {n: [raw.cells[n][row] for row in kept] for n in raw.cells if n not in spec.ignore_columns}
    stated = {**spec.column_types, **(kinds or {})}
    typed, column_kinds, notes = _features(names, cells, stated, raw.source_kinds, locate, source)
    labels = _labels(cells[spec.label_column], task, spec.label_column, locate, source)
    ids = _ids(cells[spec.id_column], spec.id_column, locate, source) if spec.id_column else None
    weights = _weights(cells[spec.weight_column], spec.weight_column, locate, source) if spec.weight_column else None
    return Table(typed, column_kinds, labels, source, sha256, weights, ids, dropped, notes)


def _check_named_columns(raw: RawColumns, spec: DatasetSpec, source: str) -> None:
    if spec.label_column not in raw.cells:
        raise WorkloadError(MISSING_LABEL_COLUMN, f"dataset {source}: no label column {spec.label_column!r} "
                                                  f"(columns: {', '.join(raw.names)})")
    named = [("idColumn", spec.id_column), ("weightColumn", spec.weight_column),
             *(("ignoreColumns", c) for c in spec.ignore_columns), *(("columnTypes", c) for c in spec.column_types)]
    unknown = [f"{setting} names {column!r}" for setting, column in named if column and column not in raw.cells]
    if unknown:
        raise WorkloadError(UNKNOWN_COLUMN, problem_message(source, unknown) + f" (columns: {', '.join(raw.names)})")


def _features(names: list[str], cells: Mapping[str, list[Any]], stated: Mapping[str, FeatureKind],
              source_kinds: Mapping[str, FeatureKind], locate: Locate, source: str
              ) -> tuple[dict[str, np.ndarray], dict[str, FeatureKind], dict[str, str]]:
    """(typed columns, their kinds, notes for the report); every cell that does not fit its kind is named.
    A stated kind's misfits make it a ColumnTypeMismatch; an inferred kind fits its cells by construction,
    so its only problems are non-finite numbers ("inf")."""
    typed: dict[str, np.ndarray] = {}
    kinds: dict[str, FeatureKind] = {}
    notes: dict[str, str] = {}
    problems: list[tuple[int, int, str]] = []
    mismatch = False
    for position, name in enumerate(names):
        kind = stated.get(name) or source_kinds.get(name) or infer_kind(cells[name])
        typed[name], bad = convert(name, cells[name], kind, locate)
        kinds[name] = kind
        problems.extend((row, position, text) for row, text in bad)
        mismatch = mismatch or (bool(bad) and name in stated)
        if kind == "categorical" and name not in stated and name not in source_kinds:
            share = numbers_share(cells[name])
            if share >= MOSTLY_NUMBERS:
                notes[f"column {name}"] = (f"read as categorical although {share:.0%} of its values are numbers; "
                                           f"state columnTypes.{name}: numeric to refuse the others")
    if problems:
        problems.sort()  # file order: by row, then by column
        raise WorkloadError(COLUMN_TYPE_MISMATCH if mismatch else NON_FINITE_VALUE,
                            problem_message(source, [text for _, _, text in problems]))
    return typed, kinds, notes


def _labels(cells: list[Any], task: str | None, column: str, locate: Locate, source: str) -> np.ndarray:
    """Regression: finite numbers. Classification: numbers when every label is one, else class-name text."""
    numbers = [parse_number(c) for c in cells]
    if task != "regression" and any(n is None for n in numbers):
        return np.array([text_of(c) for c in cells], dtype=object)
    non_numeric = Problems(source, NON_NUMERIC_VALUE)
    non_finite = Problems(source, NON_FINITE_VALUE)
    for row, (cell, number) in enumerate(zip(cells, numbers, strict=True)):
        if number is None:
            non_numeric.add(f"{locate(row)} column {column!r}: {cell!r} is not a number (regression labels are)")
        elif not np.isfinite(number):
            non_finite.add(f"{locate(row)} column {column!r}: {cell!r} is not a finite number")
    non_numeric.raise_if_any()
    non_finite.raise_if_any()
    return np.array(numbers, dtype=np.float64)


def _ids(cells: list[Any], column: str, locate: Locate, source: str) -> np.ndarray:
    """Row ids as text: each present, none shared (an id that names two rows names neither)."""
    problems = Problems(source, INVALID_ID)
    first: dict[str, int] = {}
    for row, cell in enumerate(cells):
        if cell is None:
            problems.add(f"{locate(row)} column {column!r}: missing id")
            continue
        text = text_of(cell)
        if text in first:
            problems.add(f"{locate(row)} column {column!r}: id {text!r} already used at {locate(first[text])}")
        else:
            first[text] = row
    problems.raise_if_any()
    return np.array([text_of(c) for c in cells], dtype=object)


def _weights(cells: list[Any], column: str, locate: Locate, source: str) -> np.ndarray:
    """Sample weights: finite numbers >= 0 (0 keeps a row out of the loss without dropping it)."""
    problems = Problems(source, INVALID_WEIGHT)
    values = np.zeros(len(cells), dtype=np.float64)
    for row, cell in enumerate(cells):
        number = parse_number(cell)
        if cell is None or number is None or not np.isfinite(number) or number < 0:
            what = "missing" if cell is None else f"{cell!r} is not a finite number >= 0"
            problems.add(f"{locate(row)} column {column!r}: weight {what}")
        else:
            values[row] = number
    problems.raise_if_any()
    return values
