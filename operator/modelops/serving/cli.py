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
from typing import NoReturn

from modelops.serving.config import (
    BatchingOptions,
    ConfigError,
    parse_batching_parameters,
    parse_monitoring_config,
)

log = logging.getLogger("modelops.serve")

# Every other tensorflow_model_server flag (model_servers/main.cc): parsed with its type so the
# same container args work, logged as having no effect here, never a parse error.
UNSUPPORTED_TF_SERVING_FLAGS: dict[str, type] = {
    "grpc_socket_path": str, "rest_api_num_threads": int, "enable_per_model_batching_parameters": bool,
    "num_load_threads": int, "num_unload_threads": int,
    "flush_filesystem_caches": bool, "tensorflow_session_config_file": str, "use_alts_credentials": bool,
    "ssl_config_file": str, "platform_config_file": str, "per_process_gpu_memory_fraction": float,
    "saved_model_tags": str, "grpc_max_threads": int, "remove_unused_fields_from_bundle_metagraph": bool,
    "prefer_tflite_model": bool, "num_tflite_pools": int, "num_tflite_interpreters_per_pool": int,
    "xla_cpu_compilation_enabled": bool, "xla_gpu_compilation_enabled": bool, "enable_profiler": bool,
    "thread_pool_factory_config_file": str,
    "mixed_precision": str, "skip_initialize_tpu": bool, "enable_grpc_healthcheck_service": bool,
    "enable_serialization_as_tensor_content": bool,
}
EXIT_FAILED = 255  # main.cc returns -1 for bad flags and "Failed to start server"


class _Parser(argparse.ArgumentParser):
    """main.cc: an argument tensorflow::Flags does not know is "unknown argument: ..." plus usage, -1."""

    def error(self, message: str) -> NoReturn:
        self.print_usage(sys.stderr)
        self.exit(EXIT_FAILED, f"unknown argument: {message.removeprefix('unrecognized arguments: ')}\n")


def _bool(text: str) -> bool:
    lowered = text.lower()
    if lowered in ("1", "true", "yes"):
        return True
    if lowered in ("0", "false", "no"):
        return False
    raise argparse.ArgumentTypeError(f"expected true or false, got {text!r}")


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="modelops serve", description="TF-Serving-compatible gRPC and REST model server")
    add = parser.add_argument

    def flag(name: str, **kwargs) -> None:  # TF's bool flags: --x, --x=true, --x=false
        add(f"--{name}", type=_bool, nargs="?", const=True, **kwargs)

    add("--port", type=int, default=8500, help="gRPC port (TF Serving: must not be 0)")
    add("--grpc_channel_arguments", default="",
        help="comma-separated gRPC server arguments, e.g. grpc.max_receive_message_length=1048576")
    add("--rest_api_port", type=int, default=0, help="REST port (0, the default: no REST API)")
    add("--rest_api_host", default=os.environ.get("MODELOPS_REST_API_HOST", "0.0.0.0"),
        help="address both APIs listen on (modelops extension; default: $MODELOPS_REST_API_HOST, else 0.0.0.0)")
    add("--rest_api_timeout_in_ms", type=int, default=30000, help="per-request timeout")
    add("--rest_api_max_body_bytes", type=int, default=16 * 1024 * 1024,
        help="larger request bodies get 413 (modelops extension)")
    add("--model_config_file", help="ModelServerConfig text proto listing models and pinned versions")
    add("--model_config_file_poll_wait_seconds", type=float, default=0.0,
        help="re-read the config file this often (0 = read once)")
    add("--model_name", default="default", help="single-model mode: the model's name")
    add("--model_base_path", help="single-model mode: directory of numbered versions (newest is served)")
    add("--file_system_poll_wait_seconds", type=float, default=1.0,
        help="how often every model looks for new or removed version directories")
    add("--monitoring_config_file", help="MonitoringConfig text proto enabling Prometheus metrics")
    flag("enable_batching", default=False, help="server-side dynamic batching")
    add("--tensorflow_session_parallelism", type=int, default=0, help="both thread pools, unless set apart")
    add("--tensorflow_intra_op_parallelism", type=int, default=0, help="TF intra-op threads (0 = TF decides)")
    add("--tensorflow_inter_op_parallelism", type=int, default=0, help="TF inter-op threads (0 = TF decides)")
    flag("enable_signature_method_name_check", default=False,
         help="Predict/Classify/Regress check the signature's method_name (TF Serving's flag, default false)")
    flag("rest_api_enable_cors_support", default=False,
         help="add CORS headers to REST answers (TF Serving's flag, default false)")
    add("--batching_parameters_file", help="BatchingParameters text proto (needs --enable_batching)")
    flag("allow_version_labels_for_unavailable_models", default=False,
         help="a NEW label may name a version that is not AVAILABLE yet")
    flag("enable_model_warmup", default=True, help="replay assets.extra/tf_serving_warmup_requests at load")
    add("--num_request_iterations_for_warmup", type=int, default=0, help="replays per warm-up record (0 = 1)")
    add("--max_num_load_retries", type=int, default=5, help="retries of a failed load")
    add("--load_retry_interval_micros", type=int, default=60_000_000, help="wait between load retries")
    flag("version", default=False, help="print the version and exit")
    for name, kind in UNSUPPORTED_TF_SERVING_FLAGS.items():
        if kind is bool:
            flag(name, default=None, help=argparse.SUPPRESS)
        else:
            add(f"--{name}", type=kind, default=None, help=argparse.SUPPRESS)
    return parser


