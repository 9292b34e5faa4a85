"""The pod runner lets the real Job, Deployment, EndpointSlice and GC controllers do their work."""

from __future__ import annotations

import json
import os
import urllib.request
from pathlib import Path

import pytest
from support.controlplane import ControlPlane
from support.kubetest import condition, new_namespace, pods_of, wait_for, wait_gone
from support.podrunner.runner import PodRunner
from support.processes import wait_until

pytestmark = pytest.mark.cluster


def _job(name: str, script: str, **container_extra: object) -> dict:
    container = {"name": "main", "image": "python:3.11-slim", "command": ["python", "-c", script],
                 "terminationMessagePolicy": "FallbackToLogsOnError", **container_extra}
    return {"apiVersion": "batch/v1", "kind": "Job", "metadata": {"name": name},
            "spec": {"backoffLimit": 0, "template": {"spec": {"restartPolicy": "Never", "containers": [container]}}}}


def _terminated(pod: dict) -> dict:
    return pod["status"]["containerStatuses"][0]["state"]["terminated"]


def test_job_runs_to_completion_with_env_volumes_and_termination_message(
        control_plane: ControlPlane, pod_runner: PodRunner) -> None:
    rest = control_plane.rest
    namespace = new_namespace(rest, "job")
    settings = {"metadata": {"name": "settings"}, "data": {"mode": "fast"}}
    rest.post(f"/api/v1/namespaces/{namespace}/configmaps", settings)
    script = (
        "import json, os, pathlib\n"
        "pathlib.Path('/data/out.txt').write_text(os.environ['GREETING'])\n"
        "keys = ('POD_NAME', 'POD_IP', 'POD_NS', 'MODE', 'MODELOPS_REST_API_HOST')\n"
        "pathlib.Path('/dev/termination-log').write_text(json.dumps({k: os.environ[k] for k in keys}))\n"
        "print('finished')\n"
    )
    job = _job("hello", script, env=[
        {"name": "POD_NAME", "valueFrom": {"fieldRef": {"fieldPath": "metadata.name"}}},
        {"name": "POD_IP", "valueFrom": {"fieldRef": {"fieldPath": "status.podIP"}}},
        {"name": "POD_NS", "valueFrom": {"fieldRef": {"fieldPath": "metadata.namespace"}}},
        {"name": "GREETING", "value": "hello from $(POD_NS)"},  # may refer to variables defined above it
        {"name": "MODE", "valueFrom": {"configMapKeyRef": {"name": "settings", "key": "mode"}}},
    ], volumeMounts=[{"name": "results", "mountPath": "/data"}])
    job["spec"]["template"]["spec"]["volumes"] = [{"name": "results",
                                                   "persistentVolumeClaim": {"claimName": "results"}}]
    rest.post(f"/apis/batch/v1/namespaces/{namespace}/jobs", job)

    done = wait_for(rest, f"/apis/batch/v1/namespaces/{namespace}/jobs/hello",
                    lambda j: condition(j, "Complete") == "True", 60, "Job hello to be Complete")
    assert done["status"]["succeeded"] == 1
    [pod] = pods_of(rest, namespace, "job-name=hello")
    assert pod["status"]["phase"] == "Succeeded"
    assert pod["spec"]["nodeName"] == pod_runner.node_name
    terminated = _terminated(pod)
    assert (terminated["exitCode"], terminated["reason"]) == (0, "Completed")
    reported = json.loads(terminated["message"])
    assert reported == {"POD_NAME": pod["metadata"]["name"], "POD_IP": pod["status"]["podIP"], "POD_NS": namespace,
                        "MODE": "fast", "MODELOPS_REST_API_HOST": pod["status"]["podIP"]}
    assert pod["status"]["podIP"].startswith(f"{pod_runner.ip_prefix}.")
    assert (pod_runner.pvc_path(namespace, "results") / "out.txt").read_text() == f"hello from {namespace}"
    assert not Path("/data/out.txt").exists()  # the write went through the pod's private bind mount
    assert "finished" in pod_runner.logs(namespace, pod["metadata"]["name"])["main"]


def test_failing_job_reports_exit_code_and_log_tail(control_plane: ControlPlane, pod_runner: PodRunner) -> None:
    rest = control_plane.rest
    namespace = new_namespace(rest, "fail")
    script = "import sys\nprint('bad value in field spec.epochs: -1')\nsys.exit(3)\n"
    rest.post(f"/apis/batch/v1/namespaces/{namespace}/jobs", _job("broken", script))
    wait_for(rest, f"/apis/batch/v1/namespaces/{namespace}/jobs/broken",
             lambda j: condition(j, "Failed") == "True", 60, "Job broken to be Failed")
    [pod] = pods_of(rest, namespace, "job-name=broken")
    terminated = _terminated(pod)
    assert (pod["status"]["phase"], terminated["exitCode"], terminated["reason"]) == ("Failed", 3, "Error")
    assert "bad value in field spec.epochs" in terminated["message"]  # FallbackToLogsOnError


