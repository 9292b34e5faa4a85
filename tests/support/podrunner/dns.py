"""The service-name → ready-pod-IP map the DNS shim reads (cluster DNS stand-in).

Answers like CoreDNS for a ClusterIP Service, except that it returns the ready endpoint pod IPs
directly (there is no kube-proxy): Service port and targetPort are equal in our manifests, so
connecting to <name>:<port> reaches a pod. Endpoints come from the Service's selector and the pods'
Ready condition (the EndpointSlice controller's own rule), because EndpointSlice validation rejects
loopback addresses, so the controller cannot publish our 127.x.y.z pod IPs; ready addresses from
EndpointSlices that do exist (selector-less Services) are included as well.
"""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path

SHIM_DIR = Path(__file__).resolve().parent / "shim"


def service_names(service: str, namespace: str) -> list[str]:
    return [f"{service}.{namespace}.svc", f"{service}.{namespace}.svc.cluster.local", f"{service}.{namespace}"]


def _serving_pod_ips(service: dict, pods: list[dict]) -> list[str]:
    """IPs of pods a Service selects that are Ready and not terminating."""
    selector = (service.get("spec") or {}).get("selector") or {}
    if not selector:
        return []
    namespace = service["metadata"].get("namespace", "default")
    ips = []
    for pod in pods:
        metadata, status = pod["metadata"], pod.get("status") or {}
        labels = metadata.get("labels") or {}
        if metadata.get("namespace", "default") != namespace or metadata.get("deletionTimestamp"):
            continue
        if any(labels.get(key) != value for key, value in selector.items()) or not status.get("podIP"):
            continue
        if _is_ready(pod):
            ips.append(status["podIP"])
    return ips


def _is_ready(pod: dict) -> bool:
    conditions = (pod.get("status") or {}).get("conditions") or []
    return any(c["type"] == "Ready" and c["status"] == "True" for c in conditions)


def _pod_hostnames(services: list[dict], pods: list[dict]) -> dict[tuple[str, str], str]:
    """{(namespace, "<hostname>.<subdomain>"): pod IP} as cluster DNS publishes them: a pod with
    `spec.hostname` and `spec.subdomain` gets a record when a headless Service named like its subdomain
    exists in its namespace; not-yet-ready pods only when that Service sets publishNotReadyAddresses."""
    headless = {(s["metadata"].get("namespace", "default"), s["metadata"]["name"]): s for s in services
                if (s.get("spec") or {}).get("clusterIP") == "None"}
    records = {}
    for pod in pods:
        metadata, spec, status = pod["metadata"], pod.get("spec") or {}, pod.get("status") or {}
        namespace = metadata.get("namespace", "default")
        service = headless.get((namespace, spec.get("subdomain") or ""))
        if service is None or not spec.get("hostname") or not status.get("podIP") or metadata.get("deletionTimestamp"):
            continue
        if status.get("phase") in ("Succeeded", "Failed"):  # a finished pod's record is gone (its index may rerun)
            continue
        if _is_ready(pod) or (service.get("spec") or {}).get("publishNotReadyAddresses"):
            records[(namespace, f"{spec['hostname']}.{spec['subdomain']}")] = status["podIP"]
    return records


def build_hosts(services: list[dict], endpoint_slices: list[dict], pods: list[dict]) -> dict:
    """{"names": {fqdn: [ip...]}, "short": {namespace: {service: [ip...]}}, "known": [...]}."""
    ready: dict[tuple[str, str], list[str]] = {}
    for endpoint_slice in endpoint_slices:
        metadata = endpoint_slice["metadata"]
        service = (metadata.get("labels") or {}).get("kubernetes.io/service-name")
        if not service:
            continue
        ips = ready.setdefault((metadata.get("namespace", "default"), service), [])
        for endpoint in endpoint_slice.get("endpoints") or []:
            if (endpoint.get("conditions") or {}).get("ready", True) is False:
                continue
            ips.extend(ip for ip in endpoint.get("addresses", []) if ip not in ips)
    for service in services:
        key = (service["metadata"].get("namespace", "default"), service["metadata"]["name"])
        ips = ready.setdefault(key, [])
        ips.extend(ip for ip in _serving_pod_ips(service, pods) if ip not in ips)
    names: dict[str, list[str]] = {}
    short: dict[str, dict[str, list[str]]] = {}
    known: list[str] = []
    for service in services:
        namespace, name = service["metadata"].get("namespace", "default"), service["metadata"]["name"]
        ips = sorted(ready.get((namespace, name), []))
        known.extend(service_names(name, namespace))
        if ips:
            for fqdn in service_names(name, namespace):
                names[fqdn] = ips
            short.setdefault(namespace, {})[name] = ips
    for (namespace, host), ip in _pod_hostnames(services, pods).items():
        for fqdn in service_names(host, namespace):
            names[fqdn] = [ip]
        short.setdefault(namespace, {})[host] = [ip]
    return {"names": names, "short": short, "known": sorted(known)}


def write_atomically(path: Path, data: dict) -> bool:
    """Write JSON via rename so readers never see half a file; returns False if unchanged."""
    text = json.dumps(data, sort_keys=True)
    try:
        if path.read_text() == text:
            return False
    except OSError:
        pass
    handle, temp = tempfile.mkstemp(dir=path.parent, prefix=".hosts")
    with os.fdopen(handle, "w") as out:
        out.write(text)
    os.replace(temp, path)
    return True
