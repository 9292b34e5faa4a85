"""Config generation: the text we write parses back with the real protos and means what we said."""

from __future__ import annotations

import pytest
from google.protobuf import text_format
from tensorflow_serving.config import model_server_config_pb2

from modelops.serving.config import (
    BatchingOptions,
    ConfigError,
    ServedModel,
    parse_batching_parameters,
    parse_model_config,
    parse_monitoring_config,
    render_model_config,
    render_monitoring_config,
)
from modelops.serving.protos import BatchingParameters, MonitoringConfig

IRIS = ServedModel("iris", "/models/default/iris", (4, 3), {"stable": 3, "canary": 4})
WINE = ServedModel("wine", "/models/default/wine", (1,), {"stable": 1})


def test_model_config_parses_back_with_the_tf_serving_proto() -> None:
    text = render_model_config([IRIS, WINE])
    config = text_format.Parse(text, model_server_config_pb2.ModelServerConfig())
    iris, wine = config.model_config_list.config
    assert (iris.name, iris.base_path, iris.model_platform) == ("iris", "/models/default/iris", "tensorflow")
    assert iris.model_version_policy.WhichOneof("policy_choice") == "specific"
    assert list(iris.model_version_policy.specific.versions) == [3, 4]
    assert dict(iris.version_labels) == {"stable": 3, "canary": 4}
    assert list(wine.model_version_policy.specific.versions) == [1]
    assert dict(wine.version_labels) == {"stable": 1}


def test_model_config_round_trips_through_parse_model_config() -> None:
    parsed = parse_model_config(render_model_config([IRIS, WINE]))
    assert [(m.name, m.base_path, sorted(m.versions), dict(m.labels)) for m in parsed] == [
        ("iris", "/models/default/iris", [3, 4], {"stable": 3, "canary": 4}),
        ("wine", "/models/default/wine", [1], {"stable": 1}),
    ]


def test_parse_accepts_a_hand_written_tf_serving_config_without_specific_policy() -> None:
    text = 'model_config_list { config { name: "m" base_path: "/m" model_platform: "tensorflow" } }'
    (model,) = parse_model_config(text)
    assert (model.name, model.base_path, model.versions, dict(model.labels)) == ("m", "/m", (), {})


@pytest.mark.parametrize(
    ("build", "message"),
    [
        (lambda: ServedModel("iris", "/m", (1, 2), {"stable": 3}), "label 'stable' points to version 3"),
        (lambda: ServedModel("iris", "/m", (0,), {}), "versions must be positive integers, got 0"),
        (lambda: ServedModel("iris", "/m", (-2,), {}), "versions must be positive integers, got -2"),
        (lambda: ServedModel("iris", "/m", (1, 1), {}), "versions must not repeat"),
        (lambda: ServedModel("", "/m", (1,), {}), "model name: must be a non-empty string"),
        (lambda: ServedModel("a/b", "/m", (1,), {}), "name must not contain"),
        (lambda: ServedModel("iris", "", (1,), {}), "base_path must be a non-empty path"),
        (lambda: ServedModel("iris", "/m", (1,), {"": 1}), "label '' must be a non-empty word"),
    ],
)
def test_served_model_rejects_invalid_values_with_a_clear_message(build, message: str) -> None:
    with pytest.raises(ConfigError, match=message.replace("(", r"\(")):
        build()


def test_render_rejects_duplicates_and_empty_version_lists() -> None:
    with pytest.raises(ConfigError, match="'iris' appears more than once"):
        render_model_config([IRIS, IRIS])
    with pytest.raises(ConfigError, match="'iris': versions must list at least one blessed version"):
        render_model_config([ServedModel("iris", "/m", (), {})])


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("model_config_list { config { name: ", "not a valid ModelServerConfig"),
        # server_core.cc CreateAdapter / GetPlatform / ValidateModelConfigList
        ('model_config_list { config { name: "m" base_path: "/m" model_platform: "pytorch" } }',
         "PlatformConfigMap has no entry for platform pytorch"),
        ('model_config_list { config { name: "m" base_path: "/m" } }', "Illegal setting neither"),
        ('model_config_list { config { name: "m" base_path: "m" model_platform: "tensorflow" } }',
         "Expected model m to have an absolute path"),
        ('model_config_list { config { name: "m" base_path: "/m" model_platform: "tensorflow" } '
         'config { name: "m" base_path: "/n" model_platform: "tensorflow" } }',
         "Illegal to list model m multiple times in config list"),
    ],
)
def test_parse_model_config_rejects_bad_files_naming_the_problem(text: str, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        parse_model_config(text)


def test_monitoring_config_enables_prometheus_at_the_path() -> None:
    text = render_monitoring_config()
    config = text_format.Parse(text, MonitoringConfig())
    assert config.prometheus_config.enable is True
    assert config.prometheus_config.path == "/monitoring/prometheus/metrics"
    assert parse_monitoring_config(text) == "/monitoring/prometheus/metrics"
    assert parse_monitoring_config(render_monitoring_config("/metrics")) == "/metrics"
    assert parse_monitoring_config("prometheus_config { enable: false }") is None
    with pytest.raises(ConfigError, match="must start with '/'"):
        render_monitoring_config("metrics")
    with pytest.raises(ConfigError, match="not a valid MonitoringConfig"):
        parse_monitoring_config("prometheus_config { enabled: true }")


def test_batching_parameters_read_tf_serving_text_and_keep_defaults() -> None:
    options = parse_batching_parameters(
        "max_batch_size { value: 32 }\nbatch_timeout_micros { value: 500 }\nnum_batch_threads { value: 3 }\n"
    )
    assert options == BatchingOptions(max_batch_size=32, batch_timeout_micros=500, max_enqueued_batches=10,
                                      num_batch_threads=3)
    message = text_format.Parse("max_enqueued_batches { value: 7 }", BatchingParameters())
    assert message.max_enqueued_batches.value == 7
    with pytest.raises(ConfigError, match="max_batch_size must be >= 1, got 0"):
        parse_batching_parameters("max_batch_size { value: 0 }")
    with pytest.raises(ConfigError, match="not a valid BatchingParameters"):
        parse_batching_parameters("max_batch_size: 32")


def test_operator_subset_renders_exactly_what_the_upstream_proto_renders() -> None:
    """The operator-only install renders with its declared subset of ModelServerConfig; the text and
    the wire bytes must equal the real tensorflow-serving-api message's for what the operator writes."""
    from google.protobuf import text_format
    from tensorflow_serving.config.model_server_config_pb2 import ModelServerConfig as Upstream

    from modelops.serving.protos import OperatorModelServerConfig

    models = [ServedModel("churn", "/models/default/churn", (1, 3, 12), {"stable": 12, "canary": 3}),
              ServedModel("prices", "/m/p", (7,), {})]
    text = render_model_config(models)
    ours, upstream = OperatorModelServerConfig(), Upstream()
    text_format.Parse(text, ours)
    text_format.Parse(text, upstream)
    assert text_format.MessageToString(ours) == text_format.MessageToString(upstream) == text
    assert ours.SerializeToString(deterministic=True) == upstream.SerializeToString(deterministic=True)
