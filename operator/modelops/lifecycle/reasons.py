"""Every reason the core writes: condition reasons, Event reasons and version-record reasons.

Users, alerts and GitOps tools match on these words, so they are API: add, never rename. Every module of
the core (and every runtime or CLI that matches a reason) imports them from here; no reason is spelled
as a literal or built with an f-string anywhere else. Stage failure codes written by workers live in
contract/reasons.py; the ones the core itself decides on are re-exported below.
"""

from __future__ import annotations

from typing import Final

from modelops.contract.reasons import COMMAND_NOT_FOUND as _COMMAND_NOT_FOUND
from modelops.contract.reasons import JOB_REJECTED as _JOB_REJECTED
from modelops.contract.reasons import SCHEMA_VIOLATION as _SCHEMA_VIOLATION
from modelops.contract.reasons import TRAINING_DIVERGED as _DIVERGED

# ---------------------------------------------------------------- a version's own progress
TUNING: Final = "Tuning"
TUNING_STARTED: Final = "TuningStarted"
TUNED: Final = "Tuned"
TRAINING: Final = "Training"
TRAINED: Final = "Trained"
VALIDATING: Final = "Validating"
VALIDATED: Final = "Validated"
GATES_PASSED: Final = "GatesPassed"
GATE_FAILED: Final = "GateFailed"
BEATS_SERVING_BELOW_FLOOR: Final = "BeatsServingBelowFloor"
CANDIDATE_REJECTED: Final = "CandidateRejected"
SUPERSEDED: Final = "Superseded"
AWAITING_TRAINING: Final = "AwaitingTraining"
AWAITING_VALIDATION: Final = "AwaitingValidation"
NOT_TRAINED: Final = "NotTrained"

# ---------------------------------------------------------------- stage failures
STAGE_FAILED: Final = "StageFailed"  # a failed stage that named no reason
MALFORMED_RESULT: Final = "MalformedResult"  # a result the core cannot read (lifecycle/results_parser.py)
STAGE_LOST: Final = "StageLost"  # its run vanished before reporting, more often than lifecycle/in_flight.py allows
MALFORMED_STAGE: Final = "MalformedStage"  # status.stage cannot be read back as the run that was decided
TRAINING_DIVERGED: Final = _DIVERGED  # a train/tune result with a non-finite metric
JOB_REJECTED: Final = _JOB_REJECTED  # the API server refused a stage's Job (its message says why)
COMMAND_NOT_FOUND: Final = _COMMAND_NOT_FOUND  # a stage's command does not exist in its image
SCHEMA_VIOLATION: Final = _SCHEMA_VIOLATION  # data broke a version's schema under a Fail rule (spec.schemaRules)
TUNING_FAILED: Final = "TuningFailed"
TRAINING_FAILED: Final = "TrainingFailed"
VALIDATION_FAILED: Final = "ValidationFailed"
# The Event a failed stage posts, by the stage's noun (one table, never `f"{noun}Failed"`).
STAGE_FAILURE_EVENT: Final[dict[str, str]] = {
    "tuning": TUNING_FAILED, "training": TRAINING_FAILED, "validation": VALIDATION_FAILED,
}

# ---------------------------------------------------------------- serving
ROLLING_OUT: Final = "RollingOut"
SERVING_REPAIRED: Final = "ServingRepaired"
VERSION_SERVING: Final = "VersionServing"
SERVING: Final = "Serving"
REPLACED: Final = "Replaced"
CANARY_SERVING: Final = "CanaryServing"
CANARY_PROMOTED: Final = "CanaryPromoted"
CANARY_DEGRADED: Final = "CanaryDegraded"
CANARY_ROLLED_BACK: Final = "CanaryRolledBack"
CANARY_EVALUATIONS_FAILED: Final = "CanaryEvaluationsFailed"  # a canary no evaluation could judge
VERSION_AVAILABLE: Final = "VersionAvailable"
SERVING_NOT_READY: Final = "ServingNotReady"
NO_VERSION_SERVING: Final = "NoVersionServing"
READY: Final = "Ready"

# ---------------------------------------------------------------- evaluations and degradation
EVALUATION_FAILED: Final = "EvaluationFailed"
EVALUATIONS_FAILING: Final = "EvaluationsFailing"  # monitoring.consecutiveErrorLimit consecutive evaluations failed
EVALUATION_INCONCLUSIVE: Final = "EvaluationInconclusive"
INCONCLUSIVE: Final = "Inconclusive"
HEALTHY: Final = "Healthy"
DEGRADED: Final = "Degraded"
MODEL_DEGRADED: Final = "ModelDegraded"
RECOVERED: Final = "Recovered"
QUALITY_BELOW_FLOOR: Final = "QualityBelowFloor"
QUALITY_ABOVE_CEILING: Final = "QualityAboveCeiling"
QUALITY_DROPPED: Final = "QualityDropped"
QUALITY_UNMEASURED: Final = "QualityUnmeasured"  # a rule's metric missing or non-finite (fails like a gate)
DATA_DRIFT: Final = "DataDrift"
FLOOR_UNMET: Final = "FloorUnmet"
NOTHING_SERVING: Final = "NothingServing"
NOT_MONITORED: Final = "NotMonitored"
NEW_VERSION_SERVING: Final = "NewVersionServing"
NO_EVALUATION: Final = "NoEvaluation"

# ---------------------------------------------------------------- retraining
RETRAIN_WOULD_REPEAT: Final = "RetrainWouldRepeat"
CHALLENGER_NOT_BETTER: Final = "ChallengerNotBetter"
CHALLENGE_INCONCLUSIVE: Final = "ChallengeInconclusive"
RETRIES_EXHAUSTED: Final = "RetriesExhausted"
RETRAIN_PENDING: Final = "RetrainPending"
DEGRADED_WHILE_PINNED: Final = "DegradedWhilePinned"
DEGRADED_NO_RETRAIN: Final = "DegradedNoRetrain"

# ---------------------------------------------------------------- spec, retention, progress
INVALID_SPEC: Final = "InvalidSpec"
INVALID_PIN: Final = "InvalidPin"
PRUNE_FAILED: Final = "PruneFailed"
PRUNE_GAVE_UP: Final = "PruneGaveUp"  # --repeat-attempts failed removals in a row: files left (lifecycle/repeats.py)
SERVING_REPAIR_GAVE_UP: Final = "ServingRepairGaveUp"  # serving objects undone after --repeat-attempts repairs
PENDING: Final = "Pending"
DEPLOYING: Final = "Deploying"
CANARY_EVALUATING: Final = "CanaryEvaluating"
NOT_STALLED: Final = "NotStalled"
RECONCILED: Final = "Reconciled"