def test_on_failure_pod_is_restarted_until_it_succeeds(control_plane: ControlPlane, pod_runner: PodRunner) -> None:
    rest = control_plane.rest
    namespace = new_namespace(rest, "restart")
    script = ("import pathlib, sys\nmarker = pathlib.Path('/scratch/tried')\n"
              "if not marker.exists():\n    marker.write_text('1')\n    sys.exit(1)\n")
    pod = {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "flaky"}, "spec": {
        "restartPolicy": "OnFailure",
        "containers": [{"name": "main", "image": "python:3.11-slim", "command": ["python", "-c", script],
                        "volumeMounts": [{"name": "scratch", "mountPath": "/scratch"}]}],
        "volumes": [{"name": "scratch", "emptyDir": {}}]}}
    rest.post(f"/api/v1/namespaces/{namespace}/pods", pod)
    done = wait_for(rest, f"/api/v1/namespaces/{namespace}/pods/flaky",
                    lambda p: p.get("status", {}).get("phase") == "Succeeded", 30, "pod flaky to succeed")
    status = done["status"]["containerStatuses"][0]
    assert status["restartCount"] == 1
    assert status["lastState"]["terminated"]["exitCode"] == 1


def _fetch(url: str) -> str:
    with urllib.request.urlopen(url, timeout=3) as response:
        return response.read().decode()


def test_deployment_and_service_get_ready_pods_reachable_by_dns_name(
        control_plane: ControlPlane, pod_runner: PodRunner) -> None:
    rest = control_plane.rest
    namespace = new_namespace(rest, "web")
    rest.post(f"/api/v1/namespaces/{namespace}/configmaps",
              {"metadata": {"name": "content"}, "data": {"index.html": "version-1"}})
    container = {
        "name": "web", "image": "python:3.11-slim",
        "command": ["python", "-m", "http.server", "8080", "--bind", "$(POD_IP)", "--directory", "/srv/web"],
        "env": [{"name": "POD_IP", "valueFrom": {"fieldRef": {"fieldPath": "status.podIP"}}}],
        "ports": [{"name": "http", "containerPort": 8080}],
        "readinessProbe": {"httpGet": {"path": "/index.html", "port": "http"}, "periodSeconds": 1},
        "volumeMounts": [{"name": "content", "mountPath": "/srv/web", "readOnly": True}],
    }
    labels = {"app": "web"}
    rest.post(f"/apis/apps/v1/namespaces/{namespace}/deployments", {
        "metadata": {"name": "web"}, "spec": {"replicas": 2, "selector": {"matchLabels": labels}, "template": {
            "metadata": {"labels": labels}, "spec": {
                "terminationGracePeriodSeconds": 5, "containers": [container],
                "volumes": [{"name": "content", "configMap": {"name": "content"}}]}}}})
    rest.post(f"/api/v1/namespaces/{namespace}/services", {"metadata": {"name": "web"}, "spec": {
        "selector": labels, "ports": [{"port": 8080, "targetPort": 8080}]}})

    wait_for(rest, f"/apis/apps/v1/namespaces/{namespace}/deployments/web",
             lambda d: d.get("status", {}).get("readyReplicas") == 2, 60, "Deployment web to have 2 ready pods")
    pods = pods_of(rest, namespace, "app=web")
    pod_ips = sorted(p["status"]["podIP"] for p in pods)
    assert len(set(pod_ips)) == 2 and all(condition(p, "Ready") == "True" for p in pods)

    client_script = (
        "import json, socket, urllib.request, pathlib\n"
        f"names = ['web.{namespace}.svc', 'web.{namespace}.svc.cluster.local', 'web.{namespace}', 'web']\n"
        "out = {n: urllib.request.urlopen(f'http://{n}:8080/index.html', timeout=5).read().decode() for n in names}\n"
        f"out['ips'] = sorted({{a[4][0] for a in socket.getaddrinfo('web.{namespace}.svc', 8080)}})\n"
        "pathlib.Path('/dev/termination-log').write_text(json.dumps(out))\n"
    )
    rest.post(f"/apis/batch/v1/namespaces/{namespace}/jobs", _job("client", client_script))
    wait_for(rest, f"/apis/batch/v1/namespaces/{namespace}/jobs/client",
             lambda j: condition(j, "Complete") == "True", 60, "the client Job to reach the Service by name")
    [client_pod] = pods_of(rest, namespace, "job-name=client")
    answer = json.loads(_terminated(client_pod)["message"])
    assert answer.pop("ips") == pod_ips
    assert set(answer.values()) == {"version-1"}

    # A ConfigMap edit reaches the mounted files of running pods (the server reads them per request).
    rest.patch(f"/api/v1/namespaces/{namespace}/configmaps/content", {"data": {"index.html": "version-2"}})
    for ip in pod_ips:
        wait_until(lambda ip=ip: _fetch(f"http://{ip}:8080/index.html") == "version-2", 10, 0.2,
                   f"pod {ip} to serve the updated ConfigMap")

    # Deleting the owner: the GC removes ReplicaSet and pods, and the runner stops their processes.
    pids = [pid for p in pods for pid in pod_runner.worker(namespace, p["metadata"]["name"]).pids()]
    assert pids
    rest.delete(f"/apis/apps/v1/namespaces/{namespace}/deployments/web")
    for pod in pods:
        wait_gone(rest, f"/api/v1/namespaces/{namespace}/pods/{pod['metadata']['name']}", 30,
                  f"pod {pod['metadata']['name']} to be garbage-collected and stopped")
    wait_until(lambda: not any(Path(f"/proc/{pid}").exists() for pid in pids), 10, 0.1, "pod processes to exit")
    assert rest.get(f"/apis/apps/v1/namespaces/{namespace}/replicasets", labelSelector="app=web")["items"] == []


