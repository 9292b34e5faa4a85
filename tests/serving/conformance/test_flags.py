"""tensorflow_model_server's flags (model_servers/main.cc) and port rules (server.cc)."""

from __future__ import annotations

import pytest

from modelops.serving.cli import build_parser, main, settings_from_args
from modelops.serving.server import ModelServer, ServerSettings

# every tensorflow::Flag in model_servers/main.cc, with a value of its type
MAIN_CC_FLAGS = {
    "port": "8500", "grpc_socket_path": "/tmp/s", "rest_api_port": "8501", "rest_api_num_threads": "4",
    "rest_api_timeout_in_ms": "30000", "rest_api_enable_cors_support": "true", "enable_batching": "false",
    "allow_version_labels_for_unavailable_models": "true", "batching_parameters_file": "",
    "enable_per_model_batching_parameters": "false", "model_config_file": "/c",
    "model_config_file_poll_wait_seconds": "1",
    "model_name": "m", "model_base_path": "/m", "num_load_threads": "0", "num_unload_threads": "0",
    "max_num_load_retries": "5", "load_retry_interval_micros": "60000000", "file_system_poll_wait_seconds": "1",
    "flush_filesystem_caches": "true", "tensorflow_session_parallelism": "0", "tensorflow_session_config_file": "/s",
    "tensorflow_intra_op_parallelism": "0", "tensorflow_inter_op_parallelism": "0", "use_alts_credentials": "false",
    "ssl_config_file": "/ssl", "platform_config_file": "/p", "per_process_gpu_memory_fraction": "0.5",
    "saved_model_tags": "serve", "grpc_channel_arguments": "", "grpc_max_threads": "8", "enable_model_warmup": "true",
    "num_request_iterations_for_warmup": "2", "version": "false", "monitoring_config_file": "/mon",
    "remove_unused_fields_from_bundle_metagraph": "true", "prefer_tflite_model": "false", "num_tflite_pools": "1",
    "num_tflite_interpreters_per_pool": "1", "enable_signature_method_name_check": "false",
    "xla_cpu_compilation_enabled": "false", "xla_gpu_compilation_enabled": "false", "enable_profiler": "true",
    "thread_pool_factory_config_file": "/t", "mixed_precision": "bfloat16", "skip_initialize_tpu": "true",
    "enable_grpc_healthcheck_service": "false", "enable_serialization_as_tensor_content": "false",
}


def test_every_main_cc_flag_parses() -> None:
    """main.cc's flag list: all 48 parse (those without effect here are logged, never an error)."""
    assert len(MAIN_CC_FLAGS) == 48
    args = build_parser().parse_args([f"--{name}={value}" for name, value in MAIN_CC_FLAGS.items()])
    assert args.allow_version_labels_for_unavailable_models is True and args.num_request_iterations_for_warmup == 2
    bare = build_parser().parse_args(["--enable_batching", "--allow_version_labels_for_unavailable_models"])
    assert bare.enable_batching is True and bare.allow_version_labels_for_unavailable_models is True


def test_the_operators_pod_flags_take_effect(tmp_path) -> None:
    """The flags the operator's tensorflow_model_server pods get (kube/builders/serving.py)."""
    monitoring = tmp_path / "monitoring.config"
    monitoring.write_text('prometheus_config { enable: true path: "/monitoring/prometheus/metrics" }')
    args = build_parser().parse_args([
        "--port=8500", "--rest_api_port=8501", "--model_config_file=/etc/models.config",
        "--model_config_file_poll_wait_seconds=30", f"--monitoring_config_file={monitoring}",
        "--allow_version_labels_for_unavailable_models=true", "--enable_model_warmup=false"])
    settings = settings_from_args(args)
    assert (settings.grpc_port, settings.rest_port, settings.model_config_poll_seconds) == (8500, 8501, 30)
    assert settings.labels.allow_version_labels_for_unavailable_models is True
    assert settings.enable_model_warmup is False and settings.metrics_path == "/monitoring/prometheus/metrics"


def test_defaults_are_tf_servings(tmp_path) -> None:
    """server.h Options: grpc 8500, REST off (0), warm-up on, 5 load retries a minute apart, labels
    only on AVAILABLE versions, file system polled every second."""
    settings = settings_from_args(build_parser().parse_args([f"--model_base_path={tmp_path}"]))
    assert (settings.grpc_port, settings.rest_port, settings.file_system_poll_seconds) == (8500, 0, 1.0)
    assert settings.enable_model_warmup is True and settings.warmup_iterations == 1
    assert (settings.loads.max_num_load_retries, settings.loads.load_retry_interval_seconds) == (5, 60.0)
    assert settings.labels.allow_version_labels_for_unavailable_models is False


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--model_base_path=/m", "--port=0"],
         "At least one of server_options.grpc_port or server_options.grpc_socket_path must be set."),
        (["--port=1"], "Both server_options.model_base_path and server_options.model_config_file are empty!"),
    ],
)
def test_server_cc_start_refusals(argv, message, capsys) -> None:
    """server.cc BuildAndStart's InvalidArgument errors; main.cc prints them and returns -1."""
    assert main(argv) == 255
    assert f"Failed to start server. Error: {message}" in capsys.readouterr().err


def test_version_flag_prints_and_exits(capsys) -> None:
    """main.cc --version: "TensorFlow ModelServer: ..." and "TensorFlow Library: ...", exit 0."""
    assert main(["--version"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("TensorFlow ModelServer: ") and "TensorFlow Library: " in out


async def test_rest_port_zero_is_off_and_a_port_shared_with_grpc_skips_rest(unused_tcp_port) -> None:
    """server.cc: REST only when http_port != 0, and not when it equals the gRPC port."""
    for rest_port in (0, unused_tcp_port):
        server = ModelServer(ServerSettings(rest_port=rest_port, grpc_port=unused_tcp_port))
        try:
            await server.start()
            assert server.port is None and server.grpc_port == unused_tcp_port
        finally:
            await server.stop()
