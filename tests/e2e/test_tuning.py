"""Hyperparameter search on the real control plane: the operator's tune stage is an Indexed Job (index 0
the KerasTuner chief holding the oracle, indexes 1..2 the tuners asking it for trials over gRPC through
the headless Service), and the operator is SIGKILLed mid-search and restarted: the same one search runs
to the end, and the candidate trained from its best trial passes the gate the spec's own (diverging)
learning rate cannot."""

from __future__ import annotations

import os
import signal

import pytest
from kube.harness import events_of, jobs_of, mdep_path, model_deployment, wait_status, write_datasets
from support.kubetest import new_namespace
from support.podrunner.volumes import pvc_dir
from support.processes import wait_until

pytestmark = [pytest.mark.cluster, pytest.mark.slow]
NAME = "tuned"
INDEX = "batch.kubernetes.io/job-completion-index"
TUNING = {"enabled": True, "algorithm": "random", "maxTrials": 4, "parallelism": 2, "objective": "accuracy",
          "trialDeadline": "2m", "searchSpace": {"learningRate": {"min": 0.01, "max": 0.5},
                                                 "hiddenLayers": {"units": {"min": 8, "max": 32, "step": 8}}}}


def _stage_jobs(rest, namespace: str, stage: str) -> list[dict]:
    return [j for j in jobs_of(rest, namespace, NAME) if j["metadata"]["labels"]["modelops.dev/stage"] == stage]


def test_a_parallel_search_survives_an_operator_kill_and_its_best_trial_passes_the_gate(
        control_plane, pod_runner, start_operator) -> None:
    rest = control_plane.rest
    namespace = new_namespace(rest, "tune")
    models = pvc_dir(pod_runner.root, namespace, "models")
    write_datasets(models / "datasets", rows=400)
    operator = start_operator(namespace)
    rest.post(mdep_path(namespace), model_deployment(NAME, namespace, **{
        "training.backoffLimit": 1, "training.tuning": TUNING,
        "training.hyperparameters": {"epochs": 8, "batchSize": 32, "optimizer": "sgd", "learningRate": 8.0,
                                     "validationSplit": 0.0, "earlyStopping": {"enabled": False}}}))

    wait_until(lambda: _stage_jobs(rest, namespace, "tune"), 60, 0.25, "the tune Job")
    (job,) = _stage_jobs(rest, namespace, "tune")
    assert (job["spec"]["completionMode"], job["spec"]["completions"], job["spec"]["parallelism"]) == ("Indexed", 3, 3)
    assert job["spec"]["backoffLimitPerIndex"] == 1 and job["metadata"]["ownerReferences"][0]["kind"] == \
        "ModelDeployment"
    # the Job may run as long as every trial's deadline, two at a time, plus the stage's own limit
    assert job["spec"]["activeDeadlineSeconds"] == 2 * 120 + 600
    pod_spec = job["spec"]["template"]["spec"]
    assert pod_spec["securityContext"]["runAsNonRoot"] is True and pod_spec["subdomain"] == f"{NAME}-tune-v1"
    service = rest.get(f"/api/v1/namespaces/{namespace}/services/{NAME}-tune-v1")
    assert service["spec"]["clusterIP"] == "None" and service["spec"]["ports"][0]["port"] == 8000
    wait_status(rest, namespace, NAME, lambda s: s.get("phase") == "Tuning", 60, "phase Tuning")

    # the operator dies while the trials run; a new one adopts the search instead of starting another
    pods = wait_until(lambda: len(p := rest.get(f"/api/v1/namespaces/{namespace}/pods",
                                                labelSelector=f"batch.kubernetes.io/job-name={NAME}-tune-v1")
                                   ["items"]) == 3 and p, 60, 0.25, "the chief and two tuner pods")
    assert sorted(p["metadata"]["annotations"][INDEX] for p in pods) == ["0", "1", "2"]
    os.kill(operator.process.pid, signal.SIGKILL)
    operator.process.popen.wait(timeout=10)
    start_operator(namespace)

    status = wait_status(rest, namespace, NAME, lambda s: s.get("servingVersion") == 1, 420, "v1 serving")
    assert len(_stage_jobs(rest, namespace, "tune")) == 1, "one search, adopted across the operator restart"
    (record,) = status["versions"]
    search = record["tuning"]
    print(f"search: {search['summary']}; validation accuracy {record['metrics']['accuracy']:.3f}")
    assert search["trials"]["total"] == 4 and search["trials"]["completed"] >= 1
    assert 0.01 <= search["hyperparameters"]["learningRate"] <= 0.5
    assert record["metrics"]["accuracy"] >= 0.8 and record["state"] == "Serving"
    assert status["tuning"]["version"] == 1
    reasons = [e["reason"] for e in events_of(rest, namespace, NAME)]
    assert reasons.count("TuningStarted") == 1 and reasons.count("Tuned") == 1
    assert not list((models / namespace / NAME).glob(".tuning-*"))
