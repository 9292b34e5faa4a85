"""Runs workload stages as local worker processes: `python -m modelops worker <stage> --config FILE`.

Each stage id owns `stages/<stage_id>/{config.json, result.json, log.txt, pid}`. Starting a stage id that
already has a live process adopts it, and one that already has a result is not run again: stage ids are
deterministic, so this is what makes a restarted runtime idempotent.
"""

from __future__ import annotations

import contextlib
import os
import sys
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from modelops.contract.reasons import COMMAND_NOT_FOUND
from modelops.contract.result import stage_outcome
from modelops.contract.stage_config import build_stage_config, stage_command, stage_workers
from modelops.lifecycle.messages import StageFinished, StartStage
from modelops.local.executor.gang import LocalGang, member_paths
from modelops.local.processes import ChildProcess, adopt, adopt_started, spawn
from modelops.local.state_store import StateStore, write_json_atomic

WORKER_ENV = {"PYTHONUNBUFFERED": "1", "TF_CPP_MIN_LOG_LEVEL": "2"}
# `modelops worker` of this very installation (the console script may not be on PATH in a venv)
LOCAL_WORKER_COMMAND = (sys.executable, "-m", "modelops", "worker")


def resolve_uri(uri: str, base_dir: Path) -> str:
    """Relative dataset (and model module) paths in a local ModelDeployment are relative to the YAML file's
    directory."""
    if "://" in uri or Path(uri).is_absolute():
        return uri
    return str((base_dir / uri).resolve())


@dataclass
class RunningStage:
    stage_id: str
    stage: str
    version: int
    process: ChildProcess | None
    gang: LocalGang | None = None  # the other members of a multi-worker stage (process is the chief)


