"""`modelops worker prune`: remove one model version's files for retention, safely and idempotently.

The directory is first renamed to a hidden name (atomic on one filesystem, and TF Serving ignores
non-numeric names), then removed, so no reader ever sees a half-deleted version. Only a numeric
directory directly under `<root>/<namespace>/<name>/` can be removed: a bad argument must never turn
into deleting something else on the model volume.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import secrets
import shutil
import sys
from pathlib import Path
from typing import Any

from modelops.contract.layout import LayoutError, version_dir
from modelops.contract.reasons import PRUNE_FAILED
from modelops.contract.result import write_summary


class PruneError(ValueError):
    pass


def version_path(storage_root: str | Path, namespace: str, name: str, version: int) -> Path:
    try:
        return Path(version_dir(str(storage_root), namespace, name, version))
    except LayoutError as exc:
        raise PruneError(str(exc)) from exc


def prune_version(storage_root: str | Path, namespace: str, name: str, version: int) -> dict[str, Any]:
    """Delete the version directory; a missing one is already pruned (a retried Job succeeds). A search
    left behind by the version (`.tuning-<N>`: its train stage never published) goes with it."""
    path = version_path(storage_root, namespace, name, version)
    shutil.rmtree(path.with_name(f".tuning-v{version}"), ignore_errors=True)
    if not path.exists():
        return {"stage": "prune", "version": version, "deleted": False, "path": str(path)}
    if path.is_symlink() or not path.is_dir():
        raise PruneError(f"{path}: not a version directory; refusing to delete it")
    doomed = path.with_name(f".deleting-{version}-{secrets.token_hex(4)}")
    path.rename(doomed)
    shutil.rmtree(doomed)
    return {"stage": "prune", "version": version, "deleted": True, "path": str(path)}


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="modelops worker prune", description=__doc__.splitlines()[0])
    parser.add_argument("--storage-root", required=True)
    parser.add_argument("--namespace", required=True)
    parser.add_argument("--name", required=True)
    parser.add_argument("--version", required=True, type=int)
    parser.add_argument("--result-path", default="/dev/termination-log")
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:
        return 2 if exc.code else 0
    try:
        summary = prune_version(args.storage_root, args.namespace, args.name, args.version)
        code = 0
    except (PruneError, OSError) as exc:
        summary = {"stage": "prune", "version": args.version, "error": str(exc), "reason": PRUNE_FAILED}
        print(f"modelops worker prune: {exc}", file=sys.stderr)
        code = 1
    with contextlib.suppress(OSError):  # the summary still reaches the logs below
        write_summary(args.result_path, summary)
    print(json.dumps(summary), flush=True)
    return code
