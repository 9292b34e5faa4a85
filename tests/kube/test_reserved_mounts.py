"""The mount paths admission keeps free (api/mount_rules.py) are exactly the ones the builders mount
besides the model volume, per pod kind, so a new builder mount cannot slip past admission unnoticed."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from modelops.api import parse_model_deployment
from modelops.api.mount_rules import PRUNE_POD_MOUNTS, SERVING_POD_MOUNTS, STAGE_POD_MOUNTS
from modelops.kube.builders.common import Owner
from modelops.kube.builders.jobs import build_prune_job, build_stage_job
from modelops.kube.builders.serving import build_serving_deployment

SAMPLE = Path(__file__).resolve().parents[2] / "manifests" / "samples" / "binary-classification.yaml"
OWNER = Owner(name="churn", namespace="ml", uid="1234-uid")


def _mounts(workload: dict) -> set[str]:
    pod = workload["spec"]["template"]["spec"]
    return {mount["mountPath"] for container in pod["containers"] for mount in container["volumeMounts"]}


@pytest.fixture(scope="module")
def spec() -> dict:
    return parse_model_deployment(yaml.safe_load(SAMPLE.read_text())).spec


@pytest.mark.parametrize("stage", ["tune", "train", "validate", "evaluate"])
def test_stage_pods_mount_what_admission_reserves(spec: dict, stage: str) -> None:
    job = build_stage_job(OWNER, spec, stage, 1, f"{stage}-v1", config={"stage": stage})
    assert _mounts(job) - {spec["storage"]["mountPath"]} == set(STAGE_POD_MOUNTS)


def test_prune_and_serving_pods_mount_what_admission_reserves(spec: dict) -> None:
    assert _mounts(build_prune_job(OWNER, spec, 1)) - {spec["storage"]["mountPath"]} == set(PRUNE_POD_MOUNTS)
    serving = build_serving_deployment(OWNER, spec, "stable", 1)
    assert _mounts(serving) - {spec["storage"]["mountPath"]} == set(SERVING_POD_MOUNTS)
