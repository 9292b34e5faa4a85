"""bench/grpc_wire.py, the raw HTTP/2 load generator of bench/serve.py --grpc, against the real
server: its verdict (answer or failed RPC) is what makes the benchmark's gRPC figures honest."""

from __future__ import annotations

import importlib.util
import pathlib

import numpy as np
import pytest
import tensorflow as tf
from tensorflow_serving.apis import predict_pb2

from modelops.serving.config import ServedModel

from .conftest import running_server

pytestmark = pytest.mark.asyncio
PREDICT = "/tensorflow.serving.PredictionService/Predict"
_SPEC = importlib.util.spec_from_file_location(
    "grpc_wire", pathlib.Path(__file__).parents[2] / "bench" / "grpc_wire.py")
assert _SPEC is not None and _SPEC.loader is not None
grpc_wire = importlib.util.module_from_spec(_SPEC)
_SPEC.loader.exec_module(grpc_wire)


def predict_bytes(model: str, rows: np.ndarray) -> bytes:
    request = predict_pb2.PredictRequest()
    request.model_spec.name = model
    request.inputs["features"].CopyFrom(tf.make_tensor_proto(rows))
    return request.SerializeToString()


async def test_answers_count_as_success_and_rpc_errors_as_failures(model_bases) -> None:
    async with running_server() as (server, _, _):
        await server.registry.apply([ServedModel("scaler", model_bases["scaler"], (1,))])
        await server.wait_until_settled()
        # 3 000 rows: ~36 KB per request, so 10 calls overrun the connection's initial 64 KiB
        # window and only pass if the client waits for the server's WINDOW_UPDATEs
        good = grpc_wire.UnaryClient("127.0.0.1", server.grpc_port, PREDICT,
                                     predict_bytes("scaler", np.ones((3000, 3), np.float32)))
        missing = grpc_wire.UnaryClient("127.0.0.1", server.grpc_port, PREDICT,
                                        predict_bytes("nope", np.ones((1, 3), np.float32)))
        for client in (good, missing):
            await client.connect()
        try:
            assert [await good.call() for _ in range(10)] == [None] * 10
            failure = await missing.call()
            assert failure is not None and "without a message" in failure
            assert await good.call() is None  # a failed RPC on one connection leaves others alone
        finally:
            good.close()
            missing.close()
