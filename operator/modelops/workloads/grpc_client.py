"""gRPC client for TF Serving's `PredictionService.Predict`, pinned to one version.

Binary TensorProtos instead of JSON (the server's own codec): a 64-row float batch is one memcpy to
encode, where REST spends most of the client's time formatting and parsing decimal text. Answers
are read in either encoding: the typed fields TF Serving fills (`float_val`, its default
`Tensor::AsProtoField`) or `tensor_content`. The input alias is read
from the version's own signature (GetModelMetadata), so any single-input model works. Batches stream
through a window of `concurrency` requests in flight, so memory holds only that many encoded batches
whatever the data size. UNAVAILABLE / RESOURCE_EXHAUSTED / DEADLINE_EXCEEDED are retried with
exponential backoff; NOT_FOUND and the rest are reported with the server's own message.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from typing import Any

import grpc
import numpy as np
from tensorflow_serving.apis import get_model_metadata_pb2, predict_pb2, prediction_service_pb2_grpc

from modelops.serving.grpc_codec import decode_tensors, encode_tensors
from modelops.workloads.errors import ENDPOINT_UNREACHABLE, MODEL_NOT_FOUND, PREDICTION_FAILED, WorkloadError
from modelops.workloads.predict_client import PredictClient, checked_outputs

RETRY_CODES = frozenset({grpc.StatusCode.UNAVAILABLE, grpc.StatusCode.RESOURCE_EXHAUSTED,
                         grpc.StatusCode.DEADLINE_EXCEEDED})
# TF Serving accepts up to 2 GiB; gRPC's client default of 4 MiB would cap large batches' answers
CHANNEL_OPTIONS = [("grpc.max_receive_message_length", 2**31 - 1), ("grpc.max_send_message_length", 2**31 - 1)]


class _Retryable(Exception):
    pass


class GrpcServingClient(PredictClient):
    def __init__(self, target: str, model_name: str, **options: Any) -> None:
        super().__init__(model_name, **options)
        self.target = target

    def describe(self, version: int) -> str:
        return f"grpc://{self.target}/{self.model_name}/versions/{version}"

    def reachable(self, timeout_seconds: float) -> bool:
        """Does the endpoint speak gRPC at all (channel connects within the timeout)?"""
        with grpc.insecure_channel(self.target) as channel:
            try:
                grpc.channel_ready_future(channel).result(timeout=timeout_seconds)
            except grpc.FutureTimeoutError:
                return False
        return True

    async def predict_async(self, x: np.ndarray, version: int, batch_size: int = 64) -> np.ndarray:
        async with grpc.aio.insecure_channel(self.target, options=CHANNEL_OPTIONS) as channel:
            stub = prediction_service_pb2_grpc.PredictionServiceStub(channel)
            input_key = await self._input_key(stub, version)
            parts: list[np.ndarray] = []
            window: set[asyncio.Task[tuple[int, np.ndarray]]] = set()
            try:
                for index, batch in enumerate(_batches(x, batch_size)):
                    if len(window) >= self.concurrency:  # bounded: at most `concurrency` batches in flight
                        done, window = await asyncio.wait(window, return_when=asyncio.FIRST_COMPLETED)
                        _collect(done, parts)
                    request = self._request(version, input_key, batch)
                    window.add(asyncio.ensure_future(self._predict(stub, request, index, len(batch))))
                if window:
                    done, window = await asyncio.wait(window)
                    _collect(done, parts)
            finally:  # one batch failed for good: stop the others before the channel closes
                for task in window:
                    task.cancel()
        if not parts:
            return np.zeros((0, 1), dtype=np.float32)
        return np.concatenate(parts, axis=0)

    def _request(self, version: int, input_key: str, batch: np.ndarray) -> predict_pb2.PredictRequest:
        request = predict_pb2.PredictRequest()
        request.model_spec.name = self.model_name
        request.model_spec.version.value = version
        encode_tensors({input_key: np.asarray(batch, dtype=np.float32)}, request.inputs)
        if self.output_key:
            request.output_filter.append(self.output_key)
        return request

    async def _input_key(self, stub: prediction_service_pb2_grpc.PredictionServiceStub, version: int) -> str:
        request = get_model_metadata_pb2.GetModelMetadataRequest(metadata_field=["signature_def"])
        request.model_spec.name = self.model_name
        request.model_spec.version.value = version
        reply = await self._with_retries(lambda: stub.GetModelMetadata(request, timeout=self.timeout_seconds))
        signatures = get_model_metadata_pb2.SignatureDefMap()
        reply.metadata["signature_def"].Unpack(signatures)
        inputs = list(signatures.signature_def["serving_default"].inputs)
        if len(inputs) != 1:
            raise WorkloadError(PREDICTION_FAILED, f"{self.describe(version)}: serving_default has inputs "
                                                   f"{sorted(inputs)}; evaluation sends one feature matrix")
        return inputs[0]

    async def _predict(self, stub: prediction_service_pb2_grpc.PredictionServiceStub,
                       request: predict_pb2.PredictRequest, index: int, rows: int) -> tuple[int, np.ndarray]:
        reply = await self._with_retries(lambda: stub.Predict(request, timeout=self.timeout_seconds))
        key = self.output_key or next(iter(sorted(reply.outputs)))
        where = self.describe(request.model_spec.version.value)
        if key not in reply.outputs:
            raise WorkloadError(PREDICTION_FAILED, f"{where}: no output {key!r} in {sorted(reply.outputs)}")
        out = decode_tensors({key: reply.outputs[key]})[key].astype(np.float32, copy=False)
        return index, checked_outputs(out, rows, where)

    async def _with_retries(self, call):
        last_error = ""
        for attempt in range(self.retries + 1):
            if attempt:
                await asyncio.sleep(self.backoff_seconds * 2 ** (attempt - 1))
            try:
                return await call()
            except grpc.aio.AioRpcError as exc:
                code, details = exc.code(), exc.details()
                if code in RETRY_CODES:
                    last_error = f"{code.name}: {details}"
                    continue
                reason = MODEL_NOT_FOUND if code == grpc.StatusCode.NOT_FOUND else PREDICTION_FAILED
                raise WorkloadError(reason, f"grpc://{self.target}: {code.name}: {details}") from exc
        raise WorkloadError(ENDPOINT_UNREACHABLE, f"grpc://{self.target}: no answer after {self.retries + 1} "
                                                  f"attempt(s): {last_error}")


def _batches(x: np.ndarray, batch_size: int) -> Iterator[np.ndarray]:
    for start in range(0, len(x), batch_size):
        yield x[start:start + batch_size]


def _collect(done: set[asyncio.Task[tuple[int, np.ndarray]]], parts: list[np.ndarray]) -> None:
    """Place finished batches by index (they may finish out of order); errors propagate."""
    for task in done:
        index, out = task.result()
        while len(parts) <= index:
            parts.append(np.empty((0, 0), np.float32))
        parts[index] = out
