"""The long-running check of #26, small: a hundred evaluations and dozens of versions through the lifecycle
core and the operator shell's in-process state (bench/long_running.py, which runs thousands) leave the status,
the Prometheus exposition and the traced heap no larger in the second half of the run than in the first."""

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


def test_status_metrics_and_heap_stay_flat_over_a_hundred_evaluations() -> None:
    def bounded(sample) -> None:  # checked as it runs: an unbounded status makes each step slower
        # Records beyond keepRecords go; the serving, last blessed and open-episode versions may stay besides.
        assert sample.records <= KEEP_RECORDS + 3, sample

    # The Event recorder's cache is bounded (kube/events.py, 4096 by default); 32 fills it early in so short a run.
    taken = long_running.run(evaluations=120, retrain_every=3, samples=6, keep_records=KEEP_RECORDS,
                             remembered_events=32, on_sample=bounded)
    first, second = taken[1:3], taken[3:]  # the first sample is the warm-up: retention has not acted yet
    assert second[-1].versions >= 35 and second[-1].versions > first[-1].versions + 15  # versions kept coming
    for measure, slack in (("status_bytes", 1.05), ("metrics_bytes", 1.05), ("heap_bytes", 1.25)):
        early, late = (max(getattr(s, measure) for s in half) for half in (first, second))
        assert late <= early * slack, (measure, taken)
