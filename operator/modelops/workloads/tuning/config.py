"""The `tuning` block of a tune stage's config: the search KerasTuner runs, read strictly.

The runtimes copy `spec.training.tuning` (admission already checked it) plus `members`, the number of
processes in the search's gang; a hand-written config gets the same path-naming errors as any other key.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from modelops.api.durations import parse_duration
from modelops.api.metrics import ALL_METRICS
from modelops.api.vocabulary import ACTIVATIONS, OPTIMIZERS, TUNING_ALGORITHMS
from modelops.workloads.config.reader import Reader, invalid


@dataclass(frozen=True)
class IntRange:
    low: int
    high: int
    step: int = 1


@dataclass(frozen=True)
class FloatRange:
    low: float
    high: float


@dataclass(frozen=True)
class SearchSpace:
    """Each knob is None when the spec's own value stays fixed."""

    layers: IntRange | None = None
    units: IntRange | None = None
    activation: tuple[str, ...] | None = None
    dropout: FloatRange | None = None
    learning_rate: FloatRange | None = None
    batch_size: tuple[int, ...] | None = None
    optimizer: tuple[str, ...] | None = None

    def is_empty(self) -> bool:
        return all(getattr(self, name) is None for name in self.__dataclass_fields__)


@dataclass(frozen=True)
class TuningSpec:
    algorithm: str = "bayesian"
    max_trials: int = 10
    parallelism: int = 1
    objective: str = "loss"
    holdout_fraction: float = 0.2
    trial_deadline_seconds: float = 1800.0
    port: int = 8000
    members: int = 1
    search_space: SearchSpace = field(default_factory=SearchSpace)


def parse_tuning(reader: Reader | None, *, own_search: bool = False) -> TuningSpec | None:
    """`own_search`: a user module's hp calls are the search, so an empty searchSpace is fine."""
    if reader is None:
        return None
    deadline_text = reader.string("trialDeadline", "30m")
    try:
        deadline = parse_duration(deadline_text)
    except ValueError as exc:
        raise invalid(f"{reader.path}.trialDeadline", str(exc)) from exc
    spec = TuningSpec(
        algorithm=reader.string("algorithm", "bayesian", choices=TUNING_ALGORITHMS),
        max_trials=reader.integer("maxTrials", 10, minimum=1),
        parallelism=reader.integer("parallelism", 1, minimum=1),
        objective=reader.string("objective", "loss", choices=tuple(ALL_METRICS)),
        holdout_fraction=reader.number("holdoutFraction", 0.2, minimum=0.0, maximum=0.5, exclusive_minimum=True),
        trial_deadline_seconds=deadline,
        port=reader.integer("port", 8000, minimum=1),
        members=reader.integer("members", 1, minimum=1),
        search_space=_parse_space(reader.child("searchSpace")),
    )
    reader.finish()
    if spec.search_space.is_empty() and not own_search:
        raise invalid(f"{reader.path}.searchSpace", "searches nothing: give at least one knob")
    expected = 1 if spec.parallelism <= 1 else spec.parallelism + 1
    if spec.members != expected:
        raise invalid(f"{reader.path}.members", f"a search with parallelism {spec.parallelism} runs {expected} "
                                                f"processes, not {spec.members}")
    return spec


def _parse_space(reader: Reader | None) -> SearchSpace:
    if reader is None:
        return SearchSpace()
    layers = units = None
    hidden = reader.child("hiddenLayers")
    if hidden is not None:
        layers = _int_range(hidden.child("layers"), 1)
        units = _int_range(hidden.child("units"), 1)
        hidden.finish()
    space = SearchSpace(
        layers=layers, units=units,
        activation=_choices(reader, "activation", str, ACTIVATIONS),
        dropout=_float_range(reader.child("dropout"), 0.0, 1.0),
        learning_rate=_float_range(reader.child("learningRate"), 0.0, 10.0, positive=True),
        batch_size=_choices(reader, "batchSize", int, None),
        optimizer=_choices(reader, "optimizer", str, OPTIMIZERS),
    )
    reader.finish()
    return space


def _int_range(reader: Reader | None, minimum: int) -> IntRange | None:
    if reader is None:
        return None
    bounds = IntRange(reader.integer("min", minimum=minimum, required=True),
                      reader.integer("max", minimum=minimum, required=True), reader.integer("step", 1, minimum=1))
    reader.finish()
    if bounds.low > bounds.high:
        raise invalid(f"{reader.path}.min", f"{bounds.low} is greater than max {bounds.high}")
    return bounds


def _float_range(reader: Reader | None, low: float, high: float, positive: bool = False) -> FloatRange | None:
    if reader is None:
        return None
    bounds = FloatRange(reader.number("min", low, minimum=low, maximum=high, exclusive_minimum=positive),
                        reader.number("max", high, minimum=low, maximum=high, exclusive_minimum=positive))
    reader.finish()
    if bounds.low > bounds.high:
        raise invalid(f"{reader.path}.min", f"{bounds.low:g} is greater than max {bounds.high:g}")
    return bounds


def _choices(reader: Reader, key: str, kind: type, allowed: tuple[Any, ...] | None) -> tuple[Any, ...] | None:
    raw = reader.raw(key)
    if raw is None:
        return None
    where = f"{reader.path}.{key}"
    if not isinstance(raw, list) or not raw:
        raise invalid(where, f"expected a non-empty list, got {raw!r}")
    for item in raw:
        if isinstance(item, bool) or not isinstance(item, kind) or (kind is int and item < 1):
            raise invalid(where, f"{item!r} is not a valid choice")
        if allowed is not None and item not in allowed:
            raise invalid(where, f"{item!r} is not one of {', '.join(map(str, allowed))}")
    return tuple(dict.fromkeys(raw))
