"""In-flight recovery, decided once for both runtimes: what a run recorded in status.stage becomes when the
runtime finds nothing of it (StageMissing).

A run that exists, alive or finished, is adopted by its deterministic id and reports itself; the runtimes
only look. One that does not exist was decided but never started (the runtime stopped between saving the
status and creating the run), or vanished before it reported (a Job deleted by hand, a finished Job
garbage-collected first): it is started again as the same run, from status.stage through the one codec
(stage_codec.py). Bounded: after MAX_RESTARTS re-creations the stage fails with StageLost, through the
same path as any failed stage, instead of being re-created for ever.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from modelops.lifecycle import reasons
from modelops.lifecycle.draft import Draft
from modelops.lifecycle.messages import StageFinished, StageMissing, StartStage
from modelops.lifecycle.stage_codec import MalformedStage, stage_action
from modelops.lifecycle.stage_results import on_stage_finished

MAX_RESTARTS = 3


def in_flight_action(status: Mapping[str, Any]) -> StartStage | None:
    """The StartStage that started the run recorded in status.stage (same id, data, baseline)."""
    stage = status.get("stage")
    return stage_action(stage) if stage else None


def on_stage_missing(d: Draft, obs: StageMissing) -> None:
    """Re-create the missing run of the stage in flight, or fail it once it went missing too often."""
    stage = d.in_flight()
    if stage is None or stage.get("id") != obs.stage_id:
        return  # it finished or was superseded meanwhile: nothing is missing
    restarts = int(stage.get("restarts") or 0)
    try:
        action = stage_action(stage)
    except MalformedStage as bad:
        _lost(d, obs.stage_id, reasons.MALFORMED_STAGE, f"status.stage cannot be started again: {bad}")
        return
    if restarts >= MAX_RESTARTS:
        _lost(d, obs.stage_id, reasons.STAGE_LOST, f"the run {obs.stage_id} disappeared before reporting a result "
                                                   f"{restarts + 1} times; not started again")
        return
    stage["restarts"] = restarts + 1
    d.actions.append(action)


def _lost(d: Draft, stage_id: str, reason: str, message: str) -> None:
    on_stage_finished(d, StageFinished(stage_id, False, {"error": message, "reason": reason}))
