"""The local runtime's state directory: the single source of truth that makes a restart a resume.

Layout (root = `--state-dir`, default `.modelops`):
  <root>/models/<namespace>/<name>/<version>/     model versions (the storage root is <root>/models)
  <root>/<namespace>/<name>/state.json           ONE record: the status (CRD status schema) and the actions
                                                 decided but not yet fully executed, written together
  <root>/<namespace>/<name>/state.prev.json      the record before it (a corrupt record falls back to it)
  <root>/<namespace>/<name>/runtime.json         generation bookkeeping (spec hash -> generation)
  <root>/<namespace>/<name>/history.jsonl        one line per evaluation (for `status --plot`)
  <root>/<namespace>/<name>/events.jsonl         EmitEvent actions, in order
  <root>/<namespace>/<name>/stages/<stage_id>/   config.json, result.json, log.txt, pid
  <root>/<namespace>/<name>/serving/             model_config.pbtxt, monitoring.pbtxt, log.txt, pid
Every JSON file is written atomically (temp file + fsync + rename) so a SIGKILL never leaves half a file.
Status and pending actions are one record, so a crash can never keep one without the other (two files
could pair a new status with the previous decision's actions). Older state directories (status.json +
pending.json) are read once and replaced by the record on the next save.
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


class StateRecordError(StateError):
    """The state record (and the one before it) cannot be decoded; the message says how to recover."""


@dataclass(frozen=True)
class StateRecord:
    status: dict[str, Any]
    pending: list[dict[str, Any]]
    recovered: str = ""  # non-empty: the current record was unreadable and this is the previous one; why


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
    def state_path(self) -> Path:
        return self.dir / "state.json"

    @property
    def previous_state_path(self) -> Path:
        return self.dir / "state.prev.json"

    @property
    def serving_dir(self) -> Path:
        return self.dir / "serving"

    @property
    def history_path(self) -> Path:
        return self.dir / "history.jsonl"

    @property
    def events_path(self) -> Path:
        return self.dir / "events.jsonl"


    def stage_dir(self, stage_id: str) -> Path:
        if not stage_id or "/" in stage_id or stage_id in (".", ".."):
            raise StateError(f"stage id {stage_id!r} is not usable as a directory name")
        return self.dir / "stages" / stage_id

    # ---------------------------------------------------------------- the state record
    def save(self, status: Mapping[str, Any], pending: list[dict[str, Any]] | None = None) -> None:
        """Status and pending actions in one atomic write; the record it replaces becomes the previous one."""
        text = json.dumps({"status": status, "pending": list(pending or [])}, indent=2, sort_keys=True,
                          default=str) + "\n"
        self.dir.mkdir(parents=True, exist_ok=True)
        if self.state_path.exists():  # the current record becomes the previous one (a hard link: state.json
            link = self.dir / ".state.prev.link"  # never disappears for a reader such as `modelops status`)
            with contextlib.suppress(FileNotFoundError):
                link.unlink()
            os.link(self.state_path, link)
            os.replace(link, self.previous_state_path)
        write_text_atomic(self.state_path, text)  # temp file + fsync + rename
        _fsync_dir(self.dir)
        for legacy in ("status.json", "pending.json"):
            with contextlib.suppress(FileNotFoundError):
                (self.dir / legacy).unlink()

    def load(self) -> StateRecord:
        """The current record; if it cannot be decoded, the previous one (saying why); if neither can,
        StateRecordError. A missing record is an empty one (a new deployment)."""
        try:
            return _decode_record(self.state_path) or self._legacy() or StateRecord({}, [])
        except StateError as current:
            try:
                previous = _decode_record(self.previous_state_path)
            except StateError as before:
                raise StateRecordError(
                    f"{current}; the previous record is unusable too ({before}). Move {self.state_path} aside to "
                    f"start this deployment's lifecycle over (model versions under {self.versions_dir} stay)"
                ) from current
            if previous is None:
                raise StateRecordError(
                    f"{current}; there is no previous record. Move it aside to start this deployment's lifecycle "
                    f"over (model versions under {self.versions_dir} stay)") from current
            corrupt = self.dir / "state.corrupt.json"
            os.replace(self.state_path, corrupt)
            return StateRecord(previous.status, previous.pending, f"{current} (kept as {corrupt})")

    def _legacy(self) -> StateRecord | None:
        """A state directory written before the single record: status.json and pending.json."""
        status = read_json(self.dir / "status.json", None)
        if status is None:
            return None
        pending = read_json(self.dir / "pending.json", [])
        if not isinstance(status, dict):
            raise StateError(f"{self.dir / 'status.json'}: expected a JSON object")
        return StateRecord(status, pending if isinstance(pending, list) else [])

    def load_status(self) -> dict[str, Any]:
        return self.load().status

    def save_status(self, status: Mapping[str, Any]) -> None:
        """Status with no pending actions."""
        self.save(status, [])

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
        self.save(self.load().status, actions)

    def load_pending(self) -> list[dict[str, Any]]:
        return self.load().pending

    def clear_pending(self) -> None:
        record = self.load()
        if record.pending:
            self.save(record.status, [])

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
    """Every deployment with a state record under `root` (for `modelops status` without a name)."""
    found = {(p.parent.parent.name, p.parent.name) for pattern in ("*/*/state.json", "*/*/status.json")
             for p in root.glob(pattern)}
    return [StateStore(root, namespace, name) for namespace, name in sorted(found)]


def _decode_record(path: Path) -> StateRecord | None:
    """The record in `path` (None when there is none); StateError naming the file when it is not one."""
    value = read_json(path, None)
    if value is None:
        return None
    if not isinstance(value, dict) or not isinstance(value.get("status"), dict) \
            or not isinstance(value.get("pending", []), list):
        raise StateError(f"{path}: not a state record (expected {{\"status\": {{...}}, \"pending\": [...]}})")
    return StateRecord(value["status"], list(value.get("pending") or []))


def _fsync_dir(directory: Path) -> None:
    """Make the renames durable (a power cut after them must not bring the old names back)."""
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
