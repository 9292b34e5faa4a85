"""A version's data schema: what its training table looked like, so later data can be checked against it.

Inferred once, at training time, from the Table the version learned from (the idea of TensorFlow Data
Validation's schema, `tensorflow_metadata/proto/v0/schema.proto`: a feature's type, its domain, its
presence; our own smaller JSON, not that proto). Per feature: its kind, how many cells were missing,
for numeric kinds the range, mean and standard deviation (over the present cells), for categorical and
boolean features the vocabulary with counts — the VOCABULARY_LIMIT most frequent values, plus how many
distinct values and rows were left out, so the file stays bounded on an ID-like column. The label: its
kind and, for a classifier, the classes in output order (ClassNames) with their counts.
Written beside the version as `schema.json`; validation, monitoring and retraining data are checked
against it (`schema_check.py`), and its summary goes into the train stage's result.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from modelops.contract.result import write_json
from modelops.workloads.data.labels import ClassNames, label_text
from modelops.workloads.data.table import FEATURE_KINDS, FeatureKind, Table

SCHEMA_FILE = "schema.json"
SCHEMA_FORMAT = 1
VOCABULARY_LIMIT = 1000  # most frequent values kept per categorical feature (the rest is counted)
SUMMARY_CLASSES = 10  # class names shown in the ≤ 4 KiB stage summary
SUMMARY_NAME_CHARS = 40


class SchemaError(ValueError):
    """A schema file that cannot be read back: names the file and the field."""


@dataclass(frozen=True)
class FeatureSchema:
    """One feature column as training saw it. Statistics are over present cells; None when none was."""

    name: str
    kind: FeatureKind
    rows: int
    missing: int = 0
    minimum: float | None = None
    maximum: float | None = None
    mean: float | None = None
    std: float | None = None
    vocabulary: tuple[tuple[str, int], ...] = ()  # categorical and boolean: (value, count), most frequent first
    other_values: int = 0  # distinct values left out of `vocabulary` (beyond VOCABULARY_LIMIT)
    other_rows: int = 0  # rows holding those values

    @property
    def missing_rate(self) -> float:
        return self.missing / self.rows if self.rows else 0.0

    @property
    def known_values(self) -> frozenset[str]:
        return frozenset(value for value, _ in self.vocabulary)

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"name": self.name, "kind": self.kind, "rows": self.rows, "missing": self.missing,
                               "missingRate": round(self.missing_rate, 6)}
        if self.kind != "categorical":
            out.update(min=self.minimum, max=self.maximum, mean=self.mean, std=self.std)
        if self.vocabulary or self.kind in ("categorical", "boolean"):
            out["vocabulary"] = [{"value": v, "count": c} for v, c in self.vocabulary]
            out["otherValues"], out["otherRows"] = self.other_values, self.other_rows
        return out

    @classmethod
    def from_json(cls, data: Mapping[str, Any], where: str) -> FeatureSchema:
        kind = data.get("kind")
        if kind not in FEATURE_KINDS:
            raise SchemaError(f"{where}.kind: expected one of {', '.join(FEATURE_KINDS)}, got {kind!r}")
        try:
            vocabulary = tuple((str(e["value"]), int(e["count"])) for e in data.get("vocabulary") or [])
            return cls(str(data["name"]), kind, int(data["rows"]), int(data.get("missing", 0)),
                       _optional(data.get("min")), _optional(data.get("max")), _optional(data.get("mean")),
                       _optional(data.get("std")), vocabulary, int(data.get("otherValues", 0)),
                       int(data.get("otherRows", 0)))
        except (KeyError, TypeError, ValueError) as exc:
            raise SchemaError(f"{where}: {type(exc).__name__}: {exc}") from exc


@dataclass(frozen=True)
class LabelSchema:
    """The label: `categorical` with the classes in output order for a classifier, `numeric` for regression."""

    column: str
    kind: str
    classes: ClassNames | None = None
    class_counts: tuple[int, ...] = ()
    minimum: float | None = None
    maximum: float | None = None

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"column": self.column, "kind": self.kind}
        if self.classes is not None:
            out.update(self.classes.to_json())
            out["classCounts"] = list(self.class_counts)
        else:
            out.update(min=self.minimum, max=self.maximum)
        return out

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> LabelSchema:
        try:
            classes = ClassNames.from_json(dict(data)) if data.get("classes") else None
            return cls(str(data["column"]), str(data["kind"]), classes,
                       tuple(int(c) for c in data.get("classCounts") or ()), _optional(data.get("min")),
                       _optional(data.get("max")))
        except (KeyError, TypeError, ValueError) as exc:
            raise SchemaError(f"label: {type(exc).__name__}: {exc}") from exc


@dataclass(frozen=True)
class Schema:
    """Every feature in the training table's column order, the label, and where they came from."""

    features: tuple[FeatureSchema, ...]
    label: LabelSchema
    rows: int
    source: str = ""
    sha256: str = ""
    dropped_unlabelled: int = 0
    notes: tuple[str, ...] = field(default_factory=tuple)

    def feature(self, name: str) -> FeatureSchema | None:
        return next((f for f in self.features if f.name == name), None)

    @property
    def feature_names(self) -> tuple[str, ...]:
        return tuple(f.name for f in self.features)

    def to_json(self) -> dict[str, Any]:
        return {"format": SCHEMA_FORMAT, "rows": self.rows, "source": self.source, "sha256": self.sha256,
                "droppedUnlabelled": self.dropped_unlabelled, "features": [f.to_json() for f in self.features],
                "label": self.label.to_json(), "notes": list(self.notes)}

    @classmethod
    def from_json(cls, data: Any) -> Schema:
        if not isinstance(data, Mapping):
            raise SchemaError(f"expected a JSON object, got {type(data).__name__}")
        if data.get("format") != SCHEMA_FORMAT:
            raise SchemaError(f"format: expected {SCHEMA_FORMAT}, got {data.get('format')!r}")
        raw = data.get("features")
        if not isinstance(raw, list):
            raise SchemaError("features: expected a list")
        features = tuple(FeatureSchema.from_json(f, f"features[{i}]") for i, f in enumerate(raw))
        if not isinstance(data.get("label"), Mapping):
            raise SchemaError("label: expected an object")
        return cls(features, LabelSchema.from_json(data["label"]), int(data.get("rows", 0)),
                   str(data.get("source", "")), str(data.get("sha256", "")), int(data.get("droppedUnlabelled", 0)),
                   tuple(str(n) for n in data.get("notes") or ()))


