"""Benchmark `modelops serve`: 32 concurrent clients sending single-row predicts on loopback, and the
serving cost of in-graph preprocessing.

Builds two SavedModels with the product's own code (workloads/model: keras_model.build_model, export.py),
so each serves the real contract: one named input per feature, `instances` as objects.
- `numeric`: 8 numeric features (prepared width 16: value and missing flag each) -> Dense 64 relu ->
  Dense 64 relu -> Dense 3 softmax; its preprocessing is normalisation only.
- `penguins`: the penguins example's table (examples/penguins/penguins.csv: 4 numbers, 2 text columns,
  missing cells; prepared width 17) -> the same body; its preprocessing adds StringLookups and one-hots.
- `plain`: the same dense body over one `features` [batch, 17] tensor, no preprocessing (a tf.Module, as
  this benchmark served before issue #25): the floor.
Weights are untrained: the cost of a call does not depend on them.
For each model it measures the in-process rate of unbatched single-row `serving_default` calls (the
baseline), then drives one `modelops serve` with dynamic batching serving both, bounded load (count and
time), keep-alive HTTP/1.1, the models in turn.
ratio = server throughput / in-process unbatched call rate: above 1.0 means serving over HTTP with
batching beats calling the model one row at a time in-process.
`--grpc` also drives the numeric model through TF Serving's gRPC `PredictionService/Predict` (one
HTTP/2 connection per client, the request serialised once as the REST client pre-builds its bytes;
raw frames, grpc_wire.py, as the REST client writes raw HTTP/1.1: client CPU is server CPU here).
Last line (numeric model): `ratio=<x> p50_ms=<x> p99_ms=<x> rest_rps=<x> server_cpu_us_per_req=<x>`, then the
preprocessing cost `mixed_rps=<x> mixed_p99_ms=<x> mixed_cpu_us_per_req=<x> mixed_vs_numeric_rps=<x>
mixed_vs_numeric_cpu=<x> mixed_vs_numeric_inprocess=<x> mixed_vs_numeric_bulk=<x> plain_rps=<x>
plain_cpu_us_per_req=<x> mixed_vs_plain_{rps,cpu,inprocess,bulk}=<x>` (penguins / numeric and penguins / plain,
same run; `bulk`: rows/s in-process in calls of 1024 rows, where the graph's compute, not the per-call overhead,
dominates). The models' loads (and bulk calls) run in the order A B C C B A, each half the bound, and with `--grpc`
also `grpc_rps=<x> grpc_p50_ms=<x> grpc_p99_ms=<x> grpc_ratio=<x> grpc_server_cpu_us_per_req=<x>
grpc_vs_rest=<gRPC req/s / REST req/s, same run>`.
"""

from __future__ import annotations

import argparse
import asyncio
import csv
import itertools
import json
import math
import os
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path
from typing import Any

import numpy as np
from grpc_wire import UnaryClient

REPO = Path(__file__).resolve().parents[1]
PENGUINS_CSV = REPO / "examples" / "penguins" / "penguins.csv"
TASK, HIDDEN, N_NUMERIC = "multiclass-classification", (64, 64), 8
BULK = 1024  # rows per in-process call for the compute-bound ratio
MODELS = ("plain", "numeric", "penguins")
PLAIN_WIDTH = 17  # the penguins model's prepared width: the plain model is its body without preprocessing


def _numeric_csv(path: Path) -> Path:
    """300 rows of N_NUMERIC decimals and a three-class label: a table whose columns are all numeric."""
    rng = np.random.default_rng(7)
    with path.open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow([*(f"x{i}" for i in range(N_NUMERIC)), "label"])
        for values in rng.normal(0, 1, (300, N_NUMERIC)).round(4):
            writer.writerow([*values.tolist(), "abc"[int(values[0] > 0) + int(values[1] > 0)]])
    return path


