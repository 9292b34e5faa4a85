"""A stage's data against the schema of the version it works for: check, report, stop early or conform.

What a stage calls right after reading its table (validate: the candidate's version; evaluate: the serving
version), before any model sees the data:

    table, schema_check = check_against_version(cfg.version_dir(v), v, table, cfg.schema_rules)
    summary["schemaCheck"] = schema_check  # None for a version published before schemas

A Fail rule stops the stage here with reason SchemaViolation, naming the column, and the result still carries
the `schemaCheck` block. Otherwise the anomalies are reported and the table is conformed to the schema
(`schema_check.conform_table`), so the model gets the inputs it was built for and nothing is coerced unseen.
The lifecycle applies the same rules to the reported block (`lifecycle/schema_rules.py`).
A retrain's extra datasets (the monitoring data) are checked the same way against the features of the run's
primary training table (`features_schema`, `training_set.load_training_table`): the train result carries
the block, and the lifecycle records it on the new version.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from modelops.lifecycle.schema_rules import judge_schema
from modelops.workloads.config.schema_rules import SchemaRules
from modelops.workloads.data.schema import LabelSchema, Schema, SchemaError, infer_feature, read_schema
from modelops.workloads.data.schema_check import Anomaly, check_table, conform_table, findings
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
    block = judged_findings(version, anomalies, table.rows, table.source, rules)
    return conform_table(schema, table), block


def judged_findings(version: int, anomalies: Sequence[Anomaly], rows: int, source: str, rules: SchemaRules
                    ) -> dict[str, Any]:
    """The `schemaCheck` block of `anomalies`; a SchemaViolation naming the columns when a Fail rule applies."""
    block = findings(version, anomalies, rows)
    judgement = judge_schema(rules.to_spec(), {**block, "anomalies": [a.to_json() for a in anomalies]})
    assert judgement is not None
    if judgement.count("Fail"):
        raise WorkloadError(SCHEMA_VIOLATION, f"{source}: {judgement.message('Fail')}", {"schemaCheck": block})
    return block


def features_schema(table: Table, label_column: str) -> Schema:
    """The feature part of `table`'s schema (what `check_table` reads), for data checked against a training
    table before any version of it exists: a retrain's extra datasets against its primary."""
    features = tuple(infer_feature(name, table.kinds[name], table.columns[name]) for name in table.feature_names)
    label = LabelSchema(label_column, "numeric" if table.labels.dtype.kind == "f" else "categorical")
    return Schema(features, label, table.rows, table.source, table.sha256)
