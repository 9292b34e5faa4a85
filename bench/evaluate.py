"""Evaluation throughput through the serving endpoint vs. in-process prediction, same machine, same model.

    python bench/evaluate.py [--rows 100000] [--batch-size N] [--concurrency 4] [--repeats 5]

Trains a small binary model with `modelops worker train`, serves it with `modelops serve` on loopback,
then measures rows/s of (a) the SavedModel's serving_default called in-process with the same batch
size (by default the one the evaluate stage chooses itself, `predict_client.request_rows`),
(b) `GrpcServingClient.predict` (TensorProtos over gRPC: what `modelops worker evaluate` uses
when the endpoint offers gRPC, the default) and (c) `ServingClient.predict` (REST, the fallback).
Each figure is whole passes over the data for at least --min-seconds; `ratio` is the median over
repeats of each repeat's served/in-process pair. The last line is the headline, `ratio` being the
path the evaluate stage uses (gRPC):
`ratio=<grpc/inprocess> path=grpc batch=<rows per request> grpc_rows_per_s=<v> rest_rows_per_s=<v> rest_ratio=<v>
inprocess_rows_per_s=<v>`.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from collections.abc import Callable
from pathlib import Path

import numpy as np

from modelops.serving.config import ServedModel, render_model_config
from modelops.workloads.cli import main as worker_main
from modelops.workloads.clients.grpc_client import GrpcServingClient
from modelops.workloads.clients.predict import request_rows
from modelops.workloads.clients.rest_client import ServingClient
from modelops.workloads.data.synthetic import make_dataset, write_csv

NAME = "bench"
FEATURES = 8

def _free_port() -> int:
    """tensorflow_model_server has no "any free port" (--port=0 is refused, --rest_api_port=0 is off)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]



def train(workdir: Path) -> Path:
    x, y, names = make_dataset("binary-classification", 2000, FEATURES, seed=1)
    config = {"stage": "train", "task": "binary-classification", "deployment": {"namespace": "default", "name": NAME},
              "version": 1, "storageRoot": str(workdir / "models"),
              "dataset": {"uri": str(write_csv(workdir / "train.csv", x, y, names))},
              "model": {"hiddenLayers": [32, 16]}, "hyperparameters": {"epochs": 3},
              "resultPath": str(workdir / "train.result")}
    (workdir / "train.json").write_text(json.dumps(config))
    if worker_main(["train", "--config", str(workdir / "train.json")]) != 0:
        raise SystemExit("training failed: " + (workdir / "train.result").read_text())
    return workdir / "models" / "default" / NAME


