"""Retraining that heals, with the real local runtime: no retraining dataset named, the world shifts, one
retrain on training + monitoring data recovers; with nothing new to learn from, no retrain at all."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml

from modelops.local.state_store import read_jsonl

from .harness import LocalDeployment, condition, last_evaluation, version_states

pytestmark = pytest.mark.slow


def _deployment(tmp_path: Path, edit: Callable[[dict[str, Any]], None]) -> LocalDeployment:
    deployment = LocalDeployment.create(tmp_path / "ws")
    manifest = deployment.example / "modeldeployment.yaml"
    doc = yaml.safe_load(manifest.read_text())
    doc["spec"]["monitoring"]["interval"] = "2s"
    doc["spec"]["retraining"] = {"maxAttempts": 3, "cooldown": "1s"}  # no retraining.dataset
    edit(doc["spec"])
    manifest.write_text(yaml.safe_dump(doc, sort_keys=False))
    return deployment


def _events(deployment: LocalDeployment) -> list[str]:
    return [e["reason"] for e in read_jsonl(deployment.dir / "events.jsonl")]


def test_shifted_world_heals_with_one_retrain_on_training_plus_monitoring_data(tmp_path: Path) -> None:
    deployment = _deployment(tmp_path, lambda spec: None)
    try:
        deployment.start()
        deployment.wait_for("version 1 serving", lambda s: s.get("servingVersion") == 1)
        deployment.generate("--shift", "2")  # validation, live (monitoring) and recent move; train.csv stays
        deployment.wait_for("version 2 serving", lambda s: s.get("servingVersion") == 2, timeout=300)
        # status.json is saved before the decision's actions run, so the Recovered event may land a moment
        # after the status that closed the episode: wait for both instead of racing the runtime.
        status = deployment.wait_for(
            "a healthy evaluation of version 2 and its Recovered event",
            lambda s: last_evaluation(s).get("version") == 2 and not last_evaluation(s).get("degraded")
            and "Recovered" in _events(deployment), timeout=120)
        assert version_states(status) == {1: "Retired", 2: "Serving"}, "one retrain, not maxAttempts"
        record = status["versions"][1]
        assert record["trigger"] == "Degradation"
        roles = [d["role"] for d in record["lineage"]["data"]]
        assert roles == ["training", "monitoring"] and record["lineage"]["inputsHash"]
        assert record["challenge"]["passed"] and record["challenge"]["candidate"] > record["challenge"]["serving"]
        # judged only on the ~30 % of live.csv that version 2 held out (seeded, stratified), never on its own rows
        held_out = record["lineage"]["data"][1]["heldOutRows"]
        assert 145 <= held_out <= 155 and record["challenge"]["rows"] == held_out
        assert record["challenge"]["excludedRows"] == {"candidate": 500 - held_out, "baseline": 0}
        assert record["challenge"]["pValue"] < 0.05
        recovered = last_evaluation(status)
        assert recovered["rows"] == held_out and recovered["excludedRows"]["trainedOn"] == 500 - held_out
        assert recovered["drift"]["verdict"] == "Inconclusive"  # no live row outside its training and reference
        assert recovered["metrics"]["accuracy"] >= 0.8  # the violated floor now passes
        assert status["retrain"] == {"attempts": 0}
        assert condition(status, "Degraded")["status"] == "False"
    finally:
        deployment.cleanup()


def test_no_retrain_when_the_data_cannot_change(tmp_path: Path) -> None:
    def unreachable_floor(spec: dict[str, Any]) -> None:
        spec["monitoring"]["degradation"] = [{"metric": "accuracy", "min": 0.995}]  # v1 cannot meet it
        spec["retraining"]["include"] = ["training"]  # and a retrain would read exactly train.csv again

    deployment = _deployment(tmp_path, unreachable_floor)
    try:
        deployment.start()
        status = deployment.wait_for(
            "degraded, retrain ruled out",
            lambda s: condition_reason(s, "Degraded") == "RetrainWouldRepeat", timeout=240)
        first_evaluations = status.get("evaluations", 0)
        status = deployment.wait_for("two more evaluations",
                                     lambda s: s.get("evaluations", 0) >= first_evaluations + 2, timeout=120)
        assert version_states(status) == {1: "Serving"} and status["servingVersion"] == 1
        assert status["phase"] == "Degraded" and status.get("candidateVersion") is None
        assert _events(deployment).count("RetrainWouldRepeat") == 1
        assert sorted(p.name for p in (deployment.state / "models" / "default" / "churn").iterdir()
                      if p.name.isdigit()) == ["1"]
    finally:
        deployment.cleanup()


def condition_reason(status: dict[str, Any], kind: str) -> str | None:
    found = [c for c in status.get("conditions", []) if c["type"] == kind]
    return found[0]["reason"] if found else None


def test_unchanged_data_never_retrains_and_label_noise_never_ships_a_worse_version(tmp_path: Path) -> None:
    deployment = _deployment(tmp_path, lambda spec: None)  # default holdout (0.3) and drift confirmation
    try:
        deployment.start()
        deployment.wait_for("version 1 serving", lambda s: s.get("servingVersion") == 1)
        status = deployment.wait_for("three evaluations of unchanged data",
                                     lambda s: s.get("evaluations", 0) >= 3, timeout=120)
        assert version_states(status) == {1: "Serving"} and "ModelDegraded" not in _events(deployment)
        deployment.generate("--noisy-live")  # the live labels become coin flips: nothing can be learned
        status = deployment.wait_for(
            "the loop stops with a reason", lambda s: condition_reason(s, "Degraded") == "RetrainWouldRepeat"
            or (s.get("failure") or {}).get("reason") == "RetriesExhausted", timeout=300)
        retrains = [v for v in status["versions"] if v.get("trigger") == "Degradation"]
        assert len(retrains) == 1, "one attempt per distinct data, not maxAttempts on the same rows"
        challenge = retrains[0]["challenge"]
        # judged only on held-out rows neither version learned from; blessed only when not worse there
        assert challenge["rows"] >= 20 and challenge["excludedRows"]["candidate"] > 0
        # coin-flip labels: no better than chance on rows it never saw, so it never ships
        assert retrains[0]["state"] == "Rejected" and retrains[0]["reason"] == "ChallengerNotBetter"
        assert status["servingVersion"] == 1 and challenge["pValue"] > 0.05
        assert "Recovered" not in _events(deployment)
        degraded = condition(status, "Degraded")
        assert f"version {retrains[0]['version']}" in degraded["message"] or status.get("failure")
    finally:
        deployment.cleanup()
