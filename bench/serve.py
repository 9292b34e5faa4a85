"""Benchmark `modelops serve`: 32 concurrent clients sending single-row predicts on loopback.

Creates a small Keras-like MLP SavedModel in a temp dir, measures the in-process rate of unbatched
single-row `serving_default` calls (the baseline), then starts `modelops serve` with dynamic
batching as a subprocess and drives it with a bounded load (count and time), keep-alive HTTP/1.1.
ratio = server throughput / in-process unbatched call rate: above 1.0 means serving over HTTP with
batching beats calling the model one row at a time in-process.
`--grpc` also drives the same server through TF Serving's gRPC `PredictionService/Predict` (one
HTTP/2 connection per client, the request serialised once as the REST client pre-builds its bytes;
raw frames, grpc_wire.py, as the REST client writes raw HTTP/1.1: client CPU is server CPU here).
Last line: `ratio=<x> p50_ms=<x> p99_ms=<x> rest_rps=<x> server_cpu_us_per_req=<x>` and with
`--grpc` also `grpc_rps=<x> grpc_p50_ms=<x> grpc_p99_ms=<x> grpc_ratio=<x> grpc_server_cpu_us_per_req=<x>
grpc_vs_rest=<gRPC req/s / REST req/s, same run>`.
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import json
import os
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request

import numpy as np
from grpc_wire import UnaryClient

N_FEATURES, HIDDEN, CLASSES = 16, 64, 3


def build_mlp(path: str) -> None:
    """Dense(64, relu) -> Dense(64, relu) -> Dense(3, softmax), saved with a `features` signature."""
    import tensorflow as tf

    class MLP(tf.Module):
        def __init__(self) -> None:
            super().__init__()
            rng = np.random.default_rng(7)
            sizes = [N_FEATURES, HIDDEN, HIDDEN, CLASSES]
            self.kernels = [
                tf.Variable(rng.normal(0, 0.3, (a, b)).astype("float32")) for a, b in itertools.pairwise(sizes)
            ]
            self.biases = [tf.Variable(np.zeros(b, "float32")) for b in sizes[1:]]

        @tf.function(input_signature=[tf.TensorSpec([None, N_FEATURES], tf.float32, name="features")])
        def serve(self, features):
            hidden = features
            for kernel, bias in zip(self.kernels[:-1], self.biases[:-1], strict=True):
                hidden = tf.nn.relu(hidden @ kernel + bias)
            return {"probabilities": tf.nn.softmax(hidden @ self.kernels[-1] + self.biases[-1])}

    module = MLP()
    tf.saved_model.save(module, path, signatures={"serving_default": module.serve})


def unbatched_call_rate(path: str, seconds: float, max_calls: int) -> float:
    import tensorflow as tf

    signature = tf.saved_model.load(path).signatures["serving_default"]
    row = np.random.default_rng(1).random((1, N_FEATURES), dtype=np.float32)
    for _ in range(50):
        signature(features=tf.convert_to_tensor(row))
    calls, started = 0, time.perf_counter()
    while calls < max_calls and time.perf_counter() - started < seconds:
        signature(features=tf.convert_to_tensor(row))
        calls += 1
    return calls / (time.perf_counter() - started)


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
    port: int, model: str, clients: int, requests: int, seconds: float
) -> tuple[list[float], list[str], float]:
    row = np.random.default_rng(2).random(N_FEATURES).round(4).tolist()
    body = json.dumps({"instances": [row]}).encode()
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


async def drive_grpc(port: int, model: str, clients: int, requests: int, seconds: float
                     ) -> tuple[list[float], list[str], float]:
    import tensorflow as tf
    from tensorflow_serving.apis import predict_pb2

    row = np.random.default_rng(2).random((1, N_FEATURES)).round(4).astype(np.float32)
    message = predict_pb2.PredictRequest()
    message.model_spec.name = model
    message.inputs["features"].CopyFrom(tf.make_tensor_proto(row))
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
        base_path = os.path.join(tmp, "mlp")
        build_mlp(os.path.join(base_path, "1"))
        before = unbatched_call_rate(os.path.join(base_path, "1"), seconds=3.0, max_calls=20000)

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
            f"--port={grpc_port}",
            "--model_name=mlp", f"--model_base_path={base_path}", "--enable_batching",
            f"--batching_parameters_file={batching}",
            f"--tensorflow_intra_op_parallelism={args.tf_threads}",
            f"--tensorflow_inter_op_parallelism={args.tf_threads}",
        ]
        log_path = os.path.join(tmp, "serve.log")
        with open(log_path, "w") as log:
            server = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT)
        try:
            wait_available(port, "mlp", timeout=120, server=server)
            asyncio.run(drive(port, "mlp", args.clients, 2000, 5.0))  # warm-up: connections, TF graph caches
            cpu_before, client_before = cpu_seconds(server.pid), time.process_time()
            latencies, failures, elapsed = asyncio.run(
                drive(port, "mlp", args.clients, args.requests, args.seconds)
            )
            server_cpu = cpu_seconds(server.pid) - cpu_before
            client_cpu = time.process_time() - client_before
            if args.grpc:
                asyncio.run(drive_grpc(grpc_port, "mlp", args.clients, 2000, 5.0))  # warm-up
                grpc_cpu_before, grpc_client_before = cpu_seconds(server.pid), time.process_time()
                grpc_latencies, grpc_failures, grpc_elapsed = asyncio.run(
                    drive_grpc(grpc_port, "mlp", args.clients, args.requests, args.seconds))
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
        # measured before and after the load run: the machine is shared, so average the two
        after = unbatched_call_rate(os.path.join(base_path, "1"), seconds=3.0, max_calls=20000)
        baseline = (before + after) / 2
        print(f"in-process unbatched signature calls: {baseline:.0f}/s (before {before:.0f}, after {after:.0f})")
    throughput = len(latencies) / elapsed
    p50, p99 = np.percentile(np.array(latencies) * 1000, [50, 99])
    cpu_us = server_cpu / len(latencies) * 1e6
    print(f"REST: served {len(latencies)} single-row predicts in {elapsed:.1f}s with {args.clients} clients: "
          f"{throughput:.0f}/s, CPU per request: server {cpu_us:.0f} us, load generator "
          f"{client_cpu / len(latencies) * 1e6:.0f} us")
    line = (f"ratio={throughput / baseline:.2f} p50_ms={p50:.1f} p99_ms={p99:.1f} rest_rps={throughput:.0f} "
            f"server_cpu_us_per_req={cpu_us:.0f}")
    if args.grpc:
        grpc_rps = len(grpc_latencies) / grpc_elapsed
        g50, g99 = np.percentile(np.array(grpc_latencies) * 1000, [50, 99])
        grpc_cpu_us = grpc_cpu / len(grpc_latencies) * 1e6
        print(f"gRPC: served {len(grpc_latencies)} single-row predicts in {grpc_elapsed:.1f}s: {grpc_rps:.0f}/s, "
              f"CPU per request: server {grpc_cpu_us:.0f} us, load generator "
              f"{grpc_client_cpu / len(grpc_latencies) * 1e6:.0f} us")
        line += (f" grpc_rps={grpc_rps:.0f} grpc_p50_ms={g50:.1f} grpc_p99_ms={g99:.1f} "
                 f"grpc_ratio={grpc_rps / baseline:.2f} grpc_server_cpu_us_per_req={grpc_cpu_us:.0f} "
                 f"grpc_vs_rest={grpc_rps / throughput:.2f}")
    print(line)
    return 0


if __name__ == "__main__":
    sys.exit(main())