def _group_members(pgid: int) -> list[int]:
    """Live (non-zombie) processes in a process group.

    Zombies are excluded: orphans of a killed pod are re-parented to PID 1, and whether PID 1 reaps
    them is up to the machine's init, not to the runner.
    """
    members = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[2]) == pgid and fields[0] != "Z":  # fields after "(comm)": state, ppid, pgrp, ...
            members.append(int(stat.parent.name))
    return members


def test_stopping_a_runner_leaves_no_processes(control_plane: ControlPlane, tmp_path: Path) -> None:
    rest = control_plane.rest
    namespace = new_namespace(rest, "leak")
    runner = PodRunner(control_plane.server, control_plane.admin_token, str(control_plane.pki.ca_cert), tmp_path,
                       node_name="leak-check", node_labels={"modelops.dev/test-node": "leak-check"},
                       ip_prefix="127.63").start()  # outside the fixture runner's 127.64-243
    try:
        rest.post(f"/api/v1/namespaces/{namespace}/pods", {"metadata": {"name": "sleeper"}, "spec": {
            "nodeSelector": {"modelops.dev/test-node": "leak-check"}, "restartPolicy": "Never",
            "containers": [{"name": "main", "image": "busybox", "command": ["sh", "-c", "sleep 300 & sleep 300"]}]}})
        wait_for(rest, f"/api/v1/namespaces/{namespace}/pods/sleeper",
                 lambda p: p.get("status", {}).get("phase") == "Running", 30, "pod sleeper to run")
        [pgid] = runner.all_pids()
        wait_until(lambda: len(_group_members(pgid)) >= 2, 10, 0.1, "the pod's shell and its background child")
    finally:
        runner.stop()
    assert _group_members(pgid) == []
    assert not os.path.exists(f"/proc/{pgid}")  # the pod's own process was reaped by the runner


def test_exec_readiness_sees_the_pod_mounts_and_failed_liveness_restarts(
        control_plane: ControlPlane, pod_runner: PodRunner) -> None:
    rest = control_plane.rest
    namespace = new_namespace(rest, "probes")
    script = "import pathlib, time\npathlib.Path('/state/ready').write_text('1')\ntime.sleep(300)\n"
    rest.post(f"/api/v1/namespaces/{namespace}/pods", {"metadata": {"name": "probed"}, "spec": {
        "terminationGracePeriodSeconds": 1,
        "containers": [{
            "name": "main", "image": "python:3.11-slim", "command": ["python", "-c", script],
            "volumeMounts": [{"name": "state", "mountPath": "/state"}],
            # Runs inside the container's mount namespace: /state exists only there.
            "readinessProbe": {"exec": {"command": ["test", "-f", "/state/ready"]}, "periodSeconds": 1},
            # Nothing listens on this port, so the container is restarted after 2 failed checks.
            "livenessProbe": {"tcpSocket": {"port": 9}, "periodSeconds": 1, "failureThreshold": 2,
                              "initialDelaySeconds": 2},
        }],
        "volumes": [{"name": "state", "emptyDir": {}}]}})
    path = f"/api/v1/namespaces/{namespace}/pods/probed"
    wait_for(rest, path, lambda p: condition(p, "Ready") == "True", 30, "the exec readiness probe to pass")
    assert not Path("/state/ready").exists()
    restarted = wait_for(rest, path, lambda p: p["status"]["containerStatuses"][0]["restartCount"] >= 1, 30,
                         "the failing liveness probe to restart the container")
    assert restarted["status"]["phase"] == "Running"