def build_model(name: str, version_dir: str, tmp: str) -> dict[str, Any]:
    """The product's model over the named table, exported to `version_dir`; returns one served row of it
    (the table's first complete row, as `instances` objects take it)."""
    from modelops.workloads.config.stage import DatasetSpec, ModelSpec
    from modelops.workloads.data.labels import infer_classes
    from modelops.workloads.data.table_reader import load_table
    from modelops.workloads.model.export import export_saved_model
    from modelops.workloads.model.keras_model import build_model as build_keras

    if name == "plain":
        return _plain_mlp(version_dir)
    if name == "penguins":
        spec = DatasetSpec(str(PENGUINS_CSV), label_column="species", ignore_columns=("year",))
    else:
        spec = DatasetSpec(str(_numeric_csv(Path(tmp) / "numeric.csv")))
    table = load_table(spec, TASK)
    classes = infer_classes(table.labels, TASK)
    model = build_keras(table, TASK, classes, spec=ModelSpec(hidden_layers=HIDDEN), optimizer="adam",
                        learning_rate=0.01)
    export_saved_model(model, Path(version_dir), TASK, table.kinds, classes)
    for index in range(len(table.labels)):
        row = {c: table.columns[c][index] for c in table.feature_names}
        if all(v is not None and not (isinstance(v, float) and math.isnan(v)) for v in row.values()):
            return {c: v if table.kinds[c] == "categorical" else round(float(v), 4) for c, v in row.items()}
    raise SystemExit(f"{name}: no complete row")


def _plain_mlp(version_dir: str) -> dict[str, Any]:
    """The same dense body over one `features` [batch, 17] tensor with no preprocessing at all: the floor
    the preprocessed models are compared with."""
    import tensorflow as tf

    class MLP(tf.Module):
        def __init__(self) -> None:
            super().__init__()
            rng = np.random.default_rng(7)
            sizes = [PLAIN_WIDTH, *HIDDEN, 3]
            self.kernels = [tf.Variable(rng.normal(0, 0.3, (a, b)).astype("float32"))
                            for a, b in itertools.pairwise(sizes)]
            self.biases = [tf.Variable(np.zeros(b, "float32")) for b in sizes[1:]]

        @tf.function(input_signature=[tf.TensorSpec([None, PLAIN_WIDTH], tf.float32, name="features")])
        def serve(self, features):
            hidden = features
            for kernel, bias in zip(self.kernels[:-1], self.biases[:-1], strict=True):
                hidden = tf.nn.relu(hidden @ kernel + bias)
            return {"probabilities": tf.nn.softmax(hidden @ self.kernels[-1] + self.biases[-1])}

    module = MLP()
    tf.saved_model.save(module, version_dir, signatures={"serving_default": module.serve})
    return {"features": np.random.default_rng(2).random(PLAIN_WIDTH).round(4).tolist()}


def unbatched_call_rate(path: str, row: dict[str, Any], seconds: float, max_calls: int, batch: int = 1) -> float:
    """Signature calls per second in-process, each with `batch` copies of the row (1: unbatched)."""
    import tensorflow as tf

    signature = tf.saved_model.load(path).signatures["serving_default"]
    tensors = {c: tf.constant([v] * batch) if isinstance(v, str) else tf.constant([v] * batch, tf.float32)
               for c, v in row.items()}
    for _ in range(50):
        signature(**tensors)
    calls, started = 0, time.perf_counter()
    while calls < max_calls and time.perf_counter() - started < seconds:
        signature(**tensors)
        calls += 1
    return calls / (time.perf_counter() - started)


def interleaved(measure: Any, names: tuple[str, ...] = MODELS) -> dict[str, list[Any]]:
    """`measure(name)` in the order A B C C B A: on a shared machine the load drifts, and each model gets one
    early and one late slot."""
    results: dict[str, list[Any]] = {name: [] for name in names}
    for name in (*names, *reversed(names)):
        results[name].append(measure(name))
    return results


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_available(port: int, model: str, timeout: float, server: subprocess.Popen) -> None:
    deadline = time.monotonic() + timeout
    url = f"http://127.0.0.1:{port}/v1/models/{model}"
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise SystemExit(f"modelops serve exited early with code {server.returncode}")
        try:
            with urllib.request.urlopen(url, timeout=1) as response:
                if json.load(response)["model_version_status"][0]["state"] == "AVAILABLE":
                    return
        except OSError:
            pass
        time.sleep(0.2)
    raise SystemExit(f"model {model} not AVAILABLE on port {port} within {timeout}s")


