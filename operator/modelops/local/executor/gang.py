"""A stage run by several local processes at once (multi-worker training): TensorFlow's loopback cluster.

Member 0 (the chief) uses the stage's own files (config.json, result.json, log.txt, pid), so everything
that reads a stage's result reads the chief's; member i > 0 gets `config-<i>.json`, `result-<i>.json`,
`log-<i>.txt` and `pid-<i>`. Every member gets the same gang environment a pod of an Indexed Job gets
(`contract/gang.py`), with free loopback ports in place of the pods' hostnames.
"""

from __future__ import annotations

import socket
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from modelops.contract.gang import gang_env
from modelops.local.processes import ChildProcess, adopt_started, spawn
from modelops.local.state_store import write_json_atomic


def free_loopback_ports(count: int) -> list[int]:
    """Ports the kernel hands out now (held open together, so they differ); a race with another
    program taking one before the worker binds it fails the stage, which the core retries."""
    sockets = [socket.socket(socket.AF_INET, socket.SOCK_STREAM) for _ in range(count)]
    try:
        for sock in sockets:
            sock.bind(("127.0.0.1", 0))
        return [sock.getsockname()[1] for sock in sockets]
    finally:
        for sock in sockets:
            sock.close()


def member_paths(stage_dir: Path, index: int) -> dict[str, Path]:
    if index == 0:
        return {"config": stage_dir / "config.json", "result": stage_dir / "result.json",
                "log": stage_dir / "log.txt", "pid": stage_dir / "pid"}
    return {"config": stage_dir / f"config-{index}.json", "result": stage_dir / f"result-{index}.json",
            "log": stage_dir / f"log-{index}.txt", "pid": stage_dir / f"pid-{index}"}


@dataclass
class LocalGang:
    """The helpers of a gang stage (members 1..n-1); the chief is the stage's own process."""

    helpers: list[ChildProcess | None] = field(default_factory=list)

    @classmethod
    def start(cls, stage_dir: Path, config: dict[str, Any], size: int, argv_for: Callable[[Path], list[str]],
              env: dict[str, str]) -> tuple[ChildProcess, LocalGang]:
        """Spawn all members; returns the chief and the gang of the others."""
        hosts = [f"127.0.0.1:{port}" for port in free_loopback_ports(size)]
        children = []
        for index in range(size):
            paths = member_paths(stage_dir, index)
            write_json_atomic(paths["config"], {**config, "resultPath": str(paths["result"])})
            children.append(spawn(argv_for(paths["config"]), paths["log"], paths["pid"],
                                  env={**env, **gang_env(hosts, index)}))
        return children[0], cls(list(children[1:]))

    @classmethod
    def adopt(cls, stage_dir: Path, size: int) -> LocalGang:
        """The members a previous runtime started (one it never recorded is found by its config path, so it
        ends with the gang rather than running on alone)."""
        members = [member_paths(stage_dir, index) for index in range(1, size)]
        return cls([adopt_started(paths["pid"], str(paths["config"])) for paths in members])

    def incomplete(self, stage_dir: Path) -> bool:
        """A member with neither a live process nor a result: a runtime killed while it spawned the members
        leaves such a gang, and it never finishes (a KerasTuner chief waits for tuners, a TF cluster for a
        worker), so it is started again whole."""
        return any((child is None or not child.alive()) and not member_paths(stage_dir, index)["result"].exists()
                   for index, child in enumerate(self.helpers, start=1))

    def alive(self) -> bool:
        return any(child is not None and child.alive() for child in self.helpers)

    def failed_member(self) -> tuple[int, int] | None:
        """(index, exit code) of a helper that exited non-zero (known for members this runtime started)."""
        for index, child in enumerate(self.helpers, start=1):
            code = child.exit_code() if child is not None else None
            if code not in (None, 0):
                return index, int(code)
        return None

    def terminate(self) -> None:
        for child in self.helpers:
            if child is not None:
                child.terminate()
