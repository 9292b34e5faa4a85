"""A retraining recipe chosen by evidence: a few data mixtures, each scored on rows none of them saw.

How much a retrain should trust the recent rows is a question the data can answer: after a covariate
shift the old training rows still teach the concept; after a concept shift they teach the wrong one.
With `retraining.maxRecipes` > 1 a degradation retrain trains up to three candidates, in this order:
- `configured`: training + monitoring rows at the configured monitoringWeight (what one recipe does);
- `balanced`: the monitoring rows weighted up so they weigh as much, in total, as the training rows;
- `recent`: the monitoring rows alone.
Each is scored on the held-out monitoring rows (no candidate trained on them) in the selection metric
(the first quality rule's metric, else the task's primary one); the best one is published and the
others are deleted. Selecting among n candidates on the same rows the challenge later reads is a mild
optimism (the best of n noisy scores); the challenge's paired test still has to pass on them, and n is
at most 3.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np

from modelops.workloads.config.stage import RECIPE_NAMES as RECIPES
from modelops.workloads.data.training_set import TrainingTable

__all__ = ["RECIPES", "better", "recipe_table"]


def recipe_table(data: TrainingTable, name: str) -> TrainingTable:
    """`data` reweighted (balanced) or cut to the monitoring rows (recent); `configured` is `data` itself."""
    if name == "configured" or not data.roles.any():
        return data
    table = data.table
    weights = table.weights if table.weights is not None else np.ones(table.rows)
    if name == "recent":
        keep = np.flatnonzero(data.roles)
        kept = table.take(keep)
        uniform = kept.weights is None or bool(np.all(kept.weights == 1.0))
        return replace(data, table=replace(kept, weights=None) if uniform else kept,
                       trained_hashes=data.trained_hashes[keep], roles=data.roles[keep])
    training_weight, monitoring_weight = weights[~data.roles].sum(), weights[data.roles].sum()
    scale = max(1.0, float(training_weight / monitoring_weight)) if monitoring_weight > 0 else 1.0
    return replace(data, table=replace(table, weights=np.where(data.roles, weights * scale, weights)))


def better(metric: str, value: float, than: float | None) -> bool:
    from modelops.api.metrics import HIGHER_IS_BETTER

    if than is None:
        return True
    return value > than if metric in HIGHER_IS_BETTER else value < than
