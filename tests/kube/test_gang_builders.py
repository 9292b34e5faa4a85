"""Multi-worker training's children: the Indexed Job and its headless Service, and the members' env."""

from __future__ import annotations

import json

import pytest
from kube.test_builders import OWNER, STAGE_CONFIG, assert_child_contract, sample_spec

from modelops.contract.gang import GangError, GangMember, kerastuner_env, member_from_env, tf_config
from modelops.contract.stage_config import build_stage_config
from modelops.kube.builders.gang import build_gang_service
from modelops.kube.builders.jobs import build_stage_job
from modelops.lifecycle import StartStage


def wide_spec(workers: int = 3) -> dict:
    spec = sample_spec()
    spec["training"] = {**spec["training"], "workers": workers, "backoffLimit": 2,
                        "distribution": {"strategy": "multiWorkerMirrored", "communication": "ring", "port": 2345}}
    return spec


def test_a_wide_training_job_is_indexed_with_one_pod_per_worker_and_retries_per_index() -> None:
    job = build_stage_job(OWNER, wide_spec(), "train", 4, "train-v4", config=STAGE_CONFIG)
    assert_child_contract(job, "train")
    spec = job["spec"]
    assert (spec["completionMode"], spec["completions"], spec["parallelism"]) == ("Indexed", 3, 3)
    assert spec["backoffLimitPerIndex"] == 2 and spec["maxFailedIndexes"] == 0 and "backoffLimit" not in spec
    pod = spec["template"]["spec"]
    assert pod["subdomain"] == "churn-train-v4" and pod["restartPolicy"] == "Never"
    (container,) = pod["containers"]
    env = {e["name"]: e["value"] for e in container["env"]}
    assert env["MODELOPS_GANG_HOSTS"] == ",".join(f"churn-train-v4-{i}.churn-train-v4:2345" for i in range(3))
    assert "JOB_COMPLETION_INDEX" not in env  # the Job controller sets it per pod
    assert {"name": "gang", "containerPort": 2345, "protocol": "TCP"} in container["ports"]
    assert container["securityContext"]["allowPrivilegeEscalation"] is False


@pytest.mark.parametrize("stage", ["validate", "evaluate"])
def test_only_training_runs_wide(stage: str) -> None:
    job = build_stage_job(OWNER, wide_spec(), stage, 4, f"{stage}-v4", config=STAGE_CONFIG)
    assert "completionMode" not in job["spec"] and job["spec"]["completions"] == 1


def test_the_gang_service_is_headless_publishes_unready_pods_and_selects_its_stage_only() -> None:
    service = build_gang_service(OWNER, "train", 4, "train-v4", "churn-train-v4", 2345)
    assert_child_contract(service, "train")
    assert service["spec"]["clusterIP"] == "None" and service["spec"]["publishNotReadyAddresses"] is True
    assert service["spec"]["selector"] == {"modelops.dev/deployment": "churn", "modelops.dev/stage-id": "train-v4"}


def test_the_train_config_carries_the_distribution_and_other_stages_do_not() -> None:
    spec = wide_spec(2)
    train = build_stage_config(spec, "ml", "churn", StartStage("train", 1, "train-v1", {"uri": "t.csv"}), "/m")
    assert train["distribution"] == {"strategy": "multiWorkerMirrored", "communication": "ring", "port": 2345,
                                     "workers": 2}
    validate = build_stage_config(spec, "ml", "churn", StartStage("validate", 1, "validate-v1", {"uri": "v.csv"}),
                                  "/m")
    assert "distribution" not in validate


def test_a_member_builds_tf_config_from_its_index_and_the_host_list() -> None:
    member = member_from_env({"MODELOPS_GANG_HOSTS": "a:1,b:1", "JOB_COMPLETION_INDEX": "1"}, 2)
    assert member == GangMember(1, ("a:1", "b:1")) and not member.is_chief
    assert json.loads(tf_config(member)) == {"cluster": {"worker": ["a:1", "b:1"]},
                                             "task": {"type": "worker", "index": 1}}


@pytest.mark.parametrize(("env", "message"), [
    ({"MODELOPS_GANG_HOSTS": "a:1", "JOB_COMPLETION_INDEX": "0"}, "lists 1 members, the stage config says 2"),
    ({"MODELOPS_GANG_HOSTS": "a:1,b:1"}, "JOB_COMPLETION_INDEX=None is not an index below 2"),
    ({"MODELOPS_GANG_HOSTS": "a:1,b:1", "JOB_COMPLETION_INDEX": "2"}, "'2' is not an index below 2"),
])
def test_an_inconsistent_membership_is_refused_with_what_does_not_add_up(env: dict, message: str) -> None:
    with pytest.raises(GangError, match=message):
        member_from_env(env, 2)


def tuned_spec(parallelism: int) -> dict:
    spec = sample_spec()
    spec["training"] = {**spec["training"], "backoffLimit": 1, "activeDeadlineSeconds": 600, "tuning": {
        "enabled": True, "algorithm": "bayesian", "maxTrials": 5, "parallelism": parallelism, "objective": "auc",
        "trialDeadline": "10m", "port": 8123, "searchSpace": {"learningRate": {"min": 0.001, "max": 0.1}}}}
    return spec


def test_a_parallel_search_is_an_indexed_job_of_a_chief_and_its_tuners() -> None:
    job = build_stage_job(OWNER, tuned_spec(2), "tune", 1, "tune-v1", config=STAGE_CONFIG)
    assert_child_contract(job, "tune")
    spec = job["spec"]
    assert (spec["completionMode"], spec["completions"], spec["parallelism"]) == ("Indexed", 3, 3)
    assert spec["backoffLimitPerIndex"] == 1
    # ceil(5 trials / 2 at once) = 3 rounds of a 10-minute trial deadline, plus the stage's own 600 s
    assert spec["activeDeadlineSeconds"] == 3 * 600 + 600
    (container,) = spec["template"]["spec"]["containers"]
    env = {e["name"]: e["value"] for e in container["env"]}
    assert env["MODELOPS_GANG_HOSTS"].split(",")[0] == "churn-tune-v1-0.churn-tune-v1:8123"
    service = build_gang_service(OWNER, "tune", 1, "tune-v1", job["metadata"]["name"], 8123)
    assert service["spec"]["ports"][0]["port"] == 8123


def test_a_search_alone_is_one_pod() -> None:
    spec = build_stage_job(OWNER, tuned_spec(1), "tune", 1, "tune-v1", config=STAGE_CONFIG)["spec"]
    assert "completionMode" not in spec and spec["completions"] == 1


def test_kerastuner_members_find_the_chief() -> None:
    hosts = ("churn-tune-v1-0.churn-tune-v1:8123", "churn-tune-v1-1.churn-tune-v1:8123", "c-2.c:8123")
    assert kerastuner_env(GangMember(0, hosts)) == {
        "KERASTUNER_TUNER_ID": "chief", "KERASTUNER_ORACLE_IP": "0.0.0.0", "KERASTUNER_ORACLE_PORT": "8123"}
    assert kerastuner_env(GangMember(2, hosts)) == {
        "KERASTUNER_TUNER_ID": "tuner2", "KERASTUNER_ORACLE_IP": "churn-tune-v1-0.churn-tune-v1",
        "KERASTUNER_ORACLE_PORT": "8123"}
    loopback = ("127.0.0.1:4000", "127.0.0.1:4001")  # a local gang: the chief listens on loopback only
    assert kerastuner_env(GangMember(0, loopback))["KERASTUNER_ORACLE_IP"] == "127.0.0.1"
