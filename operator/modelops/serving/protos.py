"""Proto messages TF Serving reads as text but `tensorflow-serving-api` does not ship.

`MonitoringConfig` (tensorflow_serving/config/monitoring_config.proto) and `BatchingParameters`
(tensorflow_serving/servables/tensorflow/session_bundle_config.proto) are missing from the pip
package, yet the files we write and read must be byte-for-byte what tensorflow_model_server
accepts. So we declare the same messages (same package, names, types) in a private descriptor
pool and use the real protobuf text format on them. If a future tensorflow-serving-api ships
`monitoring_config_pb2`, that module wins.
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
    return pool


_POOL = _build_pool()


def _message_class(full_name: str) -> type[Any]:
    return message_factory.GetMessageClass(_POOL.FindMessageTypeByName(full_name))


try:  # pragma: no cover - depends on the installed tensorflow-serving-api
    from tensorflow_serving.config import monitoring_config_pb2  # type: ignore[attr-defined]

    MonitoringConfig: type[Any] = monitoring_config_pb2.MonitoringConfig
except ImportError:
    MonitoringConfig = _message_class(f"{_PACKAGE}.MonitoringConfig")

BatchingParameters: type[Any] = _message_class(f"{_PACKAGE}.BatchingParameters")