def _optional(value: Any) -> float | None:
    return None if value is None else float(value)


def _finite_stats(values: np.ndarray) -> dict[str, float | None]:
    present = values[~np.isnan(values)]
    if present.size == 0:
        return {"minimum": None, "maximum": None, "mean": None, "std": None}
    return {"minimum": float(present.min()), "maximum": float(present.max()), "mean": float(present.mean()),
            "std": float(present.std())}


def value_counts(kind: str, values: np.ndarray) -> Counter[str]:
    """Counts of the present values of a categorical or boolean column, as text ("0"/"1" for booleans)."""
    if kind == "categorical":
        return Counter(v for v in values.tolist() if v is not None)
    return Counter(label_text(v) for v in values[~np.isnan(values)].tolist())


def infer_feature(name: str, kind: FeatureKind, values: np.ndarray) -> FeatureSchema:
    rows = int(values.shape[0])
    if kind == "categorical":
        missing = sum(1 for v in values.tolist() if v is None)
        stats: dict[str, float | None] = {}
    else:
        missing = int(np.isnan(values).sum())
        stats = _finite_stats(values)
    if kind not in ("categorical", "boolean"):
        return FeatureSchema(name, kind, rows, missing, **stats)
    counts = value_counts(kind, values)
    # most frequent first, ties by value: the same table always gives the same file
    ordered = sorted(counts.items(), key=lambda item: (-item[1], item[0]))
    kept, rest = ordered[:VOCABULARY_LIMIT], ordered[VOCABULARY_LIMIT:]
    return FeatureSchema(name, kind, rows, missing, **stats, vocabulary=tuple(kept), other_values=len(rest),
                         other_rows=sum(c for _, c in rest))


def infer_schema(table: Table, task: str, label_column: str, classes: ClassNames | None = None) -> Schema:
    """The schema of a training table; `classes` are the version's classes (None for regression)."""
    features = tuple(infer_feature(name, table.kinds[name], values) for name, values in table.columns.items())
    if classes is not None:
        texts = Counter(label_text(v) for v in table.labels.tolist())
        label = LabelSchema(label_column, "categorical", classes, tuple(texts.get(n, 0) for n in classes.names))
    else:
        numbers = np.asarray(table.labels, dtype=np.float64)
        label = LabelSchema(label_column, "numeric", minimum=float(numbers.min()) if numbers.size else None,
                            maximum=float(numbers.max()) if numbers.size else None)
    notes = tuple(f"{f.name}: {f.other_values} rarer values ({f.other_rows} rows) beyond the {VOCABULARY_LIMIT} "
                  "kept; later data with them is reported as unseen" for f in features if f.other_values)
    return Schema(features, label, table.rows, table.source, table.sha256, table.dropped_unlabelled, notes)


def write_schema(version_dir: str | Path, schema: Schema) -> Path:
    """`<version dir>/schema.json`, beside the SavedModel and report.json."""
    path = Path(version_dir) / SCHEMA_FILE
    write_json(path, schema.to_json())
    return path


def read_schema(version_dir: str | Path) -> Schema | None:
    """The schema a version was trained with; None for a version published before schemas existed."""
    path = Path(version_dir) / SCHEMA_FILE
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return None
    try:
        return Schema.from_json(json.loads(text))
    except (json.JSONDecodeError, SchemaError) as exc:
        raise SchemaError(f"{path}: {exc}") from exc


def schema_summary(schema: Schema) -> dict[str, Any]:
    """The stage summary's part (a few hundred bytes): features by kind, rows, classes, missing cells."""
    kinds = Counter(f.kind for f in schema.features)
    out: dict[str, Any] = {
        "features": len(schema.features), "kinds": {k: kinds[k] for k in FEATURE_KINDS if kinds[k]},
        "rows": schema.rows, "droppedUnlabelled": schema.dropped_unlabelled,
        "featuresWithMissing": sum(1 for f in schema.features if f.missing),
    }
    if schema.label.classes is not None:
        names = schema.label.classes.names
        out["classes"] = [n[:SUMMARY_NAME_CHARS] for n in names[:SUMMARY_CLASSES]]
        out["numClasses"] = len(names)
        if schema.label.classes.positive is not None:
            out["positiveClass"] = names[schema.label.classes.positive][:SUMMARY_NAME_CHARS]
    return out
