"""Users' pod settings (spec.podTemplate, spec.serving.podTemplate) laid onto the pods we build.

Pure functions on manifests, so every builder applies the same rules: scheduling fields are set (lists
are appended to what the operator already sets, e.g. serving's own topology spread), the user's env never
replaces the operator's own variables, and the user's volumes and mounts come after ours.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from typing import Any

# Set on the pod spec as given.
_POD_SCALARS = ("nodeSelector", "affinity", "priorityClassName", "serviceAccountName", "automountServiceAccountToken")
# Appended to the pod spec's own list.
_POD_LISTS = ("tolerations", "topologySpreadConstraints", "imagePullSecrets", "volumes")


def _spread_key(constraint: Mapping[str, Any]) -> tuple[Any, Any]:
    return constraint.get("topologyKey"), constraint.get("whenUnsatisfiable", "DoNotSchedule")


def _not_replaced(key: str, ours: list[Any], theirs: list[Any]) -> list[Any]:
    """Our entries the user's do not replace. The API server refuses two spread constraints with the same
    topologyKey and whenUnsatisfiable (validation of PodSpec.topologySpreadConstraints), so the user's wins."""
    if key != "topologySpreadConstraints":
        return ours
    taken = {_spread_key(c) for c in theirs}
    return [c for c in ours if _spread_key(c) not in taken]


def stage_pod_template(spec: Mapping[str, Any], stage: str) -> dict[str, Any]:
    """spec.podTemplate for one stage: a field under stages.<stage> replaces the shared one."""
    template = dict(spec.get("podTemplate") or {})
    overrides = (template.pop("stages", None) or {}).get(stage) or {}
    return {**template, **overrides}


def apply_pod_template(pod_spec: dict[str, Any], container: dict[str, Any],
                       template: Mapping[str, Any] | None) -> None:
    """Lay `template` onto `pod_spec` and its main `container`, in place."""
    if not template:
        return
    template = copy.deepcopy(dict(template))
    for key in _POD_SCALARS:
        if key in template:
            pod_spec[key] = template[key]
    for key in _POD_LISTS:
        if template.get(key):
            pod_spec[key] = [*_not_replaced(key, pod_spec.get(key, []), template[key]), *template[key]]
    ours = {variable["name"] for variable in container.get("env", [])}
    extra_env = [variable for variable in template.get("env", []) if variable["name"] not in ours]
    if extra_env:
        container["env"] = [*container.get("env", []), *extra_env]
    if template.get("envFrom"):
        container["envFrom"] = [*container.get("envFrom", []), *template["envFrom"]]
    if template.get("volumeMounts"):
        container["volumeMounts"] = [*container.get("volumeMounts", []), *template["volumeMounts"]]
