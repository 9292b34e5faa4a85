"""A stage run by several pods at once (multi-worker training): an Indexed Job plus a headless Service.

The Job controller gives each pod of an Indexed Job its completion index (`JOB_COMPLETION_INDEX`) and
the hostname `<job>-<index>`; a pod template `subdomain` naming a headless Service makes cluster DNS
publish `<job>-<index>.<service>` for it, which the pod's search path resolves in its namespace. Short
names rather than FQDNs, so nothing depends on the cluster domain being `cluster.local`. The Service
publishes not-ready addresses: workers look each other up before any of them could be Ready.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from modelops.contract.gang import gang_env
from modelops.kube.builders.common import DEPLOYMENT_LABEL, STAGE_ID_LABEL, Owner, labels, metadata

GANG_PORT_NAME = "gang"


def gang_service_name(job_name: str) -> str:
    """The Service is named like its Job (a different kind, so no clash), hence `<job>-<i>.<job>`."""
    return job_name


def gang_hosts(job_name: str, size: int, port: int) -> list[str]:
    return [f"{job_name}-{index}.{gang_service_name(job_name)}:{port}" for index in range(size)]


def build_gang_service(owner: Owner, stage: str, version: int, stage_id: str, job_name: str,
                       port: int) -> dict[str, Any]:
    object_labels = labels(owner, stage, version, **{STAGE_ID_LABEL: stage_id})
    return {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": metadata(owner, gang_service_name(job_name), object_labels),
        "spec": {
            "clusterIP": "None",
            "publishNotReadyAddresses": True,
            "selector": {DEPLOYMENT_LABEL: owner.name, STAGE_ID_LABEL: stage_id},
            "ports": [{"name": GANG_PORT_NAME, "port": port, "targetPort": port, "protocol": "TCP"}],
        },
    }


def make_indexed(job: Mapping[str, Any], size: int, port: int) -> dict[str, Any]:
    """The stage Job turned into a gang of `size` pods: every index must succeed, and each index gets
    the Job's retry budget (`backoffLimitPerIndex`) rather than sharing one: a killed worker fails its
    peers' collectives too, and the whole gang restarts from the backup."""
    spec = dict(job["spec"])
    retries = int(spec.pop("backoffLimit"))
    template = dict(spec["template"])
    pod = dict(template["spec"])
    name = job["metadata"]["name"]
    containers = []
    for container in pod["containers"]:
        env = [*container.get("env", []), *({"name": k, "value": v} for k, v in gang_env(gang_hosts(name, size, port))
                                           .items())]
        ports = [*container.get("ports", []), {"name": GANG_PORT_NAME, "containerPort": port, "protocol": "TCP"}]
        containers.append({**container, "env": env, "ports": ports})
    pod.update(containers=containers, subdomain=gang_service_name(name))
    spec.update(completionMode="Indexed", completions=size, parallelism=size, backoffLimitPerIndex=retries,
                maxFailedIndexes=0, template={**template, "spec": pod})
    return {**job, "spec": spec}
