"""Long-running check of #26: does anything grow with the number of evaluations or versions?

    python bench/long_running.py [--evaluations 3000] [--retrain-every 10] [--samples 10] [--keep-records N]
                                 [--remembered-events 4096]

One ModelDeployment (the binary-classification sample, 1-minute monitoring interval) is driven through the
real lifecycle core (`modelops.lifecycle.decide`) by a simulated runtime that answers every action as the
operator's does: a stage in flight finishes with a result (train: a loss; validate: gates pass, every
fourth candidate is rejected by its accuracy gate; evaluate: a fresh monitoring batch with its own content
hash and a drift summary, and every --retrain-every-th evaluation below the accuracy floor, which opens a
retrain), a new rollout is reported ready, every DeleteVersion is confirmed (`VersionPruned`). Each decision
also goes through the operator shell's in-process state: `OperatorMetrics.observe_status` (the Prometheus
series) and `EventRecorder.post` for each Event (its API is a sink: what is measured here is the recorder's
memory, not the API server).

Printed at --samples points: evaluations, versions made, the most records status.versions held and the
largest the status was as JSON in bytes (what the operator writes to the CR and the local runtime to its
state file) and the Prometheus exposition since the previous point, the Python heap traced by tracemalloc
after a gc, and the process RSS. "early" is the first sample
past a third of the run (after retention has had versions to act on), "late" the last; the headline is the
late/early ratio of each, ~1.0 when flat:
`evaluations=<n> versions=<n> status_bytes_early=<b> status_bytes_late=<b> status_ratio=<r> heap_ratio=<r>
rss_ratio=<r> metrics_ratio=<r> records_late=<n>`.

Not measured here: the append-only logs of the local runtime (history.jsonl and events.jsonl grow by one
line per evaluation/Event by design; `modelops status` reads their tail) and per-object maps keyed by
ModelDeployment (they grow with objects, not evaluations).
"""

from __future__ import annotations

import argparse
import copy
import gc
import hashlib
import json
import os
import time
import tracemalloc
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import yaml
from prometheus_client import generate_latest

from modelops.api import parse_model_deployment
from modelops.kube.events import MAX_REMEMBERED, EventRecorder
from modelops.kube.metrics import OperatorMetrics
from modelops.lifecycle import (
    Context,
    Decision,
    DeleteVersion,
    EmitEvent,
    Reconcile,
    ServingObserved,
    StageFinished,
    VersionPruned,
    decide,
)

SAMPLE = Path(__file__).resolve().parents[1] / "manifests" / "samples" / "binary-classification.yaml"
NAMESPACE, NAME = "bench", "churn"
GOOD = {"accuracy": 0.9, "auc": 0.93, "precision": 0.9, "recall": 0.9, "f1": 0.9, "loss": 0.3}
INTERVAL = timedelta(minutes=1)


def bench_spec(keep_records: int | None = None) -> dict[str, Any]:
    doc = yaml.safe_load(SAMPLE.read_text())
    doc["metadata"] = {"name": NAME, "namespace": NAMESPACE}
    spec = doc["spec"]
    spec["monitoring"]["interval"] = "1m"
    spec.setdefault("retraining", {}).update({"cooldown": "1s", "maxAttempts": 3})
    if keep_records is not None:
        spec.setdefault("retention", {})["keepRecords"] = keep_records
    return parse_model_deployment(doc).spec


class _EventSink:
    """The Event API as far as EventRecorder needs it, keeping nothing."""

    def create(self, obj: dict[str, Any]) -> dict[str, Any]:
        return obj

    def patch(self, *_: Any, **__: Any) -> dict[str, Any]:
        return {}


def _sha(*parts: object) -> str:
    return hashlib.sha256(":".join(map(str, parts)).encode()).hexdigest()


