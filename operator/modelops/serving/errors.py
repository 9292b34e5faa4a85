"""One error type for everything a request can get wrong, carrying TF Serving's HTTP mapping.

Raised anywhere below the HTTP layer; only http_api turns it into `{"error": ...}`, so every module
states *what* went wrong and the status code follows TF Serving's canonical-code -> HTTP table.
"""

from __future__ import annotations

# TF Serving's `ToHTTPStatusCode` (model_servers/http_server.cc), complete: every canonical code
# answers the REST client with the same HTTP status as tensorflow_model_server. The Prometheus
# `status` label of `modelops serve` is this HTTP status, for gRPC calls too.
HTTP_STATUS_BY_CODE: dict[str, int] = {
    "OK": 200,
    "CANCELLED": 499,  # CLIENT_CLOSED_REQUEST
    "UNKNOWN": 500,
    "INVALID_ARGUMENT": 400,
    "DEADLINE_EXCEEDED": 504,  # GATEWAY_TO
    "NOT_FOUND": 404,
    "ALREADY_EXISTS": 409,
    "PERMISSION_DENIED": 403,
    "RESOURCE_EXHAUSTED": 429,  # TOO_MANY_REQUESTS
    "FAILED_PRECONDITION": 400,
    "ABORTED": 409,
    "OUT_OF_RANGE": 400,
    "UNIMPLEMENTED": 501,  # NOT_IMP
    "INTERNAL": 500,
    "UNAVAILABLE": 503,
    "DATA_LOSS": 500,
    "UNAUTHENTICATED": 401,
    # modelops extension (no canonical code): a REST body over --rest_api_max_body_bytes. Over gRPC
    # the same limit is gRPC's own RESOURCE_EXHAUSTED.
    "PAYLOAD_TOO_LARGE": 413,
}


class ServingError(Exception):
    """A failure with a canonical code (`NOT_FOUND`, ...) that decides the HTTP status."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message

    @property
    def http_status(self) -> int:
        return HTTP_STATUS_BY_CODE.get(self.code, 500)  # default: ERROR, as ToHTTPStatusCode


def invalid(message: str) -> ServingError:
    return ServingError("INVALID_ARGUMENT", message)


def not_found(message: str) -> ServingError:
    return ServingError("NOT_FOUND", message)


def unavailable(message: str) -> ServingError:
    return ServingError("UNAVAILABLE", message)


def failed_precondition(message: str) -> ServingError:
    return ServingError("FAILED_PRECONDITION", message)
