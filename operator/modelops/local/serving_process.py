"""Keeps one `modelops serve` process serving exactly the versions the lifecycle core asked for.

The server runs in its own session so it survives a SIGKILL of the runtime (serving never stops just
because the control loop restarts); a restarted runtime adopts it through its pid file and a GET on
its REST port. Version pinning happens only through the generated model_config file, which the server
re-reads every second: the file is replaced atomically so it never sees half a config. A label that must
move to a version the server has not loaded yet moves in a second config once it has
(serving/label_steps.py): TF Serving refuses any other order.

A server that keeps exiting is restarted with exponential backoff (1 s, 2 s, 4 s ... at most 60 s, like
the kubelet's CrashLoopBackOff, 10 s .. 5 min, for a serving pod) and at most RESTART_LIMIT times in a row;
a server that stays up for HEALTHY_SECONDS resets the count. The runner shows the count in status.
"""

from __future__ import annotations

import contextlib
import json
import os
import socket
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Mapping

from modelops.contract.files import write_text_atomic
from modelops.local.processes import ChildProcess, adopt, spawn
from modelops.local.state_store import StateStore, read_json, write_json_atomic
from modelops.serving.config import (
    ConfigError,
    ServedModel,
    parse_model_config,
    render_model_config,
    render_monitoring_config,
)
from modelops.serving.label_steps import next_label_step

RESTART_BASE_SECONDS = 1.0
RESTART_CAP_SECONDS = 60.0
RESTART_LIMIT = 10  # consecutive restarts of a server that keeps exiting; then it is left down
HEALTHY_SECONDS = 60.0  # a server up this long is healthy again: its restart count starts over


class ServingError(RuntimeError):
    """Serving cannot be started (port taken, server exits at once); the message says what to do."""


def _free_port(host: str) -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        return sock.getsockname()[1]


