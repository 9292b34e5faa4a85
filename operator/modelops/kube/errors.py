"""The operator's error policy: which failures are retried (with backoff) and which stop the loop.

- Transient — the same request may well succeed later: no answer (connection refused, timeout: status
  0), 5xx, 409 Conflict (someone wrote the object first), 429 Too Many Requests. Retried after an
  exponentially growing delay with a cap, per object, reset by the next decision that goes through
  (client-go's workqueue `ItemExponentialFailureRateLimiter`, 5 ms .. 1000 s, has the same shape).
- Persistent — the same request would be refused again: any other 4xx (422 Invalid, 400, 403 Forbidden,
  404 of something we need) and an exception raised while deciding. The deployment fails with the
  refusing party's own message (lifecycle/refusals.py) and nothing is retried until the spec changes.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass

from modelops.contract.reasons import REQUEST_REJECTED
from modelops.kube.client import ApiError
from modelops.lifecycle.refusals import raised_text

TRANSIENT_STATUSES = frozenset({0, 409, 429})


def is_transient(error: BaseException) -> bool:
    """Whether retrying the same request later could succeed."""
    if isinstance(error, ApiError):
        return error.status in TRANSIENT_STATUSES or error.status >= 500
    return isinstance(error, (ConnectionError, TimeoutError))


def is_refusal(error: BaseException) -> bool:
    """An answer from the API server that will not change by asking again (4xx but 409 and 429)."""
    return isinstance(error, ApiError) and 400 <= error.status < 500 and not is_transient(error)


def refusal_text(error: BaseException) -> tuple[str, str]:
    """(reason, message) for a persistent failure that no more specific reason describes."""
    if isinstance(error, ApiError):
        return REQUEST_REJECTED, f"the API server refused a request (HTTP {error.status}): {error}"
    return raised_text(error)


@dataclass
class Backoff:
    """Per-object retry delays: base * 2**(failures-1), at most `cap` seconds."""

    base: float = 5.0
    cap: float = 300.0

    def __post_init__(self) -> None:
        self._failures: dict[tuple[str, str], int] = {}
        self._guard = threading.Lock()

    def failed(self, key: tuple[str, str]) -> float:
        """Count one more failure of `key`; the delay before its next attempt."""
        with self._guard:
            failures = self._failures.get(key, 0) + 1
            self._failures[key] = failures
        return min(self.cap, self.base * 2 ** min(failures - 1, 32))

    def succeeded(self, key: tuple[str, str]) -> None:
        with self._guard:
            self._failures.pop(key, None)

    def failures(self, key: tuple[str, str]) -> int:
        with self._guard:
            return self._failures.get(key, 0)


class Refused(Exception):
    """A persistent refusal with the reason and message the resource should show."""

    def __init__(self, reason: str, message: str) -> None:
        super().__init__(message)
        self.reason = reason
        self.message = message


def refused_object(error: ApiError, kind: str, name: str) -> str:
    """`the API server refused Deployment churn-stable: <its own message>`."""
    return f"the API server refused {kind} {name}: {error.server_message}"
