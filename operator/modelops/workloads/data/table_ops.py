"""Whole-table operations a run needs: keep the last rows, stack tables."""

from __future__ import annotations

import hashlib
from collections.abc import Sequence

import numpy as np

from modelops.workloads.data.labels import label_text
from modelops.workloads.data.table import Table


def last_rows(table: Table, count: int | None) -> Table:
    """The last `count` rows (the newest of an appended file); the table itself when it has no more."""
    if count is None or table.rows <= count:
        return table
    return table.take(np.arange(table.rows - count, table.rows))


def stack_labels(parts: Sequence[np.ndarray]) -> np.ndarray:
    """Labels of several tables as one array: numbers stay numbers unless some table has class-name text."""
    if all(p.dtype.kind == "f" for p in parts):
        return np.concatenate(parts) if parts else np.zeros(0)
    return np.array([label_text(v) for p in parts for v in p], dtype=object)


def concat_tables(tables: Sequence[Table], weights: Sequence[np.ndarray | None] | None = None) -> Table:
    """Rows of `tables` (same features, already aligned) one after the other. `weights`, when given, replace
    each table's own (a None entry weighs 1); no weights at all gives None. Ids are kept only if all have them."""
    first = tables[0]
    chosen = list(weights) if weights is not None else [t.weights for t in tables]
    any_weights = any(w is not None for w in chosen)
    pairs = zip(tables, chosen, strict=True)
    stacked_weights = np.concatenate([np.ones(t.rows) if w is None else w for t, w in pairs]) if any_weights else None
    ids = (np.concatenate([t.ids for t in tables]) if all(t.ids is not None for t in tables) else None)
    digest = hashlib.sha256("".join(t.sha256 for t in tables).encode()).hexdigest()
    return Table(
        columns={n: np.concatenate([t.columns[n] for t in tables]) for n in first.feature_names},
        kinds=dict(first.kinds), labels=stack_labels([t.labels for t in tables]),
        source=" + ".join(t.source for t in tables), sha256=digest, weights=stacked_weights, ids=ids,
        dropped_unlabelled=sum(t.dropped_unlabelled for t in tables),
        extra={k: v for t in tables for k, v in t.extra.items()},
    )
