"""Checking a table against a version's schema: each difference named, with its column, counts and an example.

Anomaly kinds (`api/schema_rules_schema.ANOMALY_KINDS`; after TFDV's anomaly types, our own rules):
- missingColumn: a schema feature is absent from the table;
- extraColumn: the table has a feature the schema does not know;
- typeChange: the column was read as another kind, unless that kind only narrows the trained one (integer or
  boolean cells in a numeric column, boolean cells in an integer column, and integer or numeric cells that
  are all 0/1 in a boolean column are the same values);
- unseenCategory: present cells of a categorical column whose value is not in the schema's vocabulary;
- missingValues: the column's missing share exceeds its training share by more than `margin` (absolute).
Rows are numbered 1.. in the table's order (rows with an empty label were already left out by the reader).
What each kind DOES (fail the stage, count as drift, accept) is the lifecycle's decision
(`lifecycle/schema_rules.py`); this module only finds and describes.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any

import numpy as np

from modelops.api.schema_rules_schema import ANOMALY_KINDS, DEFAULT_MISSING_VALUES_MARGIN
from modelops.workloads.data.columns import parse_number
from modelops.workloads.data.labels import label_text
from modelops.workloads.data.schema import FeatureSchema, Schema
from modelops.workloads.data.table import Table

MAX_EXAMPLES = 3
MAX_REPORTED = 8  # anomalies listed in the ≤ 4 KiB stage summary (`counts` has them all by kind)
MAX_CHECK_BYTES = 1400
MAX_MESSAGE = 200
MAX_TEXT = 40
# (trained kind, read kind) pairs holding the same values: no typeChange
_NARROWER = {("numeric", "integer"), ("numeric", "boolean"), ("integer", "boolean")}


@dataclass(frozen=True)
class Anomaly:
    """One difference between a table and a schema; `count` of `rows` cells or rows are affected."""

    column: str
    kind: str
    count: int
    rows: int
    example_row: int | None = None  # 1-based row of the first affected cell
    examples: tuple[str, ...] = ()  # offending values, most frequent first
    message: str = ""

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"column": self.column, "kind": self.kind, "count": self.count, "rows": self.rows,
                               "message": self.message}
        if self.example_row is not None:
            out["exampleRow"] = self.example_row
        if self.examples:
            out["examples"] = list(self.examples)
        return out

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Anomaly:
        return cls(str(data["column"]), str(data["kind"]), int(data["count"]), int(data["rows"]),
                   None if data.get("exampleRow") is None else int(data["exampleRow"]),
                   tuple(str(e) for e in data.get("examples") or ()), str(data.get("message", "")))


def _short(value: str) -> str:
    return value if len(value) <= MAX_TEXT else value[: MAX_TEXT - 3] + "..."


def _missing_mask(kind: str, values: np.ndarray) -> np.ndarray:
    if kind == "categorical":
        return np.fromiter((v is None for v in values.tolist()), dtype=bool, count=values.shape[0])
    return np.isnan(values.astype(np.float64))


def _is_narrower(trained: FeatureSchema, kind: str, values: np.ndarray) -> bool:
    if (trained.kind, kind) in _NARROWER or trained.kind == kind:
        return True
    if trained.kind == "boolean" and kind in ("integer", "numeric"):
        present = values[~np.isnan(values)]
        return bool(np.isin(present, (0.0, 1.0)).all())
    return False


def _misfits(trained: FeatureSchema, kind: str, values: np.ndarray) -> np.ndarray:
    """Which cells break the trained kind: text that is no number in a column trained on numbers, a fraction
    in an integer one, a number other than 0/1 in a boolean one (all False when every value would fit)."""
    if trained.kind == "categorical":
        return np.zeros(values.shape[0], dtype=bool)
    if kind == "categorical":
        return np.fromiter((v is not None and parse_number(v) is None for v in values.tolist()), dtype=bool,
                           count=values.shape[0])
    numbers = values.astype(np.float64)
    fits = np.isin(numbers, (0.0, 1.0)) if trained.kind == "boolean" else numbers == np.round(numbers)
    return ~np.isnan(numbers) & ~fits


def _type_change(trained: FeatureSchema, kind: str, values: np.ndarray, rows: int) -> Anomaly:
    present = np.flatnonzero(~_missing_mask(kind, values))
    misfits = np.flatnonzero(_misfits(trained, kind, values))
    shown_rows = misfits if misfits.size else present  # the cells to fix first, when some break the kind
    texts = Counter(_short(str(v) if kind == "categorical" else label_text(v)) for v in values[shown_rows].tolist())
    examples = tuple(v for v, _ in texts.most_common(MAX_EXAMPLES))
    first = int(shown_rows[0]) + 1 if shown_rows.size else None
    shown = ", ".join(repr(e) for e in examples)
    return Anomaly(trained.name, "typeChange", int(present.size), rows, first, examples,
                   f"column {trained.name!r}: trained as {trained.kind}, read as {kind} ({present.size} of {rows} "
                   f"cells, e.g. {shown or 'none present'}" + (f", first at row {first})" if first else ")"))


def _unseen(trained: FeatureSchema, values: np.ndarray, rows: int) -> Anomaly | None:
    known = trained.known_values
    offending = [(i, v) for i, v in enumerate(values.tolist()) if v is not None and v not in known]
    if not offending:
        return None
    counts = Counter(v for _, v in offending)
    examples = tuple(_short(v) for v, _ in counts.most_common(MAX_EXAMPLES))
    shown = ", ".join(f"{_short(v)!r} x{c}" for v, c in counts.most_common(MAX_EXAMPLES))
    more = f" and {len(counts) - MAX_EXAMPLES} more" if len(counts) > MAX_EXAMPLES else ""
    cut = f"; the schema kept its {len(known)} most frequent values" if trained.other_values else ""
    first = offending[0][0] + 1
    return Anomaly(trained.name, "unseenCategory", len(offending), rows, first, examples,
                   f"column {trained.name!r}: {len(offending)} of {rows} rows hold {len(counts)} categories the "
                   f"version never saw in training ({shown}{more}), first at row {first}{cut}")


def _missing_surge(trained: FeatureSchema, kind: str, values: np.ndarray, rows: int, margin: float
                   ) -> Anomaly | None:
    mask = _missing_mask(kind, values)
    missing = int(mask.sum())
    if rows == 0 or missing / rows - trained.missing_rate <= margin:
        return None
    first = int(np.flatnonzero(mask)[0]) + 1
    return Anomaly(trained.name, "missingValues", missing, rows, first, (),
                   f"column {trained.name!r}: {missing} of {rows} cells missing ({missing / rows:.1%}) against "
                   f"{trained.missing_rate:.1%} in training (allowed margin {margin:.1%}), first at row {first}")


def check_table(schema: Schema, table: Table, margin: float = DEFAULT_MISSING_VALUES_MARGIN) -> list[Anomaly]:
    """Every anomaly of `table` against `schema`, in the schema's column order, extra columns last."""
    rows, found = table.rows, []
    for trained in schema.features:
        if trained.name not in table.columns:
            found.append(Anomaly(trained.name, "missingColumn", rows, rows, None, (),
                                 f"column {trained.name!r} ({trained.kind}) of the version's schema is missing "
                                 f"from {table.source or 'the data'}"))
            continue
        kind, values = table.kinds[trained.name], table.columns[trained.name]
        if not _is_narrower(trained, kind, values):
            found.append(_type_change(trained, kind, values, rows))
            continue
        if trained.kind == "categorical" and (unseen := _unseen(trained, values, rows)) is not None:
            found.append(unseen)
        if (surge := _missing_surge(trained, kind, values, rows, margin)) is not None:
            found.append(surge)
    known = set(schema.feature_names)
    for name in table.columns:
        if name not in known:
            found.append(Anomaly(name, "extraColumn", rows, rows, None, (),
                                 f"column {name!r} ({table.kinds[name]}) is not in the version's schema; not used"))
    return found


