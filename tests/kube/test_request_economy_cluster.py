"""Request economy on the real API server: a new ModelDeployment reaches Training with at most 4 operator
requests (counted by the API server's `apiserver_request_total`), no ConfigMap, no kopf annotations or
finalizers on the resource, and the stage config carried by the Job itself."""

from __future__ import annotations

import json
import time
from collections import Counter

import pytest
from kube.harness import mdep_path, model_deployment
from support.apiserver_metrics import delta, describe, request_totals
from support.kubetest import new_namespace
from support.processes import wait_until

pytestmark = pytest.mark.cluster
OPERATOR_RESOURCES = {"modeldeployments", "jobs", "events", "configmaps", "services"}


def test_a_new_deployment_reaches_training_with_at_most_four_requests(control_plane, start_operator) -> None:
    rest = control_plane.rest
    namespace = new_namespace(rest, "economy")
    operator = start_operator(namespace)
    jobs_path = f"/apis/batch/v1/namespaces/{namespace}/jobs"
    time.sleep(1)  # the operator's start-up listing is over
    before = request_totals(rest)
    doc = model_deployment("churn", namespace)
    # If a pod runner runs in this session, the pod just waits (the worker's own result would start the
    # next stage and its requests inside our window); `python -c` ignores the appended stage arguments.
    doc["spec"]["training"]["command"] = ["python", "-c", "import time; time.sleep(300)"]
    rest.post(mdep_path(namespace), doc)
    wait_until(lambda: rest.get(jobs_path)["items"], 60, 0.2, "the training Job")
    time.sleep(3)  # the Event after the Job, and any follow-up write our own status patch could trigger
    window = delta(request_totals(rest), before)

    events = rest.get(f"/api/v1/namespaces/{namespace}/events")["items"]
    mine = sum(1 for e in events if (e.get("source") or {}).get("component") == "modelops-operator")
    # LIST and WATCH: this test's polling and the watches opened before the window
    ours = Counter({key: n for key, n in window.items()
                    if key[1] in OPERATOR_RESOURCES and key[0] not in ("WATCH", "LIST")
                    and key[1:] != ("jobs", "status")})  # the Job controller's status writes
    ours[("POST", "modeldeployments", "")] -= 1  # the test's apply
    # Events: the metric has no namespace or user; controllers post them too. Ours are our Event objects.
    ours[("POST", "events", "")] = min(ours[("POST", "events", "")], mine)
    # GETs of ModelDeployments: the garbage collector verifies a new Job's owner when its informer has not
    # seen it yet; the operator GETs one only after a 409 on its status write, and logs each re-read.
    rereads = operator.process.log_tail(200_000).count("changed under our decision")
    ours[("GET", "modeldeployments", "")] = min(ours[("GET", "modeldeployments", "")], rereads)
    # GETs of one ConfigMap: the operator never makes one (it lists its ConfigMaps, kube/executor.py); a pod
    # runner in the session does, like a kubelet, for the pod's projected kube-root-ca.crt.
    ours.pop(("GET", "configmaps", ""), None)
    ours = Counter({key: n for key, n in ours.items() if n > 0})
    print(f"operator requests to Training: {describe(ours)}")
    assert ours.get(("POST", "jobs", "")) == 1 and ours.get(("POST", "events", "")) == 1
    assert ("PATCH", "modeldeployments", "") not in ours  # no kopf progress/diffbase annotation patch
    assert rereads == 0  # decisions start from the watch event's body: no GET, and no conflict to re-read
    assert ("POST", "configmaps", "") not in ours  # the stage config rides in the Job
    assert sum(ours.values()) <= 4, ours

    body = rest.get(mdep_path(namespace, "churn"))
    assert body["status"]["phase"] == "Training" and body["status"]["observedGeneration"] == 1
    assert not body["metadata"].get("finalizers")
    assert not [a for a in body["metadata"].get("annotations") or {} if "modelops.dev" in a or "kopf" in a]
    (job,) = rest.get(jobs_path)["items"]
    config = json.loads(job["spec"]["template"]["metadata"]["annotations"]["modelops.dev/stage-config"])
    assert config["stage"] == "train" and config["version"] == 1
    assert not rest.get(f"/api/v1/namespaces/{namespace}/configmaps",
                        labelSelector="modelops.dev/deployment=churn")["items"]
    rest.delete(mdep_path(namespace, "churn"))  # its Job and the sleeping pod go by garbage collection
