"""TensorFlow Serving's own metric families, rendered the way its Prometheus exporter renders them.

A TF Serving user's dashboards and alerts query names such as `:tensorflow:serving:request_count`:
TF's monitoring path `/tensorflow/serving/request_count` with every character outside [a-zA-Z0-9_]
turned into ':' (`GetPrometheusMetricName`, tensorflow_serving/util/prometheus_exporter.cc). The
exporter writes a counter as `# TYPE <name> counter` with samples named exactly `<name>` (no `_total`
suffix) and a TF `Sampler` as a Prometheus histogram whose buckets are the sampler's own limits, the
last one printed `+Inf`, sum and limits printed as absl::StrCat prints a double (six significant
digits). prometheus_client would add `_total` and `_created` to a counter, so these families are
rendered here, line by line as the C++ exporter does, and appended to the page of our own series.

Families, with the TF Serving / TensorFlow file each comes from:
- `/tensorflow/serving/request_count` {model_name, status}, `/tensorflow/serving/request_latency`
  {model_name, API, entrypoint} and `/tensorflow/serving/runtime_latency` {model_name, API, runtime}:
  tensorflow_serving/servables/tensorflow/util.cc (latencies in microseconds, buckets 10 x 1.8^i, 33).
- `/tensorflow/serving/batching_session/queuing_latency` {thread_pool_name} (buckets 100 x 1.2^i, 52)
  and `/tensorflow/serving/batching_session/wrapped_run_count`: tensorflow_serving/batching/batching_session.cc.
- `/tensorflow/cc/saved_model/load_attempt_count` {model_path, status} and
  `/tensorflow/cc/saved_model/load_latency` {model_path} (microseconds, a counter):
  tensorflow/cc/saved_model/loader.cc.
"""

from __future__ import annotations

import bisect
import re
import threading
from collections.abc import Iterable


def prometheus_name(path: str) -> str:
    """`/tensorflow/serving/request_count` -> `:tensorflow:serving:request_count` (prometheus_exporter.cc)."""
    name = re.sub(r"[^a-zA-Z0-9_]", ":", path)
    return "_" + name if name[:1].isdigit() else name


def exponential_buckets(scale: float, growth_factor: float, count: int) -> tuple[float, ...]:
    """TF's monitoring::Buckets::Exponential: scale * growth_factor**i for i < count."""
    return tuple(scale * growth_factor**i for i in range(count))


LATENCY_BUCKETS_US = exponential_buckets(10, 1.8, 33)  # util.cc: "~20 minutes"
QUEUING_BUCKETS_US = exponential_buckets(100, 1.2, 52)  # batching_session.cc: "~1 second"


def _double(value: float) -> str:
    """absl::StrCat of a double: up to six significant digits, as the C++ exporter prints it."""
    return f"{value:.6g}"


def _escape(value: str) -> str:
    """Backslash and double quote escaped, as SanitizeLabelValue in prometheus_exporter.cc."""
    return value.replace("\\", "\\\\").replace('"', '\\"')


def _label_text(names: tuple[str, ...], values: tuple[str, ...]) -> list[str]:
    return [f'{name}="{_escape(value)}"' for name, value in zip(names, values, strict=True)]


class CounterFamily:
    """TF's monitoring::Counter<N>: an integer per label combination."""

    def __init__(self, path: str, label_names: tuple[str, ...]) -> None:
        self.name = prometheus_name(path)
        self.path = path
        self.label_names = label_names
        self._cells: dict[tuple[str, ...], int] = {}
        self._lock = threading.Lock()

    def increment(self, labels: tuple[str, ...], by: int = 1) -> None:
        with self._lock:
            self._cells[labels] = self._cells.get(labels, 0) + by

    def value(self, labels: tuple[str, ...]) -> int:
        return self._cells.get(labels, 0)

    def lines(self) -> Iterable[str]:
        yield f"# TYPE {self.name} counter"
        with self._lock:
            cells = sorted(self._cells.items())
        for labels, count in cells:
            yield f"{self.name}{{{','.join(_label_text(self.label_names, labels))}}} {int(count)}"


