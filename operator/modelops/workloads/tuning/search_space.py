"""The search KerasTuner runs: our model builder as a HyperModel over the spec's search space, and the
callbacks that make one trial's outcome honest (objective on held-out rows, deadline, divergence).

Hyperparameter names are the spec's own (learningRate, batchSize, ...; `layers` and `units_<i>` for the
hidden layers), so TensorBoard's HParams view and the status speak the same words.
"""

from __future__ import annotations

import math
import time
from collections.abc import Mapping
from dataclasses import replace
from typing import Any

import keras
import keras_tuner
import numpy as np

from modelops.api.metrics import HIGHER_IS_BETTER
from modelops.workloads.config.stage import WorkloadConfig
from modelops.workloads.data.labels import ClassNames
from modelops.workloads.data.table import Table
from modelops.workloads.errors import TRAINING_DIVERGED as DIVERGED
from modelops.workloads.errors import TRIAL_DEADLINE_EXCEEDED as DEADLINE_EXCEEDED
from modelops.workloads.model.keras_model import Body, build_model
from modelops.workloads.quality.metrics import compute_metrics


def objective_name(metric: str) -> str:
    """The name the objective carries in Keras logs and KerasTuner: clearly not a Keras training metric."""
    return f"holdout_{metric}"


def objective_direction(metric: str) -> str:
    return "max" if metric in HIGHER_IS_BETTER else "min"


def chosen_values(values: Mapping[str, Any], cfg: WorkloadConfig) -> dict[str, Any]:
    """A trial's values in the spec's names; knobs the search does not vary are left out."""
    space = cfg.tuning.search_space if cfg.tuning is not None else None
    if cfg.model.user is not None:  # the module's own hp names; ours are only what searchSpace sets
        ours = {k for k in ("learningRate", "batchSize", "optimizer") if space is not None
                and getattr(space, SPACE_FIELDS[k]) is not None}
        chosen = {k: values[k] for k in ours if k in values}
        own = {k: v for k, v in values.items() if k not in ours}
        return {**chosen, **({"moduleValues": own} if own else {})}
    chosen: dict[str, Any] = {}
    if space is not None and (space.layers is not None or space.units is not None):
        chosen["hiddenLayers"] = hidden_layers(values, cfg)
    for key in ("activation", "dropout", "learningRate", "batchSize", "optimizer"):
        if key in values:
            chosen[key] = values[key]
    return chosen


SPACE_FIELDS = {"learningRate": "learning_rate", "batchSize": "batch_size", "optimizer": "optimizer"}


def hidden_layers(values: Mapping[str, Any], cfg: WorkloadConfig) -> list[int]:
    """Units per hidden layer: searched depth and widths, the spec's where the search leaves them."""
    fixed = list(cfg.model.hidden_layers)
    depth = int(values.get("layers", len(fixed)))
    return [int(values.get(f"units_{i}", fixed[i] if i < len(fixed) else fixed[-1])) for i in range(depth)]


