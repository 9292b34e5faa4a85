"""The column settings of a dataset block and the class settings of training, read strictly.

Kept beside stage.py (at its size limit) because they are one concern: how a table's columns and labels
are to be read when inference is not enough (workloads/data/table_reader.py, workloads/data/labels.py).
"""

from __future__ import annotations

from typing import Any

from modelops.api.vocabulary import COLUMN_TYPES
from modelops.workloads.config.reader import Reader, invalid, kind

CLASSIFICATION_TASKS = ("binary-classification", "multiclass-classification")


def _names(raw: Any, where: str, *, allow_empty_strings: bool = False) -> tuple[str, ...] | None:
    """A list of distinct strings (column names, missing-value tokens, class names)."""
    if raw is None:
        return None
    if not isinstance(raw, list) or not all(isinstance(v, str) and (v or allow_empty_strings) for v in raw):
        what = "strings" if allow_empty_strings else "non-empty strings"
        raise invalid(where, f"expected a list of {what}, got {raw!r}")
    repeated = sorted({v for v in raw if raw.count(v) > 1})
    if repeated:
        raise invalid(where, f"{repeated[0]!r} is listed more than once")
    return tuple(raw)


def parse_column_settings(reader: Reader) -> dict[str, Any]:
    """The DatasetSpec keyword arguments for missingValues, columnTypes, ignoreColumns, idColumn, weightColumn."""
    types_raw = reader.raw("columnTypes")
    types: dict[str, str] = {}
    if types_raw is not None:
        if not isinstance(types_raw, dict):
            raise invalid(f"{reader.path}.columnTypes", f"expected a mapping of column to type, got {kind(types_raw)}")
        for column, stated in types_raw.items():
            if stated not in COLUMN_TYPES:
                raise invalid(f"{reader.path}.columnTypes.{column}",
                              f"expected one of {', '.join(COLUMN_TYPES)}, got {stated!r}")
            types[str(column)] = stated
    settings = {
        "missing_values": _names(reader.raw("missingValues"), f"{reader.path}.missingValues",
                                 allow_empty_strings=True),
        "column_types": types,
        "ignore_columns": _names(reader.raw("ignoreColumns"), f"{reader.path}.ignoreColumns") or (),
        "id_column": reader.string("idColumn"),
        "weight_column": reader.string("weightColumn"),
    }
    _refuse_overlaps(reader.path, reader.data.get("labelColumn") or "label", settings)
    return settings


def _refuse_overlaps(path: str, label: str, settings: dict[str, Any]) -> None:
    """One column has one role: the label, the id, the weight, ignored, or a feature (with a stated type)."""
    roles = [("labelColumn", label), ("idColumn", settings["id_column"]), ("weightColumn", settings["weight_column"])]
    named = [(key, column) for key, column in roles if column is not None]
    for i, (key, column) in enumerate(named):
        for other_key, other in named[:i]:
            if column == other:
                raise invalid(f"{path}.{key}", f"{column!r} is already the {other_key}")
    for key, column in named:
        if column in settings["ignore_columns"]:
            raise invalid(f"{path}.ignoreColumns", f"{column!r} is the {key}; it cannot also be ignored")
        if column in settings["column_types"]:
            raise invalid(f"{path}.columnTypes.{column}", f"{column!r} is the {key}, not a feature")
    for column in settings["column_types"]:
        if column in settings["ignore_columns"]:
            raise invalid(f"{path}.columnTypes.{column}", f"{column!r} is ignored (ignoreColumns); it has no type")


def parse_classes(root: Reader, task: str) -> tuple[tuple[str, ...] | None, str | None]:
    """`classes` (the class order) and `positiveClass` (binary): only for the tasks they mean something in."""
    classes = _names(root.raw("classes"), "config.classes")
    positive = root.string("positiveClass")
    if classes is not None and task not in CLASSIFICATION_TASKS:
        raise invalid("config.classes", f"only meaningful for classification, not {task}")
    if positive is not None and task != "binary-classification":
        raise invalid("config.positiveClass", f"only meaningful for binary-classification, not {task}")
    if classes is not None:
        if task == "binary-classification" and len(classes) != 2:
            raise invalid("config.classes", f"binary-classification needs exactly 2 classes, got {len(classes)}")
        if len(classes) < 2:
            raise invalid("config.classes", f"a classifier needs at least 2 classes, got {len(classes)}")
        if positive is not None and positive not in classes:
            raise invalid("config.positiveClass", f"{positive!r} is not one of config.classes {list(classes)}")
    return classes, positive
