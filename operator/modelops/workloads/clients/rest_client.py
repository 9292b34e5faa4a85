"""REST client for TF Serving's predict API, pinned to one version.

`POST {endpoint}/v1/models/{name}/versions/{v}:predict` with `{"instances": [{"<feature>": value, ...}, ...]}`
(one object per row naming every served input, TF Serving's row format for a multi-input signature,
util/json_tensor.cc FillTensorMapFromInstancesList): pinning the
version keeps a canary's traffic out of the stable version's evaluation. Batches go out a few at a time
(the server is usually on other cores); connection errors, timeouts and 502/503/504 are retried with
exponential backoff, anything else is reported with the server's own error text.
"""

from __future__ import annotations

import asyncio
import json
from typing import Any

import numpy as np

from modelops.workloads.clients.predict import (
    Features,
    PredictClient,
    checked_outputs,
    feature_batches,
    feature_rows,
)
from modelops.workloads.errors import ENDPOINT_UNREACHABLE, MODEL_NOT_FOUND, PREDICTION_FAILED, WorkloadError

RETRY_STATUSES = frozenset({502, 503, 504})


class _Retryable(Exception):
    pass


class ServingClient(PredictClient):
    def __init__(self, endpoint: str, model_name: str, **options: Any) -> None:
        super().__init__(model_name, **options)
        self.endpoint = endpoint.rstrip("/")

    def predict_url(self, version: int) -> str:
        return f"{self.endpoint}/v1/models/{self.model_name}/versions/{version}:predict"

    def describe(self, version: int) -> str:
        return self.predict_url(version)

    async def predict_async(self, features: Features, version: int, batch_size: int) -> np.ndarray:
        import aiohttp

        url = self.predict_url(version)
        batches = feature_batches(features, batch_size)
        gate = asyncio.Semaphore(self.concurrency)
        timeout = aiohttp.ClientTimeout(total=self.timeout_seconds)
        connector = aiohttp.TCPConnector(limit=self.concurrency)
        async with aiohttp.ClientSession(timeout=timeout, connector=connector) as session:

            async def one(batch: dict[str, np.ndarray]) -> np.ndarray:
                async with gate:
                    return await self._post_with_retries(session, url, batch)

            parts = await asyncio.gather(*(one(b) for b in batches))
        if not parts:
            return np.zeros((0, 1), dtype=np.float32)
        return np.concatenate(parts, axis=0)

    async def _post_with_retries(self, session: Any, url: str, batch: dict[str, np.ndarray]) -> np.ndarray:
        rows = feature_rows(batch)
        body = encode_instances(batch)
        last_error = ""
        for attempt in range(self.retries + 1):
            if attempt:
                await asyncio.sleep(self.backoff_seconds * 2 ** (attempt - 1))
            try:
                return await self._post(session, url, body, rows)
            except _Retryable as exc:
                last_error = str(exc)
        raise WorkloadError(ENDPOINT_UNREACHABLE, f"{url}: no answer after {self.retries + 1} attempt(s): "
                                                  f"{last_error}")

    async def _post(self, session: Any, url: str, body: str, rows: int) -> np.ndarray:
        import aiohttp

        try:
            async with session.post(url, data=body, headers={"Content-Type": "application/json"}) as response:
                text = await response.text()
                status = response.status
        except (aiohttp.ClientConnectionError, TimeoutError) as exc:
            raise _Retryable(f"{type(exc).__name__}: {exc}") from exc
        if status in RETRY_STATUSES:
            raise _Retryable(f"HTTP {status}: {_server_error(text)}")
        if status == 404:
            raise WorkloadError(MODEL_NOT_FOUND, f"{url}: HTTP 404: {_server_error(text)}")
        if status != 200:
            raise WorkloadError(PREDICTION_FAILED, f"{url}: HTTP {status}: {_server_error(text)}")
        return self._parse(url, text, rows)

    def _parse(self, url: str, text: str, rows: int) -> np.ndarray:
        try:
            predictions = json.loads(text)["predictions"]
            if predictions and isinstance(predictions[0], dict):
                key = self.output_key or next(iter(predictions[0]))
                predictions = [row[key] for row in predictions]
            out = np.asarray(predictions, dtype=np.float32)
        except (ValueError, KeyError, TypeError) as exc:
            raise WorkloadError(PREDICTION_FAILED, f"{url}: unexpected response ({exc}): {text[:200]!r}") from exc
        return checked_outputs(out, rows, url)


def encode_instances(features: Features) -> str:
    """`{"instances": [{"a": 0.125, "island": "Dream"}, ...]}`, one object per row.

    Numbers are float32 in their shortest exact decimal form (numpy formats float32 in C with the shortest
    digits that round-trip, `0.12573022`, where `json.dumps` of the float64 widening would print
    `0.1257302165031433`: half the bytes, and the server still gets the exact values). A missing numeric
    cell is `NaN`, which TF Serving's JSON reader accepts (util/json_tensor.cc parses with
    rapidjson::kParseNanAndInfFlag); a missing categorical cell is "".
    """
    columns = []
    for name, values in features.items():
        key = json.dumps(name) + ":"
        if values.dtype == np.object_ or values.dtype.kind in "SU":
            texts = [key + json.dumps("" if v is None else str(v), ensure_ascii=False) for v in values.tolist()]
        else:
            numbers = np.asarray(values, dtype=np.float32)
            if np.isinf(numbers).any():  # the data loader refuses these already
                raise ValueError(f"feature {name!r}: an infinite value cannot be sent")
            texts = [key + text for text in np.where(np.isnan(numbers), "NaN", numbers.astype(str)).tolist()]
        columns.append(texts)
    return '{"instances":[' + ",".join("{" + ",".join(row) + "}" for row in zip(*columns, strict=True)) + "]}"


def _server_error(text: str) -> str:
    """TF Serving answers errors as {"error": "..."}; fall back to the raw body."""
    try:
        data = json.loads(text)
        if isinstance(data, dict) and "error" in data:
            return str(data["error"])
    except ValueError:
        pass
    return text[:300]
