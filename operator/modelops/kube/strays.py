"""Stage Jobs that nothing waits for any more, found when the operator (re)starts.

The core supersedes a stage by removing it from status.stage and asking for a `CancelStage` in the same
decision. The status is persisted first, so an operator killed between the two leaves the superseded
Job (and a gang's headless Service) running, unwatched, for as long as its deadline allows. When kopf
lists a ModelDeployment (start, HA resume, a re-watch), every unfinished stage Job of it that is not the
stage in flight is cancelled here; so is one left by a deleted predecessor of the same name. Prune Jobs
are not touched: the core re-issues the deletion and adopts its Job.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any, Protocol

from modelops.kube.builders.common import DEPLOYMENT_LABEL, STAGE_ID_LABEL, STAGE_LABEL, Owner
from modelops.kube.client import KubeApi
from modelops.kube.results import job_outcome, owned_by

log = logging.getLogger(__name__)
STAGES = frozenset({"tune", "train", "validate", "evaluate"})


class Canceller(Protocol):
    def cancel_stage(self, owner: Owner, stage_id: str, gang: bool = True) -> None: ...


def stray_stage_ids(jobs: list[Mapping[str, Any]], owner: Owner, in_flight: str | None) -> list[str]:
    """Stage ids of running stage Jobs that are not the one in flight (or are not this object's)."""
    strays = []
    for job in jobs:
        labels = job["metadata"].get("labels") or {}
        stage_id = labels.get(STAGE_ID_LABEL)
        if labels.get(STAGE_LABEL) not in STAGES or not stage_id or job_outcome(job) is not None:
            continue
        if stage_id != in_flight or not owned_by(job, owner.uid):
            strays.append(stage_id)
    return strays


def cancel_strays(api: KubeApi, executor: Canceller, owner: Owner, status: Mapping[str, Any]) -> list[str]:
    """Cancel every stray stage Job of `owner` (one LIST, plus one DELETE per stray); their ids."""
    in_flight = (status.get("stage") or {}).get("id")
    jobs = api.list("Job", owner.namespace, {DEPLOYMENT_LABEL: owner.name})
    strays = stray_stage_ids(jobs, owner, in_flight)
    for stage_id in strays:
        log.warning("%s/%s: cancelling Job of stage %s, which is not the stage in flight (%s)", owner.namespace,
                    owner.name, stage_id, in_flight or "none")
        # gang: the spec that started it may have had workers; a missing Service costs one 404
        executor.cancel_stage(owner, stage_id, gang=True)
    return strays
