"""Run one bound pod: its containers as processes, its probes, and its status, like a kubelet pod worker.

Lifecycle: prepare volumes and command lines (config errors: a `Never` pod fails, others retry),
run init containers in order, start the app containers, then loop: restarts per restartPolicy,
probes, ConfigMap refresh, status patches; on deletionTimestamp, SIGTERM → grace → SIGKILL and the
final delete with grace 0.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from support.kuberest import ApiError
from support.podrunner import podspec
from support.podrunner.container import ContainerProcess, now_rfc3339
from support.podrunner.dns import SHIM_DIR
from support.podrunner.netns import POD_IP_ENV
from support.podrunner.probes import ProbeState, check
from support.podrunner.volumes import PodVolumes

if TYPE_CHECKING:
    from support.podrunner.runner import PodRunner

log = logging.getLogger(__name__)
LOOP_SECONDS = 0.2
MAX_BACKOFF_SECONDS = 10.0  # the kubelet's is 5 min; tests want restarts within seconds


@dataclass
class Slot:
    """One container of the pod across its restarts."""

    spec: dict
    process: ContainerProcess
    readiness: ProbeState
    liveness: ProbeState
    restarts: int = 0
    state: dict = field(default_factory=lambda: {"waiting": {"reason": "ContainerCreating"}})
    last_state: dict = field(default_factory=dict)
    restart_at: float | None = None
    done: bool = False  # terminated and will not restart


class PodWorker(threading.Thread):
    def __init__(self, runner: PodRunner, pod: dict, pod_ip: str) -> None:
        metadata = pod["metadata"]
        super().__init__(name=f"pod-{metadata.get('namespace')}/{metadata['name']}", daemon=True)
        self.runner = runner
        self.pod = pod
        self.pod_ip = pod_ip
        self.namespace = metadata.get("namespace", "default")
        self.pod_name = metadata["name"]
        self.uid = metadata["uid"]
        self.pod_dir = runner.root / "pods" / f"{self.namespace}_{self.pod_name}_{self.uid[:8]}"
        self.restart_policy = pod["spec"].get("restartPolicy") or "Always"
        self.slots: list[Slot] = []
        self.init_slots: list[Slot] = []
        self.volumes: PodVolumes | None = None
        self.phase = "Pending"
        self.pod_message: dict = {}
        self.start_time = now_rfc3339()
        self._terminate = threading.Event()
        self._grace = 30.0
        self._gone = threading.Event()
        self._conditions: dict[str, dict] = {}
        self._last_sent: str | None = None
        self._last_refresh = 0.0

    # ---- signals from the runner ----------------------------------------------------------------
    def update(self, pod: dict) -> None:
        self.pod = pod
        metadata = pod["metadata"]
        if metadata.get("deletionTimestamp"):
            self._grace = float(metadata.get("deletionGracePeriodSeconds") or 0)
            self._terminate.set()

    def gone(self) -> None:
        """The pod object was deleted: stop at once (grace already happened or was skipped)."""
        self._grace = min(self._grace, 1.0)
        self._gone.set()
        self._terminate.set()

    def shutdown(self) -> None:
        """Runner stopping: kill processes quickly, do not touch the API."""
        self._grace = 2.0
        self._gone.set()
        self._terminate.set()

    def log_files(self) -> dict[str, str]:
        return {slot.spec["name"]: str(slot.process.log_path) for slot in [*self.init_slots, *self.slots]}

    def pids(self) -> list[int]:
        return [slot.process.pid for slot in [*self.init_slots, *self.slots] if slot.process.pid]

    # ---- main loop --------------------------------------------------------------------------------
    def run(self) -> None:
        try:
            if not self._prepare():
                return
            if self._run_init_containers():
                for slot in self.slots:
                    self._start(slot)
                self._supervise()
        except Exception:
            log.exception("pod worker %s/%s crashed", self.namespace, self.pod_name)
        finally:
            self._stop_all()
            if not self._gone.is_set():
                self._delete_pod_object()

    def _prepare(self) -> bool:
        """Build volumes and containers; retries config errors unless restartPolicy is Never."""
        while not self._terminate.is_set():
            try:
                self.volumes = PodVolumes(self.pod, self.pod_dir, self.runner.root, self.runner.lookup,
                                          self.runner.issue_token)
                spec = self.pod["spec"]
                self.init_slots = [self._slot(c) for c in spec.get("initContainers") or []]
                self.slots = [self._slot(c) for c in spec["containers"]]
                return True
            except (podspec.PodSpecError, ApiError, KeyError) as error:
                message = str(error)
                if self.restart_policy == "Never":
                    self._fail_before_start(message)
                    self._terminate.wait()
                    return False
                self._report_waiting("CreateContainerConfigError", message)
                self._terminate.wait(1.0)
        return False

    def _slot(self, spec: dict) -> Slot:
        env = podspec.base_env()
        declared = podspec.resolve_env(self.pod, spec, self.pod_ip, self.runner.node_ip, self.runner.lookup_data)
        env.update(declared)
        env.update({
            "HOSTNAME": self.pod_name,
            "MODELOPS_REST_API_HOST": self.pod_ip,
            # servers that listen on every address (TensorFlow's gRPC server) listen on this pod's IP alone
            POD_IP_ENV: self.pod_ip,
            "LD_PRELOAD": str(self.runner.bind_shim),
            "MODELOPS_POD_HOSTS_FILE": str(self.runner.hosts_file),
            "MODELOPS_POD_NAMESPACE": self.namespace,
            "PYTHONPATH": ":".join(p for p in (str(SHIM_DIR), declared.get("PYTHONPATH", "")) if p),
            "KUBERNETES_SERVICE_HOST": "127.0.0.1",
            "KUBERNETES_SERVICE_PORT": str(self.runner.api_port),
        })
        argv = podspec.resolve_argv(spec, env)
        assert self.volumes is not None
        workdir = spec.get("workingDir") or str(self.pod_dir / "work")
        (self.pod_dir / "work").mkdir(parents=True, exist_ok=True)
        process = ContainerProcess(spec, argv, env, self.volumes.mounts_for(spec), workdir,
                                   self.pod_dir / "logs" / f"{spec['name']}.log",
                                   self.pod_dir / "termination" / spec["name"])
        return Slot(spec, process, ProbeState(spec.get("readinessProbe"), True),
                    ProbeState(spec.get("livenessProbe"), True))

    def _start(self, slot: Slot, init: bool = False) -> None:
        slot.process.start()
        slot.readiness = ProbeState(slot.spec.get("readinessProbe"), True)
        slot.liveness = ProbeState(slot.spec.get("livenessProbe"), True)
        slot.state = {"running": {"startedAt": slot.process.started_at}}
        slot.restart_at = None
        if self.phase == "Pending" and not init:
            self.phase = "Running"
        self._report()

    def _run_init_containers(self) -> bool:
        for slot in self.init_slots:
            while True:
                self._start(slot, init=True)
                while (code := slot.process.exit_code()) is None:
                    if self._terminate.wait(LOOP_SECONDS):
                        return False
                slot.state = {"terminated": slot.process.terminated_state(code)}
                if code == 0:
                    slot.done = True
                    break
                if self.restart_policy == "Never":
                    self.phase = "Failed"
                    self._report()
                    self._terminate.wait()
                    return False
                slot.restarts += 1
                self._report()
                if self._terminate.wait(min(2 ** slot.restarts, MAX_BACKOFF_SECONDS)):
                    return False
        return True

    def _supervise(self) -> None:
        while not self._terminate.is_set():
            for slot in self.slots:
                self._check_exit(slot)
                self._probe(slot)
            if self.volumes and time.monotonic() - self._last_refresh > 1.0:
                self._last_refresh = time.monotonic()
                self.volumes.refresh_configmaps()
            if all(slot.done for slot in self.slots):
                failed = any(s.state["terminated"]["exitCode"] != 0 for s in self.slots)
                self.phase = "Failed" if failed else "Succeeded"
                self._report()
                self._terminate.wait()  # terminal: nothing runs until the pod is deleted
                return
            self._report()
            self._terminate.wait(LOOP_SECONDS)

    def _check_exit(self, slot: Slot) -> None:
        if slot.done:
            return
        if slot.restart_at is not None:
            if time.monotonic() >= slot.restart_at:
                self._start(slot)
            return
        code = slot.process.exit_code()
        if code is None:
            return
        terminated = slot.process.terminated_state(code)
        restart = self.restart_policy == "Always" or (self.restart_policy == "OnFailure" and code != 0)
        if not restart:
            slot.state, slot.done = {"terminated": terminated}, True
            return
        slot.last_state = {"terminated": terminated}
        slot.restarts += 1
        backoff = min(2 ** (slot.restarts - 1), MAX_BACKOFF_SECONDS)
        slot.restart_at = time.monotonic() + backoff
        message = f"back-off {backoff:.0f}s restarting failed container={slot.spec['name']}"
        slot.state = {"waiting": {"reason": "CrashLoopBackOff", "message": message}}

    def _probe(self, slot: Slot) -> None:
        if "running" not in slot.state:
            return
        env = slot.process.env
        if slot.readiness.due():
            slot.readiness.record(check(slot.readiness.probe, slot.spec, self.pod_ip, slot.process.pid, env))
        if slot.liveness.due():
            slot.liveness.record(check(slot.liveness.probe, slot.spec, self.pod_ip, slot.process.pid, env))
            if not slot.liveness.result:
                # Blocks this pod's loop while the container stops, so keep the wait short.
                slot.process.kill(min(float(self.pod["spec"].get("terminationGracePeriodSeconds") or 30), 5.0))

    def _stop_all(self) -> None:
        slots = [s for s in [*self.init_slots, *self.slots] if s.process.process is not None]
        for slot in slots:
            slot.process.signal()
        deadline = time.monotonic() + self._grace
        while time.monotonic() < deadline and any(s.process.exit_code() is None for s in slots):
            time.sleep(0.05)
        for slot in slots:
            slot.process.kill(0)

    def _delete_pod_object(self) -> None:
        path = f"/api/v1/namespaces/{self.namespace}/pods/{self.pod_name}"
        try:
            self.runner.rest.request("DELETE", path, {"gracePeriodSeconds": 0, "preconditions": {"uid": self.uid}})
        except ApiError as error:
            if error.status not in (404, 409):
                log.warning("final delete of %s failed: %s", path, error)

    # ---- status -----------------------------------------------------------------------------------
    def _condition(self, kind: str, ok: bool, reason: str | None = None) -> dict:
        status = "True" if ok else "False"
        previous = self._conditions.get(kind)
        if previous is None or previous["status"] != status:
            previous = {"type": kind, "status": status, "lastTransitionTime": now_rfc3339()}
            if reason:
                previous["reason"] = reason
            self._conditions[kind] = previous
        return previous

    def _container_status(self, slot: Slot, init: bool) -> dict:
        running = "running" in slot.state
        ready = running and slot.readiness.result if not init else bool(slot.done)
        status = {"name": slot.spec["name"], "image": slot.spec.get("image", ""), "imageID": "",
                  "ready": ready, "restartCount": slot.restarts, "started": running, "state": slot.state,
                  "lastState": slot.last_state}
        if slot.process.pid:
            status["containerID"] = f"modelops://{slot.process.pid}"
        return status

    def _report(self) -> None:
        containers_ready = bool(self.slots) and all(
            "running" in s.state and s.readiness.result for s in self.slots)
        initialized = all(s.done for s in self.init_slots)
        conditions = [
            self._condition("PodReadyToStartContainers", self.phase != "Pending" or initialized),
            self._condition("Initialized", initialized),
            self._condition("ContainersReady", containers_ready),
            self._condition("Ready", containers_ready),
        ]
        status = {
            "phase": self.phase, "conditions": conditions, "hostIP": self.runner.node_ip,
            "hostIPs": [{"ip": self.runner.node_ip}], "podIP": self.pod_ip, "podIPs": [{"ip": self.pod_ip}],
            "startTime": self.start_time,
            "containerStatuses": [self._container_status(s, False) for s in self.slots],
            **self.pod_message,
        }
        if self.init_slots:
            status["initContainerStatuses"] = [self._container_status(s, True) for s in self.init_slots]
        self._send(status)

    def _report_waiting(self, reason: str, message: str) -> None:
        waiting = {"waiting": {"reason": reason, "message": message}}
        status = {"phase": "Pending", "message": message, "reason": reason,
                  "containerStatuses": [{"name": c["name"], "image": c.get("image", ""), "imageID": "",
                                         "ready": False, "restartCount": 0, "state": waiting}
                                        for c in self.pod["spec"]["containers"]]}
        self._send(status)

    def _fail_before_start(self, message: str) -> None:
        terminated = {"terminated": {"exitCode": 128, "reason": "StartError", "message": message,
                                     "startedAt": now_rfc3339(), "finishedAt": now_rfc3339()}}
        self.phase = "Failed"
        status = {"phase": "Failed", "message": message, "reason": "StartError", "startTime": self.start_time,
                  "hostIP": self.runner.node_ip, "podIP": self.pod_ip, "podIPs": [{"ip": self.pod_ip}],
                  "conditions": [self._condition("Ready", False, "PodFailed"),
                                 self._condition("ContainersReady", False, "PodFailed")],
                  "containerStatuses": [{"name": c["name"], "image": c.get("image", ""), "imageID": "",
                                         "ready": False, "restartCount": 0, "state": terminated}
                                        for c in self.pod["spec"]["containers"]]}
        self._send(status)

    def _send(self, status: dict) -> None:
        encoded = json.dumps(status, sort_keys=True)
        if encoded == self._last_sent or self._gone.is_set():
            return
        path = f"/api/v1/namespaces/{self.namespace}/pods/{self.pod_name}/status"
        try:
            self.runner.rest.patch(path, {"metadata": {"uid": self.uid}, "status": status})
            self._last_sent = encoded
        except ApiError as error:
            if error.status == 404:
                self.gone()
            else:
                log.warning("status patch for %s/%s failed: %s", self.namespace, self.pod_name, error)
