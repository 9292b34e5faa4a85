"""Wall time of one hyperparameter search with 1 vs 2 trials at once, in one run, through the product's path.

    python bench/tuning.py [--trials 8] [--rows 1500] [--epochs 10]

Runs the tune stage with the local runtime's StageExecutor twice on one generated dataset and the same
seeded search (KerasTuner RandomSearch over the learning rate and the layer width):
parallelism 1 is one process that searches alone; parallelism 2 is KerasTuner's distributed mode, a chief
process holding the oracle and two tuner processes asking it for trials over loopback gRPC.
Wall time covers process start, TensorFlow import and every trial. The headline is the last line:
`speedup=<parallelism-1 seconds / parallelism-2 seconds> trials=<n> ...`.
"""

from __future__ import annotations

import argparse
import json
import resource
import tempfile
import time
from pathlib import Path

from modelops.lifecycle import StartStage
from modelops.local.executor.stages import StageExecutor
from modelops.local.state_store import StateStore
from modelops.workloads.data.synthetic import make_dataset, write_csv

FEATURES = 8


def search_seconds(workdir: Path, parallelism: int, args: argparse.Namespace) -> tuple[float, dict]:
    name = f"p{parallelism}"
    spec = {"task": "binary-classification", "training": {
        "model": {"hiddenLayers": [32]},
        "hyperparameters": {"epochs": args.epochs, "batchSize": 32, "seed": 3, "validationSplit": 0.0,
                            "earlyStopping": {"enabled": False}},
        "tuning": {"enabled": True, "algorithm": "random", "maxTrials": args.trials, "parallelism": parallelism,
                   "objective": "accuracy", "trialDeadline": "10m",
                   "searchSpace": {"learningRate": {"min": 0.001, "max": 0.1},
                                   "hiddenLayers": {"units": {"min": 8, "max": 64, "step": 8}}}}}}
    executor = StageExecutor(StateStore(workdir / "state", "default", name), spec, workdir, "http://127.0.0.1:1")
    cpu_before = _children_cpu()
    started = time.monotonic()
    executor.start(StartStage("tune", 1, "tune-v1", {"uri": str(workdir / "train.csv")}))
    while not (finished := executor.poll()):
        time.sleep(0.05)
    elapsed = time.monotonic() - started
    time.sleep(0.5)  # let the executor reap the tuners that ended just before the chief
    if not finished[0].succeeded:
        raise SystemExit(f"{name}: the search failed: {json.dumps(finished[0].result)[:500]}")
    return elapsed, {**finished[0].result, "cpuSeconds": _children_cpu() - cpu_before}


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trials", type=int, default=8)
    parser.add_argument("--rows", type=int, default=1500)
    parser.add_argument("--epochs", type=int, default=10)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-tuning-") as tmp:
        workdir = Path(tmp)
        x, y, names = make_dataset("binary-classification", args.rows, FEATURES, seed=21)
        write_csv(workdir / "train.csv", x, y, names)
        alone, alone_result = search_seconds(workdir, 1, args)
        print(f"parallelism 1: {alone:.1f}s wall, {alone_result['cpuSeconds']:.1f}s CPU, "
              f"best {alone_result['objective']}", flush=True)
        wide, wide_result = search_seconds(workdir, 2, args)
        print(f"parallelism 2: {wide:.1f}s wall, {wide_result['cpuSeconds']:.1f}s CPU, "
              f"best {wide_result['objective']}", flush=True)
        trials = wide_result["trials"]["total"]
        assert alone_result["trials"]["total"] == trials == args.trials
        print(f"speedup={alone / wide:.2f} trials={trials} parallelism1_s={alone:.1f} parallelism2_s={wide:.1f} "
              f"rows={args.rows} epochs={args.epochs}")


if __name__ == "__main__":
    main()
