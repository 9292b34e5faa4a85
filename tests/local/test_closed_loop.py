"""The whole closed loop with the real runtime, workers and model server on loopback.

One module-scoped run trains, gates and serves version 1 (asserting each phase on the way); every test
then continues from a copy of that stopped workspace, so the expensive first training happens once.
"""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from modelops.local.state_store import read_json
from modelops.workloads.data.synthetic import make_dataset, write_csv

from .harness import LocalDeployment, condition, last_evaluation, try_predict, version_states

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def first_version(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalDeployment]:
    deployment = LocalDeployment.create(tmp_path_factory.mktemp("first") / "ws")
    manifest = deployment.example / "modeldeployment.yaml"  # evaluate back to back: shorter tests
    manifest.write_text(manifest.read_text().replace("interval: 5s", "interval: 2s"))
    seen: list[str] = []

    def note_phase(status: dict) -> None:
        if status.get("phase") and (not seen or seen[-1] != status["phase"]):
            seen.append(status["phase"])

    try:
        deployment.start("--until", "serving")
        status = deployment.wait_for("version 1 serving",
                                     lambda s: s.get("phase") == "Serving", on_poll=note_phase)
        assert deployment.exit_code(timeout=60) == 0
        assert seen[0] == "Training" and seen[-1] == "Serving" and "Validating" in seen, seen
        assert seen.index("Training") < seen.index("Validating") < seen.index("Serving")
        assert status["servingVersion"] == 1 and version_states(status) == {1: "Serving"}
        for kind in ("Trained", "Validated", "Available", "Ready"):
            assert condition(status, kind)["status"] == "True", kind
        record = status["versions"][0]
        assert record["metrics"]["accuracy"] >= 0.8
        assert any(g.get("skipped") for g in record["gates"])  # first version: change gates skipped
        assert (deployment.state / "models" / "default" / "churn" / "1" / "saved_model.pb").exists()
        yield deployment
    finally:
        deployment.cleanup()


@pytest.fixture
def deployment(first_version: LocalDeployment, tmp_path: Path) -> Iterator[LocalDeployment]:
    copy = first_version.copy_to(tmp_path / "ws")
    try:
        yield copy
    finally:
        copy.cleanup()


def test_degradation_retrains_and_serves_the_new_version(deployment: LocalDeployment) -> None:
    deployment.start()
    healthy = deployment.wait_for("a healthy evaluation of v1",
                                  lambda s: last_evaluation(s).get("version") == 1 and "degraded" in last_evaluation(s))
    evaluation = last_evaluation(healthy)
    assert evaluation["degraded"] is False and evaluation["metrics"]["accuracy"] >= 0.8
    assert evaluation["drift"]["maxPsi"] < 0.25 and evaluation["drift"]["verdict"] == "NoDrift"
    assert condition(healthy, "Degraded")["status"] == "False"
    assert deployment.predict()["predictions"] and deployment.available_versions() == [1]

    deployment.generate("--shift", "2")  # the world moves: live, recent and validation data shift
    degraded = deployment.wait_for("degradation", lambda s: last_evaluation(s).get("degraded") is True)
    assert condition(degraded, "Degraded")["status"] == "True"
    # quality rules act at once; the first drifted evaluation is recorded, and drift alone would wait for
    # confirmation on distinct data (monitoring.drift.confirm)
    assert last_evaluation(degraded)["causes"] == ["Quality"]
    assert last_evaluation(degraded)["drift"]["verdict"] == "Drifted"
    assert "not acted on yet" in last_evaluation(degraded)["drift"]["message"]
    assert degraded["servingVersion"] == 1  # the degraded version keeps serving while we retrain

    served = deployment.wait_for("version 2 serving",
                                 lambda s: s.get("phase") == "Serving" and s.get("servingVersion") == 2)
    assert version_states(served) == {1: "Retired", 2: "Serving"}
    v2 = served["versions"][1]
    assert v2["trigger"] == "Degradation" and v2["baselineVersion"] == 1
    assert all(g["passed"] for g in v2["gates"]) and not any(g.get("skipped") for g in v2["gates"])
    deployment.wait_for("v1 unloaded", lambda s: deployment.available_versions() == [2], timeout=30)
    assert deployment.predict()["predictions"]

    assert deployment.interrupt() == 130  # Ctrl-C: children stopped, state kept
    assert not try_predict(deployment)
    assert deployment.status()["servingVersion"] == 2