class _Cell:
    __slots__ = ("counts", "total")

    def __init__(self, buckets: int) -> None:
        self.counts = [0] * buckets
        self.total = 0.0


class SamplerFamily:
    """TF's monitoring::Sampler<N>: a histogram per label combination. A value lands in the first
    bucket whose limit is above it (TF's Histogram::Add uses upper_bound); the last bucket is
    open-ended (TF appends DBL_MAX to the limits; the exporter prints it as +Inf)."""

    def __init__(self, path: str, label_names: tuple[str, ...], limits: tuple[float, ...]) -> None:
        self.name = prometheus_name(path)
        self.path = path
        self.label_names = label_names
        self.limits = limits
        self._cells: dict[tuple[str, ...], _Cell] = {}
        self._lock = threading.Lock()

    def add(self, labels: tuple[str, ...], value: float) -> None:
        index = bisect.bisect_right(self.limits, value)
        with self._lock:
            cell = self._cells.get(labels)
            if cell is None:
                cell = self._cells[labels] = _Cell(len(self.limits) + 1)
            cell.counts[index] += 1
            cell.total += value

    def count(self, labels: tuple[str, ...]) -> int:
        cell = self._cells.get(labels)
        return sum(cell.counts) if cell else 0

    def lines(self) -> Iterable[str]:
        yield f"# TYPE {self.name} histogram"
        with self._lock:
            cells = sorted((labels, list(cell.counts), cell.total) for labels, cell in self._cells.items())
        bounds = [_double(limit) for limit in self.limits] + ["+Inf"]
        for labels, counts, total in cells:
            label_text = _label_text(self.label_names, labels)
            prefix = f"{self.name}_bucket{{{','.join(label_text)}{',' if label_text else ''}"
            cumulative = 0
            for bound, count in zip(bounds, counts, strict=True):
                cumulative += count
                yield f'{prefix}le="{bound}"}} {cumulative}'
            yield f"{self.name}_sum{{{','.join(label_text)}}} {_double(total)}"
            yield f"{self.name}_count{{{','.join(label_text)}}} {cumulative}"


class TfServingMetrics:
    """The TF Serving families `modelops serve` keeps, updated from the request path and the loader."""

    def __init__(self) -> None:
        self.request_count = CounterFamily("/tensorflow/serving/request_count", ("model_name", "status"))
        self.request_latency = SamplerFamily(
            "/tensorflow/serving/request_latency", ("model_name", "API", "entrypoint"), LATENCY_BUCKETS_US)
        self.runtime_latency = SamplerFamily(
            "/tensorflow/serving/runtime_latency", ("model_name", "API", "runtime"), LATENCY_BUCKETS_US)
        self.queuing_latency = SamplerFamily(
            "/tensorflow/serving/batching_session/queuing_latency", ("thread_pool_name",), QUEUING_BUCKETS_US)
        self.wrapped_run_count = CounterFamily("/tensorflow/serving/batching_session/wrapped_run_count", ())
        self.load_attempt_count = CounterFamily(
            "/tensorflow/cc/saved_model/load_attempt_count", ("model_path", "status"))
        self.load_latency = CounterFamily("/tensorflow/cc/saved_model/load_latency", ("model_path",))
        # the exporter walks TF's registry, a std::map keyed by path: families come out sorted by path
        self.families: list[CounterFamily | SamplerFamily] = sorted(
            (self.request_count, self.request_latency, self.runtime_latency, self.queuing_latency,
             self.wrapped_run_count, self.load_attempt_count, self.load_latency),
            key=lambda family: family.path)

    def exposition(self) -> str:
        return "".join(line + "\n" for family in self.families for line in family.lines())
