"""Keeps one `modelops serve` process serving exactly the versions the lifecycle core asked for.

The server runs in its own session so it survives a SIGKILL of the runtime (serving never stops just
because the control loop restarts); a restarted runtime adopts it through its pid file and a GET on
its REST port. Version pinning happens only through the generated model_config file, which the server
re-reads every second: the file is replaced atomically so it never sees half a config.
"""

from __future__ import annotations

import contextlib
import json
import os
import socket
import sys
import urllib.error
import urllib.request

from modelops.contract.files import write_text_atomic
from modelops.local.processes import ChildProcess, adopt, spawn
from modelops.local.state_store import StateStore, read_json, write_json_atomic
from modelops.serving.config import ServedModel, parse_model_config, render_model_config, render_monitoring_config


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
        self._write_config(stable, canary, self._available())
        self.ensure_running()

    def _write_config(self, stable: int, canary: int | None, ready: frozenset[int]) -> None:
        """Write the pin. TF Serving refuses to move an existing label to a version that is not
        AVAILABLE (server_core.cc UpdateModelVersionLabelMap, even with
        --allow_version_labels_for_unavailable_models), so the new versions come first with such
        labels left where they are (and their versions kept); `ready_versions` moves them once the
        server reports the new versions AVAILABLE. Only configs the server accepts are written, so
        the labels on disk are the server's (a freshly started server accepts any new label)."""
        labels = self._final_labels(stable, canary)
        versions = tuple(labels.values())
        current = self._written_labels()
        held = {label: current[label] for label, version in labels.items()
                if label in current and current[label] != version and version not in ready}
        served_versions = tuple(sorted(set(versions) | set(held.values())))
        model = ServedModel(self.store.name, str(self.store.versions_dir.resolve()), served_versions,
                            {**labels, **held})
        write_text_atomic(self.model_config, render_model_config([model]))

    def _written_labels(self) -> dict[str, int]:
        with contextlib.suppress(OSError, ValueError):
            for model in parse_model_config(self.model_config.read_text()):
                return dict(model.labels)
        return {}

    def ensure_running(self) -> bool:
        """Adopt or start the server for the applied config; True when a fresh process was started."""
        if self.child is not None and self.child.alive():
            return False
        self.child = adopt(self.dir / "pid")
        if self.child is not None:
            if self._answers():
                return False
            self.child.terminate()  # ours but not answering on this port (e.g. --port changed): replace
        if not self.model_config.exists():
            return False
        if not _port_free(self.host, self.port):
            raise ServingError(f"port {self.port} on {self.host} is already in use by another program; "
                               f"pass --port with a free port")
        write_text_atomic(self.monitoring_config, render_monitoring_config())
        grpc_port = self._pick_grpc_port()
        write_text_atomic(self.dir / "grpc_port", str(grpc_port))
        # the flags the operator's tensorflow_model_server pods get (kube/builders/serving.py)
        argv = [sys.executable, "-m", "modelops", "serve", f"--rest_api_port={self.port}", f"--port={grpc_port}",
                f"--rest_api_host={self.host}", f"--model_config_file={self.model_config}",
                "--model_config_file_poll_wait_seconds=1", f"--monitoring_config_file={self.monitoring_config}",
                "--allow_version_labels_for_unavailable_models=true"]
        self.child = spawn(argv, self.dir / "log.txt", self.dir / "pid",
                           env={**os.environ, "PYTHONUNBUFFERED": "1", "TF_CPP_MIN_LOG_LEVEL": "2"})
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

    def ready_versions(self, advance: bool = True) -> frozenset[int]:
        """Versions the server reports AVAILABLE (empty when it is down or still loading); with
        `advance`, labels held back by `_write_config` move once their versions are AVAILABLE."""
        if not self.alive():
            return frozenset()
        ready = self._available()
        applied = self.applied()
        if advance and applied is not None:
            pin = (applied["stable"], applied.get("canary"))
            if self._written_labels() != self._final_labels(*pin):
                self._write_config(*pin, ready)
        return ready

    def _available(self) -> frozenset[int]:
        """AVAILABLE versions of whatever server answers on the port (empty when none does)."""
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

    @staticmethod
    def _final_labels(stable: int, canary: int | None) -> dict[str, int]:
        return {"stable": stable} if canary is None or canary == stable else {"stable": stable, "canary": canary}

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
