"""The long-running check of #26, small: hundreds of evaluations and dozens of versions through the lifecycle
core and the operator shell's in-process state (bench/long_running.py, which runs thousands) leave the status,
the Prometheus exposition and the traced heap as large as they were a third of the way in."""

from __future__ import annotations

import importlib.util
import pathlib
import sys

_SPEC = importlib.util.spec_from_file_location(
    "bench_long_running", pathlib.Path(__file__).parents[2] / "bench" / "long_running.py")
assert _SPEC is not None and _SPEC.loader is not None
long_running = importlib.util.module_from_spec(_SPEC)
sys.modules[_SPEC.name] = long_running  # dataclasses look their module up while the class is built
_SPEC.loader.exec_module(long_running)

KEEP_RECORDS = 5


def test_status_metrics_and_heap_stay_flat_over_hundreds_of_evaluations() -> None:
    # The Event recorder's cache is bounded (kube/events.py, 4096 by default); 32 fills it early in so short a run.
    taken = long_running.run(evaluations=300, retrain_every=5, samples=6, keep_records=KEEP_RECORDS,
                             remembered_events=32)
    early, late = long_running.early_and_late(taken)
    assert late.versions >= 50 and late.versions > early.versions + 25  # versions kept being made
    # Records beyond keepRecords go; the serving, last blessed and open-episode versions may stay besides.
    assert late.records <= KEEP_RECORDS + 3, late
    assert late.status_bytes <= early.status_bytes * 1.05, (early, late)
    assert late.metrics_bytes <= early.metrics_bytes * 1.05, (early, late)
    assert late.heap_bytes <= early.heap_bytes * 1.25, (early, late)
