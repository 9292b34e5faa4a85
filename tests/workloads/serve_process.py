"""Run `modelops serve` (the project's TF-Serving-compatible server) as a real process on loopback."""

from __future__ import annotations

import json
import os
import re
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from modelops.serving.config import ServedModel, render_model_config

_LISTENING = re.compile(r"Exporting HTTP/REST API at:[^:]+:(\d+)")
_GRPC = re.compile(r"Running gRPC ModelServer at [^:]+:(\d+)")

def _free_port() -> int:
    """tensorflow_model_server has no "any free port" (--port=0 is refused, --rest_api_port=0 is off)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]



@dataclass(frozen=True)
class Served:
    url: str  # REST base URL
    grpc: str  # gRPC target, host:port


def _version_available(base_url: str, name: str, version: int) -> bool:
    try:
        with urllib.request.urlopen(f"{base_url}/v1/models/{name}/versions/{version}", timeout=2) as response:
            states = [s["state"] for s in json.load(response)["model_version_status"]]
            return states == ["AVAILABLE"]
    except (OSError, ValueError, KeyError):
        return False


@contextmanager
def modelops_serve(workdir: Path, name: str, base_path: Path, versions: Sequence[int],
                   timeout: float = 180.0, extra_args: Sequence[str] = ()) -> Iterator[Served]:
    """Yield both endpoints once every pinned version is AVAILABLE; stop the server afterwards."""
    config = workdir / "models.config"
    config.write_text(render_model_config([ServedModel(name, str(base_path), tuple(versions))]))
    proc = subprocess.Popen(
        [sys.executable, "-m", "modelops", "serve", "--rest_api_host=127.0.0.1",
         f"--rest_api_port={_free_port()}", f"--port={_free_port()}",
         f"--model_config_file={config}", *extra_args],
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
        env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2"})
    port: list[int] = []
    grpc_port: list[int] = []
    lines: list[str] = []

    def drain() -> None:  # keep reading so the server never blocks on a full stderr pipe
        assert proc.stderr is not None
        for line in proc.stderr:
            lines.append(line)
            if found := _GRPC.search(line):
                grpc_port.append(int(found.group(1)))
            match = _LISTENING.search(line)
            if match and not port:
                port.append(int(match.group(1)))

    threading.Thread(target=drain, daemon=True).start()
    try:
        deadline = time.monotonic() + timeout
        while not port:
            if proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError("modelops serve did not start:\n" + "".join(lines[-20:]))
            time.sleep(0.1)
        base_url = f"http://127.0.0.1:{port[0]}"
        while not all(_version_available(base_url, name, v) for v in versions):
            if proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError("modelops serve did not load the versions:\n" + "".join(lines[-20:]))
            time.sleep(0.2)
        yield Served(base_url, f"127.0.0.1:{grpc_port[0]}")
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
