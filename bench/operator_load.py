# ruff: noqa: E402 - the tests/ support imports must follow the sys.path line below
"""Benchmark the Kubernetes operator on the real test control plane (no pod runner: pods never run).

1. Baseline: one bare client (the operator's own JSON transport) does, for every object, exactly the
   writes that take a ModelDeployment to Training, with no decisions and no watches: create the
   ModelDeployment (the user's apply), create its training Job (the operator's builder), patch its status,
   post its Event. Sequential, timed.
2. Operator: `modelops operator` runs under its ServiceAccount; N ModelDeployments are applied (one client,
   back to back); we time from the first apply until every one has its training Job (seen on a watch).
   ratio = operator time / baseline time: the same requests on the same API server, so the ratio is what
   the operator's machinery (watch, decisions, its own extra requests) costs.
3. Requests per ModelDeployment: the API server's own `apiserver_request_total` (by verb, resource,
   subresource) scraped before and after the operator run. The metric has no user label, so the
   window's other clients are subtracted, each from evidence: this script's N creates; the Job
   controller's pods and Job status writes (resources only it touches); Events: the controllers post them too,
   in this namespace and others (the metric has no namespace label either; all POSTs answered 201), so
   the operator's Event requests are its Event objects in the namespace (one POST each, `count - 1`
   PATCHes), never more than the metric's total; the garbage collector's GETs of ModelDeployments
   (it verifies the owner of a new Job when its informer has not seen the owner yet) — the operator only
   GETs a ModelDeployment after a 409 on its status write, and it logs each of those, so that many GETs
   are counted back as its own; the API server's admission LIST of limitranges. Watches are not counted
   (long-lived, opened before the window).
4. Transition latency: for a sample of deployments this script plays kubelet for the training pod
   (marks it Succeeded with a train result as its termination message); the real Job controller
   completes the Job, and we time Job Complete (seen on our watch) → validation Job created (seen on
   the same watch). p50 over the sample.
5. Operator peak RSS from /proc/<pid>/status (VmHWM).
Last line: `ratio=<x> rss_mb=<x> requests_per_md=<x> transition_p50_ms=<x>`.

(The file is not called operator.py: `python bench/operator.py` would put bench/ first on sys.path and
that file would shadow the standard library's `operator` module for everything the script imports.)
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import threading
import time
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))

from support.apiserver_metrics import Key, delta, describe, request_totals
from support.controlplane import ControlPlane
from support.kuberest import KubeRest
from support.processes import free_port, start_process, wait_until

from modelops.kube.builders.common import Owner
from modelops.kube.builders.jobs import build_stage_job
from modelops.kube.client import KubeApi, load_api_client
from modelops.kube.events import build_event

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


def baseline(plane: ControlPlane, count: int) -> float:
    """Seconds for one bare client to make `count` ModelDeployments reach Training by hand (create it,
    its Job, its status, its Event)."""
    namespace = new_namespace(plane.rest, "bench-bare")
    api = KubeApi(load_api_client(str(plane.kubeconfig)))
    documents = [model_deployment(f"m{index:04d}", namespace) for index in range(count)]
    spec = model_deployment("x", namespace)["spec"]
    spec["training"].update(image="worker:bench", backoffLimit=0, activeDeadlineSeconds=600, resources={})
    spec["storage"]["mountPath"] = "/models"
    config = {"stage": "train", "version": 1, "storageRoot": "/models", "dataset": spec["training"]["dataset"]}
    before = request_totals(plane.rest)
    start = time.perf_counter()
    for document in documents:
        created = api.create(document)
        owner = Owner.from_body(created)
        api.create(build_stage_job(owner, spec, "train", 1, "train-v1", config=config))
        api.patch("ModelDeployment", namespace, owner.name, {"status": {"phase": "Training", "observedGeneration": 1}},
                  subresource="status")
        api.create(build_event(created, "Normal", "TrainingStarted", "training version 1 (bench baseline)"))
    seconds = time.perf_counter() - start
    # Let the Job controller make every pod (and post its Events) so it neither loads the operator's run
    # nor leaks into its request window.
    wait_until(lambda: len(plane.rest.get(f"/api/v1/namespaces/{namespace}/pods")["items"]) >= count, 600, 0.5,
               "the baseline Jobs' pods")
    time.sleep(2)
    print(f"baseline window requests: {describe(delta(request_totals(plane.rest), before))}", flush=True)
    return seconds


def operator_requests(window: Counter[Key], count: int, events: list[dict], rereads: int) -> Counter[Key]:
    """The window's requests that are the operator's: see point 3 of the module docstring."""
    ours: Counter[Key] = Counter()
    for (verb, resource, sub), n in window.items():
        if verb in ("WATCH", "CONNECT", "") or resource in OTHERS or (resource, sub) == ("jobs", "status"):
            continue
        ours[(verb, resource, sub)] = n
    ours[("POST", "modeldeployments", "")] -= count  # this script's applies
    mine = [e for e in events if (e.get("source") or {}).get("component") == "modelops-operator"]
    ours[("POST", "events", "")] = min(ours[("POST", "events", "")], len(mine))
    ours[("PATCH", "events", "")] = min(ours[("PATCH", "events", "")], sum(int(e.get("count") or 1) - 1 for e in mine))
    ours[("GET", "modeldeployments", "")] = min(ours[("GET", "modeldeployments", "")], rereads)  # vs the GC's
    return Counter({key: n for key, n in ours.items() if n > 0})


# Touched in the window by the Job controller and the API server's own bookkeeping, never by the operator
# on the way to Training (it reads a pod only when a stage finishes).
OTHERS = {"pods", "leases", "nodes", "endpoints", "endpointslices", "namespaces", "serviceaccounts",
          "subjectaccessreviews", "tokenreviews", "limitranges", ""}


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
    parser.add_argument("--count", type=int, default=100,
                        help="ModelDeployments (default: %(default)s, CI-sized; the documented figure is 1000)")
    parser.add_argument("--transitions", type=int, default=20, help="sampled Job→next-stage transitions")
    parser.add_argument("--timeout", type=float, default=1200)
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
        print(f"baseline: {args.count} ModelDeployments taken to Training by a bare client (4 requests each) in "
              f"{bare_seconds:.2f}s", flush=True)

        namespace = new_namespace(plane.rest, "bench-operator")
        liveness = free_port()
        operator = start_process("operator", [
            MODELOPS, "operator", "--kubeconfig", str(kubeconfig), "--namespace", namespace, "--metrics-port", "0",
            "--liveness", f"http://127.0.0.1:{liveness}/healthz"], plane.root / "logs" / "operator.log")
        wait_until(lambda: __import__("urllib.request").request.urlopen(
            f"http://127.0.0.1:{liveness}/healthz", timeout=2).status == 200, 60, 0.2, "operator liveness")
        watch = JobWatch(plane.rest, namespace)
        watch.start()
        time.sleep(2)  # the operator's watches are open and its start-up listing is done
        processes = {p.name: p.pid for p in plane.processes} | {"operator": operator.pid}
        cpu_before = cpu_snapshot(processes)
        requests_before = request_totals(plane.rest)
        codes_before = request_totals(plane.rest, by_code=True)
        documents = [model_deployment(f"m{index:04d}", namespace) for index in range(args.count)]
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
        wait_until(lambda: len(plane.rest.get(f"/api/v1/namespaces/{namespace}/pods")["items"]) >= args.count,
                   args.timeout, 0.5, "the training Jobs' pods")
        time.sleep(3)  # the last Events and any follow-up the operator would (wrongly) make
        window = delta(request_totals(plane.rest), requests_before)
        codes = delta(request_totals(plane.rest, by_code=True), codes_before)
        print("Event requests by code: " + describe(Counter({k: n for k, n in codes.items() if k[1] == "events"})),
              flush=True)
        events = plane.rest.get(f"/api/v1/namespaces/{namespace}/events")["items"]
        foreign = sum(1 for e in events if (e.get("source") or {}).get("component") != "modelops-operator")
        rereads = operator.log_path.read_text(errors="replace").count("changed under our decision")
        print(f"Events in the namespace: {len(events)}, not the operator's: {foreign}; operator re-reads: {rereads}",
              flush=True)
        ours = operator_requests(window, args.count, events, rereads)
        per_md = sum(ours.values()) / args.count
        print(f"operator window requests (all clients): {describe(window)}", flush=True)
        print(f"operator's requests: {describe(ours)}", flush=True)

        # transitions: sequentially, so each latency is measured on an otherwise quiet operator
        latencies = []
        sample = [d["metadata"]["name"] for d in documents[: args.transitions]]
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
        print(f"ratio={operator_seconds / bare_seconds:.2f} rss_mb={rss:.0f} requests_per_md={per_md:.2f} "
              f"transition_p50_ms={p50:.0f}")
        return 0
    finally:
        if operator is not None:
            operator.stop(grace_seconds=10)
            report_operator_log(operator.log_path)
        plane.cleanup()


def report_operator_log(path: Path) -> None:
    """Warnings and errors of the operator (conflicts, retries) before the control plane's files go."""
    lines = [line for line in path.read_text(errors="replace").splitlines()
             if " WARNING " in line or " ERROR " in line or "changed under our decision" in line]
    print(f"operator log: {len(lines)} warning/error/conflict lines" + "".join(f"\n  {x}" for x in lines[:15]),
          file=sys.stderr, flush=True)


if __name__ == "__main__":
    sys.exit(main())
