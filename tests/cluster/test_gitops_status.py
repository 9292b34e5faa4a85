"""What GitOps tools conclude about a ModelDeployment, computed by their own code for every phase and failure.

kstatus is sigs.k8s.io/cli-utils' status.Compute (Flux `wait`/`healthChecks`, kpt); Argo CD's verdict is our
health.lua run by gopher-lua set up as Argo CD sets it up. Both are built from Go modules
(scripts/build-gitops-tools.sh), like the control plane, so the marker is `cluster`.
"""

from __future__ import annotations

import copy
import random
from pathlib import Path

import pytest
from support.controlplane import ControlPlane
from support.gitops import argocd_health, build_gitops_tools, kstatus
from support.gitops_scenarios import SCENARIOS, Scenario
from support.kubetest import new_namespace

pytestmark = pytest.mark.cluster
IDS = [s.name for s in SCENARIOS]


@pytest.fixture(scope="module")
def tools() -> Path:
    return build_gitops_tools()


@pytest.fixture(scope="module")
def objects() -> dict[str, dict]:
    return {s.name: s.object() for s in SCENARIOS}


@pytest.fixture(scope="module")
def kstatus_verdicts(tools: Path, objects: dict[str, dict]) -> dict[str, dict[str, str]]:
    return dict(zip(objects, kstatus(tools, list(objects.values())), strict=True))


@pytest.fixture(scope="module")
def argocd_verdicts(tools: Path, objects: dict[str, dict]) -> dict[str, dict[str, str]]:
    return dict(zip(objects, argocd_health(tools, list(objects.values())), strict=True))


@pytest.mark.parametrize("scenario", SCENARIOS, ids=IDS)
def test_kstatus_verdict_is_what_a_gitops_user_expects(scenario: Scenario, objects: dict[str, dict],
                                                        kstatus_verdicts: dict[str, dict[str, str]]) -> None:
    verdict = kstatus_verdicts[scenario.name]
    assert verdict["status"] == scenario.kstatus, (scenario.name, verdict, objects[scenario.name]["status"]["phase"])
    if scenario.kstatus != "Current":  # the user reads why, in the operator's own words
        assert verdict["message"] and "None" not in verdict["message"]


@pytest.mark.parametrize("scenario", SCENARIOS, ids=IDS)
def test_argocd_health_is_what_a_gitops_user_expects(scenario: Scenario,
                                                      argocd_verdicts: dict[str, dict[str, str]]) -> None:
    verdict = argocd_verdicts[scenario.name]
    assert verdict["status"] == scenario.argocd, (scenario.name, verdict)
    assert verdict["message"]


def test_failed_verdicts_name_the_cause(kstatus_verdicts: dict[str, dict[str, str]],
                                        argocd_verdicts: dict[str, dict[str, str]]) -> None:
    assert "epochs" in kstatus_verdicts["failed-invalid-spec"]["message"]
    assert "retraining attempt" in kstatus_verdicts["failed-retries-exhausted"]["message"]
    assert "version 1 keeps serving" in argocd_verdicts["rejected-spec-edit-old-serves"]["message"]
    assert "onDegradation" in argocd_verdicts["degraded-alert-only"]["message"]


def test_health_check_reads_conditions_by_type_not_position(tools: Path, objects: dict[str, dict],
                                                            argocd_verdicts: dict[str, dict[str, str]]) -> None:
    """argo-cd#25312: checks that counted or indexed conditions broke when a condition was added. Shuffled
    and padded with foreign conditions, every object must get the same verdict."""
    rng = random.Random(25312)
    shuffled = []
    for obj in objects.values():
        moved = copy.deepcopy(obj)
        extra = [{"type": "Foreign", "status": "True", "reason": "X", "message": "not ours"},
                 {"type": "ServingHealthy", "status": "False", "reason": "Y", "message": "not ours either"}]
        conditions = moved["status"]["conditions"] + extra
        rng.shuffle(conditions)
        moved["status"]["conditions"] = conditions
        shuffled.append(moved)
    again = argocd_health(tools, shuffled)
    assert [v["status"] for v in again] == [argocd_verdicts[n]["status"] for n in objects]


