"""How a dataset's columns are read (every dataset block) and a classifier's classes (`spec.training`).

Kept apart from spec_schema.py: one concern with its own words. The worker reads the same fields
(workloads/config/dataset_columns.py) and applies them in workloads/data/table_reader.py; the kind rule
they override is in workloads/data/columns.py and docs/datasets.md.
"""

from __future__ import annotations

from modelops.api.schema import Arr, Map, Node, Str
from modelops.api.vocabulary import COLUMN_TYPES

MAX_LISTED_COLUMNS = 256  # CEL rules iterate these lists; the API server's cost estimate needs a bound
MAX_CLASSES = 256
MAX_NAME_LENGTH = 256

DATASET_COLUMNS: dict[str, Node] = {
    "missingValues": Arr("Cell texts that mean a missing value in a CSV file, compared exactly after trimming "
                         "spaces. Omitted: \"\" (empty), NA, N/A, NaN and null. A list replaces those, so include "
                         "\"\" to keep empty cells missing.",
                         items=Str("One missing-value text (may be empty).", max_length=64), max_items=32),
    "columnTypes": Map("Column name to its type, where the inferred type is not the one meant: numeric "
                       "(any number), integer (whole numbers, an integer-coded category), boolean (true/false, "
                       "yes/no or 1/0) or categorical (text). Every cell is checked against a stated type; one "
                       "that does not fit fails the stage naming its row. Unlisted columns are inferred.",
                       values=Str("The column's type.", enum=COLUMN_TYPES, noun="column type")),
    "ignoreColumns": Arr("Columns that are read past: neither features nor labels.",
                         items=Str("One column name.", min_length=1, max_length=MAX_NAME_LENGTH),
                         max_items=MAX_LISTED_COLUMNS),
    "idColumn": Str("A column that names each row (kept with the row in reports, never a feature); every row "
                    "needs a value and no two rows may share one.", min_length=1, max_length=MAX_NAME_LENGTH),
    "weightColumn": Str("A column of sample weights (finite numbers >= 0, multiplied by the dataset's weight "
                        "in training); not a feature.", min_length=1, max_length=MAX_NAME_LENGTH),
}

CLASSES = Arr("The classes of a classifier, in the order its outputs are given: every label must be one of them. "
              "Omitted: the distinct labels of the training data, sorted (numerically for integer labels). The "
              "classes are stored with each version; later data is encoded against them.",
              items=Str("One class, as its label is written in the data.", min_length=1, max_length=MAX_NAME_LENGTH),
              min_items=2, max_items=MAX_CLASSES)

POSITIVE_CLASS = Str("For binary-classification, the class that precision, recall, f1 and auc refer to and whose "
                     "probability the model outputs. Omitted: the second class in classes' order (for labels 0 "
                     "and 1: 1).", min_length=1, max_length=MAX_NAME_LENGTH)
