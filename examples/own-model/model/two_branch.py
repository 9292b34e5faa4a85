"""A team's own model body for modelops: usage and account columns in two branches, joined.

modelops calls `build(inputs, hp)` with the prepared inputs (feature name -> Keras tensor, after the
platform's preprocessing) and a KerasTuner `hp`; it adds the task's output layer, trains, tunes (over
the hp calls below), exports, validates, serves and evaluates the result. Nothing else is needed here.
"""

import keras

USAGE = ("sessions", "minutes", "support_calls")
ACCOUNT = ("tenure_months", "plan_price", "discount")


def branch(inputs, names, units, activation, label):
    joined = keras.layers.Concatenate(name=f"{label}_columns")([inputs[name] for name in names])
    return keras.layers.Dense(units, activation=activation, name=f"{label}_dense")(joined)


def build(inputs, hp):
    activation = hp.Choice("activation", ["relu", "tanh"])
    usage = branch(inputs, USAGE, hp.Int("usage_units", 8, 32, step=8, default=16), activation, "usage")
    account = branch(inputs, ACCOUNT, hp.Int("account_units", 4, 16, step=4, default=8), activation, "account")
    joined = keras.layers.Concatenate(name="both")([usage, account])
    joined = keras.layers.Dropout(hp.Float("dropout", 0.0, 0.3, step=0.1, default=0.1))(joined)
    return keras.layers.Dense(hp.Int("joined_units", 8, 16, step=8), activation=activation, name="joined")(joined)
