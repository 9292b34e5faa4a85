"""The closed word lists of the API, stated once: the CRD schema and the worker's config loader both
take them from here, so a value one accepts the other can never refuse."""

from __future__ import annotations

from typing import Final

from modelops.api.metrics import TASKS

ACTIVATIONS: Final = ("relu", "tanh", "sigmoid", "gelu", "elu")
OPTIMIZERS: Final = ("adam", "sgd", "rmsprop")
DATASET_FORMATS: Final = ("csv", "tfrecord", "npz")
# The kinds a feature column can have (workloads/data/table.py FEATURE_KINDS, in the same order).
COLUMN_TYPES: Final = ("numeric", "integer", "boolean", "categorical")
STAGES: Final = ("tune", "train", "validate", "evaluate")
RETRAINING_INPUTS: Final = ("training", "monitoring")
# tf.distribute.MultiWorkerMirroredStrategy and its CommunicationImplementation values (AUTO, RING).
DISTRIBUTION_STRATEGIES: Final = ("multiWorkerMirrored",)
COLLECTIVE_IMPLEMENTATIONS: Final = ("auto", "ring")
# KerasTuner's oracles: RandomSearch, BayesianOptimization (Gaussian process), Hyperband (successive halving).
TUNING_ALGORITHMS: Final = ("random", "bayesian", "hyperband")

__all__ = [
    "ACTIVATIONS", "COLLECTIVE_IMPLEMENTATIONS", "COLUMN_TYPES", "DATASET_FORMATS", "DISTRIBUTION_STRATEGIES",
    "OPTIMIZERS", "RETRAINING_INPUTS", "STAGES", "TASKS", "TUNING_ALGORITHMS",
]
