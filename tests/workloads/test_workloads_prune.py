"""Retention's prune: removes exactly one numeric version directory, idempotently, and nothing else."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from modelops.workloads.stages.prune import PruneError, prune_version


def _versions(root: Path, *numbers: int) -> Path:
    base = root / "default" / "churn"
    for n in numbers:
        (base / str(n) / "variables").mkdir(parents=True)
        (base / str(n) / "saved_model.pb").write_bytes(b"model")
    return base


def test_prune_removes_only_that_version(tmp_path: Path) -> None:
    base = _versions(tmp_path, 1, 2, 3)
    summary = prune_version(tmp_path, "default", "churn", 2)
    assert summary["deleted"] is True
    assert sorted(p.name for p in base.iterdir()) == ["1", "3"]


def test_prune_of_a_missing_version_succeeds_without_deleting(tmp_path: Path) -> None:
    base = _versions(tmp_path, 1)
    assert prune_version(tmp_path, "default", "churn", 7)["deleted"] is False
    assert [p.name for p in base.iterdir()] == ["1"]


@pytest.mark.parametrize(("namespace", "name", "version"), [("..", "churn", 1), ("default", "a/b", 1),
                                                            ("default", "churn", 0), ("", "churn", 1)])
def test_prune_refuses_arguments_that_point_elsewhere(tmp_path: Path, namespace: str, name: str,
                                                      version: int) -> None:
    _versions(tmp_path, 1)
    with pytest.raises(PruneError):
        prune_version(tmp_path, namespace, name, version)
    assert (tmp_path / "default" / "churn" / "1" / "saved_model.pb").exists()


def test_prune_refuses_a_symlinked_version(tmp_path: Path) -> None:
    precious = tmp_path / "precious"
    precious.mkdir()
    base = _versions(tmp_path)
    base.mkdir(parents=True, exist_ok=True)
    (base / "4").symlink_to(precious)
    with pytest.raises(PruneError, match="not a version directory"):
        prune_version(tmp_path, "default", "churn", 4)
    assert precious.exists()


def test_worker_cli_writes_the_result_contract(tmp_path: Path) -> None:
    _versions(tmp_path, 5)
    result = tmp_path / "termination-log"
    run = subprocess.run([sys.executable, "-m", "modelops", "worker", "prune", "--storage-root", str(tmp_path),
                          "--namespace", "default", "--name", "churn", "--version", "5",
                          "--result-path", str(result)], capture_output=True, text=True, timeout=60)
    assert run.returncode == 0, run.stderr
    assert json.loads(result.read_text()) == {"stage": "prune", "version": 5, "deleted": True,
                                               "path": str(tmp_path / "default" / "churn" / "5")}
    bad = subprocess.run([sys.executable, "-m", "modelops", "worker", "prune", "--storage-root", str(tmp_path),
                          "--namespace", "..", "--name", "churn", "--version", "5", "--result-path", str(result)],
                         capture_output=True, text=True, timeout=60)
    assert bad.returncode == 1 and json.loads(result.read_text())["reason"] == "PruneFailed"


def test_pruning_a_version_removes_the_search_it_left_behind(tmp_path) -> None:
    from modelops.workloads.stages.prune import prune_version

    deployment = tmp_path / "ns" / "churn"
    (deployment / ".tuning-v3" / "trial_0").mkdir(parents=True)
    (deployment / ".tuning-v4").mkdir()
    prune_version(tmp_path, "ns", "churn", 3)
    assert sorted(p.name for p in deployment.iterdir()) == [".tuning-v4"]


def test_prune_archives_the_version_record_before_removing_its_files(tmp_path: Path) -> None:
    base = _versions(tmp_path, 2)
    record = {"version": 2, "state": "Retired", "gates": [{"metric": "accuracy", "passed": True}], "deletion": {}}
    prune_version(tmp_path, "default", "churn", 2, record)
    assert json.loads((base / "records" / "2.json").read_text()) == record
    assert not (base / "2").exists()
    # a retried removal (the files are already gone) still leaves the record in place
    assert prune_version(tmp_path, "default", "churn", 2, record)["deleted"] is False
    assert json.loads((base / "records" / "2.json").read_text()) == record


def test_worker_cli_archives_the_record_it_is_given_and_refuses_one_that_is_not_an_object(tmp_path: Path) -> None:
    base = _versions(tmp_path, 6, 7)
    result = tmp_path / "termination-log"
    argv = [sys.executable, "-m", "modelops", "worker", "prune", "--storage-root", str(tmp_path),
            "--namespace", "default", "--name", "churn", "--result-path", str(result)]
    run = subprocess.run([*argv, "--version", "6", "--record-json", '{"version": 6, "state": "Rejected"}'],
                         capture_output=True, text=True, timeout=60)
    assert run.returncode == 0, run.stderr
    assert json.loads((base / "records" / "6.json").read_text()) == {"version": 6, "state": "Rejected"}
    bad = subprocess.run([*argv, "--version", "7", "--record-json", "[1]"], capture_output=True, text=True,
                         timeout=60)
    assert bad.returncode == 1 and "--record-json" in json.loads(result.read_text())["error"]
    assert (base / "7").exists()  # nothing removed without its record
