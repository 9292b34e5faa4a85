"""Real training for each task, the published version's layout and signature, and atomic publishing."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time

import pytest

from modelops.workloads.data.synthetic import make_dataset, write_csv

from .conftest import GOOD, SMALL_MODEL, base_config, predict_in_process, run_worker

pytestmark = pytest.mark.slow


def test_binary_training_reaches_accuracy_and_publishes_a_complete_version(binary_versions):
    run = binary_versions.train_results[2]
    assert run.result["stage"] == "train" and run.result["version"] == 2 and run.result["rows"] == 500
    assert run.result["metrics"]["val_accuracy"] >= 0.9, run.result
    version_dir = binary_versions.deployment_dir / "2"
    for name in ("saved_model.pb", "variables", "profile.json", "report.json", "logs"):
        assert (version_dir / name).exists(), name
    assert list((version_dir / "logs").rglob("events.out.tfevents.*")), "TensorBoard logs"
    report = json.loads((version_dir / "report.json").read_text())
    assert report["featureNames"] == [f"f{i}" for i in range(6)]
    assert report["data"]["sha256"] and report["data"]["rows"] == 500 and report["tensorflowVersion"]
    assert report["label"]["classCounts"]["0"] + report["label"]["classCounts"]["1"] == 500
    # early stopping restored the best epoch's weights; the reported metrics are that epoch's
    best = report["bestEpoch"] - 1
    val_loss = report["history"]["val_loss"]
    assert val_loss[best] == min(val_loss) == run.result["metrics"]["val_loss"]
    assert not [p for p in binary_versions.deployment_dir.iterdir() if p.name.startswith(".tmp-")]


def test_serving_signature_contract(binary_versions, multiclass_version, regression_version):
    import tensorflow as tf

    for deployment, key, width in ((binary_versions, "probabilities", 1), (multiclass_version, "probabilities", 3),
                                   (regression_version, "predictions", 1)):
        loaded = tf.saved_model.load(str(deployment.deployment_dir / "1"))
        signature = loaded.signatures["serving_default"]
        inputs = signature.structured_input_signature[1]
        names = json.loads((deployment.deployment_dir / "1" / "report.json").read_text())["featureNames"]
        assert sorted(inputs) == sorted(names) and len(names) == 6  # one scalar float32 input per column
        assert all(spec.dtype == tf.float32 and spec.shape.as_list() == [None] for spec in inputs.values())
        outputs = signature.structured_outputs
        assert outputs[key].shape.as_list() == [None, width]
        if key == "probabilities":  # classifiers also answer the class names, and offer TF Serving's Classify
            assert sorted(outputs) == ["classes", "probabilities"] and outputs["classes"].dtype == tf.string
            assert sorted(loaded.signatures["classify"].structured_outputs) == ["classes", "scores"]
        else:
            assert list(outputs) == [key] and list(loaded.signatures["regress"].structured_outputs) == ["outputs"]


def test_multiclass_training_infers_classes_and_reaches_accuracy(multiclass_version):
    report = json.loads((multiclass_version.deployment_dir / "1" / "report.json").read_text())
    assert report["label"]["numClasses"] == 3
    _, y, outputs = predict_in_process(multiclass_version.deployment_dir / "1", multiclass_version.holdout_csv)
    assert (outputs.argmax(axis=1) == y).mean() >= 0.85


def test_regression_training_fits(regression_version):
    _, y, outputs = predict_in_process(regression_version.deployment_dir / "1", regression_version.holdout_csv)
    assert ((outputs[:, 0] - y) ** 2).mean() < 0.1 * y.var()


def test_existing_version_is_never_overwritten(binary_versions, tmp_path):
    before = (binary_versions.deployment_dir / "2" / "saved_model.pb").read_bytes()
    other = {**GOOD, "seed": GOOD["seed"] + 1}
    config = base_config("train", "binary-classification", binary_versions.root, binary_versions.train_csv, 2,
                         tmp_path / "again.result", model=SMALL_MODEL, hyperparameters=other)
    run = run_worker(config, tmp_path)
    assert run.code == 1 and run.result["reason"] == "VersionExists"
    assert "version 2 already exists" in run.result["error"]
    assert (binary_versions.deployment_dir / "2" / "saved_model.pb").read_bytes() == before


def test_rerun_of_a_published_version_adopts_it(binary_versions, tmp_path):
    """A pod killed after publishing (or retried by the Job) reports the published run instead of failing."""
    before = (binary_versions.deployment_dir / "2" / "saved_model.pb").read_bytes()
    report = json.loads((binary_versions.deployment_dir / "2" / "report.json").read_text())
    config = base_config("train", "binary-classification", binary_versions.root, binary_versions.train_csv, 2,
                         tmp_path / "rerun.result", model=SMALL_MODEL, hyperparameters=GOOD)
    run = run_worker(config, tmp_path)
    assert run.code == 0 and run.result["adopted"] is True
    assert run.result["metrics"] == report["metrics"]
    assert (binary_versions.deployment_dir / "2" / "saved_model.pb").read_bytes() == before


def test_killed_training_leaves_no_version_and_the_retry_cleans_up(tmp_path):
    x, y, names = make_dataset("binary-classification", 1000, 6, seed=1)
    dataset = write_csv(tmp_path / "train.csv", x, y, names)
    root = tmp_path / "models"
    long = {**GOOD, "epochs": 500, "batchSize": 8, "earlyStopping": {"enabled": False}}
    config = base_config("train", "binary-classification", root, dataset, 1, tmp_path / "r", hyperparameters=long)
    config_path = tmp_path / "config.json"
    config_path.write_text(json.dumps(config))
    proc = subprocess.Popen([sys.executable, "-m", "modelops", "worker", "train", "--config", str(config_path)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
                            env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2"})
    try:
        deadline = time.monotonic() + 120
        for line in proc.stderr:  # wait until training is really under way (an epoch has finished)
            if line.startswith("epoch 1:") or time.monotonic() > deadline:
                break
        assert proc.poll() is None, "training ended before it could be killed"
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    deployment = root / "default" / "churn"
    assert not (deployment / "1").exists()
    leftovers = [p.name for p in deployment.iterdir() if p.name.startswith(".tmp-1-")]
    assert leftovers, "the half-written version stays hidden in a dot-directory"
    quick = {**GOOD, "epochs": 1}
    retry = run_worker(base_config("train", "binary-classification", root, dataset, 1, tmp_path / "r2",
                                   hyperparameters=quick), tmp_path)
    assert retry.code == 0 and (deployment / "1" / "saved_model.pb").is_file()
    assert not [p for p in deployment.iterdir() if p.name.startswith(".tmp-")]
