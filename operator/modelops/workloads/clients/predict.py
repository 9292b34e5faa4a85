"""What the evaluate stage's REST and gRPC clients share: options, the sync entry point, the answer check."""

from __future__ import annotations

import asyncio
from collections.abc import Mapping

import numpy as np

from modelops.workloads.errors import PREDICTION_FAILED, WorkloadError

# Without request.batchSize the evaluate stage sends ~256 KiB of float32 features per request: every
# call pays a fixed cost on both sides (~0.3-1 ms of gRPC/HTTP and Python), which 64-row requests made
# the bulk of the time (bench/evaluate.py: 0.30-0.40 of in-process at 64 rows); a batch this size
# amortises it, yet stays far below any message limit (TF Serving's gRPC: 2 GiB) and keeps the model's
# run per request at milliseconds.
REQUEST_FEATURE_VALUES = 64 * 1024
MIN_REQUEST_ROWS, MAX_REQUEST_ROWS = 64, 8192


def request_rows(features: int) -> int:
    """Rows per request for a feature matrix `features` wide, when the config does not say."""
    return max(MIN_REQUEST_ROWS, min(MAX_REQUEST_ROWS, REQUEST_FEATURE_VALUES // max(features, 1)))


# A request's features: one array per served input, by the column's name (Table.features(): float32 with
# NaN for missing, object str with "" for missing), all of the same length.
Features = Mapping[str, np.ndarray]


def feature_rows(features: Features) -> int:
    return len(next(iter(features.values()))) if features else 0


def feature_batches(features: Features, batch_size: int) -> list[dict[str, np.ndarray]]:
    rows = feature_rows(features)
    return [{name: values[start:start + batch_size] for name, values in features.items()}
            for start in range(0, rows, batch_size)]


class PredictClient:
    """Predictions of one pinned version for a feature matrix, sent in batches of which at most
    `concurrency` are in flight; retryable failures back off exponentially from `backoff_seconds`."""

    def __init__(self, model_name: str, *, timeout_seconds: float = 10.0, retries: int = 3,
                 backoff_seconds: float = 0.2, concurrency: int = 4, output_key: str | None = None) -> None:
        self.model_name = model_name
        self.timeout_seconds = timeout_seconds
        self.retries = retries
        self.backoff_seconds = backoff_seconds
        self.concurrency = max(1, concurrency)
        self.output_key = output_key

    def describe(self, version: int) -> str:
        raise NotImplementedError

    def predict(self, features: Features, version: int, batch_size: int | None = None) -> np.ndarray:
        """Outputs for every row of `features` (one array per served input), in order, as float32 [n, k];
        `batch_size` rows per request (None: `request_rows` for the number of features)."""
        rows = batch_size or request_rows(len(features))
        return asyncio.run(self.predict_async(features, version, rows))

    async def predict_async(self, features: Features, version: int, batch_size: int) -> np.ndarray:
        raise NotImplementedError


def checked_outputs(out: np.ndarray, rows: int, where: str) -> np.ndarray:
    """One prediction per row, as a matrix [rows, k]; anything else is the server's fault, said so."""
    if out.ndim == 1:
        out = out.reshape(-1, 1)
    if out.ndim != 2 or out.shape[0] != rows:
        raise WorkloadError(PREDICTION_FAILED, f"{where}: expected {rows} predictions, got shape {list(out.shape)}")
    return out
