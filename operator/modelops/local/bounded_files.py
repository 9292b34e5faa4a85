"""Files of the local runtime that would otherwise grow with every evaluation, kept to a bound (issue #26).

`events.jsonl` and `history.jsonl` keep their newest lines — the operator's Events likewise do not
accumulate (the API server deletes them after its --event-ttl, one hour by default) — and finished stage
directories are removed beyond the newest few, as finished Jobs go after their ttlSecondsAfterFinished.
A SIGKILL mid-trim leaves either the old or the new file: the trim is one atomic rename.
"""

from __future__ import annotations

import shutil
from collections.abc import Collection, Mapping
from pathlib import Path
from typing import Any

from modelops.contract.files import write_text_atomic
from modelops.local.state_store import append_jsonl

EVENTS_KEPT = 1000  # newest lines of events.jsonl (`modelops status` shows the last few)
HISTORY_KEPT = 2000  # newest evaluations in history.jsonl (`modelops status --plot`)
STAGE_DIRS_KEPT = 20  # newest finished stage directories (config, result, log of each run)


class BoundedJsonl:
    """An append-only JSON-lines file of at most 2 * `keep` lines: past that, the newest `keep` stay.
    Lines are counted once (on the first append), then in memory, so an append stays one write."""

    def __init__(self, path: Path, keep: int) -> None:
        self.path, self.keep = path, keep
        self._lines: int | None = None

    def append(self, record: Mapping[str, Any]) -> None:
        if self._lines is None:
            self._lines = _count_lines(self.path)
        append_jsonl(self.path, record)
        self._lines += 1
        if self._lines > 2 * self.keep:
            newest = self.path.read_text(encoding="utf-8").splitlines()[-self.keep:]
            write_text_atomic(self.path, "".join(line + "\n" for line in newest))
            self._lines = len(newest)


def _count_lines(path: Path) -> int:
    try:
        with open(path, "rb") as handle:
            return sum(chunk.count(b"\n") for chunk in iter(lambda: handle.read(1 << 16), b""))
    except FileNotFoundError:
        return 0


def prune_stage_dirs(stages_dir: Path, keep: int, protect: Collection[str]) -> list[str]:
    """Remove stage directories beyond the newest `keep` (by last change), never one in `protect` (running
    or in flight: its process writes there and a resume reads its result). Returns the removed ids."""
    try:
        found = [p for p in stages_dir.iterdir() if p.is_dir()]
    except FileNotFoundError:
        return []
    found.sort(key=lambda p: p.stat().st_mtime, reverse=True)
    removed = []
    for directory in found[keep:]:
        if directory.name not in protect:
            shutil.rmtree(directory, ignore_errors=True)
            removed.append(directory.name)
    return removed
