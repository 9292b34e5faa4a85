"""A crash between 'the core decided to start a stage' and 'the stage was started' loses nothing."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from modelops.local.processes import adopt

from .harness import LocalDeployment, version_states

pytestmark = pytest.mark.slow


def test_stage_recorded_in_status_but_never_started_is_started_on_resume(tmp_path: Path) -> None:
    deployment = LocalDeployment.create(tmp_path / "ws")
    try:
        deployment.start("--until", "serving")
        deployment.wait_for("training v1", lambda s: (s.get("stage") or {}).get("id") == "train-v1")
        deployment.kill()
        stage_dir = deployment.dir / "stages" / "train-v1"
        worker = adopt(stage_dir / "pid")
        if worker is not None:
            worker.terminate(grace_seconds=5)
        shutil.rmtree(stage_dir)  # as if the runtime died right after persisting its decision

        deployment.start("--until", "serving")
        served = deployment.wait_for("version 1 serving", lambda s: s.get("servingVersion") == 1)
        assert version_states(served) == {1: "Serving"}
        assert "decided before the previous run stopped" in deployment.log()
        assert not any(r.get("reason") == "StageLost" for r in served["versions"])
    finally:
        deployment.cleanup()
