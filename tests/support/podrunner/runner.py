"""The pod runner: a test-side stand-in for a kubelet (plus a one-node scheduler and cluster DNS).

It keeps one Node Ready, binds pending pods that fit that node, runs each bound pod with a
PodWorker (local processes, one loopback IP per pod), and keeps the DNS shim's service map current.
Everything runs in daemon threads of the test process; `stop()` ends every process it started.
"""

from __future__ import annotations

import base64
import itertools
import logging
import threading
from pathlib import Path
from urllib.parse import urlparse

from support.kuberest import ApiError, KubeRest
from support.podrunner.container import now_rfc3339
from support.podrunner.dns import build_hosts, write_atomically
from support.podrunner.informer import Informer
from support.podrunner.netns import build_bind_shim
from support.podrunner.pod_worker import PodWorker
from support.podrunner.volumes import pvc_dir

log = logging.getLogger(__name__)
HEARTBEAT_SECONDS = 10.0
TERMINAL = ("Succeeded", "Failed")


class PodRunner:
    def __init__(self, server: str, token: str, ca_cert: str, root: Path, node_name: str = "modelops-node",
                 node_labels: dict[str, str] | None = None, ip_prefix: str = "127.42") -> None:
        self.rest = KubeRest(server, token, ca_cert)
        self.api_port = urlparse(server).port or 443
        self.root = root
        self.node_name = node_name
        self.node_ip = "127.0.0.1"
        self.node_labels = {"kubernetes.io/hostname": node_name, "kubernetes.io/os": "linux",
                            "kubernetes.io/arch": "amd64", **(node_labels or {})}
        self.hosts_file = root / "hosts.json"
        self.workers: dict[str, PodWorker] = {}  # by pod uid
        self.ip_prefix = ip_prefix
        self._ip_counter = itertools.count(1)
        self._lock = threading.RLock()
        self._hosts_lock = threading.Lock()
        self._bound: set[str] = set()
        self._stop = threading.Event()
        self._heartbeat = threading.Thread(target=self._heartbeat_loop, name="node-heartbeat", daemon=True)
        self.configmaps = Informer(self.rest, "/api/v1/configmaps")
        self.services = Informer(self.rest, "/api/v1/services", self._on_network_event)
        self.slices = Informer(self.rest, "/apis/discovery.k8s.io/v1/endpointslices", self._on_network_event)
        self.pods = Informer(self.rest, "/api/v1/pods", self._on_pod_event)

    # ---- lifecycle --------------------------------------------------------------------------------
    def start(self, timeout: float = 30.0) -> PodRunner:
        self.root.mkdir(parents=True, exist_ok=True)
        self.bind_shim = build_bind_shim(self.root / "netns")
        write_atomically(self.hosts_file, {"names": {}, "short": {}, "known": []})
        self._register_node()
        for informer in (self.configmaps, self.services, self.slices):
            informer.start()
        for informer in (self.configmaps, self.services, self.slices):
            if not informer.synced.wait(timeout):
                raise TimeoutError(f"pod runner: initial list of {informer.path} did not finish in {timeout}s")
        self._on_network_event("SYNCED", {})
        self.pods.start()
        if not self.pods.synced.wait(timeout):
            raise TimeoutError(f"pod runner: initial list of pods did not finish in {timeout}s")
        self._heartbeat.start()
        return self

    def stop(self) -> None:
        """Stop watching and end every pod process (no API calls: the cluster may be going away)."""
        self._stop.set()
        for informer in (self.pods, self.services, self.slices, self.configmaps):
            informer.stop()
        with self._lock:
            workers = list(self.workers.values())
        for worker in workers:
            worker.shutdown()
        for worker in workers:
            worker.join(timeout=15)
        self.rest.close()

    # ---- what tests use ---------------------------------------------------------------------------
    def pod_ips(self) -> dict[tuple[str, str], str]:
        with self._lock:
            return {(w.namespace, w.pod_name): w.pod_ip for w in self.workers.values()}

    def worker(self, namespace: str, name: str) -> PodWorker | None:
        with self._lock:
            matches = [w for w in self.workers.values() if (w.namespace, w.pod_name) == (namespace, name)]
        return matches[-1] if matches else None

    def log_files(self, namespace: str, name: str) -> dict[str, str]:
        worker = self.worker(namespace, name)
        return worker.log_files() if worker else {}

    def logs(self, namespace: str, name: str) -> dict[str, str]:
        texts = {}
        for container, path in self.log_files(namespace, name).items():
            try:
                texts[container] = Path(path).read_text(errors="replace")
            except OSError:
                texts[container] = ""
        return texts

    def dump_logs(self, max_chars: int = 3000) -> str:
        """Every pod's container logs (tails), for printing when a test fails."""
        with self._lock:
            workers = list(self.workers.values())
        parts = []
        for worker in workers:
            for container, text in self.logs(worker.namespace, worker.pod_name).items():
                parts.append(f"--- pod {worker.namespace}/{worker.pod_name} container {container} "
                             f"(phase {worker.phase}, ip {worker.pod_ip}) ---\n{text[-max_chars:]}")
        return "\n".join(parts)

    def pvc_path(self, namespace: str, claim: str) -> Path:
        """Host directory backing PersistentVolumeClaim `claim` (created on first use)."""
        path = pvc_dir(self.root, namespace, claim)
        path.mkdir(parents=True, exist_ok=True)
        return path

    def all_pids(self) -> list[int]:
        with self._lock:
            return [pid for worker in self.workers.values() for pid in worker.pids()]

    # ---- node ----------------------------------------------------------------------------------
    def _node_status(self) -> dict:
        now = now_rfc3339()
        resources = {"cpu": "16", "memory": "64Gi", "pods": "500", "ephemeral-storage": "100Gi"}
        return {"status": {
            "conditions": [{"type": "Ready", "status": "True", "reason": "KubeletReady",
                            "message": "modelops pod runner is posting ready status",
                            "lastHeartbeatTime": now, "lastTransitionTime": self._ready_since}],
            "addresses": [{"type": "InternalIP", "address": self.node_ip},
                          {"type": "Hostname", "address": self.node_name}],
            "capacity": resources, "allocatable": resources,
            "nodeInfo": {"kubeletVersion": "v0.0.0-modelops-podrunner", "operatingSystem": "linux",
                         "architecture": "amd64", "containerRuntimeVersion": "modelops://local-processes",
                         "osImage": "", "kernelVersion": "", "machineID": "", "systemUUID": "", "bootID": "",
                         "kubeProxyVersion": ""},
        }}

    def _register_node(self) -> None:
        self._ready_since = now_rfc3339()
        node = {"apiVersion": "v1", "kind": "Node", "metadata": {"name": self.node_name, "labels": self.node_labels}}
        try:
            self.rest.post("/api/v1/nodes", node)
        except ApiError as error:
            if error.status != 409:
                raise
        self.rest.patch(f"/api/v1/nodes/{self.node_name}/status", self._node_status())

    def _heartbeat_loop(self) -> None:
        while not self._stop.wait(HEARTBEAT_SECONDS):
            try:
                self.rest.patch(f"/api/v1/nodes/{self.node_name}/status", self._node_status())
            except Exception as error:
                log.debug("node heartbeat failed: %s", error)

    # ---- pods -------------------------------------------------------------------------------------
    def _fits(self, pod: dict) -> bool:
        spec = pod["spec"]
        if spec.get("schedulerName", "default-scheduler") != "default-scheduler":
            return False
        selector = spec.get("nodeSelector") or {}
        return all(self.node_labels.get(key) == value for key, value in selector.items())

    def _bind(self, pod: dict) -> None:
        metadata = pod["metadata"]
        namespace, name = metadata["namespace"], metadata["name"]
        binding = {"apiVersion": "v1", "kind": "Binding", "metadata": {"name": name, "uid": metadata["uid"]},
                   "target": {"apiVersion": "v1", "kind": "Node", "name": self.node_name}}
        try:
            self.rest.post(f"/api/v1/namespaces/{namespace}/pods/{name}/binding", binding)
        except ApiError as error:
            if error.status not in (404, 409):
                log.warning("binding %s/%s failed: %s", namespace, name, error)

    def _on_pod_event(self, kind: str, pod: dict) -> None:
        self._run_pod(kind, pod)
        self._on_network_event(kind, pod)  # readiness and deletions change what Service names resolve to

    def _run_pod(self, kind: str, pod: dict) -> None:
        metadata, spec = pod["metadata"], pod["spec"]
        uid = metadata["uid"]
        with self._lock:
            worker = self.workers.get(uid)
            if kind == "DELETED":
                if worker:
                    worker.gone()
                return
            if worker:
                worker.update(pod)
                return
            node = spec.get("nodeName")
            if not node:
                if uid not in self._bound and not metadata.get("deletionTimestamp") and self._fits(pod):
                    self._bound.add(uid)
                    self._bind(pod)
                return
            if node != self.node_name or pod.get("status", {}).get("phase") in TERMINAL or self._stop.is_set():
                return
            if metadata.get("deletionTimestamp"):  # never started here: nothing to stop, just finish it
                self.rest.request("DELETE", f"/api/v1/namespaces/{metadata['namespace']}/pods/{metadata['name']}",
                                  {"gracePeriodSeconds": 0})
                return
            worker = PodWorker(self, pod, self._allocate_ip())
            self.workers[uid] = worker
            worker.start()

    def _allocate_ip(self) -> str:
        n = next(self._ip_counter)  # never reused within a session: a stale client cannot hit a new pod
        return f"{self.ip_prefix}.{n // 254}.{n % 254 + 1}"

    # ---- lookups for volumes, env and DNS ---------------------------------------------------------
    def lookup(self, kind: str, namespace: str, name: str) -> dict | None:
        """The current ConfigMap/Secret object, or None if it does not exist."""
        if kind == "configmap":
            cached = self.configmaps.get(namespace, name)
            if cached is not None:
                return cached
        plural = "configmaps" if kind == "configmap" else "secrets"
        try:
            return self.rest.get(f"/api/v1/namespaces/{namespace}/{plural}/{name}")
        except ApiError as error:
            if error.status == 404:
                return None
            raise

    def lookup_data(self, kind: str, namespace: str, name: str) -> dict[str, str] | None:
        obj = self.lookup(kind, namespace, name)
        if obj is None:
            return None
        data = obj.get("data") or {}
        if kind == "secret":
            return {k: base64.b64decode(v).decode(errors="replace") for k, v in data.items()}
        return dict(data)

    def issue_token(self, namespace: str, account: str, audiences: list[str], expiration: int, pod: dict) -> str:
        """A real ServiceAccount token bound to the pod (TokenRequest), for projected token volumes."""
        request = {"apiVersion": "authentication.k8s.io/v1", "kind": "TokenRequest", "spec": {
            "audiences": audiences, "expirationSeconds": max(expiration, 600),
            "boundObjectRef": {"apiVersion": "v1", "kind": "Pod", "name": pod["metadata"]["name"],
                               "uid": pod["metadata"]["uid"]}}}
        answer = self.rest.post(f"/api/v1/namespaces/{namespace}/serviceaccounts/{account}/token", request)
        return answer["status"]["token"]

    def _on_network_event(self, _kind: str, _obj: dict) -> None:
        if self.services.synced.is_set() and self.slices.synced.is_set():
            with self._hosts_lock:  # two informer threads call this; the last write must be the newest view
                hosts = build_hosts(self.services.snapshot(), self.slices.snapshot(), self.pods.snapshot())
                write_atomically(self.hosts_file, hosts)
