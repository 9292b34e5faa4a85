"""The local runtime's control loop: observe -> decide (lifecycle core) -> persist -> execute -> observe.

It holds no lifecycle rule of its own. Every decision comes from `modelops.lifecycle.decide`; this loop
only turns process exits, serving readiness and elapsed time into observations, persists the new status
before acting (so a SIGKILL at any point resumes), and executes the actions with local processes.
"""

from __future__ import annotations

import os
import signal
import threading
import time
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from modelops.contract.reasons import SERVING_CRASH_LOOP
from modelops.lifecycle import decide
from modelops.lifecycle.clock import stamp
from modelops.lifecycle.messages import (
    Action,
    ApplyServing,
    CancelStage,
    Context,
    DeleteVersion,
    EmitEvent,
    Observation,
    Reconcile,
    ServingObserved,
    StageMissing,
    StartStage,
    VersionPruned,
)
from modelops.lifecycle.records import find_version
from modelops.lifecycle.refusals import decide_refused, raised_text
from modelops.local import journal
from modelops.local.bounded_files import EVENTS_KEPT, HISTORY_KEPT, STAGE_DIRS_KEPT, BoundedJsonl, prune_stage_dirs
from modelops.local.executor.stages import StageExecutor
from modelops.local.serving_process import RESTART_CAP_SECONDS, RESTART_LIMIT, ServingProcess
from modelops.local.state_store import StateStore, read_json
from modelops.local.view import RunView, parse_training_progress
from modelops.workloads.stages.prune import PruneError, prune_version

TICK_SECONDS = 0.25
FALLBACK_RECONCILE_SECONDS = 60.0  # when the core asks for no timer, still re-check now and then
SERVING_HEALTH_SECONDS = 3.0  # how often a settled server is checked (restarted if it died)
SERVING_WAIT_SECONDS = 120.0  # after this, report whatever is ready even if the pin is not loaded yet
UNTIL_CHOICES = ("serving", "forever")
STATE_RECOVERED = "StateRecovered"  # local only: the state record was unreadable, the previous one was used
SERVING_RESTARTED = "ServingRestarted"  # local only: `modelops serve` exited and was started again
PENDING_ACTION_UNREADABLE = "PendingActionUnreadable"  # local only: a saved action this version cannot decode


