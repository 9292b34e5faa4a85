"""gRPC under load and limits: HandleReloadConfigRequest switching versions while gRPC and REST
clients predict (zero failures), a full batch queue (UNAVAILABLE), the server's deadline
(DEADLINE_EXCEEDED) and an oversized message (RESOURCE_EXHAUSTED)."""

from __future__ import annotations

import asyncio
import os

import grpc
import numpy as np
import pytest
import tensorflow as tf
from tensorflow_serving.apis import (
    model_management_pb2,
    model_service_pb2_grpc,
    predict_pb2,
    prediction_service_pb2_grpc,
)

from modelops.serving.config import BatchingOptions, ServedModel

from .conftest import running_server

FEATURES = np.ones((1, 3), np.float32)


def _request(label: str | None = None) -> predict_pb2.PredictRequest:
    request = predict_pb2.PredictRequest()
    request.model_spec.name = "scaler"
    if label:
        request.model_spec.version_label = label
    request.inputs["features"].CopyFrom(tf.make_tensor_proto(FEATURES))
    return request


def _reload(models: list[ServedModel]) -> model_management_pb2.ReloadConfigRequest:
    request = model_management_pb2.ReloadConfigRequest()
    for model in models:
        entry = request.config.model_config_list.config.add(name=model.name, base_path=model.base_path,
                                                            model_platform="tensorflow")
        entry.model_version_policy.specific.versions.extend(model.versions)
        for label, version in model.labels.items():
            entry.version_labels[label] = version
    return request


async def _until_states(server, name: str, wanted: dict[int, str], timeout: float = 60.0) -> None:
    deadline = asyncio.get_running_loop().time() + timeout
    while {s.version: str(s.state) for s in server.registry.status(name) if s.version in wanted} != wanted:
        assert asyncio.get_running_loop().time() < deadline, server.registry.status(name)
        await asyncio.sleep(0.05)


async def test_reload_config_switches_versions_under_grpc_and_rest_traffic(model_bases) -> None:
    """TF Serving's label workflow (serving_config.md): add the new version, wait until it is
    AVAILABLE, then move the label, then drop the old version — under traffic, zero failures."""
    base = model_bases["scaler"]
    async with running_server(model_config_file=None, model_base_path=None) as (server, _, session):
        await server.registry.apply([ServedModel("scaler", base, (1,), {"stable": 1})])
        async with grpc.aio.insecure_channel(f"127.0.0.1:{server.grpc_port}") as channel:
            predict = prediction_service_pb2_grpc.PredictionServiceStub(channel)
            models = model_service_pb2_grpc.ModelServiceStub(channel)
            failures: list[object] = []
            seen: dict[str, set[float]] = {"grpc": set(), "rest": set()}
            stop = asyncio.Event()

            async def grpc_client() -> None:
                while not stop.is_set():
                    try:
                        reply = await predict.Predict(_request("stable"), timeout=30)
                        seen["grpc"].add(float(tf.make_ndarray(reply.outputs["scores"])[0, 0]))
                    except grpc.aio.AioRpcError as exc:
                        failures.append(("grpc", exc.code(), exc.details()))

            async def rest_client() -> None:
                while not stop.is_set():
                    async with session.post("/v1/models/scaler/labels/stable:predict",
                                            json={"instances": FEATURES.tolist()}) as response:
                        body = await response.json()
                    if response.status != 200:
                        failures.append(("rest", response.status, body))
                    else:
                        seen["rest"].add(body["predictions"][0][0])

            clients = [asyncio.ensure_future(grpc_client()) for _ in range(4)]
            clients += [asyncio.ensure_future(rest_client()) for _ in range(4)]
            await asyncio.sleep(0.3)
            steps = [((1, 2), {"stable": 1}, {2: "AVAILABLE"}), ((1, 2), {"stable": 2}, {}),
                     ((2,), {"stable": 2}, {1: "END"}), ((2, 3), {"stable": 2}, {3: "AVAILABLE"}),
                     ((2, 3), {"stable": 3}, {}), ((3,), {"stable": 3}, {2: "END"})]
            for versions, labels, then in steps:
                reply = await models.HandleReloadConfigRequest(
                    _reload([ServedModel("scaler", base, versions, labels)]), timeout=60)
                assert reply.status.error_code == 0
                await _until_states(server, "scaler", then)
                await asyncio.sleep(0.2)
            stop.set()
            await asyncio.gather(*clients)
            assert failures == []
            assert seen["grpc"] == {1.0, 2.0, 3.0} and seen["rest"] == {1.0, 2.0, 3.0}
            # retired versions stay in the status as END (ServableStateMonitor keeps them)
            assert [(s.version, str(s.state)) for s in server.registry.status("scaler")] == [
                (3, "AVAILABLE"), (2, "END"), (1, "END")]


