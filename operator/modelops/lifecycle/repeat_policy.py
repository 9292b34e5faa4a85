"""How often the core repeats an action of its own that keeps failing or keeps being undone.

A runtime hands the policy in with every decision (`Context.repeat`): the operator from its flags
(`--repeat-attempts`, `--repeat-backoff-seconds`), the local runtime with the defaults. The rules that use
it are in lifecycle/repeats.py.
"""

from __future__ import annotations

from dataclasses import dataclass

MAX_DELAY_SECONDS = 3600.0  # no single wait is longer than an hour, whatever the flags say


@dataclass(frozen=True)
class RepeatPolicy:
    """`attempts` tries at most, the n-th failure waits `backoff_seconds` · 2^(n-1) before the next."""

    attempts: int = 8
    backoff_seconds: float = 10.0

    def delay_after(self, failures: int) -> float:
        """Seconds to wait after `failures` (≥ 1) failures in a row."""
        return min(self.backoff_seconds * 2 ** max(0, failures - 1), MAX_DELAY_SECONDS)

    @property
    def quiet_seconds(self) -> float:
        """A count idle this long starts afresh: twice the longest wait, as client-go's flowcontrol.Backoff
        forgets an entry idle for 2 * maxDuration (k8s.io/client-go/util/flowcontrol/backoff.go, IsExpired)."""
        return 2 * self.delay_after(max(1, self.attempts - 1))


DEFAULT_REPEAT = RepeatPolicy()
