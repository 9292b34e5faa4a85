"""Retention on the real control plane: the prune Job the operator builds archives the version's status
record, then removes that version's files and nothing else."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml
from support.controlplane import ControlPlane
from support.kubetest import condition, new_namespace, wait_for
from support.podrunner.runner import PodRunner

from modelops.api import parse_model_deployment
from modelops.kube.builders.common import Owner
from modelops.kube.builders.jobs import build_prune_job

pytestmark = pytest.mark.cluster
SAMPLE = Path(__file__).resolve().parents[2] / "manifests" / "samples" / "binary-classification.yaml"


def test_prune_job_removes_exactly_the_retired_version(control_plane: ControlPlane, pod_runner: PodRunner) -> None:
    rest = control_plane.rest
    namespace = new_namespace(rest, "prune")
    spec = parse_model_deployment(yaml.safe_load(SAMPLE.read_text())).spec
    versions = pod_runner.pvc_path(namespace, spec["storage"]["persistentVolumeClaim"]) / namespace / "churn"
    for number in (1, 2):
        (versions / str(number)).mkdir(parents=True)
        (versions / str(number) / "saved_model.pb").write_bytes(b"model")
    # No owner object: the Job must stand on its own (ownerReferences to a missing owner would be collected).
    record = {"version": 1, "state": "Retired", "reason": "Replaced", "message": "version 2 serves: \"quoted\" 'x'"}
    job = build_prune_job(Owner("churn", namespace, "not-used"), spec, 1, record=record)
    job["metadata"].pop("ownerReferences")
    rest.post(f"/apis/batch/v1/namespaces/{namespace}/jobs", job)
    wait_for(rest, f"/apis/batch/v1/namespaces/{namespace}/jobs/churn-prune-v1",
             lambda j: condition(j, "Complete") == "True", 90, "the prune Job to complete")
    assert sorted(p.name for p in versions.iterdir()) == ["2", "records"]
    assert json.loads((versions / "records" / "1.json").read_text()) == record