def test_sigkill_at_any_point_resumes_without_duplicates_or_serving_gaps(deployment: LocalDeployment) -> None:
    deployment.generate("--shift", "2")
    deployment.start()
    failures: list[float] = []
    first_success = threading.Event()
    stop = threading.Event()

    def probe() -> None:  # serving must never stop once up, whatever happens to the runtime
        while not stop.is_set():
            if try_predict(deployment):
                first_success.set()
            elif first_success.is_set():
                failures.append(time.monotonic())
            time.sleep(0.2)

    prober = threading.Thread(target=probe, daemon=True)
    prober.start()
    try:
        deployment.wait_for("serving up", lambda s: first_success.is_set())
        training = deployment.wait_for("retraining v2", lambda s: (s.get("stage") or {}).get("id") == "train-v2")
        deployment.kill()
        assert training["servingVersion"] == 1
        deployment.start()
        deployment.wait_for("validating v2", lambda s: (s.get("stage") or {}).get("name") == "validate")
        deployment.kill()
        deployment.start()
        deployment.wait_for("version 2 serving", lambda s: s.get("phase") == "Serving" and s.get("servingVersion") == 2)
        deployment.kill()
        time.sleep(2)  # runtime dead: the server it left behind keeps answering
        assert try_predict(deployment) and deployment.available_versions() == [2]
        server_pid = read_json(deployment.dir / "serving" / "pid")["pid"]
        at_kill = deployment.status()
        # Evaluations the killed runtime made or started; one the new runtime starts itself can only exist
        # after it has run its loop, serving included (a "Serving" phase was already on disk at the kill).
        before = {last_evaluation(at_kill).get("stageId"), (at_kill.get("stage") or {}).get("id")}
        deployment.start()
        final = deployment.wait_for("an evaluation by the restarted runtime", lambda s: s.get("phase") == "Serving"
                                    and last_evaluation(s).get("version") == 2
                                    and last_evaluation(s).get("stageId") not in before)
        assert deployment.process is not None and deployment.process.alive()
        assert read_json(deployment.dir / "serving" / "pid")["pid"] == server_pid  # adopted, not started again
    finally:
        stop.set()
        prober.join(timeout=10)
    assert failures == [], f"{len(failures)} failed predictions while the runtime was killed and restarted"
    assert final["phase"] == "Serving" and version_states(final) == {1: "Retired", 2: "Serving"}
    assert sorted(p.name for p in (deployment.state / "models" / "default" / "churn").iterdir()
                  if p.name.isdigit()) == ["1", "2"]
    train_log = (deployment.dir / "stages" / "train-v2" / "log.txt").read_text()
    assert len(re.findall(r"^epoch 1:", train_log, re.MULTILINE)) == 1  # adopted, never trained twice
    assert deployment.interrupt() == 130


def test_rejected_candidate_keeps_the_old_version_serving(deployment: LocalDeployment) -> None:
    data = deployment.example / "data"
    x, y, names = make_dataset("binary-classification", 500, 8, seed=21, shift=2.0)
    write_csv(data / "live.csv", x, y, names, label_column="churned")  # the served model degrades...
    x, y, names = make_dataset("binary-classification", 1500, 8, seed=22)
    y = np.random.default_rng(5).integers(0, 2, size=y.shape[0])
    write_csv(data / "recent.csv", x, y, names, label_column="churned")  # ...and the retraining data is junk
    manifest = deployment.example / "modeldeployment.yaml"  # no second attempt during this test
    manifest.write_text(manifest.read_text().replace("cooldown: 5s", "cooldown: 10m"))
    deployment.start()
    rejected = deployment.wait_for("v2 rejected", lambda s: version_states(s).get(2) == "Rejected")
    assert rejected["phase"] == "Rejected" and rejected["servingVersion"] == 1
    assert version_states(rejected) == {1: "Serving", 2: "Rejected"}
    failed = [g for g in rejected["versions"][1]["gates"] if not g["passed"]]
    assert failed and {g["metric"] for g in failed} <= {"accuracy", "auc"}
    assert rejected["message"].startswith("version 2 rejected: accuracy")  # says which candidate, and why
    assert "version 1 keeps serving" in rejected["message"]
    assert condition(rejected, "Validated")["status"] == "False"
    assert condition(rejected, "Available")["status"] == "True"
    assert deployment.available_versions() == [1] and try_predict(deployment)
    assert not (deployment.state / "models" / "default" / "churn" / "3").exists()
