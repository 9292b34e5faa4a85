"""CSV text -> columns of cells: a header row names the columns, every other non-blank line is a row.

Cells are stripped of surrounding spaces; a cell equal to one of the missing-value tokens (the dataset's
`missingValues`, by default columns.DEFAULT_MISSING_VALUES, compared exactly) is missing. Rows are named
by the line an editor shows (blank lines count), so messages point at the right place.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence

from modelops.workloads.data.columns import Cell
from modelops.workloads.data.problems import Problems
from modelops.workloads.data.raw_columns import RawColumns
from modelops.workloads.errors import EMPTY_DATASET, MALFORMED_DATASET, WorkloadError


def read_csv(raw: bytes, source: str, missing_values: Sequence[str]) -> RawColumns:
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
    missing = frozenset(missing_values)
    columns: list[list[Cell]] = [[] for _ in header]
    lines: list[int] = []
    malformed = Problems(source, MALFORMED_DATASET)
    for row in reader:
        if not row or all(not cell.strip() for cell in row):
            continue
        if len(row) != len(header):
            malformed.add(f"line {reader.line_num} has {len(row)} fields, the header has {len(header)}")
            continue
        for column, cell in zip(columns, row, strict=True):
            stripped = cell.strip()
            column.append(None if stripped in missing else stripped)
        lines.append(reader.line_num)
    malformed.raise_if_any()
    return RawColumns(header, dict(zip(header, columns, strict=True)), len(lines),
                      lambda row: f"line {lines[row]}")
