"""gRPC client for TF Serving's `PredictionService.Predict`, pinned to one version.

Binary TensorProtos instead of JSON (the server's own codec): a 64-row float batch is one memcpy to
encode, where REST spends most of the client's time formatting and parsing decimal text. Answers
are read in either encoding: the typed fields TF Serving fills (`float_val`, its default
`Tensor::AsProtoField`) or `tensor_content`. One TensorProto per served input, named by the
feature (float32 [n], or string [n] for a categorical column); the version's own signature
(GetModelMetadata) is read first, so a feature it does not take, or one it needs and the data lacks,
is named before any row is sent. Batches stream
through a window of `concurrency` requests in flight, so memory holds only that many encoded batches
whatever the data size; requests are ~256 KiB unless the config sets request.batchSize
(predict_client.request_rows). UNAVAILABLE / RESOURCE_EXHAUSTED / DEADLINE_EXCEEDED are retried with
exponential backoff; NOT_FOUND and the rest are reported with the server's own message.
"""

from __future__ import annotations

import asyncio
import collections
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import grpc
import numpy as np
from tensorflow_serving.apis import get_model_metadata_pb2, predict_pb2, prediction_service_pb2_grpc

from modelops.serving.grpc_codec import encode_tensors
from modelops.workloads.clients.predict import (
    Features,
    PredictClient,
    checked_outputs,
    feature_batches,
    feature_rows,
    request_rows,
)
from modelops.workloads.clients.tensor_wire import tensor_to_array
from modelops.workloads.errors import ENDPOINT_UNREACHABLE, MODEL_NOT_FOUND, PREDICTION_FAILED, WorkloadError

RETRY_CODES = frozenset({grpc.StatusCode.UNAVAILABLE, grpc.StatusCode.RESOURCE_EXHAUSTED,
                         grpc.StatusCode.DEADLINE_EXCEEDED})
# TF Serving accepts up to 2 GiB; gRPC's client default of 4 MiB would cap large batches' answers
CHANNEL_OPTIONS = [("grpc.max_receive_message_length", 2**31 - 1), ("grpc.max_send_message_length", 2**31 - 1)]


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

    def predict(self, features: Features, version: int, batch_size: int | None = None) -> np.ndarray:
        """Outputs for every row of `x`, in order. grpcio's own futures keep `concurrency` requests in
        flight from this thread: no event loop to build per evaluation and a cheaper call than
        grpc.aio's (the stage makes no other I/O while it waits)."""
        rows = batch_size or request_rows(len(features))
        parts: list[np.ndarray] = []
        with grpc.insecure_channel(self.target, options=CHANNEL_OPTIONS) as channel:
            stub = prediction_service_pb2_grpc.PredictionServiceStub(channel)
            self._check_inputs(stub, version, features)
            window: collections.deque[_InFlight] = collections.deque()
            try:
                for batch in feature_batches(features, rows):
                    if len(window) >= self.concurrency:  # bounded: the oldest answer is the next one needed
                        parts.append(self._finish(stub, window.popleft()))
                    request = self._request(version, batch)
                    window.append(_InFlight(request, feature_rows(batch), stub.Predict.future(request,
                                                                                     timeout=self.timeout_seconds)))
                while window:
                    parts.append(self._finish(stub, window.popleft()))
            finally:  # one batch failed for good: stop the others before the channel closes
                for in_flight in window:
                    in_flight.future.cancel()
        if not parts:
            return np.zeros((0, 1), dtype=np.float32)
        return np.concatenate(parts, axis=0)

    async def predict_async(self, features: Features, version: int, batch_size: int) -> np.ndarray:
        """For callers on an event loop: the blocking client in a worker thread."""
        return await asyncio.to_thread(self.predict, features, version, batch_size)

    def _request(self, version: int, batch: dict[str, np.ndarray]) -> predict_pb2.PredictRequest:
        request = predict_pb2.PredictRequest()
        request.model_spec.name = self.model_name
        request.model_spec.version.value = version
        encode_tensors({name: _wire_array(values) for name, values in batch.items()}, request.inputs)
        if self.output_key:
            request.output_filter.append(self.output_key)
        return request

    def _check_inputs(self, stub: prediction_service_pb2_grpc.PredictionServiceStub, version: int,
                      features: Features) -> None:
        request = get_model_metadata_pb2.GetModelMetadataRequest(metadata_field=["signature_def"])
        request.model_spec.name = self.model_name
        request.model_spec.version.value = version
        reply = self._with_retries(lambda: stub.GetModelMetadata(request, timeout=self.timeout_seconds))
        signatures = get_model_metadata_pb2.SignatureDefMap()
        reply.metadata["signature_def"].Unpack(signatures)
        inputs = set(signatures.signature_def["serving_default"].inputs)
        if inputs != set(features):
            raise WorkloadError(PREDICTION_FAILED, f"{self.describe(version)}: serving_default takes inputs "
                                                   f"{sorted(inputs)}, the data has features {sorted(features)}")

    def _finish(self, stub: prediction_service_pb2_grpc.PredictionServiceStub, in_flight: _InFlight) -> np.ndarray:
        """The answer of one in-flight request (sent again, blocking, if it failed in a retryable way)."""
        request = in_flight.request
        first = in_flight.future
        reply = self._with_retries(lambda: stub.Predict(request, timeout=self.timeout_seconds), first=first)
        key = self.output_key or next(iter(sorted(reply.outputs)))
        where = self.describe(request.model_spec.version.value)
        if key not in reply.outputs:
            raise WorkloadError(PREDICTION_FAILED, f"{where}: no output {key!r} in {sorted(reply.outputs)}")
        out = tensor_to_array(reply.outputs[key]).astype(np.float32, copy=False)
        return checked_outputs(out, in_flight.rows, where)

    def _with_retries(self, call: Callable[[], Any], first: grpc.Future | None = None) -> Any:
        last_error = ""
        for attempt in range(self.retries + 1):
            if attempt:
                time.sleep(self.backoff_seconds * 2 ** (attempt - 1))
            try:
                return first.result() if attempt == 0 and first is not None else call()
            except grpc.RpcError as exc:
                code, details = exc.code(), exc.details()
                if code in RETRY_CODES:
                    last_error = f"{code.name}: {details}"
                    continue
                reason = MODEL_NOT_FOUND if code == grpc.StatusCode.NOT_FOUND else PREDICTION_FAILED
                raise WorkloadError(reason, f"grpc://{self.target}: {code.name}: {details}") from exc
        raise WorkloadError(ENDPOINT_UNREACHABLE, f"grpc://{self.target}: no answer after {self.retries + 1} "
                                                  f"attempt(s): {last_error}")


@dataclass(frozen=True)
class _InFlight:
    request: predict_pb2.PredictRequest
    rows: int
    future: grpc.Future


def _wire_array(values: np.ndarray) -> np.ndarray:
    """float32 for numeric inputs; UTF-8 bytes for strings (a DT_STRING tensor holds bytes)."""
    if values.dtype == np.object_ or values.dtype.kind in "SU":
        return np.array([("" if v is None else str(v)).encode() for v in values.tolist()], dtype=object)
    return np.asarray(values, dtype=np.float32)
