"""`spec.schemaRules`: what each kind of schema anomaly does when later data is checked against a version's schema.

Kept apart from spec_schema.py because it is one concern with its own vocabulary, shared by the worker that
finds anomalies (`workloads/data/schema_check.py`) and the lifecycle that applies these rules
(`lifecycle/schema_rules.py`). The anomaly kinds follow TensorFlow Data Validation's (SCHEMA_MISSING_COLUMN,
SCHEMA_NEW_COLUMN, UNEXPECTED_DATA_TYPE, ENUM_TYPE_UNEXPECTED_STRING_VALUES, FEATURE_TYPE_LOW_FRACTION_PRESENT
in TFDV's anomalies reference), under our own names.
"""

from __future__ import annotations

from modelops.api.schema import Num, Obj, Str

# Anomaly kind -> (default action, what it is): the spec's keys, the worker's `kind`, the lifecycle's lookup.
ANOMALY_KINDS: dict[str, tuple[str, str]] = {
    "missingColumn": ("Fail", "a feature column of the version's schema is absent from the data (the model has "
                              "no input for it)"),
    "typeChange": ("Fail", "a column was read as another kind than the version trained on (e.g. text in a "
                           "numeric column)"),
    "unseenCategory": ("Drift", "a categorical column holds values the version never saw in training"),
    "missingValues": ("Drift", "a column's share of missing cells rose by more than missingValuesMargin over "
                               "its training share"),
    "extraColumn": ("Accept", "the data has a column the version's schema does not know (it is not used)"),
}
RULE_ACTIONS = ("Fail", "Drift", "Accept")
DEFAULT_MISSING_VALUES_MARGIN = 0.1

SCHEMA_RULES = Obj(
    "What a schema anomaly does when validation, monitoring or retraining data is checked against the schema "
    "the version was trained with (status.versions[].schema). Fail: the stage fails with reason "
    "SchemaViolation naming the column. Drift: it counts as data drift of the monitoring evaluation (and is "
    "recorded at validation). Accept: recorded only. Every anomaly is listed with its column, counts and an "
    "example row either way.",
    default={},
    properties={
        **{kind: Str(f"What happens when {what}.", default=action, enum=RULE_ACTIONS)
           for kind, (action, what) in ANOMALY_KINDS.items()},
        "missingValuesMargin": Num("A column's missing share counts as a surge when it exceeds its training share "
                                   "by more than this (absolute: 0.1 is 10 percentage points).",
                                   default=DEFAULT_MISSING_VALUES_MARGIN, minimum=0.0, maximum=1.0),
    },
)
