"""The tune stage: KerasTuner searches the spec's search space; the summary carries the best values.

One process searches alone (parallelism 1). With parallelism N the stage is a gang of N + 1 processes in
KerasTuner's own distributed mode: member 0 is the chief that holds the oracle and serves it over gRPC,
members 1..N are tuners that ask it for trials. The search state lives in `<deployment>/.tuning-v<N>/`
on the model volume, so a restarted stage reloads every finished trial instead of running it again.
The chief (or the lone process) writes `tuning.json` there; the train stage that follows copies it and
the trials' TensorBoard logs into the version it publishes.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import shutil
import sys
import time
from concurrent import futures
from pathlib import Path
from typing import Any

import numpy as np

from modelops.contract.gang import GangError, GangMember, kerastuner_env, member_from_env
from modelops.contract.result import write_json
from modelops.workloads.config.stage import WorkloadConfig
from modelops.workloads.data.training_set import load_training_table
from modelops.workloads.distributed.multi_worker import resolve_members
from modelops.workloads.errors import INTERNAL_ERROR, INVALID_CONFIG, TOO_FEW_ROWS, TRIAL_FAILED, WorkloadError
from modelops.workloads.stages.fit import model_body, training_classes, training_targets

REPORT_FILE = "tuning.json"
LOGS_DIR = "logs"
BEST_TRIALS = 3
CHIEF_POLL_SECONDS = 0.2


def tuning_dir(cfg: WorkloadConfig, version: int | None = None) -> Path:
    return cfg.deployment_dir / f".tuning-v{cfg.version if version is None else version}"


def run_tune(cfg: WorkloadConfig) -> dict[str, Any]:
    """Search, then report the best trial's values; raises WorkloadError when no trial completed."""
    assert cfg.tuning is not None
    started = time.monotonic()
    member = _member(cfg)
    if member is not None:
        os.environ.update(kerastuner_env(_chief_resolved(member)))  # read by KerasTuner when the tuner is built
    tuner, fit_args = _prepare(cfg)
    with contextlib.redirect_stdout(sys.stderr):  # KerasTuner's progress display; stdout is for the result
        if member is not None and member.is_chief:
            _serve_oracle(tuner, workers=member.size - 1)
        else:  # alone, or a tuner asking the chief for trials
            tuner.search(**fit_args)
    if member is not None and not member.is_chief:
        return {"stage": "tune", "version": cfg.version, "member": member.index}
    report = _report(cfg, tuner.oracle, time.monotonic() - started)
    write_json(tuning_dir(cfg) / REPORT_FILE, report)
    if report["trials"]["completed"] == 0:
        reason, message = report["firstError"] or (TRIAL_FAILED, "no trial ran")
        raise WorkloadError(reason, f"all {report['trials']['total']} trials failed; the first: {message}")
    return {"stage": "tune", "version": cfg.version, **{k: report[k] for k in (
        "algorithm", "objective", "hyperparameters", "trials", "bestTrials", "durationSeconds")}}


def _member(cfg: WorkloadConfig) -> GangMember | None:
    assert cfg.tuning is not None
    if cfg.tuning.members <= 1:
        return None
    try:
        return member_from_env(os.environ, cfg.tuning.members)
    except GangError as exc:
        raise WorkloadError(INVALID_CONFIG, f"config.tuning.members: {exc}") from exc


def _chief_resolved(member: GangMember) -> GangMember:
    """A tuner dials the chief by address, resolved here like a training gang's peers (multi_worker.py): a
    chief that never appears fails the stage (GangIncomplete, naming it) instead of leaving KerasTuner's
    client waiting an hour for a name its gRPC resolver may not see."""
    if member.is_chief:
        return member
    (chief,) = resolve_members(GangMember(0, member.hosts[:1])).hosts
    return GangMember(member.index, (chief, *member.hosts[1:]))


