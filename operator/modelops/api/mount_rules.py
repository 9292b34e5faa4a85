"""Mount paths a user's volume must leave to the operator.

Every stage and serving container mounts, besides the model volume at spec.storage.mountPath, a scratch
emptyDir at /tmp (HOME and TMPDIR; the root filesystem is read-only), and stage and serving pods their
configuration read-only under /etc/modelops (kube/builders/jobs.py, serving.py, config.py; a unit test keeps
these lists equal to what the builders mount). The API server refuses a second mount at the same path only
when the Job is created ("must be unique"), and a mount inside a read-only config volume fails when the
container starts; these rules refuse both at admission. The operator's `--scratch-path` may move /tmp;
admission knows the default.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from modelops.api.pod_template_schema import STAGES_WITH_PODS
from modelops.api.rules import ItemRule, Ref, Rule

SCRATCH_PATH = "/tmp"
STAGE_CONFIG_PATH = "/etc/modelops/stage"
SERVING_CONFIG_PATH = "/etc/modelops/serving"
# What the builders mount besides the model volume, per pod kind (read-only config volumes are the second).
STAGE_POD_MOUNTS = (SCRATCH_PATH, STAGE_CONFIG_PATH)  # tune, train, validate, evaluate
PRUNE_POD_MOUNTS = (SCRATCH_PATH,)
SERVING_POD_MOUNTS = (SCRATCH_PATH, SERVING_CONFIG_PATH)
OPERATOR_MOUNT_PATHS = (SCRATCH_PATH, STAGE_CONFIG_PATH, SERVING_CONFIG_PATH)
MOUNT_PATH_MAX_LENGTH = 1024  # bounds the CEL cost estimate
_NAMES = {SCRATCH_PATH: "scratch space", STAGE_CONFIG_PATH: "stage configuration",
          SERVING_CONFIG_PATH: "serving configuration"}


def _taken_pattern(paths: tuple[str, ...]) -> str:
    """The path itself (with or without trailing slashes), or anything inside a read-only config volume."""
    inside = [p for p in paths if p != SCRATCH_PATH]
    return f"^(({'|'.join(paths)})/*{f'|({chr(124).join(inside)})/.*' if inside else ''})$"


def _ours(paths: tuple[str, ...]) -> str:
    return ", ".join(f"{path} ({_NAMES[path]})" for path in paths)


def taken(path: str, paths: tuple[str, ...] = OPERATOR_MOUNT_PATHS) -> bool:
    return re.fullmatch(_taken_pattern(paths), path) is not None


STORAGE_RULE = Rule(
    # The model volume at /tmp would replace the scratch space (or the reverse): the Job is refused.
    "storage-mount-path-free", at="spec.storage", field=".mountPath",
    cel=f"!has(self.mountPath) || !self.mountPath.matches('{_taken_pattern(OPERATOR_MOUNT_PATHS)}')",
    check=lambda storage: not taken(storage.get("mountPath") or "/models"),
    message=('"', Ref("self.mountPath", lambda storage: storage["mountPath"]),
             f'" is where the operator mounts its own volumes ({_ours(OPERATOR_MOUNT_PATHS)}); use another path '
             "such as /models"))


def _volume_mount_rule(where: str, items: str, paths: tuple[str, ...]) -> ItemRule:
    """A user's volumeMounts in `items` (under spec) may not land on our mounts or on the model volume."""
    collides = (f"(g.mountPath.matches('{_taken_pattern(paths)}') || (has(self.storage.mountPath) && "
                f"(g.mountPath == self.storage.mountPath || g.mountPath == self.storage.mountPath + '/')))")

    def ok(mount: Mapping[str, Any], spec: Mapping[str, Any]) -> bool:
        path = mount["mountPath"]
        storage = (spec.get("storage") or {}).get("mountPath")
        return not taken(path, paths) and not (storage and path in (storage, storage + "/"))

    return ItemRule(f"{where}-volume-mounts-free", at="spec", items=items, field=".mountPath", cel=f"!{collides}",
                    check=ok, message=('"', Ref("g.mountPath", lambda mount, spec: mount["mountPath"]),
                                       f'" is already mounted by the operator ({_ours(paths)}, and the model '
                                       "volume at spec.storage.mountPath)"))


def _stage_paths(stage: str) -> tuple[str, ...]:
    return PRUNE_POD_MOUNTS if stage == "prune" else STAGE_POD_MOUNTS


MOUNT_RULES = (
    STORAGE_RULE,
    _volume_mount_rule("stage-pods", "podTemplate.volumeMounts", STAGE_POD_MOUNTS),  # every stage, prune too
    _volume_mount_rule("serving-pods", "serving.podTemplate.volumeMounts", SERVING_POD_MOUNTS),
    *(_volume_mount_rule(f"{stage}-pods", f"podTemplate.stages.{stage}.volumeMounts", _stage_paths(stage))
      for stage in STAGES_WITH_PODS),
)
