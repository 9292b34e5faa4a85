"""The local runtime's state directory: the single source of truth that makes a restart a resume.

Layout (root = `--state-dir`, default `.modelops`):
  <root>/models/<namespace>/<name>/<version>/     model versions (the storage root is <root>/models)
  <root>/<namespace>/<name>/status.json          status in the CRD's status schema
  <root>/<namespace>/<name>/runtime.json         generation bookkeeping (spec hash -> generation)
  <root>/<namespace>/<name>/pending.json         actions decided but not yet fully executed
  <root>/<namespace>/<name>/history.jsonl        one line per evaluation (for `status --plot`)
  <root>/<namespace>/<name>/events.jsonl         EmitEvent actions, in order
  <root>/<namespace>/<name>/stages/<stage_id>/   config.json, result.json, log.txt, pid
  <root>/<namespace>/<name>/serving/             model_config.pbtxt, monitoring.pbtxt, log.txt, pid
Every JSON file is written atomically (temp file + rename) so a SIGKILL never leaves half a file.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import json
import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from modelops.contract.files import write_text_atomic
from modelops.contract.layout import deployment_dir

DEFAULT_ROOT = Path(".modelops")


class StateError(RuntimeError):
    """The state directory cannot be used (locked by another runtime, unreadable file, ...)."""


def write_json_atomic(path: Path, data: Any) -> None:
    write_text_atomic(path, json.dumps(data, indent=2, sort_keys=True, default=str) + "\n")


def read_json(path: Path, default: Any = None) -> Any:
    """Read a JSON file; a missing file gives `default`, a corrupt one a StateError naming the file."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return default
    except OSError as exc:
        raise StateError(f"{path}: cannot read: {exc.strerror or exc}") from exc
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise StateError(f"{path}: not valid JSON ({exc})") from exc


def append_jsonl(path: Path, record: Mapping[str, Any]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "a", encoding="utf-8") as handle:
        handle.write(json.dumps(record, sort_keys=True, default=str) + "\n")


def read_jsonl(path: Path) -> list[dict[str, Any]]:
    """All complete lines; a torn last line (SIGKILL mid-write) is skipped, never fatal."""
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except FileNotFoundError:
        return []
    records = []
    for line in lines:
        with contextlib.suppress(json.JSONDecodeError):
            value = json.loads(line)
            if isinstance(value, dict):
                records.append(value)
    return records


def spec_hash(spec: Mapping[str, Any]) -> str:
    return hashlib.sha256(json.dumps(spec, sort_keys=True, default=str).encode()).hexdigest()


@dataclass(frozen=True)
class StateStore:
    """Paths and persistence for one ModelDeployment's local state."""

    root: Path
    namespace: str
    name: str

    @property
    def dir(self) -> Path:
        return self.root / self.namespace / self.name

    @property
    def storage_root(self) -> Path:
        return self.root / "models"

    @property
    def versions_dir(self) -> Path:
        """TF Serving's base_path for this model: numbered version directories live here."""
        return Path(deployment_dir(str(self.storage_root), self.namespace, self.name))

    @property
    def status_path(self) -> Path:
        return self.dir / "status.json"

    @property
    def serving_dir(self) -> Path:
        return self.dir / "serving"

    @property
    def history_path(self) -> Path:
        return self.dir / "history.jsonl"

    @property
    def events_path(self) -> Path:
        return self.dir / "events.jsonl"

    @property
    def pending_path(self) -> Path:
        return self.dir / "pending.json"

    def stage_dir(self, stage_id: str) -> Path:
        if not stage_id or "/" in stage_id or stage_id in (".", ".."):
            raise StateError(f"stage id {stage_id!r} is not usable as a directory name")
        return self.dir / "stages" / stage_id

    # ---------------------------------------------------------------- status
    def load_status(self) -> dict[str, Any]:
        status = read_json(self.status_path, {})
        if not isinstance(status, dict):
            raise StateError(f"{self.status_path}: expected a JSON object")
        return status

    def save_status(self, status: Mapping[str, Any]) -> None:
        write_json_atomic(self.status_path, status)

    # ---------------------------------------------------------------- generation
    def generation_for(self, spec: Mapping[str, Any]) -> int:
        """Kubernetes bumps metadata.generation on every spec change; the local runtime does the same
        by remembering the hash of the last spec it ran."""
        path = self.dir / "runtime.json"
        record = read_json(path, {}) or {}
        digest = spec_hash(spec)
        generation = int(record.get("generation", 0))
        if record.get("specHash") != digest:
            generation += 1
            write_json_atomic(path, {"generation": generation, "specHash": digest})
        return generation

    # ---------------------------------------------------------------- pending actions
    def save_pending(self, actions: list[dict[str, Any]]) -> None:
        write_json_atomic(self.pending_path, actions)

    def load_pending(self) -> list[dict[str, Any]]:
        value = read_json(self.pending_path, [])
        return value if isinstance(value, list) else []

    def clear_pending(self) -> None:
        with contextlib.suppress(FileNotFoundError):
            self.pending_path.unlink()

    # ---------------------------------------------------------------- lock
    def lock(self) -> int:
        """Hold an exclusive lock for the runtime's lifetime; the kernel drops it if we are killed."""
        self.dir.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.dir / "runtime.lock", os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError as exc:
            os.close(fd)
            raise StateError(f"{self.dir}: another `modelops run` is already driving this deployment") from exc
        os.ftruncate(fd, 0)
        os.write(fd, str(os.getpid()).encode())
        return fd


def discover(root: Path) -> list[StateStore]:
    """Every deployment with a status.json under `root` (for `modelops status` without a name)."""
    found = []
    for status in sorted(root.glob("*/*/status.json")):
        namespace, name = status.parent.parent.name, status.parent.name
        found.append(StateStore(root, namespace, name))
    return found
