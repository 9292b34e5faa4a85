"""`modelops serve` exports TF Serving's own metric families (names, labels, units and text form of
tensorflow_serving/util/prometheus_exporter.cc) beside its modelops_serving_* series, read back with
prometheus_client's parser from a real server's page."""

from __future__ import annotations

import os

import grpc
import numpy as np
import pytest
import pytest_asyncio
from prometheus_client.parser import text_string_to_metric_families
from tensorflow.core.example import example_pb2, feature_pb2
from tensorflow.core.framework import tensor_pb2, tensor_shape_pb2, types_pb2
from tensorflow_serving.apis import classification_pb2, get_model_status_pb2, model_service_pb2_grpc, predict_pb2
from tensorflow_serving.apis import prediction_service_pb2_grpc as prediction_service

from modelops.serving.config import ServedModel
from modelops.serving.tfs_metrics import LATENCY_BUCKETS_US, CounterFamily, SamplerFamily, prometheus_name

from .conftest import SMALL_BATCHING, running_server, standard_models

ON_MODULE_LOOP = pytest.mark.asyncio(loop_scope="module")
PATH = "/monitoring/prometheus/metrics"


def test_names_are_rendered_as_the_tf_serving_exporter_renders_them() -> None:
    assert prometheus_name("/tensorflow/serving/request_count") == ":tensorflow:serving:request_count"
    assert prometheus_name("/tensorflow/cc/saved_model/load_attempt_count") == (
        ":tensorflow:cc:saved_model:load_attempt_count")
    assert prometheus_name("9lives/x-y") == "_9lives:x:y"


def test_counter_has_no_total_suffix_and_escapes_label_values() -> None:
    counter = CounterFamily("/tensorflow/serving/request_count", ("model_name", "status"))
    counter.increment(('we"ird\\', "OK"), by=3)
    lines = list(counter.lines())
    assert lines == ["# TYPE :tensorflow:serving:request_count counter",
                     ':tensorflow:serving:request_count{model_name="we\\"ird\\\\",status="OK"} 3']
    (family,) = text_string_to_metric_families("\n".join(lines) + "\n")
    assert family.type == "counter" and family.samples[0].labels == {"model_name": 'we"ird\\', "status": "OK"}


def test_sampler_is_a_histogram_with_tf_bucket_limits_and_upper_bound_placement() -> None:
    sampler = SamplerFamily("/tensorflow/serving/request_latency", ("model_name", "API", "entrypoint"),
                            LATENCY_BUCKETS_US)
    labels = ("m", "Predict", "GRPC")
    for value in (5.0, 10.0, 17.0, 2e9):  # 10 is a limit: TF's upper_bound puts it in the next bucket
        sampler.add(labels, value)
    text = "\n".join(sampler.lines()) + "\n"
    assert text.startswith("# TYPE :tensorflow:serving:request_latency histogram\n")
    buckets = {sample.labels["le"]: sample.value for family in text_string_to_metric_families(text)
               for sample in family.samples if sample.name.endswith("_bucket")}
    assert len(buckets) == 34 and list(buckets)[:3] == ["10", "18", "32.4"]
    assert (buckets["10"], buckets["18"], buckets["32.4"], buckets["+Inf"]) == (1, 3, 3, 4)
    assert ':tensorflow:serving:request_latency_sum{model_name="m",API="Predict",entrypoint="GRPC"} 2e+09' in text


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def served(model_bases):
    async with running_server(model_config_file=None, model_base_path=None, metrics_path=PATH,
                              batching=SMALL_BATCHING) as (server, _, session):
        await server.registry.apply([*standard_models(model_bases), ServedModel("tf1", model_bases["tf1"], (1,))])
        async with grpc.aio.insecure_channel(f"127.0.0.1:{server.grpc_port}") as channel:
            yield server, session, channel


async def _page(session) -> str:
    async with session.get(PATH) as response:
        assert response.status == 200
        return await response.text()


def _samples(text: str) -> dict[tuple[str, frozenset], float]:
    return {(sample.name, frozenset(sample.labels.items())): sample.value
            for family in text_string_to_metric_families(text) for sample in family.samples}


def _value(samples: dict, name: str, **labels: str) -> float:
    return samples.get((name, frozenset(labels.items())), 0.0)


def _rows_tensor(rows: list[list[float]]) -> tensor_pb2.TensorProto:
    array = np.asarray(rows, np.float32)
    shape = tensor_shape_pb2.TensorShapeProto(dim=[tensor_shape_pb2.TensorShapeProto.Dim(size=s) for s in array.shape])
    return tensor_pb2.TensorProto(dtype=types_pb2.DT_FLOAT, tensor_shape=shape, tensor_content=array.tobytes())


