"""A crash between 'the core decided to start a stage' and 'the stage was started' loses nothing.

Both crash states are built exactly, not raced with a kill: the state directory gets the status the
core persisted for its first decision (train-v1 in status.stage) and no stage directory. With no
journal entry the runtime must start the stage from status.stage; with the decision's actions still
in the state record's pending actions it must replay them. Either way: one training run, version 1 serves,
nothing is lost.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from modelops.api import parse_model_deployment
from modelops.lifecycle import Context, Reconcile, StartStage, decide
from modelops.local import journal
from modelops.local.cli import load_document
from modelops.local.state_store import StateStore, read_json, read_jsonl

from .harness import LocalDeployment, version_states

pytestmark = pytest.mark.slow


def _persist_first_decision(deployment: LocalDeployment, *, journal_entry: bool) -> StartStage:
    """Write what the runtime writes before it executes its first decision, and nothing after."""
    doc = parse_model_deployment(load_document(deployment.example / "modeldeployment.yaml"))
    store = StateStore(deployment.state.resolve(), doc.namespace, doc.name)
    generation = store.generation_for(doc.spec)
    decision = decide(Context(doc.spec, generation, datetime.now(UTC)), None, Reconcile())
    # status and its actions in one record (as the runtime writes it), or the status alone
    store.save(decision.status, [journal.encode(action) for action in decision.actions] if journal_entry else [])
    starts = [a for a in decision.actions if isinstance(a, StartStage)]
    assert [a.stage_id for a in starts] == ["train-v1"]
    assert not (store.dir / "stages").exists()
    return starts[0]


def _assert_recovered(deployment: LocalDeployment) -> None:
    # the record's pending actions are cleared once they ran: wait for that too
    served = deployment.wait_for("version 1 serving, journal consumed", lambda s: s.get("servingVersion") == 1
                                 and not read_json(deployment.dir / "state.json", {}).get("pending"))
    assert version_states(served) == {1: "Serving"}
    assert not any(r.get("reason") == "StageLost" for r in served["versions"])
    events = read_jsonl(deployment.dir / "events.jsonl")
    assert [e["reason"] for e in events].count("Trained") == 1, "the decided stage ran exactly once"
    assert sorted(p.name for p in (deployment.state / "models" / "default" / "churn").iterdir()
                  if p.name.isdigit()) == ["1"]


@pytest.mark.parametrize("journal_entry", [False, True], ids=["from-status-stage", "from-journal"])
def test_decided_but_unstarted_stage_is_started_once_on_resume(tmp_path: Path, journal_entry: bool) -> None:
    deployment = LocalDeployment.create(tmp_path / "ws")
    try:
        _persist_first_decision(deployment, journal_entry=journal_entry)
        deployment.start("--until", "serving")
        _assert_recovered(deployment)
    finally:
        deployment.cleanup()
