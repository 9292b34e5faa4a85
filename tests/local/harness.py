"""Drives the real `modelops run` CLI as a child process, reads its state directory, talks to its endpoint.

Nothing here is a stand-in: the runtime, its worker processes and its model server are the product's own,
on loopback. `cleanup()` stops every process the runtime left behind (found via its pid files), because
the workers and the server deliberately outlive a SIGKILLed runtime.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from pathlib import Path
from typing import Any

from support.processes import OwnedProcess, free_port, start_process

from modelops.local.processes import adopt
from modelops.local.state_store import read_json

REPO = Path(__file__).resolve().parents[2]
EXAMPLE = REPO / "examples" / "churn"
# One churn row as the served signature takes it: each feature under its column's name (TF Serving's
# row format with named inputs: `instances` as objects).
CHURN_ROW = dict(zip([f"f{i}" for i in range(8)], [0.5, -1.0, 0.2, 1.1, -0.3, 0.8, 0.0, -0.6], strict=True))


class LocalDeployment:
    """One workspace: a copy of the churn example with its data, plus a state directory."""

    def __init__(self, workspace: Path, manifest: str = "modeldeployment.yaml", name: str = "churn") -> None:
        self.workspace = workspace
        self.example = workspace / "churn"
        self.manifest, self.name = manifest, name
        self.state = workspace / "state"
        self.dir = self.state / "default" / name
        self.port = free_port()
        self.process: OwnedProcess | None = None
        self.runs = 0

    @classmethod
    def create(cls, workspace: Path, manifest: str = "modeldeployment.yaml", name: str = "churn") -> LocalDeployment:
        """`manifest` is one of the churn example's YAML files; `name` its metadata.name."""
        deployment = cls(workspace, manifest, name)
        deployment.example.mkdir(parents=True)
        for name in (manifest, "generate_data.py"):
            shutil.copy(EXAMPLE / name, deployment.example / name)
        deployment.generate()
        return deployment

    def copy_to(self, workspace: Path) -> LocalDeployment:
        """A stopped deployment's whole workspace, copied: each test continues from the same state."""
        assert self.process is None or not self.process.alive()
        shutil.copytree(self.workspace, workspace, symlinks=True,
                        ignore=shutil.ignore_patterns("runtime.lock", "run-*.log"))
        return LocalDeployment(workspace, self.manifest, self.name)

    def generate(self, *args: str) -> None:
        subprocess.run([sys.executable, str(self.example / "generate_data.py"), *args], check=True,
                       capture_output=True)

    # ---------------------------------------------------------------- the runtime
    def start(self, *extra: str) -> OwnedProcess:
        self.runs += 1
        argv = [sys.executable, "-m", "modelops", "run", "-f", str(self.example / self.manifest),
                "--state-dir", str(self.state), "--port", str(self.port), "--plain", *extra]
        self.process = start_process(f"run-{self.runs}", argv, self.workspace / f"run-{self.runs}.log")
        return self.process

    def kill(self) -> None:
        """SIGKILL the runtime alone (not its process group): what a crash or OOM kill does."""
        assert self.process is not None
        os.kill(self.process.pid, signal.SIGKILL)
        self.process.popen.wait(timeout=10)

    def interrupt(self, timeout: float = 60) -> int:
        """Ctrl-C: the runtime stops its children and exits."""
        assert self.process is not None
        os.kill(self.process.pid, signal.SIGINT)
        return self.process.popen.wait(timeout=timeout)

    def exit_code(self, timeout: float = 300) -> int:
        """The runtime's exit code once it stops by itself (`--until`); past `timeout` the test fails with
        the status and the runtime's log, which say where it stood."""
        assert self.process is not None
        try:
            return self.process.popen.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            raise AssertionError(f"the runtime did not stop within {timeout:g}s; status="
                                 f"{json.dumps(self.status())[:3000]}\nruntime log:\n{self.log()[-6000:]}") from None

    def log(self) -> str:
        return self.process.log_tail(20000) if self.process else ""

    def cleanup(self) -> None:
        if self.process is not None and self.process.alive():
            self.process.stop()
        for pid_file in [self.dir / "serving" / "pid", *self.dir.glob("stages/*/pid")]:
            child = adopt(pid_file)
            if child is not None:
                child.terminate(grace_seconds=5)

    # ---------------------------------------------------------------- observing
    def status(self) -> dict[str, Any]:
        record = read_json(self.dir / "state.json", {}) or {}
        return record.get("status") or {}

    def wait_for(self, what: str, predicate: Callable[[dict[str, Any]], bool], timeout: float = 240,
                 on_poll: Callable[[dict[str, Any]], None] | None = None) -> dict[str, Any]:
        """Poll the state record's status until `predicate(status)`; fail with the status and the runtime's log."""
        deadline = time.monotonic() + timeout
        status: dict[str, Any] = {}
        while time.monotonic() < deadline:
            status = self.status()
            if on_poll is not None:
                on_poll(status)
            if status and predicate(status):
                return status
            if self.process is not None and not self.process.alive():
                break
            time.sleep(0.2)
        raise AssertionError(f"waiting for {what}: not reached; status={json.dumps(status)[:3000]}\n"
                             f"runtime log:\n{self.log()[-6000:]}")

    @property
    def model_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/v1/models/{self.name}"

    def predict(self, timeout: float = 5) -> dict[str, Any]:
        body = json.dumps({"instances": [CHURN_ROW]}).encode()
        request = urllib.request.Request(f"{self.model_url}:predict", body, {"Content-Type": "application/json"})
        with urllib.request.urlopen(request, timeout=timeout) as response:
            assert response.status == 200
            return json.loads(response.read())

    def available_versions(self) -> list[int]:
        with urllib.request.urlopen(self.model_url, timeout=5) as response:
            body = json.loads(response.read())
        return sorted(int(v["version"]) for v in body["model_version_status"] if v["state"] == "AVAILABLE")


def version_states(status: dict[str, Any]) -> dict[int, str]:
    return {record["version"]: record["state"] for record in status.get("versions", [])}


def condition(status: dict[str, Any], kind: str) -> dict[str, Any]:
    return next(c for c in status.get("conditions", []) if c["type"] == kind)


def last_evaluation(status: dict[str, Any]) -> dict[str, Any]:
    return status.get("lastEvaluation") or {}


def try_predict(deployment: LocalDeployment) -> bool:
    try:
        return len(deployment.predict(timeout=3)["predictions"]) == 1
    except (OSError, urllib.error.URLError, ValueError, KeyError):
        return False
