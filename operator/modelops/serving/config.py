"""The files TF Serving reads: model_config_file, monitoring_config_file, batching_parameters_file.

Produced and parsed with the real protos and protobuf text format (never string templates), so the
operator's ConfigMap for the `tensorflow/serving` image and `modelops serve` read identical files.
The model config pins `model_version_policy { specific {...} }` to blessed versions only: TF Serving
would otherwise load any new numbered directory within a second, including a rejected candidate.
"""

from __future__ import annotations

import os
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from google.protobuf import text_format

from modelops.serving.protos import BatchingParameters, ModelServerConfig, MonitoringConfig

DEFAULT_PROMETHEUS_PATH = "/monitoring/prometheus/metrics"
_FORBIDDEN_NAME_CHARS = frozenset("/:? #")


class ConfigError(ValueError):
    """A configuration file or value is invalid; the message names the model and field. `code` is
    the canonical code TF Serving answers the same refusal with (ReloadConfig's status)."""

    def __init__(self, message: str, code: str = "INVALID_ARGUMENT") -> None:
        super().__init__(message)
        self.code = code


@dataclass(frozen=True)
class VersionPolicy:
    """`model_version_policy` (file_system_storage_path_source.proto): which numbered directories
    to serve. `latest` serves the newest `num_versions` (0 counts as 1, as
    file_system_storage_path_source.cc AspireLatestVersions), `all` every one, `specific` the
    listed versions only. An unset policy is `latest { num_versions: 1 }`."""

    kind: str = "latest"  # "latest" | "all" | "specific"
    num_versions: int = 1

    def __post_init__(self) -> None:
        if self.kind not in ("latest", "all", "specific"):
            raise ConfigError(f"model_version_policy: unknown policy {self.kind!r}")


@dataclass(frozen=True)
class ServedModel:
    """One model TF Serving should serve: the blessed versions under base_path and their labels.

    Built by the operator as `ServedModel(name, base_path, versions, labels)`: a `specific` policy
    over `versions`, every label on one of them (checked here, so the operator cannot render a
    label TF Serving could never resolve). A parsed config carries its `policy` explicitly and is
    checked only as TF Serving checks it (server_core.cc ValidateModelConfigList; labels are
    checked against what is AVAILABLE when the config is applied, see serving/labels.py).
    """

    name: str
    base_path: str
    versions: tuple[int, ...]
    labels: Mapping[str, int] = field(default_factory=dict)
    policy: VersionPolicy | None = None  # None: `specific` over `versions` (latest 1 if empty)

    @property
    def version_policy(self) -> VersionPolicy:
        if self.policy is not None:
            return self.policy
        return VersionPolicy("specific") if self.versions else VersionPolicy("latest", 1)

    def __post_init__(self) -> None:
        if self.policy is not None:
            self._check_parsed()
            return
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

    def _check_parsed(self) -> None:
        """A parsed config keeps TF Serving's leniency: any int64 versions (repeats collapse, as the
        file-system source reads them into a set) and labels on any version."""
        if not isinstance(self.name, str) or not self.name:
            raise ConfigError("model config entry: name must be a non-empty string")
        object.__setattr__(self, "versions", tuple(sorted(set(self.versions))))
        object.__setattr__(self, "labels", dict(self.labels))


def render_model_config(models: Sequence[ServedModel]) -> str:
    """Text-format `ModelServerConfig` pinning each model to its blessed versions and labels."""
    _check_unique_names(models)
    config = ModelServerConfig()
    for model in models:
        if not model.versions and model.policy is None:
            raise ConfigError(f"model {model.name!r}: versions must list at least one blessed version")
        entry = config.model_config_list.config.add()
        entry.name = model.name
        entry.base_path = model.base_path
        entry.model_platform = "tensorflow"
        policy = model.version_policy
        if policy.kind == "specific":
            entry.model_version_policy.specific.SetInParent()
            entry.model_version_policy.specific.versions.extend(sorted(model.versions))
        elif policy.kind == "latest":
            entry.model_version_policy.latest.num_versions = policy.num_versions
        else:
            entry.model_version_policy.all.SetInParent()
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
    return models_from_proto(_parse_model_server_config(text))


