# ruff: noqa: E402 - the tests/ support imports must follow the sys.path line below
"""What unrelated objects cost a cluster-wide operator: watch traffic, CPU and memory, with and without
server-side label selectors on its child watches (the real test control plane, no pod runner).

Three rounds on one API server, each creating N ConfigMaps (1 KiB of data each) in a fresh namespace no
ModelDeployment lives in:
1. no operator: what the API server's other watchers (the controller manager's informers) receive;
2. `modelops operator --all-namespaces` with kopf's server-side selectors removed (the behaviour before
   issue #27: the handlers' `labels=` filters ran client-side, after every object had been sent);
3. the operator as shipped (label-selected watches, operator/modelops/kube/watches.py).
Traffic is the API server's own `apiserver_watch_events_total` and `apiserver_watch_events_sizes`
(events and bytes sent to watchers of configmaps), minus round 1's figure: what the operator received.
Operator CPU from /proc/<pid>/stat over the round; memory: VmRSS after the round and VmHWM (peak).
Last line: `unfiltered_events=<n> selected_events=<n> unfiltered_kib=<x> selected_kib=<x>
unfiltered_rss_mb=<x> selected_rss_mb=<x> unfiltered_cpu_s=<x> selected_cpu_s=<x>`.
"""

from __future__ import annotations

import argparse
import os
import re
import sys
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))

from support.controlplane import ControlPlane
from support.kuberest import KubeRest
from support.processes import OwnedProcess, free_port, start_process, wait_until

MODELOPS = str(Path(sys.executable).with_name("modelops"))
# The operator before #27, for comparison: the same code with kopf's server-side selectors switched off.
UNFILTERED = ("import sys, modelops.kube.settings as s; s.configure_watch_selectors = lambda k: None; "
              "from modelops.cli import main; sys.exit(main())")
_SAMPLE = re.compile(r'^(apiserver_watch_events_total|apiserver_watch_events_sizes_sum)\{([^}]*)\}\s+(\S+)$')


def watch_traffic(rest: KubeRest, resource: str = "configmaps") -> tuple[float, float]:
    """(events, bytes) the API server has sent to all watchers of `resource` so far."""
    events = size = 0.0
    for line in str(rest.get("/metrics").get("raw", "")).splitlines():
        match = _SAMPLE.match(line)
        if match and f'resource="{resource}"' in match.group(2):
            if match.group(1).endswith("_total"):
                events += float(match.group(3))
            else:
                size += float(match.group(3))
    return events, size


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return sum(int(value) for value in fields[11:13]) / os.sysconf("SC_CLK_TCK")


def memory_mb(pid: int, field: str) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(f"{field}:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def start_operator(plane: ControlPlane, kubeconfig: Path, mode: str) -> OwnedProcess:
    liveness = free_port()
    head = [MODELOPS] if mode == "selected" else [sys.executable, "-c", UNFILTERED]
    process = start_process(f"operator-{mode}", [
        *head, "operator", "--kubeconfig", str(kubeconfig), "--all-namespaces", "--metrics-port", "0",
        "--liveness", f"http://127.0.0.1:{liveness}/healthz"], plane.root / "logs" / f"operator-{mode}.log")
    wait_until(lambda: urllib.request.urlopen(f"http://127.0.0.1:{liveness}/healthz", timeout=2).status == 200,
               90, 0.2, f"operator ({mode}) liveness")
    time.sleep(3)  # its watches are open and its start-up listing is over
    return process


def create_unrelated(rest: KubeRest, namespace: str, count: int) -> None:
    rest.post("/api/v1/namespaces", {"metadata": {"name": namespace}})
    blob = "x" * 1024
    for index in range(count):
        rest.post(f"/api/v1/namespaces/{namespace}/configmaps",
                  {"metadata": {"name": f"cm-{index:04d}", "labels": {"app": "unrelated"}}, "data": {"blob": blob}})


def round_(plane: ControlPlane, kubeconfig: Path | None, mode: str, count: int) -> dict[str, float]:
    operator = start_operator(plane, kubeconfig, mode) if kubeconfig is not None else None
    try:
        rss_before = memory_mb(operator.pid, "VmRSS") if operator else 0.0
        cpu_before = cpu_seconds(operator.pid) if operator else 0.0
        events_before, bytes_before = watch_traffic(plane.rest)
        create_unrelated(plane.rest, f"unrelated-{mode}", count)
        time.sleep(5)  # the last events reach every watcher
        events_after, bytes_after = watch_traffic(plane.rest)
        figures = {"events": events_after - events_before, "bytes": bytes_after - bytes_before}
        if operator:
            figures |= {"cpu_s": cpu_seconds(operator.pid) - cpu_before, "rss_before_mb": rss_before,
                        "rss_mb": memory_mb(operator.pid, "VmRSS"), "peak_mb": memory_mb(operator.pid, "VmHWM")}
        print(f"{mode}: {figures}", flush=True)
        return figures
    finally:
        if operator:
            operator.stop(grace_seconds=10)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=1000, help="unrelated ConfigMaps per round")
    args = parser.parse_args()
    plane = ControlPlane.start()
    try:
        plane.apply_manifest(ROOT / "manifests" / "crd.yaml")
        plane.apply_manifest(ROOT / "manifests" / "rbac.yaml")
        wait_until(lambda: plane.rest.get("/api/v1/namespaces/modelops-system/serviceaccounts/modelops"), 60, 0.1,
                   "operator ServiceAccount")
        kubeconfig = plane.serviceaccount_kubeconfig("modelops-system", "modelops")
        others = round_(plane, None, "none", args.count)
        unfiltered = round_(plane, kubeconfig, "unfiltered", args.count)
        selected = round_(plane, kubeconfig, "selected", args.count)
    finally:
        plane.stop()
        plane.cleanup()
    figures = {
        "unfiltered_events": unfiltered["events"] - others["events"],
        "selected_events": selected["events"] - others["events"],
        "unfiltered_kib": (unfiltered["bytes"] - others["bytes"]) / 1024,
        "selected_kib": (selected["bytes"] - others["bytes"]) / 1024,
        "unfiltered_rss_mb": unfiltered["rss_mb"], "selected_rss_mb": selected["rss_mb"],
        "unfiltered_cpu_s": unfiltered["cpu_s"], "selected_cpu_s": selected["cpu_s"],
    }
    print(" ".join(f"{key}={value:.1f}" if isinstance(value, float) else f"{key}={value}"
                   for key, value in figures.items()))
    return 0


if __name__ == "__main__":
    sys.exit(main())
