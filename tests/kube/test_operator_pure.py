"""Pure parts of the operator shell: status patches, job results, events, metrics, CLI settings."""

from __future__ import annotations

import threading

import pytest
from prometheus_client import generate_latest

from modelops.kube.cli import _parser, settings_from_args
from modelops.kube.events import build_event
from modelops.kube.metrics import OperatorMetrics
from modelops.kube.results import job_outcome, latest_termination_message
from modelops.kube.scheduler import Scheduler
from modelops.kube.status import status_merge_patch


def test_status_patch_replaces_changed_keys_and_nulls_removed_ones() -> None:
    old = {"phase": "Training", "stage": {"id": "train-v1"}, "versions": [{"version": 1}]}
    new = {"phase": "Validating", "versions": [{"version": 1}], "candidateVersion": 1}
    assert status_merge_patch(old, new) == {"phase": "Validating", "candidateVersion": 1, "stage": None}
    assert status_merge_patch(new, new) == {}


def test_status_patch_nulls_keys_dropped_inside_nested_objects() -> None:
    """A merge patch merges nested maps: without recursion a past evaluation's error would survive."""
    old = {"lastEvaluation": {"version": 1, "error": "endpoint unreachable", "drift": {"maxPsi": 2.0, "x": 1}}}
    new = {"lastEvaluation": {"version": 1, "metrics": {"accuracy": 0.9}, "drift": {"maxPsi": 0.1}}}
    patch = status_merge_patch(old, new)
    assert patch == {"lastEvaluation": {"error": None, "metrics": {"accuracy": 0.9},
                                        "drift": {"maxPsi": 0.1, "x": None}}}
    assert _apply_merge_patch(old, patch) == new


def _apply_merge_patch(target: dict, patch: dict) -> dict:
    """RFC 7386, as the API server applies it."""
    result = dict(target)
    for key, value in patch.items():
        if value is None:
            result.pop(key, None)
        elif isinstance(value, dict) and isinstance(result.get(key), dict):
            result[key] = _apply_merge_patch(result[key], value)
        else:
            result[key] = value
    return result


def test_job_outcome_reads_conditions() -> None:
    assert job_outcome({"status": {}}) is None
    assert job_outcome({"status": {"conditions": [{"type": "Complete", "status": "True"}]}}) is True
    assert job_outcome({"status": {"conditions": [{"type": "Failed", "status": "True"}]}}) is False
    assert job_outcome({"status": {"conditions": [{"type": "Failed", "status": "False"}]}}) is None


def test_latest_termination_message_prefers_the_matching_exit_code() -> None:
    def pod(code: int, message: str, at: str) -> dict:
        return {"status": {"containerStatuses": [{"state": {"terminated": {
            "exitCode": code, "message": message, "finishedAt": at}}}]}}

    pods = [pod(1, "boom", "2026-01-01T00:00:02Z"), pod(0, '{"stage":"train"}', "2026-01-01T00:00:01Z"),
            {"status": {}}]
    assert latest_termination_message(pods, want_success=True) == '{"stage":"train"}'
    assert latest_termination_message(pods, want_success=False) == "boom"
    assert latest_termination_message([{"status": {}}], want_success=True) is None


def test_event_is_about_the_model_deployment() -> None:
    body = {"metadata": {"name": "churn", "namespace": "ml", "uid": "u1", "resourceVersion": "9"}}
    event = build_event(body, "Warning", "CandidateRejected", "x" * 5000)
    assert event["involvedObject"]["kind"] == "ModelDeployment"
    assert event["involvedObject"]["uid"] == "u1"
    assert event["metadata"]["namespace"] == "ml" and event["metadata"]["name"].startswith("churn.")
    assert len(event["message"]) == 1024
    assert build_event(body, "Normal", "R", "m")["metadata"]["name"] != event["metadata"]["name"]


