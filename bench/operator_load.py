# ruff: noqa: E402 - the tests/ support imports must follow the sys.path line below
"""Benchmark the Kubernetes operator on the real test control plane (no pod runner: pods never run).

1. Baseline: one bare client (the same JSON transport the operator uses) creates N training Jobs, one
   after another, from the operator's own builder — the least work that puts N Jobs in the cluster.
2. Operator: `modelops operator` runs under its ServiceAccount; N ModelDeployments are applied at once
   (sequentially by one client, as fast as it can); we time from the first apply until every one has
   its training Job. ratio = operator time / baseline time.
3. Transition latency: for a sample of deployments this script plays kubelet for the training pod
   (marks it Succeeded with a train result as its termination message); the real Job controller
   completes the Job, and we time Job Complete (seen on our watch) → validation Job created (seen on
   the same watch). p50 over the sample.
4. Operator peak RSS from /proc/<pid>/status (VmHWM).
Last line: `ratio=<x> rss_mb=<x> transition_p50_ms=<x>`.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))

from support.controlplane import ControlPlane
from support.kuberest import KubeRest
from support.processes import free_port, start_process, wait_until

from modelops.kube.builders.common import Owner
from modelops.kube.builders.jobs import build_stage_job
from modelops.kube.client import KubeApi, load_api_client

MODELOPS = str(Path(sys.executable).with_name("modelops"))


def model_deployment(name: str, namespace: str) -> dict:
    return {
        "apiVersion": "modelops.dev/v1alpha1", "kind": "ModelDeployment",
        "metadata": {"name": name, "namespace": namespace},
        "spec": {
            "task": "binary-classification",
            "storage": {"persistentVolumeClaim": "models"},
            "training": {"dataset": {"uri": "/models/train.csv"}, "hyperparameters": {"epochs": 2}},
            "validation": {"dataset": {"uri": "/models/validation.csv"},
                           "gates": [{"metric": "accuracy", "min": 0.5}]},
        },
    }


def new_namespace(rest: KubeRest, name: str) -> str:
    rest.post("/api/v1/namespaces", {"metadata": {"name": name}})
    wait_until(lambda: rest.get(f"/api/v1/namespaces/{name}/serviceaccounts/default"), 60, 0.1, "default SA")
    return name


def count_jobs(rest: KubeRest, namespace: str, stage: str) -> int:
    return len(rest.get(f"/apis/batch/v1/namespaces/{namespace}/jobs",
                        labelSelector=f"modelops.dev/stage={stage}")["items"])


def baseline(plane: ControlPlane, count: int) -> float:
    """Seconds for one bare client to create `count` Jobs sequentially."""
    namespace = new_namespace(plane.rest, "bench-bare")
    api = KubeApi(load_api_client(str(plane.kubeconfig)))
    spec = model_deployment("x", namespace)["spec"]
    spec["training"].update(image="worker:bench", backoffLimit=0, activeDeadlineSeconds=600, resources={})
    spec["storage"]["mountPath"] = "/models"
    jobs = []
    for index in range(count):
        job = build_stage_job(Owner(f"bare-{index}", namespace, "uid"), spec, "train", 1, "train-v1")
        del job["metadata"]["ownerReferences"]  # no real owner: the GC would delete them
        jobs.append(job)
    start = time.perf_counter()
    for job in jobs:
        api.create(job)
    return time.perf_counter() - start


class JobWatch:
    """Local timestamps of Job events, from one watch stream (same clock for both ends of a transition)."""

    def __init__(self, rest: KubeRest, namespace: str) -> None:
        self.rest, self.namespace = rest, namespace
        self.completed: dict[str, float] = {}
        self.added: dict[str, float] = {}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def start(self) -> None:
        version = self.rest.get(f"/apis/batch/v1/namespaces/{self.namespace}/jobs")["metadata"]["resourceVersion"]
        self._version = version
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.is_set():
            for event in self.rest.watch(f"/apis/batch/v1/namespaces/{self.namespace}/jobs", self._version, 30):
                job = event.get("object") or {}
                now = time.perf_counter()
                self._version = job.get("metadata", {}).get("resourceVersion", self._version)
                name = job.get("metadata", {}).get("name", "")
                if event.get("type") == "ADDED":
                    self.added.setdefault(name, now)
                conditions = (job.get("status") or {}).get("conditions") or []
                if any(c["type"] == "Complete" and c["status"] == "True" for c in conditions):
                    self.completed.setdefault(name, now)
                if self._stop.is_set():
                    return

    def stop(self) -> None:
        self._stop.set()


def finish_training_pod(rest: KubeRest, namespace: str, job_name: str) -> None:
    """Play kubelet: the Job's pod succeeded and left a train result as its termination message."""
    pods = rest.get(f"/api/v1/namespaces/{namespace}/pods", labelSelector=f"job-name={job_name}")["items"]
    (pod,) = pods
    stamp = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
    message = json.dumps({"stage": "train", "version": 1, "metrics": {"loss": 0.3, "accuracy": 0.9}})
    status = {"phase": "Succeeded", "startTime": stamp, "conditions": [
        {"type": "Ready", "status": "False", "reason": "PodCompleted", "lastTransitionTime": stamp}],
        "containerStatuses": [{
            "name": "worker", "image": "worker:bench", "imageID": "", "ready": False, "restartCount": 0,
            "started": False, "state": {"terminated": {"exitCode": 0, "reason": "Completed", "message": message,
                                                       "startedAt": stamp, "finishedAt": stamp}}}]}
    rest.patch(f"/api/v1/namespaces/{namespace}/pods/{pod['metadata']['name']}/status", {"status": status},
               content_type="application/merge-patch+json")


