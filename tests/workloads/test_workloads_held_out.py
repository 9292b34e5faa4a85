"""No judgement scores a row the version was trained on: a real retrain on training + monitoring data holds
part of the monitoring rows out, and the challenge, the evaluation that would declare it recovered, and its
drift verdicts read only rows it never learned from (recorded here at the point each one scores rows)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest

import modelops.workloads.stages.evaluate as evaluate_stage
import modelops.workloads.stages.validate as validate_stage
from modelops.workloads.config.stage import DatasetSpec
from modelops.workloads.data.row_identity import holdout_split, load_row_sets, row_hashes
from modelops.workloads.data.synthetic import make_dataset, write_csv
from modelops.workloads.data.table_reader import load_table
from modelops.workloads.model.export import load_predictor
from modelops.workloads.quality.paired_significance import challenger_p_value

from .conftest import NAME, SMALL_MODEL

pytestmark = pytest.mark.slow
QUICK = {"epochs": 3, "batchSize": 32, "learningRate": 0.02, "optimizer": "adam", "seed": 7,
         "validationSplit": 0.0, "earlyStopping": {"enabled": False}}


class InProcessServing:
    """Answers evaluate's predict calls with the version's SavedModel and remembers every row it was sent
    (stands in for TF Serving only as the place where rows get scored)."""

    def __init__(self, version_dir: Path, task: str, seen: list[np.ndarray]) -> None:
        self.predict_fn, self.seen = load_predictor(version_dir, task), seen

    def predict(self, features: dict[str, np.ndarray], version: int, batch_size: int = 64) -> np.ndarray:
        self.seen.append(np.column_stack(list(features.values())).astype(np.float32))
        return self.predict_fn(features)

    def describe(self, version: int) -> str:
        return f"in-process v{version}"


def _rows(csv: Path, task: str) -> tuple[np.ndarray, np.ndarray]:
    """The rows as every stage reads them (features at the float32 the model reads), so their fingerprints
    match the stages' (`table_row_hashes`)."""
    table = load_table(DatasetSpec(str(csv)), task)
    return np.column_stack([table.columns[n] for n in table.feature_names]).astype(np.float32), table.labels


def test_the_paired_test_finds_a_real_gain_and_not_a_lucky_one() -> None:
    rng = np.random.default_rng(5)
    y = rng.integers(0, 2, size=200)
    serving = rng.random(200)  # coin flips
    better = np.where(rng.random(200) < 0.8, y, 1 - y).astype(np.float64)  # right on ~80 % of rows
    lucky = rng.random(200)  # another coin: no better, however its accuracy happens to come out
    assert challenger_p_value("binary-classification", y, better, serving) < 1e-6
    assert challenger_p_value("binary-classification", y, lucky, serving) > 0.01
    assert challenger_p_value("binary-classification", y, serving, serving) == 1.0
    target = rng.normal(size=200)
    close, far = target + 0.1 * rng.normal(size=200), target + rng.normal(size=200)
    assert challenger_p_value("regression", target, close, far) < 1e-6


def test_stratified_holdout_is_seeded_and_keeps_each_label_share() -> None:
    y = np.array([0] * 80 + [1] * 20)
    learn, held = holdout_split(y, 0.3, seed=7, stratify=True)
    again_learn, again_held = holdout_split(y, 0.3, seed=7, stratify=True)
    assert np.array_equal(held, again_held) and np.array_equal(learn, again_learn)
    assert (np.sum(y[held] == 0), np.sum(y[held] == 1)) == (24, 6)
    assert np.intersect1d(learn, held).size == 0 and learn.size + held.size == 100
    assert not np.array_equal(held, holdout_split(y, 0.3, seed=8, stratify=True)[1])


