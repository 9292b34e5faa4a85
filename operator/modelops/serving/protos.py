"""Proto messages TF Serving reads as text, where `tensorflow-serving-api` cannot provide them.

`MonitoringConfig` (tensorflow_serving/config/monitoring_config.proto) and `BatchingParameters`
(tensorflow_serving/servables/tensorflow/session_bundle_config.proto) are missing from the pip
package, yet the files we write and read must be byte-for-byte what tensorflow_model_server
accepts. So we declare the same messages (same package, names, field numbers and types) in a
private descriptor pool and use the real protobuf text format on them.

`ModelServerConfig` comes from the pip package when it is installed (the worker extra). The operator
alone (`pip install modelops`) must not pull in TensorFlow, which that package requires, so it
renders with the subset declared here (model_config_list, name, base_path, model_platform,
model_version_policy, version_labels); a test asserts both give identical text and bytes.
If a future tensorflow-serving-api ships `monitoring_config_pb2`, that module wins.
"""

from __future__ import annotations

from typing import Any

from google.protobuf import descriptor_pb2, descriptor_pool, message_factory, wrappers_pb2

_PACKAGE = "tensorflow.serving"
_F = descriptor_pb2.FieldDescriptorProto


def _field(name: str, number: int, type_: int, type_name: str = "", repeated: bool = False) -> _F:
    label = _F.LABEL_REPEATED if repeated else _F.LABEL_OPTIONAL
    field = _F(name=name, number=number, type=type_, label=label)
    if type_name:
        field.type_name = type_name
    return field


def _build_pool() -> descriptor_pool.DescriptorPool:
    pool = descriptor_pool.DescriptorPool()
    pool.AddSerializedFile(wrappers_pb2.DESCRIPTOR.serialized_pb)

    monitoring = descriptor_pb2.FileDescriptorProto(
        name="modelops/tensorflow_serving/monitoring_config.proto", package=_PACKAGE, syntax="proto3"
    )
    prometheus = monitoring.message_type.add(name="PrometheusConfig")
    prometheus.field.extend([_field("enable", 1, _F.TYPE_BOOL), _field("path", 2, _F.TYPE_STRING)])
    config = monitoring.message_type.add(name="MonitoringConfig")
    config.field.append(
        _field("prometheus_config", 1, _F.TYPE_MESSAGE, f".{_PACKAGE}.PrometheusConfig")
    )
    pool.Add(monitoring)

    batching = descriptor_pb2.FileDescriptorProto(
        name="modelops/tensorflow_serving/batching_parameters.proto",
        package=_PACKAGE,
        syntax="proto3",
        dependency=["google/protobuf/wrappers.proto"],
    )
    params = batching.message_type.add(name="BatchingParameters")
    int64, string, boolean = (
        ".google.protobuf.Int64Value",
        ".google.protobuf.StringValue",
        ".google.protobuf.BoolValue",
    )
    params.field.extend(
        [
            _field("max_batch_size", 1, _F.TYPE_MESSAGE, int64),
            _field("batch_timeout_micros", 2, _F.TYPE_MESSAGE, int64),
            _field("max_enqueued_batches", 3, _F.TYPE_MESSAGE, int64),
            _field("num_batch_threads", 4, _F.TYPE_MESSAGE, int64),
            _field("thread_pool_name", 5, _F.TYPE_MESSAGE, string),
            _field("allowed_batch_sizes", 6, _F.TYPE_INT64, repeated=True),
            _field("pad_variable_length_inputs", 7, _F.TYPE_BOOL),
            _field("enable_large_batch_splitting", 8, _F.TYPE_MESSAGE, boolean),
            _field("max_execution_batch_size", 9, _F.TYPE_MESSAGE, int64),
        ]
    )
    pool.Add(batching)
    pool.Add(_model_server_config_file())
    return pool


def _model_server_config_file() -> descriptor_pb2.FileDescriptorProto:
    """tensorflow_serving/config/{model_server_config,file_system_storage_path_source}.proto, the
    fields the operator writes (numbers as upstream, so the wire and text forms are the same)."""
    config = descriptor_pb2.FileDescriptorProto(
        name="modelops/tensorflow_serving/model_server_config.proto", package=_PACKAGE, syntax="proto3"
    )
    source = config.message_type.add(name="FileSystemStoragePathSourceConfig")
    policy = source.nested_type.add(name="ServableVersionPolicy")
    policy.nested_type.add(name="Latest").field.append(_field("num_versions", 1, _F.TYPE_UINT32))
    policy.nested_type.add(name="All")
    policy.nested_type.add(name="Specific").field.append(_field("versions", 1, _F.TYPE_INT64, repeated=True))
    policy.oneof_decl.add(name="policy_choice")
    prefix = f".{_PACKAGE}.FileSystemStoragePathSourceConfig.ServableVersionPolicy"
    for name, number in (("latest", 100), ("all", 101), ("specific", 102)):
        choice = _field(name, number, _F.TYPE_MESSAGE, f"{prefix}.{name.capitalize()}")
        choice.oneof_index = 0
        policy.field.append(choice)

    model = config.message_type.add(name="ModelConfig")
    labels = model.nested_type.add(name="VersionLabelsEntry")
    labels.field.extend([_field("key", 1, _F.TYPE_STRING), _field("value", 2, _F.TYPE_INT64)])
    labels.options.map_entry = True
    model.field.extend([
        _field("name", 1, _F.TYPE_STRING),
        _field("base_path", 2, _F.TYPE_STRING),
        _field("model_platform", 4, _F.TYPE_STRING),
        _field("model_version_policy", 7, _F.TYPE_MESSAGE, prefix),
        _field("version_labels", 8, _F.TYPE_MESSAGE, f".{_PACKAGE}.ModelConfig.VersionLabelsEntry", repeated=True),
    ])
    config.message_type.add(name="ModelConfigList").field.append(
        _field("config", 1, _F.TYPE_MESSAGE, f".{_PACKAGE}.ModelConfig", repeated=True))
    server = config.message_type.add(name="ModelServerConfig")
    server.oneof_decl.add(name="config")
    entry = _field("model_config_list", 1, _F.TYPE_MESSAGE, f".{_PACKAGE}.ModelConfigList")
    entry.oneof_index = 0
    server.field.append(entry)
    return config


_POOL = _build_pool()


def _message_class(full_name: str) -> type[Any]:
    return message_factory.GetMessageClass(_POOL.FindMessageTypeByName(full_name))


try:  # pragma: no cover - depends on the installed tensorflow-serving-api
    from tensorflow_serving.config import monitoring_config_pb2  # type: ignore[attr-defined]

    MonitoringConfig: type[Any] = monitoring_config_pb2.MonitoringConfig
except ImportError:
    MonitoringConfig = _message_class(f"{_PACKAGE}.MonitoringConfig")

BatchingParameters: type[Any] = _message_class(f"{_PACKAGE}.BatchingParameters")

OperatorModelServerConfig: type[Any] = _message_class(f"{_PACKAGE}.ModelServerConfig")

try:  # the real message when tensorflow-serving-api is installed (worker extra), else the subset above
    from tensorflow_serving.config.model_server_config_pb2 import ModelServerConfig as _Upstream

    ModelServerConfig: type[Any] = _Upstream
except ImportError:  # pragma: no cover - the operator-only install
    ModelServerConfig = OperatorModelServerConfig
