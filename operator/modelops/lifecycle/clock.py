"""Timestamps as the Kubernetes API writes them (RFC 3339, UTC, seconds), parsed back for arithmetic."""

from __future__ import annotations

from datetime import UTC, datetime


def stamp(now: datetime) -> str:
    return now.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def parse_stamp(text: str | None) -> datetime | None:
    if not text:
        return None
    return datetime.strptime(text, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC)
