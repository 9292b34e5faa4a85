"""Collect every problem of one kind in a dataset, then fail once with all of them named.

A person reading the CR status must be able to fix the data without the worker's logs, so a message
names the file and, per problem, the line (CSV) or row/example and the column; the first ten are listed
and the rest counted, which keeps it inside the 4 KiB result summary.
"""

from __future__ import annotations

from modelops.workloads.errors import WorkloadError

MAX_LISTED = 10


def problem_message(source: str, problems: list[str]) -> str:
    """`dataset d.csv: 3 problems: line 3 column 'x': ...; ...; and 2 more`."""
    shown = "; ".join(problems[:MAX_LISTED])
    more = f"; and {len(problems) - MAX_LISTED} more" if len(problems) > MAX_LISTED else ""
    count = f"{len(problems)} problems: " if len(problems) > 1 else ""
    return f"dataset {source}: {count}{shown}{more}"


class Problems:
    """Problems of one reason, gathered over a whole pass so the error names all of them."""

    def __init__(self, source: str, reason: str) -> None:
        self.source, self.reason, self.found = source, reason, []  # type: list[str]

    def add(self, text: str) -> None:
        self.found.append(text)

    def __bool__(self) -> bool:
        return bool(self.found)

    def raise_if_any(self) -> None:
        if self.found:
            raise WorkloadError(self.reason, problem_message(self.source, self.found))
