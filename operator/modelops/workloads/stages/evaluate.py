"""The evaluate stage: production quality (through TF Serving) and drift of the monitoring data.

Predictions come from the serving endpoint, not an in-process copy, so the numbers describe what
clients actually get: the clients send each feature under its own name (REST `instances` objects, gRPC
one TensorProto per input) and the metrics are computed from the served outputs, the labels read against
the version's classes (binary: the positive class's precision, recall and AUC).
They travel as TensorProtos over TF Serving's gRPC API when the config names a
gRPC endpoint that answers (`request.transport: auto`, the default) or demands it (`grpc`); REST is
the fallback, or the choice (`rest`). Drift compares the monitoring features with the profile stored
beside the serving version at training time (one test per feature, by type: `drift/by_type.py`); the report keeps the
full per-feature table, the summary the p-values and the top features. Each run adds
`evaluations/<UTC timestamp>.json`; none is replaced. Rows the version was trained on are never
scored (`row_identity.py`): quality reads only rows it did not learn from, drift only rows outside its
training rows and its drift reference; the summary says how many rows each rule left out.
"""

from __future__ import annotations

import datetime as dt
import time
from typing import Any

import numpy as np

from modelops.contract.result import timestamped_path, write_json
from modelops.workloads.clients.grpc_client import GrpcServingClient
from modelops.workloads.clients.rest_client import ServingClient
from modelops.workloads.config.stage import DatasetSpec, WorkloadConfig
from modelops.workloads.data.row_identity import table_row_hashes
from modelops.workloads.data.table_reader import load_table
from modelops.workloads.data.table_report import table_fingerprint
from modelops.workloads.drift.by_type import compute_table_drift
from modelops.workloads.drift.measure import summarize_drift
from modelops.workloads.errors import INVALID_CONFIG, WorkloadError
from modelops.workloads.model.published import load_version
from modelops.workloads.quality.metrics import OUTPUT_KEY, compute_metrics
from modelops.workloads.stages.validate import version_labels, version_table

EVALUATIONS_DIR = "evaluations"
GRPC_PROBE_SECONDS = 5.0  # auto: how long a gRPC endpoint may take to accept a connection


def run_evaluate(cfg: WorkloadConfig) -> dict[str, Any]:
    started = time.monotonic()
    when = dt.datetime.now(dt.UTC)
    info = load_version(cfg, cfg.version)
    data, schema_check = version_table(cfg, cfg.dataset, info)  # anomalies named; a Fail rule stops here
    rows = info.row_sets()
    hashes = table_row_hashes(data)
    # Quality is judged on rows the version never learned from, drift on rows that are in neither its
    # training rows nor its drift reference: a sample compared with itself reads as "no drift".
    unseen, fresh = rows.unseen(hashes), rows.outside_reference(hashes)
    client, transport = choose_client(cfg)
    request_started = time.monotonic()
    scored_rows = data.take(np.flatnonzero(unseen))
    labels = version_labels(info, scored_rows, cfg.dataset.label_column)  # an unseen class is named before any request
    outputs = (client.predict(scored_rows.features(), cfg.version, batch_size=cfg.request.batch_size)
               if unseen.any() else None)
    request_seconds = time.monotonic() - request_started
    metrics = compute_metrics(cfg.task, labels, outputs) if outputs is not None else {}
    drift = compute_table_drift(info.profile(), data.take(np.flatnonzero(fresh)))
    scored = int(unseen.sum())
    lineage = {"data": {**table_fingerprint(data, cfg.dataset), "role": "monitoring"},
               "retrainInputs": [_fingerprint(spec, cfg) for spec in cfg.fingerprint_datasets]}
    excluded = {"trainedOn": data.rows - scored, "driftReference": int((unseen & ~fresh).sum())}
    report = {
        "stage": "evaluate", "version": cfg.version, "evaluatedAt": when.isoformat(timespec="seconds"),
        "metrics": metrics, "drift": drift, "rows": scored, "totalRows": data.rows, "excludedRows": excluded,
        "lineage": lineage, "endpoint": client.describe(cfg.version), "transport": transport,
        "data": {"uri": data.source, "sha256": data.sha256, "rows": data.rows,
                 "droppedUnlabelled": data.dropped_unlabelled},
        **({"schemaCheck": schema_check} if schema_check is not None else {}),
        "requestSeconds": round(request_seconds, 3),
        "rowsPerSecond": round(scored / request_seconds, 1) if request_seconds > 0 and scored else None,
        "durationSeconds": round(time.monotonic() - started, 3),
    }
    path = timestamped_path(info.path / EVALUATIONS_DIR, when)
    write_json(path, report)
    # The summary carries every p-value the lifecycle's correction needs, names only for the top features.
    summary = summarize_drift(drift, floor=cfg.drift_floor)
    return {"stage": "evaluate", "version": cfg.version, "metrics": metrics, "drift": summary,
            "rows": scored, "totalRows": data.rows, "excludedRows": excluded, "lineage": lineage,
            "transport": transport, "report": str(path),
            **({"schemaCheck": schema_check} if schema_check is not None else {})}


def choose_client(cfg: WorkloadConfig) -> tuple[GrpcServingClient | ServingClient, str]:
    """gRPC when configured and (for `auto`) reachable; otherwise REST."""
    options = {"timeout_seconds": cfg.request.timeout_seconds, "retries": cfg.request.retries,
               "output_key": OUTPUT_KEY[cfg.task]}
    if cfg.grpc_endpoint is not None and cfg.request.transport != "rest":
        grpc_client = GrpcServingClient(cfg.grpc_endpoint, cfg.deployment.name, **options)
        if cfg.request.transport == "grpc" or cfg.endpoint is None:
            return grpc_client, "grpc"
        if grpc_client.reachable(min(GRPC_PROBE_SECONDS, cfg.request.timeout_seconds)):
            return grpc_client, "grpc"
    if cfg.endpoint is None:
        raise WorkloadError(INVALID_CONFIG, "config.endpoint: required for REST transport")
    return ServingClient(cfg.endpoint, cfg.deployment.name, **options), "rest"


def _fingerprint(spec: DatasetSpec, cfg: WorkloadConfig) -> dict[str, Any]:
    """What a retrain would read from `spec` now; unreadable data is reported, not fatal (the
    evaluation itself is still valid, the core then cannot rule a retrain pointless)."""
    try:
        return table_fingerprint(load_table(spec, cfg.task), spec)
    except WorkloadError as exc:
        return {"role": spec.role or "data", "uri": spec.uri, "error": exc.message[:300]}
