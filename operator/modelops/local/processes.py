"""Detached child processes that outlive the runtime, recorded in pid files so a restart can adopt them.

Every child starts in its own session: a SIGKILL of the runtime leaves training and serving running,
and stopping a child signals its whole process group (never anything we did not start). A pid file
stores the pid *and* the kernel's start time of that process, so a recycled pid is never mistaken
for our child.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

from modelops.local.state_store import read_json, write_json_atomic


def _start_time(pid: int) -> str | None:
    """Field 22 of /proc/<pid>/stat (start time in clock ticks), or None if the process is gone/zombie."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    fields = stat[stat.rfind(")") + 2:].split()
    if fields[0] in ("Z", "X"):  # zombie or dead: finished, only waiting to be reaped
        return None
    return fields[19]


@dataclass
class ChildProcess:
    """A detached child: `popen` when we started it in this runtime, only `pid` when adopted."""

    pid: int
    started: str | None
    popen: subprocess.Popen[bytes] | None = None

    def alive(self) -> bool:
        if self.popen is not None:
            return self.popen.poll() is None
        return self.started is not None and _start_time(self.pid) == self.started

    def exit_code(self) -> int | None:
        """Known only for processes this runtime started; adopted ones report via their result file."""
        return None if self.popen is None else self.popen.poll()

    def terminate(self, grace_seconds: float = 10.0) -> None:
        """SIGTERM the process group, then SIGKILL after the grace period."""
        if not self.alive():
            return
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(self.pid, signal.SIGTERM)
        deadline = time.monotonic() + grace_seconds
        while self.alive() and time.monotonic() < deadline:
            time.sleep(0.1)
        with contextlib.suppress(ProcessLookupError, PermissionError):
            if self.alive():
                os.killpg(self.pid, signal.SIGKILL)
        if self.popen is not None:
            with contextlib.suppress(subprocess.TimeoutExpired):
                self.popen.wait(timeout=5)


def spawn(argv: list[str], log_path: Path, pid_path: Path, env: dict[str, str] | None = None) -> ChildProcess:
    """Start `argv` in a new session, output appended to `log_path`, identity recorded in `pid_path`."""
    log_path.parent.mkdir(parents=True, exist_ok=True)
    with open(log_path, "ab") as log:
        popen = subprocess.Popen(argv, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                 env=env, start_new_session=True)
    started = _start_time(popen.pid)
    write_json_atomic(pid_path, {"pid": popen.pid, "started": started, "argv": argv})
    return ChildProcess(popen.pid, started, popen)


def unrecorded(argument: str) -> list[ChildProcess]:
    """Running processes whose command line holds `argument` (a path only our child is given): the way to
    find a child whose pid file was never written, because the runtime died between starting it and
    recording it. Linux /proc; elsewhere none are found."""
    found = []
    with contextlib.suppress(OSError):
        for entry in Path("/proc").iterdir():
            if not entry.name.isdigit():
                continue
            try:
                argv = (entry / "cmdline").read_bytes().split(b"\0")
            except OSError:
                continue
            if os.fsencode(argument) in argv and (started := _start_time(int(entry.name))) is not None:
                found.append(ChildProcess(int(entry.name), started))
    return found


def adopt_started(pid_path: Path, argument: str) -> ChildProcess | None:
    """`adopt`, and when the pid file was never written, the running process given `argument` (its config
    path): a runtime that died between starting a child and recording it leaves no orphan behind."""
    child = adopt(pid_path)
    if child is None and not pid_path.exists():
        child = next(iter(unrecorded(argument)), None)
    return child


def adopt(pid_path: Path) -> ChildProcess | None:
    """The process recorded in `pid_path` if it is still the same running process, else None."""
    record = read_json(pid_path, None)
    if not isinstance(record, dict) or not isinstance(record.get("pid"), int):
        return None
    child = ChildProcess(record["pid"], record.get("started"))
    return child if child.alive() else None
