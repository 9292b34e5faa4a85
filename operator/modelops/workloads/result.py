"""The result contract: a ≤ 4 KiB JSON summary for the runtimes, and its parser.

Kubernetes keeps at most 4096 bytes of a container's termination message, so the summary is shrunk
on purpose rather than cut mid-JSON: details (per-feature drift, per-gate results) go first, the
fields a runtime decides on (`stage`, `version`, `passed`, `metrics`, `error`, `reason`) stay. The full
report is always written beside the model, so nothing dropped here is lost.
"""

from __future__ import annotations

import datetime as dt
import json
import math
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

MAX_SUMMARY_BYTES = 4096
ESSENTIAL_KEYS = ("stage", "version", "passed", "metrics", "error", "reason")


def _encode(summary: Mapping[str, Any]) -> str:
    return json.dumps(jsonable(summary), separators=(",", ":"), sort_keys=False, allow_nan=False)


def jsonable(value: Any) -> Any:
    """Plain JSON values: numpy scalars become Python numbers, NaN/inf become null (JSON has neither)."""
    if isinstance(value, Mapping):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [jsonable(v) for v in value]
    if hasattr(value, "item") and callable(value.item):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def _shrink_steps(summary: dict[str, Any]) -> list[dict[str, Any]]:
    """Ever smaller variants of the summary, least information lost first."""
    steps = []
    current = dict(summary)
    if isinstance(current.get("drift"), Mapping) and "features" in current["drift"]:
        current = {**current, "drift": {k: v for k, v in current["drift"].items() if k != "features"}}
        steps.append(current)
    if isinstance(current.get("gates"), list):
        compact = [{k: g.get(k) for k in ("metric", "kind", "passed")} for g in current["gates"]
                   if isinstance(g, Mapping)]
        current = {**current, "gates": compact}
        steps.append(current)
        current = {k: v for k, v in current.items() if k != "gates"}
        steps.append(current)
    for key in [k for k in current if k not in ESSENTIAL_KEYS]:
        current = {k: v for k, v in current.items() if k != key}
        steps.append(current)
    return steps


def render_summary(summary: Mapping[str, Any], limit: int = MAX_SUMMARY_BYTES) -> str:
    """JSON text of `summary` that fits `limit` bytes, marked `"truncated": true` when shrunk."""
    text = _encode(summary)
    if len(text.encode()) <= limit:
        return text
    for step in _shrink_steps(jsonable(dict(summary))):
        text = _encode({**step, "truncated": True})
        if len(text.encode()) <= limit:
            return text
    # Only essentials left and still too big: a huge error message is cut; metrics are kept.
    essentials = {k: v for k, v in jsonable(dict(summary)).items() if k in ESSENTIAL_KEYS}
    error = str(essentials.get("error", ""))
    while error:
        error = error[: len(error) // 2]
        text = _encode({**essentials, "error": error + "...", "truncated": True})
        if len(text.encode()) <= limit:
            return text
    return _encode({k: essentials[k] for k in ("stage", "version", "reason") if k in essentials}
                   | {"error": "summary too large", "truncated": True})


def write_text_atomic(path: str | Path, text: str) -> None:
    """Write via a sibling temp file + rename, so readers never see half a report."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, path)


def timestamped_path(directory: Path, when: dt.datetime) -> Path:
    """`<dir>/20260101T120000.123456Z.json`: sorts by time, and never replaces an earlier report."""
    stamp = when.astimezone(dt.UTC).strftime("%Y%m%dT%H%M%S.%fZ")
    path, suffix = directory / f"{stamp}.json", 1
    while path.exists():
        path, suffix = directory / f"{stamp}-{suffix}.json", suffix + 1
    return path


def write_json(path: str | Path, data: Mapping[str, Any]) -> None:
    """A full report (no size limit), pretty-printed for people."""
    write_text_atomic(path, json.dumps(jsonable(data), indent=2, allow_nan=False) + "\n")


def write_summary(path: str | Path, summary: Mapping[str, Any]) -> str:
    """Write the ≤ 4 KiB summary to `path` (the termination log); returns the text written.

    /dev/termination-log is a file Kubernetes mounts; it is written in place, not renamed over.
    """
    text = render_summary(summary)
    path = Path(path)
    if path.parent != Path("/dev"):
        path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return text


def read_result(text: str) -> dict[str, Any]:
    """Parse a stage result for a runtime; raises ValueError naming what was wrong.

    Accepts the summary itself, or log text whose last JSON-object line is the summary (what
    Kubernetes keeps with FallbackToLogsOnError when the worker died before writing its message).
    """
    if not isinstance(text, str) or not text.strip():
        raise ValueError("workload result: empty text (the worker wrote no result)")
    candidates = [text.strip()] + [line.strip() for line in reversed(text.strip().splitlines())]
    for candidate in candidates:
        if not candidate.startswith("{"):
            continue
        try:
            data = json.loads(candidate)
        except json.JSONDecodeError:
            continue
        if isinstance(data, dict) and ("stage" in data or "error" in data):
            return data
    preview = text.strip()[:120].replace("\n", " ")
    raise ValueError(f"workload result: no JSON object with 'stage' or 'error' found in {preview!r}")


def is_failure(result: Mapping[str, Any]) -> bool:
    """True for an error result; a rejected candidate (passed=false) is a successful validation."""
    return "error" in result
