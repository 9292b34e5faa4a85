"""One container as a local process in its own mount namespace.

`unshare --mount --propagation private` gives each container a private mount table, so volumes and
the termination-message file can be bind-mounted at the paths the pod spec names (e.g. /models,
/dev/termination-log) without two pods seeing each other's files. Mount points that do not exist
on the host are created there as empty dirs/files (the only trace left on the host).
"""

from __future__ import annotations

import shlex
import signal
import sys
from datetime import UTC, datetime
from pathlib import Path

from support.podrunner.volumes import Mount
from support.processes import OwnedProcess, start_process

MAX_MESSAGE_BYTES = 4096
FALLBACK_LOG_LINES = 80

_MOUNT_FUNCTION = (
    'm() { if [ -d "$1" ]; then mkdir -p "$2"; else mkdir -p "$(dirname "$2")"; [ -e "$2" ] || : > "$2"; fi; '
    'mount --bind "$1" "$2"; if [ "$3" = 1 ]; then mount -o remount,bind,ro "$2"; fi; }'
)


def now_rfc3339() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


# The host paths that stand in for the container image: the Python installation, the virtualenv and the
# repository (editable install, DNS shim). A volume mounted over an ancestor (an emptyDir at /tmp while the
# checkout lives under /tmp) must not hide them, so they are set aside first and bound back afterwards.
IMAGE_PATHS = tuple(dict.fromkeys(Path(p).resolve() for p in (sys.base_prefix, sys.prefix,
                                                               Path(__file__).resolve().parents[3])))


def _hidden_by(mounts: list[Mount], paths: tuple[Path, ...]) -> list[Path]:
    targets = [Path(m.target) for m in mounts]
    return [p for p in paths if any(p == t or t in p.parents for t in targets)]


def wrapper_argv(argv: list[str], mounts: list[Mount], workdir: str, staging: Path | None = None,
                 image_paths: tuple[Path, ...] = IMAGE_PATHS) -> list[str]:
    """`unshare ... sh -c '<binds>; cd <workdir>; exec "$@"' <argv>`: the process keeps our pid."""
    lines = ["set -e", _MOUNT_FUNCTION]
    hidden = _hidden_by(mounts, image_paths) if staging is not None else []
    for i, path in enumerate(hidden):
        lines.append(f"m {shlex.quote(str(path))} {shlex.quote(str(staging / str(i)))} 0")
    for mount in mounts:
        lines.append(f"m {shlex.quote(str(mount.source))} {shlex.quote(mount.target)} {int(mount.read_only)}")
    for i, path in enumerate(hidden):
        lines.append(f"m {shlex.quote(str(staging / str(i)))} {shlex.quote(str(path))} 1")
    lines.append(f"cd {shlex.quote(workdir)}")
    lines.append('exec "$@"')
    return ["unshare", "--mount", "--propagation", "private", "--", "/bin/sh", "-c", "\n".join(lines),
            "modelops-pod", *argv]


class ContainerProcess:
    """Starts, stops and reports on one run of a container (restarts create a new run)."""

    def __init__(self, spec: dict, argv: list[str], env: dict[str, str], mounts: list[Mount], workdir: str,
                 log_path: Path, termination_file: Path) -> None:
        self.spec = spec
        self.name = spec["name"]
        self.argv = argv
        self.env = env
        self.workdir = workdir
        self.log_path = log_path
        self.termination_file = termination_file
        target = spec.get("terminationMessagePath") or "/dev/termination-log"
        self.mounts = [*mounts, Mount(termination_file, target, False)]
        self.process: OwnedProcess | None = None
        self.started_at: str | None = None
        self.finished_at: str | None = None
        self._log_offset = 0

    def start(self) -> None:
        if self.process is not None:  # a restart: release the previous run's log handle
            self.process.stop(0)
        self.termination_file.parent.mkdir(parents=True, exist_ok=True)
        self.termination_file.write_bytes(b"")
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        self._log_offset = self.log_path.stat().st_size if self.log_path.exists() else 0
        self.started_at, self.finished_at = now_rfc3339(), None
        staging = self.log_path.parent.parent / "image" / self.name
        self.process = start_process(f"pod-container-{self.name}",
                                     wrapper_argv(self.argv, self.mounts, self.workdir, staging), self.log_path,
                                     env=self.env)

    @property
    def pid(self) -> int | None:
        return self.process.pid if self.process else None

    def exit_code(self) -> int | None:
        """None while running; the exit code (128+signal for signals, like a container runtime) after."""
        if self.process is None:
            return None
        code = self.process.popen.poll()
        if code is None:
            return None
        if self.finished_at is None:
            self.finished_at = now_rfc3339()
        return 128 - code if code < 0 else code

    def signal(self, sig: int = signal.SIGTERM) -> None:
        if self.process is not None and self.process.alive():
            import contextlib
            import os

            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.process.pid, sig)

    def kill(self, grace_seconds: float) -> None:
        if self.process is not None:
            self.process.stop(grace_seconds)

    def termination_message(self, exit_code: int) -> str:
        """The file's contents (≤ 4096 bytes); with FallbackToLogsOnError and an empty file, the log tail."""
        try:
            message = self.termination_file.read_bytes()[:MAX_MESSAGE_BYTES]
        except OSError:
            message = b""
        policy = self.spec.get("terminationMessagePolicy") or "File"
        if not message and exit_code != 0 and policy == "FallbackToLogsOnError":
            with open(self.log_path, "rb") as handle:
                handle.seek(self._log_offset)
                lines = handle.read().splitlines()[-FALLBACK_LOG_LINES:]
            message = b"\n".join(lines)[-MAX_MESSAGE_BYTES:]
        return message.decode(errors="replace")

    def terminated_state(self, exit_code: int) -> dict:
        state = {
            "exitCode": exit_code,
            "reason": "Completed" if exit_code == 0 else "Error",
            "startedAt": self.started_at,
            "finishedAt": self.finished_at or now_rfc3339(),
            "containerID": f"modelops://{self.pid}",
        }
        message = self.termination_message(exit_code)
        if message:
            state["message"] = message
        return state
