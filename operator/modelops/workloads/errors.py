"""One exception type for every expected workload failure.

The `reason` is one of the contract's stable CamelCase words (`modelops.contract.reasons`), which the
runtimes copy into conditions and events; the message is for people and names the file, row, column
or config key at fault.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from modelops.contract.reasons import (  # noqa: F401 - the reasons workers raise, importable from here
    COLUMN_TYPE_MISMATCH,
    DATASET_UNREADABLE,
    EMPTY_DATASET,
    ENDPOINT_UNREACHABLE,
    FEATURE_MISMATCH,
    GANG_INCOMPLETE,
    INTERNAL_ERROR,
    INVALID_CONFIG,
    INVALID_ID,
    INVALID_WEIGHT,
    LABEL_OUT_OF_RANGE,
    MALFORMED_DATASET,
    MISSING_LABEL_COLUMN,
    MODEL_NOT_FOUND,
    NON_FINITE_VALUE,
    NON_NUMERIC_VALUE,
    PREDICTION_FAILED,
    SCHEMA_VIOLATION,
    TOO_FEW_ROWS,
    TRAINING_DIVERGED,
    TRIAL_DEADLINE_EXCEEDED,
    TRIAL_FAILED,
    UNKNOWN_COLUMN,
    USER_MODEL_INVALID,
    VERSION_EXISTS,
)


class WorkloadError(Exception):
    """An expected failure: becomes `{"error": message, "reason": reason}` and a non-zero exit."""

    def __init__(self, reason: str, message: str, details: Mapping[str, Any] | None = None) -> None:
        super().__init__(message)
        self.reason = reason
        self.message = message
        self.details = dict(details or {})  # result keys that explain the failure (e.g. schemaCheck)

    def to_dict(self) -> dict[str, Any]:
        return {**self.details, "error": self.message, "reason": self.reason}
