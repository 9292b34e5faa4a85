"""What the lifecycle core reads (observations) and what it asks the runtimes to do (actions).

Plain frozen dataclasses: the kube and local runtimes build observations from what they saw and execute
actions; neither interprets the lifecycle rules themselves.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal

from modelops.lifecycle.repeat_policy import DEFAULT_REPEAT, RepeatPolicy

Stage = Literal["tune", "train", "validate", "evaluate"]
Track = Literal["stable", "canary"]


# ---------------------------------------------------------------- observations
@dataclass(frozen=True)
class Reconcile:
    """The resource was created, edited, resumed, or time passed: re-evaluate everything."""


@dataclass(frozen=True)
class StageFinished:
    """A stage run ended. `stage_id` is the id from the StartStage action (and status.stage.id).

    `result` is the parsed result JSON: the summary from the termination message, or
    `{"error": ..., "reason": ...}` when the stage failed.
    """

    stage_id: str
    succeeded: bool
    result: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class ServingObserved:
    """What the runtime sees of serving: which versions answer (AVAILABLE and ready), and what the
    serving children it found pin: `{"stable": N, "canary": M | None}`, or None when any child that
    serving needs is missing. The core compares that with what it wants, so a deleted or edited
    child is re-applied on the next look (level-triggered), not only when the desired state changes."""

    ready_versions: frozenset[int]
    pinned: Mapping[str, int | None] | None = None


@dataclass(frozen=True)
class VersionPruned:
    """A DeleteVersion was carried out (`deleted` False: it failed, `message` says why). `attempt` names
    the DeleteVersion's attempt when known, so a report of an attempt already counted is not counted again."""

    version: int
    deleted: bool
    message: str = ""
    attempt: int | None = None


@dataclass(frozen=True)
class StageMissing:
    """The runtime found no run, alive or finished, for the stage in status.stage (`stage_id`): it stopped
    between saving the decision and starting the run, or the run was deleted before it reported. The core
    decides what follows (lifecycle/in_flight.py), so both runtimes recover the same way."""

    stage_id: str


Observation = Reconcile | StageFinished | ServingObserved | VersionPruned | StageMissing


# ---------------------------------------------------------------- actions
@dataclass(frozen=True)
class StartStage:
    """Run one workload stage. `stage_id` is deterministic (`train-v3-a1`, `evaluate-v3-e7`): a runtime
    that finds an existing run with that id adopts it instead of starting a second one.

    `dataset` is the spec's dataset object for this stage (uri, labelColumn, format);
    `baseline_version` is set for validate when a version is serving; `evaluate` targets `version`
    on serving track `track`. A degradation retrain also trains on `extra_datasets` and is validated
    against the serving version on `challenge_dataset` too; an evaluation also fingerprints
    `fingerprint` (what a retrain would read), so the core can tell whether a retrain could differ.
    A tune stage searches hyperparameters for `version`; the train stage after it gets the chosen values as
    `hyperparameters` (the spec's names: learningRate, hiddenLayers, ...) and `tuned_by`, the version whose
    search chose them.
    """

    stage: Stage
    version: int
    stage_id: str
    dataset: Mapping[str, Any]
    baseline_version: int | None = None
    track: Track | None = None
    extra_datasets: tuple[Mapping[str, Any], ...] = ()
    challenge_dataset: Mapping[str, Any] | None = None
    fingerprint: tuple[Mapping[str, Any], ...] = ()
    hyperparameters: Mapping[str, Any] | None = None
    tuned_by: int | None = None


@dataclass(frozen=True)
class ApplyServing:
    """Serve exactly these versions: `stable` gets the label `stable`, `canary` (if any) `canary`.

    Nothing else may be loaded. A runtime reports back with ServingObserved.
    """

    stable: int
    canary: int | None = None


@dataclass(frozen=True)
class CancelStage:
    """A run that is no longer wanted (superseded by a spec edit): stop it, its result is ignored."""

    stage_id: str


@dataclass(frozen=True)
class DeleteVersion:
    """Retention: remove this version's files. Never issued for serving, canary, pinned or last blessed.

    Re-issued on every reconcile until a VersionPruned confirms it; `attempt` names a fresh run after
    a failed one (runtimes name their run after it, so a replay adopts instead of duplicating)."""

    version: int
    attempt: int = 1


@dataclass(frozen=True)
class EmitEvent:
    type: Literal["Normal", "Warning"]
    reason: str
    message: str


Action = StartStage | ApplyServing | CancelStage | DeleteVersion | EmitEvent


@dataclass(frozen=True)
class Decision:
    """The new status (a plain dict in the CRD's status schema) and the actions to execute, in order."""

    status: dict[str, Any]
    actions: list[Action]
    requeue_after: float | None = None  # seconds until the core wants another Reconcile (evaluations, cooldown)


@dataclass(frozen=True)
class Context:
    """Everything a decision needs besides status: the validated spec (dict with defaults applied),
    the resource's generation, and the current time (UTC, timezone-aware)."""

    spec: Mapping[str, Any]
    generation: int
    now: datetime
    repeat: RepeatPolicy = DEFAULT_REPEAT  # bounds on the actions the core repeats (lifecycle/repeats.py)