def _read(path: str, flag: str) -> str:
    try:
        with open(path, encoding="utf-8") as handle:
            return handle.read()
    except OSError as exc:
        raise ConfigError(f"{flag} {path}: {exc.strerror}") from exc


def settings_from_args(args: argparse.Namespace):  # -> ServerSettings (import deferred: TensorFlow)
    """Validate flag combinations and read the side files; errors name the flag and the file."""
    # server.cc BuildAndStart's refusals, in its order
    if args.port == 0:
        raise ConfigError("At least one of server_options.grpc_port or server_options.grpc_socket_path must be set.")
    if not args.model_base_path and not args.model_config_file:
        raise ConfigError("Both server_options.model_base_path and server_options.model_config_file are empty!")
    if args.model_config_file and args.model_base_path:
        log.warning("--model_base_path is ignored: --model_config_file is given")  # server.cc uses the file
        args.model_base_path = None
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
        raise ConfigError("server_options.batching_parameters_file is set without setting "
                          "server_options.enable_batching to true.")
    if (args.tensorflow_intra_op_parallelism > 0 and args.tensorflow_inter_op_parallelism > 0
            and args.tensorflow_session_parallelism > 0):
        raise ConfigError("Either configure server_options.tensorflow_session_parallelism or "
                          "(server_options.tensorflow_intra_op_parallelism, "
                          "server_options.tensorflow_inter_op_parallelism) separately. You cannot configure all.")
    from modelops.serving.labels import LabelOptions  # TensorFlow: only once flags are valid
    from modelops.serving.registry import LoadOptions
    from modelops.serving.server import ServerSettings

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
        labels=LabelOptions(allow_version_labels_for_unavailable_models=args.allow_version_labels_for_unavailable_models),
        loads=LoadOptions(max(args.max_num_load_retries, 0), max(args.load_retry_interval_micros, 0) / 1e6),
        enable_model_warmup=args.enable_model_warmup,
        warmup_iterations=max(args.num_request_iterations_for_warmup, 1),
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
    if port is not None:
        log.info("Exporting HTTP/REST API at:%s:%d ...", settings.host, port)
    await server.wait_until_settled()
    # TensorFlow leaves millions of long-lived objects; full GC passes over them were the p99 tail
    gc.collect()
    gc.freeze()
    if settings.metrics_path and port is not None:
        log.info("Prometheus metrics at http://%s:%d%s", settings.host, port, settings.metrics_path)
    await stop.wait()
    log.info("shutting down")
    await server.stop()
    return 0


def _fail(message: str) -> int:
    print(f"Failed to start server. Error: {message}", file=sys.stderr, flush=True)
    return EXIT_FAILED


def main(argv: list[str]) -> int:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    args = build_parser().parse_args(argv)
    if args.version:
        import tensorflow as tf

        from modelops import __version__

        print(f"TensorFlow ModelServer: modelops-serve {__version__}\nTensorFlow Library: {tf.__version__}")
        return 0
    try:
        settings = settings_from_args(args)
    except ConfigError as exc:
        return _fail(str(exc))
    ignored = [f"--{flag}" for flag in UNSUPPORTED_TF_SERVING_FLAGS if getattr(args, flag) is not None]
    if ignored:
        log.warning("accepted for tensorflow_model_server compatibility but ignored: %s", ", ".join(ignored))
    from modelops.serving.servable import configure_threads
    from modelops.serving.server import StartupError

    session = args.tensorflow_session_parallelism  # server.cc: used when neither pool is set apart
    separate = args.tensorflow_intra_op_parallelism > 0 or args.tensorflow_inter_op_parallelism > 0
    configure_threads(args.tensorflow_intra_op_parallelism if separate else session,
                      args.tensorflow_inter_op_parallelism if separate else session)
    try:
        return asyncio.run(_serve(settings))
    except (ConfigError, StartupError) as exc:
        return _fail(str(exc))
    except OSError as exc:
        where = f"{settings.host}:{settings.rest_port} (REST) / :{settings.grpc_port} (gRPC)"
        return _fail(f"cannot listen on {where}: {exc}")