@ON_MODULE_LOOP
async def test_requests_are_counted_in_tf_serving_families_with_its_labels(served) -> None:
    _, session, channel = served
    count, latency = ":tensorflow:serving:request_count_total", ":tensorflow:serving:request_latency_count"
    runtime = ":tensorflow:serving:runtime_latency_count"
    before = _samples(await _page(session))
    async with session.post("/v1/models/scaler/versions/1:predict", json={"instances": [[1.0, 2.0, 3.0]]}) as answer:
        assert answer.status == 200
    async with session.post("/v1/models/scaler:predict", json={"instances": [["one"]]}) as answer:
        assert answer.status == 400
    request = predict_pb2.PredictRequest()
    request.model_spec.name = "scaler"
    request.inputs["features"].CopyFrom(_rows_tensor([[1.0, 2.0, 3.0]]))
    await prediction_service.PredictionServiceStub(channel).Predict(request, timeout=10)
    status_request = get_model_status_pb2.GetModelStatusRequest()
    status_request.model_spec.name = "scaler"
    await model_service_pb2_grpc.ModelServiceStub(channel).GetModelStatus(status_request, timeout=10)
    text = await _page(session)
    after = _samples(text)

    def delta(name: str, **labels: str) -> float:
        return _value(after, name, **labels) - _value(before, name, **labels)

    # REST and gRPC Predict count by canonical code (http_server.cc, prediction_service_impl.cc);
    # GetModelStatus is not counted there, so OK grew by exactly two
    assert delta(count, model_name="scaler", status="OK") == 2
    assert delta(count, model_name="scaler", status="INVALID_ARGUMENT") == 1
    assert delta(latency, model_name="scaler", API="predict", entrypoint="REST") == 1
    assert delta(latency, model_name="scaler", API="Predict", entrypoint="GRPC") == 1
    assert delta(runtime, model_name="scaler", API="Predict", runtime="TF1") == 2
    # the counter's own text line has TF Serving's name, without prometheus_client's _total
    assert ':tensorflow:serving:request_count{model_name="scaler",status="OK"} ' in text
    # batching session: one queue wait per request, one wrapped run per batch
    assert _value(after, ":tensorflow:serving:batching_session:queuing_latency_count", thread_pool_name="") >= 2
    assert _value(after, ":tensorflow:serving:batching_session:wrapped_run_count_total") >= 2
    # our own series stay, by HTTP status
    assert delta("modelops_serving_requests_total", model="scaler", version="1", status="200") == 1


@ON_MODULE_LOOP
async def test_savedmodel_loads_are_counted_by_path_and_outcome(served, model_bases) -> None:
    _, session, _ = served
    samples = _samples(await _page(session))
    attempts = ":tensorflow:cc:saved_model:load_attempt_count_total"
    good, broken = os.path.join(model_bases["scaler"], "2"), os.path.join(model_bases["scaler"], "9")
    assert _value(samples, attempts, model_path=good, status="success") == 1
    assert _value(samples, attempts, model_path=broken, status="fail") == 1
    assert _value(samples, ":tensorflow:cc:saved_model:load_latency_total", model_path=good) > 0
    assert _value(samples, ":tensorflow:cc:saved_model:load_latency_total", model_path=broken) == 0


@ON_MODULE_LOOP
async def test_classify_is_labelled_with_its_own_api(served) -> None:
    _, session, channel = served
    before = _samples(await _page(session))
    request = classification_pb2.ClassificationRequest()
    request.model_spec.name, request.model_spec.signature_name = "tf1", "classify"
    request.input.example_list.examples.append(example_pb2.Example(features=feature_pb2.Features(
        feature={"x": feature_pb2.Feature(float_list=feature_pb2.FloatList(value=[1.0, 1.0]))})))
    await prediction_service.PredictionServiceStub(channel).Classify(request, timeout=10)
    after = _samples(await _page(session))
    for name, labels in ((":tensorflow:serving:request_count_total", {"model_name": "tf1", "status": "OK"}),
                         (":tensorflow:serving:request_latency_count",
                          {"model_name": "tf1", "API": "Classify", "entrypoint": "GRPC"}),
                         (":tensorflow:serving:runtime_latency_count",
                          {"model_name": "tf1", "API": "Classify", "runtime": "TF1"})):
        assert _value(after, name, **labels) - _value(before, name, **labels) == 1, (name, labels)
