"""The working copy a decision edits: status, actions, and a few helpers every rule module shares."""

from __future__ import annotations

import copy
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

from modelops.api.spec_view import SpecView, view
from modelops.lifecycle.clock import stamp
from modelops.lifecycle.messages import Action, Context, EmitEvent, StartStage
from modelops.lifecycle.records import find_version
from modelops.lifecycle.stage_codec import stage_record


@dataclass
class Draft:
    ctx: Context
    status: dict[str, Any]
    actions: list[Action] = field(default_factory=list)
    requeue: list[float] = field(default_factory=list)

    @classmethod
    def start(cls, ctx: Context, status: dict[str, Any] | None) -> Draft:
        return cls(ctx, copy.deepcopy(status) if status else {})

    @property
    def spec(self) -> dict[str, Any]:
        return self.ctx.spec  # type: ignore[return-value]

    @cached_property
    def view(self) -> SpecView:
        """The typed, defaulted spec (api/spec_view.py): every rule reads its settings here, once per decision."""
        return view(self.spec)

    @property
    def now(self) -> str:
        return stamp(self.ctx.now)

    def event(self, type_: str, reason: str, message: str) -> None:
        self.actions.append(EmitEvent(type_, reason, message))  # type: ignore[arg-type]

    def record(self, version: int | None) -> dict[str, Any] | None:
        return find_version(self.status, version)

    def in_flight(self) -> dict[str, Any] | None:
        return self.status.get("stage")

    def start_stage(self, action: StartStage) -> None:
        self.status["stage"] = stage_record(action, self.now)
        self.actions.append(action)

    def fail(self, reason: str, message: str) -> None:
        """Stop the loop until the spec is edited; the serving version (if any) keeps serving."""
        failure = {"reason": reason, "message": message}
        if self.status.get("failure") != failure:
            self.event("Warning", reason, message)
        self.status["failure"] = failure