def test_no_judgement_scores_a_row_the_version_was_trained_on(worker, tmp_path: Path, monkeypatch) -> None:
    task = "binary-classification"
    x, y, names = make_dataset(task, 300, 6, seed=1)
    lx, ly, _ = make_dataset(task, 200, 6, seed=3, shift=1.0)
    train_csv, live_csv = write_csv(tmp_path / "train.csv", x, y, names), write_csv(tmp_path / "live.csv", lx, ly,
                                                                                    names)
    root = tmp_path / "models"
    common: dict[str, Any] = {"root": root, "model": SMALL_MODEL, "hyperparameters": QUICK}
    assert worker("train", task, train_csv, version=1, **common).code == 0
    monitoring = {"uri": str(live_csv), "labelColumn": "label", "role": "monitoring", "holdout": 0.3}
    retrain = worker("train", task, train_csv, version=2, extraDatasets=[monitoring], **common)
    assert retrain.code == 0, retrain.result
    entry = retrain.result["lineage"]["data"][1]
    assert (entry["rowsUsed"], entry["heldOutRows"], entry["holdout"], entry["stratified"]) == (140, 60, 0.3, True)
    assert retrain.result["schemaCheck"] == {"version": 2, "rows": 200, "anomalies": [], "counts": {}, "more": 0}

    versions = root / "default" / NAME
    x, y = _rows(train_csv, task)
    lx, ly = _rows(live_csv, task)
    live = row_hashes(lx, ly)
    v1, v2 = load_row_sets(versions / "1"), load_row_sets(versions / "2")
    assert np.isin(row_hashes(x, y), v2.trained).all() and np.isin(live, v2.trained).sum() == 140
    # the drift reference: exactly the held-out live rows, none of them trained on
    assert np.intersect1d(v2.reference, v2.trained).size == 0 and v2.reference.size == 60
    assert np.isin(v2.reference, live).all()

    scored: list[np.ndarray] = []
    original = validate_stage.model_outputs

    def recording_outputs(info, table):
        if table.source == str(live_csv):
            x = np.column_stack([table.columns[name] for name in table.feature_names]).astype(np.float32)
            scored.append(row_hashes(x, table.labels))
        return original(info, table)

    monkeypatch.setattr(validate_stage, "model_outputs", recording_outputs)
    validated = worker("validate", task, train_csv, version=2, root=root, baselineVersion=1,
                       challengeDataset=monitoring)
    challenge = validated.result["challenge"]
    assert (challenge["rows"], challenge["totalRows"]) == (60, 200)
    assert challenge["excludedRows"] == {"candidate": 140, "baseline": 0} and 0.0 <= challenge["pValue"] <= 1.0
    assert scored and all(not np.isin(h, v2.trained).any() and not np.isin(h, v1.trained).any() for h in scored)

    sent: list[np.ndarray] = []
    drift_rows: list[int] = []
    original_drift = evaluate_stage.compute_table_drift
    monkeypatch.setattr(evaluate_stage, "choose_client",
                        lambda cfg: (InProcessServing(versions / str(cfg.version), task, sent), "rest"))
    monkeypatch.setattr(evaluate_stage, "compute_table_drift",
                        lambda profile, rows: drift_rows.append(rows.rows) or original_drift(profile, rows))
    evaluated = worker("evaluate", task, live_csv, version=2, root=root, endpoint="http://unused:8501")
    assert evaluated.code == 0, evaluated.result
    assert (evaluated.result["rows"], evaluated.result["totalRows"]) == (60, 200)
    assert evaluated.result["excludedRows"] == {"trainedOn": 140, "driftReference": 60}
    sent_rows = np.concatenate(sent)
    sent_hashes = row_hashes(sent_rows, ly[np.isin(live, v2.reference)])  # the held-out rows, in file order
    assert sent_rows.shape[0] == 60 and not np.isin(sent_hashes, v2.trained).any()
    # drift compares no live row with itself: the reference rows and the trained rows are both left out
    assert drift_rows[0] == 0 and evaluated.result["drift"]["referenceRows"] == 60

    # new labelled rows arrive: they are judged (quality and drift), the trained ones still are not
    nx, ny, _ = make_dataset(task, 50, 6, seed=4, shift=1.0)
    grown = write_csv(tmp_path / "live.csv", np.vstack([lx, nx]), np.concatenate([ly, ny]), names)
    later = worker("evaluate", task, grown, version=2, root=root, endpoint="http://unused:8501")
    assert (later.result["rows"], later.result["excludedRows"]["trainedOn"]) == (110, 140)
    assert drift_rows[-1] == 50


def test_a_concept_shift_retrain_picks_the_recipe_that_learned_the_new_world(worker, tmp_path: Path) -> None:
    task = "binary-classification"
    x, y, names = make_dataset(task, 300, 6, seed=1)
    lx, ly, _ = make_dataset(task, 200, 6, seed=3)
    train_csv = write_csv(tmp_path / "train.csv", x, y, names)
    live_csv = write_csv(tmp_path / "live.csv", lx, 1 - ly, names)  # concept shift: the rule flipped
    root = tmp_path / "models"
    monitoring = {"uri": str(live_csv), "labelColumn": "label", "role": "monitoring", "holdout": 0.3}
    run = worker("train", task, train_csv, version=2, root=root, model=SMALL_MODEL, hyperparameters=QUICK,
                 extraDatasets=[monitoring], recipes={"count": 3, "metric": "accuracy"})
    assert run.code == 0, run.result
    recipes = run.result["recipes"]
    scores = {r["name"]: r["value"] for r in recipes["tried"]}
    assert list(scores) == ["configured", "balanced", "recent"] and recipes["heldOutRows"] == 60
    # 300 old-world rows outvote 140 new ones in the configured mixture; the new rows alone learn the new rule
    assert recipes["chosen"] != "configured" and scores[recipes["chosen"]] > scores["configured"] + 0.2
    assert [r["rows"] for r in recipes["tried"]] == [440, 440, 140]
    versions = root / "default" / NAME
    assert sorted(p.name for p in versions.iterdir()) == ["2"]  # the losers' files are gone
    assert np.isin(load_row_sets(versions / "2").reference, load_row_sets(versions / "2").trained).sum() == 0
