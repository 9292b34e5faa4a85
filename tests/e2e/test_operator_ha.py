"""HA on the real control plane: two operator replicas with kopf peering; the active one is SIGKILLed
mid-lifecycle and the standby takes over within the peering lifetime. The deployment still reaches
Serving with exactly one Job per stage and version 1 only (nothing duplicated, nothing skipped)."""

from __future__ import annotations

import time

import pytest
from kube.harness import MANIFESTS, jobs_of, mdep_path, model_deployment, wait_status, write_datasets
from support.kubetest import new_namespace
from support.podrunner.volumes import pvc_dir
from support.processes import wait_until

pytestmark = [pytest.mark.cluster, pytest.mark.slow]
NAME = "churn"
LIFETIME = 6  # seconds; the shipped default is 15 (docs/install.md, "High availability")


def peers(rest, namespace: str) -> dict:
    return rest.get(f"/apis/kopf.dev/v1/namespaces/{namespace}/kopfpeerings/modelops").get("status") or {}


def test_standby_takes_over_when_the_active_replica_is_killed(control_plane, pod_runner, start_operator) -> None:
    rest = control_plane.rest
    control_plane.apply_manifest(MANIFESTS / "kopf-peering-crds.yaml")
    control_plane.apply_manifest(MANIFESTS / "kopf-peering.yaml")
    namespace = new_namespace(rest, "ha")
    rest.post(f"/apis/kopf.dev/v1/namespaces/{namespace}/kopfpeerings",
              {"apiVersion": "kopf.dev/v1", "kind": "KopfPeering", "metadata": {"name": "modelops"}})
    write_datasets(pvc_dir(pod_runner.root, namespace, "models") / "datasets")
    flags = ("--peering", "modelops", "--peering-lifetime", str(LIFETIME))
    active = start_operator(namespace, *flags)
    wait_until(lambda: len(peers(rest, namespace)) == 1, 30, 0.2, "the first replica in the peering object")
    standby = start_operator(namespace, *flags)  # younger: lower priority, so it waits
    wait_until(lambda: len(peers(rest, namespace)) == 2, 30, 0.2, "both replicas in the peering object")
    priorities = {peer["priority"] for peer in peers(rest, namespace).values()}
    assert len(priorities) == 2  # equal priorities would pause both replicas
    # kopf starts a peer paused; the standby never resumed (and the active never paused) while both live
    time.sleep(2)
    assert "Resuming operations" not in standby.process.log_tail(50000)
    assert "Pausing" not in active.process.log_tail(50000)

    rest.post(mdep_path(namespace), model_deployment(NAME, namespace))
    wait_until(lambda: jobs_of(rest, namespace, NAME), 60, 0.1, "the training Job")
    active.process.kill()  # SIGKILL: no goodbye in the peering object, the standby must notice the silence
    killed = time.monotonic()
    wait_until(lambda: "Resuming operations" in standby.process.log_tail(50000), LIFETIME + 20, 0.1,
               "the standby resuming")
    takeover = time.monotonic() - killed
    print(f"takeover after SIGKILL: {takeover:.1f}s (peering lifetime {LIFETIME}s)")
    assert takeover <= LIFETIME + 5

    status = wait_status(rest, namespace, NAME, lambda s: s.get("phase") == "Serving" and s.get("servingReady"),
                         300, "Serving after the takeover")
    assert status["servingVersion"] == 1
    assert [r["version"] for r in status["versions"]] == [1]
    jobs = jobs_of(rest, namespace, NAME)
    stage_ids = [j["metadata"]["labels"]["modelops.dev/stage-id"] for j in jobs]
    assert sorted(stage_ids) == ["train-v1", "validate-v1"], stage_ids
