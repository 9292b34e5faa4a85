"""Serving resilience on the real control plane: the executor's HPA and PDB are accepted and owned, the
HPA controller (kube-controller-manager) drives the replica count, a version rollout never breaks the
disruption budget, and the objects go when they are no longer wanted or the owner is deleted."""

from __future__ import annotations

import copy
import threading

import pytest
import yaml
from support.controlplane import REPO_ROOT, ControlPlane
from support.kubetest import new_namespace, wait_for, wait_gone
from support.podrunner.runner import PodRunner

from modelops.api import parse_model_deployment
from modelops.kube.builders.common import Owner
from modelops.kube.builders.serving import deployment_rolled_out, deployment_version
from modelops.kube.client import KubeApi
from modelops.kube.executor import Executor
from modelops.kube.metrics import OperatorMetrics
from modelops.kube.settings import OperatorSettings
from modelops.lifecycle.messages import ApplyServing

pytestmark = [pytest.mark.cluster, pytest.mark.slow]
SAMPLE = REPO_ROOT / "manifests" / "samples" / "binary-classification.yaml"


class BudgetWatch:
    """Samples the PodDisruptionBudget's status in the background while a rollout runs."""

    def __init__(self, control_plane: ControlPlane, path: str) -> None:
        self.rest, self.path = control_plane.rest, path
        self.samples: list[tuple[int, int]] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.wait(0.2):
            status = self.rest.get(self.path).get("status") or {}
            self.samples.append((int(status.get("currentHealthy", 0)), int(status.get("desiredHealthy", 0))))

    def __enter__(self) -> BudgetWatch:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(5)


def test_autoscaler_and_budget_drive_and_protect_the_stable_track(
        control_plane: ControlPlane, pod_runner: PodRunner) -> None:
    from serving.models import save_scaler  # tiny real SavedModels, so readiness means AVAILABLE

    rest = control_plane.rest
    namespace = new_namespace(rest, "resilience")
    doc = yaml.safe_load(SAMPLE.read_text())
    doc["metadata"] = {"name": "churn", "namespace": namespace}
    doc["spec"]["serving"]["autoscaling"] = {"enabled": True, "minReplicas": 2, "maxReplicas": 4}
    doc["spec"]["serving"]["terminationGracePeriodSeconds"] = 15
    body = rest.post(f"/apis/modelops.dev/v1alpha1/namespaces/{namespace}/modeldeployments", doc)
    owner, spec = Owner.from_body(body), parse_model_deployment(body).spec
    base = pod_runner.pvc_path(namespace, "modelops-models") / namespace / "churn"
    for version in (1, 2):
        save_scaler(str(base), version)

    executor = Executor(KubeApi(control_plane.api_client()), OperatorSettings(),
                        OperatorMetrics())
    executor.apply_serving(owner, spec, ApplyServing(stable=1))

    hpa_path = f"/apis/autoscaling/v2/namespaces/{namespace}/horizontalpodautoscalers/churn"
    pdb_path = f"/apis/policy/v1/namespaces/{namespace}/poddisruptionbudgets/churn"
    deployment_path = f"/apis/apps/v1/namespaces/{namespace}/deployments/churn"
    for path in (hpa_path, pdb_path):
        (reference,) = rest.get(path)["metadata"]["ownerReferences"]
        assert reference["uid"] == body["metadata"]["uid"] and reference["controller"] is True

    # The Deployment was created without a replica count; the HPA controller raises it to minReplicas.
    wait_for(rest, deployment_path, lambda d: d["spec"]["replicas"] == 2 and deployment_rolled_out(d), 180,
             "the HPA to scale the stable track to 2 ready replicas")
    hpa = wait_for(rest, hpa_path, lambda h: (h.get("status") or {}).get("desiredReplicas") == 2, 60,
                   "the HPA controller to report its decision")
    assert hpa["spec"]["scaleTargetRef"]["name"] == "churn"
    wait_for(rest, pdb_path, lambda p: (p.get("status") or {}).get("currentHealthy") == 2, 60,
             "the disruption controller to count both healthy pods")

    with BudgetWatch(control_plane, pdb_path) as watch:
        executor.apply_serving(owner, spec, ApplyServing(stable=2))
        wait_for(rest, deployment_path, lambda d: deployment_version(d) == 2 and deployment_rolled_out(d), 180,
                 "the rollout to version 2")
    assert any(desired >= 1 for _, desired in watch.samples), f"the budget never protected a pod: {watch.samples}"
    assert all(healthy >= desired for healthy, desired in watch.samples), watch.samples
    assert min(healthy for healthy, _ in watch.samples) >= 2  # maxUnavailable 0: never below the replica count
    assert rest.get(deployment_path)["spec"]["replicas"] == 2  # the rollout did not reset the HPA's count

    # Back to one fixed replica: neither object is wanted any more.
    single = copy.deepcopy(spec)
    single["serving"]["autoscaling"]["enabled"] = False
    single["serving"]["replicas"] = 1
    executor.apply_serving(owner, single, ApplyServing(stable=2))
    wait_gone(rest, hpa_path, 30, "the HPA to be deleted")
    wait_gone(rest, pdb_path, 30, "the PDB to be deleted")
    wait_for(rest, deployment_path, lambda d: d["spec"]["replicas"] == 1, 30, "the fixed replica count")

    # And owned objects go with their owner (garbage collector).
    executor.apply_serving(owner, spec, ApplyServing(stable=2))
    rest.get(hpa_path)
    rest.delete(f"/apis/modelops.dev/v1alpha1/namespaces/{namespace}/modeldeployments/churn")
    wait_gone(rest, hpa_path, 60, "the garbage collector to delete the HPA")
    wait_gone(rest, pdb_path, 60, "the garbage collector to delete the PDB")
