"""`modelops worker prune`: remove one model version's files for retention, safely and idempotently.

The directory is first renamed to a hidden name (atomic on one filesystem, and TF Serving ignores
non-numeric names), then removed, so no reader ever sees a half-deleted version. Only a numeric
directory directly under `<root>/<namespace>/<name>/` can be removed: a bad argument must never turn
into deleting something else on the model volume.

Given the version's status record (`--record-json`), it is first written to `records/<N>.json` beside the
versions, so the full record outlives both the files and its entry in status.versions, which keeps only
`retention.keepRecords` of them.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import secrets
import shutil
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from modelops.contract.layout import LayoutError, version_dir, version_record_path
from modelops.contract.reasons import PRUNE_FAILED
from modelops.contract.result import write_json, write_summary


class PruneError(ValueError):
    pass


def version_path(storage_root: str | Path, namespace: str, name: str, version: int) -> Path:
    try:
        return Path(version_dir(str(storage_root), namespace, name, version))
    except LayoutError as exc:
        raise PruneError(str(exc)) from exc


def prune_version(storage_root: str | Path, namespace: str, name: str, version: int,
                  record: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """Delete the version directory; a missing one is already pruned (a retried Job succeeds). A search
    left behind by the version (`.tuning-<N>`: its train stage never published) goes with it. The record,
    when given, is archived first: a removal is only confirmed once the record is safe."""
    path = version_path(storage_root, namespace, name, version)
    if record is not None:
        write_json(version_record_path(str(storage_root), namespace, name, version), record)
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
    parser.add_argument("--record-json", default=None, help="the version's status record, archived before removal")
    parser.add_argument("--result-path", default="/dev/termination-log")
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:
        return 2 if exc.code else 0
    try:
        record = None if args.record_json is None else json.loads(args.record_json)
        if record is not None and not isinstance(record, dict):
            raise PruneError(f"--record-json: expected a JSON object, got {type(record).__name__}")
        summary = prune_version(args.storage_root, args.namespace, args.name, args.version, record)
        code = 0
    except (PruneError, OSError, ValueError) as exc:
        summary = {"stage": "prune", "version": args.version, "error": str(exc), "reason": PRUNE_FAILED}
        print(f"modelops worker prune: {exc}", file=sys.stderr)
        code = 1
    with contextlib.suppress(OSError):  # the summary still reaches the logs below
        write_summary(args.result_path, summary)
    print(json.dumps(summary), flush=True)
    return code
