"""One exception type for every expected workload failure.

The `reason` is a CamelCase word the runtimes copy into conditions and events, so it must be stable;
the message is for people and names the file, row, column or config key at fault.
"""

from __future__ import annotations

# Stable reasons (the runtimes match on them; add, never rename).
INVALID_CONFIG = "InvalidConfig"
DATASET_UNREADABLE = "DatasetUnreadable"
MISSING_LABEL_COLUMN = "MissingLabelColumn"
NON_NUMERIC_VALUE = "NonNumericValue"
NON_FINITE_VALUE = "NonFiniteValue"
EMPTY_DATASET = "EmptyDataset"
TOO_FEW_ROWS = "TooFewRows"
FEATURE_MISMATCH = "FeatureMismatch"
LABEL_OUT_OF_RANGE = "LabelOutOfRange"
VERSION_EXISTS = "VersionExists"
MODEL_NOT_FOUND = "ModelNotFound"
ENDPOINT_UNREACHABLE = "EndpointUnreachable"
PREDICTION_FAILED = "PredictionFailed"
INTERNAL_ERROR = "InternalError"


class WorkloadError(Exception):
    """An expected failure: becomes `{"error": message, "reason": reason}` and a non-zero exit."""

    def __init__(self, reason: str, message: str) -> None:
        super().__init__(message)
        self.reason = reason
        self.message = message

    def to_dict(self) -> dict[str, str]:
        return {"error": self.message, "reason": self.reason}
