"""Cluster DNS for processes started by the pod runner (loaded via PYTHONPATH as `sitecustomize`).

Why: pods must reach Services by name (`<svc>.<ns>.svc[.cluster.local]`, `<svc>.<ns>`, or `<svc>`
from the same namespace) without a real cluster DNS. The runner keeps a JSON map of those names to
ready endpoint pod IPs; this wraps socket.getaddrinfo/gethostbyname to answer from it. Names under
`.svc` / `.cluster.local` that are not in the map fail fast, like NXDOMAIN. Only Python processes
(and code resolving through Python's socket module) see these names.
"""

import json
import os
import socket

_HOSTS_FILE = os.environ.get("MODELOPS_POD_HOSTS_FILE")
_NAMESPACE = os.environ.get("MODELOPS_POD_NAMESPACE", "")
_state = {"mtime": None, "data": {"names": {}, "short": {}}}


def _load():
    try:
        mtime = os.stat(_HOSTS_FILE).st_mtime_ns
    except OSError:
        return _state["data"]
    if mtime != _state["mtime"]:
        try:
            with open(_HOSTS_FILE) as handle:
                _state["data"] = json.load(handle)
            _state["mtime"] = mtime
        except (OSError, ValueError):
            pass  # half-written file cannot happen (atomic rename), but never break resolution
    return _state["data"]


def _cluster_ips(host):
    """IPs for a cluster name, [] for an unknown cluster name, None for anything else."""
    if isinstance(host, bytes):
        host = host.decode()
    if not isinstance(host, str) or not host:
        return None
    name = host.rstrip(".").lower()
    data = _load()
    ips = data.get("names", {}).get(name) or data.get("short", {}).get(_NAMESPACE, {}).get(name)
    if ips:
        return list(ips)
    if name.endswith(".svc") or name.endswith(".cluster.local") or name in data.get("known", []):
        return []
    return None


if _HOSTS_FILE:
    _real_getaddrinfo = socket.getaddrinfo
    _real_gethostbyname = socket.gethostbyname
    _real_gethostbyname_ex = socket.gethostbyname_ex

    def _no_such_host(host):
        return socket.gaierror(socket.EAI_NONAME, f"cluster name {host!r} has no ready endpoints")

    def getaddrinfo(host, port, family=0, type=0, proto=0, flags=0):
        ips = _cluster_ips(host)
        if ips is None:
            return _real_getaddrinfo(host, port, family, type, proto, flags)
        if not ips:
            raise _no_such_host(host)
        results = []
        for ip in ips:
            results.extend(_real_getaddrinfo(ip, port, family, type, proto, flags))
        return results

    def gethostbyname(host):
        ips = _cluster_ips(host)
        if ips is None:
            return _real_gethostbyname(host)
        if not ips:
            raise _no_such_host(host)
        return ips[0]

    def gethostbyname_ex(host):
        ips = _cluster_ips(host)
        if ips is None:
            return _real_gethostbyname_ex(host)
        if not ips:
            raise _no_such_host(host)
        return host, [], ips

    socket.getaddrinfo = getaddrinfo
    socket.gethostbyname = gethostbyname
    socket.gethostbyname_ex = gethostbyname_ex