def _prepare(cfg: WorkloadConfig) -> tuple[Any, dict[str, Any]]:
    """The tuner (reloading an interrupted search from its directory) and the arguments of every trial's fit."""
    import keras

    from modelops.workloads.tuning.search_space import SpecHyperModel

    assert cfg.tuning is not None
    data = load_training_table(cfg)
    holdout_rows = int(data.rows * cfg.tuning.holdout_fraction)
    if holdout_rows < 1 or data.rows - holdout_rows < 2:
        raise WorkloadError(TOO_FEW_ROWS, f"{data.rows} training rows leave too few to hold out "
                                          f"{cfg.tuning.holdout_fraction:g} of them for the objective")
    order = np.random.default_rng(cfg.hyperparameters.seed).permutation(data.rows)
    table = data.table.take(order)
    classes = training_classes(cfg, table.labels, data.primary.source)
    y = training_targets(cfg, table.labels, classes, table.source)
    weights = table.weights
    cut = data.rows - holdout_rows
    learn, held = table.take(np.arange(cut)), table.take(np.arange(cut, data.rows))
    hypermodel = SpecHyperModel(cfg, learn, (held.features(), y[cut:]), classes, body=model_body(cfg, classes))
    directory = tuning_dir(cfg)
    directory.mkdir(parents=True, exist_ok=True)
    tuner = _make_tuner(cfg, hypermodel, directory)
    fit_args = {"x": learn.features(), "y": y[:cut], "sample_weight": None if weights is None else weights[:cut],
                "epochs": cfg.hyperparameters.epochs,
                "callbacks": [keras.callbacks.TensorBoard(log_dir=str(directory / LOGS_DIR))]}
    return tuner, fit_args


def _make_tuner(cfg: WorkloadConfig, hypermodel: Any, directory: Path) -> Any:
    import keras_tuner

    from modelops.workloads.tuning.search_space import objective_direction, objective_name

    assert cfg.tuning is not None
    metric, trials = cfg.tuning.objective, cfg.tuning.max_trials
    common = {
        "hypermodel": hypermodel, "seed": cfg.hyperparameters.seed,
        "objective": keras_tuner.Objective(objective_name(metric), direction=objective_direction(metric)),
        "directory": str(directory.parent), "project_name": directory.name, "overwrite": False,
        # a failed trial is an outcome, not a reason to stop: the stage judges the whole search at the end
        "max_retries_per_trial": 0, "max_consecutive_failed_trials": trials + 1,
    }
    if cfg.tuning.algorithm == "random":
        return keras_tuner.RandomSearch(max_trials=trials, **common)
    if cfg.tuning.algorithm == "bayesian":
        return keras_tuner.BayesianOptimization(max_trials=trials, **common)
    tuner = keras_tuner.Hyperband(max_epochs=max(cfg.hyperparameters.epochs, 2), factor=3, **common)
    tuner.oracle.max_trials = trials  # Hyperband sizes its brackets from max_epochs; maxTrials still caps it
    return tuner


def _serve_oracle(tuner: Any, workers: int) -> None:
    """The chief: serve the oracle over gRPC with KerasTuner's own service (its OracleServicer) until every
    tuner was told to stop and no trial runs. KerasTuner's `search` on a chief runs the same service but
    ends it once the tuners that happened to be connected are done (checking every 20 s): a tuner that
    starts late would then wait an hour for a chief that is gone. Here the gang size says how many must
    be done, and the server lives exactly that long."""
    import grpc
    from keras_tuner.src import protos
    from keras_tuner.src.distribute.oracle_chief import OracleServicer
    from keras_tuner.src.engine.trial import TrialStatus

    oracle, stopped = tuner.oracle, set()
    create_trial = oracle.create_trial

    def counting_create_trial(tuner_id: str) -> Any:
        trial = create_trial(tuner_id)
        if trial.status == TrialStatus.STOPPED:
            stopped.add(tuner_id)
        return trial

    oracle.create_trial = counting_create_trial
    tuner.save()
    address = f"{os.environ['KERASTUNER_ORACLE_IP']}:{os.environ['KERASTUNER_ORACLE_PORT']}"
    server = grpc.server(futures.ThreadPoolExecutor(max_workers=1))  # one request at a time, as KerasTuner does
    protos.get_service_grpc().add_OracleServicer_to_server(OracleServicer(oracle), server)
    try:
        server.add_insecure_port(address)
    except RuntimeError as exc:
        raise WorkloadError(INTERNAL_ERROR, f"the search's chief cannot listen on {address}: {exc}") from exc
    server.start()
    try:
        while len(stopped) < workers or oracle.ongoing_trials:
            time.sleep(CHIEF_POLL_SECONDS)
    finally:
        server.stop(grace=2)