def test_health_check_before_any_status_and_for_a_stale_generation(tools: Path) -> None:
    fresh = {"apiVersion": "modelops.dev/v1alpha1", "kind": "ModelDeployment",
             "metadata": {"name": "new", "namespace": "ml", "generation": 1}, "spec": {}}
    [verdict] = argocd_health(tools, [fresh])
    assert verdict["status"] == "Progressing" and "operator" in verdict["message"]


def test_health_check_result_is_a_valid_argocd_status_for_garbage(tools: Path) -> None:
    """A status the script does not understand must still produce a valid Argo CD health, not an error."""
    odd = {"apiVersion": "modelops.dev/v1alpha1", "kind": "ModelDeployment",
           "metadata": {"name": "odd", "generation": 2},
           "status": {"observedGeneration": 2, "conditions": [{"type": "Ready"}], "phase": "Nonsense"}}
    [verdict] = argocd_health(tools, [odd])
    assert verdict["status"] == "Progressing"


@pytest.mark.parametrize("name", ["serving", "rejected-first-version", "training", "failed-invalid-spec"])
def test_verdict_survives_the_api_servers_status_schema(name: str, control_plane: ControlPlane, tools: Path,
                                                        objects: dict[str, dict],
                                                        kstatus_verdicts: dict[str, dict[str, str]]) -> None:
    """Written through the status subresource and read back, nothing the verdict needs is pruned."""
    namespace = new_namespace(control_plane.rest, "gitops")
    sample = objects[name]
    body = {"apiVersion": "modelops.dev/v1alpha1", "kind": "ModelDeployment",
            "metadata": {"name": name, "namespace": namespace}, "spec": _sample_spec()}
    path = control_plane.resource_path("modelops.dev/v1alpha1", "ModelDeployment", namespace)
    created = control_plane.rest.post(path, body)
    status = copy.deepcopy(sample["status"])
    status["observedGeneration"] = created["metadata"]["generation"]
    for condition in status["conditions"]:
        condition["observedGeneration"] = created["metadata"]["generation"]
    stored = control_plane.rest.put(f"{path}/{name}/status", {**created, "status": status})
    assert {c["type"] for c in stored["status"]["conditions"]} >= {"Ready", "Reconciling", "Stalled"}
    [verdict] = kstatus(tools, [stored])
    assert verdict["status"] == kstatus_verdicts[name]["status"]


def _sample_spec() -> dict:
    import yaml
    from support.controlplane import REPO_ROOT
    return yaml.safe_load((REPO_ROOT / "manifests" / "samples" / "binary-classification.yaml").read_text())["spec"]


def test_a_new_object_reads_in_progress_before_the_operator_writes(control_plane: ControlPlane, tools: Path) -> None:
    """No operator runs here: the API server's default status (observedGeneration 0) alone must keep kstatus
    from calling a just-applied deployment Current, and Argo CD from calling it Healthy."""
    namespace = new_namespace(control_plane.rest, "gitops-new")
    path = control_plane.resource_path("modelops.dev/v1alpha1", "ModelDeployment", namespace)
    control_plane.rest.post(path, {"apiVersion": "modelops.dev/v1alpha1", "kind": "ModelDeployment",
                                   "metadata": {"name": "fresh", "namespace": namespace}, "spec": _sample_spec()})
    fresh = control_plane.rest.get(f"{path}/fresh")
    assert fresh["status"] == {"observedGeneration": 0}
    [verdict] = kstatus(tools, [fresh])
    assert verdict["status"] == "InProgress" and "observed generation is 0" in verdict["message"]
    [health] = argocd_health(tools, [fresh])
    assert health["status"] == "Progressing"
