"""Multi-worker training on the real control plane: the operator's Indexed Job and headless Service, the
Job controller's pod hostnames resolved through the pod runner's cluster DNS, TensorFlow's collectives
between two pods, and a worker killed mid-training that the Job controller restarts and that resumes
from the backup instead of starting over."""

from __future__ import annotations

import json
import os
import re
import signal

import pytest
from kube.harness import jobs_of, mdep_path, model_deployment, status_of, wait_status, write_datasets
from support.kubetest import new_namespace
from support.podrunner.volumes import pvc_dir
from support.processes import wait_until

pytestmark = [pytest.mark.cluster, pytest.mark.slow]
NAME = "wide"
EPOCHS = 24
INDEX = "batch.kubernetes.io/job-completion-index"


def _pods(rest, namespace: str) -> list[dict]:
    return rest.get(f"/api/v1/namespaces/{namespace}/pods",
                    labelSelector=f"batch.kubernetes.io/job-name={NAME}-train-v1")["items"]


def _epochs_logged(pod_runner, namespace: str, pod: str) -> int:
    text = "".join(pod_runner.logs(namespace, pod).values())
    return max((int(n) for n in re.findall(r"^epoch (\d+):", text, flags=re.M)), default=0)


def test_two_workers_train_one_version_and_a_killed_worker_resumes_from_the_backup(
        control_plane, pod_runner, start_operator) -> None:
    rest = control_plane.rest
    namespace = new_namespace(rest, "dist")
    models = pvc_dir(pod_runner.root, namespace, "models")
    write_datasets(models / "datasets", rows=400)
    start_operator(namespace)
    rest.post(mdep_path(namespace), model_deployment(NAME, namespace, **{
        "training.workers": 2, "training.backoffLimit": 3,
        "training.hyperparameters": {"epochs": EPOCHS, "batchSize": 32, "learningRate": 0.02,
                                     "validationSplit": 0.0, "earlyStopping": {"enabled": False}}}))

    # the operator's gang: an Indexed Job of two pods and the headless Service their hostnames live in
    wait_until(lambda: jobs_of(rest, namespace, NAME), 60, 0.25, "the training Job")
    (job,) = jobs_of(rest, namespace, NAME)
    assert (job["spec"]["completionMode"], job["spec"]["completions"], job["spec"]["parallelism"]) == ("Indexed", 2, 2)
    assert job["spec"]["backoffLimitPerIndex"] == 3 and job["spec"]["maxFailedIndexes"] == 0
    service = rest.get(f"/api/v1/namespaces/{namespace}/services/{NAME}-train-v1")
    assert service["spec"]["clusterIP"] == "None" and service["spec"]["publishNotReadyAddresses"] is True
    pods = wait_until(lambda: (p := _pods(rest, namespace)) and len(p) == 2 and p, 60, 0.25, "two worker pods")
    by_index = {p["metadata"]["annotations"][INDEX]: p for p in pods}
    # hostnames and subdomain come from the Job controller and our pod template
    assert {i: p["spec"].get("hostname") for i, p in by_index.items()} == {"0": f"{NAME}-train-v1-0",
                                                                           "1": f"{NAME}-train-v1-1"}
    assert {p["spec"]["subdomain"] for p in pods} == {f"{NAME}-train-v1"}

    # kill worker 1 a few epochs in: its peer's collectives fail, the Job controller reruns both indexes
    chief, worker = by_index["0"]["metadata"]["name"], by_index["1"]["metadata"]["name"]
    wait_until(lambda: _epochs_logged(pod_runner, namespace, chief) >= 4, 240, 0.2, "four epochs on the chief")
    killed_after = _epochs_logged(pod_runner, namespace, chief)
    for pid in pod_runner.worker(namespace, worker).pids():
        os.kill(pid, signal.SIGKILL)

    status = wait_status(rest, namespace, NAME, lambda s: s.get("servingVersion") == 1, 420, "v1 serving")
    assert [v["version"] for v in status["versions"]] == [1]
    assert len(_pods(rest, namespace)) > 2, "the killed worker's index ran again"
    report = json.loads((models / namespace / NAME / "1" / "report.json").read_text())
    distributed = report["distributed"]
    print(f"killed after epoch {killed_after}: {distributed}")
    assert distributed["workers"] == 2 and distributed["perWorkerBatchSize"] == 16
    assert report["epochs"] == EPOCHS
    # resumed from the last backed-up epoch, not from zero: fewer epochs re-run than a restart would
    assert distributed["resumedFromEpoch"] >= killed_after - 1 >= 3, distributed
    assert distributed["epochsThisRun"] == EPOCHS - distributed["resumedFromEpoch"] < EPOCHS
    assert status["versions"][0]["metrics"]["accuracy"] >= 0.8
    # one version directory, and the backup went with the publish
    assert sorted(p.name for p in (models / namespace / NAME).iterdir() if not p.name.startswith("failures")) == ["1"]
    # the finished gang's Service is cleaned up with the stage config
    wait_until(lambda: not rest.get(f"/api/v1/namespaces/{namespace}/services",
                                    labelSelector="modelops.dev/stage-id=train-v1")["items"], 60, 0.25,
               "the gang Service removed")
    assert status_of(rest, namespace, NAME)["phase"] == "Serving"
