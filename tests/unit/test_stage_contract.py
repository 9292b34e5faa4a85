"""What a finished run means, decided once for both runtimes (a Job's termination message, a process's
result file): same inputs, same verdict, same reason codes."""

from __future__ import annotations

import json

import pytest

from modelops.contract.layout import LayoutError, deployment_dir, version_dir
from modelops.contract.reasons import NO_RESULT, UNREADABLE_RESULT, WORKER_FAILED
from modelops.contract.result import stage_outcome

OK = json.dumps({"stage": "train", "version": 3, "metrics": {"loss": 0.2}})
ERROR = json.dumps({"stage": "train", "version": 3, "error": "no column 'y'", "reason": "MissingLabelColumn"})


@pytest.mark.parametrize(("exited_ok", "text", "succeeded", "reason"), [
    (True, OK, True, None),
    (True, "epoch 1: loss=0.3\n" + OK, True, None),  # FallbackToLogsOnError: the last JSON line
    (False, ERROR, False, "MissingLabelColumn"),  # the worker said why: its reason wins
    (True, ERROR, False, "MissingLabelColumn"),
    (True, None, False, NO_RESULT),
    (True, "Segmentation fault", False, UNREADABLE_RESULT),
    (False, None, False, WORKER_FAILED),
    (False, "Traceback ...", False, WORKER_FAILED),
    (False, OK, False, WORKER_FAILED),  # a clean result but a failed exit is not a success
])
def test_stage_outcome(exited_ok: bool, text: str | None, succeeded: bool, reason: str | None) -> None:
    ok, result = stage_outcome(exited_ok, text, "Job churn-train-v3", failure_detail="exit code 1")
    assert ok is succeeded
    assert result.get("reason") == reason
    if not ok:
        assert result["error"]


def test_the_job_failure_reason_is_kept_when_the_worker_left_none() -> None:
    ok, result = stage_outcome(False, None, "Job churn-train-v3", failure_reason="DeadlineExceeded",
                               failure_detail="Job was active longer than specified deadline")
    assert not ok and result["reason"] == "DeadlineExceeded" and "deadline" in result["error"]


def test_storage_layout_is_one_rule_and_refuses_escaping_names() -> None:
    assert deployment_dir("/models/", "team-a", "churn") == "/models/team-a/churn"
    assert version_dir("/models", "team-a", "churn", 12) == "/models/team-a/churn/12"
    for bad in ("..", "a/b", ""):
        with pytest.raises(LayoutError):
            deployment_dir("/models", bad, "churn")
    with pytest.raises(LayoutError):
        version_dir("/models", "default", "churn", 0)