async def test_reload_of_a_broken_version_and_refused_configs(model_bases, tmp_path) -> None:
    """server_core.cc: a new version of a known model loads after ReloadConfig returned (its failure
    shows as END in the status); a label on an unavailable version is FAILED_PRECONDITION; a model new
    to the server whose version cannot load is UNKNOWN "did not become available"."""
    base = model_bases["scaler"]
    async with running_server(model_config_file=None, model_base_path=None) as (server, _, _session):
        await server.registry.apply([ServedModel("scaler", base, (3,), {"stable": 3})])
        async with grpc.aio.insecure_channel(f"127.0.0.1:{server.grpc_port}") as channel:
            models = model_service_pb2_grpc.ModelServiceStub(channel)
            predict = prediction_service_pb2_grpc.PredictionServiceStub(channel)
            reply = await models.HandleReloadConfigRequest(
                _reload([ServedModel("scaler", base, (3, 9), {"stable": 3})]), timeout=60)
            assert reply.status.error_code == 0
            await _until_states(server, "scaler", {9: "END", 3: "AVAILABLE"})
            assert "failed to load SavedModel" in server.registry.status("scaler", 9)[0].error_message
            reply = await predict.Predict(_request("stable"), timeout=30)  # the good version still serves
            assert reply.model_spec.version.value == 3
            bad = _reload([ServedModel("scaler", base, (3,))])
            bad.config.model_config_list.config[0].version_labels["stable"] = 9
            with pytest.raises(grpc.aio.AioRpcError) as refused:
                await models.HandleReloadConfigRequest(bad, timeout=60)
            assert refused.value.code() == grpc.StatusCode.FAILED_PRECONDITION
            assert refused.value.details() == ("Request to assign label to version 9 of model scaler, "
                                               "which is not currently available for inference")
            broken_only = tmp_path / "broken_only"
            os.makedirs(broken_only / "9")
            (broken_only / "9" / "saved_model.pb").write_bytes(b"not a protobuf")
            with pytest.raises(grpc.aio.AioRpcError) as failed:
                await models.HandleReloadConfigRequest(_reload([
                    ServedModel("scaler", base, (3, 9), {"stable": 3}),
                    ServedModel("other", str(broken_only), (9,))]), timeout=60)
            assert failed.value.code() == grpc.StatusCode.UNKNOWN
            assert failed.value.details().startswith("1 model(s) did not become available: {{name: other version: 9}")


async def test_full_batch_queue_is_unavailable_over_grpc(model_bases) -> None:
    tight = BatchingOptions(max_batch_size=1, batch_timeout_micros=0, max_enqueued_batches=1, num_batch_threads=1)
    async with running_server(batching=tight) as (server, _, _session):
        await server.registry.apply([ServedModel("scaler", model_bases["scaler"], (2,))])
        async with grpc.aio.insecure_channel(f"127.0.0.1:{server.grpc_port}") as channel:
            predict = prediction_service_pb2_grpc.PredictionServiceStub(channel)

            async def one() -> grpc.StatusCode:
                try:
                    await predict.Predict(_request(), timeout=30)
                    return grpc.StatusCode.OK
                except grpc.aio.AioRpcError as exc:
                    assert "batch scheduling queue is full" in exc.details()
                    return exc.code()

            codes = await asyncio.gather(*(one() for _ in range(48)))
    # TF's batch scheduler answers a full queue with UNAVAILABLE ("...queue ... is full")
    assert set(codes) == {grpc.StatusCode.OK, grpc.StatusCode.UNAVAILABLE}


async def test_server_deadline_is_deadline_exceeded_and_the_server_recovers(model_bases) -> None:
    slow_to_fill = BatchingOptions(max_batch_size=64, batch_timeout_micros=60_000_000, num_batch_threads=1)
    async with running_server(batching=slow_to_fill, timeout_seconds=1.0) as (server, _, _session):
        await server.registry.apply([ServedModel("scaler", model_bases["scaler"], (1,))])
        async with grpc.aio.insecure_channel(f"127.0.0.1:{server.grpc_port}") as channel:
            predict = prediction_service_pb2_grpc.PredictionServiceStub(channel)
            with pytest.raises(grpc.aio.AioRpcError) as late:
                await predict.Predict(_request())  # no client deadline: the server's own limit applies
            assert late.value.code() == grpc.StatusCode.DEADLINE_EXCEEDED
            assert "did not finish within" in late.value.details()
            full = _request()
            full.inputs["features"].CopyFrom(tf.make_tensor_proto(np.ones((64, 3), np.float32)))
            reply = await predict.Predict(full, timeout=30)
            assert tf.make_ndarray(reply.outputs["scores"]).shape == (64, 3)


async def test_message_over_the_channel_limit_is_resource_exhausted(model_bases) -> None:
    limits = (("grpc.max_receive_message_length", 4096),)  # as --grpc_channel_arguments sets it
    async with running_server(grpc_options=limits) as (server, _, _session):
        await server.registry.apply([ServedModel("scaler", model_bases["scaler"], (1,))])
        async with grpc.aio.insecure_channel(f"127.0.0.1:{server.grpc_port}") as channel:
            predict = prediction_service_pb2_grpc.PredictionServiceStub(channel)
            big = _request()
            big.inputs["features"].CopyFrom(tf.make_tensor_proto(np.ones((1000, 3), np.float32)))
            with pytest.raises(grpc.aio.AioRpcError) as refused:
                await predict.Predict(big, timeout=30)  # 12 kB over a 4 kB limit
            assert refused.value.code() == grpc.StatusCode.RESOURCE_EXHAUSTED
            reply = await predict.Predict(_request(), timeout=30)
            assert reply.model_spec.version.value == 1