async def _client(port: int, request: bytes, budget: list[int], deadline: float, latencies: list[float],
                  failures: list[str]) -> None:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        while budget[0] > 0 and time.perf_counter() < deadline:
            budget[0] -= 1
            started = time.perf_counter()
            writer.write(request)
            head = await reader.readuntil(b"\r\n\r\n")
            length = 0
            for line in head.split(b"\r\n"):
                if line[:15].lower() == b"content-length:":
                    length = int(line[15:])
            body = await reader.readexactly(length)
            latencies.append(time.perf_counter() - started)
            if not head.startswith(b"HTTP/1.1 200"):
                failures.append(head.split(b"\r\n", 1)[0].decode() + " " + body[:200].decode(errors="replace"))
    finally:
        writer.close()


async def drive(
    port: int, model: str, row: dict[str, Any], clients: int, requests: int, seconds: float
) -> tuple[list[float], list[str], float]:
    body = json.dumps({"instances": [row]}).encode()  # TF Serving's row format, the instance as an object
    request = (
        f"POST /v1/models/{model}:predict HTTP/1.1\r\nHost: 127.0.0.1\r\n"
        f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n\r\n"
    ).encode() + body
    latencies: list[float] = []
    failures: list[str] = []
    budget = [requests]
    started = time.perf_counter()
    await asyncio.gather(
        *(_client(port, request, budget, started + seconds, latencies, failures) for _ in range(clients))
    )
    return latencies, failures, time.perf_counter() - started


async def _grpc_client(port: int, request: bytes, budget: list[int], deadline: float,
                       latencies: list[float], failures: list[str]) -> None:
    # raw HTTP/2 frames, as the REST client writes raw HTTP/1.1: neither pays a client library's cost
    client = UnaryClient("127.0.0.1", port, "/tensorflow.serving.PredictionService/Predict", request)
    await client.connect()
    try:
        while budget[0] > 0 and time.perf_counter() < deadline:
            budget[0] -= 1
            started = time.perf_counter()
            failure = await client.call()
            latencies.append(time.perf_counter() - started)
            if failure is not None:
                failures.append(failure)
    finally:
        client.close()


async def drive_grpc(port: int, model: str, row: dict[str, Any], clients: int, requests: int, seconds: float
                     ) -> tuple[list[float], list[str], float]:
    import tensorflow as tf
    from tensorflow_serving.apis import predict_pb2

    message = predict_pb2.PredictRequest()
    message.model_spec.name = model
    for column, value in row.items():  # one [1] tensor per named input
        array = np.array([value], dtype=object if isinstance(value, str) else np.float32)
        message.inputs[column].CopyFrom(tf.make_tensor_proto(array))
    request = message.SerializeToString()
    latencies: list[float] = []
    failures: list[str] = []
    budget = [requests]
    started = time.perf_counter()
    await asyncio.gather(*(_grpc_client(port, request, budget, started + seconds, latencies,
                                        failures) for _ in range(clients)))
    return latencies, failures, time.perf_counter() - started


def cpu_seconds(pid: int) -> float:
    """utime + stime of a process, from /proc (Linux)."""
    with open(f"/proc/{pid}/stat") as handle:
        fields = handle.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _model_config(tmp: str) -> str:
    """Both models in one server (a ModelServerConfig text proto, as `--model_config_file` reads it)."""
    entries = "".join(f'  config {{ name: "{name}" base_path: "{os.path.join(tmp, name)}" '
                      f'model_platform: "tensorflow" }}\n' for name in MODELS)
    path = os.path.join(tmp, "models.config")
    with open(path, "w") as handle:
        handle.write(f"model_config_list {{\n{entries}}}\n")
    return path


