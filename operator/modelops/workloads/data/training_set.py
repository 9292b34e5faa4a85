"""What one training run learns from: the primary dataset plus any extra (a degradation retrain adds
the labelled monitoring data that revealed the problem), with row caps and sample weights.

Extra datasets are read as the primary's columns and checked against the primary's features
(`schema_gate.features_schema`): a missing or extra column, a type change (a cell that does not fit the
primary's kind), an unseen category or a surge of missing cells is an anomaly decided by spec.schemaRules —
a Fail rule stops the run with SchemaViolation, the others are reported in the train result's `schemaCheck`
and the rows conformed to the primary's columns (`schema_check.conform_table`). A `maxRows` cap keeps the
LAST rows of a file, which for appended live data are the most recent ones.
A monitoring dataset with a `holdout` share is split (seeded, stratified by label for classification)
into rows the version learns from and rows nobody trains on; those held-out rows are the new version's
drift reference, and `rows.npz` (`row_identity.py`) records which rows it learned from, so no later
judgement scores them.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from modelops.workloads.config.stage import DatasetSpec, WorkloadConfig
from modelops.workloads.data.labels import label_text
from modelops.workloads.data.row_identity import holdout_split, table_row_hashes
from modelops.workloads.data.schema import Schema
from modelops.workloads.data.schema_check import Anomaly, check_table, conform_table
from modelops.workloads.data.schema_gate import features_schema, judged_findings
from modelops.workloads.data.table import Table
from modelops.workloads.data.table_ops import concat_tables, last_rows
from modelops.workloads.data.table_reader import load_table
from modelops.workloads.data.table_report import table_fingerprint
from modelops.workloads.errors import COLUMN_TYPE_MISMATCH, WorkloadError


@dataclass(frozen=True)
class TrainingTable:
    """What one run learns from, as Tables: `table` holds every learned row (weights: the dataset's `weight`
    times its weight column; None when every row weighs 1), `held` the held-out monitoring rows."""

    primary: Table
    table: Table
    lineage: list[dict[str, Any]]
    reference: Table  # the drift reference (see load_training_table)
    trained_hashes: np.ndarray
    reference_hashes: np.ndarray
    roles: np.ndarray  # per learned row: True when it came from a monitoring dataset
    held: Table
    schema_check: dict[str, Any] | None = None  # the extra datasets against the primary's features

    @property
    def rows(self) -> int:
        return self.table.rows

    @property
    def feature_names(self) -> tuple[str, ...]:
        return self.primary.feature_names

    @property
    def dropped_unlabelled(self) -> int:
        """Rows left out of every dataset read because their label was empty (for the stage report)."""
        return sum(int(entry.get("droppedUnlabelled", 0)) for entry in self.lineage)


def _split_table(spec: DatasetSpec, table: Table, cfg: WorkloadConfig) -> tuple[Table, Table, dict[str, Any]]:
    """(rows to learn from, rows held out, lineage fields) of one dataset; all rows learned without a holdout."""
    if spec.holdout is None:
        return table, table.take(np.arange(0)), {}
    stratify = cfg.task != "regression"
    labels = np.array([label_text(v) for v in table.labels]) if stratify else table.labels
    learn, held = holdout_split(labels, spec.holdout, cfg.hyperparameters.seed, stratify)
    fields = {"heldOutRows": int(held.size), "holdoutSeed": cfg.hyperparameters.seed, "stratified": stratify}
    return table.take(learn), table.take(held), fields


def _weighted(table: Table, spec: DatasetSpec) -> np.ndarray:
    own = np.ones(table.rows) if table.weights is None else table.weights
    return own * spec.weight


def load_training_table(cfg: WorkloadConfig) -> TrainingTable:
    primary = load_table(cfg.dataset, cfg.task)
    tables, schema_check = [(cfg.dataset, primary)], None
    if cfg.extra_datasets:
        schema = features_schema(primary, cfg.dataset.label_column)
        anomalies: list[Anomaly] = []
        for extra in cfg.extra_datasets:
            table, found = _checked_extra(extra, primary, schema, cfg)
            tables.append((extra, table))
            anomalies.extend(found)
        rows = sum(t.rows for _, t in tables[1:])
        sources = ", ".join(t.source for _, t in tables[1:])
        schema_check = judged_findings(cfg.version, anomalies, rows, sources, cfg.schema_rules)
    learned, held, weights, lineage, roles = [], [], [], [], []
    for spec, table in tables:
        capped = last_rows(table, spec.max_rows)
        learn, hold, fields = _split_table(spec, capped, cfg)
        learned.append(learn)
        held.append(hold)
        weights.append(_weighted(learn, spec))
        lineage.append({**table_fingerprint(table, spec, rows_used=learn.rows), **fields})
        roles.append(np.full(learn.rows, spec.role == "monitoring"))
    all_weights = np.concatenate(weights)
    uniform = bool(np.all(all_weights == 1.0))  # then None: Keras takes its fast path
    table = concat_tables(learned, [None if uniform else w for w in weights])
    trained = table_row_hashes(table)
    held_table = concat_tables(held)
    role_mask = np.concatenate(roles)
    # Drift is judged against the world the version was trained FOR, from rows it never saw: the held-out
    # monitoring rows (a mixture with older training rows would read as drift forever, and rows it learned
    # from would read as no drift). Without a holdout, the monitoring rows it learned from (older specs);
    # without monitoring rows, everything learned.
    if held_table.rows:
        reference, reference_hashes = held_table, table_row_hashes(held_table)
    elif role_mask.any():
        reference, reference_hashes = table.take(np.flatnonzero(role_mask)), trained
    else:
        reference, reference_hashes = table, trained
    return TrainingTable(primary, table, lineage, reference, trained, reference_hashes, role_mask, held_table,
                         schema_check)


def _checked_extra(spec: DatasetSpec, primary: Table, schema: Schema, cfg: WorkloadConfig
                   ) -> tuple[Table, list[Anomaly]]:
    """An extra dataset as the primary's columns, and its anomalies against them. It is read with the
    primary's kinds; when a cell does not fit them it is read as the file says, so the type change is an
    anomaly the rules decide (a mismatch with the dataset's own columnTypes still fails the read)."""
    try:
        table = load_table(spec, cfg.task, kinds=primary.kinds)
    except WorkloadError as exc:
        if exc.reason != COLUMN_TYPE_MISMATCH:
            raise
        table = load_table(spec, cfg.task)
    anomalies = check_table(schema, table, cfg.schema_rules.missing_values_margin)
    return conform_table(schema, table), anomalies
