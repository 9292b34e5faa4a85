"""What a stage reports about a table it read: its size, the rows left out, its columns' kinds, the notes.

`table_report` is for the stage result (kept small: the summary must fit 4 KiB); `table_fingerprint` is
the lineage entry of one dataset (content hash, rows read, used and left out, a hash of its columns and kinds).
"""

from __future__ import annotations

import hashlib
import json
from collections import Counter
from typing import Any

from modelops.workloads.config.stage import DatasetSpec
from modelops.workloads.data.table import Table

MAX_NOTES = 5


def table_report(table: Table) -> dict[str, Any]:
    """`{"uri", "rows", "droppedUnlabelled", "features", "kinds": {kind: count}, "notes"?}` for a stage result."""
    report: dict[str, Any] = {"uri": table.source, "rows": table.rows, "droppedUnlabelled": table.dropped_unlabelled,
                              "features": len(table.feature_names),
                              "kinds": dict(sorted(Counter(table.kinds.values()).items()))}
    if table.weights is not None:
        report["weighted"] = True
    if table.extra:
        notes = [f"{key}: {text}" for key, text in table.extra.items()]
        report["notes"] = notes[:MAX_NOTES] + ([f"and {len(notes) - MAX_NOTES} more"] if len(notes) > MAX_NOTES
                                               else [])
    return report


def schema_hash(table: Table) -> str:
    """A short hash of the feature names and kinds, in order (same names and kinds -> same hash)."""
    return hashlib.sha256(json.dumps([[n, table.kinds[n]] for n in table.feature_names]).encode()).hexdigest()[:16]


def table_fingerprint(table: Table, spec: DatasetSpec, rows_used: int | None = None) -> dict[str, Any]:
    """What this data was, for lineage: content hash, rows read, used and left out, and the schema's hash."""
    entry: dict[str, Any] = {"role": spec.role or "data", "uri": table.source, "sha256": table.sha256,
                             "rows": table.rows, "rowsUsed": table.rows if rows_used is None else rows_used,
                             "columns": len(table.feature_names), "schema": schema_hash(table)}
    if table.dropped_unlabelled:
        entry["droppedUnlabelled"] = table.dropped_unlabelled
    if spec.max_rows is not None:
        entry["maxRows"] = spec.max_rows
    if spec.weight != 1.0:
        entry["weight"] = spec.weight
    if spec.holdout is not None:
        entry["holdout"] = spec.holdout
    return entry
