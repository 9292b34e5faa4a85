"""The Keras model of a version: raw named inputs -> prepared features -> body -> task head.

    inputs (one per feature, `preprocessing.raw_inputs`)
      -> prepared: dict[str, KerasTensor]   (`preprocessing.prepare`, adapted on the training Table;
                                             the contract is in preprocessing.py's docstring)
      -> body(prepared, hp) -> KerasTensor [batch, d]   (replaceable: the built-in dense stack, or a
                                                         user's function from spec.training.model)
      -> head: binary  sigmoid [batch, 1], P(the positive class)
               multiclass softmax [batch, K], in the ClassNames order
               regression linear [batch, 1]
The preprocessing and the head are the platform's, so whatever body is plugged in, the SavedModel takes
raw cells and answers in the documented outputs (`export.py`).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from modelops.workloads.config.stage import ModelSpec
from modelops.workloads.data.labels import ClassNames
from modelops.workloads.data.table import Table
from modelops.workloads.errors import INVALID_CONFIG, WorkloadError

# A model body: (prepared inputs by feature name, a KerasTuner HyperParameters or None) -> [batch, d] tensor.
Body = Callable[[dict[str, Any], Any], Any]

# A signature input is a graph placeholder, and TF names those by this rule (tensorflow/core/framework/
# node_def_util.cc, kValidNodeNameRegex without the scope part); a column is served under its own name.
_INPUT_NAME = re.compile(r"^[A-Za-z0-9.][A-Za-z0-9_.\-]*$")


def dense_body(spec: ModelSpec) -> Body:
    """The built-in body: the prepared features side by side -> Dense x N (+ dropout)."""

    def body(prepared: dict[str, Any], hp: Any) -> Any:
        import keras

        from modelops.workloads.model.preprocessing import concatenate_prepared

        hidden = concatenate_prepared(prepared)
        for index, units in enumerate(spec.hidden_layers):
            hidden = keras.layers.Dense(units, activation=spec.activation, name=f"dense_{index}")(hidden)
            if spec.dropout > 0:
                hidden = keras.layers.Dropout(spec.dropout, name=f"dropout_{index}")(hidden)
        return hidden

    return body


def check_feature_names(table: Table) -> None:
    """Every column becomes a served input of the same name: refuse a name TF cannot carry, naming it."""
    bad = [name for name in table.feature_names if not _INPUT_NAME.match(name)]
    if bad:
        raise WorkloadError(INVALID_CONFIG, f"dataset {table.source}: column name(s) {bad} cannot name a served "
                                            "input (letters, digits, '_', '.', '-'; not starting with '_' or "
                                            "'-'); rename the column(s)")


def build_model(table: Table, task: str, classes: ClassNames | None, *, spec: ModelSpec, optimizer: str,
                learning_rate: float, body: Body | None = None, hp: Any = None) -> Any:
    """The compiled model over `table`'s features (preprocessing adapted on its rows = the training rows)."""
    import keras

    from modelops.workloads.model.preprocessing import prepare, raw_inputs

    check_feature_names(table)
    inputs = raw_inputs(table)
    prepared = prepare(table, inputs)
    hidden = (body or dense_body(spec))(prepared, hp)
    if task == "binary-classification":
        outputs = keras.layers.Dense(1, activation="sigmoid", name="head")(hidden)
        loss, metrics = "binary_crossentropy", ["accuracy"]
    elif task == "multiclass-classification":
        assert classes is not None
        outputs = keras.layers.Dense(len(classes.names), activation="softmax", name="head")(hidden)
        loss, metrics = "sparse_categorical_crossentropy", ["accuracy"]
    else:
        outputs = keras.layers.Dense(1, activation="linear", name="head")(hidden)
        loss, metrics = "mse", ["mae"]
    model = keras.Model(inputs, outputs, name="modelops")
    model.compile(optimizer=keras.optimizers.get({"class_name": optimizer,
                                                  "config": {"learning_rate": learning_rate}}),
                  loss=loss, metrics=metrics)
    return model


def training_targets(task: str, encoded: Any, classes: ClassNames | None) -> Any:
    """What the head is fitted to: binary 1.0 for the positive class (whatever its index), multiclass the
    class index, regression the value."""
    import numpy as np

    if task == "binary-classification":
        assert classes is not None and classes.positive is not None
        return (np.asarray(encoded) == classes.positive).astype(np.float32)
    if task == "multiclass-classification":
        return np.asarray(encoded, dtype=np.int32)
    return np.asarray(encoded, dtype=np.float32)