def _rest_run(port: int, pid: int, model: str, row: dict[str, Any], args: argparse.Namespace) -> dict[str, Any]:
    """A warm-up, then half the bounded load on one model: latencies, seconds, CPU seconds of server and client."""
    asyncio.run(drive(port, model, row, args.clients, 1000, 2.0))  # warm-up: connections, TF graph caches
    cpu_before, client_before = cpu_seconds(pid), time.process_time()
    latencies, failures, elapsed = asyncio.run(drive(port, model, row, args.clients, args.requests // 2,
                                                     args.seconds / 2))
    return {"latencies": latencies, "failures": failures, "elapsed": elapsed,
            "cpu": cpu_seconds(pid) - cpu_before, "client": time.process_time() - client_before}


def _merged(parts: list[dict[str, Any]]) -> dict[str, Any]:
    latencies = [x for part in parts for x in part["latencies"]]
    served = max(len(latencies), 1)
    return {"latencies": latencies, "failures": [f for part in parts for f in part["failures"]],
            "elapsed": sum(part["elapsed"] for part in parts),
            "rps": len(latencies) / sum(part["elapsed"] for part in parts),
            "cpu_us": sum(part["cpu"] for part in parts) / served * 1e6,
            "client_us": sum(part["client"] for part in parts) / served * 1e6}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", type=int, default=32)
    parser.add_argument("--requests", type=int, default=30000, help="stop after this many requests")
    parser.add_argument("--seconds", type=float, default=15.0, help="...or after this long")
    parser.add_argument("--max-batch-size", type=int, default=32)
    parser.add_argument("--batch-timeout-micros", type=int, default=1000)
    parser.add_argument("--num-batch-threads", type=int, default=2)
    parser.add_argument("--tf-threads", type=int, default=1, help="server's TF intra/inter-op threads (0 = TF)")
    parser.add_argument("--grpc", action="store_true", help="also drive the gRPC API and report it")
    args = parser.parse_args()

    if args.tf_threads:  # the baseline gets the same TF thread pools as the server: a fair comparison
        import tensorflow as tf

        tf.config.threading.set_intra_op_parallelism_threads(args.tf_threads)
        tf.config.threading.set_inter_op_parallelism_threads(args.tf_threads)
    with tempfile.TemporaryDirectory(prefix="modelops-bench-serve-") as tmp:
        version = {name: os.path.join(tmp, name, "1") for name in MODELS}
        rows = {name: build_model(name, version[name], tmp) for name in MODELS}
        before = {name: unbatched_call_rate(version[name], rows[name], 3.0, 20000) for name in MODELS}
        bulk = interleaved(lambda name: unbatched_call_rate(version[name], rows[name], 2.0, 2000, BULK) * BULK)

        batching = os.path.join(tmp, "batching.config")
        with open(batching, "w") as handle:
            handle.write(
                f"max_batch_size {{ value: {args.max_batch_size} }}\n"
                f"batch_timeout_micros {{ value: {args.batch_timeout_micros} }}\n"
                f"max_enqueued_batches {{ value: 1000 }}\nnum_batch_threads {{ value: {args.num_batch_threads} }}\n"
            )
        port, grpc_port = free_port(), free_port()
        command = [
            sys.executable, "-m", "modelops", "serve", f"--rest_api_port={port}", "--rest_api_host=127.0.0.1",
            f"--port={grpc_port}", f"--model_config_file={_model_config(tmp)}", "--enable_batching",
            f"--batching_parameters_file={batching}",
            f"--tensorflow_intra_op_parallelism={args.tf_threads}",
            f"--tensorflow_inter_op_parallelism={args.tf_threads}",
        ]
        log_path = os.path.join(tmp, "serve.log")
        with open(log_path, "w") as log:
            server = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT)
        try:
            for name in MODELS:
                wait_available(port, name, timeout=120, server=server)
            runs = {name: _merged(parts) for name, parts in
                    interleaved(lambda name: _rest_run(port, server.pid, name, rows[name], args)).items()}
            failures = [f for run in runs.values() for f in run["failures"]]
            if args.grpc:
                asyncio.run(drive_grpc(grpc_port, "numeric", rows["numeric"], args.clients, 2000, 5.0))  # warm-up
                grpc_cpu_before, grpc_client_before = cpu_seconds(server.pid), time.process_time()
                grpc_latencies, grpc_failures, grpc_elapsed = asyncio.run(
                    drive_grpc(grpc_port, "numeric", rows["numeric"], args.clients, args.requests, args.seconds))
                grpc_cpu = cpu_seconds(server.pid) - grpc_cpu_before
                grpc_client_cpu = time.process_time() - grpc_client_before
                failures += grpc_failures
        finally:
            server.terminate()
            try:
                server.wait(timeout=30)
            except subprocess.TimeoutExpired:
                server.kill()
        if failures:
            print(f"{len(failures)} failed requests, first: {failures[0]}")
            return 1
        # measured before and after the load runs: the machine is shared, so average the two
        baseline = {}
        for name in MODELS:
            after = unbatched_call_rate(version[name], rows[name], 3.0, 20000)
            baseline[name] = (before[name] + after) / 2
            print(f"{name}: in-process unbatched signature calls: {baseline[name]:.0f}/s "
                  f"(before {before[name]:.0f}, after {after:.0f}); rows/s in calls of {BULK}: "
                  f"{np.mean(bulk[name]):.0f}")
    for name in MODELS:
        run = runs[name]
        print(f"{name}: REST: served {len(run['latencies'])} single-row predicts in {run['elapsed']:.1f}s with "
              f"{args.clients} clients: {run['rps']:.0f}/s, CPU per request: server {run['cpu_us']:.0f} us, "
              f"load generator {run['client_us']:.0f} us")
    plain, numeric, mixed = runs["plain"], runs["numeric"], runs["penguins"]
    throughput = numeric["rps"]
    p50, p99 = np.percentile(np.array(numeric["latencies"]) * 1000, [50, 99])
    mixed_p99 = float(np.percentile(np.array(mixed["latencies"]) * 1000, 99))
    line = (f"ratio={throughput / baseline['numeric']:.2f} p50_ms={p50:.1f} p99_ms={p99:.1f} "
            f"rest_rps={throughput:.0f} server_cpu_us_per_req={numeric['cpu_us']:.0f} "
            f"mixed_rps={mixed['rps']:.0f} mixed_p99_ms={mixed_p99:.1f} mixed_cpu_us_per_req={mixed['cpu_us']:.0f} "
            f"mixed_vs_numeric_rps={mixed['rps'] / throughput:.2f} "
            f"mixed_vs_numeric_cpu={mixed['cpu_us'] / numeric['cpu_us']:.2f} "
            f"mixed_vs_numeric_inprocess={baseline['penguins'] / baseline['numeric']:.2f} "
            f"mixed_vs_numeric_bulk={np.mean(bulk['penguins']) / np.mean(bulk['numeric']):.2f} "
            f"plain_rps={plain['rps']:.0f} plain_cpu_us_per_req={plain['cpu_us']:.0f} "
            f"mixed_vs_plain_rps={mixed['rps'] / plain['rps']:.2f} "
            f"mixed_vs_plain_cpu={mixed['cpu_us'] / plain['cpu_us']:.2f} "
            f"mixed_vs_plain_inprocess={baseline['penguins'] / baseline['plain']:.2f} "
            f"mixed_vs_plain_bulk={np.mean(bulk['penguins']) / np.mean(bulk['plain']):.2f}")
    if args.grpc:
        grpc_rps = len(grpc_latencies) / grpc_elapsed
        g50, g99 = np.percentile(np.array(grpc_latencies) * 1000, [50, 99])
        grpc_cpu_us = grpc_cpu / len(grpc_latencies) * 1e6
        print(f"gRPC: served {len(grpc_latencies)} single-row predicts in {grpc_elapsed:.1f}s: {grpc_rps:.0f}/s, "
              f"CPU per request: server {grpc_cpu_us:.0f} us, load generator "
              f"{grpc_client_cpu / len(grpc_latencies) * 1e6:.0f} us")
        line += (f" grpc_rps={grpc_rps:.0f} grpc_p50_ms={g50:.1f} grpc_p99_ms={g99:.1f} "
                 f"grpc_ratio={grpc_rps / baseline['numeric']:.2f} grpc_server_cpu_us_per_req={grpc_cpu_us:.0f} "
                 f"grpc_vs_rest={grpc_rps / throughput:.2f}")
    print(line)
    return 0


if __name__ == "__main__":
    sys.exit(main())