def _drift(evaluation: int, drifted: bool) -> dict[str, Any]:
    """An evaluate stage's drift summary (the shape of workloads/drift/measure.summarize_drift)."""
    p_values = [1e-9, 0.4, 0.7] if drifted else [0.3 + (evaluation % 7) / 20, 0.6, 0.8]
    psi = [3.1, 0.1, 0.05] if drifted else [0.05, 0.04, 0.02]
    features = [{"name": f"f{i}", "type": "numeric", "test": "ks", "statistic": 0.1, "pValue": p, "psi": e,
                 "js": 0.1, "ks": 0.1} for i, (p, e) in enumerate(zip(p_values, psi, strict=True))]
    return {"rows": 500, "tested": 3, "ranked": {"pValue": p_values, "psi": psi, "js": [0.1] * 3, "ks": [0.1] * 3},
            "features": features, "maxPsi": max(psi), "maxKs": 0.1, "maxJs": 0.1,
            "driftedFeature": "f0" if drifted else None}


@dataclass
class SimulatedRuntime:
    """Answers the core as a healthy runtime would, and feeds each decision through the operator shell."""

    spec: dict[str, Any]
    retrain_every: int = 10
    now: datetime = datetime(2026, 1, 1, tzinfo=UTC)
    status: dict[str, Any] = field(default_factory=dict)
    evaluations: int = 0
    validations: int = 0
    metrics: OperatorMetrics = field(default_factory=OperatorMetrics)
    remembered_events: int = MAX_REMEMBERED  # the recorder's bounded cache of posted Events
    events: EventRecorder = field(init=False)

    def __post_init__(self) -> None:
        self.events = EventRecorder(_EventSink(), max_remembered=self.remembered_events)  # type: ignore[arg-type]

    def feed(self, observation: Any) -> Decision:
        decision = decide(Context(self.spec, 1, self.now), copy.deepcopy(self.status), observation)
        self.status = decision.status
        self.metrics.observe_status(NAMESPACE, NAME, self.status)
        owner = {"metadata": {"name": NAME, "namespace": NAMESPACE, "uid": "bench-uid"}}
        for action in decision.actions:
            if isinstance(action, EmitEvent):
                self.events.post(owner, action.type, action.reason, action.message)
        for action in decision.actions:
            if isinstance(action, DeleteVersion):  # the files are gone: confirm, as the prune Job does
                self.feed(VersionPruned(action.version, True))
        return decision

    def step(self) -> None:
        stage = self.status.get("stage")
        if stage:
            self.feed(StageFinished(stage["id"], True, self._result(stage)))
            return
        rollout = self.status.get("rollout") or {}
        pinned = {"stable": rollout.get("stable"), "canary": rollout.get("canary")} if rollout else None
        if rollout and self.status.get("servingVersion") != rollout.get("stable"):
            self.feed(ServingObserved(frozenset(v for v in pinned.values() if v), pinned))
            return
        self.now += INTERVAL
        self.feed(Reconcile())

    def _result(self, stage: Mapping[str, Any]) -> dict[str, Any]:
        if stage["name"] == "train":
            return {"metrics": {"loss": 0.2}, "lineage": {"data": [{"role": "training", "uri": "/d/train.csv",
                                                                    "sha256": _sha("train"), "rows": 1500}]}}
        if stage["name"] == "validate":
            self.validations += 1
            accuracy = 0.5 if self.validations % 4 == 0 else 0.9
            candidate = {**GOOD, "accuracy": accuracy}
            return {"metrics": candidate, "baselineMetrics": {**GOOD, "accuracy": 0.6},
                    "challenge": {"rows": 100, "candidate": {"accuracy": accuracy},
                                  "baseline": {"accuracy": 0.6}}}
        self.evaluations += 1
        degraded = self.evaluations % self.retrain_every == 0
        batch = {"role": "monitoring", "uri": "/d/live.csv", "sha256": _sha("live", self.evaluations), "rows": 500}
        return {"metrics": {"accuracy": 0.6 if degraded else 0.9, "auc": 0.9}, "drift": _drift(self.evaluations,
                                                                                             degraded),
                "lineage": {"data": batch, "retrainInputs": [{"role": "training", "uri": "/d/train.csv",
                                                              "sha256": _sha("train"), "rows": 1500}]}}


@dataclass(frozen=True)
class Sample:
    """One sampling point; records, status bytes and exposition bytes are the peaks since the previous
    point (they breathe with the phase: a candidate's record and series come and go), the heap and RSS the
    values at the point."""

    evaluations: int
    versions: int
    records: int
    status_bytes: int
    heap_bytes: int
    rss_bytes: int
    metrics_bytes: int


