"""What the prediction-API conformance tests share: the models served under the names TF Serving's
own tests use, and the small protos those tests build by hand."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator

import aiohttp
import grpc
from tensorflow.core.example import example_pb2
from tensorflow.core.framework import tensor_pb2, types_pb2
from tensorflow_serving.apis import prediction_service_pb2_grpc

from modelops.serving.config import ServedModel

from ..conftest import running_server

# model_servers/tensorflow_model_server_test.py serves half_plus_two as "default";
# http_rest_api_handler_test.cc serves the 2-versions model pinned to 123 with label Version_Label
DEFAULT = "default"
DEFAULT_TF2 = "default_tf2"
TWO_VERSIONS = "saved_model_half_plus_two_2_versions"
BOTH_VERSIONS = "half_plus_two_both_versions"  # versions 123 and 124 served together
VERSION_LABEL = "Version_Label"
PREDICT = "tensorflow/serving/predict"
CLASSIFY = "tensorflow/serving/classify"
REGRESS = "tensorflow/serving/regress"


def conformance_models(bases: dict[str, str]) -> list[ServedModel]:
    return [
        ServedModel(DEFAULT, bases["half_plus_two"], (123,)),
        ServedModel(DEFAULT_TF2, bases["half_plus_two_tf2"], (123,)),
        ServedModel(TWO_VERSIONS, bases["half_plus_two_2_versions"], (123,), {VERSION_LABEL: 123}),
        ServedModel(BOTH_VERSIONS, bases["half_plus_two_2_versions"], (123, 124)),
    ]


@contextlib.asynccontextmanager
async def conformance_server(bases: dict[str, str], **settings) -> AsyncIterator[
        tuple[prediction_service_pb2_grpc.PredictionServiceStub, aiohttp.ClientSession]]:
    """One server with the conformance models: its PredictionService stub and a REST session."""
    async with running_server(model_config_file=None, model_base_path=None, **settings) as (server, _, session):
        await server.registry.apply(conformance_models(bases))
        async with grpc.aio.insecure_channel(f"127.0.0.1:{server.grpc_port}") as channel:
            yield prediction_service_pb2_grpc.PredictionServiceStub(channel), session


def float_tensor(values: list[float], shape: list[int] | None = None) -> tensor_pb2.TensorProto:
    """A TensorProto written as TF Serving's tests write it: `float_val`, an optional shape."""
    proto = tensor_pb2.TensorProto(dtype=types_pb2.DT_FLOAT, float_val=values)
    for size in shape or ():
        proto.tensor_shape.dim.add().size = size
    return proto


def example(**features: float) -> example_pb2.Example:
    result = example_pb2.Example()
    for name, value in features.items():
        result.features.feature[name].float_list.value.append(value)
    return result


async def rpc_error(call, request) -> grpc.aio.AioRpcError:
    """The error a call fails with (the test asserts its code and text)."""
    try:
        await call(request)
    except grpc.aio.AioRpcError as exc:
        return exc
    raise AssertionError(f"{request} succeeded")