def cpu_seconds(pid: int) -> float:
    """utime + stime of a process and its reaped children (from /proc/<pid>/stat)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return sum(int(value) for value in fields[11:15]) / os.sysconf("SC_CLK_TCK")


def cpu_snapshot(processes: dict[str, int]) -> dict[str, float]:
    return {name: cpu_seconds(pid) for name, pid in processes.items()}


def peak_rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=200, help="ModelDeployments (default: %(default)s)")
    parser.add_argument("--transitions", type=int, default=20, help="sampled Job→next-stage transitions")
    parser.add_argument("--timeout", type=float, default=600)
    args = parser.parse_args()

    plane = ControlPlane.start()
    operator = None
    try:
        plane.apply_manifest(ROOT / "manifests" / "crd.yaml")
        plane.apply_manifest(ROOT / "manifests" / "rbac.yaml")
        wait_until(lambda: plane.rest.get("/api/v1/namespaces/modelops-system/serviceaccounts/modelops"), 60, 0.1,
                   "operator ServiceAccount")
        kubeconfig = plane.serviceaccount_kubeconfig("modelops-system", "modelops")
        bare_seconds = baseline(plane, args.count)
        print(f"baseline: {args.count} Jobs by a bare client in {bare_seconds:.2f}s", flush=True)
        # Let the Job controller finish the baseline's pods so they do not load the operator's run.
        wait_until(lambda: len(plane.rest.get("/api/v1/namespaces/bench-bare/pods")["items"]) >= args.count,
                   args.timeout, 0.5, "the baseline Jobs' pods")

        namespace = new_namespace(plane.rest, "bench-operator")
        liveness = free_port()
        operator = start_process("operator", [
            MODELOPS, "operator", "--kubeconfig", str(kubeconfig), "--namespace", namespace, "--metrics-port", "0",
            "--liveness", f"http://127.0.0.1:{liveness}/healthz"], plane.root / "logs" / "operator.log")
        wait_until(lambda: __import__("urllib.request").request.urlopen(
            f"http://127.0.0.1:{liveness}/healthz", timeout=2).status == 200, 60, 0.2, "operator liveness")
        watch = JobWatch(plane.rest, namespace)
        watch.start()
        processes = {p.name: p.pid for p in plane.processes} | {"operator": operator.pid}
        cpu_before = cpu_snapshot(processes)
        documents = [model_deployment(f"m{index:03d}", namespace) for index in range(args.count)]
        path = f"/apis/modelops.dev/v1alpha1/namespaces/{namespace}/modeldeployments"
        start = time.perf_counter()
        for document in documents:
            plane.rest.post(path, document)
        applied = time.perf_counter() - start
        wait_until(lambda: len([n for n in watch.added if n.endswith("-train-v1")]) >= args.count, args.timeout,
                   0.05, f"{args.count} training Jobs")
        operator_seconds = max(t for n, t in watch.added.items() if n.endswith("-train-v1")) - start
        print(f"operator: {args.count} ModelDeployments applied in {applied:.2f}s, all training Jobs after "
              f"{operator_seconds:.2f}s", flush=True)
        cpu_after = cpu_snapshot(processes)
        print("cpu seconds during the operator run: " + ", ".join(
            f"{name}={cpu_after[name] - cpu_before[name]:.1f}" for name in processes), flush=True)

        # transitions: sequentially, so each latency is measured on an otherwise quiet operator
        latencies = []
        sample = [d["metadata"]["name"] for d in documents[: args.transitions]]
        wait_until(lambda: count_jobs(plane.rest, namespace, "train") >= args.count, 60, 0.2, "jobs listed")
        for name in sample:
            wait_until(lambda n=name: plane.rest.get(f"/api/v1/namespaces/{namespace}/pods",
                                                     labelSelector=f"job-name={n}-train-v1")["items"],
                       60, 0.05, f"pod of {name}-train-v1")
            finish_training_pod(plane.rest, namespace, f"{name}-train-v1")
            wait_until(lambda n=name: f"{n}-validate-v1" in watch.added and f"{n}-train-v1" in watch.completed,
                       60, 0.01, f"{name}: validation Job")
            latencies.append((watch.added[f"{name}-validate-v1"] - watch.completed[f"{name}-train-v1"]) * 1000)
        watch.stop()
        rss = peak_rss_mb(operator.pid)
        p50 = statistics.median(latencies)
        print(f"transition latency ms: p50={p50:.1f} max={max(latencies):.1f} n={len(latencies)}", flush=True)
        print(f"ratio={operator_seconds / bare_seconds:.2f} rss_mb={rss:.0f} transition_p50_ms={p50:.0f}")
        return 0
    finally:
        if operator is not None:
            operator.stop(grace_seconds=10)
        plane.cleanup()


if __name__ == "__main__":
    sys.exit(main())
