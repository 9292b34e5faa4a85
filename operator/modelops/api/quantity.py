"""Kubernetes resource quantities (`500m`, `1.5Gi`, `2`) parsed as the API server parses them.

The Python side of the CRD's CEL quantity rules (`isQuantity`, `quantity(...).compareTo`): `modelops
validate` and the local runtime must refuse exactly what the API server would refuse when the operator
creates the Job. A port of `ParseQuantity` in k8s.io/apimachinery/pkg/api/resource/quantity.go (the
scanner `parseQuantityString` and the suffixer of suffix.go): a sign, digits with an optional fraction,
then one suffix: binary (Ki Mi Gi Ti Pi Ei), decimal (n u m "" k M G T P E) or an exponent (e3, E-2).
Values are rounded up to nano units as the API server does, so comparisons agree with `compareTo`.
"""

from __future__ import annotations

import math
import re
from decimal import ROUND_UP, Context, Decimal

# The API server's own words for a malformed quantity (ErrFormatWrong in quantity.go).
FORMAT_PATTERN = "^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$"
FORMAT_MESSAGE = f"quantities must match the regular expression '{FORMAT_PATTERN}'"

_BINARY = {"Ki": 10, "Mi": 20, "Gi": 30, "Ti": 40, "Pi": 50, "Ei": 60}
_DECIMAL = {"n": -9, "u": -6, "m": -3, "": 0, "k": 3, "M": 6, "G": 9, "T": 12, "P": 15, "E": 18}
# parseQuantityString: the number, then suffix letters, then an optionally signed integer (the exponent).
_SCAN = re.compile(r"[+-]?(?P<num>[0-9]*)(?:\.(?P<frac>[0-9]*))?(?P<suffix>[eEinumkKMGTP]*(?:[+-]?[0-9]+)?)")
_EXPONENT = re.compile(r"[eE](?P<exp>[+-]?[0-9]+)")
_NANO = Decimal("1e-9")
_WIDE = Context(prec=200)


def parse_quantity(text: str) -> Decimal | None:
    """The quantity's value, or None where `resource.ParseQuantity` fails (as CEL's isQuantity would)."""
    if not text:
        return None
    scanned = _SCAN.fullmatch(text)
    if scanned is None:
        return None
    number = text[:scanned.start("suffix")]
    multiplier = _suffix_multiplier(scanned["suffix"])
    if multiplier is None:
        return None
    digits = number.lstrip("+-")
    # The scanner accepts a number without digits ("", ".", "+", "m"): its numerator counts as 0.
    magnitude = Decimal(digits) if digits.strip(".") else Decimal(0)
    value = _WIDE.multiply(magnitude, multiplier)
    if value != 0:
        value = value.quantize(_NANO, rounding=ROUND_UP, context=_WIDE)  # "rounds up to the minimum"
    return -value if number.startswith("-") else value


def _suffix_multiplier(suffix: str) -> Decimal | None:
    if suffix in _BINARY:
        return Decimal(2) ** _BINARY[suffix]
    if suffix in _DECIMAL:
        return Decimal(10) ** _DECIMAL[suffix]
    exponent = _EXPONENT.fullmatch(suffix)
    if exponent is not None:
        return _WIDE.power(Decimal(10), int(exponent["exp"]))
    return None


def quantity_value(value: object) -> Decimal | None:
    """A quantity field's value (a number counts as itself, as `cpu: 0.5` in a Pod), None if it is not one.

    A float is read from its shortest decimal form (repr), the digits the JSON carried: the API server
    parses the JSON number's text the same way (Quantity.UnmarshalJSON)."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return Decimal(value)
    if isinstance(value, float):
        return parse_quantity(repr(value)) if math.isfinite(value) else None
    return parse_quantity(value) if isinstance(value, str) else None