def _port_free(host: str, port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((host, port))
        except OSError:
            return False
        return True


class ServingProcess:
    """The local TF-Serving-compatible server for one ModelDeployment (model name = deployment name)."""

    def __init__(self, store: StateStore, port: int, host: str = "127.0.0.1") -> None:
        self.store, self.port, self.host = store, port, host
        self.dir = store.serving_dir
        self.model_config = self.dir / "model_config.pbtxt"
        self.monitoring_config = self.dir / "monitoring.pbtxt"
        self.applied_path = self.dir / "applied.json"
        self.child: ChildProcess | None = None
        self.restarts = 0  # consecutive restarts of a server we started that then exited
        self._started_at: float | None = None
        self._next_start = 0.0

    @property
    def gave_up(self) -> bool:
        """The server exited RESTART_LIMIT times in a row after restarts: it is not started again."""
        return self.restarts >= RESTART_LIMIT and not self.alive()

    @property
    def endpoint(self) -> str:
        return f"http://{self.host}:{self.port}"

    @property
    def grpc_endpoint(self) -> str | None:
        """host:port of the server's gRPC API (TF Serving's PredictionService), once it was started."""
        port = self._saved_grpc_port()
        return f"{self.host}:{port}" if port else None

    def _saved_grpc_port(self) -> int | None:
        with contextlib.suppress(OSError, ValueError):
            return int((self.dir / "grpc_port").read_text())
        return None

    def _pick_grpc_port(self) -> int:
        """The port used before (a restart keeps it), else REST port - 1 (8501 -> 8500, TF Serving's
        pair), else any free port; recorded so a restarted runtime finds the adopted server's port."""
        for candidate in (self._saved_grpc_port(), self.port - 1):
            if candidate and candidate > 0 and _port_free(self.host, candidate):
                return candidate
        return _free_port(self.host)

    @property
    def model_url(self) -> str:
        return f"{self.endpoint}/v1/models/{self.store.name}"

    def applied(self) -> dict[str, int | None] | None:
        """The last ApplyServing executed ({stable, canary}), or None if serving was never applied."""
        record = read_json(self.applied_path, None)
        return record if isinstance(record, dict) and isinstance(record.get("stable"), int) else None

    def apply(self, stable: int, canary: int | None = None) -> None:
        """Pin serving to `stable` (+ `canary`) and make sure a server is running to read that pin."""
        self.dir.mkdir(parents=True, exist_ok=True)
        write_json_atomic(self.applied_path, {"stable": stable, "canary": canary, "url": self.model_url})
        self._advance()
        self.ensure_running()

    def _target(self) -> ServedModel | None:
        applied = self.applied()
        if applied is None:
            return None
        stable, canary = applied["stable"], applied.get("canary")
        versions = (stable,) if canary is None or canary == stable else (stable, canary)
        labels = {"stable": stable} if len(versions) == 1 else {"stable": stable, "canary": canary}
        return ServedModel(self.store.name, str(self.store.versions_dir.resolve()), versions, labels)

    def _written(self) -> ServedModel | None:
        try:
            (model,) = parse_model_config(self.model_config.read_text())
        except (OSError, ConfigError, ValueError):
            return None
        return model

    def _advance(self, available: frozenset[int] = frozenset(), server_labels: dict[str, int] | None = None) -> None:
        """Write the next config towards the applied pin: labels the server (or the file it will read
        next) holds at another version wait until their new version is AVAILABLE."""
        target = self._target()
        if target is None:
            return
        written = self._written()
        existing = {**(dict(written.labels) if written else {}), **(server_labels or {})}
        step = next_label_step(target, existing, available)
        if step != written:
            write_text_atomic(self.model_config, render_model_config([step]))

    def ensure_running(self) -> bool:
        """Adopt or start the server for the applied config; True when a fresh process was started. A
        server that died is restarted only when its backoff has passed, and not after RESTART_LIMIT."""
        now = time.monotonic()
        if self.child is not None and self.child.alive():
            if self.restarts and self._started_at is not None and now - self._started_at >= HEALTHY_SECONDS:
                self.restarts = 0
            return False
        self.child = adopt(self.dir / "pid")
        if self.child is not None:
            if self._answers():
                return False
            self.child.terminate()  # ours but not answering on this port (e.g. --port changed): replace
        if not self.model_config.exists():
            return False
        restart = self._started_at is not None  # we started one before, and it is gone
        if restart and (now < self._next_start or self.restarts >= RESTART_LIMIT):
            return False
        if not _port_free(self.host, self.port):
            raise ServingError(f"port {self.port} on {self.host} is already in use by another program; "
                               f"pass --port with a free port")
        write_text_atomic(self.monitoring_config, render_monitoring_config())
        grpc_port = self._pick_grpc_port()
        write_text_atomic(self.dir / "grpc_port", str(grpc_port))
        # the flags the operator's tensorflow_model_server pods get (kube/builders/serving.py), in the
        # `--flag=value` form TF's flag parser requires
        argv = [sys.executable, "-m", "modelops", "serve", f"--rest_api_port={self.port}", f"--port={grpc_port}",
                f"--rest_api_host={self.host}", f"--model_config_file={self.model_config}",
                "--model_config_file_poll_wait_seconds=1", "--allow_version_labels_for_unavailable_models=true",
                f"--monitoring_config_file={self.monitoring_config}"]
        self.child = spawn(argv, self.dir / "log.txt", self.dir / "pid",
                           env={**os.environ, "PYTHONUNBUFFERED": "1", "TF_CPP_MIN_LOG_LEVEL": "2"})
        self.restarts += 1 if restart else 0
        self._started_at = now
        self._next_start = now + min(RESTART_CAP_SECONDS, RESTART_BASE_SECONDS * 2 ** self.restarts)
        return True

    def alive(self) -> bool:
        return self.child is not None and self.child.alive()

    def _get(self, url: str, timeout: float = 2.0) -> tuple[int, dict]:
        try:
            with urllib.request.urlopen(url, timeout=timeout) as response:
                return response.status, json.loads(response.read() or b"{}")
        except urllib.error.HTTPError as exc:
            with contextlib.suppress(Exception):
                return exc.code, json.loads(exc.read() or b"{}")
            return exc.code, {}

    def _answers(self) -> bool:
        try:
            self._get(self.model_url)
        except (OSError, ValueError):
            return False
        return True

    def ready_versions(self) -> frozenset[int]:
        """Versions the server reports AVAILABLE, a pinned one only once its label names it (empty when
        the server is down or still loading). Moves a waiting label on when its version has loaded."""
        if not self.alive():
            return frozenset()
        available = self._available()
        target = self._target()
        if target is None:
            return available
        server_labels = self._server_labels(target.labels)
        self._advance(available, server_labels)
        waiting = {version for label, version in target.labels.items() if server_labels.get(label) != version}
        return available - waiting

    def _available(self) -> frozenset[int]:
        try:
            code, body = self._get(self.model_url)
        except (OSError, ValueError):
            return frozenset()
        if code != 200:
            return frozenset()
        ready = set()
        for entry in body.get("model_version_status", []):
            with contextlib.suppress(TypeError, ValueError):
                if entry.get("state") == "AVAILABLE":
                    ready.add(int(entry["version"]))
        return frozenset(ready)

    def _server_labels(self, labels: Mapping[str, int]) -> dict[str, int]:
        """Where the server's label map points each of `labels` now, for labels whose version is
        AVAILABLE (others are left out). Read from the label's metadata: TF Serving resolves the label
        there (ServableRequestFromModelSpec), while its status by label lists every version of the
        model without reading the label (get_model_status_impl.cc)."""
        found: dict[str, int] = {}
        for label in labels:
            with contextlib.suppress(OSError, ValueError, KeyError, TypeError):
                code, body = self._get(f"{self.model_url}/labels/{label}/metadata")
                if code == 200:
                    found[label] = int(body["model_spec"]["version"])
        return found

    def stop(self) -> None:
        child = self.child or adopt(self.dir / "pid")
        if child is not None:
            child.terminate()
        self.child = None

    def log_tail(self, max_bytes: int = 3000) -> str:
        try:
            data = (self.dir / "log.txt").read_bytes()
        except OSError:
            return ""
        return data[-max_bytes:].decode(errors="replace")
