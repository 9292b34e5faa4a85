"""The files TF Serving reads: model_config_file, monitoring_config_file, batching_parameters_file.

Produced and parsed with the real protos and protobuf text format (never string templates), so the
operator's ConfigMap for the `tensorflow/serving` image and `modelops serve` read identical files.
The model config pins `model_version_policy { specific {...} }` to blessed versions only: TF Serving
would otherwise load any new numbered directory within a second, including a rejected candidate.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from google.protobuf import text_format

from modelops.serving.protos import BatchingParameters, ModelServerConfig, MonitoringConfig

DEFAULT_PROMETHEUS_PATH = "/monitoring/prometheus/metrics"
_FORBIDDEN_NAME_CHARS = frozenset("/:? #")


class ConfigError(ValueError):
    """A configuration file or value is invalid; the message names the model and field."""


@dataclass(frozen=True)
class ServedModel:
    """One model TF Serving should serve: the blessed versions under base_path and their labels.

    `versions` empty is only produced by `parse_model_config` for a config without a `specific`
    policy; the server then serves the newest version on disk, as TF Serving's default policy does.
    """

    name: str
    base_path: str
    versions: tuple[int, ...]
    labels: Mapping[str, int] = field(default_factory=dict)

    def __post_init__(self) -> None:
        where = f"model {self.name!r}"
        if not isinstance(self.name, str) or not self.name.strip():
            raise ConfigError("model name: must be a non-empty string")
        if _FORBIDDEN_NAME_CHARS & set(self.name):
            raise ConfigError(f"{where}: name must not contain any of '/', ':', '?', '#' or spaces")
        if not isinstance(self.base_path, str) or not self.base_path.strip():
            raise ConfigError(f"{where}: base_path must be a non-empty path")
        versions = tuple(self.versions)
        for version in versions:
            if isinstance(version, bool) or not isinstance(version, int) or version <= 0:
                raise ConfigError(f"{where}: versions must be positive integers, got {version!r}")
        if len(set(versions)) != len(versions):
            raise ConfigError(f"{where}: versions must not repeat, got {list(versions)}")
        labels = dict(self.labels)
        for label, version in labels.items():
            if not isinstance(label, str) or not label.strip() or _FORBIDDEN_NAME_CHARS & set(label):
                raise ConfigError(f"{where}: label {label!r} must be a non-empty word")
            if version not in versions:
                raise ConfigError(
                    f"{where}: label {label!r} points to version {version!r}, "
                    f"which is not among the served versions {sorted(versions)}"
                )
        object.__setattr__(self, "versions", versions)
        object.__setattr__(self, "labels", labels)


def render_model_config(models: Sequence[ServedModel]) -> str:
    """Text-format `ModelServerConfig` pinning each model to its blessed versions and labels."""
    _check_unique_names(models)
    config = ModelServerConfig()
    for model in models:
        if not model.versions:
            raise ConfigError(f"model {model.name!r}: versions must list at least one blessed version")
        entry = config.model_config_list.config.add()
        entry.name = model.name
        entry.base_path = model.base_path
        entry.model_platform = "tensorflow"
        entry.model_version_policy.specific.versions.extend(sorted(model.versions))
        for label in sorted(model.labels):
            entry.version_labels[label] = model.labels[label]
    return text_format.MessageToString(config)


def render_monitoring_config(path: str = DEFAULT_PROMETHEUS_PATH) -> str:
    """Text-format `MonitoringConfig` enabling Prometheus metrics at `path` on the REST port."""
    if not path.startswith("/"):
        raise ConfigError(f"monitoring path: must start with '/', got {path!r}")
    config = MonitoringConfig()
    config.prometheus_config.enable = True
    config.prometheus_config.path = path
    return text_format.MessageToString(config)


def parse_model_config(text: str) -> list[ServedModel]:
    """Read a TF Serving `model_config_file` (text format) back into validated ServedModels."""
    config = ModelServerConfig()
    try:
        text_format.Parse(text, config)
    except text_format.ParseError as exc:
        raise ConfigError(f"model config: not a valid ModelServerConfig text proto: {exc}") from exc
    return models_from_proto(config)


def models_from_proto(config: Any) -> list[ServedModel]:  # a ModelServerConfig message
    """Validated ServedModels of a ModelServerConfig (from the file, or a gRPC ReloadConfigRequest)."""
    if config.WhichOneof("config") == "custom_model_config":
        raise ConfigError("model config: custom_model_config is not supported; use model_config_list")
    models = []
    for entry in config.model_config_list.config:
        where = f"model config entry {entry.name!r}"
        if entry.model_platform not in ("", "tensorflow"):
            raise ConfigError(f"{where}: model_platform must be 'tensorflow', got {entry.model_platform!r}")
        policy = entry.model_version_policy.WhichOneof("policy_choice")
        versions = tuple(entry.model_version_policy.specific.versions) if policy == "specific" else ()
        if policy == "specific" and not versions:
            raise ConfigError(f"{where}: model_version_policy.specific lists no versions")
        try:
            models.append(
                ServedModel(entry.name, entry.base_path, versions, dict(entry.version_labels))
            )
        except ConfigError as exc:
            raise ConfigError(f"model config: {exc}") from exc
    _check_unique_names(models)
    return models


def parse_monitoring_config(text: str) -> str | None:
    """The Prometheus path a `monitoring_config_file` enables, or None when disabled."""
    config = MonitoringConfig()
    try:
        text_format.Parse(text, config)
    except text_format.ParseError as exc:
        raise ConfigError(f"monitoring config: not a valid MonitoringConfig text proto: {exc}") from exc
    if not config.prometheus_config.enable:
        return None
    path = config.prometheus_config.path or DEFAULT_PROMETHEUS_PATH
    if not path.startswith("/"):
        raise ConfigError(f"monitoring config: prometheus_config.path must start with '/', got {path!r}")
    return path


@dataclass(frozen=True)
class BatchingOptions:
    """Dynamic batching knobs; defaults are TF Serving's BasicBatchScheduler defaults."""

    max_batch_size: int = 1000
    batch_timeout_micros: int = 0
    max_enqueued_batches: int = 10
    num_batch_threads: int = field(default_factory=lambda: os.cpu_count() or 1)

    def __post_init__(self) -> None:
        for name in ("max_batch_size", "max_enqueued_batches", "num_batch_threads"):
            if getattr(self, name) < 1:
                raise ConfigError(f"batching parameters: {name} must be >= 1, got {getattr(self, name)}")
        if self.batch_timeout_micros < 0:
            raise ConfigError(
                f"batching parameters: batch_timeout_micros must be >= 0, got {self.batch_timeout_micros}"
            )


def parse_batching_parameters(text: str) -> BatchingOptions:
    """Read TF Serving's `BatchingParameters` text proto; unset fields keep TF Serving's defaults."""
    params = BatchingParameters()
    try:
        text_format.Parse(text, params)
    except text_format.ParseError as exc:
        raise ConfigError(f"batching parameters: not a valid BatchingParameters text proto: {exc}") from exc
    defaults = BatchingOptions()
    values = {
        name: getattr(params, name).value if params.HasField(name) else getattr(defaults, name)
        for name in ("max_batch_size", "batch_timeout_micros", "max_enqueued_batches", "num_batch_threads")
    }
    return BatchingOptions(**values)


def _check_unique_names(models: Sequence[ServedModel]) -> None:
    seen: set[str] = set()
    for model in models:
        if model.name in seen:
            raise ConfigError(f"model config: model name {model.name!r} appears more than once")
        seen.add(model.name)