def start_server(workdir: Path, base_path: Path, extra_args: list[str]) -> tuple[subprocess.Popen, str, str]:
    config = workdir / "models.config"
    config.write_text(render_model_config([ServedModel(NAME, str(base_path), (1,))]))
    proc = subprocess.Popen([sys.executable, "-m", "modelops", "serve", "--rest_api_host=127.0.0.1",
                             f"--rest_api_port={_free_port()}", f"--port={_free_port()}",
                             f"--model_config_file={config}", *extra_args],
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
                            env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2"})
    port: list[int] = []
    grpc_port: list[int] = []

    def drain() -> None:
        assert proc.stderr is not None
        for line in proc.stderr:
            if found := re.search(r"Running gRPC ModelServer at [^:]+:(\d+)", line):
                grpc_port.append(int(found.group(1)))
            match = re.search(r"Exporting HTTP/REST API at:[^:]+:(\d+)", line)
            if match and not port:
                port.append(int(match.group(1)))

    threading.Thread(target=drain, daemon=True).start()
    deadline = time.monotonic() + 180
    while time.monotonic() < deadline and proc.poll() is None:
        if port and _available(f"http://127.0.0.1:{port[0]}"):
            return proc, f"http://127.0.0.1:{port[0]}", f"127.0.0.1:{grpc_port[0]}"
        time.sleep(0.2)
    proc.kill()
    raise SystemExit("modelops serve did not become ready")


def _available(url: str) -> bool:
    try:
        with urllib.request.urlopen(f"{url}/v1/models/{NAME}/versions/1", timeout=2) as response:
            return json.load(response)["model_version_status"][0]["state"] == "AVAILABLE"
    except (OSError, ValueError, KeyError, IndexError):
        return False


def timed_passes(one_pass: Callable[[], None], rows: int, min_seconds: float) -> float:
    """Rows/s over whole passes through the data, repeated for at least `min_seconds`: one 100k-row
    pass takes only tens of milliseconds, about a scheduler time slice on a shared machine."""
    passes, started = 0, time.perf_counter()
    while True:
        one_pass()
        passes += 1
        elapsed = time.perf_counter() - started
        if elapsed >= min_seconds:
            return rows * passes / elapsed


def in_process_rate(version_dir: Path, x: np.ndarray, batch_size: int, min_seconds: float) -> float:
    import tensorflow as tf

    signature = tf.saved_model.load(str(version_dir)).signatures["serving_default"]
    signature(features=tf.constant(x[:batch_size]))  # warm-up: first call traces

    def one_pass() -> None:
        for start in range(0, len(x), batch_size):
            signature(features=tf.constant(x[start:start + batch_size]))["probabilities"].numpy()

    return timed_passes(one_pass, len(x), min_seconds)


def client_rate(client: ServingClient | GrpcServingClient, x: np.ndarray, batch_size: int,
                min_seconds: float) -> float:
    """Each pass is one whole `predict` as the evaluate stage makes it (connection, metadata, batches)."""
    client.predict(x[:batch_size], version=1, batch_size=batch_size)  # warm-up

    def one_pass() -> None:
        out = client.predict(x, version=1, batch_size=batch_size)
        assert out.shape == (len(x), 1)

    return timed_passes(one_pass, len(x), min_seconds)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=100000)
    parser.add_argument("--batch-size", type=int, default=request_rows(FEATURES),
                        help="rows per request (default: what the evaluate stage chooses for this width)")
    parser.add_argument("--concurrency", type=int, default=4)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--min-seconds", type=float, default=0.5, help="each figure: passes for at least this long")
    parser.add_argument("--enable-batching", action="store_true", help="start modelops serve --enable_batching")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="modelops-bench-") as tmp:
        workdir = Path(tmp)
        base_path = train(workdir)
        x, _, _ = make_dataset("binary-classification", args.rows, FEATURES, seed=2)
        x = x.astype(np.float32)
        proc, url, target = start_server(workdir, base_path, ["--enable_batching"] if args.enable_batching else [])
        try:
            client = ServingClient(url, NAME, timeout_seconds=30, retries=2, concurrency=args.concurrency)
            grpc_client = GrpcServingClient(target, NAME, timeout_seconds=30, retries=2, concurrency=args.concurrency,
                                            output_key="probabilities")
            local, rest, grpc_rates = [], [], []
            for _ in range(args.repeats):  # interleaved, so all three see the same background load
                local.append(in_process_rate(base_path / "1", x, args.batch_size, args.min_seconds))
                grpc_rates.append(client_rate(grpc_client, x, args.batch_size, args.min_seconds))
                rest.append(client_rate(client, x, args.batch_size, args.min_seconds))
        finally:
            proc.terminate()
            proc.wait(timeout=30)
    # ratios pair by pair (each served figure against the in-process one measured next to it), median
    # over repeats: robust to the machine's speed drifting between repeats
    grpc_ratios = [served / inprocess for served, inprocess in zip(grpc_rates, local, strict=True)]
    rest_ratios = [served / inprocess for served, inprocess in zip(rest, local, strict=True)]
    print(f"rows={args.rows} batch_size={args.batch_size} concurrency={args.concurrency} repeats={args.repeats} "
          f"server_batching={args.enable_batching}")
    print(f"inprocess rows/s per repeat: {', '.join(f'{r:.0f}' for r in local)}")
    print(f"grpc rows/s per repeat:      {', '.join(f'{r:.0f}' for r in grpc_rates)}")
    print(f"rest rows/s per repeat:      {', '.join(f'{r:.0f}' for r in rest)}")
    print(f"grpc/inprocess per repeat:   {', '.join(f'{r:.3f}' for r in grpc_ratios)}")
    print(f"ratio={statistics.median(grpc_ratios):.3f} path=grpc batch={args.batch_size} "
          f"grpc_rows_per_s={statistics.median(grpc_rates):.0f} rest_rows_per_s={statistics.median(rest):.0f} "
          f"rest_ratio={statistics.median(rest_ratios):.3f} inprocess_rows_per_s={statistics.median(local):.0f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
