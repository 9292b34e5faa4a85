"""status.versions keeps a bounded history: `retention.keepRecords` records, not one per version ever made.

Every version leaves a record, and a deployment that retrains for months would otherwise grow its
resource towards etcd's object size limit (1.5 MiB by default) and make every status patch and watch
event heavier. Only records whose files retention already removed (`deleted`) are dropped, oldest first,
so the record of anything that still has files — and therefore might serve or be pinned — stays. Never
dropped either: the records of the serving, canary, candidate, pinned, rolling-out and in-flight versions
(retention.protected_versions), the last blessed version, and the versions the open degradation episode
and the retrain-would-repeat guard compare against. The count of dropped records, and the newest one, stay
in status.trimmedVersions; version numbers stay monotonic through status.latestVersion.

The full record is meant to outlive it on storage: a runtime writes a version's record beside the model
(`<deployment>/records/<N>.json`) before it reports the version's files removed (VersionPruned).
"""

from __future__ import annotations

from typing import Any

from modelops.lifecycle.draft import Draft
from modelops.lifecycle.records import last_blessed
from modelops.lifecycle.retention import protected_versions


def _kept_for_decisions(d: Draft) -> set[int]:
    """Records later decisions read: the last blessed one, the episode's and the repeat guard's."""
    status = d.status
    keep = protected_versions(status, d.view.serving.pinned_version)
    for version in (last_blessed(status), (status.get("lastEvaluation") or {}).get("version"),
                    (status.get("retrain") or {}).get("version"), (status.get("retrain") or {}).get("repeats")):
        if version is not None:
            keep.add(int(version))
    episode = status.get("retrain") or {}
    if episode.get("openedBy"):  # attempts of the open episode: _repeated_by compares their inputs
        opened = str(episode.get("openedAt") or "")
        keep |= {r["version"] for r in status.get("versions", [])
                 if r.get("trigger") == "Degradation" and str(r.get("createdAt", "")) >= opened}
    return keep


def trim_records(d: Draft) -> None:
    """Drop the oldest droppable records beyond retention.keepRecords."""
    versions: list[dict[str, Any]] = d.status.get("versions") or []
    excess = len(versions) - d.view.retention.keep_records
    if excess <= 0:
        return
    keep = _kept_for_decisions(d)
    dropped: list[int] = []
    for record in versions:  # oldest first
        if len(dropped) == excess:
            break
        if record.get("deleted") and not record.get("deletion") and record["version"] not in keep:
            dropped.append(record["version"])
    if not dropped:
        return
    gone = set(dropped)
    d.status["versions"] = [r for r in versions if r["version"] not in gone]
    trimmed = d.status.get("trimmedVersions") or {}
    d.status["trimmedVersions"] = {"count": int(trimmed.get("count", 0)) + len(dropped),
                                   "lastVersion": max([*dropped, int(trimmed.get("lastVersion") or 0)])}
