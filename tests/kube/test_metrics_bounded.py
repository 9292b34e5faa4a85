"""Metric series do not outlive what they describe (issue #26): a pruned version's and a deleted
deployment's series leave the operator's endpoint, and `modelops serve` drops an unloaded version's."""

from __future__ import annotations

from prometheus_client import generate_latest

from modelops.kube.metrics import OperatorMetrics
from modelops.serving.metrics import ServingMetrics


def _status(*versions: tuple[int, bool]) -> dict:
    return {"phase": "Serving", "servingVersion": versions[-1][0],
            "versions": [{"version": v, "state": "Retired", "deleted": deleted,
                          "metrics": {"accuracy": 0.9, "loss": 0.2}} for v, deleted in versions]}


def test_series_of_pruned_versions_and_deleted_deployments_are_removed() -> None:
    metrics = OperatorMetrics()
    metrics.observe_status("ml", "churn", _status((1, False), (2, False)))
    metrics.observe_status("ml", "other", _status((1, False)))
    page = generate_latest(metrics.registry).decode()
    assert 'name="churn",namespace="ml",version="1"' in page

    metrics.observe_status("ml", "churn", _status((1, True), (2, False)))  # version 1 pruned
    metrics.observe_status("ml", "churn", {"phase": "Serving", "servingVersion": 2, "versions": [
        {"version": 2, "state": "Serving", "metrics": {"accuracy": 0.9, "loss": 0.2}}]})  # or its record trimmed
    page = generate_latest(metrics.registry).decode()
    assert 'name="churn",namespace="ml",version="1"' not in page
    assert 'name="churn",namespace="ml",version="2"' in page and 'name="other",namespace="ml",version="1"' in page

    metrics.forget("ml", "churn")
    page = generate_latest(metrics.registry).decode()
    assert 'name="churn"' not in page and 'name="other"' in page


def test_the_model_server_drops_every_series_of_an_unloaded_version() -> None:
    metrics = ServingMetrics()
    for version in ("1", "2"):
        metrics.observe_request("churn", version, 200, 0.01)
        metrics.observe_request("churn", version, 400, 0.01)
        on_batch, on_depth, _ = metrics.batch_observer("churn", int(version))
        on_batch(4)
        on_depth(1)
        metrics.set_available("churn", int(version), True)
    metrics.forget_version("churn", 1)
    page = metrics.exposition().decode()
    assert 'version="1"' not in page and 'version="2"' in page
    metrics.observe_request("churn", "1", 200, 0.01)  # a version loaded again counts afresh
    assert 'modelops_serving_requests_total{model="churn",status="200",version="1"} 1.0' in \
        metrics.exposition().decode()


def test_the_operator_series_do_not_grow_with_the_number_of_evaluations() -> None:
    metrics = OperatorMetrics()

    def sample_count() -> int:
        return sum(len(family.samples) for family in metrics.registry.collect())

    counts = []
    for n in range(300):  # three hundred evaluations of the serving version, each with new numbers
        status = _status((1, False))
        status["lastEvaluation"] = {"version": 1, "time": f"2026-01-01T00:{n // 60:02d}:{n % 60:02d}Z",
                                    "metrics": {"accuracy": 0.8 + n / 10000, "loss": 0.3 - n / 10000},
                                    "drift": {"maxPsi": n / 1000, "maxKs": n / 2000}}
        metrics.observe_status("ml", "churn", status)
        metrics.reconciles.labels("reconcile").inc()
        counts.append(sample_count())
    assert counts[1] == counts[-1], (counts[0], counts[1], counts[-1])
