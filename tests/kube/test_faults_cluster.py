"""Faults injected into a running operator on the real control plane (issue #26), each checked by the
resource's conditions, its Events and the number of requests the operator made over a time window:

- a prune that always fails stops after the bound (--repeat-attempts), backing off between attempts,
  then says so (Stalled, PruneGaveUp, one Event) and asks nothing more; a spec edit tries again;
- a serving Deployment deleted again after every repair: repairs stop at the bound (ServingRepairGaveUp);
- an operator that dies between persisting a decision and cancelling the Job it superseded: the next
  operator removes the superseded Job and its gang Service, and starts the stage the status names;
- the metric series of a deleted ModelDeployment leave the operator's endpoint.
"""

from __future__ import annotations

import copy
import time
from datetime import UTC, datetime

import pytest
from kube.audit import audit_mark, condition, operator_requests
from kube.harness import events_of, jobs_of, mdep_path, model_deployment, status_of, wait_status
from support.kubetest import new_namespace
from support.processes import wait_until

from modelops.api import parse_model_deployment
from modelops.lifecycle import Context, Reconcile, ServingObserved, StageFinished, decide

pytestmark = pytest.mark.cluster
SLEEPING = ["python", "-c", "import time; time.sleep(300)"]  # a stage that just runs
GOOD = {"accuracy": 0.9, "auc": 0.93, "precision": 0.9, "recall": 0.9, "f1": 0.9, "loss": 0.3}
ATTEMPTS, BACKOFF = 3, 2.0


class Crash(BaseException):
    """The operator process dying: not an Exception, so no error policy catches it."""


def _core_status(specs: list[dict]) -> dict:
    """The status the core itself reaches when version N is trained, validated and served under the N-th
    spec (generation N), decided offline: the cluster needs no TensorFlow run to be in that state."""
    status: dict = {}

    def feed(spec: dict, generation: int, observation) -> None:
        nonlocal status
        status = decide(Context(spec, generation, datetime.now(UTC)), status, observation).status

    for generation, spec in enumerate(specs, start=1):
        feed(spec, generation, Reconcile())
        for result in ({"metrics": {"loss": 0.3}}, {"metrics": GOOD, "baselineMetrics": GOOD}):
            feed(spec, generation, StageFinished(status["stage"]["id"], True, result))
        feed(spec, generation, ServingObserved(frozenset({generation}), {"stable": generation, "canary": None}))
    assert status["servingVersion"] == len(specs), status
    return status


def _without_serving_pods(doc: dict) -> dict:
    """No serving pod runs (the pod runner's node lacks the label): the test is about the objects."""
    doc["spec"]["serving"]["podTemplate"] = {"nodeSelector": {"example.com/pool": "serving"}}
    return doc


def test_a_prune_that_always_fails_stops_at_the_bound(control_plane, pod_runner, start_operator) -> None:
    rest = control_plane.rest
    namespace = new_namespace(rest, "prunefail")
    doc = _without_serving_pods(model_deployment("churn", namespace, **{"retention.keepVersions": 1}))
    rest.post(mdep_path(namespace), doc)
    edited = copy.deepcopy(doc)
    edited["spec"]["training"]["hyperparameters"]["epochs"] = 11
    rest.patch(mdep_path(namespace, "churn"), {"spec": {"training": {"hyperparameters": {"epochs": 11}}}},
               content_type="application/merge-patch+json")
    specs = [parse_model_deployment(d).spec for d in (doc, edited)]
    body = rest.get(mdep_path(namespace, "churn"))
    body["status"] = _core_status(specs)  # keepVersions 1: retention asked for version 1's files to go
    assert body["status"]["versions"][0]["deletion"]["attempt"] == 1
    rest.put(mdep_path(namespace, "churn") + "/status", body)
    # Version 1's "directory" is a file: `modelops worker prune` refuses it, every time.
    versions = pod_runner.pvc_path(namespace, "models") / namespace / "churn"
    (versions / "2").mkdir(parents=True)
    (versions / "1").write_text("not a version directory")

    since = audit_mark(control_plane)
    started = time.monotonic()
    start_operator(namespace, "--repeat-attempts", str(ATTEMPTS), "--repeat-backoff-seconds", str(BACKOFF))
    status = wait_status(rest, namespace, "churn", lambda s: (s["versions"][0].get("deletion") or {}).get("gaveUp"),
                         90, "retention to give up on version 1")
    took = time.monotonic() - started
    deletion = status["versions"][0]["deletion"]
    assert (deletion["failures"], deletion["limit"]) == (ATTEMPTS, ATTEMPTS)
    assert "not a version directory" in deletion["message"]
    stalled = condition(status, "Stalled")
    assert (stalled["status"], stalled["reason"]) == ("True", "PruneGaveUp") and "version 1" in stalled["message"]
    assert status["phase"] == "Serving" and status["servingVersion"] == 2  # version 2 is not disturbed
    assert took >= BACKOFF + 2 * BACKOFF  # the attempts waited for their backoff
    events = events_of(rest, namespace, "churn")
    failed = sorted(e["message"] for e in events if e["reason"] == "PruneFailed")
    assert len(failed) == ATTEMPTS - 1 and f"attempt 1 of {ATTEMPTS}" in failed[0], failed
    (gave_up,) = [e for e in events if e["reason"] == "PruneGaveUp"]
    assert gave_up["type"] == "Warning" and gave_up["count"] == 1

    # Over a window twice as long as all the backoff, the operator asks nothing more.
    quiet = audit_mark(control_plane)
    time.sleep(2 * (BACKOFF + 2 * BACKOFF))
    assert operator_requests(control_plane, namespace, quiet) == []
    created_jobs = [r[2] for r in operator_requests(control_plane, namespace, since) if r[:2] == ("create", "jobs")]
    assert created_jobs == ["churn-prune-v1", "churn-prune-v1-a2", "churn-prune-v1-a3"]

    # The fix (a real directory) plus the next spec edit: a fresh budget, attempt 4 removes it.
    (versions / "1").unlink()
    (versions / "1").mkdir()
    rest.patch(mdep_path(namespace, "churn"), {"spec": {"retention": {"keepVersions": 1}, "serving": {"replicas": 2}}},
               content_type="application/merge-patch+json")
    status = wait_status(rest, namespace, "churn", lambda s: s["versions"][0].get("deleted"), 60, "version 1 removed")
    assert condition(status, "Stalled")["status"] == "False" and not (versions / "1").exists()
    assert any(j["metadata"]["name"] == "churn-prune-v1-a4" for j in jobs_of(rest, namespace, "churn"))
    rest.delete(mdep_path(namespace, "churn"))