class SpecHyperModel(keras_tuner.HyperModel):
    """build(hp): the same Keras model a train stage builds (preprocessing adapted on the trial's training
    rows, the same body: the built-in one or the user's, which may declare its own `hp` values), with the
    trial's values in place of the spec's."""

    def __init__(self, cfg: WorkloadConfig, train_table: Table, holdout: tuple[dict[str, np.ndarray], np.ndarray],
                 classes: ClassNames | None, body: Body | None = None) -> None:
        super().__init__(name="modelops")
        self.cfg, self.train_table, self.holdout, self.classes, self.body = cfg, train_table, holdout, classes, body

    def _declare(self, hp: keras_tuner.HyperParameters) -> dict[str, Any]:
        assert self.cfg.tuning is not None
        space, values = self.cfg.tuning.search_space, {}
        if space.layers is not None:
            values["layers"] = hp.Int("layers", space.layers.low, space.layers.high, step=space.layers.step)
        if space.units is not None:
            for index in range(values.get("layers", len(self.cfg.model.hidden_layers))):
                values[f"units_{index}"] = hp.Int(f"units_{index}", space.units.low, space.units.high,
                                                  step=space.units.step)
        if space.activation is not None:
            values["activation"] = hp.Choice("activation", list(space.activation))
        if space.dropout is not None:
            values["dropout"] = hp.Float("dropout", space.dropout.low, space.dropout.high)
        if space.learning_rate is not None:
            values["learningRate"] = hp.Float("learningRate", space.learning_rate.low, space.learning_rate.high,
                                              sampling="log")
        if space.optimizer is not None:
            values["optimizer"] = hp.Choice("optimizer", list(space.optimizer))
        if space.batch_size is not None:
            values["batchSize"] = hp.Choice("batchSize", list(space.batch_size))
        return values

    def build(self, hp: keras_tuner.HyperParameters) -> Any:
        values = self._declare(hp)
        keras.utils.set_random_seed(self.cfg.hyperparameters.seed)  # a trial's result depends on its values only
        model = replace(self.cfg.model, hidden_layers=tuple(hidden_layers(values, self.cfg)),
                        activation=values.get("activation", self.cfg.model.activation),
                        dropout=float(values.get("dropout", self.cfg.model.dropout)))
        return build_model(self.train_table, self.cfg.task, self.classes, spec=model,
                           optimizer=values.get("optimizer", self.cfg.hyperparameters.optimizer),
                           learning_rate=float(values.get("learningRate", self.cfg.hyperparameters.learning_rate)),
                           body=self.body, hp=hp)

    def fit(self, hp: keras_tuner.HyperParameters, model: Any, x: dict[str, np.ndarray], y: np.ndarray, *,
            sample_weight: np.ndarray | None = None, callbacks: list[Any] | None = None,
            **kwargs: Any) -> dict[str, float]:
        """Train like the train stage does (early stopping on the held-out loss keeps the best weights), then
        score the kept weights on the held-out rows with the gates' formulas: that score is the objective."""
        assert self.cfg.tuning is not None
        batch_size = int(hp.values.get("batchSize", self.cfg.hyperparameters.batch_size))
        guards: list[Any] = [DivergenceGuard(), TrialDeadline(self.cfg.tuning.trial_deadline_seconds)]
        stopping = self.cfg.hyperparameters.early_stopping
        if stopping.enabled:
            guards.append(keras.callbacks.EarlyStopping(monitor="val_loss", patience=stopping.patience,
                                                        min_delta=stopping.min_delta, restore_best_weights=True))
        kwargs.pop("validation_data", None)
        model.fit(x, y, sample_weight=sample_weight, batch_size=batch_size, verbose=0, shuffle=True,
                  validation_data=self.holdout, callbacks=[*guards, *(callbacks or [])], **kwargs)
        return {objective_name(self.cfg.tuning.objective): holdout_objective(model, self.cfg.task,
                                                                              self.cfg.tuning.objective, *self.holdout)}


def holdout_objective(model: Any, task: str, metric: str, x: dict[str, np.ndarray], y: np.ndarray) -> float:
    outputs = model.predict(x, verbose=0, batch_size=4096)
    if not np.all(np.isfinite(outputs)):
        raise keras_tuner.errors.FailedTrialError(f"[{DIVERGED}] the trained model's outputs are not finite")
    return compute_metrics(task, y, outputs)[metric]


class DivergenceGuard(keras.callbacks.Callback):
    """A loss that became NaN or infinite ends the trial as failed (its learning rate diverged)."""

    def on_train_batch_end(self, batch: int, logs: dict[str, Any] | None = None) -> None:
        loss = (logs or {}).get("loss")
        if loss is not None and not math.isfinite(float(loss)):
            raise keras_tuner.errors.FailedTrialError(f"[{DIVERGED}] the training loss became {float(loss)}")


class TrialDeadline(keras.callbacks.Callback):
    """trialDeadline: a trial still training past it fails, and the search moves on."""

    def __init__(self, seconds: float) -> None:
        super().__init__()
        self.seconds, self.started = seconds, time.monotonic()

    def on_train_begin(self, logs: dict[str, Any] | None = None) -> None:
        self.started = time.monotonic()

    def on_train_batch_end(self, batch: int, logs: dict[str, Any] | None = None) -> None:
        if time.monotonic() - self.started > self.seconds:
            raise keras_tuner.errors.FailedTrialError(
                f"[{DEADLINE_EXCEEDED}] the trial ran past trialDeadline ({self.seconds:g}s)")