def test_each_quality_series_has_one_unit() -> None:
    """Scores, errors, squared errors and losses never share a metric name (issue #27)."""
    metrics = OperatorMetrics()
    metrics.observe_status("ml", "prices", {"phase": "Serving", "versions": [
        {"version": 1, "metrics": {"rmse": 2.0, "mae": 1.5, "mse": 4.0, "loss": 4.1, "accuracy": 0.5}}],
        "lastEvaluation": {"metrics": {"rmse": 2.5}}})
    sample = metrics.registry.get_sample_value
    labels = {"namespace": "ml", "name": "prices", "version": "1"}
    assert sample("modelops_model_error", {**labels, "metric": "rmse"}) == 2.0
    assert sample("modelops_model_error", {**labels, "metric": "mse"}) is None
    assert sample("modelops_model_squared_error", {**labels, "metric": "mse"}) == 4.0
    assert sample("modelops_model_loss", {**labels, "metric": "loss"}) == 4.1
    assert sample("modelops_model_score_ratio", {**labels, "metric": "accuracy"}) == 0.5
    assert sample("modelops_live_error", {"namespace": "ml", "name": "prices", "metric": "rmse"}) == 2.5


def test_a_phase_series_exists_from_the_first_observation() -> None:
    """Before the first status write (or when it fails) the deployment is Pending, not absent."""
    metrics = OperatorMetrics()
    metrics.observe_status("ml", "new", {})
    sample = metrics.registry.get_sample_value
    assert sample("modelops_deployment_phase", {"namespace": "ml", "name": "new", "phase": "Pending"}) == 1
    assert sample("modelops_deployment_phase", {"namespace": "ml", "name": "new", "phase": "Training"}) == 0


def test_metrics_follow_status_and_forget_deleted_deployments() -> None:
    metrics = OperatorMetrics()
    status = {"phase": "Serving", "servingVersion": 2,
              "versions": [{"version": 2, "metrics": {"accuracy": 0.93}}],
              "lastEvaluation": {"metrics": {"accuracy": 0.9}, "drift": {"maxPsi": 0.31}}}
    metrics.observe_status("ml", "churn", status)
    text = generate_latest(metrics.registry).decode()
    assert 'modelops_deployment_phase{name="churn",namespace="ml",phase="Serving"} 1.0' in text
    assert 'modelops_model_score_ratio{metric="accuracy",name="churn",namespace="ml",version="2"} 0.93' in text
    assert 'modelops_drift{name="churn",namespace="ml",statistic="psi"} 0.31' in text
    metrics.forget("ml", "churn")
    assert 'name="churn"' not in generate_latest(metrics.registry).decode()


class _Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_scheduler_runs_only_the_latest_schedule_per_key() -> None:
    """On an injected clock: what is due is decided by the schedule alone, not by how fast a thread wakes."""
    clock = _Clock()
    scheduler = Scheduler(lambda key: None, workers=1, clock=clock)
    scheduler.schedule(("ns", "a"), 0.05)
    scheduler.schedule(("ns", "a"), 0.2)  # replaces the first
    scheduler.schedule(("ns", "b"), 0.1)
    scheduler.schedule(("ns", "c"), 0.1)
    scheduler.cancel(("ns", "c"))
    clock.now += 0.0999
    assert scheduler.take_due() == []  # the replaced 0.05 of "a" is not due for anyone
    assert scheduler.pending(("ns", "b")) == pytest.approx(0.0001)
    clock.now += 0.0001
    assert scheduler.take_due() == [("ns", "b")]  # "c" was cancelled
    assert scheduler.pending(("ns", "b")) is None and scheduler.pending(("ns", "a")) == pytest.approx(0.1)
    clock.now += 0.1
    assert scheduler.take_due() == [("ns", "a")]
    clock.now += 3600
    assert scheduler.take_due() == []  # each key ran once


