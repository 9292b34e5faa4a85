"""Go-style durations ("90s", "5m", "1h30m"), the form Kubernetes users already write."""

from __future__ import annotations

import re

from modelops.api.schema import Str

DURATION_PATTERN = r"^([0-9]+(\.[0-9]+)?(ms|s|m|h))+$"
DURATION_HINT = 'a duration such as "30s", "5m" or "1h30m"'

_UNIT_SECONDS = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0}
_PART = re.compile(r"([0-9]+(?:\.[0-9]+)?)(ms|s|m|h)")


def parse_duration(text: str) -> float:
    """Seconds in `text`; raises ValueError naming the text when it is not a duration."""
    parts = _PART.findall(text)
    if not parts or "".join(n + u for n, u in parts) != text:
        raise ValueError(f'"{text}" is not a duration such as "30s", "5m" or "1h30m"')
    return sum(float(number) * _UNIT_SECONDS[unit] for number, unit in parts)


def duration(description: str, default: str) -> Str:
    """A schema field holding a duration (the API server checks the pattern, parse_duration reads it)."""
    return Str(description, default=default, pattern=DURATION_PATTERN, pattern_hint=DURATION_HINT)
