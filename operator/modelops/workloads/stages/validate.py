"""The validate stage: metrics of the candidate and of the serving baseline, on the SAME data.

Workers measure, the lifecycle core decides: gates (and the champion/challenger comparison of a
degradation retrain, scored on the monitoring rows neither version was trained on) are applied by the core
to what this stage reports, so a worker can never bless a candidate. Every run is recorded in
`validations/<UTC timestamp>.json`, the latest completed one also as `validation.json`.
"""

from __future__ import annotations

import datetime as dt
import time
from typing import Any

import numpy as np

from modelops.contract.result import timestamped_path, write_json
from modelops.workloads.config.stage import DatasetSpec, WorkloadConfig
from modelops.workloads.data.row_identity import table_row_hashes
from modelops.workloads.data.schema_gate import check_against_version
from modelops.workloads.data.table import Table
from modelops.workloads.data.table_ops import last_rows
from modelops.workloads.data.table_reader import load_table
from modelops.workloads.data.table_report import table_fingerprint
from modelops.workloads.errors import FEATURE_MISMATCH, WorkloadError
from modelops.workloads.model.published import VersionInfo, load_version
from modelops.workloads.quality.paired_significance import challenger_p_value

VALIDATION_FILE = "validation.json"
VALIDATIONS_DIR = "validations"


def version_table(cfg: WorkloadConfig, spec: DatasetSpec, info: VersionInfo) -> tuple[Table, dict[str, Any] | None]:
    """`spec`'s rows as `info`'s model reads them, once checked against the version's schema (anomalies
    decided by spec.schemaRules: a Fail rule fails the stage, naming column and rows), and the check's report."""
    table = last_rows(load_table(spec, cfg.task), spec.max_rows)  # a window: the newest rows
    return check_against_version(info.path, info.version, table, cfg.schema_rules)


def model_outputs(info: VersionInfo, table: Table) -> np.ndarray:
    """Run the version's SavedModel in-process on `table`'s features (by name, whatever their order)."""
    from modelops.workloads.model.export import load_predictor

    if set(info.feature_names) != set(table.feature_names):
        raise WorkloadError(FEATURE_MISMATCH, f"version {info.version} was trained on features "
                                              f"{list(info.feature_names)}, {table.source} has "
                                              f"{list(table.feature_names)}: the versions cannot be compared "
                                              "on the same data")
    return load_predictor(info.path, info.task)(table.features())


def version_labels(info: VersionInfo, table: Table, column: str) -> np.ndarray:
    """The table's labels (its dataset's `labelColumn`) against the version's classes (`metrics.scored_labels`);
    an unseen label is named with its column."""
    from modelops.workloads.quality.metrics import scored_labels

    return scored_labels(info.task, table.labels, info.classes,
                         source=f"dataset {table.source}: version {info.version}", column=column)


def model_metrics(info: VersionInfo, table: Table, label_column: str) -> dict[str, float]:
    """Run the version's SavedModel in-process on `table` and measure it."""
    from modelops.workloads.quality.metrics import compute_metrics

    return compute_metrics(info.task, version_labels(info, table, label_column), model_outputs(info, table))


def baseline_view(cfg: WorkloadConfig, baseline: VersionInfo, table: Table) -> Table:
    """The candidate's rows as the baseline's model reads them (its own schema; its anomalies are not the
    candidate's to report, and only a Fail rule could stop the comparison)."""
    return check_against_version(baseline.path, baseline.version, table, cfg.schema_rules)[0]


def _challenge(cfg: WorkloadConfig, candidate: VersionInfo, baseline: VersionInfo | None) -> dict[str, Any] | None:
    """Both versions on the same monitoring rows, only those NEITHER was trained on: a row a version
    learned from would flatter it (the held-out part of a retrain's rows, or rows that arrived later)."""
    if cfg.challenge_dataset is None or baseline is None:
        return None
    table, _ = version_table(cfg, cfg.challenge_dataset, candidate)
    hashes = table_row_hashes(table)
    mine, theirs = candidate.row_sets(), baseline.row_sets()
    keep = np.flatnonzero(mine.unseen(hashes) & theirs.unseen(hashes))
    out: dict[str, Any] = {"rows": int(keep.size), "totalRows": table.rows,
                           "excludedRows": {"candidate": int((~mine.unseen(hashes)).sum()),
                                            "baseline": int((~theirs.unseen(hashes)).sum())},
                           "candidate": {}, "baseline": {}, "data": table_fingerprint(table, cfg.challenge_dataset)}
    if keep.size:
        from modelops.workloads.quality.metrics import compute_metrics

        unseen = table.take(keep)
        theirs_table = baseline_view(cfg, baseline, unseen)
        column = cfg.challenge_dataset.label_column
        y = version_labels(candidate, unseen, column)
        mine_out, theirs_out = model_outputs(candidate, unseen), model_outputs(baseline, theirs_table)
        out.update(candidate=compute_metrics(cfg.task, y, mine_out),
                   baseline=compute_metrics(cfg.task, version_labels(baseline, theirs_table, column),
                                                   theirs_out),
                   pValue=challenger_p_value(cfg.task, y, mine_out, theirs_out))
    return out


def run_validate(cfg: WorkloadConfig) -> dict[str, Any]:
    started, started_at = time.monotonic(), dt.datetime.now(dt.UTC)
    candidate = load_version(cfg, cfg.version)
    baseline = load_version(cfg, cfg.baseline_version) if cfg.baseline_version is not None else None
    table, schema_check = version_table(cfg, cfg.dataset, candidate)
    column = cfg.dataset.label_column
    metrics = model_metrics(candidate, table, column)
    baseline_metrics = (model_metrics(baseline, baseline_view(cfg, baseline, table), column)
                        if baseline is not None else None)
    challenge = _challenge(cfg, candidate, baseline)
    summary: dict[str, Any] = {
        "stage": "validate", "version": cfg.version, "baselineVersion": cfg.baseline_version,
        "metrics": metrics, "baselineMetrics": baseline_metrics, "rows": table.rows,
        "lineage": table_fingerprint(table, cfg.dataset),
    }
    if table.dropped_unlabelled:  # rows whose label was empty: left out, never guessed
        summary["droppedUnlabelled"] = table.dropped_unlabelled
    if schema_check is not None:
        summary["schemaCheck"] = schema_check
    if challenge is not None:
        summary["challenge"] = challenge
    report = {**summary, "validatedAt": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
              "data": {"uri": table.source, "sha256": table.sha256, "rows": table.rows},
              "durationSeconds": round(time.monotonic() - started, 3)}
    # every run is kept (validations/<ts>.json); validation.json is the latest completed one
    write_json(timestamped_path(candidate.path / VALIDATIONS_DIR, started_at), report)
    write_json(candidate.path / VALIDATION_FILE, report)
    return summary
