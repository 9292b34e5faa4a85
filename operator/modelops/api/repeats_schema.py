"""Status of the actions the core repeats on its own, each with its count and its bound (issue #26):
removing a version's files (`versions[].deletion`) and repairing serving objects (`servingRepairs`).
The rules are in lifecycle/repeats.py; the bound and the backoff are the operator's
`--repeat-attempts` / `--repeat-backoff-seconds`."""

from __future__ import annotations

from modelops.api.schema import Bool, Int, Obj, Str

DELETION = Obj(
    "Retention asked for its files to go and the removal is not confirmed yet: failed removals are retried "
    "with exponential backoff up to `limit` times, then given up (Stalled, reason PruneGaveUp) until the spec "
    "is edited.",
    properties={
        "attempt": Int("The current (or next) removal attempt; each attempt runs as its own Job.", minimum=1),
        "failures": Int("Failed attempts in a row.", minimum=0),
        "limit": Int("The bound: failed attempts after which retention gives up on these files.", minimum=1),
        "message": Str("Why the last attempt failed, if it did."),
        "nextAttemptTime": Str("Not retried before this time (backoff)."),
        "gaveUp": Bool("True when `limit` attempts failed: the files stay until the spec is edited."),
        "generation": Int("The spec generation that gave up; a later one tries again.", minimum=0),
    },
)

SERVING_REPAIRS = Obj(
    "Serving objects found deleted or changed by someone else and re-applied: repairs in a row, with exponential "
    "backoff, up to `limit`; past it the operator stops repairing (Stalled, reason ServingRepairGaveUp) until the "
    "spec is edited. A count with no repair for a while starts afresh.",
    properties={
        "count": Int("Repairs in a row.", minimum=0),
        "limit": Int("The bound.", minimum=1),
        "lastRepairTime": Str("When the last repair was made."),
        "nextRepairTime": Str("No repair before this time (backoff)."),
        "message": Str("What the last look found."),
        "gaveUp": Bool("True when the bound was reached."),
        "generation": Int("The spec generation that gave up; a later one repairs again.", minimum=0),
    },
)
