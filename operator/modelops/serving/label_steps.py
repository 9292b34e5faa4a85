"""The next model config to hand a RUNNING server so that it reaches a target without a refused step.

TF Serving assigns version labels before it loads models and refuses to point a label at a version that is
not AVAILABLE. With `--allow_version_labels_for_unavailable_models` a NEW label may name a loading version,
but an EXISTING label is still never moved to one (`ServerCore::UpdateModelVersionLabelMap`,
tensorflow_serving/model_servers/server_core.cc; g3doc/serving_config.md says to load the version first and
move the label in a second config). A refused config is refused whole, and a polled file that keeps being
refused never loads the version it waits for. So a server whose labels must move gets two configs: first the
new versions with the moving labels held where they are, then, once those versions are AVAILABLE, the target.

The Kubernetes runtime never needs this (each pinned version has its own immutable config and its own
pods); the local runtime serves every version from one long-lived process, so it does.
"""

from __future__ import annotations

from collections.abc import Mapping, Set

from modelops.serving.config import ServedModel


def next_label_step(target: ServedModel, existing_labels: Mapping[str, int], available: Set[int]) -> ServedModel:
    """`target`, except that each label the server already has at another version stays there until the
    target version is AVAILABLE (and that version is kept loaded meanwhile, so nothing stops serving).

    `existing_labels`: what the server's label map holds now; `available`: its AVAILABLE versions.
    Returns `target` itself when it can be applied in one step.
    """
    labels: dict[str, int] = {}
    kept: list[int] = []
    for label, version in target.labels.items():
        current = existing_labels.get(label)
        if current is not None and current != version and version not in available:
            labels[label] = current
            kept.append(current)
        else:
            labels[label] = version
    if not kept:
        return target
    versions = tuple(sorted(set(target.versions) | set(kept)))
    return ServedModel(target.name, target.base_path, versions, labels)
