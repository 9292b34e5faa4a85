"""A real Kubernetes control plane on loopback: etcd + kube-apiserver + kube-controller-manager.

The binaries are built from Go modules by scripts/build-controlplane.sh (cached outside git). Every
component listens on a free 127.0.0.1 port, so parallel sessions on this machine do not collide, and
`stop()` ends only the processes started here.
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
import subprocess
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from support.kuberest import KubeRest
from support.pki import Pki, make_pki
from support.processes import OwnedProcess, free_port, start_process, wait_until

REPO_ROOT = Path(__file__).resolve().parents[2]
BUILD_SCRIPT = REPO_ROOT / "scripts" / "build-controlplane.sh"
SERVICE_CIDR = "10.0.0.0/24"

# Controllers the operator relies on. Node lifecycle, pod GC, scheduling and cloud/volume controllers
# stay off: the pod runner is the only "node" and it keeps its own Node Ready.
CONTROLLERS = (
    "job-controller",
    "cronjob-controller",
    "deployment-controller",
    "replicaset-controller",
    "garbage-collector-controller",
    "endpoints-controller",
    "endpointslice-controller",
    "endpointslice-mirroring-controller",
    "namespace-controller",
    "serviceaccount-controller",
    "ttl-after-finished-controller",
    "disruption-controller",
    "horizontal-pod-autoscaler-controller",
    "root-ca-certificate-publisher-controller",
    "clusterrole-aggregation-controller",
)


# What ServiceAccounts (the operator's identity in tests) ask of the API server, URI and verb only: tests
# read it to check the operator's watches carry label selectors and its verbs stay within its RBAC.
# ResponseStarted is kept: a watch's only event until its stream ends.
AUDIT_POLICY = {
    "apiVersion": "audit.k8s.io/v1", "kind": "Policy", "omitStages": ["RequestReceived"],
    "rules": [{"level": "Metadata", "userGroups": ["system:serviceaccounts"]}, {"level": "None"}],
}


def build_binaries() -> Path:
    """Run the (idempotent) build script and return the bin dir it prints last."""
    result = subprocess.run([str(BUILD_SCRIPT)], capture_output=True, text=True, check=False)
    if result.returncode != 0:
        raise RuntimeError(f"{BUILD_SCRIPT} failed (exit {result.returncode}):\n{result.stderr[-4000:]}")
    return Path(result.stdout.strip().splitlines()[-1])


def _kubeconfig_dict(server: str, ca_cert: Path, user: dict, context_name: str) -> dict:
    return {
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [{"name": "modelops-test", "cluster": {"server": server, "certificate-authority": str(ca_cert)}}],
        "users": [{"name": context_name, "user": user}],
        "contexts": [{"name": context_name, "context": {"cluster": "modelops-test", "user": context_name}}],
        "current-context": context_name,
    }


@dataclass
class ControlPlane:
    """A running control plane; build it with `ControlPlane.start()`."""

    root: Path
    bin_dir: Path
    server: str
    kubeconfig: Path
    pki: Pki
    admin_token: str
    processes: list[OwnedProcess] = field(default_factory=list)
    _rest: KubeRest | None = field(default=None, repr=False)

    # ---- starting and stopping -------------------------------------------------------------------
    @classmethod
    def start(cls, bin_dir: Path | None = None, root: Path | None = None, timeout: float = 120.0) -> ControlPlane:
        bin_dir = bin_dir or build_binaries()
        for binary in ("etcd", "kube-apiserver", "kube-controller-manager"):
            if not os.access(bin_dir / binary, os.X_OK):
                raise FileNotFoundError(f"control plane binary missing: {bin_dir / binary}")
        root = root or Path(tempfile.mkdtemp(prefix="modelops-cp-"))
        pki = make_pki(root / "pki")
        admin_token = secrets.token_hex(16)
        (root / "tokens.csv").write_text(f'{admin_token},admin,admin-uid,"system:masters"\n')
        port = free_port()
        server = f"https://127.0.0.1:{port}"
        kubeconfig = root / "admin.kubeconfig"
        kubeconfig.write_text(yaml.safe_dump(_kubeconfig_dict(server, pki.ca_cert, {"token": admin_token}, "admin")))
        plane = cls(root=root, bin_dir=bin_dir, server=server, kubeconfig=kubeconfig, pki=pki, admin_token=admin_token)
        try:
            plane._start_etcd(timeout)
            plane._start_apiserver(port, timeout)
            plane._start_controller_manager()
            plane._wait_for_default_serviceaccount(timeout)
        except BaseException:
            plane.stop()
            raise
        return plane

    def _launch(self, name: str, argv: list[str]) -> OwnedProcess:
        process = start_process(name, argv, self.root / "logs" / f"{name}.log", cwd=self.root)
        self.processes.append(process)
        return process

    def _start_etcd(self, timeout: float) -> None:
        client, peer = free_port(), free_port()
        self.etcd_url = f"http://127.0.0.1:{client}"
        etcd = self._launch("etcd", [
            str(self.bin_dir / "etcd"), "--name=default", f"--data-dir={self.root / 'etcd'}",
            f"--listen-client-urls={self.etcd_url}", f"--advertise-client-urls={self.etcd_url}",
            f"--listen-peer-urls=http://127.0.0.1:{peer}", f"--initial-advertise-peer-urls=http://127.0.0.1:{peer}",
            f"--initial-cluster=default=http://127.0.0.1:{peer}", "--unsafe-no-fsync", "--log-level=warn",
        ])
        wait_until(lambda: self._http_ok(f"{self.etcd_url}/health", etcd), timeout, 0.2, "etcd /health")

    def _start_apiserver(self, port: int, timeout: float) -> None:
        self.audit_log = self.root / "logs" / "audit.jsonl"
        policy = self.root / "audit-policy.yaml"
        policy.write_text(yaml.safe_dump(AUDIT_POLICY))
        apiserver = self._launch("kube-apiserver", [
            str(self.bin_dir / "kube-apiserver"),
            f"--etcd-servers={self.etcd_url}", "--bind-address=127.0.0.1", "--advertise-address=127.0.0.1",
            f"--secure-port={port}", f"--tls-cert-file={self.pki.serving_cert}",
            f"--tls-private-key-file={self.pki.serving_key}", f"--client-ca-file={self.pki.ca_cert}",
            f"--token-auth-file={self.root / 'tokens.csv'}", "--authorization-mode=RBAC",
            f"--service-cluster-ip-range={SERVICE_CIDR}",
            "--service-account-issuer=https://kubernetes.default.svc.cluster.local",
            f"--service-account-key-file={self.pki.sa_public_key}",
            f"--service-account-signing-key-file={self.pki.sa_private_key}",
            "--api-audiences=https://kubernetes.default.svc.cluster.local",
            "--enable-priority-and-fairness=false", "--profiling=false", "--allow-privileged=true",
            "--endpoint-reconciler-type=none", "--v=1",
            f"--audit-policy-file={policy}", f"--audit-log-path={self.audit_log}", "--audit-log-format=json",
        ])
        wait_until(lambda: self._http_ok(f"{self.server}/readyz", apiserver), timeout, 0.25, "kube-apiserver /readyz")

    def _start_controller_manager(self) -> None:
        self._launch("kube-controller-manager", [
            str(self.bin_dir / "kube-controller-manager"),
            f"--kubeconfig={self.kubeconfig}", "--leader-elect=false", "--secure-port=0",
            f"--controllers={','.join(CONTROLLERS)}", f"--root-ca-file={self.pki.ca_cert}",
            f"--service-account-private-key-file={self.pki.sa_private_key}",
            "--use-service-account-credentials=false", "--concurrent-gc-syncs=5", "--v=1",
        ])

    def _wait_for_default_serviceaccount(self, timeout: float) -> None:
        # Pods cannot be created in a namespace until its "default" ServiceAccount exists.
        wait_until(lambda: self.rest.get("/api/v1/namespaces/default/serviceaccounts/default"), timeout, 0.25,
                   "the serviceaccount controller to create default/default")

    @property
    def rest(self) -> KubeRest:
        """Admin JSON client (raw dicts) used by the fixtures themselves."""
        if self._rest is None:
            self._rest = KubeRest(self.server, self.admin_token, str(self.pki.ca_cert))
        return self._rest

    def _http_ok(self, url: str, process: OwnedProcess) -> bool:
        import urllib.request

        if not process.alive():
            raise RuntimeError(f"{process.name} exited with {process.popen.returncode}:\n{process.log_tail()}")
        request = urllib.request.Request(url, headers={"Authorization": f"Bearer {self.admin_token}"})
        import ssl

        context = ssl.create_default_context(cafile=str(self.pki.ca_cert))
        with urllib.request.urlopen(request, timeout=2, context=context if url.startswith("https") else None) as r:
            return r.status == 200

    def stop(self) -> None:
        """Stop our components, newest first; leaves the root dir (logs) unless it is ours to clean."""
        for process in reversed(self.processes):
            # Short grace: the API server would otherwise wait on clients' open watches; data is throwaway.
            process.stop(grace_seconds=3)
        self.processes.clear()

    def cleanup(self) -> None:
        self.stop()
        if not os.environ.get("MODELOPS_KEEP_CLUSTER_DIR"):
            shutil.rmtree(self.root, ignore_errors=True)

    # ---- clients and credentials -----------------------------------------------------------------
    def api_client(self, as_user: str | None = None):
        """A kubernetes.client.ApiClient with admin credentials, optionally impersonating `as_user`.

        Impersonating `system:serviceaccount:<ns>:<name>` makes the API server add the ServiceAccount
        groups itself, so RBAC bindings to those groups apply too.
        """
        from kubernetes import client, config

        configuration = client.Configuration()
        config.load_kube_config(config_file=str(self.kubeconfig), client_configuration=configuration)
        api = client.ApiClient(configuration)
        if as_user:
            api.set_default_header("Impersonate-User", as_user)
        return api

    def impersonation_kubeconfig(self, namespace: str, service_account: str, path: Path | None = None) -> Path:
        """Kubeconfig with admin credentials impersonating the ServiceAccount (`as:`).

        client-go/kubectl honour `as:`; the Python `kubernetes` client (and so kopf) ignores it —
        use `serviceaccount_kubeconfig` for those.
        """
        user_name = f"system:serviceaccount:{namespace}:{service_account}"
        path = path or self.root / f"impersonate-{namespace}-{service_account}.kubeconfig"
        user = {"token": self.admin_token, "as": user_name}
        path.write_text(yaml.safe_dump(_kubeconfig_dict(self.server, self.pki.ca_cert, user, user_name)))
        return path

    def serviceaccount_kubeconfig(
        self, namespace: str, service_account: str, path: Path | None = None, expiration_seconds: int = 3600 * 6
    ) -> Path:
        """Kubeconfig authenticating AS the ServiceAccount with a real token from the TokenRequest API.

        Works with every client (including kopf); RBAC applies exactly as in a cluster.
        """
        request = {"apiVersion": "authentication.k8s.io/v1", "kind": "TokenRequest",
                   "spec": {"audiences": [], "expirationSeconds": expiration_seconds}}
        answer = self.rest.post(f"/api/v1/namespaces/{namespace}/serviceaccounts/{service_account}/token", request)
        token = answer["status"]["token"]
        user_name = f"system:serviceaccount:{namespace}:{service_account}"
        path = path or self.root / f"sa-{namespace}-{service_account}.kubeconfig"
        path.write_text(yaml.safe_dump(_kubeconfig_dict(self.server, self.pki.ca_cert, {"token": token}, user_name)))
        return path

    # ---- manifests --------------------------------------------------------------------------------
    def resource_path(self, api_version: str, kind: str, namespace: str | None, name: str | None = None) -> str:
        """REST path of a kind, found through discovery (so CRDs work the same as built-ins)."""
        base = f"/api/{api_version}" if "/" not in api_version else f"/apis/{api_version}"
        for resource in self.rest.get(base)["resources"]:
            if resource["kind"] == kind and "/" not in resource["name"]:
                scope = f"/namespaces/{namespace or 'default'}" if resource["namespaced"] else ""
                return f"{base}{scope}/{resource['name']}" + (f"/{name}" if name else "")
        raise LookupError(f"the API server does not serve kind {kind} in {api_version}")

    def apply_manifest(self, source: Path | str | list[dict], namespace: str | None = None) -> list[dict]:
        """Server-side apply every document of a YAML file (or dicts); waits for CRDs to be Established."""
        if isinstance(source, list):
            documents = source
        else:
            with open(source) as handle:
                documents = [doc for doc in yaml.safe_load_all(handle) if doc]
        applied = []
        for document in documents:
            metadata = document.get("metadata") or {}
            path = self.resource_path(document["apiVersion"], document["kind"],
                                      namespace or metadata.get("namespace"), metadata["name"])
            applied.append(self.rest.request(
                "PATCH", path, document, params={"fieldManager": "modelops-tests", "force": "true"},
                content_type="application/apply-patch+yaml"))
            if document["kind"] == "CustomResourceDefinition":
                self.wait_for_crd(metadata["name"])
        return applied

    def wait_for_crd(self, name: str, timeout: float = 30.0) -> None:
        path = f"/apis/apiextensions.k8s.io/v1/customresourcedefinitions/{name}"

        def established() -> bool:
            conditions = self.rest.get(path).get("status", {}).get("conditions", [])
            return any(c["type"] == "Established" and c["status"] == "True" for c in conditions)

        wait_until(established, timeout, 0.1, f"CRD {name} to be Established")
        crd = self.rest.get(path)["spec"]
        version = next(v["name"] for v in crd["versions"] if v["served"])
        served = f"/apis/{crd['group']}/{version}/{crd['names']['plural']}"
        wait_until(lambda: self.rest.get(served), 10, 0.1, f"{served} to be served")

    def audit_events(self, username: str | None = None) -> list[dict]:
        """Audit events so far (ServiceAccounts only, see AUDIT_POLICY), optionally of one user."""
        if not self.audit_log.exists():
            return []
        events = [json.loads(line) for line in self.audit_log.read_text().splitlines() if line.strip()]
        return [e for e in events if username is None or (e.get("user") or {}).get("username") == username]

    def logs(self) -> dict[str, str]:
        """Tail of each component's log, for failure reports."""
        return {p.name: p.log_tail() for p in self.processes}
