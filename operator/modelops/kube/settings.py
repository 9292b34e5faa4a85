"""Operator settings (our flags) and how they map onto kopf's settings.

Everything kopf persists on our objects lives under `modelops.dev` (finalizer, progress and diffbase
annotations), so a cluster shows one owner and nothing is written into `status.kopf`.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import kopf

from modelops import API_GROUP
from modelops.kube.builders.jobs import DEFAULT_TTL_SECONDS

DEFAULT_ENDPOINT_TEMPLATE = "http://{service}.{namespace}.svc:{port}"


@dataclass(frozen=True)
class OperatorSettings:
    namespaces: tuple[str, ...] = ()  # empty = cluster-wide
    peering: str | None = None  # peering object name for HA; None = standalone
    liveness: str | None = "http://0.0.0.0:8080/healthz"
    metrics_port: int = 9090  # 0 = no metrics endpoint
    metrics_host: str = "0.0.0.0"
    job_ttl_seconds: int = DEFAULT_TTL_SECONDS
    serving_poll_seconds: int = 30
    # How an evaluate Job reaches TF Serving: {service}, {namespace}, {port} are filled in.
    endpoint_template: str = DEFAULT_ENDPOINT_TEMPLATE
    # Where stage and serving pods get their writable emptyDir (HOME, TMPDIR); the root fs is read-only.
    scratch_path: str = "/tmp"
    workers: int = 16  # threads for the (blocking) handlers
    watch_server_timeout: int = 300
    retry_delay_seconds: float = 5.0
    kubeconfig: str | None = None
    context: str | None = None
    extra: dict[str, str] = field(default_factory=dict)

    @property
    def clusterwide(self) -> bool:
        return not self.namespaces


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
    else:
        kopf_settings.peering.standalone = True
