"""`config.schemaRules`: the spec's rules for schema anomalies, read strictly (`spec.schemaRules`).

The worker needs them for two things only: the missing-values margin that decides what a surge is, and
stopping early when the data breaks a Fail rule (the lifecycle applies the same rules to the result anyway,
`lifecycle/schema_rules.py`, so a worker can never pass data the spec would fail).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType

from modelops.api.schema_rules_schema import ANOMALY_KINDS, DEFAULT_MISSING_VALUES_MARGIN, RULE_ACTIONS
from modelops.workloads.config.reader import Reader


@dataclass(frozen=True)
class SchemaRules:
    """Action per anomaly kind (Fail, Drift, Accept) and the missing-values margin."""

    actions: Mapping[str, str] = field(
        default_factory=lambda: MappingProxyType({k: action for k, (action, _) in ANOMALY_KINDS.items()}))
    missing_values_margin: float = DEFAULT_MISSING_VALUES_MARGIN

    def to_spec(self) -> dict[str, object]:
        """The rules in the spec's shape (what `lifecycle.schema_rules` reads)."""
        return {**self.actions, "missingValuesMargin": self.missing_values_margin}


def parse_schema_rules(reader: Reader | None) -> SchemaRules:
    if reader is None:
        return SchemaRules()
    actions = {kind: reader.string(kind, default, choices=RULE_ACTIONS) for kind, (default, _) in ANOMALY_KINDS.items()}
    margin = reader.number("missingValuesMargin", DEFAULT_MISSING_VALUES_MARGIN, minimum=0.0, maximum=1.0)
    reader.finish()
    return SchemaRules(MappingProxyType(actions), margin)
