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
from modelops.workloads.data.row_identity import row_hashes
from modelops.workloads.data.tables import Dataset, load_dataset
from modelops.workloads.errors import FEATURE_MISMATCH, LABEL_OUT_OF_RANGE, WorkloadError
from modelops.workloads.model.published import VersionInfo, load_version
from modelops.workloads.quality.paired_significance import challenger_p_value

VALIDATION_FILE = "validation.json"
VALIDATIONS_DIR = "validations"


def model_outputs(info: VersionInfo, data: Dataset) -> np.ndarray:
    """Run the version's SavedModel in-process on `data`."""
    from modelops.workloads.model.keras_model import load_predictor

    x = _columns_for(info, data)
    if info.num_classes is not None and data.y.size and int(data.y.max()) >= info.num_classes:
        raise WorkloadError(LABEL_OUT_OF_RANGE, f"dataset {data.source}: labels reach {int(data.y.max())} but "
                                                f"version {info.version} has {info.num_classes} classes")
    return load_predictor(info.path, info.task)(x)


def model_metrics(info: VersionInfo, data: Dataset) -> dict[str, float]:
    """Run the version's SavedModel in-process on `data` and measure it."""
    from modelops.workloads.quality.metrics import compute_metrics

    return compute_metrics(info.task, data.y, model_outputs(info, data))


def _columns_for(info: VersionInfo, data: Dataset) -> np.ndarray:
    """The data's columns in the order this version expects (the baseline may order them differently)."""
    if info.feature_names == data.feature_names:
        return data.x
    if set(info.feature_names) != set(data.feature_names):
        raise WorkloadError(FEATURE_MISMATCH, f"version {info.version} was trained on features "
                                              f"{list(info.feature_names)}, the validation data has "
                                              f"{list(data.feature_names)}: the versions cannot be compared "
                                              "on the same data")
    return data.x[:, [data.feature_names.index(n) for n in info.feature_names]]


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

        mine_out, theirs_out = model_outputs(candidate, unseen), model_outputs(baseline, unseen)
        out.update(candidate=compute_metrics(cfg.task, unseen.y, mine_out),
                   baseline=compute_metrics(cfg.task, unseen.y, theirs_out),
                   pValue=challenger_p_value(cfg.task, unseen.y, mine_out, theirs_out))
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
    metrics = model_metrics(candidate, data)
    baseline_metrics = model_metrics(baseline, data) if baseline is not None else None
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
