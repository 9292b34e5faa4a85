"""The stage result: a ≤ 4 KiB JSON summary the runtimes decide on, its parser, and its meaning.

Kubernetes keeps at most 4096 bytes of a container's termination message, so the summary is shrunk
on purpose rather than cut mid-JSON. What may go is fixed per stage: every key the lifecycle core
decides on (`DECISION_KEYS`) stays by construction; details (per-feature drift, timings) go first.
The full report is always written beside the model, so nothing dropped here is lost.
`stage_outcome` turns what a finished run left behind into (succeeded, result) with the same reason
codes in a Job and in a local process.
"""

from __future__ import annotations

import datetime as dt
import json
import math
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from modelops.contract.files import write_text_atomic
from modelops.contract.reasons import NO_RESULT, UNREADABLE_RESULT, WORKER_FAILED

MAX_SUMMARY_BYTES = 4096
COMMON_KEYS = ("stage", "version", "error", "reason")
# What the lifecycle core reads from each stage's summary; never dropped when shrinking.
DECISION_KEYS: dict[str, tuple[str, ...]] = {
    "tune": ("objective", "hyperparameters", "trials", "bestTrials", "algorithm"),
    "train": ("metrics", "rows", "lineage", "schema", "schemaCheck"),
    "validate": ("metrics", "baselineVersion", "baselineMetrics", "challenge", "rows", "schemaCheck"),
    "evaluate": ("metrics", "rows", "totalRows", "excludedRows", "drift", "lineage", "schemaCheck"),
    "prune": ("deleted",),
}
# Parts of a decision key that only explain (the full table stays in the report file).
DETAIL_PARTS: dict[str, tuple[str, ...]] = {"drift": ("features",)}


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


def essential_keys(summary: Mapping[str, Any]) -> tuple[str, ...]:
    return COMMON_KEYS + DECISION_KEYS.get(str(summary.get("stage")), ())


def _shrink_steps(summary: dict[str, Any]) -> list[dict[str, Any]]:
    """Ever smaller variants of the summary, least information lost first; decision keys stay."""
    steps = []
    current = dict(summary)
    for key, parts in DETAIL_PARTS.items():
        if isinstance(current.get(key), Mapping) and any(p in current[key] for p in parts):
            current = {**current, key: {k: v for k, v in current[key].items() if k not in parts}}
            steps.append(current)
    keep = essential_keys(current)
    for key in [k for k in current if k not in keep]:
        current = {k: v for k, v in current.items() if k != key}
        steps.append(current)
    return steps


def render_summary(summary: Mapping[str, Any], limit: int = MAX_SUMMARY_BYTES) -> str:
    """JSON text of `summary` that fits `limit` bytes, marked `"truncated": true` when shrunk."""
    text = _encode(summary)
    if len(text.encode()) <= limit:
        return text
    steps = _shrink_steps(jsonable(dict(summary)))
    for step in steps:
        text = _encode({**step, "truncated": True})
        if len(text.encode()) <= limit:
            return text
    # Only essentials left and still too big: a huge error message is cut; decision keys are kept.
    smallest = steps[-1] if steps else jsonable(dict(summary))
    essentials = {k: v for k, v in smallest.items() if k in essential_keys(summary)}
    error = str(essentials.get("error", ""))
    while error:
        error = error[: len(error) // 2]
        text = _encode({**essentials, "error": error + "...", "truncated": True})
        if len(text.encode()) <= limit:
            return text
    return _encode({k: essentials[k] for k in ("stage", "version", "reason") if k in essentials}
                   | {"error": "summary too large", "truncated": True})


def timestamped_path(directory: Path, when: dt.datetime, prefix: str = "") -> Path:
    """`<dir>/<prefix>20260101T120000.123456Z.json`: sorts by time, never replaces an earlier report."""
    stamp = prefix + when.astimezone(dt.UTC).strftime("%Y%m%dT%H%M%S.%fZ")
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


def stage_outcome(exited_ok: bool, text: str | None, where: str, *, failure_reason: str = WORKER_FAILED,
                  failure_detail: str = "") -> tuple[bool, dict[str, Any]]:
    """(succeeded, result) of a finished run from its exit status and the result text it left.

    `where` names the run for people (a Job, a result file); `failure_reason`/`failure_detail` say
    why the run failed when its own result does not (the Job's Failed condition, an exit code).
    A run succeeds only when it exited cleanly AND its result is a result without an error.
    """
    detail = failure_detail or "the stage exited with an error"
    if not text or not text.strip():
        if exited_ok:
            return False, {"error": f"{where} ended without writing a result", "reason": NO_RESULT}
        return False, {"error": f"{where}: {detail} and wrote no result", "reason": failure_reason}
    try:
        result = read_result(text)
    except ValueError as error:
        if exited_ok:
            return False, {"error": f"{where}: {error}", "reason": UNREADABLE_RESULT}
        return False, {"error": f"{where}: {detail}; last output: {text.strip()[-500:]}", "reason": failure_reason}
    if "error" in result:
        return False, {**result, "reason": str(result.get("reason") or failure_reason)}
    if not exited_ok:
        return False, {**result, "error": f"{where}: {detail}", "reason": failure_reason}
    return True, result
