"""What the evaluate stage's REST and gRPC clients share: options, the sync entry point, the answer check."""

from __future__ import annotations

import asyncio

import numpy as np

from modelops.workloads.errors import PREDICTION_FAILED, WorkloadError


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

    def predict(self, x: np.ndarray, version: int, batch_size: int = 64) -> np.ndarray:
        """Outputs for every row of `x` [n, f], in order, as float32 [n, k]."""
        return asyncio.run(self.predict_async(x, version, batch_size))

    async def predict_async(self, x: np.ndarray, version: int, batch_size: int = 64) -> np.ndarray:
        raise NotImplementedError


def checked_outputs(out: np.ndarray, rows: int, where: str) -> np.ndarray:
    """One prediction per row, as a matrix [rows, k]; anything else is the server's fault, said so."""
    if out.ndim == 1:
        out = out.reshape(-1, 1)
    if out.ndim != 2 or out.shape[0] != rows:
        raise WorkloadError(PREDICTION_FAILED, f"{where}: expected {rows} predictions, got shape {list(out.shape)}")
    return out
