"""Readiness/liveness probes (httpGet, tcpSocket, exec; grpc is treated as a TCP check).

Thresholds and periods follow the pod spec and Kubernetes defaults, so a Deployment becomes Ready
exactly when its readiness endpoint says so.
"""

from __future__ import annotations

import socket
import subprocess
import time
import urllib.error
import urllib.request


def resolve_port(port: int | str, container: dict) -> int:
    if isinstance(port, int) or str(port).isdigit():
        return int(port)
    for declared in container.get("ports") or []:
        if declared.get("name") == port:
            return int(declared["containerPort"])
    raise ValueError(f"container {container['name']!r}: probe port {port!r} is not a declared port name")


def check(probe: dict, container: dict, pod_ip: str, pid: int | None, env: dict[str, str]) -> bool:
    """One probe attempt; True on success."""
    timeout = float(probe.get("timeoutSeconds") or 1)
    try:
        if "httpGet" in probe:
            http = probe["httpGet"]
            scheme = (http.get("scheme") or "HTTP").lower()
            host = http.get("host") or pod_ip
            path = http.get("path") or "/"
            url = f"{scheme}://{host}:{resolve_port(http['port'], container)}{path}"
            headers = {h["name"]: h["value"] for h in http.get("httpHeaders") or []}
            request = urllib.request.Request(url, headers=headers)
            try:
                with urllib.request.urlopen(request, timeout=timeout) as response:
                    return 200 <= response.status < 400
            except urllib.error.HTTPError as error:
                return 200 <= error.code < 400
        if "tcpSocket" in probe or "grpc" in probe:
            spec = probe.get("tcpSocket") or probe["grpc"]
            host = spec.get("host") or pod_ip
            with socket.create_connection((host, resolve_port(spec["port"], container)), timeout=timeout):
                return True
        if "exec" in probe:
            command = list(probe["exec"]["command"])
            if pid is not None:  # run inside the container's mount namespace, like `kubectl exec`
                command = ["nsenter", "-t", str(pid), "-m", "--", *command]
            result = subprocess.run(command, env=env, capture_output=True, timeout=timeout, check=False)
            return result.returncode == 0
    except (OSError, subprocess.TimeoutExpired, ValueError):
        return False
    return False


class ProbeState:
    """Schedules one probe and applies success/failure thresholds."""

    def __init__(self, probe: dict | None, default_result: bool) -> None:
        self.probe = probe
        self.result = default_result if probe is None else False
        self._successes = 0
        self._failures = 0
        delay = float(probe.get("initialDelaySeconds") or 0) if probe else 0.0
        self._next = time.monotonic() + delay

    def due(self) -> bool:
        return self.probe is not None and time.monotonic() >= self._next

    def record(self, ok: bool) -> bool:
        """Feed one attempt's outcome; returns True if `result` changed."""
        assert self.probe is not None
        self._next = time.monotonic() + float(self.probe.get("periodSeconds") or 10)
        before = self.result
        if ok:
            self._successes, self._failures = self._successes + 1, 0
            if self._successes >= int(self.probe.get("successThreshold") or 1):
                self.result = True
        else:
            self._failures, self._successes = self._failures + 1, 0
            if self._failures >= int(self.probe.get("failureThreshold") or 3):
                self.result = False
        return self.result != before
