"""`modelops serve`: tensorflow_model_server's flags where they exist, so pods and local runs agree.

    modelops serve --port=8500 --rest_api_port=8501 --model_config_file=models.config \\
        --model_config_file_poll_wait_seconds=1 --monitoring_config_file=monitoring.config \\
        --enable_batching --batching_parameters_file=batching.config
    modelops serve --model_name=iris --model_base_path=/models/iris   # newest version on disk
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import logging
import os
import signal
import sys

from modelops.serving.config import (
    BatchingOptions,
    ConfigError,
    parse_batching_parameters,
    parse_monitoring_config,
)

log = logging.getLogger("modelops.serve")

# tensorflow_model_server flags accepted so the same container args work, but without effect here
IGNORED_TF_SERVING_FLAGS = (
    "rest_api_num_threads", "enable_model_warmup", "allow_version_labels_for_unavailable_models",
    "tensorflow_session_parallelism", "num_load_threads", "num_unload_threads", "max_num_load_retries",
    "load_retry_interval_micros", "grpc_max_threads", "saved_model_tags",
    "xla_cpu_compilation_enabled",
)


def _bool(text: str) -> bool:
    lowered = text.lower()
    if lowered in ("1", "true", "yes"):
        return True
    if lowered in ("0", "false", "no"):
        return False
    raise argparse.ArgumentTypeError(f"expected true or false, got {text!r}")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="modelops serve",
                                     description="TF-Serving-compatible gRPC and REST model server")
    add = parser.add_argument
    add("--port", type=int, default=8500, help="gRPC port (0 = any free port)")
    add("--grpc_channel_arguments", default="",
        help="comma-separated gRPC server arguments, e.g. grpc.max_receive_message_length=1048576")
    add("--rest_api_port", type=int, default=8501, help="REST port (0 = any free port)")
    add("--rest_api_host", default=os.environ.get("MODELOPS_REST_API_HOST", "0.0.0.0"),
        help="address both APIs listen on (default: $MODELOPS_REST_API_HOST, else 0.0.0.0)")
    add("--rest_api_timeout_in_ms", type=int, default=30000, help="per-request timeout")
    add("--rest_api_max_body_bytes", type=int, default=16 * 1024 * 1024,
        help="larger request bodies get 413 (modelops extension)")
    add("--model_config_file", help="ModelServerConfig text proto listing models and pinned versions")
    add("--model_config_file_poll_wait_seconds", type=float, default=0.0,
        help="re-read the config file this often (0 = read once)")
    add("--model_name", default="default", help="single-model mode: the model's name")
    add("--model_base_path", help="single-model mode: directory of numbered versions (newest is served)")
    add("--file_system_poll_wait_seconds", type=float, default=1.0,
        help="single-model mode: how often to look for a newer version directory")
    add("--monitoring_config_file", help="MonitoringConfig text proto enabling Prometheus metrics")
    add("--enable_batching", type=_bool, nargs="?", const=True, default=False, help="server-side dynamic batching")
    add("--tensorflow_intra_op_parallelism", type=int, default=0, help="TF intra-op threads (0 = TF decides)")
    add("--tensorflow_inter_op_parallelism", type=int, default=0, help="TF inter-op threads (0 = TF decides)")
    add("--enable_signature_method_name_check", type=_bool, nargs="?", const=True, default=False,
        help="Predict/Classify/Regress check the signature's method_name (TF Serving's flag, default false)")
    add("--rest_api_enable_cors_support", type=_bool, nargs="?", const=True, default=False,
        help="add CORS headers to REST answers (TF Serving's flag, default false)")
    add("--batching_parameters_file", help="BatchingParameters text proto (implies nothing without batching)")
    for flag in IGNORED_TF_SERVING_FLAGS:
        add(f"--{flag}", nargs="?", const="true", default=None, help=argparse.SUPPRESS)
    return parser


def _read(path: str, flag: str) -> str:
    try:
        with open(path, encoding="utf-8") as handle:
            return handle.read()
    except OSError as exc:
        raise ConfigError(f"{flag} {path}: {exc.strerror}") from exc


def settings_from_args(args: argparse.Namespace):  # -> ServerSettings (import deferred: TensorFlow)
    """Validate flag combinations and read the side files; errors name the flag and the file."""
    if bool(args.model_config_file) == bool(args.model_base_path):
        raise ConfigError("give exactly one of --model_config_file or --model_base_path")
    if args.model_base_path and not os.path.isdir(args.model_base_path):
        raise ConfigError(f"--model_base_path {args.model_base_path}: not a directory")
    for flag in ("rest_api_timeout_in_ms", "rest_api_max_body_bytes"):
        if getattr(args, flag) <= 0:
            raise ConfigError(f"--{flag} must be positive, got {getattr(args, flag)}")
    for flag in ("tensorflow_intra_op_parallelism", "tensorflow_inter_op_parallelism"):
        if getattr(args, flag) < 0:
            raise ConfigError(f"--{flag} must be >= 0, got {getattr(args, flag)}")
    metrics_path = None
    if args.monitoring_config_file:
        text = _read(args.monitoring_config_file, "--monitoring_config_file")
        metrics_path = _in_file(parse_monitoring_config, text, args.monitoring_config_file)
    batching = None
    if args.enable_batching:
        batching = BatchingOptions()
        if args.batching_parameters_file:
            text = _read(args.batching_parameters_file, "--batching_parameters_file")
            batching = _in_file(parse_batching_parameters, text, args.batching_parameters_file)
    elif args.batching_parameters_file:
        log.warning("--batching_parameters_file is ignored without --enable_batching")
    from modelops.serving.server import ServerSettings  # TensorFlow: only once flags are valid

    return ServerSettings(
        host=args.rest_api_host,
        rest_port=args.rest_api_port,
        grpc_port=args.port,
        grpc_options=parse_channel_arguments(args.grpc_channel_arguments),
        model_config_file=args.model_config_file,
        model_config_poll_seconds=args.model_config_file_poll_wait_seconds,
        model_name=args.model_name,
        model_base_path=args.model_base_path,
        file_system_poll_seconds=args.file_system_poll_wait_seconds,
        metrics_path=metrics_path,
        batching=batching,
        timeout_seconds=args.rest_api_timeout_in_ms / 1000,
        max_body_bytes=args.rest_api_max_body_bytes,
        enable_signature_method_name_check=args.enable_signature_method_name_check,
        rest_api_enable_cors_support=args.rest_api_enable_cors_support,
    )


def parse_channel_arguments(text: str) -> tuple[tuple[str, int | str], ...]:
    """`key=value,key=value` as tensorflow_model_server reads --grpc_channel_arguments; integer
    values become ints (gRPC needs them typed)."""
    options: list[tuple[str, int | str]] = []
    for item in filter(None, (part.strip() for part in text.split(","))):
        key, sep, value = item.partition("=")
        if not sep or not key:
            raise ConfigError(f"--grpc_channel_arguments: expected key=value, got {item!r}")
        options.append((key, int(value) if value.lstrip("-").isdigit() else value))
    return tuple(options)


def _in_file(parse, text: str, path: str):
    try:
        return parse(text)
    except ConfigError as exc:
        raise ConfigError(f"{path}: {exc}") from exc


async def _serve(settings) -> int:
    from modelops.serving.server import ModelServer

    server = ModelServer(settings)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    port = await server.start()
    log.info("Running gRPC ModelServer at %s:%d ...", settings.host, server.grpc_port)
    log.info("Exporting HTTP/REST API at:%s:%d ...", settings.host, port)
    await server.wait_until_settled()
    # TensorFlow leaves millions of long-lived objects; full GC passes over them were the p99 tail
    gc.collect()
    gc.freeze()
    if settings.metrics_path:
        log.info("Prometheus metrics at http://%s:%d%s", settings.host, port, settings.metrics_path)
    await stop.wait()
    log.info("shutting down")
    await server.stop()
    return 0


def main(argv: list[str]) -> int:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    args = build_parser().parse_args(argv)
    try:
        settings = settings_from_args(args)
    except ConfigError as exc:
        print(f"modelops serve: {exc}", file=sys.stderr, flush=True)
        return 2
    ignored = [f"--{flag}" for flag in IGNORED_TF_SERVING_FLAGS if getattr(args, flag) is not None]
    if ignored:
        log.warning("accepted for tensorflow_model_server compatibility but ignored: %s", ", ".join(ignored))
    from modelops.serving.servable import configure_threads

    configure_threads(args.tensorflow_intra_op_parallelism, args.tensorflow_inter_op_parallelism)
    try:
        return asyncio.run(_serve(settings))
    except ConfigError as exc:
        print(f"modelops serve: {exc}", file=sys.stderr, flush=True)
        return 2
    except OSError as exc:
        where = f"{settings.host}:{settings.rest_port} (REST) / :{settings.grpc_port} (gRPC)"
        print(f"modelops serve: cannot listen on {where}: {exc}", file=sys.stderr, flush=True)
        return 1
