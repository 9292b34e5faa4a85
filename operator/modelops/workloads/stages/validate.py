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
from modelops.workloads.config.stage import WorkloadConfig
from modelops.workloads.data.dataset_table import dataset_table
from modelops.workloads.data.row_identity import row_hashes
from modelops.workloads.data.table import Table
from modelops.workloads.data.tables import Dataset, load_dataset
from modelops.workloads.errors import FEATURE_MISMATCH, WorkloadError
from modelops.workloads.model.published import VersionInfo, load_version
from modelops.workloads.quality.paired_significance import challenger_p_value

VALIDATION_FILE = "validation.json"
VALIDATIONS_DIR = "validations"


def model_outputs(info: VersionInfo, table: Table) -> np.ndarray:
    """Run the version's SavedModel in-process on `table`'s features (by name, whatever their order)."""
    from modelops.workloads.model.export import load_predictor

    if set(info.feature_names) != set(table.feature_names):
        raise WorkloadError(FEATURE_MISMATCH, f"version {info.version} was trained on features "
                                              f"{list(info.feature_names)}, {table.source} has "
                                              f"{list(table.feature_names)}: the versions cannot be compared "
                                              "on the same data")
    return load_predictor(info.path, info.task)(table.features())


def version_labels(info: VersionInfo, table: Table) -> np.ndarray:
    """The table's labels against the version's classes (`metrics.scored_labels`); an unseen label is named."""
    from modelops.workloads.quality.metrics import scored_labels

    try:
        return scored_labels(info.task, table.labels, info.classes)
    except WorkloadError as exc:
        raise WorkloadError(exc.reason, f"dataset {table.source}: version {info.version}: {exc.message}") from exc


def model_metrics(info: VersionInfo, table: Table) -> dict[str, float]:
    """Run the version's SavedModel in-process on `table` and measure it."""
    from modelops.workloads.quality.metrics import compute_metrics

    return compute_metrics(info.task, version_labels(info, table), model_outputs(info, table))


def _challenge(cfg: WorkloadConfig, candidate: VersionInfo, baseline: VersionInfo | None) -> dict[str, Any] | None:
    """Both versions on the same monitoring rows, only those NEITHER was trained on: a row a version
    learned from would flatter it (the held-out part of a retrain's rows, or rows that arrived later)."""
    if cfg.challenge_dataset is None or baseline is None:
        return None
    data = load_dataset(cfg.challenge_dataset, cfg.task, num_classes=candidate.num_classes,
                        expected_features=candidate.feature_names)
    hashes = row_hashes(data.x, data.y)
    mine, theirs = candidate.row_sets(), baseline.row_sets()
    keep = mine.unseen(hashes) & theirs.unseen(hashes)
    unseen = Dataset(data.x[keep], data.y[keep], data.feature_names, data.source, data.sha256, data.dtype)
    out: dict[str, Any] = {"rows": unseen.rows, "totalRows": data.rows,
                           "excludedRows": {"candidate": int((~mine.unseen(hashes)).sum()),
                                            "baseline": int((~theirs.unseen(hashes)).sum())},
                           "candidate": {}, "baseline": {}, "data": data.fingerprint(cfg.challenge_dataset)}
    if unseen.rows:
        from modelops.workloads.quality.metrics import compute_metrics

        table = dataset_table(unseen)
        y = version_labels(candidate, table)
        mine_out, theirs_out = model_outputs(candidate, table), model_outputs(baseline, table)
        out.update(candidate=compute_metrics(cfg.task, y, mine_out),
                   baseline=compute_metrics(cfg.task, version_labels(baseline, table), theirs_out),
                   pValue=challenger_p_value(cfg.task, y, mine_out, theirs_out))
    return out


def run_validate(cfg: WorkloadConfig) -> dict[str, Any]:
    started, started_at = time.monotonic(), dt.datetime.now(dt.UTC)
    candidate = load_version(cfg, cfg.version)
    baseline = load_version(cfg, cfg.baseline_version) if cfg.baseline_version is not None else None
    data = load_dataset(cfg.dataset, cfg.task, num_classes=candidate.num_classes,
                        expected_features=candidate.feature_names)
    if cfg.dataset.max_rows is not None and data.rows > cfg.dataset.max_rows:  # a window: the newest rows
        keep = slice(data.rows - cfg.dataset.max_rows, None)
        data = Dataset(data.x[keep], data.y[keep], data.feature_names, data.source, data.sha256, data.dtype)
    table = dataset_table(data)
    metrics = model_metrics(candidate, table)
    baseline_metrics = model_metrics(baseline, table) if baseline is not None else None
    challenge = _challenge(cfg, candidate, baseline)
    summary: dict[str, Any] = {
        "stage": "validate", "version": cfg.version, "baselineVersion": cfg.baseline_version,
        "metrics": metrics, "baselineMetrics": baseline_metrics, "rows": data.rows,
        "lineage": data.fingerprint(cfg.dataset),
    }
    if challenge is not None:
        summary["challenge"] = challenge
    report = {**summary, "validatedAt": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
              "data": {"uri": data.source, "sha256": data.sha256, "rows": data.rows},
              "durationSeconds": round(time.monotonic() - started, 3)}
    # every run is kept (validations/<ts>.json); validation.json is the latest completed one
    write_json(timestamped_path(candidate.path / VALIDATIONS_DIR, started_at), report)
    write_json(candidate.path / VALIDATION_FILE, report)
    return summary