def rss_bytes() -> int:
    """Resident set size now (not the peak), from /proc; 0 where there is no /proc."""
    try:
        pages = int(Path("/proc/self/statm").read_text().split()[1])
    except (OSError, IndexError, ValueError):
        return 0
    return pages * os.sysconf("SC_PAGE_SIZE")


def run(evaluations: int, retrain_every: int = 10, samples: int = 10, keep_records: int | None = None,
        on_sample: Callable[[Sample], None] = lambda sample: None,
        remembered_events: int = MAX_REMEMBERED) -> list[Sample]:
    """Drive `evaluations` evaluations and sample `samples` times, evenly spaced. A short run may shrink
    the Event recorder's cache (`remembered_events`) so that it is full, i.e. at its bound, early."""
    runtime = SimulatedRuntime(bench_spec(keep_records), retrain_every, remembered_events=remembered_events)
    marks = {max(1, round(evaluations * (i + 1) / samples)) for i in range(samples)}
    taken: list[Sample] = []
    peak_records = peak_bytes = peak_metrics = 0
    tracemalloc.start()
    try:
        runtime.feed(Reconcile())
        while runtime.evaluations < evaluations:
            before = runtime.evaluations
            runtime.step()
            status = runtime.status
            peak_records = max(peak_records, len(status.get("versions") or []))
            peak_bytes = max(peak_bytes, len(json.dumps(status, separators=(",", ":"))))
            peak_metrics = max(peak_metrics, len(generate_latest(runtime.metrics.registry)))
            if runtime.evaluations != before and runtime.evaluations in marks:
                gc.collect()
                sample = Sample(runtime.evaluations, int(status.get("latestVersion") or 0), peak_records, peak_bytes,
                                tracemalloc.get_traced_memory()[0], rss_bytes(), peak_metrics)
                taken.append(sample)
                on_sample(sample)
                peak_records = peak_bytes = peak_metrics = 0
    finally:
        tracemalloc.stop()
    return taken


def early_and_late(taken: list[Sample]) -> tuple[Sample, Sample]:
    """The first sample past a third of the run, and the last."""
    third = taken[-1].evaluations / 3
    return next(s for s in taken if s.evaluations >= third), taken[-1]


def ratio(late: float, early: float) -> float:
    return late / early if early else float("inf")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--evaluations", type=int, default=3000)
    parser.add_argument("--retrain-every", type=int, default=10, help="every N-th evaluation is degraded")
    parser.add_argument("--samples", type=int, default=10)
    parser.add_argument("--keep-records", type=int, default=None, help="spec.retention.keepRecords (default: "
                        "the schema's)")
    parser.add_argument("--remembered-events", type=int, default=MAX_REMEMBERED,
                        help="the Event recorder's cache bound (filling it grows the heap until it is full)")
    args = parser.parse_args()
    print(f"{'evaluations':>11} {'versions':>8} {'records':>7} {'status B':>9} {'heap B':>10} {'rss B':>11} "
          f"{'metrics B':>9} {'s':>6}")
    started = time.perf_counter()

    def show(s: Sample) -> None:
        print(f"{s.evaluations:>11} {s.versions:>8} {s.records:>7} {s.status_bytes:>9} {s.heap_bytes:>10} "
              f"{s.rss_bytes:>11} {s.metrics_bytes:>9} {time.perf_counter() - started:>6.1f}", flush=True)

    taken = run(args.evaluations, args.retrain_every, args.samples, args.keep_records, show, args.remembered_events)
    early, late = early_and_late(taken)
    print(f"evaluations={late.evaluations} versions={late.versions} status_bytes_early={early.status_bytes} "
          f"status_bytes_late={late.status_bytes} status_ratio={ratio(late.status_bytes, early.status_bytes):.3f} "
          f"heap_ratio={ratio(late.heap_bytes, early.heap_bytes):.3f} "
          f"rss_ratio={ratio(late.rss_bytes, early.rss_bytes):.3f} "
          f"metrics_ratio={ratio(late.metrics_bytes, early.metrics_bytes):.3f} records_late={late.records}")


if __name__ == "__main__":
    main()
