"""The long-running check of #26, small: a hundred evaluations and dozens of versions through the lifecycle
core and the operator shell's in-process state (bench/long_running.py, which runs thousands) leave the status,
the Prometheus exposition and the traced heap no larger in the second half of the run than in the first.

The run happens in a fresh interpreter: tracemalloc counts the whole process, and in a test session other
threads allocate beside it (a pod runner's informers, in-process operators of earlier tests)."""

from __future__ import annotations

import json
import pathlib
import subprocess
import sys

BENCH = pathlib.Path(__file__).parents[2] / "bench" / "long_running.py"
KEEP_RECORDS = 5
# The Event recorder's cache is bounded (kube/events.py, 4096 by default); 32 fills it early in so short a run.
RUN = f"""
import dataclasses, importlib.util, json, sys
spec = importlib.util.spec_from_file_location("bench_long_running", {str(BENCH)!r})
bench = importlib.util.module_from_spec(spec)
sys.modules[spec.name] = bench  # dataclasses look their module up while the class is built
spec.loader.exec_module(bench)
taken = bench.run(evaluations=120, retrain_every=3, samples=6, keep_records={KEEP_RECORDS}, remembered_events=32)
print(json.dumps([dataclasses.asdict(sample) for sample in taken]))
"""


def test_status_metrics_and_heap_stay_flat_over_a_hundred_evaluations() -> None:
    done = subprocess.run([sys.executable, "-c", RUN], capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-4000:]
    taken = json.loads(done.stdout.strip().splitlines()[-1])
    # Records beyond keepRecords go; the serving, last blessed and open-episode versions may stay besides.
    assert all(sample["records"] <= KEEP_RECORDS + 3 for sample in taken), taken
    first, second = taken[1:3], taken[3:]  # the first sample is the warm-up: retention has not acted yet
    assert second[-1]["versions"] >= 35 and second[-1]["versions"] > first[-1]["versions"] + 15  # versions came
    for measure, slack in (("status_bytes", 1.05), ("metrics_bytes", 1.05), ("heap_bytes", 1.25)):
        early, late = (max(sample[measure] for sample in half) for half in (first, second))
        assert late <= early * slack, (measure, taken)
