"""`modelops operator`: run the Kubernetes operator (kopf) with metrics and a liveness endpoint."""

from __future__ import annotations

import argparse
import asyncio
import logging
import os

import kopf

from modelops.kube.builders.jobs import DEFAULT_TTL_SECONDS
from modelops.kube.client import KubeApi, load_api_client
from modelops.kube.handlers import register
from modelops.kube.metrics import OperatorMetrics
from modelops.kube.runtime import Runtime
from modelops.kube.settings import DEFAULT_ENDPOINT_TEMPLATE, OperatorSettings, configure_kopf, peering_priority
from modelops.lifecycle.repeat_policy import DEFAULT_REPEAT


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="modelops operator", description=__doc__)
    scope = parser.add_mutually_exclusive_group()
    scope.add_argument("-n", "--namespace", action="append", default=[],
                       help="watch only this namespace (repeatable); default: all namespaces")
    scope.add_argument("-A", "--all-namespaces", action="store_true", help="watch every namespace (default)")
    parser.add_argument("--kubeconfig", help="kubeconfig file (default: in-cluster, then KUBECONFIG/~/.kube)")
    parser.add_argument("--context", help="kubeconfig context")
    parser.add_argument("--peering", metavar="NAME",
                        help="enable kopf peering under this name for HA (one active replica); off by default")
    parser.add_argument("--peering-priority", type=int, metavar="N",
                        help="this replica's peering priority (highest live one is active); default: the "
                             "oldest replica wins")
    parser.add_argument("--peering-lifetime", type=int, default=15, metavar="SECONDS",
                        help="how long a silent (killed) replica counts as alive: the HA takeover time "
                             "(default: %(default)s)")
    parser.add_argument("--liveness", default="http://0.0.0.0:8080/healthz",
                        help="kopf liveness endpoint URL, or 'off' (default: %(default)s)")
    parser.add_argument("--metrics-port", type=int, default=9090, help="Prometheus port, 0 = off (default: 9090)")
    parser.add_argument("--metrics-host", default="0.0.0.0", help="Prometheus listen address")
    parser.add_argument("--job-ttl-seconds", type=int, default=DEFAULT_TTL_SECONDS,
                        help="ttlSecondsAfterFinished of stage Jobs (default: %(default)s)")
    parser.add_argument("--endpoint-template", default=DEFAULT_ENDPOINT_TEMPLATE,
                        help="URL evaluate Jobs use to reach TF Serving; {service} {namespace} {port} "
                             "(default: %(default)s)")
    parser.add_argument("--scratch-path", default="/tmp",
                        help="mount path of the writable emptyDir in stage and serving pods (default: %(default)s)")
    parser.add_argument("--workers", type=int, default=16, help="handler threads (default: %(default)s)")
    parser.add_argument("--repeat-attempts", type=int, default=DEFAULT_REPEAT.attempts, metavar="N",
                        help="attempts in a row at removing a version's files or repairing serving before "
                             "giving up until the spec is edited (default: %(default)s)")
    parser.add_argument("--repeat-backoff-seconds", type=float, default=DEFAULT_REPEAT.backoff_seconds,
                        metavar="SECONDS", help="wait after the first failed attempt, doubled after each "
                                                "further one (default: %(default)s)")
    parser.add_argument("-v", "--verbose", action="store_true", help="debug logging")
    return parser


def settings_from_args(args: argparse.Namespace) -> OperatorSettings:
    if not args.scratch_path.startswith("/"):
        raise SystemExit("modelops operator: --scratch-path must be an absolute path")
    if args.peering_lifetime < 2:
        raise SystemExit("modelops operator: --peering-lifetime must be >= 2 seconds")
    if args.job_ttl_seconds < 0 or args.workers < 1 or args.metrics_port < 0:
        raise SystemExit("modelops operator: --job-ttl-seconds and --metrics-port must be >= 0, --workers >= 1")
    if args.repeat_attempts < 1 or args.repeat_backoff_seconds <= 0:
        raise SystemExit("modelops operator: --repeat-attempts must be >= 1, --repeat-backoff-seconds > 0")
    return OperatorSettings(
        namespaces=tuple(args.namespace), peering=args.peering, peering_priority=args.peering_priority,
        peering_lifetime=args.peering_lifetime,
        liveness=None if args.liveness == "off" else args.liveness,
        metrics_port=args.metrics_port, metrics_host=args.metrics_host, job_ttl_seconds=args.job_ttl_seconds,
        endpoint_template=args.endpoint_template,
        scratch_path=args.scratch_path, workers=args.workers, kubeconfig=args.kubeconfig, context=args.context,
        repeat_attempts=args.repeat_attempts, repeat_backoff_seconds=args.repeat_backoff_seconds,
    )


def _login_handler(api: KubeApi):
    """kopf authenticates exactly as our own client does (same kubeconfig/context or in-cluster)."""
    configuration = api.api_client.configuration

    def login(**_: object) -> kopf.ConnectionInfo:
        # get_api_key_with_prefix runs the in-cluster refresh hook, so a re-login after a 401 picks up
        # the kubelet-rotated ServiceAccount token.
        token = configuration.get_api_key_with_prefix("BearerToken") or (configuration.api_key or {}).get(
            "authorization")
        scheme, _, value = (token or "").partition(" ")
        return kopf.ConnectionInfo(
            server=configuration.host, ca_path=configuration.ssl_ca_cert,
            insecure=not configuration.verify_ssl,
            scheme=scheme if value else None, token=value or None,
            certificate_path=configuration.cert_file, private_key_path=configuration.key_file,
            default_namespace="default",
        )

    return login


def main(argv: list[str]) -> int:
    args = _parser().parse_args(argv)
    settings = settings_from_args(args)
    logging.basicConfig(level=logging.DEBUG if args.verbose else logging.INFO,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    if not args.verbose:  # one "Handler ... succeeded" line per watch event is noise (and CPU) at scale
        logging.getLogger("kopf.objects").setLevel(logging.WARNING)
    api = KubeApi(load_api_client(settings.kubeconfig, settings.context))
    metrics = OperatorMetrics()
    if settings.metrics_port:
        metrics.serve(settings.metrics_port, settings.metrics_host)
    runtime = Runtime(api, settings, metrics)
    registry = kopf.OperatorRegistry()
    register(registry, runtime, settings)
    kopf.on.login(registry=registry)(_login_handler(api))
    os.environ.setdefault("HOSTNAME", "modelops-operator")
    kopf_settings = kopf.OperatorSettings()
    configure_kopf(kopf_settings, settings)
    asyncio.run(kopf.operator(
        registry=registry,
        settings=kopf_settings,
        standalone=settings.peering is None,
        peering_name=settings.peering,
        priority=peering_priority(settings.peering_priority, identity=os.environ.get("POD_ID") or str(os.getpid())),
        clusterwide=settings.clusterwide,
        namespaces=list(settings.namespaces),
        liveness_endpoint=settings.liveness,
    ))
    return 0
