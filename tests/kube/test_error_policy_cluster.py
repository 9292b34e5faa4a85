"""The operator's error policy and crash windows on the real API server (issue #26), each checked by the
resource's conditions, its Events and the NUMBER of requests the operator made (the API server's audit
log, which names the user: only the operator's ServiceAccount is counted).

- a Job the API server refuses fails the version with its message (Stalled, JobRejected), and then the
  operator asks nothing more until the spec is edited, which resumes;
- a ModelDeployment deleted (its Job orphaned) and created again does not adopt its predecessor's Job;
- a repeated Event is counted on the first one (kube/events.py), by the real API server.
"""

from __future__ import annotations

import time

import pytest
from kube.audit import condition, operator_requests
from kube.harness import OPERATOR_USER, events_of, jobs_of, mdep_path, model_deployment, wait_status
from support.kubetest import new_namespace
from support.processes import wait_until

pytestmark = pytest.mark.cluster
SLEEPING = ["python", "-c", "import time; time.sleep(300)"]  # no pod runner here: the Job just exists


def _deny_jobs(rest, namespace: str) -> None:
    """A ResourceQuota of zero Jobs: the API server refuses every Job create with 403 "exceeded quota" —
    a refusal no admission rule of ours can foresee. No quota controller runs here, so its usage is set
    as the controller would set it."""
    path = f"/api/v1/namespaces/{namespace}/resourcequotas"
    rest.post(path, {"apiVersion": "v1", "kind": "ResourceQuota", "metadata": {"name": "no-jobs"},
                     "spec": {"hard": {"count/jobs.batch": "0"}}})
    quota = rest.get(f"{path}/no-jobs")
    quota["status"] = {"hard": {"count/jobs.batch": "0"}, "used": {"count/jobs.batch": "0"}}
    rest.put(f"{path}/no-jobs/status", quota)


def test_a_refused_job_stalls_with_the_servers_message_and_stops_asking(control_plane, start_operator) -> None:
    rest = control_plane.rest
    namespace = new_namespace(rest, "refused")
    _deny_jobs(rest, namespace)
    start_operator(namespace)
    doc = model_deployment("churn", namespace)
    doc["spec"]["training"]["command"] = SLEEPING
    rest.post(mdep_path(namespace), doc)
    status = wait_status(rest, namespace, "churn", lambda s: condition(s, "Stalled").get("status") == "True",
                         30, "Stalled")
    stalled = condition(status, "Stalled")
    assert stalled["reason"] == "JobRejected" and "exceeded quota" in stalled["message"], stalled
    assert status["phase"] == "Failed" and status["observedGeneration"] == 1
    assert condition(status, "Reconciling")["status"] == "False" and "stage" not in status
    (record,) = status["versions"]
    assert (record["state"], record["reason"]) == ("Failed", "JobRejected") and "exceeded quota" in record["message"]

    # No retry storm: over a window in which the old fixed 5 s retry made ~4 GET+POST pairs, nothing.
    since = len(control_plane.audit_events(OPERATOR_USER))
    time.sleep(12)
    assert operator_requests(control_plane, namespace, since) == []
    warnings = [e for e in events_of(rest, namespace, "churn") if e["reason"] == "JobRejected"]
    assert len(warnings) == 1 and warnings[0]["type"] == "Warning" and warnings[0]["count"] == 1, warnings
    assert "exceeded quota" in warnings[0]["message"]
    assert not jobs_of(rest, namespace, "churn")

    # The fix (quota lifted) plus the next spec edit resume: a new version, a Job, no longer stalled.
    rest.delete(f"/api/v1/namespaces/{namespace}/resourcequotas/no-jobs")
    rest.patch(mdep_path(namespace, "churn"), {"spec": {"training": {"hyperparameters": {"epochs": 11}}}},
               content_type="application/merge-patch+json")
    status = wait_status(rest, namespace, "churn", lambda s: (s.get("stage") or {}).get("id") == "train-v2", 30,
                         "training version 2")
    assert condition(status, "Stalled")["status"] == "False" and status["phase"] == "Training"
    wait_until(lambda: [j for j in jobs_of(rest, namespace, "churn") if j["metadata"]["name"] == "churn-train-v2"],
               30, 0.2, "the Job of version 2")
    rest.delete(mdep_path(namespace, "churn"))