def test_a_serving_repair_that_keeps_being_undone_stops_at_the_bound(control_plane, start_operator) -> None:
    rest = control_plane.rest
    namespace = new_namespace(rest, "repairfight")
    doc = _without_serving_pods(model_deployment("churn", namespace))
    rest.post(mdep_path(namespace), doc)
    body = rest.get(mdep_path(namespace, "churn"))
    body["status"] = _core_status([parse_model_deployment(doc).spec])  # version 1 serves; its objects are gone
    rest.put(mdep_path(namespace, "churn") + "/status", body)
    deployments = f"/apis/apps/v1/namespaces/{namespace}/deployments"

    def serving() -> list[str]:
        return [d["metadata"]["name"] for d in rest.get(deployments, labelSelector="modelops.dev/deployment=churn")[
            "items"] if not d["metadata"].get("deletionTimestamp")]

    since = audit_mark(control_plane)
    start_operator(namespace, "--repeat-attempts", str(ATTEMPTS), "--repeat-backoff-seconds", str(BACKOFF))
    # Someone (another controller, a person) deletes the serving Deployment as soon as it is back.
    deadline = time.monotonic() + 60
    while not (status_of(rest, namespace, "churn").get("servingRepairs") or {}).get("gaveUp"):
        assert time.monotonic() < deadline, status_of(rest, namespace, "churn")
        for name in serving():
            rest.delete(f"{deployments}/{name}")
        time.sleep(0.2)
    status = status_of(rest, namespace, "churn")
    repairs = status["servingRepairs"]
    assert (repairs["count"], repairs["limit"]) == (ATTEMPTS, ATTEMPTS) and "missing" in repairs["message"]
    stalled = condition(status, "Stalled")
    assert (stalled["status"], stalled["reason"]) == ("True", "ServingRepairGaveUp"), stalled
    events = events_of(rest, namespace, "churn")
    assert sum(e["count"] for e in events if e["reason"] == "ServingRepaired") == ATTEMPTS  # one Event, counted
    (gave_up,) = [e for e in events if e["reason"] == "ServingRepairGaveUp"]
    assert gave_up["type"] == "Warning" and "no more repairs until the spec is edited" in gave_up["message"]
    quiet = audit_mark(control_plane)
    time.sleep(2 * (BACKOFF + 2 * BACKOFF))
    assert [r for r in operator_requests(control_plane, namespace, quiet) if r[0] != "get"] == []
    created = [r for r in operator_requests(control_plane, namespace, since) if r[:2] == ("create", "deployments")]
    assert len(created) == ATTEMPTS, created  # one per repair, none after the bound
    assert serving() == []

    rest.patch(mdep_path(namespace, "churn"), {"spec": {"serving": {"replicas": 2}}},
               content_type="application/merge-patch+json")  # the next spec edit applies serving again
    wait_until(serving, 30, 0.2, "serving applied after the spec edit")
    status = wait_status(rest, namespace, "churn", lambda s: condition(s, "Stalled").get("status") == "False", 30,
                         "no longer stalled")
    assert "servingRepairs" not in status
    rest.delete(mdep_path(namespace, "churn"))


