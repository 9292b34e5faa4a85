"""Version labels exactly as ServerCore::UpdateModelVersionLabelMap (model_servers/server_core.cc).

ReloadConfig computes the new label map BEFORE it loads anything (on the very first config too),
so a label may only name a version that is AVAILABLE at that moment:

    Request to assign label to version N of model X, which is not currently available for inference

(FAILED_PRECONDITION), unless `--allow_version_labels_for_unavailable_models`, which admits a label
on an unavailable version only when that label is new or keeps its current version: moving an
existing label to an unavailable version is refused even with the flag.
`force_allow_any_version_labels_for_unavailable_models` (a ServerCore option, no main.cc flag)
admits any. With `allow_version_labels` false (a ServerCore option, default true) any label is
refused. Tests: server_core_test.cc (AssignLabelToUnavailableVersion..., VersionLabels...).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

from modelops.serving.config import ServedModel
from modelops.serving.errors import ServingError

LabelMap = dict[str, dict[str, int]]  # model -> label -> version


@dataclass(frozen=True)
class LabelOptions:
    allow_version_labels: bool = True
    allow_version_labels_for_unavailable_models: bool = False
    force_allow_any_version_labels_for_unavailable_models: bool = False


def updated_label_map(
    models: Sequence[ServedModel],
    is_available: Callable[[str, int], bool],
    current: Mapping[str, Mapping[str, int]],
    options: LabelOptions,
) -> LabelMap:
    """The label map a new config installs, or the FAILED_PRECONDITION TF Serving refuses it with."""
    new_map: LabelMap = {}
    for model in models:
        for label, version in model.labels.items():
            allow_unavailable = options.force_allow_any_version_labels_for_unavailable_models
            if not allow_unavailable and options.allow_version_labels_for_unavailable_models:
                existing = current.get(model.name, {}).get(label)
                allow_unavailable = existing is None or existing == version
            if not allow_unavailable and not is_available(model.name, version):
                raise ServingError(
                    "FAILED_PRECONDITION",
                    f"Request to assign label to version {version} of model {model.name}, "
                    "which is not currently available for inference",
                )
            new_map.setdefault(model.name, {})[label] = version
    if not options.allow_version_labels and new_map:
        raise ServingError("FAILED_PRECONDITION", "Model version labels are not currently allowed by the server.")
    return new_map
