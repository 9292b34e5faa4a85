"""In-flight recovery on the real control plane: a stage whose Job vanished while the operator was down is
reported to the core as StageMissing, and the core (not the operator) has the same run started again."""

from __future__ import annotations

import pytest
from kube.harness import jobs_of, mdep_path, model_deployment, status_of, wait_status
from support.kubetest import new_namespace, wait_gone
from support.processes import wait_until

pytestmark = pytest.mark.cluster


def test_a_job_deleted_while_the_operator_was_down_is_started_again_as_the_same_run(
        control_plane, start_operator) -> None:
    rest = control_plane.rest
    namespace = new_namespace(rest, "inflight")
    first = start_operator(namespace)  # no pod runner: the Job's pods never run, the stage stays in flight
    rest.post(mdep_path(namespace), model_deployment("churn", namespace))
    wait_until(lambda: jobs_of(rest, namespace, "churn"), 60, 0.1, "the training Job")
    [job] = jobs_of(rest, namespace, "churn")
    assert job["metadata"]["name"] == "churn-train-v1"
    first.process.stop(grace_seconds=0)

    job_path = f"/apis/batch/v1/namespaces/{namespace}/jobs/churn-train-v1"
    rest.delete(job_path)
    wait_gone(rest, job_path, 30, "the deleted training Job")
    start_operator(namespace)

    def recreated() -> dict | None:
        jobs = jobs_of(rest, namespace, "churn")
        return jobs[0] if jobs else None

    again = wait_until(recreated, 60, 0.2, "the training Job started again")
    assert again["metadata"]["name"] == "churn-train-v1"
    assert again["metadata"]["uid"] != job["metadata"]["uid"]
    status = wait_status(rest, namespace, "churn", lambda s: (s.get("stage") or {}).get("restarts") == 1, 30,
                         "status.stage.restarts")
    assert status["stage"]["id"] == "train-v1" and status["phase"] == "Training"
    assert len(jobs_of(rest, namespace, "churn")) == 1
    assert status_of(rest, namespace, "churn")["latestVersion"] == 1
