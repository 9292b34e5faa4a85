"""Prometheus metrics of `modelops serve`, in an own CollectorRegistry (several servers may share a
test process), served on the REST port at the monitoring config's path, as TF Serving does.

The page carries two sets: TF Serving's own families (`:tensorflow:serving:request_count` and the
rest, see tfs_metrics.py), so what a TF Serving user scrapes and charts works unchanged against
`modelops serve`, and our extra `modelops_serving_*` series (HTTP status, batch sizes, queue depth,
version availability), which TF Serving does not export.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client.exposition import CONTENT_TYPE_LATEST

from modelops.serving.tfs_metrics import TfServingMetrics

LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 10.0)
BATCH_SIZE_BUCKETS = (1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024)
# TF Serving's batching session is created with thread_pool_name "" by the model server
# (CreateBatchingSession in tensorflow_serving/batching/batching_session.cc)
BATCH_THREAD_POOL_NAME = ""
# Codes of ours that are not TF's canonical codes, as TF Serving would report the same failure
_TF_CODE = {"PAYLOAD_TOO_LARGE": "RESOURCE_EXHAUSTED"}


class ServingMetrics:
    """Request count / latency by model, version and status; batch sizes; batch queue depth; and
    TF Serving's request, runtime, batching and SavedModel-load families."""

    content_type = CONTENT_TYPE_LATEST

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.tfs = TfServingMetrics()
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

    def observe_request(self, model: str, version: str, status: int, seconds: float, *,
                        code: str = "OK", api: str | None = None, entrypoint: str = "REST") -> None:
        """One request: our series by HTTP status; TF Serving's request_count (every REST request,
        gRPC Predict/Classify/Regress: api None skips it) and request_latency (successes only), as
        http_server.cc and prediction_service_impl.cc record them."""
        children = self._request_children.get((model, version, status))
        if children is None:  # labels() takes a lock and builds a key: do it once per series
            key = (model, version, str(status))
            children = self.requests.labels(*key), self.latency.labels(*key)
            self._request_children[(model, version, status)] = children
        children[0].inc()
        children[1].observe(seconds)
        if api is None:
            return
        self.tfs.request_count.increment((model, _TF_CODE.get(code, code)))
        if code == "OK":
            self.tfs.request_latency.add((model, api, entrypoint), seconds * 1e6)

    def observe_runtime(self, model: str, api: str, seconds: float) -> None:
        """Wall time of the session run behind one successful request (runtime "TF1": a graph
        Session, as predict_util.cc / classifier.cc / regressor.cc record it)."""
        self.tfs.runtime_latency.add((model, api, "TF1"), seconds * 1e6)

    def observe_load(self, model_path: str, succeeded: bool, seconds: float) -> None:
        """One SavedModel load attempt, as TF's loader.cc counts it (latency of successes only)."""
        self.tfs.load_attempt_count.increment((model_path, "success" if succeeded else "fail"))
        if succeeded:
            self.tfs.load_latency.increment((model_path,), int(seconds * 1e6))

    def batch_observer(self, model: str, version: int
                       ) -> tuple[Callable[[int], None], Callable[[int], None], Callable[[float], None]]:
        """Callbacks for one Batcher: (on_batch(rows), on_queue_depth(rows), on_dequeue(seconds waited))."""
        batch_size = self.batch_size.labels(model, str(version))
        queue_depth = self.queue_depth.labels(model, str(version))
        wrapped_runs, queuing = self.tfs.wrapped_run_count, self.tfs.queuing_latency

        def on_batch(rows: int) -> None:
            batch_size.observe(rows)
            wrapped_runs.increment(())

        def on_dequeue(seconds: float) -> None:
            queuing.add((BATCH_THREAD_POOL_NAME,), seconds * 1e6)

        return on_batch, queue_depth.set, on_dequeue

    def set_available(self, model: str, version: int, available: bool) -> None:
        self.version_available.labels(model, str(version)).set(1 if available else 0)

    def forget_version(self, model: str, version: int) -> None:
        """Drop every series of an unloaded version: no stale queues on dashboards, and a server that
        serves one version after another for months does not keep one set of series per version ever
        loaded (issue #26). TF Serving's own families carry no version label and stay."""
        for gauge in (self.queue_depth, self.version_available, self.batch_size):
            with contextlib.suppress(KeyError):
                gauge.remove(model, str(version))
        for key in [k for k in self._request_children if k[:2] == (model, str(version))]:
            del self._request_children[key]
            for family in (self.requests, self.latency):
                with contextlib.suppress(KeyError):
                    family.remove(model, str(version), str(key[2]))

    def exposition(self) -> bytes:
        return generate_latest(self.registry) + self.tfs.exposition().encode()
