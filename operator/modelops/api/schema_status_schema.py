"""Status fields of the data schema: a version's schema summary and the anomalies a check found.

Kept apart from status_schema.py (one concern, its own vocabulary: `api/schema_rules_schema.py`); the values are
written by the lifecycle (`lifecycle/schema_rules.py`) from what the stages report.
"""

from __future__ import annotations

from modelops.api.schema import Arr, Int, Map, Num, Obj, Str
from modelops.api.schema_rules_schema import ANOMALY_KINDS, RULE_ACTIONS

SCHEMA_SUMMARY = Obj(
    "The data schema the version was trained with, in summary (the whole of it is schema.json beside the "
    "version): features by kind, rows, and the classes in output order.",
    properties={
        "features": Int("Feature columns.", minimum=0),
        "kinds": Map("Features per kind (numeric, integer, boolean, categorical).", values=Int("Count.", minimum=0)),
        "rows": Int("Training rows (with a label).", minimum=0),
        "droppedUnlabelled": Int("Rows left out because their label was empty.", minimum=0),
        "featuresWithMissing": Int("Features with at least one missing cell in training.", minimum=0),
        "classes": Arr("The classes in output order (at most the first 10).", items=Str("A class name."),
                       max_items=10),
        "numClasses": Int("How many classes.", minimum=0),
        "positiveClass": Str("A binary classifier's positive class (precision, recall and AUC refer to it)."),
    },
)

ANOMALY = Obj(
    "One difference between the data and the version's schema, and what spec.schemaRules made of it.",
    properties={
        "column": Str("The column."),
        "kind": Str("The anomaly: " + "; ".join(f"{k}: {what}" for k, (_, what) in ANOMALY_KINDS.items()) + "."),
        "action": Str("What it did: Fail (the stage failed), Drift (counted as drift), Accept (recorded).",
                      enum=RULE_ACTIONS),
        "count": Int("Cells or rows affected.", minimum=0),
        "rows": Int("Rows checked.", minimum=0),
        "exampleRow": Int("The first affected row (1-based, in the data's order).", minimum=1),
        "examples": Arr("Offending values, most frequent first.", items=Str("A value."), max_items=3),
        "message": Str("The anomaly in words, with its counts."),
    },
)

SCHEMA_CHECK = Obj(
    "The stage's data checked against a version's schema (spec.schemaRules decides each anomaly).",
    properties={
        "version": Int("The version whose schema the data was checked against.", minimum=1),
        "stage": Str("The stage that checked (train, validate).", enum=("train", "validate")),
        "anomalies": Arr("The anomalies found (at most 8; failed, drifted and accepted count all).", items=ANOMALY,
                         max_items=8),
        "failed": Int("Anomalies whose rule is Fail.", minimum=0),
        "drifted": Int("Anomalies whose rule is Drift.", minimum=0),
        "accepted": Int("Anomalies whose rule is Accept.", minimum=0),
    },
)

# Added to the drift verdict and its per-feature rows (status.lastEvaluation.drift).
DRIFT_SCHEMA_FIELDS = {
    "schemaDrifted": Arr("Columns whose schema anomalies count as drift (spec.schemaRules: Drift).",
                         items=Str("A column."), max_items=8),
}
DRIFT_FEATURE_FIELDS = {
    "kind": Str("The feature's kind in the version's schema.", enum=("numeric", "integer", "boolean", "categorical")),
    "missingRate": Num("Share of live cells missing.", nullable=True),
    "referenceMissingRate": Num("Share of training cells missing.", nullable=True),
    "unseen": Int("Live rows holding categories the version never saw (counted in the out-of-vocabulary bucket).",
                  minimum=0),
}