class Runner:
    """Drives one ModelDeployment on this machine until `until` is reached or a stop is requested."""

    def __init__(self, store: StateStore, spec: Mapping[str, Any], base_dir: Path, *, port: int = 8501,
                 until: str = "forever", view: RunView | None = None,
                 now: Callable[[], datetime] = lambda: datetime.now(UTC)) -> None:
        self.store, self.spec, self.until, self.now = store, spec, until, now
        self.view = view or RunView()
        self.serving = ServingProcess(store, port)
        self.stages = StageExecutor(store, spec, base_dir, self.serving.endpoint,
                                    grpc_endpoint=lambda: self.serving.grpc_endpoint)
        self.status: dict[str, Any] = {}
        self.generation = 0
        self.stop_requested: str | None = None
        self._next_reconcile = 0.0
        self._serving_target: frozenset[int] | None = None
        self._serving_since = 0.0
        self._serving_reported: frozenset[int] | None = None
        self._next_serving_check = 0.0
        self._lock_fd: int | None = None
        self._refused_generation: int | None = None
        self._events = BoundedJsonl(store.events_path, EVENTS_KEPT)
        self._history = BoundedJsonl(store.history_path, HISTORY_KEPT)

    # ---------------------------------------------------------------- entry points
    def run(self) -> int:
        """0 when `until` was reached, 1 when it cannot be reached, 130 after a stop request."""
        self._lock_fd = self.store.lock()
        self._install_signal_handlers()
        try:
            self.resume()
            while self.stop_requested is None:
                self.step()
                outcome = self._until_outcome()
                if outcome is not None:
                    return outcome
                time.sleep(TICK_SECONDS)
            return 130
        finally:
            self.shutdown()

    def resume(self) -> None:
        """Adopt whatever a previous runtime left behind, then let the core look at it."""
        self.generation = self.store.generation_for(self.spec)
        state = self.store.load()
        self.status = state.status
        if state.recovered:
            self._event("Warning", STATE_RECOVERED, f"the state record was unreadable, resumed from the one "
                                                    f"before it: {state.recovered}")
        replayed: list[Observation] = []
        for record in state.pending:
            try:
                action = journal.decode(record)
            except ValueError as exc:  # level-triggered: the core re-derives what it still wants
                self._event("Warning", PENDING_ACTION_UNREADABLE, f"skipped a pending action: {exc}")
                continue
            replayed += self._execute(action, replay=True)
        if state.pending:
            self.store.save(self.status, [])
        stage = self.status.get("stage") or {}
        if stage.get("id") and stage["id"] not in self.stages.running:
            found = self.stages.resume(stage["id"], stage.get("name", "?"), int(stage.get("version") or 0))
            self.view.message(f"adopted stage {stage['id']} from the previous run" if found
                              else f"stage {stage['id']} has no run (decided before the previous run stopped)")
            if not found:  # the core decides what follows (lifecycle/in_flight.py): the same run, or StageLost
                replayed.append(StageMissing(str(stage["id"])))
        applied = self.serving.applied()
        if applied is not None:
            self.serving.ensure_running()
            self._await_serving(applied["stable"], applied.get("canary"))
        for observation in replayed:
            self.observe(observation)
        self.observe(self._serving_observation(self.serving.ready_versions()))
        self.observe(Reconcile())

    def step(self) -> None:
        """One pass: finished stages, serving readiness, timers, view."""
        finished = self.stages.poll()
        for stage in finished:
            self.observe(stage)
        if finished:  # their results are decided and saved: older runs' directories may go
            in_flight = (self.status.get("stage") or {}).get("id")
            prune_stage_dirs(self.store.dir / "stages", STAGE_DIRS_KEPT, {*self.stages.running, in_flight or ""})
        self._check_serving()
        if time.monotonic() >= self._next_reconcile:
            self.observe(Reconcile())
            self._look_for_serving_drift()
        self._render()

    # ---------------------------------------------------------------- the core loop
    def observe(self, observation: Observation) -> None:
        """Decide, persist status and the actions before running them (a SIGKILL replays them), run
        them, and feed what they revealed (e.g. a version pruned) straight back."""
        if self._refused_generation == self.generation:
            return  # refused: nothing is decided again until the spec changes (a restart with the edited file)
        queue = [observation]
        while queue:
            context = Context(spec=self.spec, generation=self.generation, now=self.now())
            try:
                decision = decide(context, self.status, queue.pop(0))
            except Exception as exc:  # the same policy as the operator (kube/runtime.py): report, stop, wait
                decision = decide_refused(context, self.status, *raised_text(exc))
                self._refused_generation = self.generation
                queue.clear()
            previous = self.status
            self.status = decision.status
            # status and the actions it was decided with, in one atomic record: a SIGKILL replays them
            self.store.save(self.status, [journal.encode(action) for action in decision.actions])
            self._record_history(previous, self.status)
            for action in decision.actions:
                queue += self._execute(action)
            if decision.actions:
                self.store.save(self.status, [])
            delay = decision.requeue_after if decision.requeue_after is not None else FALLBACK_RECONCILE_SECONDS
            self._next_reconcile = time.monotonic() + max(0.0, delay)

    def _execute(self, action: Action, replay: bool = False) -> list[Observation]:
        if isinstance(action, StartStage):
            self.stages.start(action)
        elif isinstance(action, ApplyServing):
            self.serving.apply(action.stable, action.canary)
            self._await_serving(action.stable, action.canary)
        elif isinstance(action, CancelStage):
            self.stages.cancel(action.stage_id)
        elif isinstance(action, DeleteVersion):
            try:
                prune_version(self.store.storage_root, self.store.namespace, self.store.name, action.version,
                              find_version(self.status, action.version))
            except (PruneError, OSError) as exc:
                return [VersionPruned(action.version, False, str(exc), action.attempt)]
            return [VersionPruned(action.version, True, attempt=action.attempt)]
        elif isinstance(action, EmitEvent):
            self._event(action.type, action.reason, action.message, replay)
        return []

    def _event(self, type_: str, reason: str, message: str, replay: bool = False) -> None:
        event = {"time": self.now().isoformat(), "type": type_, "reason": reason, "message": message,
                 **({"replayed": True} if replay else {})}
        self._events.append(event)
        self.view.event(type_, reason, message)

    # ---------------------------------------------------------------- serving
    def _serving_observation(self, ready: frozenset[int]) -> ServingObserved:
        """Ready versions, and what the serving config on disk pins (None when it is gone)."""
        applied = self.serving.applied() if self.serving.model_config.exists() else None
        pinned = None if applied is None else {"stable": applied["stable"], "canary": applied.get("canary")}
        return ServingObserved(ready, pinned)

    def _look_for_serving_drift(self) -> None:
        """Level-triggered, as the operator's reconcile: a serving config that no longer pins the rollout
        (deleted or edited) is reported, so a repair the core deferred (backoff) is made when due."""
        rollout = self.status.get("rollout")
        observed = self._serving_observation(self._serving_reported or frozenset())
        if rollout and observed.pinned != {"stable": rollout.get("stable"), "canary": rollout.get("canary")}:
            self.observe(observed)

    def _await_serving(self, stable: int, canary: int | None) -> None:
        self._serving_target = frozenset(v for v in (stable, canary) if v is not None)
        self._serving_since = time.monotonic()
        self._next_serving_check = 0.0

    def _check_serving(self) -> None:
        """Report readiness to the core: once the pin is loaded, and whenever it changes afterwards."""
        if self._serving_target is None or time.monotonic() < self._next_serving_check:
            return
        waiting = self._serving_reported is None or not self._serving_target <= self._serving_reported
        if self.serving.ensure_running():
            self.view.message(f"started model server on {self.serving.endpoint} (log: {self.serving.dir}/log.txt)")
        self._record_restarts()
        ready = self.serving.ready_versions()
        loaded = self._serving_target <= ready
        timed_out = time.monotonic() - self._serving_since > SERVING_WAIT_SECONDS
        if ready != self._serving_reported and (loaded or timed_out or not waiting):
            if timed_out and not loaded:
                self.view.message(f"model server has not loaded {sorted(self._serving_target)} after "
                                  f"{SERVING_WAIT_SECONDS:.0f}s; server log tail:\n{self.serving.log_tail()}")
                self._serving_since = time.monotonic()
            self._serving_reported = ready
            self.observe(self._serving_observation(ready))
        self._next_serving_check = time.monotonic() + (0.3 if not loaded else SERVING_HEALTH_SECONDS)

    def _record_restarts(self) -> None:
        """status.servingRestarts follows the server's consecutive restarts; at the bound the deployment
        fails (ServingCrashLoop), as the operator's policy does with a refusal, until the next start."""
        count, shown = self.serving.restarts, self.status.get("servingRestarts") or {}
        if count == shown.get("count", 0):
            if self.serving.gave_up and self._refused_generation != self.generation:
                message = (f"the model server kept exiting: restarted {count} times with backoff, it is left down "
                           f"until `modelops run` starts again; its log ends: {self.serving.log_tail(600).strip()}")
                context = Context(spec=self.spec, generation=self.generation, now=self.now())
                self._refused_generation = self.generation
                decision = decide_refused(context, self.status, SERVING_CRASH_LOOP, message)
                self.status = decision.status
                self.store.save(self.status, [])
                for action in decision.actions:
                    self._execute(action)
            return
        self.status = {**self.status, "servingRestarts": {"count": count, "limit": RESTART_LIMIT,
                                                          "lastRestartTime": stamp(self.now())}}
        self.store.save(self.status, [])
        if count:
            self._event("Warning", SERVING_RESTARTED, f"the model server exited; restart {count} of at most "
                                                      f"{RESTART_LIMIT} (backoff up to {RESTART_CAP_SECONDS:.0f}s)")

    # ---------------------------------------------------------------- bookkeeping
    def _record_history(self, previous: Mapping[str, Any], current: Mapping[str, Any]) -> None:
        """Evaluations overwrite status.lastEvaluation; keep every one for the metric history plot."""
        evaluation = current.get("lastEvaluation")
        # Rollouts mark the last evaluation `superseded`: the same evaluation, not a new line in the history.
        same = {k: v for k, v in (previous.get("lastEvaluation") or {}).items() if k != "superseded"}
        if evaluation and {k: v for k, v in evaluation.items() if k != "superseded"} != same:
            self._history.append({"kind": "evaluation", **evaluation})

    def _render(self) -> None:
        stage = self.status.get("stage") or {}
        progress = None
        if stage.get("name") == "train" and stage.get("id"):
            config = read_json(self.stages.paths(stage["id"])["config"], {}) or {}
            total = (config.get("hyperparameters") or {}).get("epochs")
            progress = parse_training_progress(self.stages.log_tail(stage["id"]), total)
        self.view.update(self.store.name, self.status, progress, self.serving.endpoint)

    def _until_outcome(self) -> int | None:
        if self.until != "serving":
            return None
        phase = self.status.get("phase")
        if phase == "Serving" and self.status.get("servingVersion"):
            return 0
        stuck = phase == "Failed" or (phase == "Rejected" and not self.status.get("servingVersion"))
        if stuck and not self.status.get("stage"):
            # the why was printed once, as an event line; the reason points at it, `modelops status` keeps it
            versions = self.status.get("versions") or [{}]
            reason = (self.status.get("failure") or {}).get("reason") or versions[-1].get("reason", phase)
            self.view.message(f"cannot reach Serving: phase {phase} ({reason}); "
                              f"`modelops status {self.store.name}` shows why")
            return 1
        return None

    def _install_signal_handlers(self) -> None:
        if threading.current_thread() is not threading.main_thread():
            return

        def request_stop(signum: int, _frame: object) -> None:
            self.stop_requested = signal.Signals(signum).name

        signal.signal(signal.SIGINT, request_stop)
        signal.signal(signal.SIGTERM, request_stop)

    def shutdown(self) -> None:
        """Stop our children (stages and the server); the state directory keeps everything for a resume."""
        self.view.close()
        self.stages.stop_all()
        self.serving.stop()
        if self._lock_fd is not None:
            os.close(self._lock_fd)
            self._lock_fd = None
