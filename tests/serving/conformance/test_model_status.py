"""GetModelStatus and REST `GET /v1/models/...` as get_model_status_impl.cc and
http_rest_api_handler.cc answer them: every version the ServableStateMonitor has seen (END kept),
a load error with its code, a label that narrows nothing; and a SavedModel without
`serving_default` (TF Serving's saved_model_counter) that loads and serves named signatures."""

from __future__ import annotations

import os

import grpc
import numpy as np
import pytest
import tensorflow as tf
from tensorflow_serving.apis import (
    get_model_status_pb2,
    model_service_pb2_grpc,
    predict_pb2,
    prediction_service_pb2_grpc,
)

from modelops.serving.config import ServedModel

from ..conftest import running_server
from ..counter_model import save_counter
from ..models import copy_version
from .support import until_states

OK = {"error_code": "OK", "error_message": ""}


async def test_retired_and_failed_versions_stay_in_the_status(model_bases, tmp_path) -> None:
    """get_model_status_impl_test.cc / http_rest_api_handler_test.cc GetStatus: JSON shape per
    version; ServableStateMonitor keeps END, so a retired version reads END/OK and a failed one END
    with its error (UNKNOWN = 2 over gRPC, its name over REST)."""
    base = str(tmp_path / "m")
    os.makedirs(base)
    copy_version(model_bases["scaler"], 1, base, 1)
    copy_version(model_bases["scaler"], 2, base, 2)
    os.makedirs(os.path.join(base, "3"))
    (tmp_path / "m" / "3" / "saved_model.pb").write_bytes(b"garbage")
    async with running_server() as (server, _, session):
        await server.registry.apply([ServedModel("m", base, (1, 2, 3))])
        await server.registry.reload([ServedModel("m", base, (2, 3))])
        await until_states(server, "m", {1: "END", 2: "AVAILABLE", 3: "END"})
        async with session.get("/v1/models/m") as response:
            body = await response.json()
        assert [(e["version"], e["state"]) for e in body["model_version_status"]] == [
            ("3", "END"), ("2", "AVAILABLE"), ("1", "END")]
        assert body["model_version_status"][1]["status"] == OK and body["model_version_status"][2]["status"] == OK
        failed = body["model_version_status"][0]["status"]
        assert failed["error_code"] == "UNKNOWN" and "failed to load SavedModel" in failed["error_message"]
        async with session.get("/v1/models/m/versions/1") as response:
            assert await response.json() == {"model_version_status": [{"version": "1", "state": "END", "status": OK}]}
        async with grpc.aio.insecure_channel(f"127.0.0.1:{server.grpc_port}") as channel:
            stub = model_service_pb2_grpc.ModelServiceStub(channel)
            request = get_model_status_pb2.GetModelStatusRequest()
            request.model_spec.name = "m"
            request.model_spec.version.value = 3
            (entry,) = (await stub.GetModelStatus(request, timeout=10)).model_version_status
            assert (entry.version, entry.state, entry.status.error_code) == (3, entry.END, 2)


async def test_status_lookups_that_find_nothing(model_bases) -> None:
    """get_model_status_impl.cc: NOT_FOUND "Could not find any versions of model X" / "Could not
    find version N of model X"; a label does not narrow the answer (only `version` is read)."""
    async with running_server() as (server, _, session):
        await server.registry.apply([ServedModel("m", model_bases["scaler"], (1, 2), {"stable": 2})])
        for path, status, body in (
            ("/v1/models/nope", 404, {"error": "Could not find any versions of model nope"}),
            ("/v1/models/m/versions/5", 404, {"error": "Could not find version 5 of model m"}),
        ):
            async with session.get(path) as response:
                assert (response.status, await response.json()) == (status, body)
        async with session.get("/v1/models/m/labels/stable") as by_label, session.get("/v1/models/m") as every:
            assert await by_label.json() == await every.json()
        async with grpc.aio.insecure_channel(f"127.0.0.1:{server.grpc_port}") as channel:
            stub = model_service_pb2_grpc.ModelServiceStub(channel)
            # get_model_status_impl_test.cc MissingOrEmptyModelSpecFailure, InvalidModelNameFailure,
            # InvalidModelVersionFailure
            for spec, code, details in (
                (None, grpc.StatusCode.INVALID_ARGUMENT, "Missing ModelSpec"),
                ({"name": "nope"}, grpc.StatusCode.NOT_FOUND, "Could not find any versions of model nope"),
                ({"name": "m", "version": {"value": 9}}, grpc.StatusCode.NOT_FOUND,
                 "Could not find version 9 of model m"),
            ):
                request = get_model_status_pb2.GetModelStatusRequest(model_spec=spec)
                with pytest.raises(grpc.aio.AioRpcError) as missing:
                    await stub.GetModelStatus(request, timeout=10)
                assert (missing.value.code(), missing.value.details()) == (code, details)


async def test_a_model_without_serving_default_loads_and_serves_named_signatures(tmp_path) -> None:
    """servables/tensorflow/testdata/export_counter.py (saved_model_counter/00000123): no
    serving_default, zero-input stateful signatures; AVAILABLE, and Predict names the signature."""
    base = tmp_path / "counter"
    save_counter(str(base / "00000123"))
    async with running_server() as (server, _, _):
        await server.registry.apply([ServedModel("counter", str(base), (123,))])
        assert [(s.version, str(s.state)) for s in server.registry.status("counter")] == [(123, "AVAILABLE")]
        async with grpc.aio.insecure_channel(f"127.0.0.1:{server.grpc_port}") as channel:
            predict = prediction_service_pb2_grpc.PredictionServiceStub(channel)

            async def call(signature: str, **inputs) -> float:
                request = predict_pb2.PredictRequest()
                request.model_spec.name, request.model_spec.signature_name = "counter", signature
                for name, value in inputs.items():
                    request.inputs[name].CopyFrom(tf.make_tensor_proto(np.float32(value)))
                reply = await predict.Predict(request, timeout=10)
                return float(tf.make_ndarray(reply.outputs["output"]))

            assert [await call("incr_counter"), await call("incr_counter"), await call("get_counter")] == [1, 2, 2]
            assert await call("incr_counter_by", delta=3.0) == 5.0
            assert await call("reset_counter") == 0.0
            with pytest.raises(grpc.aio.AioRpcError) as unnamed:
                await predict.Predict(predict_pb2.PredictRequest(model_spec={"name": "counter"}), timeout=10)
            assert unnamed.value.code() == grpc.StatusCode.INVALID_ARGUMENT
            assert "serving_default" in unnamed.value.details()