def findings(schema_version: int, anomalies: Sequence[Anomaly], rows: int) -> dict[str, Any]:
    """The stage result's `schemaCheck` block, bounded to MAX_CHECK_BYTES so it always fits the ≤ 4 KiB summary
    beside the drift numbers: the kinds that fail by default first, at most MAX_REPORTED anomalies, messages
    cut; `counts` has every anomaly by kind, so the lifecycle also judges the ones left out."""
    order = {kind: i for i, kind in enumerate(ANOMALY_KINDS)}
    listed: list[dict[str, Any]] = []
    size = 0
    for anomaly in sorted(anomalies, key=lambda a: order.get(a.kind, len(order)))[:MAX_REPORTED]:
        item = anomaly.to_json()
        item["message"] = _short_message(item["message"])
        size += len(json.dumps(item)) + 2
        if size > MAX_CHECK_BYTES:
            break
        listed.append(item)
    return {"version": schema_version, "rows": rows, "anomalies": listed,
            "counts": dict(sorted(Counter(a.kind for a in anomalies).items())),
            "more": len(anomalies) - len(listed)}


def _short_message(text: str) -> str:
    return text if len(text) <= MAX_MESSAGE else text[: MAX_MESSAGE - 3] + "..."


def conform_table(schema: Schema, table: Table) -> Table:
    """The table as the version's model expects it, once its anomalies are recorded and accepted: schema
    column order, a missing column all-missing, extra columns left out, a type-changed column converted to the
    trained kind (numbers as text for a categorical column; text parsed as a number, else missing, for a
    numeric one). Never call it before `check_table`: the conversion is only honest when it was reported."""
    columns: dict[str, np.ndarray] = {}
    kinds: dict[str, Any] = {}
    for trained in schema.features:
        kinds[trained.name] = trained.kind
        if trained.name not in table.columns:
            columns[trained.name] = _all_missing(trained.kind, table.rows)
            continue
        kind, values = table.kinds[trained.name], table.columns[trained.name]
        if (trained.kind == "categorical") == (kind == "categorical"):
            columns[trained.name] = values
        elif trained.kind == "categorical":
            columns[trained.name] = np.array([None if np.isnan(v) else label_text(v) for v in values.tolist()],
                                             dtype=object)
        else:
            columns[trained.name] = np.array([_number_or_nan(v) for v in values.tolist()], dtype=np.float64)
    return replace(table, columns=columns, kinds=kinds)


def _all_missing(kind: str, rows: int) -> np.ndarray:
    return np.full(rows, None, dtype=object) if kind == "categorical" else np.full(rows, np.nan)


def _number_or_nan(value: str | None) -> float:
    try:
        return float(value) if value is not None else float("nan")
    except ValueError:
        return float("nan")
