"""Prometheus metrics of `modelops serve`, in an own CollectorRegistry (several servers may share a
test process), served on the REST port at the monitoring config's path, as TF Serving does."""

from __future__ import annotations

import contextlib
from collections.abc import Callable

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client.exposition import CONTENT_TYPE_LATEST

LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 10.0)
BATCH_SIZE_BUCKETS = (1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024)


class ServingMetrics:
    """Request count / latency by model, version and status; batch sizes; batch queue depth."""

    content_type = CONTENT_TYPE_LATEST

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        labels = ("model", "version", "status")
        self.requests = Counter(
            "modelops_serving_requests", "REST requests by model, version and HTTP status",
            labels, registry=self.registry,
        )
        self.latency = Histogram(
            "modelops_serving_request_latency_seconds", "REST request latency",
            labels, buckets=LATENCY_BUCKETS, registry=self.registry,
        )
        self.batch_size = Histogram(
            "modelops_serving_batch_size", "Rows per signature call (1 without batching)",
            ("model", "version"), buckets=BATCH_SIZE_BUCKETS, registry=self.registry,
        )
        self.queue_depth = Gauge(
            "modelops_serving_batch_queue_rows", "Rows waiting in the batching queue",
            ("model", "version"), registry=self.registry,
        )
        self.version_available = Gauge(
            "modelops_serving_version_available", "1 when the model version is AVAILABLE",
            ("model", "version"), registry=self.registry,
        )
        self._request_children: dict[tuple[str, str, int], tuple[Counter, Histogram]] = {}

    def observe_request(self, model: str, version: str, status: int, seconds: float) -> None:
        children = self._request_children.get((model, version, status))
        if children is None:  # labels() takes a lock and builds a key: do it once per series
            key = (model, version, str(status))
            children = self.requests.labels(*key), self.latency.labels(*key)
            self._request_children[(model, version, status)] = children
        children[0].inc()
        children[1].observe(seconds)

    def batch_observer(self, model: str, version: int) -> tuple[Callable[[float], None], Callable[[float], None]]:
        """Callbacks for one Batcher: (on_batch(rows), on_queue_depth(rows))."""
        batch_size = self.batch_size.labels(model, str(version))
        queue_depth = self.queue_depth.labels(model, str(version))
        return batch_size.observe, queue_depth.set

    def set_available(self, model: str, version: int, available: bool) -> None:
        self.version_available.labels(model, str(version)).set(1 if available else 0)

    def forget_version(self, model: str, version: int) -> None:
        """Drop gauges of an unloaded version so dashboards do not show stale queues."""
        for gauge in (self.queue_depth, self.version_available):
            with contextlib.suppress(KeyError):
                gauge.remove(model, str(version))

    def exposition(self) -> bytes:
        return generate_latest(self.registry)
