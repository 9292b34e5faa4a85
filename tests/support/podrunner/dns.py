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
        if any(c["type"] == "Ready" and c["status"] == "True" for c in status.get("conditions") or []):
            ips.append(status["podIP"])
    return ips


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
