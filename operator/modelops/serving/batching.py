"""Server-side dynamic batching: concurrent small predicts become one signature call.

A TF signature call costs roughly the same for 1 row as for 32, so merging concurrent requests is
the main throughput lever. Semantics follow TF Serving's BasicBatchScheduler: a batch closes when
it holds `max_batch_size` rows or its oldest request has waited `batch_timeout_micros` and a batch
thread is free; at most `max_enqueued_batches` batches wait, beyond that requests get 503 at once
(a clear "queue full" beats unbounded latency). TF calls run in a thread pool so the event loop
keeps accepting requests while a batch computes.
"""

from __future__ import annotations

import asyncio
import collections
import time
from collections.abc import Callable
from concurrent.futures import Executor
from dataclasses import dataclass

import numpy as np

from modelops.serving.config import BatchingOptions
from modelops.serving.errors import ServingError

Arrays = dict[str, np.ndarray]
RunFunction = Callable[[Arrays], Arrays]


class DirectRunner:
    """No batching: each request is its own signature call, still off the event loop."""

    def __init__(self, run: RunFunction, executor: Executor) -> None:
        self._run = run
        self._executor = executor

    async def submit(self, inputs: Arrays, timeout: float) -> Arrays:
        try:
            async with asyncio.timeout(timeout):
                return await asyncio.get_running_loop().run_in_executor(self._executor, self._run, inputs)
        except TimeoutError as exc:
            raise deadline_exceeded(timeout) from exc

    async def close(self) -> None:
        """Nothing queued here: in-flight calls finish on their own."""


@dataclass(eq=False)
class _Task:
    inputs: Arrays
    rows: int
    shape_key: tuple[tuple[str, tuple[int, ...]], ...]
    future: asyncio.Future[Arrays]
    enqueued_at: float


