"""The pure lifecycle core: no I/O, no kopf/kubernetes/tensorflow. Both runtimes call `decide`."""

from modelops.lifecycle.core import decide, decide_invalid_spec
from modelops.lifecycle.in_flight import in_flight_action
from modelops.lifecycle.messages import (
    Action,
    ApplyServing,
    CancelStage,
    Context,
    Decision,
    DeleteVersion,
    EmitEvent,
    Observation,
    Reconcile,
    ServingObserved,
    StageFinished,
    StageMissing,
    StartStage,
    VersionPruned,
)

__all__ = [
    "Action", "ApplyServing", "CancelStage", "Context", "Decision", "DeleteVersion", "EmitEvent", "Observation",
    "Reconcile", "ServingObserved", "StageFinished", "StageMissing", "StartStage", "VersionPruned", "decide",
    "decide_invalid_spec", "in_flight_action",
]
