"""Remove what killed or failed runs of EARLIER versions left on the model volume (issue #26).

A train stage writes `.tmp-<N>-*` (published by a rename), a distributed one keeps `.backup-<N>` until it
publishes, and a prune renames the version to `.deleting-<N>-*` before removing it. A run killed in the
middle (SIGKILL, a node lost, a superseded Job) leaves those behind, and a failed version is never
trained again (versions are never reused), so nothing else would ever remove them.

The train stage's chief sweeps them when it starts version N: the lifecycle runs one stage at a time and
numbers versions upward, so no version below N can still publish (a superseded run's result is ignored
anyway), while N's own `.tmp-N-*` are handled by `remove_stale_temporaries` and `.backup-N` is kept for
the resume it exists for. A `.deleting-*` directory is garbage the moment it is renamed, whatever its
number. `.tuning-v<M>` directories are left to the prune of M: a later version may train with M's search.
"""

from __future__ import annotations

import re
import shutil
from pathlib import Path

_LEFTOVER = re.compile(r"^\.(?:tmp-(?P<tmp>\d+)-.+|backup-(?P<backup>\d+)|deleting-\d+-.+)$")


def stale_leftovers(deployment_dir: Path, version: int) -> list[Path]:
    """Leftover directories under `deployment_dir` that no run of `version` or later can need."""
    found = []
    for path in sorted(deployment_dir.glob(".*")):
        match = _LEFTOVER.match(path.name)
        if match is None or not path.is_dir() or path.is_symlink():
            continue
        owner = match.group("tmp") or match.group("backup")
        if owner is None or int(owner) < version:
            found.append(path)
    return found


def remove_leftovers(deployment_dir: Path, version: int) -> list[str]:
    """Remove them; their names (for the stage's report)."""
    removed = []
    for path in stale_leftovers(deployment_dir, version):
        shutil.rmtree(path, ignore_errors=True)
        removed.append(path.name)
    return removed