class Batcher:
    """Queue of pending requests for one signature of one model version, drained in batches."""

    def __init__(
        self,
        run: RunFunction,
        options: BatchingOptions,
        executor: Executor,
        on_batch: Callable[[int], None] | None = None,
        on_queue_depth: Callable[[int], None] | None = None,
        on_dequeue: Callable[[float], None] | None = None,
    ) -> None:
        self._run = run
        self._options = options
        self._executor = executor
        self._on_batch = on_batch or (lambda rows: None)
        self._on_queue_depth = on_queue_depth or (lambda rows: None)
        self._on_dequeue = on_dequeue or (lambda seconds: None)
        self._pending: collections.deque[_Task] = collections.deque()
        self._queued_rows = 0
        self._max_queued_rows = options.max_batch_size * options.max_enqueued_batches
        self._timeout = options.batch_timeout_micros / 1e6
        self._wakeup: asyncio.Event | None = None
        self._free_threads: asyncio.Semaphore | None = None
        self._worker: asyncio.Task[None] | None = None
        self._in_flight: set[asyncio.Task[None]] = set()
        self._closing = False

    @property
    def queued_rows(self) -> int:
        return self._queued_rows

    async def submit(self, inputs: Arrays, timeout: float) -> Arrays:
        """Enqueue one request's inputs and wait for its slice of the batch's outputs; after
        `timeout` seconds the request fails with DEADLINE_EXCEEDED (and leaves the queue)."""
        rows = _batch_rows(inputs)
        if self._queued_rows + rows > self._max_queued_rows and self._queued_rows > 0:
            raise ServingError(
                "UNAVAILABLE",
                f"The batch scheduling queue is full ({self._queued_rows} rows waiting, "
                f"max_enqueued_batches={self._options.max_enqueued_batches} x "
                f"max_batch_size={self._options.max_batch_size}); retry later",
            )
        loop = asyncio.get_running_loop()
        self._ensure_worker()
        shape_key = tuple((name, value.shape[1:]) for name, value in inputs.items())
        task = _Task(inputs, rows, shape_key, loop.create_future(), time.monotonic())
        self._pending.append(task)
        self._queued_rows += rows
        self._on_queue_depth(self._queued_rows)
        assert self._wakeup is not None
        self._wakeup.set()
        # a timer handle is far cheaper than asyncio.timeout() on this hot path
        expiry = loop.call_later(timeout, _expire, task.future, timeout)
        try:
            return await task.future
        finally:
            expiry.cancel()

    async def close(self) -> None:
        """Stop after everything already queued has been computed and answered."""
        self._closing = True
        if self._worker is not None:
            assert self._wakeup is not None
            self._wakeup.set()
            await self._worker
        if self._in_flight:
            await asyncio.gather(*self._in_flight, return_exceptions=True)

    def _ensure_worker(self) -> None:
        if self._worker is None:
            self._wakeup = asyncio.Event()
            self._free_threads = asyncio.Semaphore(self._options.num_batch_threads)
            self._worker = asyncio.get_running_loop().create_task(self._drain_forever())

    async def _drain_forever(self) -> None:
        assert self._wakeup is not None and self._free_threads is not None
        while True:
            if not self._pending:
                if self._closing:
                    return
                self._wakeup.clear()
                await self._wakeup.wait()
                continue
            await self._free_threads.acquire()
            await self._wait_for_fill()
            batch = self._take_batch()
            if not batch:
                self._free_threads.release()
                continue
            execution = asyncio.get_running_loop().create_task(self._execute(batch))
            self._in_flight.add(execution)
            execution.add_done_callback(self._in_flight.discard)

    async def _wait_for_fill(self) -> None:
        """Hold a partial batch until full or its oldest request has waited batch_timeout."""
        assert self._wakeup is not None
        while self._timeout > 0 and self._pending and not self._closing:
            if self._queued_rows >= self._options.max_batch_size:
                return
            remaining = self._pending[0].enqueued_at + self._timeout - time.monotonic()
            if remaining <= 0:
                return
            self._wakeup.clear()
            try:
                await asyncio.wait_for(self._wakeup.wait(), remaining)
            except TimeoutError:
                return

    def _take_batch(self) -> list[_Task]:
        """Oldest-first tasks of one input shape, up to max_batch_size rows (an oversized request
        runs alone rather than failing)."""
        batch: list[_Task] = []
        rows = 0
        skipped: list[_Task] = []
        while self._pending:
            task = self._pending.popleft()
            if task.future.done():  # the client went away while queued
                self._queued_rows -= task.rows
                continue
            if batch and (task.shape_key != batch[0].shape_key or rows + task.rows > self._options.max_batch_size):
                skipped.append(task)
                if rows + task.rows > self._options.max_batch_size:
                    break
                continue
            batch.append(task)
            rows += task.rows
            if rows >= self._options.max_batch_size:
                break
        self._pending.extendleft(reversed(skipped))
        self._queued_rows -= rows
        self._on_queue_depth(self._queued_rows)
        now = time.monotonic()
        for task in batch:  # each request's wait in the queue (batching_session.cc's queuing_latency)
            self._on_dequeue(now - task.enqueued_at)
        return batch

    async def _execute(self, batch: list[_Task]) -> None:
        assert self._free_threads is not None
        try:
            total = sum(task.rows for task in batch)
            self._on_batch(total)
            merged = batch[0].inputs if len(batch) == 1 else _concatenate([t.inputs for t in batch])
            outputs = await asyncio.get_running_loop().run_in_executor(self._executor, self._run, merged)
            _answer(batch, outputs, total)
        except Exception as exc:  # every waiting request gets the error; none is left hanging
            for task in batch:
                if not task.future.done():
                    task.future.set_exception(exc)
        finally:
            self._free_threads.release()


def deadline_exceeded(timeout: float) -> ServingError:
    return ServingError(
        "DEADLINE_EXCEEDED", f"predict did not finish within --rest_api_timeout_in_ms={timeout * 1000:.0f}"
    )


def _expire(future: asyncio.Future[Arrays], timeout: float) -> None:
    if not future.done():
        future.set_exception(deadline_exceeded(timeout))


def _batch_rows(inputs: Arrays) -> int:
    sizes = {value.shape[0] if value.ndim else -1 for value in inputs.values()}
    if len(sizes) != 1 or -1 in sizes:
        raise ServingError(
            "INVALID_ARGUMENT",
            "with batching enabled every input needs the same 0th (batch) dimension, "
            f"got {({name: list(value.shape) for name, value in inputs.items()})}",
        )
    return sizes.pop()


def _concatenate(parts: list[Arrays]) -> Arrays:
    return {name: np.concatenate([part[name] for part in parts]) for name in parts[0]}


def _answer(batch: list[_Task], outputs: Arrays, total: int) -> None:
    """Split the batch's outputs back into each request's rows."""
    if len(batch) == 1:
        if not batch[0].future.done():
            batch[0].future.set_result(outputs)
        return
    unsplittable = [name for name, value in outputs.items() if value.ndim == 0 or value.shape[0] != total]
    start = 0
    for task in batch:
        end = start + task.rows
        if task.future.done():
            pass
        elif unsplittable:
            task.future.set_exception(
                ServingError(
                    "INTERNAL",
                    f"outputs {unsplittable} have no batch dimension of size {total}, so a batched "
                    "result cannot be split per request; serve this model without --enable_batching",
                )
            )
        else:
            task.future.set_result({name: value[start:end] for name, value in outputs.items()})
        start = end
