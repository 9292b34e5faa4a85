"""Training throughput of 1 vs 2 workers on the same data, in one run, through the product's own path.

    python bench/distributed.py [--rows 6000] [--epochs 4] [--batch-size 64]

Runs the train stage with the local runtime's StageExecutor twice on one generated dataset:
1 worker (Keras' fit: what `workers: 1` runs) and 2 workers (two processes, TensorFlow's collectives
over loopback gRPC, each taking half of every global batch).
Examples/s = rows x epochs / wall time of the stage, process start and TensorFlow import included.
The last line is the headline: `scaling=<2 workers / 1 worker examples/s> workers=2 ...`.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

from modelops.lifecycle import StartStage
from modelops.local.executor.stages import StageExecutor
from modelops.local.state_store import StateStore
from modelops.workloads.data.synthetic import make_dataset, write_csv

FEATURES = 8


def train_seconds(workdir: Path, name: str, workers: int, args: argparse.Namespace) -> float:
    spec = {"task": "binary-classification", "training": {
        "workers": workers, "model": {"hiddenLayers": [64, 32]},
        "hyperparameters": {"epochs": args.epochs, "batchSize": args.batch_size, "validationSplit": 0.0,
                            "earlyStopping": {"enabled": False}}}}
    executor = StageExecutor(StateStore(workdir / "state", "default", name), spec, workdir, "http://127.0.0.1:1")
    started = time.monotonic()
    executor.start(StartStage("train", 1, "train-v1", {"uri": str(workdir / "train.csv")}))
    while not (finished := executor.poll()):
        time.sleep(0.05)
    elapsed = time.monotonic() - started
    if not finished[0].succeeded:
        raise SystemExit(f"{name}: training failed: {finished[0].result}")
    return elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=6000)
    parser.add_argument("--epochs", type=int, default=4)
    parser.add_argument("--batch-size", type=int, default=64)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="modelops-bench-dist-") as tmp:
        workdir = Path(tmp)
        x, y, names = make_dataset("binary-classification", args.rows, FEATURES, 11)
        write_csv(workdir / "train.csv", x, y, names)
        examples = args.rows * args.epochs
        one = examples / train_seconds(workdir, "one", 1, args)
        two = examples / train_seconds(workdir, "two", 2, args)
    print(f"1 worker (fit): {one:.0f} examples/s; 2 workers (MultiWorkerMirroredStrategy): {two:.0f} examples/s")
    print(f"scaling={two / one:.2f} workers=2 one_worker_examples_per_s={one:.0f} "
          f"two_workers_examples_per_s={two:.0f} rows={args.rows} epochs={args.epochs} batch_size={args.batch_size}")


if __name__ == "__main__":
    main()
