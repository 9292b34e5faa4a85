"""Fixtures and helpers for running the real operator (`modelops operator`) against the test control plane.

The operator runs as a separate process under the ServiceAccount from manifests/rbac.yaml, with a
real token from the TokenRequest API, so RBAC is enforced exactly as in a cluster.
"""

from __future__ import annotations

import os
import sys
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import yaml
from support.controlplane import ControlPlane
from support.kuberest import KubeRest
from support.processes import OwnedProcess, free_port, start_process, wait_until

from modelops.workloads.data.synthetic import make_dataset, write_csv

ROOT = Path(__file__).resolve().parents[2]
MANIFESTS = ROOT / "manifests"
OPERATOR_NAMESPACE = "modelops-system"
OPERATOR_ACCOUNT = "modelops"
OPERATOR_USER = f"system:serviceaccount:{OPERATOR_NAMESPACE}:{OPERATOR_ACCOUNT}"
MODELOPS = str(Path(sys.executable).with_name("modelops"))


@pytest.fixture(scope="session")
def operator_kubeconfig(control_plane: ControlPlane) -> Path:
    """Apply manifests/rbac.yaml and return a kubeconfig authenticating as the operator's ServiceAccount."""
    control_plane.apply_manifest(MANIFESTS / "rbac.yaml")
    wait_until(lambda: control_plane.rest.get(
        f"/api/v1/namespaces/{OPERATOR_NAMESPACE}/serviceaccounts/{OPERATOR_ACCOUNT}"), 30, 0.1,
        "the operator ServiceAccount")
    return control_plane.serviceaccount_kubeconfig(OPERATOR_NAMESPACE, OPERATOR_ACCOUNT)


class RunningOperator:
    def __init__(self, process: OwnedProcess, metrics_port: int, liveness_port: int) -> None:
        self.process = process
        self.metrics_port = metrics_port
        self.liveness_port = liveness_port

    def metrics(self) -> str:
        with urllib.request.urlopen(f"http://127.0.0.1:{self.metrics_port}/metrics", timeout=5) as response:
            return response.read().decode()

    def healthy(self) -> bool:
        with urllib.request.urlopen(f"http://127.0.0.1:{self.liveness_port}/healthz", timeout=5) as response:
            return response.status == 200


@pytest.fixture
def start_operator(operator_kubeconfig: Path, tmp_path: Path) -> Iterator[Callable[..., RunningOperator]]:
    """Start `modelops operator` (possibly several times, e.g. after a kill); all stopped at teardown."""
    started: list[RunningOperator] = []

    def start(namespace: str, *extra: str) -> RunningOperator:
        metrics_port, liveness_port = free_port(), free_port()
        argv = [MODELOPS, "operator", "--kubeconfig", str(operator_kubeconfig), "--namespace", namespace,
                "--metrics-host", "127.0.0.1", "--metrics-port", str(metrics_port),
                "--liveness", f"http://127.0.0.1:{liveness_port}/healthz",
                "--workers", "8", *extra]
        env = {**os.environ, "PYTHONUNBUFFERED": "1"}
        process = start_process(f"operator-{len(started)}", argv, tmp_path / f"operator-{len(started)}.log", env=env)
        running = RunningOperator(process, metrics_port, liveness_port)
        started.append(running)

        def ready() -> bool:
            if not process.alive():
                raise RuntimeError(f"operator exited:\n{process.log_tail()}")
            return running.healthy()

        wait_until(ready, 60, 0.2, "the operator's liveness endpoint")
        return running

    yield start
    for running in started:
        running.process.stop(grace_seconds=10)
    for running in started:
        print(f"--- {running.process.name} log tail ---\n{running.process.log_tail(6000)}")


def write_datasets(directory: Path, shift: float = 0.0, names: tuple[str, ...] = (
        "train", "validation", "live", "recent"), noise: float = 0.0, seed: int = 1, rows: int = 400) -> None:
    """Generated binary-classification CSVs on the model volume (the PVC's host directory)."""
    for offset, name in enumerate(names):
        x, y, features = make_dataset("binary-classification", rows, 4, seed + offset, shift=shift, noise=noise)
        write_csv(directory / f"{name}.csv", x, y, features)


def model_deployment(name: str, namespace: str, **overrides: object) -> dict:
    """A small, fast ModelDeployment on datasets written by `write_datasets`."""
    doc = yaml.safe_load(f"""
apiVersion: modelops.dev/v1alpha1
kind: ModelDeployment
metadata: {{name: {name}, namespace: {namespace}}}
spec:
  task: binary-classification
  storage: {{persistentVolumeClaim: models, mountPath: /models}}
  training:
    dataset: {{uri: /models/datasets/train.csv}}
    model: {{hiddenLayers: [8]}}
    hyperparameters: {{epochs: 10, batchSize: 32, learningRate: 0.05, validationSplit: 0.0,
                      earlyStopping: {{enabled: false}}}}
    backoffLimit: 0
    activeDeadlineSeconds: 600
  validation:
    dataset: {{uri: /models/datasets/validation.csv}}
    gates:
      - {{metric: accuracy, min: 0.8, maxRegression: 0.05}}
  serving: {{replicas: 1}}
""")
    for path, value in overrides.items():
        target = doc["spec"]
        *parents, leaf = path.split(".")
        for key in parents:
            target = target.setdefault(key, {})
        target[leaf] = value
    return doc


def mdep_path(namespace: str, name: str = "") -> str:
    return f"/apis/modelops.dev/v1alpha1/namespaces/{namespace}/modeldeployments" + (f"/{name}" if name else "")


def jobs_of(rest: KubeRest, namespace: str, name: str) -> list[dict]:
    return rest.get(f"/apis/batch/v1/namespaces/{namespace}/jobs",
                    labelSelector=f"modelops.dev/deployment={name}")["items"]


def status_of(rest: KubeRest, namespace: str, name: str) -> dict:
    return rest.get(mdep_path(namespace, name)).get("status") or {}


def wait_status(rest: KubeRest, namespace: str, name: str, predicate: Callable[[dict], object], timeout: float,
                what: str) -> dict:
    """Poll the ModelDeployment's status until `predicate(status)`; the last status is in the error."""
    last: dict = {}

    def check() -> dict | None:
        nonlocal last
        last = status_of(rest, namespace, name)
        return last if predicate(last) else None

    try:
        return wait_until(check, timeout, 0.25, what)
    except TimeoutError as error:
        summary = {k: last.get(k) for k in ("phase", "message", "servingVersion", "candidateVersion", "stage",
                                            "versions", "lastEvaluation")}
        raise TimeoutError(f"{error}; last status: {summary}") from None


def events_of(rest: KubeRest, namespace: str, name: str) -> list[dict]:
    return rest.get(f"/api/v1/namespaces/{namespace}/events",
                    fieldSelector=f"involvedObject.name={name}")["items"]


def printer_row(rest: KubeRest, namespace: str, name: str) -> dict[str, object]:
    """`kubectl get mdep` as the API server renders it (Table from additionalPrinterColumns)."""
    response = rest._pool.request(  # the Table content type needs its own Accept header
        "GET", rest.server + mdep_path(namespace, name),
        headers={**rest._headers, "Accept": "application/json;as=Table;v=v1;g=meta.k8s.io"})
    table = yaml.safe_load(response.data.decode())
    columns = [c["name"] for c in table["columnDefinitions"]]
    (row,) = table["rows"]
    return dict(zip(columns, row["cells"], strict=True))
