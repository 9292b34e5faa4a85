"""A stage's data against the schema of the version it works for: check, report, stop early or conform.

What a stage calls right after reading its table (validate: the candidate's version; evaluate: the serving
version; a retrain: the serving version), before any model sees the data:

    table, schema_check = check_against_version(cfg.version_dir(v), v, table, cfg.schema_rules)
    summary["schemaCheck"] = schema_check  # None for a version published before schemas

A Fail rule stops the stage here with reason SchemaViolation, naming the column, and the result still carries
the `schemaCheck` block. Otherwise the anomalies are reported and the table is conformed to the schema
(`schema_check.conform_table`), so the model gets the inputs it was built for and nothing is coerced unseen.
The lifecycle applies the same rules to the reported block (`lifecycle/schema_rules.py`).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from modelops.lifecycle.schema_rules import judge_schema
from modelops.workloads.config.schema_rules import SchemaRules
from modelops.workloads.data.labels import ClassNames
from modelops.workloads.data.schema import Schema, SchemaError, infer_schema, read_schema
from modelops.workloads.data.schema_check import check_table, conform_table, findings
from modelops.workloads.data.table import Table
from modelops.workloads.errors import MODEL_NOT_FOUND, SCHEMA_VIOLATION, WorkloadError


def check_against_version(version_dir: str | Path, version: int, table: Table, rules: SchemaRules
                          ) -> tuple[Table, dict[str, Any] | None]:
    """(the table as the version expects it, the result's `schemaCheck` block or None without a schema)."""
    try:
        schema = read_schema(version_dir)
    except SchemaError as exc:
        raise WorkloadError(MODEL_NOT_FOUND, f"version {version}: unreadable schema: {exc}") from exc
    if schema is None:
        return table, None
    anomalies = check_table(schema, table, rules.missing_values_margin)
    block = findings(version, anomalies, table.rows)
    judgement = judge_schema(rules.to_spec(), {**block, "anomalies": [a.to_json() for a in anomalies]})
    assert judgement is not None
    if judgement.count("Fail"):
        raise WorkloadError(SCHEMA_VIOLATION, f"{table.source}: {judgement.message('Fail')}",
                            {"schemaCheck": block})
    return conform_table(schema, table), block


def matrix_table(x: np.ndarray, y: np.ndarray, feature_names: tuple[str, ...], source: str, sha256: str) -> Table:
    """A numeric feature matrix as a Table (every column numeric): the stages' data until they read Tables."""
    columns = {name: np.asarray(x[:, i], dtype=np.float64) for i, name in enumerate(feature_names)}
    return Table(columns, dict.fromkeys(feature_names, "numeric"), np.asarray(y), source, sha256)


def training_schema(task: str, label_column: str, table: Table, num_classes: int | None) -> Schema:
    """The schema of what a version trained on; integer-coded classes 0..K-1 until labels are read as names."""
    if task == "regression":
        return infer_schema(table, task, label_column)
    names = tuple(str(i) for i in range(num_classes or 2))
    classes = ClassNames(names, 1) if task == "binary-classification" else ClassNames(names)
    return infer_schema(table, task, label_column, classes)
