"""One error type for everything a request can get wrong, carrying TF Serving's HTTP mapping.

Raised anywhere below the HTTP layer; only http_api turns it into `{"error": ...}`, so every module
states *what* went wrong and the status code follows TF Serving's canonical-code -> HTTP table.
"""

from __future__ import annotations

# TF Serving maps canonical error codes to HTTP statuses; we keep the same table.
HTTP_STATUS_BY_CODE: dict[str, int] = {
    "INVALID_ARGUMENT": 400,
    "FAILED_PRECONDITION": 400,
    "OUT_OF_RANGE": 400,
    "UNIMPLEMENTED": 400,  # TF Serving answers unsupported verbs as a client error
    "NOT_FOUND": 404,
    "DEADLINE_EXCEEDED": 408,
    "PAYLOAD_TOO_LARGE": 413,
    "RESOURCE_EXHAUSTED": 503,
    "UNAVAILABLE": 503,
    "INTERNAL": 500,
    "UNKNOWN": 500,
}


class ServingError(Exception):
    """A failure with a canonical code (`NOT_FOUND`, ...) that decides the HTTP status."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message

    @property
    def http_status(self) -> int:
        return HTTP_STATUS_BY_CODE.get(self.code, 500)


def invalid(message: str) -> ServingError:
    return ServingError("INVALID_ARGUMENT", message)


def not_found(message: str) -> ServingError:
    return ServingError("NOT_FOUND", message)


def unavailable(message: str) -> ServingError:
    return ServingError("UNAVAILABLE", message)
