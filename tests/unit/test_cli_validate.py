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


def test_every_error_of_a_file_is_reported(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """A schema error does not hide a semantic one, and a bad first document does not hide the second."""
    text = SAMPLES[0].read_text()
    both = text.replace("epochs: 30", "epochs: ten").replace("metric: auc", "metric: mse")
    second_bad = text + "---\n" + text.replace("name: churn", "name: Bad_Name")
    (tmp_path / "both.yaml").write_text(both)
    (tmp_path / "two-docs.yaml").write_text(second_bad)
    assert main(["validate", str(tmp_path / "both.yaml"), str(tmp_path / "two-docs.yaml")]) == 1
    captured = capsys.readouterr()
    assert "spec.training.hyperparameters.epochs: expected an integer" in captured.err
    assert 'spec.validation.gates[1].metric: metric "mse" is not computed' in captured.err
    assert f"{tmp_path / 'two-docs.yaml'} (document 1): default/churn is valid" in captured.out
    assert f"{tmp_path / 'two-docs.yaml'} (document 2): invalid ModelDeployment:\n  metadata.name" in captured.err


def test_yaml_syntax_error_names_line_and_column(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    broken = tmp_path / "broken.yaml"
    broken.write_text("spec:\n  task: [binary\n  x: 1\n")
    assert main(["validate", str(broken)]) == 1
    err = capsys.readouterr().err
    assert err.startswith(f"{broken}: line 3 column 4: not valid YAML:") and "<unicode string>" not in err
