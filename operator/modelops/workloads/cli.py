"""`modelops worker train|validate|evaluate --config FILE`: run one stage and honour the result contract.

(`modelops worker prune ...` removes a version for retention; see prune.py.)

Success: summary (≤ 4 KiB) to resultPath and as the last line of stdout, exit 0.
Failure: `{"error", "reason", "stage", "version"}` the same way, a full failure report beside the model
when there is somewhere to put it, exit 1. Stage modules import lazily so a bad config or bad data
fails in a fraction of a second instead of after importing TensorFlow.
"""

from __future__ import annotations

import argparse
import datetime as dt
import importlib
import sys
import traceback
from pathlib import Path
from typing import Any

from modelops.contract.result import timestamped_path, write_json, write_summary
from modelops.workloads.config.stage import STAGES, WorkloadConfig, best_effort_result_path, load_config
from modelops.workloads.errors import INTERNAL_ERROR, INVALID_CONFIG, WorkloadError

EXIT_OK, EXIT_FAILED, EXIT_USAGE = 0, 1, 2

# stage -> (module, function returning the summary)
RUNNERS = {
    "tune": ("modelops.workloads.stages.tune", "run_tune"),
    "train": ("modelops.workloads.stages.train", "run_train"),
    "validate": ("modelops.workloads.stages.validate", "run_validate"),
    "evaluate": ("modelops.workloads.stages.evaluate", "run_evaluate"),
}


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="modelops worker", description="run one workload stage")
    parser.add_argument("stage", choices=STAGES)
    parser.add_argument("--config", required=True, help="stage config (JSON or YAML) written by the runtime")
    parser.add_argument("--result-path", help="override config.resultPath (where the summary goes)")
    return parser


def failure_report_path(cfg: WorkloadConfig) -> Path:
    """Where a failed run's full report goes: beside the version when it exists, else `failures/`.

    Always a new timestamped file, so a failure never replaces an earlier record.
    """
    now = dt.datetime.now(dt.UTC)
    version_dir = cfg.version_dir()
    if cfg.stage == "validate" and version_dir.is_dir():
        return timestamped_path(version_dir / "validations", now)
    if cfg.stage == "evaluate" and version_dir.is_dir():
        return timestamped_path(version_dir / "evaluations", now)
    return timestamped_path(cfg.deployment_dir / "failures", now, prefix=f"{cfg.stage}-{cfg.version}-")


def _emit(summary: dict[str, Any], result_path: str) -> None:
    try:
        text = write_summary(result_path, summary)
    except OSError as exc:
        print(f"modelops worker: cannot write result to {result_path}: {exc}", file=sys.stderr)
        from modelops.contract.result import render_summary
        text = render_summary(summary)
    print(text, flush=True)


def run_stage(stage: str, config_path: str, result_path: str | None = None) -> int:
    """Run one stage end to end; returns the exit code (the local runtime runs it as a child process)."""
    cfg: WorkloadConfig | None = None
    target = result_path or best_effort_result_path(config_path)
    try:
        cfg = load_config(config_path)
        target = result_path or cfg.result_path
        if cfg.stage != stage:
            raise WorkloadError(INVALID_CONFIG, f"config.stage: {cfg.stage!r} but the worker was started for "
                                                f"{stage!r} (in {config_path})")
        module_name, function = RUNNERS[stage]
        summary = getattr(importlib.import_module(module_name), function)(cfg)
    except WorkloadError as exc:
        return _fail(stage, cfg, target, exc.reason, exc.message, exc.details)
    except Exception as exc:  # an unexpected failure still honours the result contract
        traceback.print_exc(file=sys.stderr)
        return _fail(stage, cfg, target, INTERNAL_ERROR, f"{type(exc).__name__}: {exc}")
    _emit(summary, target)
    return EXIT_OK


def _fail(stage: str, cfg: WorkloadConfig | None, target: str, reason: str, message: str,
          details: dict[str, Any] | None = None) -> int:
    summary: dict[str, Any] = {**(details or {}), "stage": stage, "version": cfg.version if cfg else None,
                               "error": message, "reason": reason}
    print(f"modelops worker {stage}: {reason}: {message}", file=sys.stderr)
    if cfg is not None:
        try:
            write_json(failure_report_path(cfg), {**summary, "failedAt": dt.datetime.now(dt.UTC).isoformat()})
        except OSError as exc:
            print(f"modelops worker: cannot write failure report: {exc}", file=sys.stderr)
    _emit(summary, target)
    return EXIT_FAILED


def main(argv: list[str]) -> int:
    if argv[:1] == ["prune"]:  # retention has its own small contract: no config file, no dataset
        from modelops.workloads.stages.prune import main as prune_main

        return prune_main(argv[1:])
    try:
        args = _parser().parse_args(argv)
    except SystemExit as exc:
        return EXIT_USAGE if exc.code else EXIT_OK
    return run_stage(args.stage, args.config, args.result_path)
