"""`modelops validate`: the operator's own checks for GitOps pipelines, with the file and field named."""

from __future__ import annotations

from pathlib import Path

import pytest

from modelops.cli import main

SAMPLES = sorted((Path(__file__).resolve().parents[2] / "manifests" / "samples").glob("*.yaml"))


def test_valid_samples_pass(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["validate", *map(str, SAMPLES)]) == 0
    assert capsys.readouterr().out.count("is valid") == len(SAMPLES)


def test_invalid_file_fails_naming_file_and_field(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text(SAMPLES[0].read_text().replace("epochs: 30", "epochs: -3"))
    missing = tmp_path / "missing.yaml"
    assert main(["validate", str(bad), str(missing)]) == 1
    err = capsys.readouterr().err
    assert f"{bad}: invalid ModelDeployment" in err and "spec.training.hyperparameters.epochs" in err
    assert str(missing) in err


def test_unknown_command_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["deploy"]) == 2
    assert "unknown command 'deploy'" in capsys.readouterr().err
