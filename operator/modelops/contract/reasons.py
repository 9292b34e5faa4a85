"""Stable reason codes of failed stages: workers and both runtimes use these words and no others.

They reach conditions, events and status records, so they are part of the API: add, never rename.
"""

from __future__ import annotations

# Raised by workers (the data, model or config was at fault)
INVALID_CONFIG = "InvalidConfig"
DATASET_UNREADABLE = "DatasetUnreadable"
MISSING_LABEL_COLUMN = "MissingLabelColumn"
NON_NUMERIC_VALUE = "NonNumericValue"
NON_FINITE_VALUE = "NonFiniteValue"
EMPTY_DATASET = "EmptyDataset"
TOO_FEW_ROWS = "TooFewRows"
FEATURE_MISMATCH = "FeatureMismatch"
LABEL_OUT_OF_RANGE = "LabelOutOfRange"
MALFORMED_DATASET = "MalformedDataset"  # not parseable as its format (bad CSV line, corrupt TFRecord)
COLUMN_TYPE_MISMATCH = "ColumnTypeMismatch"  # a cell does not fit its column's stated type
UNKNOWN_COLUMN = "UnknownColumn"  # a dataset setting names a column the file does not have
INVALID_WEIGHT = "InvalidWeight"  # a weight column cell is missing, negative or not finite
INVALID_ID = "InvalidId"  # an idColumn cell is missing, or two rows share one
SCHEMA_VIOLATION = "SchemaViolation"  # the data broke a version's schema under a Fail rule (spec.schemaRules)
VERSION_EXISTS = "VersionExists"
MODEL_NOT_FOUND = "ModelNotFound"
ENDPOINT_UNREACHABLE = "EndpointUnreachable"
PREDICTION_FAILED = "PredictionFailed"
PRUNE_FAILED = "PruneFailed"
GANG_INCOMPLETE = "GangIncomplete"  # a member of a multi-worker stage never became reachable
INTERNAL_ERROR = "InternalError"
USER_MODEL_INVALID = "UserModelInvalid"  # spec.training.model's module: not found, not importable, or built wrong
# A tune stage in which no trial completed fails with its first failed trial's reason:
TRIAL_FAILED = "TrialFailed"  # the trial raised an error
TRIAL_DEADLINE_EXCEEDED = "TrialDeadlineExceeded"  # it ran past spec.training.tuning.trialDeadline
TRAINING_DIVERGED = "TrainingDiverged"  # its loss or outputs became NaN or infinite

# Decided by the runtimes from what the stage left behind (the same words in a Job and a process)
NO_RESULT = "NoResult"  # the stage ended without writing a result
UNREADABLE_RESULT = "UnreadableResult"  # it wrote something that is not a result
WORKER_FAILED = "WorkerFailed"  # it exited non-zero without saying why

# Persistent refusals: the same request would be refused again, so the runtime stops retrying and the
# resource says why (Stalled) until the next spec edit. The message is the refusing party's own.
JOB_REJECTED = "JobRejected"  # the API server refused a stage's Job (or its gang Service)
SERVING_REJECTED = "ServingRejected"  # it refused a serving object (Deployment, Service, ConfigMap, ...)
REQUEST_REJECTED = "RequestRejected"  # it refused another request (a read or the status write: RBAC, 4xx)
RECONCILE_ERROR = "ReconcileError"  # deciding on an observation raised: a bug, reported instead of looped
COMMAND_NOT_FOUND = "CommandNotFound"  # a stage's command does not exist (no such file or not executable)
SERVING_CRASH_LOOP = "ServingCrashLoop"  # the local model server kept exiting; its restarts reached their bound