def test_scheduler_thread_runs_due_keys_in_order() -> None:
    """The thread hands due keys to the pool earliest first; with one worker the calls keep that order,
    so a stale or cancelled entry that ran would show up before "a" (no timing slack to tune)."""
    calls: list[tuple[str, str]] = []
    two_calls = threading.Event()

    def record(key: tuple[str, str]) -> None:
        calls.append(key)
        if len(calls) >= 2:
            two_calls.set()

    scheduler = Scheduler(record, workers=1)
    scheduler.start()
    try:
        scheduler.schedule(("ns", "a"), 0.01)
        scheduler.schedule(("ns", "a"), 0.1)
        scheduler.schedule(("ns", "b"), 0.05)
        scheduler.schedule(("ns", "c"), 0.05)
        scheduler.cancel(("ns", "c"))
        assert two_calls.wait(10)
        assert calls[:2] == [("ns", "b"), ("ns", "a")]
    finally:
        scheduler.stop()


def test_cli_settings_and_bad_flags() -> None:
    args = _parser().parse_args(["-n", "ml", "-n", "prod", "--peering", "modelops", "--liveness", "off",
                                 "--metrics-port", "0"])
    settings = settings_from_args(args)
    assert settings.namespaces == ("ml", "prod") and not settings.clusterwide
    assert settings.peering == "modelops" and settings.liveness is None and settings.metrics_port == 0
    assert settings_from_args(_parser().parse_args([])).clusterwide
    with pytest.raises(SystemExit, match="--workers"):
        settings_from_args(_parser().parse_args(["--workers", "0"]))
    assert settings.peering_priority is None and settings.peering_lifetime == 15  # oldest replica wins
    pinned = settings_from_args(_parser().parse_args(["--peering", "m", "--peering-priority", "100",
                                                      "--peering-lifetime", "6"]))
    assert pinned.peering_priority == 100 and pinned.peering_lifetime == 6
    with pytest.raises(SystemExit, match="--peering-lifetime"):
        settings_from_args(_parser().parse_args(["--peering-lifetime", "1"]))


class _EventApi:
    """Records create/patch of Events like the API server would; `gone` simulates an expired Event."""

    def __init__(self) -> None:
        self.created: list[dict] = []
        self.patched: list[tuple[str, dict]] = []
        self.gone: set[str] = set()

    def create(self, obj: dict) -> dict:
        self.created.append(obj)
        return obj

    def patch(self, kind: str, namespace: str, name: str, patch: dict, **_: object) -> dict:
        from modelops.kube.client import ApiError

        if name in self.gone:
            raise ApiError(404, "gone")
        self.patched.append((name, patch))
        return {}


def test_a_repeated_event_is_counted_on_the_first_not_posted_again() -> None:
    from modelops.kube.events import EventRecorder

    api = _EventApi()
    recorder = EventRecorder(api)  # type: ignore[arg-type]
    body = {"metadata": {"name": "churn", "namespace": "ml", "uid": "u1"}}
    for _ in range(3):
        recorder.post(body, "Warning", "ModelDegraded", "version 1: accuracy 0.7 < min 0.75")
    recorder.post(body, "Warning", "ModelDegraded", "version 1: accuracy 0.6 < min 0.75")
    assert len(api.created) == 2  # one Event per distinct occurrence
    name = api.created[0]["metadata"]["name"]
    assert [(n, p["count"]) for n, p in api.patched] == [(name, 2), (name, 3)]
    assert all("lastTimestamp" in p for _, p in api.patched)  # one request per post, either way


def test_an_expired_event_is_posted_afresh() -> None:
    from modelops.kube.events import EventRecorder

    api = _EventApi()
    recorder = EventRecorder(api)  # type: ignore[arg-type]
    body = {"metadata": {"name": "churn", "namespace": "ml", "uid": "u1"}}
    recorder.post(body, "Normal", "Trained", "version 1 trained")
    api.gone.add(api.created[0]["metadata"]["name"])
    recorder.post(body, "Normal", "Trained", "version 1 trained")
    assert len(api.created) == 2 and api.created[1]["count"] == 1
