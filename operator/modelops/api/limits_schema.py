"""Bounds on what the core repeats or keeps: failed evaluations, version records.

Kept apart from spec_schema.py / status_schema.py (both at their size limit) because it is one concern:
nothing the operator does may repeat or grow without a stated bound, and every bound is visible in status.
Argo Rollouts' AnalysisRun `consecutiveErrorLimit` is the model for failed evaluations: measurements that
error (not ones that fail a rule) count separately, and too many in a row make the analysis an error.
"""

from __future__ import annotations

from modelops.api.schema import Int, Obj, Str

CONSECUTIVE_ERROR_LIMIT = Int(
    "Evaluations of one version that may fail in a row (the stage errored: endpoint unreachable, data "
    "unreadable, a malformed result) before it counts: the serving version is then not Ready and Stalled, "
    "and Degraded=Unknown unless its last judged evaluation found it degraded (reason EvaluationsFailing); "
    "a canary is rolled back (CanaryEvaluationsFailed). "
    "The serving version keeps serving; the next evaluation that returns a result clears it. As Argo "
    "Rollouts' consecutiveErrorLimit.", default=4, minimum=1, maximum=100)

KEEP_RECORDS = Int(
    "Records kept in status.versions. Beyond it the oldest records whose files retention removed are "
    "dropped (status.trimmedVersions counts them); records of the serving, canary, pinned, last blessed, "
    "in-flight and candidate versions, and those of the open degradation episode, are never dropped. Keeps "
    "the resource well below etcd's object size limit however many versions are made.",
    default=50, minimum=5, maximum=500)

EVALUATION_FAILURES = Obj(
    "Consecutive failed evaluations of one version (monitoring.consecutiveErrorLimit); cleared by an "
    "evaluation that returns a result.",
    properties={
        "version": Int("The version whose evaluations failed.", minimum=1),
        "consecutive": Int("Failed evaluations in a row.", minimum=0),
        "limit": Int("The limit they are counted against (monitoring.consecutiveErrorLimit).", minimum=1),
        "lastError": Str("Why the latest one failed."),
    },
)

TRIMMED_VERSIONS = Obj(
    "Version records dropped from status.versions (retention.keepRecords): only versions whose files were "
    "already removed.",
    properties={
        "count": Int("Records dropped so far.", minimum=0),
        "lastVersion": Int("The newest version whose record was dropped.", minimum=1),
    },
)
