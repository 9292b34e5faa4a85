"""`spec.training.tuning`: a hyperparameter search (KerasTuner) that picks what the candidate is trained with.

Kept apart from spec_schema.py because it is one concern with its own vocabulary: the search space names
the same knobs as `training.model` and `training.hyperparameters`, and whatever it leaves out stays at
the value those give.
"""

from __future__ import annotations

from modelops.api.durations import duration
from modelops.api.metrics import ALL_METRICS
from modelops.api.schema import Arr, Bool, Int, Num, Obj, Str
from modelops.api.vocabulary import ACTIVATIONS, OPTIMIZERS, TUNING_ALGORITHMS


def _int_range(what: str, lowest: int, highest: int) -> Obj:
    return Obj(
        f"Search {what} between min and max (inclusive), in steps of step.",
        required=("min", "max"),
        properties={
            "min": Int(f"Smallest {what}.", minimum=lowest, maximum=highest),
            "max": Int(f"Largest {what}.", minimum=lowest, maximum=highest),
            "step": Int("Distance between candidate values.", default=1, minimum=1, maximum=highest),
        },
    )


SEARCH_SPACE = Obj(
    "The knobs the search varies, each with its range or choices. A knob left out keeps the value "
    "training.model or training.hyperparameters gives it.",
    default={},
    properties={
        "hiddenLayers": Obj(
            "Depth and width of the hidden Dense layers: the number of layers, and each layer's units "
            "searched on its own.",
            properties={
                "layers": _int_range("number of hidden layers", 1, 16),
                "units": _int_range("units of each hidden layer", 1, 4096),
            },
        ),
        "activation": Arr("Activations to choose from for the hidden layers.",
                          items=Str("One activation.", enum=ACTIVATIONS), min_items=1, max_items=len(ACTIVATIONS)),
        "dropout": Obj(
            "Dropout rate after each hidden layer, searched uniformly between min and max.",
            required=("min", "max"),
            properties={
                "min": Num("Lowest rate.", minimum=0.0, maximum=1.0, exclusive_maximum=True),
                "max": Num("Highest rate.", minimum=0.0, maximum=1.0, exclusive_maximum=True),
            },
        ),
        "learningRate": Obj(
            "Optimizer learning rate, searched on a log scale between min and max (each decade is as likely "
            "as the next).",
            required=("min", "max"),
            properties={
                "min": Num("Lowest rate.", minimum=0.0, exclusive_minimum=True, maximum=10.0),
                "max": Num("Highest rate.", minimum=0.0, exclusive_minimum=True, maximum=10.0),
            },
        ),
        "batchSize": Arr("Batch sizes to choose from.", items=Int("Rows per gradient step.", minimum=1,
                                                                   maximum=65536), min_items=1, max_items=16),
        "optimizer": Arr("Optimizers to choose from.", items=Str("One optimizer.", enum=OPTIMIZERS), min_items=1,
                         max_items=len(OPTIMIZERS)),
    },
)

TUNING = Obj(
    "Hyperparameter search before training, on KerasTuner: trials train the model with values drawn from "
    "searchSpace, the objective is measured on a held-out split of the training data (never on the "
    "validation data that gates the candidate), and the candidate is then trained with the best trial's "
    "values. A degradation retrain reuses the last best values unless retraining.retune is true.",
    default={},
    properties={
        "enabled": Bool("Whether a search runs before training.", default=False),
        "algorithm": Str("KerasTuner's search algorithm: random (RandomSearch), bayesian (BayesianOptimization "
                         "with a Gaussian process) or hyperband (Hyperband: many short trials, the best "
                         "continued; its trial lengths come from hyperparameters.epochs).",
                         default="bayesian", enum=TUNING_ALGORITHMS),
        "maxTrials": Int("Most trials (hyperparameter sets) to train.", default=10, minimum=1, maximum=500),
        "parallelism": Int("Trials trained at once. Above 1 the search runs in KerasTuner's distributed mode: a "
                           "chief holds the search state and that many workers ask it for trials over gRPC (an "
                           "Indexed Job with a headless Service on Kubernetes, processes on loopback locally).",
                           default=1, minimum=1, maximum=32),
        "objective": Str("The metric the search optimises, computed on the held-out rows with the same formulas as "
                         "the gates; its direction (higher or lower is better) comes from the metric.",
                         default="loss", enum=ALL_METRICS, noun="metric", max_length=16),
        "holdoutFraction": Num("Share of the training rows held out to measure the objective; trials train on "
                               "the rest (their early stopping watches the held-out rows too).", default=0.2,
                               minimum=0.05, maximum=0.5),
        "searchSpace": SEARCH_SPACE,
        "trialDeadline": duration("Wall-clock limit of one trial; a trial past it counts as failed and the search "
                                  "goes on.", "30m"),
        "port": Int("Port of the chief's gRPC oracle service (parallelism above 1).", default=8000, minimum=1024,
                    maximum=65535),
    },
)