def test_a_cancellation_survives_a_crash_after_the_decision(control_plane, operator_kubeconfig,
                                                             start_operator) -> None:
    from modelops.kube.client import KubeApi, load_api_client
    from modelops.kube.metrics import OperatorMetrics
    from modelops.kube.runtime import Runtime
    from modelops.kube.settings import OperatorSettings

    rest = control_plane.rest
    namespace = new_namespace(rest, "crash")
    operator = start_operator(namespace)
    doc = model_deployment("churn", namespace, **{"training.workers": 2})  # a gang: Job + headless Service
    doc["spec"]["training"]["command"] = SLEEPING
    rest.post(mdep_path(namespace), doc)
    jobs_path, services_path = f"/apis/batch/v1/namespaces/{namespace}/jobs", f"/api/v1/namespaces/{namespace}/services"
    wait_until(lambda: rest.get_or_none(f"{services_path}/churn-train-v1"), 30, 0.2, "the gang's Service")
    wait_until(lambda: rest.get_or_none(f"{jobs_path}/churn-train-v1"), 30, 0.2, "the gang's Job")
    operator.process.kill()

    # A spec edit supersedes version 1. The operator deciding on it dies right after persisting the decision,
    # before cancelling the superseded Job (nor starting the new one): the crash window of a CancelStage.
    rest.patch(mdep_path(namespace, "churn"), {"spec": {"training": {"hyperparameters": {"epochs": 11}}}},
               content_type="application/merge-patch+json")
    dying = Runtime(KubeApi(load_api_client(str(operator_kubeconfig))), OperatorSettings(namespaces=(namespace,)),
                    OperatorMetrics())

    def crash(*_args, **_kwargs) -> None:
        raise Crash("killed between the status write and the cancellation")

    dying.executor.cancel_stage = crash  # type: ignore[method-assign]
    with pytest.raises(Crash):
        dying.reconcile(namespace, "churn")
    status = status_of(rest, namespace, "churn")
    assert status["stage"]["id"] == "train-v2" and status["versions"][0]["reason"] == "Superseded"
    assert rest.get_or_none(f"{jobs_path}/churn-train-v1") is not None  # left running by the crash
    assert rest.get_or_none(f"{jobs_path}/churn-train-v2") is None

    since = audit_mark(control_plane)
    start_operator(namespace)
    wait_until(lambda: rest.get_or_none(f"{jobs_path}/churn-train-v1") is None, 30, 0.2, "the superseded Job gone")
    wait_until(lambda: rest.get_or_none(f"{services_path}/churn-train-v1") is None, 10, 0.2, "its Service gone")
    wait_until(lambda: rest.get_or_none(f"{jobs_path}/churn-train-v2"), 30, 0.2, "the Job of version 2")
    wait_until(lambda: rest.get_or_none(f"{services_path}/churn-train-v2"), 10, 0.2, "its Service")
    time.sleep(1)
    requests = operator_requests(control_plane, namespace, since)
    deletes = sorted(r for r in requests if r[0] == "delete")
    assert deletes == [("delete", "jobs", "churn-train-v1"), ("delete", "services", "churn-train-v1")], requests
    creates = sorted(r for r in requests if r[0] == "create" and r[1] in ("jobs", "services"))
    assert creates == [("create", "jobs", "churn-train-v2"), ("create", "services", "churn-train-v2")], requests
    status = wait_status(rest, namespace, "churn", lambda s: s.get("phase") == "Training", 10, "Training")
    assert condition(status, "Stalled")["status"] == "False" and condition(status, "Reconciling")["status"] == "True"
    assert not [e for e in events_of(rest, namespace, "churn") if e["type"] == "Warning"]
    rest.delete(mdep_path(namespace, "churn"))


def test_the_series_of_a_deleted_deployment_leave_the_metrics_endpoint(control_plane, start_operator) -> None:
    rest = control_plane.rest
    namespace = new_namespace(rest, "series")
    operator = start_operator(namespace)
    for name in ("churn", "other"):
        doc = model_deployment(name, namespace)
        doc["spec"]["training"]["command"] = SLEEPING
        rest.post(mdep_path(namespace), doc)
    for name in ("churn", "other"):
        wait_status(rest, namespace, name, lambda s: s.get("phase") == "Training", 30, f"{name} training")

    def series(name: str) -> list[str]:
        return [line for line in operator.metrics().splitlines()
                if not line.startswith("#") and f'name="{name}"' in line and f'namespace="{namespace}"' in line]

    wait_until(lambda: series("churn"), 10, 0.2, "series of churn")
    rest.delete(mdep_path(namespace, "churn"))
    wait_until(lambda: not series("churn"), 30, 0.2, "the series of the deleted churn gone")
    assert series("other")  # the other deployment's stay
    rest.delete(mdep_path(namespace, "other"))
