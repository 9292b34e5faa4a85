"""The two small layers the preprocessing needs that Keras does not ship: missing-value handling.

Registered as serializable so a Keras save (tuner trials, multi-worker backups) can rebuild them.
"""

from __future__ import annotations

from typing import Any

import keras
from keras import ops


@keras.saving.register_keras_serializable(package="modelops")
class ImputeWithIndicator(keras.layers.Layer):
    """[batch, 1] float with NaN for missing -> [batch, 2]: (value with NaN replaced by `fill`, 1.0 if missing)."""

    def __init__(self, fill: float = 0.0, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.fill = float(fill)

    def call(self, inputs: Any) -> Any:
        missing = ops.isnan(inputs)
        filled = ops.where(missing, ops.full_like(inputs, self.fill), inputs)
        return ops.concatenate([filled, ops.cast(missing, "float32")], axis=-1)

    def compute_output_shape(self, input_shape: tuple[int | None, ...]) -> tuple[int | None, ...]:
        return (*input_shape[:-1], 2)

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "fill": self.fill}


@keras.saving.register_keras_serializable(package="modelops")
class StringMissingIndicator(keras.layers.Layer):
    """[batch] string -> [batch, 1] float: 1.0 where the cell is "" (missing), else 0.0."""

    def call(self, inputs: Any) -> Any:
        import tensorflow as tf  # string tensors: keras.ops has no string comparison

        return tf.cast(tf.expand_dims(tf.equal(inputs, ""), -1), tf.float32)

    def compute_output_shape(self, input_shape: tuple[int | None, ...]) -> tuple[int | None, ...]:
        return (*input_shape, 1)
