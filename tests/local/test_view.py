"""Terminal view: progress parsed from real worker log lines, plain output only on change."""

from __future__ import annotations

import io

from modelops.local.view import RunView, describe_evaluation, parse_training_progress

WORKER_LOG = """2026-11-22 12:33:40 INFO loading data/train.csv
epoch 1: loss=0.5748 accuracy=0.71 val_loss=0.3664 val_accuracy=0.84
epoch 2: loss=0.30841 accuracy=0.9 val_loss=0.21224 val_accuracy=0.93
"""


def test_last_epoch_line_gives_progress():
    progress = parse_training_progress(WORKER_LOG, total_epochs=12)
    assert progress is not None
    assert (progress.epoch, progress.total) == (2, 12)
    assert progress.metrics["loss"] == 0.30841
    assert progress.describe() == "epoch 2/12 loss=0.3084 val_loss=0.2122"


def test_no_progress_before_the_first_epoch():
    assert parse_training_progress("loading TensorFlow...\n") is None


def test_evaluation_line_shows_drift_and_reasons():
    line = describe_evaluation({"version": 1, "metrics": {"accuracy": 0.612},
                                "drift": {"maxPsi": 1.9, "maxKs": 0.5, "driftedFeature": "f3"},
                                "degraded": True, "reasons": ["accuracy 0.612 < min 0.8"]})
    assert line == "v1 accuracy=0.612 drift psi=1.900 ks=0.500 (f3) -> DEGRADED: accuracy 0.612 < min 0.8"


def test_plain_view_prints_only_changed_lines():
    out = io.StringIO()
    view = RunView(out, live=False)
    status = {"phase": "Training", "message": "training version 1", "stage": {"name": "train", "version": 1,
                                                                               "id": "train-v1"}}
    view.update("churn", status, None, "http://127.0.0.1:8501")
    first = out.getvalue().count("\n")
    view.update("churn", status, None, "http://127.0.0.1:8501")
    assert out.getvalue().count("\n") == first == 4
    view.update("churn", {**status, "phase": "Validating"}, None, "http://127.0.0.1:8501")
    assert out.getvalue().count("\n") == 5
    assert "phase=Validating" in out.getvalue().splitlines()[-1]


def test_live_view_redraws_in_place():
    out = io.StringIO()
    view = RunView(out, live=True)
    view.update("churn", {"phase": "Training"}, None, "http://127.0.0.1:8501")
    view.update("churn", {"phase": "Serving", "servingVersion": 1}, None, "http://127.0.0.1:8501")
    assert "\x1b[4F\x1b[J" in out.getvalue()  # cursor up over the 4-line panel, then clear
    assert "v1 at http://127.0.0.1:8501" in out.getvalue()


def test_plain_log_says_a_failure_once():
    """The event line carries the message; the phase line that follows does not repeat it."""
    out = io.StringIO()
    view = RunView(out, live=False)
    failed = "version 1 training failed: dataset d.csv: line 3 column 'x': empty"
    view.update("churn", {"phase": "Training", "message": "training version 1"}, None, "http://h")
    view.event("Warning", "TrainingFailed", failed)
    view.update("churn", {"phase": "Failed", "message": failed}, None, "http://h")
    assert out.getvalue().count(failed) == 1
    assert out.getvalue().splitlines()[-1].endswith("modelops run: churn  phase=Failed")
    view.update("churn", {"phase": "Serving", "message": "version 2 serving"}, None, "http://h")
    assert out.getvalue().splitlines()[-1].endswith("phase=Serving  version 2 serving")  # no event: message kept


def test_plain_log_says_a_failed_evaluation_once():
    out = io.StringIO()
    view = RunView(out, live=False)
    view.update("churn", {"phase": "Serving", "message": "version 1 is serving"}, None, "http://h")
    view.event("Warning", "EvaluationFailed", "version 1 evaluation failed: endpoint down")
    view.update("churn", {"phase": "Serving", "message": "version 1 is serving",
                          "lastEvaluation": {"version": 1, "error": "endpoint down"}}, None, "http://h")
    assert out.getvalue().count("endpoint down") == 1
    assert out.getvalue().splitlines()[-1].endswith("evaluation: v1 failed (see the event above)")