class StageExecutor:
    """Starts, adopts, cancels and polls worker processes for one deployment."""

    def __init__(self, store: StateStore, spec: Mapping[str, Any], base_dir: Path, endpoint: str,
                 grpc_endpoint: Callable[[], str | None] = lambda: None) -> None:
        self.store, self.spec, self.base_dir, self.endpoint = store, spec, base_dir, endpoint
        self.grpc_endpoint = grpc_endpoint  # asked at each start: the server picks its gRPC port when it starts
        self.running: dict[str, RunningStage] = {}

    def paths(self, stage_id: str) -> dict[str, Path]:
        directory = self.store.stage_dir(stage_id)
        return {"dir": directory, "config": directory / "config.json", "result": directory / "result.json",
                "log": directory / "log.txt", "pid": directory / "pid"}

    def build_config(self, action: StartStage) -> dict[str, Any]:
        config = build_stage_config(
            self.spec, self.store.namespace, self.store.name, action, str(self.store.storage_root),
            endpoint=self.endpoint, grpc_endpoint=self.grpc_endpoint(),
            result_path=str(self.paths(action.stage_id)["result"]))
        for key in ("dataset", "challengeDataset", "extraDatasets", "fingerprintDatasets"):
            value = config.get(key)
            for dataset in value if isinstance(value, list) else [value]:
                if isinstance(dataset, dict) and isinstance(dataset.get("uri"), str):
                    dataset["uri"] = resolve_uri(dataset["uri"], self.base_dir)
        model = config.get("model")
        if isinstance(model, dict) and isinstance(model.get("path"), str):  # a user module file, likewise
            model["path"] = resolve_uri(model["path"], self.base_dir)
        return config

    def start(self, action: StartStage) -> None:
        """Run the stage unless a run with this id is alive (adopt) or already finished (report it)."""
        paths = self.paths(action.stage_id)
        size = stage_workers(self.spec, action.stage)
        child = adopt_started(paths["pid"], str(paths["config"]))
        gang = LocalGang.adopt(paths["dir"], size) if size > 1 else None
        if child is not None and self._partial(paths, gang):
            child.terminate()  # a gang missing a member cannot finish: it starts again whole
            child = None
        if child is None and not paths["result"].exists():
            config, env = self.build_config(action), {**os.environ, **WORKER_ENV}

            def argv_for(config_path: Path) -> list[str]:
                return stage_command(self.spec, action.stage, str(config_path), default=LOCAL_WORKER_COMMAND)

            try:
                if size > 1:
                    if gang is not None:
                        gang.terminate()  # members of a gang whose chief is gone cannot finish without it
                    child, gang = LocalGang.start(paths["dir"], config, size, argv_for, env)
                else:
                    write_json_atomic(paths["config"], config)
                    child = spawn(argv_for(paths["config"]), paths["log"], paths["pid"], env=env)
            except OSError as exc:  # no such program, or not executable: the stage fails, the runtime goes on
                if gang is not None:
                    gang.terminate()
                child, gang = None, None
                write_json_atomic(paths["result"], command_not_found(self.spec, action.stage, exc))
        self.running[action.stage_id] = RunningStage(action.stage_id, action.stage, action.version, child, gang)

    def resume(self, stage_id: str, stage: str, version: int) -> bool:
        """Pick up a stage recorded in status after a restart: True when its process is alive or it left
        a result (it then reports itself), False when there is no run to adopt."""
        paths = self.paths(stage_id)
        child = adopt_started(paths["pid"], str(paths["config"]))
        if child is None and not paths["result"].exists():
            return False
        size = stage_workers(self.spec, stage)
        gang = LocalGang.adopt(paths["dir"], size) if size > 1 else None
        if self._partial(paths, gang):
            assert gang is not None
            gang.terminate()
            if child is not None:
                child.terminate()
            return False  # the core starts the same run again (StageMissing)
        self.running[stage_id] = RunningStage(stage_id, stage, version, child, gang)
        return True

    @staticmethod
    def _partial(paths: Mapping[str, Path], gang: LocalGang | None) -> bool:
        """A gang run without a result whose members are not all there (LocalGang.incomplete)."""
        return gang is not None and not paths["result"].exists() and gang.incomplete(paths["dir"])

    def cancel(self, stage_id: str) -> None:
        running = self.running.pop(stage_id, None)
        child = running.process if running else adopt(self.paths(stage_id)["pid"])
        if child is not None:
            child.terminate()
        if running is not None and running.gang is not None:
            running.gang.terminate()

    def stop_all(self) -> None:
        for stage_id in list(self.running):
            self.cancel(stage_id)

    def poll(self) -> list[StageFinished]:
        """Stages whose process has ended, with their parsed results (the process is forgotten)."""
        finished = []
        for stage_id, running in list(self.running.items()):
            chief_alive = running.process is not None and running.process.alive()
            gang = running.gang
            failed_member = gang.failed_member() if gang is not None else None
            chief_failed = running.process is not None and running.process.exit_code() not in (None, 0)
            if failed_member is None and not chief_failed and (chief_alive or (gang is not None and gang.alive())):
                continue  # a gang is done when every member is, or as soon as one of them failed
            if gang is not None:
                gang.terminate()
            if chief_alive and running.process is not None:
                running.process.terminate()
            del self.running[stage_id]
            finished.append(self._result(stage_id, running, failed_member))
        return finished

    def _result(self, stage_id: str, running: RunningStage, failed_member: tuple[int, int] | None = None
                ) -> StageFinished:
        paths = self.paths(stage_id)
        code = running.process.exit_code() if running.process else None
        if failed_member is not None:  # report the member that broke the gang, from its own result
            index, code = failed_member
            paths = {**paths, **member_paths(paths["dir"], index)}
        try:
            text: str | None = paths["result"].read_text(encoding="utf-8")
        except FileNotFoundError:
            text = None
        except OSError as exc:
            text = f"unreadable: {exc}"
        detail = f"the worker exited with code {code}" if code is not None else "the worker is gone"
        succeeded, result = stage_outcome(code in (0, None), text,
                                          f"{running.stage} stage {stage_id} ({paths['result']}; log {paths['log']})",
                                          failure_detail=detail)
        return StageFinished(stage_id, succeeded, result)

    def log_tail(self, stage_id: str, max_bytes: int = 8000) -> str:
        with contextlib.suppress(OSError), open(self.paths(stage_id)["log"], "rb") as handle:
            handle.seek(0, os.SEEK_END)
            handle.seek(max(0, handle.tell() - max_bytes))
            return handle.read().decode(errors="replace")
        return ""


def command_not_found(spec: Mapping[str, Any], stage: str, error: OSError) -> dict[str, Any]:
    """The stage's result when its program cannot be started: the same failure a pod whose command does
    not exist ends with (the container never runs), named by the spec field that chose the program."""
    program = (spec["training"].get("command") or LOCAL_WORKER_COMMAND)[0]
    field = "spec.training.command" if spec["training"].get("command") else "the modelops worker"
    return {"error": f"{field}: cannot run {program!r} for the {stage} stage: {error.strerror or error}",
            "reason": COMMAND_NOT_FOUND}
