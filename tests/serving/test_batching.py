"""Dynamic batching: concurrent requests merge into one call, results split back, the queue is bounded."""

from __future__ import annotations

import asyncio
import threading
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest

from modelops.serving.batching import Batcher
from modelops.serving.config import BatchingOptions
from modelops.serving.config import ServedModel as Served
from modelops.serving.errors import ServingError

from .conftest import running_server


class Doubler:
    """A real batch computation (numpy) that records each call's batch size."""

    def __init__(self, gate: threading.Event | None = None) -> None:
        self.batch_sizes: list[int] = []
        self.gate = gate

    def __call__(self, inputs):
        if self.gate is not None:
            self.gate.wait(10)
        self.batch_sizes.append(len(inputs["x"]))
        return {"y": inputs["x"] * 2.0}


@pytest.fixture
def executor():
    with ThreadPoolExecutor(2) as pool:
        yield pool


def rows(*values: float) -> dict[str, np.ndarray]:
    return {"x": np.array([[v, v + 0.5] for v in values], dtype=np.float32)}


async def test_concurrent_requests_merge_into_one_call_and_split_back(executor) -> None:
    model = Doubler()
    batcher = Batcher(model, BatchingOptions(8, batch_timeout_micros=200_000, num_batch_threads=1), executor)
    results = await asyncio.gather(*(batcher.submit(rows(float(i)), 30) for i in range(8)))
    assert model.batch_sizes == [8]  # full batch closes before the timeout
    for i, result in enumerate(results):
        np.testing.assert_array_equal(result["y"], [[2.0 * i, 2.0 * i + 1.0]])
    await batcher.close()


async def test_partial_batch_waits_for_the_timeout_then_runs(executor) -> None:
    model = Doubler()
    batcher = Batcher(model, BatchingOptions(8, batch_timeout_micros=50_000, num_batch_threads=1), executor)
    first = asyncio.ensure_future(batcher.submit(rows(1.0), 30))
    await asyncio.sleep(0.01)
    second = asyncio.ensure_future(batcher.submit(rows(2.0, 3.0), 30))
    one, two = await asyncio.gather(first, second)
    assert model.batch_sizes == [3]
    np.testing.assert_array_equal(two["y"], [[4.0, 5.0], [6.0, 7.0]])
    np.testing.assert_array_equal(one["y"], [[2.0, 3.0]])
    await batcher.close()


async def test_oversized_and_differently_shaped_requests_are_not_merged(executor) -> None:
    model = Doubler()
    batcher = Batcher(model, BatchingOptions(4, batch_timeout_micros=20_000, num_batch_threads=1), executor)
    big = batcher.submit(rows(*range(6)), 30)
    odd = batcher.submit({"x": np.ones((1, 3), dtype=np.float32)}, 30)
    small = batcher.submit(rows(9.0), 30)
    big_result, odd_result, small_result = await asyncio.gather(big, odd, small)
    assert sorted(model.batch_sizes) == [1, 1, 6]
    assert big_result["y"].shape == (6, 2) and odd_result["y"].shape == (1, 3)
    np.testing.assert_array_equal(small_result["y"], [[18.0, 19.0]])
    await batcher.close()


async def test_full_queue_is_rejected_with_unavailable_and_nothing_queued_is_lost(executor) -> None:
    gate = threading.Event()
    model = Doubler(gate)
    options = BatchingOptions(max_batch_size=2, batch_timeout_micros=0, max_enqueued_batches=2, num_batch_threads=1)
    batcher = Batcher(model, options, executor)
    running = asyncio.ensure_future(batcher.submit(rows(0.0, 0.5), 30))  # occupies the only batch thread
    await asyncio.sleep(0.05)
    queued = [asyncio.ensure_future(batcher.submit(rows(float(i)), 30)) for i in range(4)]  # 2 batches x 2 rows
    await asyncio.sleep(0)
    with pytest.raises(ServingError) as rejected:
        await batcher.submit(rows(9.0), 30)
    assert rejected.value.http_status == 503
    assert "batch scheduling queue is full" in rejected.value.message
    gate.set()
    results = await asyncio.gather(running, *queued)
    assert [r["y"][0, 0] for r in results[1:]] == [0.0, 2.0, 4.0, 6.0]
    assert model.batch_sizes == [2, 2, 2]
    await batcher.close()


async def test_a_failing_batch_fails_only_its_requests(executor) -> None:
    calls = []

    def flaky(inputs):
        calls.append(len(inputs["x"]))
        if len(calls) == 1:
            raise RuntimeError("kernel exploded")
        return {"y": inputs["x"]}

    batcher = Batcher(flaky, BatchingOptions(4, batch_timeout_micros=0, num_batch_threads=1), executor)
    with pytest.raises(RuntimeError, match="kernel exploded"):
        await batcher.submit(rows(1.0), 30)
    result = await batcher.submit(rows(2.0), 30)
    np.testing.assert_array_equal(result["y"], [[2.0, 2.5]])
    await batcher.close()


async def test_http_predicts_are_batched_and_queue_overflow_answers_503(model_bases) -> None:
    tight = BatchingOptions(max_batch_size=1, batch_timeout_micros=0, max_enqueued_batches=1, num_batch_threads=1)
    roomy = BatchingOptions(max_batch_size=16, batch_timeout_micros=5000, max_enqueued_batches=100,
                            num_batch_threads=1)
    for options in (roomy, tight):
        async with running_server(batching=options, metrics_path="/metrics") as (server, _, session):
            await server.registry.apply([Served("scaler", model_bases["scaler"], (2,))])

            async def predict(i: int, session=session):
                body = {"instances": [[float(i), 0.0, 1.0]]}
                async with session.post("/v1/models/scaler:predict", json=body) as response:
                    return response.status, await response.json()

            answers = await asyncio.gather(*(predict(i) for i in range(48)))
            async with session.get("/metrics") as response:
                metrics = await response.text()
        for i, (status, body) in enumerate(answers):
            if status == 200:
                assert body == {"predictions": [[2.0 * i, 0.0, 2.0]]}
            else:
                assert status == 503 and "queue is full" in body["error"]
        batches = next(float(line.split()[-1]) for line in metrics.splitlines()
                       if line.startswith("modelops_serving_batch_size_count"))
        if options is roomy:
            assert all(status == 200 for status, _ in answers)
            assert batches < 48  # requests were merged
        else:
            assert any(status == 503 for status, _ in answers)


async def test_request_over_rest_api_timeout_gets_504_and_the_server_recovers(model_bases) -> None:
    slow_to_fill = BatchingOptions(max_batch_size=64, batch_timeout_micros=60_000_000, num_batch_threads=1)
    async with running_server(batching=slow_to_fill, timeout_seconds=1.0) as (server, _, session):
        await server.registry.apply([Served("scaler", model_bases["scaler"], (1,))])
        async with session.post("/v1/models/scaler:predict", json={"instances": [[1.0, 2.0, 3.0]]}) as response:
            assert response.status == 504  # DEADLINE_EXCEEDED -> GATEWAY_TO (http_server.cc ToHTTPStatusCode)
            assert "rest_api_timeout_in_ms=1000" in (await response.json())["error"]
        full_batch = {"instances": [[1.0, 2.0, 3.0]] * 64}  # a full batch runs at once
        async with session.post("/v1/models/scaler:predict", json=full_batch) as response:
            assert response.status == 200
