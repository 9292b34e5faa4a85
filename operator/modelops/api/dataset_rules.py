"""Cross-field rules of the dataset column settings and the class settings (api/dataset_schema.py).

Declared like every rule of validation.py: CEL for the API server, the same predicate in Python.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from modelops.api.rules import Ref, Rule

DATASET_BLOCKS = ("training", "validation", "monitoring", "retraining")  # spec.<block>.dataset

_ONE_ROLE_CEL = (
    "(!has(self.idColumn) || self.idColumn != self.labelColumn)"
    " && (!has(self.weightColumn) || (self.weightColumn != self.labelColumn"
    " && (!has(self.idColumn) || self.weightColumn != self.idColumn)))"
    " && (!has(self.ignoreColumns) || (!(self.labelColumn in self.ignoreColumns)"
    " && (!has(self.idColumn) || !(self.idColumn in self.ignoreColumns))"
    " && (!has(self.weightColumn) || !(self.weightColumn in self.ignoreColumns))))"
    " && (!has(self.columnTypes) || (!(self.labelColumn in self.columnTypes)"
    " && (!has(self.idColumn) || !(self.idColumn in self.columnTypes))"
    " && (!has(self.weightColumn) || !(self.weightColumn in self.columnTypes))"
    " && (!has(self.ignoreColumns) || self.ignoreColumns.all(c, !(c in self.columnTypes)))))"
)


def _one_role(dataset: Mapping[str, Any]) -> bool:
    roles = [c for c in (dataset.get("labelColumn", "label"), dataset.get("idColumn"), dataset.get("weightColumn"))
             if c is not None]
    ignored, typed = set(dataset.get("ignoreColumns") or ()), set(dataset.get("columnTypes") or {})
    return len(set(roles)) == len(roles) and not (set(roles) & (ignored | typed)) and not (ignored & typed)


def _one_role_rule(block: str) -> Rule:
    """A column is the label, the id, the weight, ignored, or a feature: one of them, or reading is ambiguous."""
    return Rule(f"{block}-dataset-column-roles", at=f"spec.{block}.dataset", cel=_ONE_ROLE_CEL, check=_one_role,
                message=("a column has one role: labelColumn, idColumn and weightColumn differ, none of them is in "
                         "ignoreColumns or columnTypes, and an ignored column has no type",))


def _classes(spec: Mapping[str, Any]) -> list[str]:
    return list(spec["training"].get("classes") or [])


DATASET_RULES: tuple[Rule, ...] = (
    *(_one_role_rule(block) for block in DATASET_BLOCKS),
    # Classes are a classifier's outputs: a regression has none, a binary classifier exactly two.
    Rule("classes-fit-task", at="spec", field=".training.classes",
         cel="!has(self.training.classes) || self.task == 'multiclass-classification' "
             "|| (self.task == 'binary-classification' && size(self.training.classes) == 2)",
         check=lambda spec: spec["training"].get("classes") is None or spec["task"] == "multiclass-classification"
         or (spec["task"] == "binary-classification" and len(_classes(spec)) == 2),
         message=("task ", Ref("self.task", lambda spec: spec["task"]), " cannot have ",
                  Ref("size(self.training.classes)", lambda spec: len(_classes(spec))),
                  " classes (binary-classification has exactly 2, regression none)")),
    # Only a binary task has one class that precision and recall are about.
    Rule("positive-class-binary-only", at="spec", field=".training.positiveClass",
         cel="!has(self.training.positiveClass) || self.task == 'binary-classification'",
         check=lambda spec: spec["training"].get("positiveClass") is None or spec["task"] == "binary-classification",
         message=("only allowed for task binary-classification",)),
    # A positive class outside the listed classes could never be predicted.
    Rule("positive-class-listed", at="spec.training", field=".positiveClass",
         cel="!has(self.positiveClass) || !has(self.classes) || self.positiveClass in self.classes",
         check=lambda training: training.get("positiveClass") is None or training.get("classes") is None
         or training["positiveClass"] in training["classes"],
         message=("'", Ref("self.positiveClass", lambda training: training["positiveClass"]),
                  "' is not one of classes")),
    # A class listed twice would take two outputs with one meaning.
    Rule("classes-listed-once", at="spec.training", field=".classes",
         cel="!has(self.classes) || self.classes.all(x, self.classes.exists_one(y, y == x))",
         check=lambda training: len(set(training.get("classes") or [])) == len(training.get("classes") or []),
         message=("lists a class twice",)),
)