def test_a_recreated_deployment_replaces_its_predecessors_job(control_plane, start_operator) -> None:
    rest = control_plane.rest
    namespace = new_namespace(rest, "recreated")
    start_operator(namespace)
    doc = model_deployment("churn", namespace)
    doc["spec"]["training"]["command"] = SLEEPING
    first = rest.post(mdep_path(namespace), doc)
    (old_job,) = wait_until(lambda: jobs_of(rest, namespace, "churn"), 30, 0.2, "the first training Job")
    # Deleted with its Job orphaned (kubectl delete --cascade=orphan): the Job outlives its owner.
    rest.request("DELETE", mdep_path(namespace, "churn"), {"propagationPolicy": "Orphan"})
    wait_until(lambda: rest.get_or_none(mdep_path(namespace, "churn")) is None, 30, 0.2, "the deletion")
    since = len(control_plane.audit_events(OPERATOR_USER))
    second = rest.post(mdep_path(namespace), doc)
    assert second["metadata"]["uid"] != first["metadata"]["uid"]

    def replaced() -> dict | None:
        jobs = [j for j in jobs_of(rest, namespace, "churn") if j["metadata"]["uid"] != old_job["metadata"]["uid"]]
        return jobs[0] if jobs else None

    job = wait_until(replaced, 30, 0.2, "a Job of the new ModelDeployment")
    assert [ref["uid"] for ref in job["metadata"]["ownerReferences"]] == [second["metadata"]["uid"]]
    assert job["metadata"]["name"] == old_job["metadata"]["name"] == "churn-train-v1"
    time.sleep(2)
    requests = operator_requests(control_plane, namespace, since)
    jobs = [r for r in requests if r[1] == "jobs"]
    # POST (409), GET (the predecessor's), DELETE it, POST again (perhaps once more while it goes)
    assert ("delete", "jobs", "churn-train-v1") in jobs and len(jobs) <= 6, requests
    status = wait_status(rest, namespace, "churn", lambda s: s.get("phase") == "Training", 10, "Training")
    assert status["stage"]["id"] == "train-v1" and condition(status, "Stalled")["status"] == "False"
    rest.delete(mdep_path(namespace, "churn"))


def test_a_repeated_event_is_counted_by_the_real_api_server(control_plane) -> None:
    from modelops.kube.client import KubeApi
    from modelops.kube.events import EventRecorder

    rest = control_plane.rest
    namespace = new_namespace(rest, "events")
    body = rest.post(mdep_path(namespace), model_deployment("churn", namespace))
    recorder = EventRecorder(KubeApi(control_plane.api_client()))
    for _ in range(3):
        recorder.post(body, "Warning", "ModelDegraded", "version 1: accuracy 0.7 < min 0.75")
    recorder.post(body, "Warning", "ModelDegraded", "version 1: accuracy 0.6 < min 0.75")
    events = sorted(events_of(rest, namespace, "churn"), key=lambda e: e["message"])
    assert [(e["message"][-14:], e["count"]) for e in events] == [("0.6 < min 0.75", 1), ("0.7 < min 0.75", 3)]
    first = events[1]
    assert first["involvedObject"]["uid"] == body["metadata"]["uid"]
    assert first["lastTimestamp"] >= first["firstTimestamp"]
    # An Event that expired (deleted by the API server's TTL) is posted afresh, not patched into a 404 loop.
    rest.delete(f"/api/v1/namespaces/{namespace}/events/{first['metadata']['name']}")
    recorder.post(body, "Warning", "ModelDegraded", "version 1: accuracy 0.7 < min 0.75")
    again = [e for e in events_of(rest, namespace, "churn") if e["message"].endswith("0.7 < min 0.75")]
    assert [e["count"] for e in again] == [1] and again[0]["metadata"]["name"] != first["metadata"]["name"]
    rest.delete(mdep_path(namespace, "churn"))
