"""What `modelops run` shows while it works: a small live panel on a terminal, plain log lines otherwise.

The panel is redrawn in place (phase, stage in flight with training progress, serving, last evaluation);
events scroll above it. Piped output (CI, `| tee`) gets one timestamped line per change instead, so logs
stay readable and greppable.
"""

from __future__ import annotations

import re
import shutil
import sys
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, TextIO

_EPOCH_LINE = re.compile(r"^epoch (\d+): (.*)$", re.MULTILINE)
_KEY_VALUE = re.compile(r"(\w+)=([-+0-9.eE]+|nan|inf)")


@dataclass(frozen=True)
class TrainingProgress:
    epoch: int
    total: int | None
    metrics: dict[str, float]

    def describe(self) -> str:
        total = f"/{self.total}" if self.total else ""
        shown = " ".join(f"{k}={v:.4g}" for k, v in self.metrics.items() if k in ("loss", "val_loss"))
        return f"epoch {self.epoch}{total} {shown}".rstrip()


def parse_training_progress(log_text: str, total_epochs: int | None = None) -> TrainingProgress | None:
    """The last `epoch N: loss=... ` line a train worker printed, or None before the first epoch ends."""
    matches = _EPOCH_LINE.findall(log_text)
    if not matches:
        return None
    epoch, rest = matches[-1]
    metrics = {}
    for key, value in _KEY_VALUE.findall(rest):
        try:
            metrics[key] = float(value)
        except ValueError:
            continue
    return TrainingProgress(int(epoch), total_epochs, metrics)


def describe_evaluation(evaluation: Mapping[str, Any] | None) -> str:
    """One line for status.lastEvaluation: metrics, drift, verdict."""
    if not evaluation:
        return "none yet"
    if evaluation.get("error"):
        return f"v{evaluation.get('version')} failed: {evaluation['error']}"
    metrics = evaluation.get("metrics") or {}
    shown = " ".join(f"{k}={v:.3f}" for k, v in metrics.items() if isinstance(v, (int, float)))
    drift = evaluation.get("drift") or {}
    drift_text = ""
    if drift.get("maxPsi") is not None or drift.get("maxKs") is not None:
        drift_text = (f" drift psi={_num(drift.get('maxPsi'))} ks={_num(drift.get('maxKs'))}"
                      f" ({drift.get('driftedFeature') or '-'})")
    verdict = "DEGRADED: " + "; ".join(evaluation.get("reasons") or []) if evaluation.get("degraded") else "ok"
    return f"v{evaluation.get('version')} {shown}{drift_text} -> {verdict}"


def _num(value: Any) -> str:
    return f"{value:.3f}" if isinstance(value, (int, float)) else "-"


def _clock() -> str:
    return datetime.now(UTC).strftime("%H:%M:%S")


class RunView:
    """Renders the runtime's state; `live=None` picks the panel only when the stream is a terminal."""

    def __init__(self, stream: TextIO | None = None, live: bool | None = None) -> None:
        self.stream = stream or sys.stdout
        self.live = self.stream.isatty() if live is None else live
        self._drawn = 0
        self._last_lines: list[str] = []
        self._last_plain: dict[str, str] = {}
        self._told_by_event: set[str] = set()  # panel lines whose news an event line already printed

    def panel_lines(self, name: str, status: Mapping[str, Any], progress: TrainingProgress | None,
                    endpoint: str) -> list[str]:
        stage = status.get("stage") or {}
        stage_text = f"{stage.get('name')} v{stage.get('version')} ({stage.get('id')})" if stage else "idle"
        if progress is not None and stage.get("name") == "train":
            stage_text += f"  {progress.describe()}"
        serving = status.get("servingVersion")
        return [
            f"modelops run: {name}  phase={status.get('phase', 'Pending')}  {status.get('message', '')}".rstrip(),
            f"  stage:      {stage_text}",
            f"  serving:    {'v' + str(serving) + ' at ' + endpoint if serving else 'nothing yet'}",
            f"  evaluation: {describe_evaluation(status.get('lastEvaluation'))}",
        ]

    def update(self, name: str, status: Mapping[str, Any], progress: TrainingProgress | None,
               endpoint: str) -> None:
        lines = self.panel_lines(name, status, progress, endpoint)
        if self.live:
            if lines != self._last_lines:
                self._redraw(lines)
            return
        self._plain_changes(lines, status.get("message", ""))

    def _plain_changes(self, lines: list[str], message: str) -> None:
        """One line per change. A phase line, or a failed evaluation's line, leaves out the text an event
        line printed since then already gave (the log says each thing once)."""
        keys = ("phase", "stage", "serving", "evaluation")
        for key, line in zip(keys, lines, strict=True):
            if self._last_plain.get(key) == line:
                continue
            self._last_plain[key] = line
            if key in self._told_by_event:
                if key == "phase" and message:
                    line = line.removesuffix(message).rstrip()
                elif key == "evaluation" and " failed: " in line:
                    line = line.split(" failed: ", 1)[0] + " failed (see the event above)"
                self._told_by_event.discard(key)
            self.stream.write(f"{_clock()} {line.strip()}\n")
        self.stream.flush()

    def _clear(self) -> None:
        if self._drawn:
            self.stream.write(f"\x1b[{self._drawn}F\x1b[J")
            self._drawn = 0

    def _redraw(self, lines: list[str]) -> None:
        self._clear()
        width = max(20, shutil.get_terminal_size().columns - 1)  # a wrapped line would break the cursor-up count
        self.stream.write("\n".join(line[:width] for line in lines) + "\n")
        self.stream.flush()
        self._drawn, self._last_lines = len(lines), lines

    def event(self, type_: str, reason: str, message: str) -> None:
        """One line per event: `Warning TrainingFailed: version 1 training failed: ...`."""
        self.message(f"{type_:<7} {reason}: {message}")
        self._told_by_event.update(("phase", "evaluation"))

    def message(self, text: str) -> None:
        """A line that stays (events, notices): printed above the live panel."""
        lines = self._last_lines
        if self.live:
            self._clear()
        self.stream.write(f"{_clock()} {text}\n")
        if self.live and lines:
            self._redraw(lines)
        self.stream.flush()

    def close(self) -> None:
        self._drawn = 0
        self.stream.flush()
