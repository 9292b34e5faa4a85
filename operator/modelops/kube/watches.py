"""Which of its children the operator watches, by labels the API server filters on.

kopf's handler `labels=` filters run client-side: every object of the kind would still stream to the
operator. kopf (>= 1.45) sends `settings.watching.label_selectors` as the list and watch requests'
`labelSelector` (kopf/_cogs/clients/watching.py and fetching.py), so the API server drops other objects
before they leave it. Both are set from this one table, so a handler never hears less than it filters for.
"""

from __future__ import annotations

from collections.abc import Mapping

import kopf

from modelops.kube.builders.common import MANAGED_BY, MANAGER, STAGE_LABEL

OURS: Mapping[str, str] = {MANAGED_BY: MANAGER}
SERVING: Mapping[str, str] = {**OURS, STAGE_LABEL: "serve"}

# (group, version, plural) -> labels every watched object of that kind carries.
CHILD_WATCHES: Mapping[tuple[str, str, str], Mapping[str, str]] = {
    ("batch", "v1", "jobs"): OURS,  # every stage Job (train, tune, validate, evaluate, prune)
    ("apps", "v1", "deployments"): SERVING,  # TF Serving, stable and canary
    ("", "v1", "services"): SERVING,  # a deleted serving Service is re-created
    ("", "v1", "configmaps"): SERVING,  # a deleted serving config is re-created
}


def selector_text(labels: Mapping[str, str]) -> str:
    """`a=b,c=d`, sorted: the labelSelector syntax of the API (equality only, so every API server indexes it)."""
    return ",".join(f"{key}={value}" for key, value in sorted(labels.items()))


def configure_watch_selectors(kopf_settings: kopf.OperatorSettings) -> None:
    for (group, version, plural), labels in CHILD_WATCHES.items():
        kopf_settings.watching.label_selectors[group, version, plural] = selector_text(labels)
