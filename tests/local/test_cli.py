"""`modelops run` / `modelops status` front doors: bad input is refused with the field or file named."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml
from unit.lifecycle_helpers import GOOD, Driver, measured_drift, sample_spec

from modelops.lifecycle import Reconcile
from modelops.local import cli as run_cli
from modelops.local import status_cli
from modelops.local.executor.stages import resolve_uri
from modelops.local.state_store import StateStore, append_jsonl

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


def test_invalid_spec_prints_every_error_with_its_field_and_exits_2(tmp_path, capsys):
    doc = yaml.safe_load((EXAMPLES / "churn" / "modeldeployment.yaml").read_text())
    doc["spec"]["validation"]["gates"][0]["metric"] = "acuracy"
    doc["spec"]["monitoring"]["interval"] = "soon"
    path = tmp_path / "md.yaml"
    path.write_text(yaml.safe_dump(doc))
    assert run_cli.main(["-f", str(path), "--state-dir", str(tmp_path / "state")]) == 2
    err = capsys.readouterr().err
    assert "spec.validation.gates[0].metric" in err and "acuracy" in err
    assert "spec.monitoring.interval" in err
    assert not (tmp_path / "state").exists()  # nothing started, nothing written


def test_missing_file_is_named(tmp_path, capsys):
    missing = tmp_path / "nope.yaml"
    assert run_cli.main(["-f", str(missing)]) == 2
    assert str(missing) in capsys.readouterr().err


def test_two_documents_in_one_file_are_refused(tmp_path, capsys):
    text = (EXAMPLES / "churn" / "modeldeployment.yaml").read_text()
    path = tmp_path / "two.yaml"
    path.write_text(text + "\n---\n" + text)
    assert run_cli.main(["-f", str(path)]) == 2
    assert "exactly one ModelDeployment" in capsys.readouterr().err


@pytest.mark.parametrize(("path", "name"), [("churn/modeldeployment.yaml", "churn"),
                                            ("churn/tuned-modeldeployment.yaml", "churn-tuned"),
                                            ("species/modeldeployment.yaml", "species"),
                                            ("prices/modeldeployment.yaml", "prices")])
def test_examples_are_valid_model_deployments(path, name):
    doc = run_cli.load_document(EXAMPLES / path)
    from modelops.api import parse_model_deployment

    assert parse_model_deployment(doc).name == name


def test_relative_dataset_uris_resolve_against_the_yaml_directory(tmp_path):
    assert resolve_uri("data/train.csv", tmp_path) == str(tmp_path / "data" / "train.csv")
    assert resolve_uri("/abs/train.csv", tmp_path) == "/abs/train.csv"
    assert resolve_uri("gs://bucket/train.csv", tmp_path) == "gs://bucket/train.csv"


def test_status_without_state_says_how_to_start(tmp_path, capsys):
    assert status_cli.main(["--state-dir", str(tmp_path)]) == 1
    assert "modelops run -f" in capsys.readouterr().err


TRAIN, LIVE, LIVE2 = "3f2a9c1e" + "0" * 56, "aade0e2f" + "0" * 56, "bb" * 32


def _data(sha: str, role: str, rows: int) -> dict:
    """A dataset fingerprint as the workers report it."""
    return {"role": role, "uri": f"/data/{role}.csv", "sha256": sha, "rows": rows, "rowsUsed": rows, "columns": 8,
            "schema": "s" * 16}


def _driven_core() -> Driver:
    """The lifecycle core itself, fed what the workers would report: v1 serves at accuracy 0.95; a healthy
    evaluation, then one at 0.6 on drifted data (psi 3.1) below the sample's floor; the retrained v2 fails
    its accuracy gate (0.51 < min 0.8); on new monitoring data v3 passes its gates but does not beat the
    serving version on the unseen monitoring rows. Every status field is one the core writes."""
    d = Driver(sample_spec(**{"retraining.dataset": None, "retraining.cooldown": "1s"}))
    d.feed(Reconcile())
    d.finish(metrics={"loss": 0.3}, lineage={"data": [_data(TRAIN, "training", 1500)]})
    d.finish(metrics={**GOOD, "accuracy": 0.95})
    d.serve_ready(1)
    d.evaluate(metrics={"accuracy": 0.94}, drift=measured_drift([0.5, 0.6, 0.7], psi=[0.1, 0.05, 0.02]))
    for live, candidate, challenger in ((LIVE, 0.51, 0.6), (LIVE2, 0.93, 0.58)):
        d.advance(60)
        d.evaluate(metrics={"accuracy": 0.6}, drift=measured_drift([1e-9, 0.5, 0.6], psi=[3.1, 0.1, 0.05]),
                   lineage={"data": _data(live, "monitoring", 500), "retrainInputs": [_data(TRAIN, "training", 1500)]})
        trained_on = [_data(TRAIN, "training", 1500), _data(live, "monitoring", 500)]
        d.finish(metrics={"loss": 0.2}, lineage={"data": trained_on})
        d.finish(metrics={**GOOD, "accuracy": candidate}, baselineMetrics={**GOOD, "accuracy": 0.6},
                 challenge={"rows": 100, "candidate": {"accuracy": challenger}, "baseline": {"accuracy": 0.6}})
    return d


def _recorded_deployment(root: Path) -> StateStore:
    """What the local runtime keeps for the driven core: its status, and each new evaluation in the history."""
    d = _driven_core()
    store = StateStore(root, "default", "churn")
    store.save_status(d.status)
    seen: list[dict] = []
    for decision in d.history:
        evaluation = decision.status.get("lastEvaluation")
        if evaluation and evaluation not in seen:
            seen.append(evaluation)
            append_jsonl(store.history_path, {"kind": "evaluation", **evaluation})
    return store


def test_status_text_shows_versions_gates_and_drift(tmp_path, capsys):
    spec_hash = _recorded_deployment(tmp_path).load_status()["versions"][0]["lineage"]["trainingSpecHash"]
    assert status_cli.main(["churn", "--state-dir", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert "phase=Rejected" in out and "Validated    False   ChallengerNotBetter" in out
    # the header names the validation number as such and shows the live one beside it
    assert "validation accuracy=0.95  live accuracy=0.6" in out.splitlines()[0]
    versions = out[out.index("Versions:"):out.index("Lineage:")]
    assert "accuracy 0.51 < min 0.8 (failed 1/3 gate checks)" in versions  # the Validated event's own words
    assert "passed 3/3 gate checks" in versions and "GateFailed" in versions
    assert "psi=3.100" in out and "DEGRADED: accuracy 0.6 < min 0.75" in out
    lineage = out[out.index("Lineage:"):]
    assert "training 3f2a9c1e 1500, monitoring aade0e2f 500" in lineage and "monitoring bbbbbbbb 500" in lineage
    assert spec_hash in lineage
    assert "did not beat serving on 100 unseen monitoring rows: accuracy 0.58 vs 0.6" in lineage


def test_status_json_is_the_status_document(tmp_path, capsys):
    store = _recorded_deployment(tmp_path)
    assert status_cli.main(["--state-dir", str(tmp_path), "-o", "json"]) == 0
    assert json.loads(capsys.readouterr().out) == store.load_status()


def test_plot_writes_a_png(tmp_path):
    _recorded_deployment(tmp_path)
    target = tmp_path / "out" / "metrics.png"
    assert status_cli.main(["--state-dir", str(tmp_path), "--plot", str(target)]) == 0
    assert target.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_status_lists_every_deployment_when_none_is_named(tmp_path, capsys):
    _recorded_deployment(tmp_path)
    StateStore(tmp_path, "team-a", "prices").save_status({"phase": "Training", "message": "training version 1"})
    assert status_cli.main(["--state-dir", str(tmp_path)]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].split()[:3] == ["NAMESPACE", "NAME", "PHASE"]
    assert [line.split()[:3] for line in lines[1:]] == [["default", "churn", "Rejected"],
                                                        ["team-a", "prices", "Training"]]
    assert status_cli.main(["prices", "--state-dir", str(tmp_path)]) == 0
    assert "team-a/prices  phase=Training" in capsys.readouterr().out


def test_status_into_a_closed_pipe_exits_quietly(tmp_path):
    """`modelops status | head`: exit 141 (as SIGPIPE would), no BrokenPipeError traceback."""
    import os
    import subprocess
    import sys

    store = StateStore(tmp_path, "default", "churn")
    store.save_status({"phase": "Serving", "versions": [{"version": i, "state": "Retired", "message": "x" * 200}
                                                        for i in range(1, 2000)]})
    env = {**os.environ, "PYTHONPATH": str(Path(status_cli.__file__).parents[2])}
    proc = subprocess.Popen([sys.executable, "-m", "modelops.cli", "status", "churn", "--state-dir", str(tmp_path),
                             "-o", "json"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env)
    assert proc.stdout is not None and proc.stdout.readline().strip() == b"{"
    proc.stdout.close()  # the reader goes away, like `head -1`
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 141 and b"Traceback" not in err, err.decode()
