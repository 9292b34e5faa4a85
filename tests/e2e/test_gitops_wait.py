"""A GitOps wait on the real operator: kstatus (cli-utils' own code, as Flux's `wait` runs it) polled
until it stops saying InProgress ends Current for a deployment that comes to serve, and Failed -- at once,
not at a timeout -- for one whose first version is rejected by its gates."""

from __future__ import annotations

from pathlib import Path

import pytest
from kube.harness import mdep_path, model_deployment, write_datasets
from support.gitops import build_gitops_tools, kstatus
from support.kubetest import new_namespace
from support.podrunner.volumes import pvc_dir
from support.processes import wait_until

pytestmark = [pytest.mark.cluster, pytest.mark.slow]


def kstatus_wait(rest, tools: Path, namespace: str, names: list[str], timeout: float) -> dict[str, dict]:
    """What `flux`/kpt's status poller does: read every object until none is InProgress."""
    verdicts: dict[str, dict] = {}

    def settled() -> bool:
        objects = [rest.get(mdep_path(namespace, name)) for name in names]
        verdicts.update(zip(names, kstatus(tools, objects), strict=True))
        return all(v["status"] != "InProgress" for v in verdicts.values())

    try:
        wait_until(settled, timeout, 0.5, "kstatus to settle")
    except TimeoutError as error:
        raise TimeoutError(f"{error}: {verdicts}") from None
    return verdicts


def test_kstatus_wait_ends_current_on_serving_and_failed_on_a_rejected_first_version(
        control_plane, pod_runner, start_operator) -> None:
    tools = build_gitops_tools()
    rest = control_plane.rest
    namespace = new_namespace(rest, "gitops")
    write_datasets(pvc_dir(pod_runner.root, namespace, "models") / "datasets")
    start_operator(namespace)
    rest.post(mdep_path(namespace), model_deployment("good", namespace))
    rest.post(mdep_path(namespace), model_deployment("refused", namespace, **{
        "validation.gates": [{"metric": "accuracy", "min": 0.999}]}))
    # Once the operator has written a status (before that, kstatus reads a condition-less object as
    # Current: docs/gitops.md), training reads InProgress.
    wait_until(lambda: (rest.get(mdep_path(namespace, "good")).get("status") or {}).get("observedGeneration"),
               60, 0.2, "the first status")
    [early] = kstatus(tools, [rest.get(mdep_path(namespace, "good"))])
    assert early["status"] == "InProgress"

    verdicts = kstatus_wait(rest, tools, namespace, ["good", "refused"], 420)
    assert verdicts["good"]["status"] == "Current", verdicts
    assert verdicts["refused"]["status"] == "Failed", verdicts
    assert "accuracy" in verdicts["refused"]["message"]
    refused = rest.get(mdep_path(namespace, "refused"))["status"]
    assert refused["phase"] == "Rejected"
    assert {c["observedGeneration"] for c in refused["conditions"]} == {1}
