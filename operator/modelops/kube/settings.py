"""Operator settings (our flags) and how they map onto kopf's settings.

Everything kopf persists on our objects lives under `modelops.dev` (finalizer, progress and diffbase
annotations), so a cluster shows one owner and nothing is written into `status.kopf`.
"""

from __future__ import annotations

import hashlib
import time
from dataclasses import dataclass, field

import kopf

from modelops import API_GROUP
from modelops.kube.builders.jobs import DEFAULT_TTL_SECONDS
from modelops.kube.watches import configure_watch_selectors
from modelops.lifecycle.repeat_policy import DEFAULT_REPEAT, RepeatPolicy

DEFAULT_ENDPOINT_TEMPLATE = "http://{service}.{namespace}.svc:{port}"
HORIZON_MS = 4_102_444_800_000  # 2100-01-01T00:00:00Z


@dataclass(frozen=True)
class OperatorSettings:
    namespaces: tuple[str, ...] = ()  # empty = cluster-wide
    peering: str | None = None  # peering object name for HA; None = standalone
    # kopf runs only the live peer with the highest priority and pauses ALL peers of equal priority, so
    # replicas need distinct ones: None = "the oldest replica wins" (see peering_priority()).
    peering_priority: int | None = None
    peering_lifetime: int = 15  # seconds a killed active replica is presumed alive: the takeover time
    liveness: str | None = "http://0.0.0.0:8080/healthz"
    metrics_port: int = 9090  # 0 = no metrics endpoint
    metrics_host: str = "0.0.0.0"
    job_ttl_seconds: int = DEFAULT_TTL_SECONDS
    # How an evaluate Job reaches TF Serving: {service}, {namespace}, {port} are filled in.
    endpoint_template: str = DEFAULT_ENDPOINT_TEMPLATE
    # Where stage and serving pods get their writable emptyDir (HOME, TMPDIR); the root fs is read-only.
    scratch_path: str = "/tmp"
    workers: int = 16  # threads for the (blocking) handlers
    watch_server_timeout: int = 300
    retry_delay_seconds: float = 5.0  # first retry after a transient error; doubles per failure
    retry_max_delay_seconds: float = 300.0  # ... up to this
    # Actions the core repeats on its own (removing a version's files, repairing serving): at most this many
    # attempts in a row, the n-th failure waiting repeat_backoff_seconds * 2^(n-1) (lifecycle/repeats.py).
    repeat_attempts: int = DEFAULT_REPEAT.attempts
    repeat_backoff_seconds: float = DEFAULT_REPEAT.backoff_seconds
    kubeconfig: str | None = None
    context: str | None = None
    extra: dict[str, str] = field(default_factory=dict)

    @property
    def clusterwide(self) -> bool:
        return not self.namespaces

    @property
    def repeat(self) -> RepeatPolicy:
        return RepeatPolicy(self.repeat_attempts, self.repeat_backoff_seconds)


def configure_kopf(kopf_settings: kopf.OperatorSettings, ours: OperatorSettings) -> None:
    """Apply our choices to the kopf settings object handed to kopf.operator()."""
    persistence = kopf_settings.persistence
    persistence.finalizer = f"{API_GROUP}/finalizer"
    persistence.progress_storage = kopf.AnnotationsProgressStorage(prefix=API_GROUP)
    persistence.diffbase_storage = kopf.AnnotationsDiffBaseStorage(
        prefix=API_GROUP, key="last-handled-configuration",
    )
    # Re-list now and then even if the server keeps the stream open: missed events heal themselves.
    kopf_settings.watching.server_timeout = ours.watch_server_timeout
    kopf_settings.watching.client_timeout = ours.watch_server_timeout + 30
    kopf_settings.watching.connect_timeout = 30
    # Children are watched through server-side label selectors: unrelated objects never reach us.
    configure_watch_selectors(kopf_settings)
    # Our own Events carry the lifecycle story; kopf's handler chatter stays at warning level.
    kopf_settings.posting.enabled = True
    kopf_settings.posting.level = 30  # logging.WARNING
    kopf_settings.execution.max_workers = ours.workers
    # With a fixed list of namespaces there is nothing to scan for: kopf would otherwise try to list
    # namespaces cluster-wide (forbidden to a namespaced operator) and retry for about a minute.
    kopf_settings.scanning.disabled = not ours.clusterwide
    kopf_settings.networking.request_timeout = 60
    if ours.peering:
        kopf_settings.peering.name = ours.peering
        kopf_settings.peering.mandatory = True
        kopf_settings.peering.standalone = False
        kopf_settings.peering.lifetime = ours.peering_lifetime
    else:
        kopf_settings.peering.standalone = True


def peering_priority(explicit: int | None, started: float | None = None, identity: str = "") -> int:
    """Distinct priorities for identical replicas: the earlier a replica started, the higher its priority
    (milliseconds before 2100-01-01, plus a hash of the pod name against same-millisecond starts). So the
    active replica is never paused by a newcomer (a rolling update's new pod waits as standby) and a
    standby takes over only when the active one is gone (graceful exit: at once; killed: after the
    peering lifetime)."""
    if explicit is not None:
        return explicit
    now = time.time() if started is None else started
    tie = int(hashlib.sha256(identity.encode()).hexdigest()[:2], 16)  # 0..255; the product stays < 2**53
    return (HORIZON_MS - int(now * 1000)) * 256 + tie