def _trial_values(trial: Any, cfg: WorkloadConfig) -> dict[str, Any]:
    from modelops.workloads.tuning.search_space import chosen_values

    values = {k: v for k, v in trial.hyperparameters.values.items() if not k.startswith("tuner/")}
    return chosen_values(values, cfg)


_REASON = re.compile(r"\[([A-Z][A-Za-z]+)\] (.*)")


def trial_error(message: str | None) -> tuple[str, str]:
    """(reason, one-line message) from a failed trial's traceback text."""
    lines = [line.strip() for line in (message or "").strip().splitlines() if line.strip()]
    last = lines[-1] if lines else "the trial failed without a message"
    found = next((m for line in reversed(lines) if (m := _REASON.search(line))), None)
    return (found.group(1), found.group(2)) if found else (TRIAL_FAILED, last[:500])


def _report(cfg: WorkloadConfig, oracle: Any, seconds: float) -> dict[str, Any]:
    from keras_tuner.src.engine.trial import TrialStatus

    from modelops.workloads.tuning.search_space import objective_direction

    assert cfg.tuning is not None
    trials = [oracle.trials[t] for t in oracle.start_order if t in oracle.trials]
    completed = [t for t in trials if t.status == TrialStatus.COMPLETED and t.score is not None
                 and np.isfinite(t.score)]
    failed = [t for t in trials if t.status in (TrialStatus.FAILED, TrialStatus.INVALID)]
    best = sorted(completed, key=lambda t: t.score, reverse=objective_direction(cfg.tuning.objective) == "max")
    first_failed = next((oracle.trials[t] for t in oracle.end_order if oracle.trials[t] in failed), None)
    rows = [{"trial": t.trial_id, "status": t.status, "value": float(t.score) if t.score is not None else None,
             "hyperparameters": _trial_values(t, cfg),
             **({"error": trial_error(t.message)[1]} if t in failed else {})} for t in trials]
    return {
        "stage": "tune", "version": cfg.version, "algorithm": cfg.tuning.algorithm,
        "objective": {"metric": cfg.tuning.objective, "direction": objective_direction(cfg.tuning.objective),
                      "value": float(best[0].score) if best else None},
        "hyperparameters": _trial_values(best[0], cfg) if best else {},
        "trials": {"total": len(trials), "completed": len(completed), "failed": len(failed)},
        "bestTrials": [{"trial": t.trial_id, "value": float(t.score), "hyperparameters": _trial_values(t, cfg)}
                       for t in best[:BEST_TRIALS]],
        "allTrials": rows,
        "firstError": list(trial_error(first_failed.message)) if first_failed is not None else None,
        "holdoutFraction": cfg.tuning.holdout_fraction, "parallelism": cfg.tuning.parallelism,
        "durationSeconds": round(seconds, 3),
    }


def attach_search(cfg: WorkloadConfig, out_dir: Path) -> dict[str, Any] | None:
    """For the train stage: the search behind its values, for report.json, with the trials' TensorBoard
    logs copied to `<version>/logs/tuning/` (so `tensorboard --logdir <version>/logs` compares them).
    A version that reuses an earlier search's values records which one (its directory is gone by then)."""
    if cfg.tuned_by is None:
        return None
    searched = tuning_dir(cfg, cfg.tuned_by)
    try:
        report = json.loads((searched / REPORT_FILE).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {"fromVersion": cfg.tuned_by, "model": {"hiddenLayers": list(cfg.model.hidden_layers),
                                                       "activation": cfg.model.activation,
                                                       "dropout": cfg.model.dropout},
                "hyperparameters": {"learningRate": cfg.hyperparameters.learning_rate,
                                    "batchSize": cfg.hyperparameters.batch_size,
                                    "optimizer": cfg.hyperparameters.optimizer}}
    if (searched / LOGS_DIR).is_dir():
        shutil.copytree(searched / LOGS_DIR, out_dir / LOGS_DIR / "tuning", dirs_exist_ok=True)
    return {"fromVersion": cfg.tuned_by, **report}


def remove_search(cfg: WorkloadConfig) -> None:
    """Once a version trained with a search's values is published, with that search's report and trial
    logs copied in, the search state (trial checkpoints) can go; later versions record where their values
    came from."""
    if cfg.tuned_by is not None:
        shutil.rmtree(tuning_dir(cfg, cfg.tuned_by), ignore_errors=True)