def read_model_config(text: str, configured: Collection[str] = ()) -> list[ServedModel] | None:
    """As parse_model_config, but None for a file that sets no config at all: ServerCore::ReloadConfig
    "Taking no action for empty config" (an empty `model_config_list {}` does unload everything)."""
    config = _parse_model_server_config(text)
    return None if config.WhichOneof("config") is None else models_from_proto(config, configured)


def _parse_model_server_config(text: str) -> Any:
    config = ModelServerConfig()
    try:
        text_format.Parse(text, config)
    except text_format.ParseError as exc:
        raise ConfigError(f"model config: not a valid ModelServerConfig text proto: {exc}") from exc
    return config


def models_from_proto(config: Any, configured: Collection[str] = ()) -> list[ServedModel]:  # ModelServerConfig
    """ServedModels of a ModelServerConfig (from the file, or a gRPC ReloadConfigRequest), refused
    as ServerCore::ReloadConfig refuses it (server_core.cc: ValidateModelConfigList, GetPlatform,
    ValidateNoModelsChangePlatforms against the `configured` models, all tensorflow; CreateAdapter).
    An unset config is the caller's case (ReloadConfig takes no action for it)."""
    choice = config.WhichOneof("config")
    if choice == "custom_model_config":
        # main/server.cc LoadCustomModelConfig: "ModelServer does not yet support custom model config"
        raise ConfigError("ModelServer does not yet support custom model config.")
    models: list[ServedModel] = []
    seen: set[str] = set()
    for entry in config.model_config_list.config:
        if entry.name in seen:
            raise ConfigError(f"Illegal to list model {entry.name} multiple times in config list")
        seen.add(entry.name)
    for entry in config.model_config_list.config:
        if not os.path.isabs(entry.base_path) and "://" not in entry.base_path:
            raise ConfigError(f"Expected model {entry.name} to have an absolute path or URI; "
                              f"got base_path()={entry.base_path}")
        models.append(ServedModel(entry.name, entry.base_path, _specific_versions(entry),
                                  dict(entry.version_labels), _policy(entry)))
    for entry in config.model_config_list.config:
        platform = model_platform(entry)
        if platform != "tensorflow" and entry.name in configured:
            raise ConfigError(f"Illegal to change a model's platform. For model {entry.name} platform was "
                              f"tensorflow and new platform requested is {platform}")
    for entry in config.model_config_list.config:
        platform = model_platform(entry)
        if platform != "tensorflow":
            raise ConfigError(f"PlatformConfigMap has no entry for platform {platform}", "FAILED_PRECONDITION")
    return models


def model_platform(entry: Any) -> str:
    """server_core.cc GetPlatform: `model_platform`, or the deprecated `model_type`; neither is an error."""
    model_type = getattr(entry, "model_type", 0)  # absent from the operator-only proto subset
    if model_type:  # ModelType.TENSORFLOW = 1
        if entry.model_platform:
            raise ConfigError("Illegal setting both ModelServerConfig::model_type (deprecated) and "
                              f"ModelServerConfig::model_platform, model name is {entry.name}")
        if model_type != 1:
            raise ConfigError(f"ModelServerConfig::model_type choice {model_type} not supported.")
        return "tensorflow"
    if not entry.model_platform:
        raise ConfigError("Illegal setting neither ModelServerConfig::model_type (deprecated) nor "
                          f"ModelServerConfig::model_platform, model name is {entry.name}")
    return entry.model_platform


def _policy(entry: Any) -> VersionPolicy:
    choice = entry.model_version_policy.WhichOneof("policy_choice")
    if choice == "specific":
        return VersionPolicy("specific")
    if choice == "all":
        return VersionPolicy("all")
    # file_system_storage_path_source.cc AspireLatestVersions: max(num_versions, 1)
    return VersionPolicy("latest", max(entry.model_version_policy.latest.num_versions, 1))


def _specific_versions(entry: Any) -> tuple[int, ...]:
    if entry.model_version_policy.WhichOneof("policy_choice") != "specific":
        return ()
    return tuple(entry.model_version_policy.specific.versions)


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
