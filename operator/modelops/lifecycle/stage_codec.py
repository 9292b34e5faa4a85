"""The one codec between a StartStage action and its record, status.stage (the CRD's field names).

The core writes status.stage when it starts a run; a runtime that must re-create the run after a
restart (lifecycle/core.py on StageMissing) and the local runtime's journal of pending actions read the
same record back. One codec, so a field added to StartStage cannot be persisted by one and dropped by
another: a re-created run is exactly the run that was decided (same id, data, baseline, chosen values).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from modelops.lifecycle.messages import StartStage


def stage_record(action: StartStage, started_at: str | None = None) -> dict[str, Any]:
    """status.stage for `action`; optional fields appear only when set (a merge patch leaves none stale
    because status.stage is replaced whole)."""
    record: dict[str, Any] = {"id": action.stage_id, "name": action.stage, "version": action.version,
                              "dataset": dict(action.dataset)}
    if started_at is not None:
        record["startedAt"] = started_at
    if action.baseline_version is not None:
        record["baselineVersion"] = action.baseline_version
    if action.track is not None:
        record["track"] = action.track
    if action.extra_datasets:
        record["extraDatasets"] = [dict(d) for d in action.extra_datasets]
    if action.challenge_dataset:
        record["challengeDataset"] = dict(action.challenge_dataset)
    if action.fingerprint:
        record["fingerprint"] = [dict(d) for d in action.fingerprint]
    if action.hyperparameters:
        record["hyperparameters"] = dict(action.hyperparameters)
    if action.tuned_by is not None:
        record["tunedBy"] = action.tuned_by
    return record


class MalformedStage(ValueError):
    """A stored stage record that cannot be a StartStage (names the field)."""


def stage_action(record: Mapping[str, Any]) -> StartStage:
    """The StartStage a status.stage record (or a journal entry) was made from."""
    try:
        baseline, tuned_by = record.get("baselineVersion"), record.get("tunedBy")
        return StartStage(str(record["name"]), int(record["version"]), str(record["id"]),  # type: ignore[arg-type]
                          dict(record.get("dataset") or {}),
                          baseline_version=None if baseline is None else int(baseline), track=record.get("track"),
                          extra_datasets=tuple(dict(d) for d in record.get("extraDatasets") or ()),
                          challenge_dataset=dict(record["challengeDataset"]) if record.get("challengeDataset")
                          else None,
                          fingerprint=tuple(dict(d) for d in record.get("fingerprint") or ()),
                          hyperparameters=dict(record["hyperparameters"]) if record.get("hyperparameters") else None,
                          tuned_by=None if tuned_by is None else int(tuned_by))
    except KeyError as missing:
        raise MalformedStage(f"stage record: field {missing} is missing") from None
    except (TypeError, ValueError) as bad:
        raise MalformedStage(f"stage record: {bad}") from None
